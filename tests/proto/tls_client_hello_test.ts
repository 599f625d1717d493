import assert from "node:assert/strict";
import { parseClientHello } from "../../src/proto/tls_client_hello.ts";
import { TlsRecordScanner } from "../../src/proto/tls_record.ts";
import { SocksHandshake } from "../../src/proto/socks.ts";
import { concat, fromHex, loadJson, loadSegments } from "./fixture.ts";
import { alpnExt, clientHello, ext, sniExt, u16, u16Vector } from "./tls_builder.ts";

/** Fields tshark 4.0 dissected from the fixtures (the file also holds JA3/JA4 values). */
interface Expected {
  legacyVersion: number;
  cipherSuites: number[];
  extensions: number[];
  sni: string | null;
  alpn: string[];
  supportedVersions: number[];
  supportedGroups: number[];
  ecPointFormats: number[];
  signatureAlgorithms: number[];
  keyShareGroups: number[];
  sessionIdLength: number;
}
const EXPECTED = loadJson<Record<string, Expected>>("tls_expected.json");

function clientTls(name: string): Uint8Array {
  const f = loadSegments(name);
  if (!name.startsWith("proxy_")) return f.client;
  const hs = new SocksHandshake();
  hs.feedClient(f.client, 0, f.client.length);
  hs.feedServer(f.server, 0, f.server.length);
  hs.feedClient(f.client, hs.clientOffset, f.client.length - hs.clientOffset);
  return f.client.subarray(hs.clientInnerOffset);
}

/** The client's first handshake message as the detector gets it: a TlsRecordScanner capture. */
function helloOf(stream: Uint8Array) {
  const s = new TlsRecordScanner(4);
  s.captureHandshake();
  s.feed(stream, 0, stream.length);
  assert.ok(s.handshakeReady);
  return parseClientHello(s.handshakeBuffer(stream)!, s.handshakeOff, s.handshakeLen);
}

Deno.test("parseClientHello: real OpenSSL and curl hellos match tshark", () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    const h = helloOf(clientTls(name));
    assert.equal(h.status, "ok", name);
    assert.equal(h.reason, "");
    assert.equal(h.consumed, h.length);
    assert.equal(h.legacyVersion, want.legacyVersion, name);
    assert.equal(h.sessionIdLength, want.sessionIdLength, name);
    assert.deepEqual(h.cipherSuites, want.cipherSuites, name);
    assert.deepEqual(h.compressionMethods, [0], name);
    assert.deepEqual(h.extensions, want.extensions, name);
    assert.equal(h.sni, want.sni, name);
    assert.deepEqual(h.alpn, want.alpn, name);
    assert.deepEqual(h.supportedVersions, want.supportedVersions, name);
    assert.deepEqual(h.supportedGroups, want.supportedGroups, name);
    assert.deepEqual(h.ecPointFormats, want.ecPointFormats, name);
    assert.deepEqual(h.signatureAlgorithms, want.signatureAlgorithms, name);
    assert.deepEqual(h.keyShareGroups, want.keyShareGroups, name);
    assert.equal(h.hasSessionTicketExt, want.extensions.includes(35), name);
    assert.equal(h.hasGrease, false, name);
    assert.equal(h.sniIsIpLiteral, name === "tls12_openssl_ip_sni", name);
  }
});

Deno.test("real hellos: spot values", () => {
  const o = helloOf(clientTls("tls13_openssl_sni_alpn"));
  assert.equal(o.length, 330);
  const c = helloOf(clientTls("tls13_curl_ip"));
  assert.equal(c.sni, null); // curl sends no SNI to an IP address
  assert.ok(c.extensions.includes(21)); // padded to 512 bytes
  assert.equal(c.length, 512);
  const ip = helloOf(clientTls("tls12_openssl_ip_sni"));
  assert.equal(ip.sni, "127.0.0.1");
  assert.equal(ip.sniIsIpLiteral, true);
});

