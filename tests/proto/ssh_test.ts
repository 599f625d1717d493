import assert from "node:assert/strict";
import {
  negotiateSsh,
  negotiateSshAlgorithm,
  parseSshIdent,
  parseSshKexInit,
  parseSshPacket,
  sshFraming,
  SshMsg,
  SshOpaqueReason,
  SshReason,
  SshStreamScanner,
} from "../../src/proto/ssh.ts";
import { ascii, concat, fromHex, loadSegments, type Segment } from "./fixture.ts";

/** Feeds segments in capture order, each cut into pieces of at most `piece` bytes. */
function scan(segments: Segment[], piece = Infinity, capacity = 32): SshStreamScanner {
  const s = new SshStreamScanner(capacity);
  for (const seg of segments) {
    for (let o = 0; o < seg.bytes.length; o += Math.min(piece, seg.bytes.length)) {
      const n = Math.min(piece, seg.bytes.length - o);
      if (seg.dir === "c") s.feedClient(seg.bytes, o, n);
      else s.feedServer(seg.bytes, o, n);
    }
  }
  return s;
}

function lengths(d: SshStreamScanner["client"]): number[] {
  return Array.from(d.lengths.subarray(0, Math.min(d.count, d.capacity)));
}

/** Every encrypted byte is covered by the recorded packets (4 + length + trailer each). */
function assertCovers(d: SshStreamScanner["client"]): void {
  let sum = d.newKeysOffset;
  for (const l of lengths(d)) sum += 4 + l + d.trailer;
  assert.equal(sum, d.bytes);
}

const OPENSSH_SERVER_CIPHERS = [
  "chacha20-poly1305@openssh.com",
  "aes128-ctr",
  "aes192-ctr",
  "aes256-ctr",
  "aes128-gcm@openssh.com",
  "aes256-gcm@openssh.com",
];

Deno.test("SshStreamScanner: real OpenSSH 9.2 session with aes256-gcm (fixture)", () => {
  const f = loadSegments("ssh_aes256gcm");
  for (const piece of [Infinity, 1, 7, 100]) {
    const s = scan(f.segments, piece);
    assert.equal(s.failed, false);
    for (const d of [s.client, s.server]) {
      assert.equal(d.ident?.protoVersion, "2.0");
      assert.equal(d.ident?.software, "OpenSSH_9.2p1");
      assert.equal(d.ident?.comments, "Debian-2+deb12u10");
    }
    const n = s.negotiated!;
    assert.equal(n.cipherC2S, "aes256-gcm@openssh.com");
    assert.equal(n.cipherS2C, "aes256-gcm@openssh.com");
    assert.equal(n.macC2S, null);
    assert.equal(n.kex, "sntrup761x25519-sha512"); // OpenSSH 9.2 default, ahead of curve25519
    assert.equal(n.hostKey, "ssh-ed25519");
    assert.equal(n.compressionC2S, "none");
    assert.equal(n.zlibOfferedByClient, true);
    assert.equal(n.zlibOfferedByServer, true);
    assert.deepEqual(n.framingC2S, { lengthInClear: true, aead: true, trailer: 16, block: 16 });
    assert.equal(s.client.newKeysOffset, 41 + 1384 + 1208 + 16);
    assert.equal(s.server.newKeysOffset, 41 + 1088 + 1232 + 16);
    assert.equal(s.client.clearPackets, 3);
    assert.equal(s.server.clearPackets, 3);
    // tshark shows these lengths in clear, except that it lists only the first packet of
    // segments carrying several; every segment splits exactly into 4 + length + 16 here.
    assert.deepEqual(lengths(s.client), [32, 48, 128, 288, 32, 48, 48, 16, 16, 48]);
    assert.deepEqual(lengths(s.server), [
      304,
      32,
      32,
      80,
      16,
      96,
      128,
      128,
      32,
      16,
      16,
      32,
      16,
      32,
      16,
    ]);
    assert.equal(s.client.lengthsOpaque, false);
    assert.equal(s.client.desync, false);
    assert.equal(s.client.trailer, 16);
    assertCovers(s.client);
    assertCovers(s.server);
    assert.equal(s.client.starts[0], s.client.newKeysOffset);
    assert.equal(s.client.starts[1], s.client.newKeysOffset + 52);
  }
  // Capacity limits the arrays, not the count.
  const small = scan(f.segments, Infinity, 4);
  assert.equal(small.client.count, 10);
  assert.deepEqual(Array.from(small.client.lengths), [32, 48, 128, 288]);
});

