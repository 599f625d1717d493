import assert from "node:assert/strict";
import { firstHandshakeMessage, TlsHandshakeReason } from "../../src/proto/tls_handshake.ts";
import { TlsRecordReason } from "../../src/proto/tls_record.ts";
import { concat, fromHex, loadSegments } from "./fixture.ts";
import { records } from "./tls_builder.ts";

Deno.test("firstHandshakeMessage: in place for one record, copied when fragmented", () => {
  const f = loadSegments("tls13_openssl_sni_alpn");
  const m = firstHandshakeMessage(f.client, 0, f.client.length);
  assert.equal(m.status, "ok");
  assert.equal(m.buf, f.client);
  assert.equal(m.off, 5);
  assert.equal(m.len, 330);
  assert.equal(m.records, 1);
  assert.equal(m.consumed, 335);
  assert.equal(m.recordVersion, 0x0301);
  const msg = f.client.subarray(5, 335);
  const frag = records(22, msg, 2, 0x0303);
  const c = firstHandshakeMessage(frag, 0, frag.length);
  assert.equal(c.status, "ok");
  assert.notEqual(c.buf, frag);
  assert.deepEqual(c.buf.subarray(c.off, c.off + c.len), msg);
  assert.equal(c.records, 165);
  assert.equal(c.consumed, frag.length);
  assert.equal(c.recordVersion, 0x0303);
  for (const n of [0, 4, 5, 6, 8, 9, 100, frag.length - 1]) {
    assert.equal(firstHandshakeMessage(frag, 0, n).status, "need", `${n}`);
  }
});

Deno.test("firstHandshakeMessage: the server's TLS 1.2 flight (several messages per record)", () => {
  const f = loadSegments("tls12_openssl_alpn");
  const m = firstHandshakeMessage(f.server, 0, f.server.length);
  assert.equal(m.status, "ok");
  assert.equal(m.buf[m.off], 2);
  assert.equal(m.len, 80);
  assert.equal(m.consumed, 85);
});

Deno.test("firstHandshakeMessage: failures", () => {
  assert.equal(
    firstHandshakeMessage(fromHex("1703030001aa"), 0, 6).reason,
    TlsHandshakeReason.NOT_HANDSHAKE,
  );
  assert.equal(
    firstHandshakeMessage(fromHex("4745"), 0, 2).reason,
    TlsRecordReason.BAD_CONTENT_TYPE,
  );
  const cut = concat([records(22, fromHex("0100001000")), records(20, fromHex("01"))]);
  assert.equal(firstHandshakeMessage(cut, 0, cut.length).reason, TlsHandshakeReason.INTERRUPTED);
  const big = records(22, fromHex("01004000"));
  assert.equal(
    firstHandshakeMessage(big, 0, big.length).reason,
    TlsHandshakeReason.HANDSHAKE_TOO_LONG,
  );
  assert.equal(firstHandshakeMessage(big, 0, big.length, 1 << 20).status, "need");
});
