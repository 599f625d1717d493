import assert from "node:assert/strict";
import { FlightState, TlsServerFlight } from "../../src/proto/tls_server_flight.ts";
import { X509Certificate } from "../../src/proto/x509_cert.ts";
import { concat } from "../helpers/bytes.ts";
import { buildCert, softEtherCertSpec } from "../helpers/der_builder.ts";
import { loadSegments } from "./fixture.ts";
import { ext, records, u16 } from "./tls_builder.ts";

/** A handshake message: type, u24 length, body. */
function msg(type: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  return concat(new Uint8Array([type, n >> 16, (n >> 8) & 0xff, n & 0xff]), body);
}

/** ServerHello body (TLS 1.2 legacy version; optional supported_versions). */
function serverHello(cipher: number, version13 = false, withExtensions = true): Uint8Array {
  const exts = version13 ? ext(0x2b, u16(0x0304)) : ext(0xff01, new Uint8Array([0]));
  return msg(
    2,
    concat(
      u16(0x0303),
      new Uint8Array(32).fill(0x33),
      new Uint8Array([32]),
      new Uint8Array(32).fill(0x44),
      u16(cipher),
      new Uint8Array([0]),
      ...(withExtensions ? [u16(exts.length), exts] : []),
    ),
  );
}

/** Certificate message with the given DER certificates. */
function certificate(...certs: Uint8Array[]): Uint8Array {
  const list = concat(
    ...certs.map((c) =>
      concat(new Uint8Array([c.length >> 16, (c.length >> 8) & 0xff, c.length & 0xff]), c)
    ),
  );
  const n = list.length;
  return msg(11, concat(new Uint8Array([n >> 16, (n >> 8) & 0xff, n & 0xff]), list));
}

const DONE = msg(14, new Uint8Array(0));
const SKE = msg(12, new Uint8Array(300).fill(9));

function feedAll(f: TlsServerFlight, stream: Uint8Array, step = stream.length): void {
  for (let o = 0; o < stream.length; o += step) {
    f.feed(stream, o, Math.min(step, stream.length - o));
  }
}

function certOf(f: TlsServerFlight): Uint8Array {
  return f.buffer.slice(f.certOff, f.certOff + f.certLen);
}

Deno.test("TlsServerFlight: real TLS 1.2 flight (openssl) gives its certificate; TLS 1.3 stops", () => {
  const fx = loadSegments("tls12_openssl_ip_sni");
  const f = new TlsServerFlight();
  for (const s of fx.segments) if (s.dir === "s") f.feed(s.bytes, 0, s.bytes.length);
  assert.equal(f.state, FlightState.CERTIFICATE);
  assert.equal(f.version, 0x0303);
  const c = new X509Certificate();
  assert.equal(c.parse(f.buffer, f.certOff, f.certLen), "ok", c.reason);
  assert.equal(c.length, f.certLen);

  const t13 = loadSegments("tls13_openssl_sni_alpn");
  f.reset();
  feedAll(f, t13.server);
  assert.equal(f.state, FlightState.TLS13);
  assert.equal(f.version, 0x0304);
  assert.equal(f.done, true);
});

Deno.test("TlsServerFlight: messages across records and segments, byte by byte", () => {
  const der = buildCert(softEtherCertSpec("vm"));
  const hs = concat(serverHello(0xc030), certificate(der), SKE, DONE);
  for (const fragment of [16384, 100, 7, 1]) {
    const stream = records(22, hs, fragment, 0x0303);
    for (const step of [stream.length, 1000, 3, 1]) {
      const f = new TlsServerFlight();
      feedAll(f, stream, step);
      assert.equal(f.state, FlightState.CERTIFICATE, `fragment ${fragment} step ${step}`);
      assert.equal(f.cipherSuite, 0xc030);
      assert.equal(f.version, 0x0303);
      assert.deepEqual(certOf(f), der);
    }
  }
});