Deno.test("SshStreamScanner: chacha20-poly1305 hides lengths (fixture)", () => {
  const s = scan(loadSegments("ssh_chacha20").segments);
  assert.equal(s.failed, false);
  assert.equal(s.negotiated?.cipherC2S, "chacha20-poly1305@openssh.com");
  assert.deepEqual(s.negotiated?.framingS2C, {
    lengthInClear: false,
    aead: true,
    trailer: 16,
    block: 8,
  });
  for (const d of [s.client, s.server]) {
    assert.equal(d.lengthsOpaque, true);
    assert.equal(d.opaqueReason, SshOpaqueReason.CIPHER);
    assert.ok(d.newKeysOffset > 0);
    assert.equal(d.count, 0);
  }
  assert.equal(s.client.newKeysOffset, 41 + 1400 + 1208 + 16);
});

Deno.test("SshStreamScanner: aes128-ctr + hmac-sha2-256-etm with zlib (fixture)", () => {
  const f = loadSegments("ssh_aes128ctr_etm_zlib");
  const s = scan(f.segments, 13);
  const n = s.negotiated!;
  assert.equal(n.cipherC2S, "aes128-ctr");
  assert.equal(n.macC2S, "hmac-sha2-256-etm@openssh.com");
  assert.equal(n.compressionC2S, "zlib@openssh.com");
  assert.equal(n.compressionS2C, "zlib@openssh.com");
  assert.deepEqual(s.client.kexInit?.compressionC2S, ["zlib@openssh.com", "zlib", "none"]);
  assert.deepEqual(n.framingC2S, { lengthInClear: true, aead: false, trailer: 32, block: 16 });
  for (const d of [s.client, s.server]) {
    assert.equal(d.lengthsOpaque, false);
    assert.equal(d.desync, false);
    assert.ok(d.count >= 9);
    for (const l of lengths(d)) assert.equal(l % 16, 0);
    assertCovers(d);
  }
});

Deno.test("SshStreamScanner: aes128-ctr + hmac-sha2-256 (encrypt-and-MAC) hides lengths", () => {
  const s = scan(loadSegments("ssh_aes128ctr_hmac").segments);
  assert.equal(s.negotiated?.macC2S, "hmac-sha2-256");
  assert.equal(s.negotiated?.compressionC2S, "none");
  assert.equal(s.client.lengthsOpaque, true);
  assert.equal(s.client.opaqueReason, SshOpaqueReason.CIPHER);
  assert.equal(s.server.lengthsOpaque, true);
});

Deno.test("SshStreamScanner: a side fed ahead of the other cannot frame its encrypted part", () => {
  const f = loadSegments("ssh_aes256gcm");
  const s = new SshStreamScanner();
  s.feedClient(f.client, 0, f.client.length);
  s.feedServer(f.server, 0, f.server.length);
  assert.equal(s.client.lengthsOpaque, true);
  assert.equal(s.client.opaqueReason, SshOpaqueReason.NO_NEGOTIATION);
  assert.equal(s.server.lengthsOpaque, false);
  assertCovers(s.server);
});

