import assert from "node:assert/strict";
import { HandshakeCapture, TlsRecordScanner } from "../../src/proto/tls_record.ts";
import { parseClientHello } from "../../src/proto/tls_client_hello.ts";
import { concat, fromHex, loadSegments } from "./fixture.ts";
import { clientHello, records, sniExt } from "./tls_builder.ts";

/** Record lists as tshark dissected the fixtures ([type, length]). */
const RECORDS: Record<string, { c: number[][]; s: number[][] }> = {
  tls13_openssl_sni_alpn: {
    c: [[22, 330], [20, 1], [23, 69], [23, 19]],
    s: [[22, 122], [20, 1], [23, 23], [23, 811], [23, 281], [23, 69], [23, 250], [23, 250], [
      23,
      19,
    ]],
  },
  tls13_curl_ip: {
    c: [[22, 512], [20, 1], [23, 69], [23, 96], [23, 19]],
    // The fixture keeps 4096 server bytes: the 5193-byte record is cut, the last one absent.
    s: [[22, 122], [20, 1], [23, 23], [23, 811], [23, 281], [23, 69], [23, 250], [23, 250], [
      23,
      5193,
    ]],
  },
  tls12_openssl_ip_sni: {
    c: [[22, 201], [22, 37], [20, 1], [22, 40], [21, 26]],
    s: [[22, 65], [22, 791], [22, 300], [22, 4], [22, 186], [20, 1], [22, 40], [21, 26]],
  },
  tls12_openssl_alpn: {
    c: [[22, 221], [22, 37], [20, 1], [22, 40], [21, 26]],
    s: [[22, 80], [22, 791], [22, 300], [22, 4], [22, 186], [20, 1], [22, 40], [21, 26]],
  },
};

function listed(s: TlsRecordScanner): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < Math.min(s.count, s.capacity); i++) out.push([s.types[i], s.lengths[i]]);
  return out;
}

Deno.test("TlsRecordScanner: record header checks", () => {
  const scan = (hex: string, split = 5) => {
    const b = fromHex(hex);
    const s = new TlsRecordScanner(4);
    s.feed(b, 0, split);
    s.feed(b, split, b.length - split);
    return s;
  };
  for (const split of [5, 1, 3]) {
    const ok = scan("1603010200", split);
    assert.equal(ok.desync, false);
    assert.deepEqual(listed(ok), [[22, 512]]);
    // The longest record allowed: 2^14 + 2048 bytes.
    assert.deepEqual(listed(scan("1703034800", split)), [[23, 0x4800]]);
  }
  const cases: Array<[string, string]> = [
    ["1903010001", "bad_content_type"],
    ["1303010001", "bad_content_type"],
    ["1602010001", "bad_version"],
    ["1603050001", "bad_version"],
    ["1703034801", "record_too_long"],
    ["8103010100", "bad_content_type"], // SSLv2-style hello
  ];
  for (const [hex, reason] of cases) {
    for (const split of [5, 2]) {
      const s = scan(hex, split);
      assert.equal(s.desync, true, hex);
      assert.equal(s.desyncReason, reason, `${hex} split ${split}`);
      assert.equal(s.desyncOffset, 0);
      assert.equal(s.count, 0);
    }
  }
});

