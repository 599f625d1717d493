import assert from "node:assert/strict";
import { SocksHandshake } from "../../src/proto/socks.ts";
import {
  parseSocks4Reply,
  parseSocks4Request,
  parseSocks5Greeting,
  parseSocks5MethodReply,
  parseSocks5Reply,
  parseSocks5Request,
  parseSocks5UserPassReply,
  parseSocks5UserPassRequest,
  SocksReason,
} from "../../src/proto/socks_message.ts";
import { ascii, concat, fromHex, loadSegments, type Segment } from "./fixture.ts";

/** Drives a handshake like a flow tracker: each side's stream grows, pending bytes are re-fed. */
function drive(
  segments: Segment[],
): { hs: SocksHandshake; client: Uint8Array; server: Uint8Array } {
  const hs = new SocksHandshake();
  let client: Uint8Array = new Uint8Array(0);
  let server: Uint8Array = new Uint8Array(0);
  const pump = () => {
    for (let round = 0; round < 8; round++) {
      const c = hs.feedClient(client, hs.clientOffset, client.length - hs.clientOffset);
      const cc = hs.consumed;
      const s = hs.feedServer(server, hs.serverOffset, server.length - hs.serverOffset);
      const sc = hs.consumed;
      if (c === "fail" || s === "fail" || (cc === 0 && sc === 0)) return;
    }
  };
  for (const seg of segments) {
    if (seg.dir === "c") client = concat([client, seg.bytes]);
    else server = concat([server, seg.bytes]);
    if (!hs.finished) pump();
  }
  return { hs, client, server };
}

function seg(dir: "c" | "s", hex: string): Segment {
  return { dir, bytes: fromHex(hex) };
}

Deno.test("SocksHandshake: real curl SOCKS4 (fixture)", () => {
  const { hs, client, server } = drive(loadSegments("proxy_socks4_curl").segments);
  assert.equal(hs.version, 4);
  assert.equal(hs.socks4a, false);
  assert.deepEqual(hs.target, { host: "10.0.0.9", port: 443 });
  assert.equal(hs.command, 1);
  assert.equal(hs.success, true);
  assert.equal(hs.replyCode, 0x5a);
  assert.equal(hs.clientInnerOffset, 9);
  assert.equal(client[hs.clientInnerOffset], 0x16);
  assert.equal(hs.serverInnerOffset, 8);
  assert.equal(server.length, 8);
  assert.ok(hs.finished);
});

Deno.test("SocksHandshake: real curl SOCKS4a (fixture)", () => {
  const { hs, client } = drive(loadSegments("proxy_socks4a_curl").segments);
  assert.equal(hs.version, 4);
  assert.equal(hs.socks4a, true);
  assert.deepEqual(hs.target, { host: "vpn.example.net", port: 443 });
  assert.equal(client[hs.clientInnerOffset], 0x16);
  assert.equal(hs.clientInnerOffset, 25);
});

Deno.test("SocksHandshake: real curl SOCKS5 with IPv4, name, and user/password (fixtures)", () => {
  const a = drive(loadSegments("proxy_socks5_curl").segments);
  assert.equal(a.hs.version, 5);
  assert.deepEqual(a.hs.greetingMethods, [0, 1]);
  assert.equal(a.hs.selectedMethod, 0);
  assert.equal(a.hs.atyp, 1);
  assert.deepEqual(a.hs.target, { host: "10.0.0.9", port: 443 });
  assert.equal(a.hs.success, true);
  assert.equal(a.hs.clientInnerOffset, 4 + 10);
  assert.equal(a.client[a.hs.clientInnerOffset], 0x16);
  assert.equal(a.hs.serverInnerOffset, 12);

  const b = drive(loadSegments("proxy_socks5h_curl").segments);
  assert.equal(b.hs.atyp, 3);
  assert.deepEqual(b.hs.target, { host: "vpn.example.net", port: 443 });
  assert.equal(b.client[b.hs.clientInnerOffset], 0x16);

  const c = drive(loadSegments("proxy_socks5h_auth_curl").segments);
  assert.deepEqual(c.hs.greetingMethods, [0, 1, 2]);
  assert.equal(c.hs.selectedMethod, 2);
  assert.equal(c.hs.username, "user");
  assert.deepEqual(c.hs.target, { host: "vpn.example.net", port: 443 });
  assert.equal(c.hs.success, true);
  assert.equal(c.hs.clientInnerOffset, 5 + 11 + 22);
  assert.equal(c.client[c.hs.clientInnerOffset], 0x16);
  assert.equal(c.hs.serverInnerOffset, 2 + 2 + 10);
});

