// gen_azure.ts — SYNTHETIC capture of SoftEther "VPN Azure" contacts, built from the wire format in
// SoftEther's sources (see testdata/lab4/NEGATIVES.md, section "VPN Azure (synthetic)", for the
// source lines behind every byte). Pure TypeScript, no dependencies; writes a classic pcap
// (Ethernet, µs) with correct IPv4/TCP/UDP checksums and full TCP 3-way handshakes.
//
//   deno run --allow-write tests/lab/gen_azure.ts [testdata/lab4/synthetic_azure.pcap]
//
// Contents (one file, sensor on the monitored LAN's uplink; all addresses are lab addresses):
//   A. VPN server 10.79.5.2 resolves the relay name it got from DDNS (A query via 10.79.5.53).
//   B. Control connection server -> relay 10.79.6.30:443, *plain TCP* (AcMainThread): "ACTL",
//      relay's parameter Pack (with size + SHA-1), server's Pack (CurrentHostName, …), result byte
//      0x01, then 1-byte keep-alives (relay 0x00, server 0x00).
//   C. VPN client 10.79.7.2 resolves vpnlab4711.vpnazure.net and opens TCP 443 to the relay with a
//      TLS ClientHello whose SNI is that name (then a TLS 1.0 handshake and opaque records).
//   D. Relay request on the control connection (0x01 + Pack opcode=relay …) and the server's data
//      connection to the relay: TCP 443, TLS ClientHello *without* SNI (StartSSLEx(ns, …, NULL)),
//      opaque TLS records (inside: "AZURE_CONNECT_SIGNATURE!" + Pack), server answers 0x00 on the
//      control connection, then relayed VPN traffic on both TLS connections.
// Deterministic (seeded PRNG), so re-running gives the same bytes.

const out = Deno.args[0] ?? "testdata/lab4/synthetic_azure.pcap";

// ---------------------------------------------------------------- deterministic randomness + SHA-1
let seed = 0x5eed_a2e7;
function rnd(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed;
}
function rbytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rnd() & 0xff;
  return b;
}

