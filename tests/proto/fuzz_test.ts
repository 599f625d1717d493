/**
 * Robustness: every parser and scanner of src/proto must return a result (never
 * throw, never loop) on random bytes, truncated inputs and mutated real captures.
 */
import assert from "node:assert/strict";
import {
  parseConnectRequest,
  parseConnectResponse,
  softEtherConnectScore,
} from "../../src/proto/http_connect.ts";
import { SocksHandshake } from "../../src/proto/socks.ts";
import {
  parseSocks4Reply,
  parseSocks4Request,
  parseSocks5Greeting,
  parseSocks5Reply,
  parseSocks5Request,
  parseSocks5UserPassRequest,
} from "../../src/proto/socks_message.ts";
import { parseClientHello } from "../../src/proto/tls_client_hello.ts";
import { TlsRecordScanner } from "../../src/proto/tls_record.ts";
import { loadSegments } from "./fixture.ts";

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const FIXTURES = [
  "tls13_openssl_sni_alpn",
  "tls13_curl_ip",
  "tls12_openssl_ip_sni",
  "ssh_aes256gcm",
  "ssh_aes128ctr_etm_zlib",
  "proxy_http_connect_curl",
  "proxy_socks5h_auth_curl",
  "proxy_socks4a_curl",
];

const STATUSES = new Set(["ok", "need", "no"]);

function runAll(b: Uint8Array, off: number, len: number): void {
  const results = [
    parseConnectRequest(b, off, len),
    parseConnectResponse(b, off, len),
    parseSocks4Request(b, off, len),
    parseSocks4Reply(b, off, len),
    parseSocks5Greeting(b, off, len),
    parseSocks5UserPassRequest(b, off, len),
    parseSocks5Request(b, off, len),
    parseSocks5Reply(b, off, len),
    parseClientHello(b, off, len),
  ];
  for (const r of results) {
    assert.ok(STATUSES.has(r.status));
    if (r.status === "ok") assert.ok(r.consumed > 0 && r.consumed <= len);
    if (r.status === "no") assert.ok(r.reason.length > 0);
  }
  const c = results[0];
  if (c.status === "ok") softEtherConnectScore(parseConnectRequest(b, off, len));
}

Deno.test("fuzz: mutated real captures and random bytes never throw", () => {
  const rnd = prng(0x5eed);
  const streams = FIXTURES.flatMap((n) => {
    const f = loadSegments(n);
    return [f.client, f.server];
  });
  for (let iter = 0; iter < 3000; iter++) {
    let b: Uint8Array;
    if (iter % 4 === 0) {
      b = new Uint8Array(Math.floor(rnd() * 600));
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
    } else {
      const src = streams[Math.floor(rnd() * streams.length)];
      b = src.slice(0, Math.min(src.length, 64 + Math.floor(rnd() * 2000)));
      const flips = 1 + Math.floor(rnd() * 6);
      for (let k = 0; k < flips && b.length > 0; k++) {
        b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      }
    }
    const off = Math.floor(rnd() * 4) > 2 ? Math.floor(rnd() * Math.max(1, b.length)) : 0;
    runAll(b, off, b.length - off);
    const tls = new TlsRecordScanner(8);
    tls.captureHandshake(512);
    const socks = new SocksHandshake();
    for (let o = 0; o < b.length;) {
      const n = Math.min(b.length - o, 1 + Math.floor(rnd() * 300));
      tls.feed(b, o, n);
      const hb = tls.handshakeBuffer(b);
      if (hb !== null) parseClientHello(hb, tls.handshakeOff, tls.handshakeLen);
      o += n;
    }
    socks.feedClient(b, 0, b.length);
    socks.feedServer(b, 0, b.length);
    assert.ok(tls.count >= 0);
  }
});

Deno.test("fuzz: mutated two-sided sessions through the scanners", () => {
  const rnd = prng(42);
  for (const name of FIXTURES) {
    const f = loadSegments(name);
    for (let iter = 0; iter < 150; iter++) {
      const socks = new SocksHandshake();
      const tc = new TlsRecordScanner(4);
      tc.captureHandshake();
      const pending = { c: 0, s: 0 };
      for (const seg of f.segments) {
        const b = seg.bytes.slice();
        if (rnd() < 0.3) b[Math.floor(rnd() * b.length)] ^= 1 << Math.floor(rnd() * 8);
        if (seg.dir === "c") {
          tc.feed(b, 0, b.length);
          if (socks.feedClient(b, 0, b.length) !== "fail") pending.c += socks.consumed;
        } else {
          if (socks.feedServer(b, 0, b.length) !== "fail") pending.s += socks.consumed;
        }
      }
      assert.ok(tc.count <= 1e6 && pending.c >= 0);
    }
  }
});
