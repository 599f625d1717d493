import assert from "node:assert/strict";
import {
  HelloReason,
  ja3s,
  parseServerHello,
  parseServerHelloRecords,
} from "../../src/proto/tls_client_hello.ts";
import { HandshakeCapture, TlsRecordScanner } from "../../src/proto/tls_record.ts";
import { concat, fromHex, loadJson, loadSegments } from "./fixture.ts";
import { ext, records, u16 } from "./tls_builder.ts";

interface Expected {
  serverHello?: {
    legacyVersion: number;
    cipherSuite: number;
    extensions: number[];
    selectedVersion: number | null;
    alpn: string | null;
    ja3s: string;
    ja3sMd5: string;
  };
}
const EXPECTED = loadJson<Record<string, Expected>>("tls_expected.json");

Deno.test("parseServerHelloRecords: real TLS 1.3 and 1.2 server hellos match tshark", () => {
  let n = 0;
  for (const [name, want] of Object.entries(EXPECTED)) {
    const sh = want.serverHello;
    if (!sh) continue;
    n++;
    const f = loadSegments(name);
    const s = parseServerHelloRecords(f.server, 0, f.server.length);
    assert.equal(s.status, "ok", name);
    assert.equal(s.legacyVersion, sh.legacyVersion, name);
    assert.equal(s.cipherSuite, sh.cipherSuite, name);
    assert.deepEqual(s.extensions, sh.extensions, name);
    assert.equal(s.selectedVersion, sh.selectedVersion ?? sh.legacyVersion, name);
    assert.equal(s.alpn, sh.alpn, name);
    assert.equal(s.helloRetryRequest, false);
    assert.equal(s.compressionMethod, 0);
    assert.deepEqual(ja3s(s), { text: sh.ja3s, md5: sh.ja3sMd5 }, name);
  }
  assert.equal(n, 4);
  const t13 = loadSegments("tls13_openssl_sni_alpn").server;
  const s = parseServerHelloRecords(t13, 0, t13.length);
  assert.equal(s.selectedVersion, 0x0304);
  assert.equal(s.sessionIdLength, 32);
  assert.equal(s.consumed, 5 + 122);
  const t12 = loadSegments("tls12_openssl_alpn").server;
  const a = parseServerHelloRecords(t12, 0, t12.length);
  assert.equal(a.alpn, "http/1.1");
  assert.equal(a.selectedVersion, 0x0303);
  assert.equal(a.consumed, 5 + 80);
});

Deno.test("ServerHello via the scanner capture (TLS 1.2 record holding several messages)", () => {
  const f = loadSegments("tls12_openssl_ip_sni");
  const sc = new TlsRecordScanner(8);
  sc.captureHandshake();
  const seg = f.segments.find((s) => s.dir === "s")!.bytes;
  sc.feed(seg, 0, 40);
  sc.feed(seg, 40, seg.length - 40);
  assert.equal(sc.handshakeState, HandshakeCapture.CAPTURED);
  const s = parseServerHello(sc.handshakeBuffer(seg)!, sc.handshakeOff, sc.handshakeLen);
  assert.equal(s.status, "ok");
  assert.equal(s.cipherSuite, 0xc030);
});

Deno.test("parseServerHello: HelloRetryRequest, prefixes, malformed", () => {
  const random = fromHex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c");
  const body = concat([
    u16(0x0303),
    random,
    new Uint8Array([0]),
    u16(0x1302),
    new Uint8Array([0]),
    u16(12),
    ext(0x2b, u16(0x0304)),
    ext(0x33, u16(29)),
  ]);
  const msg = concat([new Uint8Array([2, 0, 0, body.length]), body]);
  const s = parseServerHello(msg, 0, msg.length);
  assert.equal(s.status, "ok");
  assert.equal(s.helloRetryRequest, true);
  assert.equal(s.selectedVersion, 0x0304);
  assert.equal(s.consumed, msg.length);
  for (let n = 0; n < msg.length; n++) assert.equal(parseServerHello(msg, 0, n).status, "need");
  const mutate = (at: number, v: number) => {
    const b = msg.slice();
    b[at] = v;
    return parseServerHello(b, 0, b.length).reason;
  };
  assert.equal(mutate(0, 1), HelloReason.WRONG_TYPE);
  assert.equal(mutate(4, 2), HelloReason.BAD_VERSION);
  assert.equal(mutate(38, 40), HelloReason.BAD_SESSION_ID);
  assert.equal(mutate(43, 13), HelloReason.BAD_LENGTH);
  assert.equal(mutate(47, 3), HelloReason.BAD_EXTENSION);
  const alpn = concat([
    u16(0x0303),
    new Uint8Array(32),
    new Uint8Array([0]),
    u16(0xc02f),
    new Uint8Array([0]),
    u16(9),
    ext(0x10, fromHex("0003026832")),
  ]);
  const am = concat([new Uint8Array([2, 0, 0, alpn.length]), alpn]);
  assert.equal(parseServerHello(am, 0, am.length).alpn, "h2");
  am[am.length - 3] = 9;
  assert.equal(parseServerHello(am, 0, am.length).reason, HelloReason.BAD_EXTENSION);
  const ch = records(22, fromHex("0100000403030000"));
  assert.equal(parseServerHelloRecords(ch, 0, ch.length).reason, HelloReason.WRONG_TYPE);
  // No extensions block at all (TLS 1.0 style).
  const bare = concat([
    u16(0x0301),
    new Uint8Array(32),
    new Uint8Array([0]),
    u16(0x002f),
    new Uint8Array([0]),
  ]);
  const bm = concat([new Uint8Array([2, 0, 0, bare.length]), bare]);
  const b = parseServerHello(bm, 0, bm.length);
  assert.equal(b.status, "ok");
  assert.deepEqual(ja3s(b), { text: "769,47,", md5: ja3s(b).md5 });
});
