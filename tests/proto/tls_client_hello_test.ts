import assert from "node:assert/strict";
import {
  HelloReason,
  ja3,
  ja4,
  ja4Raw,
  parseClientHello,
  parseClientHelloRecords,
} from "../../src/proto/tls_client_hello.ts";
import { TlsHandshakeReason } from "../../src/proto/tls_handshake.ts";
import { SocksHandshake } from "../../src/proto/socks.ts";
import { concat, fromHex, loadJson, loadSegments } from "./fixture.ts";
import { alpnExt, clientHello, ext, records, sniExt, u16, u16Vector } from "./tls_builder.ts";

/** Fields tshark 4.0 dissected from the fixtures, its JA3, and a JA4 computed from its lists. */
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
  ja3: string;
  ja3Md5: string;
  ja4: string;
  ja4_r: string;
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

Deno.test("parseClientHelloRecords: real OpenSSL and curl hellos match tshark", () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    const stream = clientTls(name);
    const h = parseClientHelloRecords(stream, 0, stream.length);
    assert.equal(h.status, "ok", name);
    assert.equal(h.reason, "");
    assert.equal(h.consumed, 5 + h.length);
    assert.equal(h.recordVersion, 0x0301);
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
    assert.deepEqual(ja3(h), { text: want.ja3, md5: want.ja3Md5 }, name);
    assert.equal(ja4Raw(h), want.ja4_r, name);
    assert.equal(ja4(h), want.ja4, name);
  }
});

Deno.test("real hellos: spot values", () => {
  const o = parseClientHelloRecords(clientTls("tls13_openssl_sni_alpn"), 0, 335);
  assert.equal(o.length, 330);
  assert.equal(ja4(o), "t13d3111h2_e8f1e7e78f70_1f22a2ca17c4");
  assert.equal(ja3(o).md5, "5a1edc7f170af1014fc65c994878e63c");
  const c = parseClientHelloRecords(clientTls("tls13_curl_ip"), 0, 517);
  assert.equal(c.sni, null); // curl sends no SNI to an IP address
  assert.ok(c.extensions.includes(21)); // padded to 512 bytes
  assert.equal(ja4(c), "t13i3111h2_e8f1e7e78f70_b26ce05bbdd6");
  const ip = parseClientHelloRecords(clientTls("tls12_openssl_ip_sni"), 0, 206);
  assert.equal(ip.sni, "127.0.0.1");
  assert.equal(ip.sniIsIpLiteral, true);
  assert.equal(ja4(ip).slice(0, 10), "t12d280700");
});

Deno.test("JA4 matches the worked example of the FoxIO spec", () => {
  const ciphers = [
    0x1301,
    0x1302,
    0x1303,
    0xc02b,
    0xc02f,
    0xc02c,
    0xc030,
    0xcca9,
    0xcca8,
    0xc013,
    0xc014,
    0x009c,
    0x009d,
    0x002f,
    0x0035,
  ];
  const sigs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];
  const order = [
    0x001b,
    0x0000,
    0x0033,
    0x0010,
    0x4469,
    0x0017,
    0x002d,
    0x000d,
    0x0005,
    0x0023,
    0x0012,
    0x002b,
    0xff01,
    0x000b,
    0x000a,
    0x0015,
  ];
  const body = (t: number, sigList = sigs): Uint8Array => {
    if (t === 0x0000) return sniExt("example.com").subarray(4);
    if (t === 0x0010) return alpnExt([fromHex("6832"), fromHex("687474702f312e31")]).subarray(4);
    if (t === 0x000d) return u16Vector(sigList);
    if (t === 0x002b) return concat([new Uint8Array([2]), u16(0x0304)]);
    if (t === 0x000a) return u16Vector([29, 23]);
    if (t === 0x000b) return fromHex("0100");
    if (t === 0x0033) return u16(0);
    return new Uint8Array(0);
  };
  const withGrease = [ext(0x0a0a, new Uint8Array(0)), ...order.map((t) => ext(t, body(t)))];
  const msg = clientHello({ ciphers: [0x2a2a, ...ciphers], extensions: withGrease });
  const h = parseClientHello(msg, 0, msg.length);
  assert.equal(h.status, "ok");
  assert.equal(h.hasGrease, true);
  assert.equal(ja4(h), "t13d1516h2_8daaf6152771_e5627efa2ab1");
  assert.equal(
    ja4Raw(h),
    "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_" +
      "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_" +
      "0403,0804,0401,0503,0805,0501,0806,0601",
  );
  assert.equal(ja4(h, "q").slice(0, 1), "q");
  // An empty signature_algorithms list: no "_" part (the spec's 6d807ffa2a79 example).
  const m2 = clientHello({ ciphers, extensions: order.map((t) => ext(t, body(t, []))) });
  const h2 = parseClientHello(m2, 0, m2.length);
  assert.equal(h2.status, "ok");
  assert.equal(ja4(h2), "t13d1516h2_8daaf6152771_6d807ffa2a79");
});