Deno.test("SshStreamScanner: preface lines, not-SSH streams, malformed packets, reset", () => {
  const f = loadSegments("ssh_aes256gcm");
  const serverBanner = f.server.subarray(0, 41);
  const pre = concat([ascii("Welcome\r\nto the box\n"), serverBanner]);
  for (const piece of [1, 3, 1000]) {
    const s = new SshStreamScanner();
    for (let o = 0; o < pre.length; o += piece) {
      s.feedServer(pre, o, Math.min(piece, pre.length - o));
    }
    assert.equal(s.server.failed, false, `piece ${piece}`);
    assert.equal(s.server.ident?.software, "OpenSSH_9.2p1");
  }
  const c = new SshStreamScanner();
  c.feedClient(pre, 0, pre.length);
  assert.equal(c.client.failed, true);
  assert.equal(c.client.failReason, SshReason.NOT_SSH);
  const tls = new SshStreamScanner();
  tls.feedServer(fromHex("160303007a02"), 0, 6);
  assert.equal(tls.server.failReason, SshReason.NOT_SSH);
  assert.equal(tls.failed, true);
  const long = new SshStreamScanner();
  const big = ascii("SSH-2.0-" + "x".repeat(300));
  long.feedClient(big, 0, big.length);
  assert.equal(long.client.failReason, SshReason.IDENT_TOO_LONG);
  const bad = new SshStreamScanner();
  const badPkt = concat([f.client.subarray(0, 41), fromHex("0000000d0a14")]);
  bad.feedClient(badPkt, 0, badPkt.length);
  assert.equal(bad.client.failReason, SshReason.BAD_PACKET_LENGTH);
  assert.equal(bad.client.failOffset, 41);
  const pad = new SshStreamScanner();
  const badPad = concat([f.client.subarray(0, 41), fromHex("0000000c0214")]);
  pad.feedClient(badPad, 0, badPad.length);
  assert.equal(pad.client.failReason, SshReason.BAD_PADDING);
  // Garbage after NEWKEYS in a clear-length direction: desync, not failure.
  const s = scan(f.segments);
  s.feedClient(fromHex("ffffffff"), 0, 4);
  assert.equal(s.client.desync, true);
  assert.equal(s.client.failed, false);
  s.reset();
  assert.equal(s.negotiated, null);
  assert.equal(s.client.count, 0);
  for (const seg of f.segments) {
    if (seg.dir === "c") s.feedClient(seg.bytes, 0, seg.bytes.length);
    else s.feedServer(seg.bytes, 0, seg.bytes.length);
  }
  assert.equal(s.client.count, 10);
});