Deno.test("TlsServerFlight: the first certificate of a chain; a chain beyond the buffer", () => {
  const leaf = buildCert(softEtherCertSpec("leaf"));
  const ca = buildCert(softEtherCertSpec("ca"));
  const f = new TlsServerFlight();
  feedAll(f, records(22, concat(serverHello(0x009c), certificate(leaf, ca), DONE)));
  assert.equal(f.state, FlightState.CERTIFICATE);
  assert.deepEqual(certOf(f), leaf);
  // 30 KB chain: the leaf fits the buffer, the message does not.
  const big = new Uint8Array(30_000).fill(0x30);
  f.reset();
  feedAll(f, records(22, concat(serverHello(0x009c), certificate(leaf, big), DONE)), 500);
  assert.equal(f.state, FlightState.CERTIFICATE);
  assert.deepEqual(certOf(f), leaf);
  // A leaf larger than the buffer.
  f.reset();
  feedAll(f, records(22, concat(serverHello(0x009c), certificate(big), DONE)), 500);
  assert.equal(f.state, FlightState.TOO_LONG);
  assert.ok(f.fed < 40_000);
  // ServerHello and other messages filling the buffer before the certificate.
  f.reset();
  const filler = msg(12, new Uint8Array(16384)); // the flight buffer's size
  feedAll(f, records(22, concat(serverHello(0x009c), filler, certificate(leaf), DONE)), 999);
  assert.equal(f.state, FlightState.TOO_LONG);
});

Deno.test("TlsServerFlight: flights without a readable certificate", () => {
  const f = new TlsServerFlight();
  const run = (stream: Uint8Array) => {
    f.reset();
    feedAll(f, stream);
    return f.state;
  };
  // TLS 1.3 HelloRetryRequest / ServerHello (supported_versions 0x0304).
  assert.equal(run(records(22, serverHello(0x1301, true))), FlightState.TLS13);
  // Resumption: ServerHello then ChangeCipherSpec.
  assert.equal(
    run(concat(records(22, serverHello(0xc02f)), records(20, new Uint8Array([1])))),
    FlightState.NO_CERTIFICATE,
  );
  // Anonymous / PSK: ServerHelloDone without a Certificate.
  assert.equal(run(records(22, concat(serverHello(0xc02f), DONE))), FlightState.NO_CERTIFICATE);
  // Empty certificate list.
  assert.equal(
    run(records(22, concat(serverHello(0xc02f), msg(11, new Uint8Array(3)), DONE))),
    FlightState.NO_CERTIFICATE,
  );
  // ServerHello without extensions (TLS 1.0 style) then the certificate.
  assert.equal(
    run(records(22, concat(serverHello(0x002f, false, false), certificate(new Uint8Array(5)))))!,
    FlightState.CERTIFICATE,
  );
  // Not TLS at all, an alert first, a message other than ServerHello first, an empty record.
  assert.equal(run(new TextEncoder().encode("HTTP/1.1 200 OK\r\n\r\n")), FlightState.NOT_TLS);
  assert.equal(run(records(21, new Uint8Array([2, 40]))), FlightState.NOT_TLS);
  assert.equal(run(records(22, DONE)), FlightState.NOT_TLS);
  assert.equal(run(new Uint8Array([22, 3, 3, 0, 0])), FlightState.NOT_TLS);
  // A record header alone: still waiting.
  assert.equal(run(new Uint8Array([22, 3, 3, 0, 40])), FlightState.WAITING);
  // Malformed ServerHello (session id length 33), malformed Certificate lengths.
  const sh = serverHello(0xc02f);
  sh[4 + 34] = 33;
  assert.equal(run(records(22, sh)), FlightState.NOT_TLS);
  const badCert = certificate(new Uint8Array(10));
  badCert[4 + 5] = 200; // first entry longer than the list
  assert.equal(run(records(22, concat(serverHello(0xc02f), badCert))), FlightState.NOT_TLS);
});

Deno.test("TlsServerFlight: stops taking bytes once done; reset readies it again", () => {
  const der = buildCert(softEtherCertSpec("vm"));
  const stream = concat(
    records(22, concat(serverHello(0xc02b), certificate(der), DONE)),
    records(23, new Uint8Array(500)),
  );
  const f = new TlsServerFlight();
  feedAll(f, stream, 64);
  assert.equal(f.state, FlightState.CERTIFICATE);
  assert.deepEqual(certOf(f), der);
  f.reset();
  assert.equal(f.state, FlightState.WAITING);
  assert.equal(f.cipherSuite, -1);
  feedAll(f, stream);
  assert.equal(f.state, FlightState.CERTIFICATE);
  // Random garbage never throws.
  let seed = 99;
  for (let k = 0; k < 500; k++) {
    const b = new Uint8Array(1 + (k % 700));
    for (let i = 0; i < b.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      b[i] = seed >>> 24;
    }
    b[0] = 22;
    b[1] = 3;
    f.reset();
    feedAll(f, b, 1 + (k % 13));
  }
});
