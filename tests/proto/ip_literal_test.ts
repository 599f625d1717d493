import assert from "node:assert/strict";
import { isIpLiteral } from "../../src/proto/ip_literal.ts";

Deno.test("isIpLiteral: IPv4", () => {
  for (const s of ["10.77.2.2", "0.0.0.0", "255.255.255.255", "127.0.0.1"]) {
    assert.equal(isIpLiteral(s), true, s);
  }
  for (
    const s of [
      "256.1.1.1",
      "1.2.3",
      "1.2.3.4.5",
      "1..2.3",
      "1.2.3.4.",
      "a.b.c.d",
      "",
      "1234.1.1.1",
    ]
  ) {
    assert.equal(isIpLiteral(s), false, s);
  }
});

Deno.test("isIpLiteral: IPv6", () => {
  for (
    const s of [
      "::1",
      "::",
      "2001:db8::1",
      "[2001:db8::1]",
      "fe80::1%eth0",
      "::ffff:10.0.0.1",
      "1:2:3:4:5:6:7:8",
    ]
  ) {
    assert.equal(isIpLiteral(s), true, s);
  }
  for (
    const s of [
      "1:2:3:4:5:6:7",
      "1::2::3",
      "g::1",
      "12345::1",
      "[::1",
      "example.com",
      ":",
      "1:2:3:4:5:6:7:8:9",
    ]
  ) {
    assert.equal(isIpLiteral(s), false, s);
  }
});

Deno.test("isIpLiteral: host names are not literals", () => {
  assert.equal(isIpLiteral("vpn.example.net"), false);
  assert.equal(isIpLiteral("10.77.2.2.nip.io"), false);
  assert.equal(isIpLiteral("DDNS"), false);
  assert.equal(isIpLiteral("10.77.2.2"), true);
  assert.equal(isIpLiteral("2001:db8::5"), true);
});