function sha1(data: Uint8Array): Uint8Array {
  const ml = data.length * 8;
  const withPad = new Uint8Array(((data.length + 9 + 63) >> 6) << 6);
  withPad.set(data);
  withPad[data.length] = 0x80;
  const dv = new DataView(withPad.buffer);
  dv.setUint32(withPad.length - 4, ml >>> 0);
  dv.setUint32(withPad.length - 8, Math.floor(ml / 2 ** 32));
  let [h0, h1, h2, h3, h4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const w = new Uint32Array(80);
  const rol = (x: number, n: number) => (x << n) | (x >>> (32 - n));
  for (let off = 0; off < withPad.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = dv.getUint32(off + i * 4);
    for (let i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    let [a, b, c, d, e] = [h0, h1, h2, h3, h4];
    for (let i = 0; i < 80; i++) {
      let f: number, k: number;
      if (i < 20) [f, k] = [(b & c) | (~b & d), 0x5a827999];
      else if (i < 40) [f, k] = [b ^ c ^ d, 0x6ed9eba1];
      else if (i < 60) [f, k] = [(b & c) | (b & d) | (c & d), 0x8f1bbcdc];
      else [f, k] = [b ^ c ^ d, 0xca62c1d6];
      const t = (rol(a, 5) + f + e + k + w[i]) >>> 0;
      [e, d, c, b, a] = [d, c, rol(b, 30) >>> 0, a, t];
    }
    [h0, h1, h2, h3, h4] = [
      (h0 + a) >>> 0,
      (h1 + b) >>> 0,
      (h2 + c) >>> 0,
      (h3 + d) >>> 0,
      (h4 + e) >>> 0,
    ];
  }
  const r = new Uint8Array(20);
  const rv = new DataView(r.buffer);
  [h0, h1, h2, h3, h4].forEach((h, i) => rv.setUint32(i * 4, h));
  return r;
}

// ---------------------------------------------------------------- byte helpers
const enc = new TextEncoder();
function cat(...parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const r = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    r.set(p, o);
    o += p.length;
  }
  return r;
}
const u8 = (...v: number[]) => Uint8Array.from(v);
const u16 = (v: number) => u8((v >> 8) & 0xff, v & 0xff);
const u24 = (v: number) => u8((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
const u32 = (v: number) => u8((v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
const u64 = (v: bigint) => cat(u32(Number(v >> 32n)), u32(Number(v & 0xffffffffn)));
const ip4 = (s: string) => Uint8Array.from(s.split(".").map(Number));

// ---------------------------------------------------------------- SoftEther Pack (Mayaqua/Pack.c)
// WritePack: u32 element count; WriteElement: WriteBufStr(name) = u32 (strlen+1) + name bytes
// (no NUL), u32 type, u32 value count, values. Types: 0 INT (u32), 1 DATA (u32 size + bytes),
// 2 STR (u32 strlen + bytes), 3 UNISTR (u32 utf8 size incl. NUL + bytes + NUL), 4 INT64 (u64).
// All integers big-endian (WriteBufInt / WriteBufInt64 use Endian32/Endian64).
type PackVal = { t: 0; v: number } | { t: 1; v: Uint8Array } | { t: 2; v: string } | {
  t: 4;
  v: bigint;
};
function pack(elems: [string, PackVal][]): Uint8Array {
  const parts: Uint8Array[] = [u32(elems.length)];
  for (const [name, val] of elems) {
    const nb = enc.encode(name);
    parts.push(u32(nb.length + 1), nb, u32(val.t), u32(1));
    if (val.t === 0) parts.push(u32(val.v));
    else if (val.t === 1) parts.push(u32(val.v.length), val.v);
    else if (val.t === 2) {
      const sb = enc.encode(val.v);
      parts.push(u32(sb.length), sb);
    } else parts.push(u64(val.v));
  }
  return cat(...parts);
}
// SendPackWithHash (Mayaqua/Network.c): u32 size, Pack bytes, SHA-1(Pack bytes)
const packWithHash = (p: Uint8Array) => cat(u32(p.length), p, sha1(p));
// PackAddIp (Mayaqua/Pack.c PackAddIpEx2), IPv4: "<n>@ipv6_bool"=0, "<n>@ipv6_array"=16 zero bytes,
// "<n>@ipv6_scope_id"=0, "<n>"=IPToUINT(ip) (the address bytes read as a host-order (LE) UINT,
// then written big-endian -> the 4 address bytes appear reversed on the wire)
function packIp(name: string, addr: string): [string, PackVal][] {
  const b = ip4(addr);
  const asLeUint = ((b[3] << 24) | (b[2] << 16) | (b[1] << 8) | b[0]) >>> 0;
  return [
    [`${name}@ipv6_bool`, { t: 0, v: 0 }],
    [`${name}@ipv6_array`, { t: 1, v: new Uint8Array(16) }],
    [`${name}@ipv6_scope_id`, { t: 0, v: 0 }],
    [name, { t: 0, v: asLeUint }],
  ];
}

// ---------------------------------------------------------------- TLS records
function tlsRecord(type: number, version: number, body: Uint8Array): Uint8Array {
  return cat(u8(type), u16(version), u16(body.length), body);
}
const hs = (type: number, body: Uint8Array) => cat(u8(type), u24(body.length), body);
const ext = (type: number, body: Uint8Array) => cat(u16(type), u16(body.length), body);
// ClientHello as OpenSSL 3 sends it by default (the shape SoftEther 5.x's client sends on the wire,
// cf. testdata/lab2/hostname_direct.pcap: same cipher list and extension order 0,11,10,22,23,13,43,45,51)
function clientHello(sni: string | null): Uint8Array {
  const suites = [
    0x1302,
    0x1303,
    0x1301,
    0xc02c,
    0xc030,
    0x009f,
    0xcca9,
    0xcca8,
    0xccaa,
    0xc02b,
    0xc02f,
    0x009e,
    0xc024,
    0xc028,
    0x006b,
    0xc023,
    0xc027,
    0x0067,
    0xc00a,
    0xc014,
    0x0039,
    0xc009,
    0xc013,
    0x0033,
    0x009d,
    0x009c,
    0x003d,
    0x003c,
    0x0035,
    0x002f,
    0x00ff,
  ];
  const exts: Uint8Array[] = [];
  if (sni !== null) {
    const n = enc.encode(sni);
    exts.push(ext(0, cat(u16(n.length + 3), u8(0), u16(n.length), n)));
  }
  exts.push(ext(11, u8(3, 0, 1, 2)));
  exts.push(
    ext(
      10,
      cat(u16(20), ...[0x1d, 0x17, 0x1e, 0x19, 0x18, 0x100, 0x101, 0x102, 0x103, 0x104].map(u16)),
    ),
  );
  exts.push(ext(22, new Uint8Array(0)), ext(23, new Uint8Array(0)));
  const sigalgs = [
    0x0403,
    0x0503,
    0x0603,
    0x0807,
    0x0808,
    0x0809,
    0x080a,
    0x080b,
    0x0804,
    0x0805,
    0x0806,
    0x0401,
    0x0501,
    0x0601,
    0x0303,
    0x0301,
    0x0302,
    0x0402,
    0x0502,
    0x0602,
  ];
  exts.push(ext(13, cat(u16(sigalgs.length * 2), ...sigalgs.map(u16))));
  exts.push(ext(43, cat(u8(8), u16(0x0304), u16(0x0303), u16(0x0302), u16(0x0301))));
  exts.push(ext(45, u8(1, 1)));
  exts.push(ext(51, cat(u16(36), u16(0x1d), u16(32), rbytes(32))));
  const e = cat(...exts);
  const body = cat(
    u16(0x0303),
    rbytes(32),
    u8(32),
    rbytes(32),
    u16(suites.length * 2),
    ...suites.map(u16),
    u8(1, 0),
    u16(e.length),
    e,
  );
  return tlsRecord(22, 0x0301, hs(1, body));
}
// The relay's TLS 1.0 answer (VPN Azure accepts only TLS 1.0 — SoftEtherVPN issues #1464, #1525):
// ServerHello (ECDHE-RSA-AES256-SHA) + Certificate + ServerKeyExchange + ServerHelloDone, opaque
// placeholder contents of realistic sizes.
function relayFlight(): Uint8Array {
  const sh = hs(
    2,
    cat(
      u16(0x0301),
      rbytes(32),
      u8(32),
      rbytes(32),
      u16(0xc014),
      u8(0),
      u16(5),
      ext(0xff01, u8(0)),
    ),
  );
  const certDer = cat(u8(0x30, 0x82), u16(1020), rbytes(1020));
  const cert = hs(11, cat(u24(certDer.length + 3), u24(certDer.length), certDer));
  const ske = hs(12, cat(u8(3), u16(0x17), u8(65), u8(4), rbytes(64), u16(256), rbytes(256)));
  const done = hs(14, new Uint8Array(0));
  return tlsRecord(22, 0x0301, cat(sh, cert, ske, done));
}
const clientKex = () =>
  cat(
    tlsRecord(22, 0x0301, hs(16, cat(u8(65), u8(4), rbytes(64)))),
    tlsRecord(20, 0x0301, u8(1)),
    tlsRecord(22, 0x0301, rbytes(48)), // encrypted Finished (AES-256-CBC + SHA-1 MAC, TLS 1.0: 48 B)
  );
const serverFinished = () => cat(tlsRecord(20, 0x0301, u8(1)), tlsRecord(22, 0x0301, rbytes(48)));
// TLS 1.0 CBC application data carrying n plaintext bytes: n + 20 (HMAC-SHA1), padded to 16
const appData = (n: number) => tlsRecord(23, 0x0301, rbytes(Math.ceil((n + 20 + 1) / 16) * 16));

// ---------------------------------------------------------------- Ethernet/IPv4/TCP/UDP + pcap
const frames: { t: number; b: Uint8Array }[] = [];
const mac = (last: number) => u8(0x02, 0x79, 0x00, 0x00, 0x00, last);
const MAC_HOST = mac(0x02); // any LAN host as seen on the uplink
const MAC_GW = mac(0x01); // the uplink router
function csum16(b: Uint8Array, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
  if (b.length & 1) s += b[b.length - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return s;
}
let ipId = 0x3a00;
function ipv4(src: string, dst: string, proto: number, payload: Uint8Array): Uint8Array {
  const h = cat(
    u8(0x45, 0),
    u16(20 + payload.length),
    u16(ipId++ & 0xffff),
    u16(0x4000),
    u8(64, proto),
    u16(0),
    ip4(src),
    ip4(dst),
  );
  const c = ~csum16(h) & 0xffff;
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return cat(h, payload);
}
function l4sum(src: string, dst: string, proto: number, seg: Uint8Array): number {
  const pseudo = cat(ip4(src), ip4(dst), u8(0, proto), u16(seg.length));
  return ~csum16(seg, csum16(pseudo)) & 0xffff;
}
function emit(t: number, src: string, dst: string, proto: number, seg: Uint8Array) {
  const outbound = src.startsWith("10.79.5.") || src.startsWith("10.79.7.");
  const eth = cat(outbound ? MAC_GW : MAC_HOST, outbound ? MAC_HOST : MAC_GW, u16(0x0800));
  frames.push({ t, b: cat(eth, ipv4(src, dst, proto, seg)) });
}
function udp(t: number, src: string, sport: number, dst: string, dport: number, data: Uint8Array) {
  const seg = cat(u16(sport), u16(dport), u16(8 + data.length), u16(0), data);
  const c = l4sum(src, dst, 17, seg) || 0xffff;
  seg[6] = c >> 8;
  seg[7] = c & 0xff;
  emit(t, src, dst, 17, seg);
}

class Tcp {
  seqA: number;
  seqB: number;
  tsA = 1_000_000 + (rnd() % 1_000_000);
  tsB = 2_000_000 + (rnd() % 1_000_000);
  constructor(public a: string, public ap: number, public b: string, public bp: number) {
    this.seqA = rnd();
    this.seqB = rnd();
  }
  private seg(t: number, fromA: boolean, flags: number, data: Uint8Array, syn = false) {
    const [src, sp, dst, dp] = fromA
      ? [this.a, this.ap, this.b, this.bp]
      : [this.b, this.bp, this.a, this.ap];
    const seq = fromA ? this.seqA : this.seqB;
    const ack = flags & 0x10 ? (fromA ? this.seqB : this.seqA) : 0;
    const tsv = (fromA ? this.tsA : this.tsB) + Math.floor(t * 1000);
    const tse = flags & 0x10 ? (fromA ? this.tsB : this.tsA) + Math.floor(t * 1000) : 0;
    const opts = syn
      ? cat(
        u8(2, 4),
        u16(1460),
        u8(4, 2),
        u8(8, 10),
        u32(tsv >>> 0),
        u32(tse >>> 0),
        u8(1, 3, 3, 7),
      )
      : cat(u8(1, 1, 8, 10), u32(tsv >>> 0), u32(tse >>> 0));
    const hl = 20 + opts.length;
    const seg = cat(
      u16(sp),
      u16(dp),
      u32(seq >>> 0),
      u32(ack >>> 0),
      u8((hl / 4) << 4, flags),
      u16(syn ? 64240 : 502),
      u16(0),
      u16(0),
      opts,
      data,
    );
    const c = l4sum(src, dst, 6, seg);
    seg[16] = c >> 8;
    seg[17] = c & 0xff;
    emit(t, src, dst, 6, seg);
    const adv = data.length + (flags & 0x03 ? 1 : 0); // SYN / FIN take one sequence number
    if (fromA) this.seqA = (this.seqA + adv) >>> 0;
    else this.seqB = (this.seqB + adv) >>> 0;
  }
  open(t: number, rtt: number) {
    this.seg(t, true, 0x02, new Uint8Array(0), true);
    this.seg(t + rtt, false, 0x12, new Uint8Array(0), true);
    this.seg(t + rtt + 0.00005, true, 0x10, new Uint8Array(0));
    return t + rtt + 0.00005;
  }
  // send data from A (fromA) or B, split at MSS 1448, peer ACKs after rtt
  send(t: number, fromA: boolean, data: Uint8Array, rtt: number): number {
    for (let o = 0; o < data.length; o += 1448) {
      this.seg(
        t + o / 1448 * 0.00002,
        fromA,
        0x18,
        data.subarray(o, Math.min(o + 1448, data.length)),
      );
    }
    this.seg(t + rtt, !fromA, 0x10, new Uint8Array(0));
    return t + rtt;
  }
  close(t: number, fromA: boolean, rtt: number) {
    this.seg(t, fromA, 0x11, new Uint8Array(0));
    this.seg(t + rtt, !fromA, 0x11, new Uint8Array(0));
    this.seg(t + rtt + 0.00005, fromA, 0x10, new Uint8Array(0));
  }
}

// ---------------------------------------------------------------- DNS
function dnsName(n: string): Uint8Array {
  return cat(...n.split(".").map((l) => cat(u8(l.length), enc.encode(l))), u8(0));
}
function dnsQuery(id: number, name: string, qtype: number): Uint8Array {
  const opt = cat(u8(0), u16(41), u16(1232), u32(0), u16(0)); // EDNS0 as glibc/stub resolvers send
  return cat(
    u16(id),
    u16(0x0100),
    u16(1),
    u16(0),
    u16(0),
    u16(1),
    dnsName(name),
    u16(qtype),
    u16(1),
    opt,
  );
}
function dnsAnswerA(id: number, name: string, addr: string): Uint8Array {
  const opt = cat(u8(0), u16(41), u16(1232), u32(0), u16(0));
  return cat(
    u16(id),
    u16(0x8180),
    u16(1),
    u16(1),
    u16(0),
    u16(1),
    dnsName(name),
    u16(1),
    u16(1),
    u16(0xc00c),
    u16(1),
    u16(1),
    u32(60),
    u16(4),
    ip4(addr),
    opt,
  );
}
function dnsNoData(id: number, name: string, qtype: number): Uint8Array {
  const opt = cat(u8(0), u16(41), u16(1232), u32(0), u16(0));
  const soa = cat(dnsName("vpnazure.net"), u16(6), u16(1), u32(60));
  const soaData = cat(
    dnsName("ns1.vpnazure.net"),
    dnsName("hostmaster.vpnazure.net"),
    u32(1),
    u32(3600),
    u32(600),
    u32(86400),
    u32(60),
  );
  return cat(
    u16(id),
    u16(0x8180),
    u16(1),
    u16(0),
    u16(1),
    u16(1),
    dnsName(name),
    u16(qtype),
    u16(1),
    soa,
    u16(soaData.length),
    soaData,
    opt,
  );
}
function lookup(t: number, host: string, hostPort: number, name: string, addr: string): number {
  const DNS = "10.79.5.53";
  const [ia, iq] = [rnd() & 0xffff, rnd() & 0xffff];
  udp(t, host, hostPort, DNS, 53, dnsQuery(ia, name, 1)); // glibc: A and AAAA in parallel, same port
  udp(t + 0.00003, host, hostPort, DNS, 53, dnsQuery(iq, name, 28));
  udp(t + 0.0121, DNS, 53, host, hostPort, dnsAnswerA(ia, name, addr));
  udp(t + 0.0123, DNS, 53, host, hostPort, dnsNoData(iq, name, 28));
  return t + 0.0124;
}

// ---------------------------------------------------------------- the scenario
const SERVER = "10.79.5.2"; // SoftEther VPN server (VPN Azure on), behind the monitored uplink
const CLIENT = "10.79.7.2"; // a VPN client on the monitored network using <host>.vpnazure.net
const RELAY = "10.79.6.30"; // VPN Azure relay (stands for a public relay address)
const HOSTNAME = "vpnlab4711"; // DDNS host name -> vpnlab4711.vpnazure.net
const RELAY_NAME = "relay-lab01.vpnazure.net"; // ASSUMPTION: current_azure_ip as a host name
const RTT = 0.045;

// A. + B. control connection
let t = 0.1;
t = lookup(t, SERVER, 41877, RELAY_NAME, RELAY);
const ctl = new Tcp(SERVER, 52311, RELAY, 443);
t = ctl.open(t + 0.0005, RTT);
t = ctl.send(t + 0.0001, true, enc.encode("ACTL"), RTT); // AZURE_PROTOCOL_CONTROL_SIGNATURE, plain
const relayParams = pack([
  ["ControlKeepAlive", { t: 0, v: 40000 }], // values as vpnazure-go sends (official relay: unknown)
  ["ControlTimeout", { t: 0, v: 60000 }],
  ["DataTimeout", { t: 0, v: 40000 }],
  ["SslTimeout", { t: 0, v: 5000 }],
]);
t = ctl.send(t + 0.0004, false, packWithHash(relayParams), RTT);
const serverParams = pack([
  ["CurrentHostName", { t: 2, v: HOSTNAME }],
  ["CurrentAzureIp", { t: 2, v: RELAY_NAME }],
  ["CurrentAzureTimestamp", { t: 4, v: 1_796_000_000_000n }],
  ["CurrentAzureSignature", {
    t: 2,
    v: Array.from(rbytes(20), (x) => x.toString(16).padStart(2, "0")).join("").toUpperCase(),
  }],
]);
t = ctl.send(t + 0.0002, true, packWithHash(serverParams), RTT);
t = ctl.send(t + 0.0003, false, u8(1), RTT); // result: connected
// keep-alives: relay sends 0x00, server answers 0x00 (AcWaitForRequest)
for (const k of [40, 80]) {
  ctl.send(t + k, false, u8(0), 0.0002);
  ctl.send(t + k + 0.0003, true, u8(0), RTT);
}
t += 95;

// C. VPN client -> <host>.vpnazure.net
t = lookup(t, CLIENT, 38211, `${HOSTNAME}.vpnazure.net`, RELAY);
const cli = new Tcp(CLIENT, 50644, RELAY, 443);
t = cli.open(t + 0.0006, RTT);
t = cli.send(t + 0.0003, true, clientHello(`${HOSTNAME}.vpnazure.net`), RTT);
t = cli.send(t + 0.001, false, relayFlight(), RTT);
t = cli.send(t + 0.002, true, clientKex(), RTT);
t = cli.send(t + 0.001, false, serverFinished(), RTT);

// D. the relay asks the server to open a data connection
const sessionId = rbytes(20);
const relayReq = pack([
  ["opcode", { t: 2, v: "relay" }],
  ["hostname", { t: 2, v: HOSTNAME }],
  ["session_id", { t: 1, v: sessionId }],
  ["client_port", { t: 0, v: 50644 }],
  ["server_port", { t: 0, v: 52311 }],
  ...packIp("client_ip", "198.51.100.77"), // the client's public address as the relay sees it
  ...packIp("server_ip", "203.0.113.5"), // the server's public address as the relay sees it
]);
const tReq = t + 0.01;
ctl.send(tReq, false, cat(u8(1), packWithHash(relayReq)), 0.0003);
const data = new Tcp(SERVER, 52319, RELAY, 443);
let td = data.open(tReq + 0.002, RTT);
td = data.send(td + 0.0003, true, clientHello(null), RTT); // StartSSLEx(ns, NULL, NULL, 0, NULL): no SNI
td = data.send(td + 0.001, false, relayFlight(), RTT);
td = data.send(td + 0.002, true, clientKex(), RTT);
td = data.send(td + 0.001, false, serverFinished(), RTT);
const dataPack = pack([["hostname", { t: 2, v: HOSTNAME }], ["session_id", {
  t: 1,
  v: sessionId,
}]]);
// "AZURE_CONNECT_SIGNATURE!" (24 B) then Pack with hash, inside TLS (SendAll(ns, …, 24, true))
td = data.send(td + 0.0002, true, cat(appData(24), appData(4 + dataPack.length + 20)), RTT);
td = data.send(td + 0.0003, false, appData(1), RTT); // relay: 1 byte (non-zero = go)
ctl.send(td + 0.0005, true, u8(0), RTT); // server finishes the request on the control connection
// relayed VPN session: the client's SoftEther login (HTTP POST with watermark, ~1.4 KB + ~8 KB)
// goes client -> relay, and the same bytes relay -> server on the data connection
let tc = t + 0.05;
td += 0.01;
const sizes: [boolean, number][] = [
  [true, 1434],
  [true, 8200],
  [false, 1200],
  [true, 700],
  [false, 2100],
  [true, 180],
  [false, 180],
  [true, 1300],
  [false, 1300],
  [true, 1300],
  [false, 1300],
];
for (const [up, n] of sizes) {
  tc = cli.send(Math.max(tc, td) + 0.001, up, appData(n), RTT);
  td = data.send(tc + 0.0004, !up, appData(n), RTT);
}
const tEnd = Math.max(tc, td) + 0.5;
cli.close(tEnd, true, RTT);
data.close(tEnd + 0.0008, false, RTT);

// ---------------------------------------------------------------- write pcap
frames.sort((x, y) => x.t - y.t);
const T0 = 1_796_000_000; // 2026-12-01 (lab epoch)
const parts: Uint8Array[] = [];
const gh = new DataView(new ArrayBuffer(24));
gh.setUint32(0, 0xa1b2c3d4, true);
gh.setUint16(4, 2, true);
gh.setUint16(6, 4, true);
gh.setUint32(16, 65535, true);
gh.setUint32(20, 1, true); // LINKTYPE_ETHERNET
parts.push(new Uint8Array(gh.buffer));
for (const f of frames) {
  const ph = new DataView(new ArrayBuffer(16));
  const us = Math.round(f.t * 1e6);
  ph.setUint32(0, T0 + Math.floor(us / 1e6), true);
  ph.setUint32(4, us % 1e6, true);
  ph.setUint32(8, f.b.length, true);
  ph.setUint32(12, f.b.length, true);
  parts.push(new Uint8Array(ph.buffer), f.b);
}
Deno.writeFileSync(out, cat(...parts));
console.log(`wrote ${out}: ${frames.length} frames`);