Deno.test("parseSshIdent: forms and limits", () => {
  const r = parseSshIdent(ascii("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\nXX"), 0, 42);
  assert.equal(r.status, "ok");
  assert.equal(r.consumed, 40);
  assert.equal(r.line, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
  assert.equal(r.comments, "Debian-2+deb12u3");
  const lf = ascii("SSH-1.99-Cisco-1.25\n");
  const c = parseSshIdent(lf, 0, lf.length);
  assert.deepEqual([c.protoVersion, c.software, c.comments], ["1.99", "Cisco-1.25", ""]);
  const pre = ascii("hello\r\nworld\nSSH-2.0-x\r\n");
  const p = parseSshIdent(pre, 0, pre.length);
  assert.deepEqual([p.status, p.prefaceLines, p.identOffset, p.consumed], [
    "ok",
    2,
    13,
    pre.length,
  ]);
  assert.equal(parseSshIdent(pre, 0, pre.length, false).reason, SshReason.NOT_SSH);
  for (let n = 0; n < pre.length; n++) {
    assert.equal(parseSshIdent(pre, 0, n).status, "need", `${n}`);
  }
  const cases: Array<[string, string]> = [
    ["SSH-2.0\r\n", SshReason.BAD_IDENT],
    ["SSH-x.y-soft\r\n", SshReason.BAD_IDENT],
    ["SSH-2.0-\r\n", SshReason.BAD_IDENT],
    ["SSH-2.0-a\tb\r\n", SshReason.BAD_IDENT],
    ["SSH-2.0-" + "a".repeat(260), SshReason.IDENT_TOO_LONG],
    ["\x16\x03\x01", SshReason.NOT_SSH],
    ["x".repeat(9000), SshReason.PREFACE_TOO_LONG],
  ];
  for (const [text, reason] of cases) {
    const b = ascii(text);
    assert.equal(parseSshIdent(b, 0, b.length).reason, reason, JSON.stringify(text.slice(0, 20)));
  }
  assert.equal(parseSshIdent(ascii("SSH-2.0-x\r"), 0, 10).status, "need");
  assert.equal(parseSshIdent(ascii("SS"), 0, 2, false).status, "need");
  assert.equal(parseSshIdent(ascii("SX"), 0, 2, false).reason, SshReason.NOT_SSH);
});

Deno.test("parseSshPacket and parseSshKexInit on the real client KEXINIT", () => {
  const f = loadSegments("ssh_aes256gcm");
  const p = parseSshPacket(f.client, 41, f.client.length - 41);
  assert.equal(p.status, "ok");
  assert.equal(p.packetLength, 1380);
  assert.equal(p.paddingLength, 4);
  assert.equal(p.msgCode, SshMsg.KEXINIT);
  assert.equal(p.consumed, 1384);
  assert.equal(parseSshPacket(f.client, 41, 1383).status, "need");
  const k = parseSshKexInit(f.client, p.payloadOff, p.payloadLen);
  assert.equal(k.status, "ok");
  assert.equal(k.consumed, p.payloadLen);
  assert.deepEqual(k.ciphersC2S, ["aes256-gcm@openssh.com"]);
  assert.deepEqual(k.compressionC2S, ["none", "zlib@openssh.com", "zlib"]);
  assert.ok(k.kex.includes("kex-strict-c-v00@openssh.com"));
  assert.deepEqual(k.languagesC2S, []);
  assert.equal(k.firstKexFollows, false);
  for (let n = 0; n < p.payloadLen; n++) {
    assert.equal(
      parseSshKexInit(f.client, p.payloadOff, n).status,
      "need",
      `${n}`,
    );
  }
  const sp = parseSshPacket(f.server, 41, f.server.length - 41);
  const sk = parseSshKexInit(f.server, sp.payloadOff, sp.payloadLen);
  assert.deepEqual(sk.ciphersS2C, OPENSSH_SERVER_CIPHERS);
  assert.deepEqual(sk.compressionS2C, ["none", "zlib@openssh.com"]);
  const n = negotiateSsh(k, sk);
  assert.equal(n.cipherS2C, "aes256-gcm@openssh.com");
  // Malformed: bad type, a name-list running past the end, control bytes in names.
  assert.equal(parseSshKexInit(fromHex("15"), 0, 1).reason, SshReason.WRONG_TYPE);
  const bad = f.client.slice(p.payloadOff, p.payloadOff + p.payloadLen);
  bad[17] = 0x7f;
  assert.equal(parseSshKexInit(bad, 0, bad.length).reason, SshReason.BAD_KEXINIT);
  const ctl = f.client.slice(p.payloadOff, p.payloadOff + p.payloadLen);
  ctl[22] = 0x01;
  assert.equal(parseSshKexInit(ctl, 0, ctl.length).reason, SshReason.BAD_KEXINIT);
  assert.equal(parseSshPacket(fromHex("0000000d"), 0, 4).reason, SshReason.BAD_PACKET_LENGTH);
  assert.equal(parseSshPacket(fromHex("00010000"), 0, 4).reason, SshReason.BAD_PACKET_LENGTH);
  assert.equal(parseSshPacket(fromHex("0000000c0b"), 0, 5).reason, SshReason.BAD_PADDING);
  assert.equal(parseSshPacket(fromHex("0000000c03"), 0, 5).reason, SshReason.BAD_PADDING);
});

Deno.test("negotiation rules and framing table", () => {
  assert.equal(negotiateSshAlgorithm(["a", "b"], ["b", "a"]), "a");
  assert.equal(negotiateSshAlgorithm(["a"], ["b"]), null);
  assert.equal(negotiateSshAlgorithm([], ["b"]), null);
  assert.deepEqual(sshFraming("aes128-gcm@openssh.com", "hmac-sha1"), {
    lengthInClear: true,
    aead: true,
    trailer: 16,
    block: 16,
  });
  assert.deepEqual(sshFraming("aes256-ctr", "umac-64-etm@openssh.com"), {
    lengthInClear: true,
    aead: false,
    trailer: 8,
    block: 16,
  });
  assert.equal(sshFraming("aes256-ctr", "umac-64@openssh.com").lengthInClear, false);
  assert.equal(sshFraming("none", "none").lengthInClear, true);
  assert.equal(sshFraming("aes256-ctr", "hmac-foo-etm@openssh.com").lengthInClear, false);
  assert.equal(sshFraming("toString", "constructor").trailer, -1);
  assert.equal(sshFraming(null, null).lengthInClear, false);
});
