import assert from "node:assert/strict";
import { ipv4Text, ipv6Text } from "../../src/decode/ip_text.ts";

Deno.test("ip text: dotted quad and RFC 5952", () => {
  const b = (...x: number[]) => new Uint8Array(x);
  assert.equal(ipv4Text(b(0, 10, 0, 0, 1), 1), "10.0.0.1");
  const v6 = (hex: string) => new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
  assert.equal(ipv6Text(v6("00000000000000000000000000000000")), "::");
  assert.equal(ipv6Text(v6("00000000000000000000000000000001")), "::1");
  assert.equal(ipv6Text(v6("fe8000000000000000fc00fffe000001")), "fe80::fc:ff:fe00:1");
  assert.equal(ipv6Text(v6("20010db8000000010000000000000001")), "2001:db8:0:1::1");
  assert.equal(ipv6Text(v6("20010db8000100000001000100010001")), "2001:db8:1:0:1:1:1:1");
  assert.equal(ipv6Text(v6("20010db8000000000001000000000001")), "2001:db8::1:0:0:1");
  assert.equal(ipv6Text(v6("00000000000000000000ffffc0000201")), "::ffff:192.0.2.1");
  assert.equal(ipv6Text(v6("fd000000000000000000000000000002")), "fd00::2");
});