Deno.test("SocksHandshake: SoftEther-style SOCKS5 with auth, fed byte by byte", () => {
  const client = fromHex(
    "05020002" + "0103" + "616263" + "03" + "787978" + "0501000309" +
      "31302e37372e322e32" + "01bb" + "160301",
  );
  const server = fromHex("0502" + "0100" + "050000010a4d020201bb" + "160303");
  const hs = new SocksHandshake();
  let c = 0;
  let s = 0;
  const steps: string[] = [];
  for (let i = 0; i < 64 && !hs.finished; i++) {
    if (c < client.length) {
      steps.push(
        hs.feedClient(client, hs.clientOffset, Math.min(c + 1, client.length) - hs.clientOffset),
      );
      c++;
    }
    if (s < server.length) {
      hs.feedServer(server, hs.serverOffset, Math.min(s + 1, server.length) - hs.serverOffset);
      s++;
    }
    hs.feedClient(client, hs.clientOffset, Math.min(c, client.length) - hs.clientOffset);
  }
  assert.ok(hs.finished);
  assert.deepEqual(hs.greetingMethods, [0, 2]);
  assert.equal(hs.username, "abc");
  assert.deepEqual(hs.target, { host: "10.77.2.2", port: 443 });
  assert.equal(hs.success, true);
  assert.equal(hs.clientInnerOffset, client.length - 3);
  assert.equal(hs.serverInnerOffset, server.length - 3);
  assert.ok(steps.includes("need"));
});

Deno.test("SocksHandshake: SoftEther SOCKS4 request, pipelined SOCKS5 no-auth client", () => {
  const se = drive([seg("c", "040101bb0a4d020200"), seg("s", "005a01bb0a4d0202"), seg("c", "16")]);
  assert.deepEqual(se.hs.target, { host: "10.77.2.2", port: 443 });
  assert.equal(se.hs.username, "");
  assert.equal(se.hs.clientInnerOffset, 9);
  // Greeting offering only "no auth" lets the request be read before the method reply.
  const hs = new SocksHandshake();
  const c = fromHex("050100" + "05010001" + "0a4d0202" + "01bb" + "1603");
  assert.equal(hs.feedClient(c, 0, c.length), "done");
  assert.equal(hs.consumed, 13);
  assert.equal(hs.clientInnerOffset, 13);
  assert.equal(hs.success, null);
  const s = fromHex("0500050000010000000000001603");
  assert.equal(hs.feedServer(s, 0, s.length), "done");
  assert.equal(hs.consumed, 12);
  assert.equal(hs.serverInnerOffset, 12);
  assert.equal(hs.success, true);
  // A greeting offering auth waits for the server's choice.
  const w = new SocksHandshake();
  const g = fromHex("05020002" + "0501");
  assert.equal(w.feedClient(g, 0, g.length), "consumed");
  assert.equal(w.consumed, 4);
  assert.equal(w.feedClient(g, 4, 2), "need");
});

Deno.test("SocksHandshake: refusals are done with success false, no inner offsets", () => {
  const noMethod = drive([seg("c", "05020002"), seg("s", "05ff")]);
  assert.equal(noMethod.hs.success, false);
  assert.equal(noMethod.hs.selectedMethod, 0xff);
  assert.ok(noMethod.hs.finished);
  assert.equal(noMethod.hs.clientInnerOffset, -1);

  const badAuth = drive([
    seg("c", "05020002"),
    seg("s", "0502"),
    seg("c", "010161" + "0162"),
    seg("s", "0101"),
  ]);
  assert.equal(badAuth.hs.success, false);
  assert.equal(badAuth.hs.replyCode, 1);
  assert.ok(badAuth.hs.finished);

  const refused = drive([
    seg("c", "0501000501000301610050"),
    seg("s", "0500" + "05050001000000000000"),
  ]);
  assert.equal(refused.hs.success, false);
  assert.equal(refused.hs.replyCode, 5);
  assert.equal(refused.hs.clientInnerOffset, -1);
  assert.equal(refused.hs.serverInnerOffset, -1);

  const s4 = drive([seg("c", "040101bb0a00000900"), seg("s", "005b01bb0a000009")]);
  assert.equal(s4.hs.success, false);
  assert.equal(s4.hs.replyCode, 0x5b);
  assert.equal(s4.hs.clientInnerOffset, -1);
});

Deno.test("SocksHandshake: failures", () => {
  const tls = drive([seg("c", "1603010200")]);
  assert.equal(tls.hs.failReason, SocksReason.NOT_SOCKS);
  assert.equal(tls.hs.version, 0);
  const gss = drive([seg("c", "05020001"), seg("s", "0501")]);
  assert.equal(gss.hs.failReason, SocksReason.UNSUPPORTED_METHOD);
  assert.equal(gss.hs.version, 5);
  const notOffered = drive([seg("c", "050100"), seg("s", "0502")]);
  assert.equal(notOffered.hs.failReason, SocksReason.METHOD_NOT_OFFERED);
  const badCmd = drive([seg("c", "050100"), seg("s", "0500"), seg("c", "0509000100000000")]);
  assert.equal(badCmd.hs.failReason, SocksReason.BAD_COMMAND);
  const hs = new SocksHandshake();
  assert.equal(hs.feedServer(fromHex("0500"), 0, 2), "need");
  assert.equal(hs.feedClient(new Uint8Array(0), 0, 0), "need");
  assert.equal(hs.feedClient(fromHex("47455420"), 0, 4), "fail");
  assert.equal(hs.feedServer(fromHex("0500"), 0, 2), "fail");
});