Deno.test("TlsRecordScanner: real streams per segment, per byte and at random splits", () => {
  for (const [name, want] of Object.entries(RECORDS)) {
    const f = loadSegments(name);
    for (const dir of ["c", "s"] as const) {
      const a = new TlsRecordScanner(32);
      for (const seg of f.segments.filter((s) => s.dir === dir)) {
        a.feed(seg.bytes, 0, seg.bytes.length);
      }
      assert.deepEqual(listed(a), want[dir], `${name} ${dir}`);
      assert.equal(a.count, want[dir].length);
      assert.equal(a.desync, false);
      const stream = dir === "c" ? f.client : f.server;
      assert.equal(a.bytes, stream.length);
      let at = 0;
      for (let i = 0; i < a.count; i++) {
        assert.equal(a.starts[i], at);
        at += 5 + a.lengths[i];
      }
      const b = new TlsRecordScanner(32);
      for (let i = 0; i < stream.length; i++) b.feed(stream, i, 1);
      assert.deepEqual(listed(b), want[dir], `${name} ${dir} bytewise`);
      const c = new TlsRecordScanner(32);
      let seed = 7;
      for (let i = 0; i < stream.length;) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = Math.min(stream.length - i, 1 + (seed % 700));
        c.feed(stream.slice(i, i + n), 0, n);
        i += n;
      }
      assert.deepEqual(listed(c), want[dir], `${name} ${dir} random`);
      assert.deepEqual(
        Array.from(c.starts.slice(0, c.count)),
        Array.from(a.starts.slice(0, a.count)),
      );
    }
  }
});

Deno.test("TlsRecordScanner: capacity, count beyond it, reset", () => {
  const rec = records(23, new Uint8Array(10));
  const s = new TlsRecordScanner(3);
  for (let i = 0; i < 5; i++) s.feed(rec, 0, rec.length);
  assert.equal(s.count, 5);
  assert.deepEqual(Array.from(s.lengths), [10, 10, 10]);
  assert.deepEqual(Array.from(s.starts), [0, 15, 30]);
  s.reset();
  assert.equal(s.count, 0);
  assert.equal(s.bytes, 0);
  s.feed(rec, 0, 7);
  assert.equal(s.count, 1);
  // Zero-length records are counted.
  const z = new TlsRecordScanner(4);
  const zero = fromHex("1703030000" + "1703030000");
  z.feed(zero, 0, zero.length);
  assert.equal(z.count, 2);
});

Deno.test("TlsRecordScanner: desync on a bad header, across segments too", () => {
  const good = records(22, new Uint8Array(4));
  const s = new TlsRecordScanner(8);
  s.feed(good, 0, good.length);
  const bad = fromHex("4745542f");
  s.feed(bad, 0, 2);
  assert.equal(s.desync, false);
  s.feed(bad, 2, 2);
  assert.equal(s.desync, false); // 4 of 5 header bytes
  s.feed(fromHex("20"), 0, 1);
  assert.equal(s.desync, true);
  assert.equal(s.desyncReason, "bad_content_type");
  assert.equal(s.desyncOffset, good.length);
  s.feed(good, 0, good.length);
  assert.equal(s.count, 1);
  assert.equal(s.bytes, good.length + 5 + good.length);
  const t = new TlsRecordScanner(8);
  const tooLong = fromHex("17030349ff");
  t.feed(tooLong, 0, 5);
  assert.equal(t.desyncReason, "record_too_long");
});

Deno.test("TlsRecordScanner: hello in one segment is exposed in place", () => {
  const f = loadSegments("tls13_openssl_sni_alpn");
  const s = new TlsRecordScanner(8);
  s.captureHandshake();
  assert.equal(s.handshakeState, HandshakeCapture.WAITING);
  const seg = f.segments[0].bytes;
  s.feed(seg, 0, seg.length);
  assert.equal(s.handshakeState, HandshakeCapture.IN_FEED);
  assert.ok(s.handshakeReady);
  const buf = s.handshakeBuffer(seg);
  assert.equal(buf, seg);
  assert.equal(s.handshakeOff, 5);
  assert.equal(s.handshakeLen, 330);
  const h = parseClientHello(buf!, s.handshakeOff, s.handshakeLen);
  assert.equal(h.status, "ok");
  assert.equal(h.sni, "example.com");
  const next = f.segments[2].bytes;
  s.feed(next, 0, next.length);
  assert.equal(s.handshakeState, HandshakeCapture.EXPIRED);
  assert.equal(s.handshakeBuffer(next), null);
});