Deno.test("parseClientHello: GREASE anywhere, supported_versions kept in wire order", () => {
  const base = (exts: Uint8Array[] | null, ciphers = [0x1301]) => {
    const m = clientHello({ ciphers, extensions: exts });
    const h = parseClientHello(m, 0, m.length);
    assert.equal(h.status, "ok");
    return h;
  };
  assert.equal(base(null).hasGrease, false);
  assert.equal(base(null, [0x2a2a, 0x1301]).hasGrease, true);
  assert.equal(base([ext(0x0a0a, new Uint8Array(0))]).hasGrease, true);
  const sv = base([
    ext(0x2b, concat([new Uint8Array([6]), u16(0x7a7a), u16(0x0304), u16(0x0303)])),
  ]);
  assert.equal(sv.hasGrease, true);
  assert.deepEqual(sv.supportedVersions, [0x7a7a, 0x0304, 0x0303]);
  const g = base([ext(0x0a, u16Vector([0x1a1a, 29, 23])), ext(0x0b, fromHex("0100"))]);
  assert.equal(g.hasGrease, true);
  assert.deepEqual(g.supportedGroups, [0x1a1a, 29, 23]);
  assert.deepEqual(g.ecPointFormats, [0]);
  const alpn = base([alpnExt([fromHex("6832"), fromHex("687474702f312e31")])]);
  assert.deepEqual(alpn.alpn, ["h2", "http/1.1"]);
});

Deno.test("parseClientHello: SNI forms, key shares, IPv6 literal", () => {
  const ks = ext(
    0x33,
    concat([
      u16(4 + 32 + 4 + 2),
      u16(29),
      u16(32),
      new Uint8Array(32),
      u16(0x11ec),
      u16(2),
      u16(0),
    ]),
  );
  const m = clientHello({
    ciphers: [0x1301],
    extensions: [sniExt("2001:db8::5"), ks, ext(0x23, new Uint8Array(0))],
  });
  const h = parseClientHello(m, 0, m.length);
  assert.equal(h.sni, "2001:db8::5");
  assert.equal(h.sniIsIpLiteral, true);
  assert.deepEqual(h.keyShareGroups, [29, 0x11ec]);
  assert.equal(h.hasSessionTicketExt, true);
  const name = clientHello({ ciphers: [0x1301], extensions: [sniExt("10.77.2.2.nip.io")] });
  assert.equal(parseClientHello(name, 0, name.length).sniIsIpLiteral, false);
  const se = clientHello({ ciphers: [0x1301], extensions: [sniExt("10.77.2.2")] });
  assert.equal(parseClientHello(se, 0, se.length).sniIsIpLiteral, true);
});

Deno.test("parseClientHello: need for every prefix, no for malformed", () => {
  const stream = clientTls("tls13_openssl_sni_alpn");
  for (let n = 0; n < 330; n++) {
    assert.equal(parseClientHello(stream, 5, n).status, "need", `msg prefix ${n}`);
  }
  const good = clientHello({ ciphers: [0x1301], extensions: [sniExt("a.b")] });
  const mutate = (at: number, v: number) => {
    const b = good.slice();
    b[at] = v;
    return parseClientHello(b, 0, b.length);
  };
  assert.equal(mutate(0, 2).reason, "wrong_type");
  assert.equal(mutate(4, 2).reason, "bad_version");
  assert.equal(mutate(5, 9).reason, "bad_version");
  assert.equal(mutate(38, 33).reason, "bad_session_id");
  const ciphersAt = 4 + 2 + 32 + 1 + 32;
  assert.equal(mutate(ciphersAt + 1, 3).reason, "bad_ciphers");
  assert.equal(mutate(ciphersAt + 1, 0).reason, "bad_ciphers");
  assert.equal(mutate(ciphersAt + 1, 200).reason, "bad_length");
  assert.equal(mutate(ciphersAt + 4, 0).reason, "bad_compression");
  const extLenAt = ciphersAt + 4 + 2;
  assert.equal(mutate(extLenAt + 1, 1).reason, "bad_length");
  // server_name list length inconsistent with the extension length.
  assert.equal(mutate(extLenAt + 2 + 4 + 1, 9).reason, "bad_extension");
  const badAlpn = clientHello({ ciphers: [0x1301], extensions: [ext(0x10, fromHex("00030568"))] });
  assert.equal(parseClientHello(badAlpn, 0, badAlpn.length).reason, "bad_extension");
  const oddGroups = clientHello({
    ciphers: [0x1301],
    extensions: [ext(0x0a, fromHex("0003001d00"))],
  });
  assert.equal(parseClientHello(oddGroups, 0, oddGroups.length).reason, "bad_extension");
  const huge = fromHex("01ffffff0303");
  assert.equal(parseClientHello(huge, 0, huge.length).reason, "too_long");
  // An empty server_name extension is tolerated (no SNI).
  const emptySni = clientHello({ ciphers: [0x1301], extensions: [ext(0, new Uint8Array(0))] });
  const e = parseClientHello(emptySni, 0, emptySni.length);
  assert.equal(e.status, "ok");
  assert.equal(e.sni, null);
});