Deno.test("parseSocks4Request: forms, limits, prefixes", () => {
  const b = fromHex("040101bb0a4d0202616200");
  const r = parseSocks4Request(b, 0, b.length);
  assert.equal(r.status, "ok");
  assert.equal(r.consumed, 11);
  assert.equal(r.userId, "ab");
  assert.equal(r.ip, "10.77.2.2");
  for (let n = 0; n < b.length; n++) assert.equal(parseSocks4Request(b, 0, n).status, "need");
  const a = concat([fromHex("040101bb00000001"), ascii("u\0host.example\0")]);
  const q = parseSocks4Request(a, 0, a.length);
  assert.equal(q.hostName, "host.example");
  assert.equal(q.consumed, a.length);
  assert.equal(parseSocks4Request(a, 0, a.length - 1).status, "need");
  const empty4a = fromHex("040101bb000000010000");
  assert.equal(parseSocks4Request(empty4a, 0, empty4a.length).reason, SocksReason.BAD_NAME);
  const longId = concat([fromHex("040101bb0a000009"), new Uint8Array(300).fill(0x41)]);
  assert.equal(parseSocks4Request(longId, 0, longId.length).reason, SocksReason.BAD_NAME);
  assert.equal(parseSocks4Request(fromHex("0403"), 0, 2).reason, SocksReason.BAD_COMMAND);
  assert.equal(parseSocks4Request(fromHex("05"), 0, 1).reason, SocksReason.BAD_VERSION);
});

Deno.test("SOCKS message parsers: replies and SOCKS5 messages", () => {
  assert.equal(parseSocks4Reply(fromHex("005a"), 0, 2).status, "need");
  assert.equal(parseSocks4Reply(fromHex("0050"), 0, 2).reason, SocksReason.BAD_CODE);
  assert.equal(parseSocks4Reply(fromHex("045a000000000000"), 0, 8).granted, true);
  assert.equal(parseSocks4Reply(fromHex("01"), 0, 1).reason, SocksReason.BAD_VERSION);

  const g = parseSocks5Greeting(fromHex("05020002ff"), 0, 5);
  assert.deepEqual([g.status, g.consumed, g.methods], ["ok", 4, [0, 2]]);
  assert.equal(parseSocks5Greeting(fromHex("050300"), 0, 3).status, "need");
  assert.equal(parseSocks5Greeting(fromHex("0500"), 0, 2).reason, SocksReason.NO_METHODS);
  assert.equal(parseSocks5MethodReply(fromHex("05"), 0, 1).status, "need");
  assert.equal(parseSocks5MethodReply(fromHex("0402"), 0, 2).reason, SocksReason.BAD_VERSION);

  const up = parseSocks5UserPassRequest(fromHex("010475736572047061737300"), 0, 12);
  assert.deepEqual([up.status, up.consumed, up.username, up.passwordLength], ["ok", 11, "user", 4]);
  assert.equal(parseSocks5UserPassRequest(fromHex("0104757365720470"), 0, 8).status, "need");
  assert.equal(parseSocks5UserPassRequest(fromHex("0100"), 0, 2).reason, SocksReason.BAD_NAME);
  assert.equal(parseSocks5UserPassReply(fromHex("0500"), 0, 2).success, true);
  assert.equal(parseSocks5UserPassReply(fromHex("0200"), 0, 2).reason, SocksReason.BAD_VERSION);

  const v6 = fromHex("0501000420010db8000000000000000000000001" + "20fb");
  const r6 = parseSocks5Request(v6, 0, v6.length);
  assert.deepEqual([r6.status, r6.atyp, r6.host, r6.port], ["ok", 4, "2001:db8::1", 8443]);
  for (let n = 0; n < v6.length; n++) assert.equal(parseSocks5Request(v6, 0, n).status, "need");
  const zeros = fromHex("05000004" + "00".repeat(16) + "0000");
  assert.equal(parseSocks5Reply(zeros, 0, zeros.length).host, "::");
  const full = fromHex("05000004" + "00010002000300040005000600070008" + "0000");
  assert.equal(parseSocks5Reply(full, 0, full.length).host, "1:2:3:4:5:6:7:8");
  assert.equal(parseSocks5Request(fromHex("05010005"), 0, 4).reason, SocksReason.BAD_ATYP);
  assert.equal(parseSocks5Request(fromHex("050101"), 0, 3).reason, SocksReason.BAD_RESERVED);
  assert.equal(parseSocks5Request(fromHex("0501000300"), 0, 5).reason, SocksReason.BAD_NAME);
  assert.equal(parseSocks5Reply(fromHex("0509"), 0, 2).reason, SocksReason.BAD_CODE);
  assert.equal(parseSocks5Reply(fromHex("0508"), 0, 2).status, "need");
});