Deno.test("TlsRecordScanner: hello split over segments and records is captured once", () => {
  const f = loadSegments("tls13_curl_ip");
  const stream = f.client;
  for (const cut of [1, 3, 5, 6, 8, 9, 100, 516]) {
    const s = new TlsRecordScanner(8);
    s.captureHandshake();
    s.feed(stream.slice(0, cut), 0, cut);
    assert.equal(s.handshakeReady, false, `cut ${cut}`);
    const rest = stream.slice(cut);
    s.feed(rest, 0, rest.length);
    const buf = s.handshakeBuffer(rest)!;
    if (cut <= 5) {
      // Only the record header was split: the body is whole in the second buffer.
      assert.equal(s.handshakeState, HandshakeCapture.IN_FEED, `cut ${cut}`);
      assert.equal(buf, rest);
      assert.equal(s.handshakeOff, 5 - cut);
    } else {
      assert.equal(s.handshakeState, HandshakeCapture.CAPTURED, `cut ${cut}`);
      assert.notEqual(buf, rest);
      assert.equal(s.handshakeOff, 0);
    }
    assert.equal(s.handshakeLen, 512);
    assert.deepEqual(buf.subarray(s.handshakeOff, s.handshakeOff + 512), stream.subarray(5, 517));
    assert.equal(parseClientHello(buf, s.handshakeOff, s.handshakeLen).status, "ok");
    s.feed(rest, 0, 0);
    // A capture stays available after further feeds; an in-place view expires.
    assert.equal(
      s.handshakeState,
      cut <= 5 ? HandshakeCapture.EXPIRED : HandshakeCapture.CAPTURED,
    );
  }
  // Fragmented into 100-byte records inside one buffer: copied, since it spans records.
  const msg = clientHello({ ciphers: [0x1301], extensions: [sniExt("a.example")] });
  const frag = records(22, msg, 20);
  const s = new TlsRecordScanner(16);
  s.captureHandshake();
  s.feed(frag, 0, frag.length);
  assert.equal(s.handshakeState, HandshakeCapture.CAPTURED);
  assert.deepEqual(s.handshakeBuffer(frag)!.subarray(0, s.handshakeLen), msg);
  assert.equal(s.count, Math.ceil(msg.length / 20));
});

Deno.test("TlsRecordScanner: capture truncation, abort, reuse of the buffer", () => {
  const msg = clientHello({ ciphers: [0x1301], extensions: [sniExt("x".repeat(200))] });
  const rec = records(22, msg);
  const s = new TlsRecordScanner(4);
  s.captureHandshake(64);
  s.feed(rec, 0, rec.length);
  assert.equal(s.handshakeState, HandshakeCapture.TRUNCATED);
  assert.equal(s.handshakeLen, 64);
  assert.deepEqual(s.handshakeBuffer(rec)!.subarray(0, 64), msg.subarray(0, 64));
  assert.equal(s.handshakeReady, false);

  const app = concat([records(23, new Uint8Array(3)), rec]);
  const t = new TlsRecordScanner(4);
  t.captureHandshake();
  t.feed(app, 0, app.length);
  assert.equal(t.handshakeState, HandshakeCapture.ABORTED);

  const half = records(22, msg, 100);
  const u = new TlsRecordScanner(4);
  u.captureHandshake();
  u.feed(half, 0, 105);
  const alert = records(21, new Uint8Array(2));
  u.feed(alert, 0, alert.length);
  assert.equal(u.handshakeState, HandshakeCapture.ABORTED);

  const v = new TlsRecordScanner(4);
  v.captureHandshake();
  v.feed(rec, 0, 50);
  v.feed(rec, 50, rec.length - 50);
  const first = v.handshakeBuffer(rec);
  v.reset();
  v.captureHandshake();
  const small = records(22, clientHello({ ciphers: [0x1301], extensions: null }));
  v.feed(small, 0, 10);
  v.feed(small, 10, small.length - 10);
  assert.equal(v.handshakeState, HandshakeCapture.CAPTURED);
  assert.equal(v.handshakeBuffer(small), first);
});