Deno.test("JA4 edge rules: ALPN forms, capped counts, empty lists, legacy version", () => {
  const base = (exts: Uint8Array[] | null, ciphers = [0x1301]) => {
    const m = clientHello({ ciphers, extensions: exts });
    const h = parseClientHello(m, 0, m.length);
    assert.equal(h.status, "ok");
    return h;
  };
  const noExt = base(null, [0x002f]);
  assert.equal(ja4(noExt), "t12i010000_" + ja4(noExt).split("_")[1] + "_000000000000");
  assert.equal(ja3(noExt).text, "771,47,,,");
  const onlySniAlpn = base([sniExt("a"), alpnExt([fromHex("6832")])]);
  assert.equal(ja4(onlySniAlpn).split("_")[2], "000000000000");
  const alpnCode = (p: string) => ja4(base([alpnExt([fromHex(p)])])).slice(8, 10);
  assert.equal(alpnCode("6832"), "h2");
  assert.equal(alpnCode("68"), "hh");
  assert.equal(alpnCode("ab"), "ab");
  assert.equal(alpnCode("abcd"), "ad");
  assert.equal(alpnCode("30ab"), "3b");
  assert.equal(alpnCode("3031abcd"), "3d");
  assert.equal(alpnCode("30abcd31"), "01");
  assert.equal(ja4(base([alpnExt([new Uint8Array(0), fromHex("6832")])])).slice(8, 10), "00");
  const many = Array.from({ length: 120 }, (_, i) => 0x0100 + i);
  assert.equal(ja4(base(null, many)).slice(4, 6), "99");
  const manyExt = Array.from({ length: 101 }, (_, i) => ext(0x1000 + i, new Uint8Array(0)));
  assert.equal(ja4(base(manyExt)).slice(6, 8), "99");
  const tls10 = clientHello({ version: 0x0301, ciphers: [0x002f], extensions: null });
  assert.equal(ja4(parseClientHello(tls10, 0, tls10.length)).slice(0, 4), "t10i");
  // supported_versions decides over legacy_version, GREASE ignored.
  const sv = base([
    ext(0x2b, concat([new Uint8Array([6]), u16(0x7a7a), u16(0x0304), u16(0x0303)])),
  ]);
  assert.equal(ja4(sv).slice(0, 3), "t13");
  assert.equal(sv.hasGrease, true);
  assert.deepEqual(sv.supportedVersions, [0x7a7a, 0x0304, 0x0303]);
  // JA3 drops GREASE from ciphers, extensions and groups.
  const g = base([ext(0x0a, u16Vector([0x1a1a, 29, 23])), ext(0x0b, fromHex("0100"))], [
    0x0a0a,
    0x1301,
  ]);
  assert.equal(ja3(g).text, "771,4865,10-11,29-23,0");
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
  for (let n = 0; n < 335; n++) {
    assert.equal(parseClientHelloRecords(stream, 0, n).status, "need", `prefix ${n}`);
    if (n < 330) assert.equal(parseClientHello(stream, 5, n).status, "need", `msg prefix ${n}`);
  }
  const good = clientHello({ ciphers: [0x1301], extensions: [sniExt("a.b")] });
  const mutate = (at: number, v: number) => {
    const b = good.slice();
    b[at] = v;
    return parseClientHello(b, 0, b.length);
  };
  assert.equal(mutate(0, 2).reason, HelloReason.WRONG_TYPE);
  assert.equal(mutate(4, 2).reason, HelloReason.BAD_VERSION);
  assert.equal(mutate(5, 9).reason, HelloReason.BAD_VERSION);
  assert.equal(mutate(38, 33).reason, HelloReason.BAD_SESSION_ID);
  const ciphersAt = 4 + 2 + 32 + 1 + 32;
  assert.equal(mutate(ciphersAt + 1, 3).reason, HelloReason.BAD_CIPHERS);
  assert.equal(mutate(ciphersAt + 1, 0).reason, HelloReason.BAD_CIPHERS);
  assert.equal(mutate(ciphersAt + 1, 200).reason, HelloReason.BAD_LENGTH);
  assert.equal(mutate(ciphersAt + 4, 0).reason, HelloReason.BAD_COMPRESSION);
  const extLenAt = ciphersAt + 4 + 2;
  assert.equal(mutate(extLenAt + 1, 1).reason, HelloReason.BAD_LENGTH);
  // server_name list length inconsistent with the extension length.
  assert.equal(mutate(extLenAt + 2 + 4 + 1, 9).reason, HelloReason.BAD_EXTENSION);
  const badAlpn = clientHello({ ciphers: [0x1301], extensions: [ext(0x10, fromHex("00030568"))] });
  assert.equal(parseClientHello(badAlpn, 0, badAlpn.length).reason, HelloReason.BAD_EXTENSION);
  const oddGroups = clientHello({
    ciphers: [0x1301],
    extensions: [ext(0x0a, fromHex("0003001d00"))],
  });
  assert.equal(parseClientHello(oddGroups, 0, oddGroups.length).reason, HelloReason.BAD_EXTENSION);
  const huge = fromHex("01ffffff0303");
  assert.equal(parseClientHello(huge, 0, huge.length).reason, HelloReason.TOO_LONG);
  // An empty server_name extension is tolerated (no SNI).
  const emptySni = clientHello({ ciphers: [0x1301], extensions: [ext(0, new Uint8Array(0))] });
  const e = parseClientHello(emptySni, 0, emptySni.length);
  assert.equal(e.status, "ok");
  assert.equal(e.sni, null);
  assert.equal(ja4(e).slice(3, 4), "d");
});

Deno.test("parseClientHelloRecords: fragmented hello, wrong record types", () => {
  const msg = clientHello({ ciphers: [0x1301, 0x1302], extensions: [sniExt("vpn.example.net")] });
  for (const frag of [1, 3, 4, 7, 50]) {
    const recs = concat([records(22, msg, frag), records(20, fromHex("01"))]);
    const h = parseClientHelloRecords(recs, 0, recs.length);
    assert.equal(h.status, "ok", `fragment ${frag}`);
    assert.equal(h.sni, "vpn.example.net");
    assert.equal(h.length, msg.length);
    const n = Math.ceil(msg.length / frag);
    assert.equal(h.consumed, msg.length + 5 * n);
    assert.equal(parseClientHelloRecords(recs, 0, h.consumed - 1).status, "need");
  }
  const app = records(23, msg);
  assert.equal(
    parseClientHelloRecords(app, 0, app.length).reason,
    TlsHandshakeReason.NOT_HANDSHAKE,
  );
  const split = concat([records(22, msg.subarray(0, 10)), records(21, fromHex("0228"))]);
  assert.equal(
    parseClientHelloRecords(split, 0, split.length).reason,
    TlsHandshakeReason.INTERRUPTED,
  );
  const sh = records(22, fromHex("020000260303"));
  assert.equal(parseClientHelloRecords(sh, 0, sh.length).reason, HelloReason.WRONG_TYPE);
  assert.equal(parseClientHelloRecords(msg, 0, msg.length).status, "no");
  const big = records(
    22,
    clientHello({ ciphers: [0x1301], extensions: [sniExt("x".repeat(300))] }),
    100,
  );
  assert.equal(
    parseClientHelloRecords(big, 0, big.length, 200).reason,
    TlsHandshakeReason.HANDSHAKE_TOO_LONG,
  );
});
