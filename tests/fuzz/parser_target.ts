/**
 * The parser fuzz target: the detector set's parsers called directly on
 * mutated payloads, thousands of times faster than through the pipeline, with
 * what each promises checked — never throwing, offsets inside the bytes
 * given, nothing read past `len` (the same fields with other bytes after the
 * range), the same result however a stream is cut into `feed` calls
 * (`TlsServerFlight`, `OpenVpnTcpFramer`), `opensWithTls13Hello` agreeing
 * with the flight it shortcuts, and SHA-1 against node:crypto.
 *
 * Seeds are the corpus's payloads by class (DNS, OpenVPN, Packs, TLS server
 * flights and ClientHellos, HTTP requests, SoftEther-framed ICMP data) and
 * the certificates of testdata/lab4. An input is a batch of cases; a
 * failure names the case.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { DnsMessage, nameToWire } from "../../src/proto/dns_message.ts";
import { findHeader, parseRequestLine } from "../../src/proto/http_request_line.ts";
import { OpenVpnPacket, OpenVpnTcpFramer } from "../../src/proto/openvpn_packet.ts";
import { Sha1 } from "../../src/proto/sha1.ts";
import { PackReader } from "../../src/proto/softether_pack.ts";
import {
  FlightState,
  opensWithTls13Hello,
  TlsServerFlight,
} from "../../src/proto/tls_server_flight.ts";
import { findSni } from "../../src/proto/tls_sni.ts";
import { X509Certificate } from "../../src/proto/x509_cert.ts";
import { findCertificate, mutateCertificate, mutateServerFlight } from "./cert_mutators.ts";
import { mutateDns } from "./dns_mutators.ts";
import {
  hostBytes,
  mutateOpenVpnTcp,
  mutateOpenVpnUdp,
  mutatePack,
  openVpnTcpChain,
  replaceSni,
  sha1,
} from "./footprint_mutators.ts";
import type { SeedCapture } from "./packet_mutators.ts";
import { getBE, mutateBytes, type Rng } from "./rng.ts";
import { concat } from "../helpers/bytes.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Certificates read whole (testdata/lab4). */
const CERT_FILES = [
  "lab4/softether_server_cert.der",
  "lab4/neg_tls12_selfsigned.der",
  "lab4/neg_tls12_selfsigned_cnonly.der",
];

/** The parsers exercised, by name. */
export const PARSERS = [
  "x509",
  "dns",
  "pack",
  "openvpn",
  "framer",
  "flight",
  "sni",
  "http",
  "sha1",
] as const;

/** Seed payloads of each parser. */
export type ParserSeeds = Record<(typeof PARSERS)[number], Uint8Array[]>;

/** The parsers' seeds from the packet corpus and the certificate files. */
export function parserSeeds(captures: SeedCapture[]): ParserSeeds {
  const s: ParserSeeds = {
    x509: [],
    dns: [],
    pack: [],
    openvpn: [],
    framer: [],
    flight: [],
    sni: [],
    http: [],
    sha1: [],
  };
  for (const name of CERT_FILES) s.x509.push(Deno.readFileSync(`${ROOT}testdata/${name}`));
  const seen = new Set<string>();
  const add = (list: Uint8Array[], b: Uint8Array) => {
    const key = `${list.length}|${b.length}|${b.subarray(0, 24).join(",")}`;
    if (b.length === 0 || seen.has(key) || list.length >= 400) return;
    seen.add(key);
    list.push(b);
  };
  for (const cap of captures) {
    for (const sf of cap.frames) {
      const p = sf.pkt;
      if (p === undefined || p.payload.length === 0) continue;
      const b = p.payload;
      const sp = p.l4.length >= 4 ? getBE(p.l4, 0, 2) : -1;
      const dp = p.l4.length >= 4 ? getBE(p.l4, 2, 2) : -1;
      if (p.proto === 1 && p.l4.length === 8 && b.length >= 57) add(s.sha1, b);
      if (p.proto === 17) {
        if ((sp === 53 || dp === 53 || sp === 137 || dp === 137) && b.length >= 12) add(s.dns, b);
        else if (b[0] === 0 && b[1] === 0 && b[2] === 0 && b.length >= 8) add(s.pack, b);
        else if (sp === 1194 || dp === 1194) add(s.openvpn, b);
      } else if (p.proto === 6) {
        if (openVpnTcpChain(b) !== undefined) add(s.framer, b);
        else if (b[0] === 22 && b[1] === 3 && b.length > 9 && b[5] !== 1) add(s.flight, b);
        else if (b[0] === 22 && b[1] === 3 && b.length > 9) add(s.sni, b);
        else if (/^(GET|POST|CONNECT) /.test(String.fromCharCode(...b.subarray(0, 8)))) {
          add(s.http, b);
        } else if (b.length >= 12 && b[4] === 0 && b[5] === 0 && b[6] === 0) {
          add(s.pack, b.subarray(4));
        }
        const at = findCertificate(b);
        if (at >= 0) {
          const n = 4 + getBE(b, at + 2, 2);
          if (at + n <= b.length) add(s.x509, b.slice(at, at + n));
        }
      }
    }
  }
  return s;
}

/** One call of one parser: its name, the bytes, where the range starts and how a stream is cut. */
export interface ParserCase {
  /** Which parser. */
  parser: string;
  /** The buffer given to it. */
  data: Uint8Array;
  /** Offset of the parsed range in `data`. */
  off: number;
  /** Length of the parsed range. */
  len: number;
  /** Stream parsers: the lengths of the successive `feed` calls. */
  cuts: number[];
  /** Mutations applied. */
  mutations: string[];
}

/** Builds one case from `rng`. */
export function makeParserCase(rng: Rng, seeds: ParserSeeds): ParserCase {
  const names = PARSERS.filter((n) => seeds[n].length > 0 || n === "sha1");
  const parser = rng.pick(names);
  const log: string[] = [];
  const list = seeds[parser];
  let b: Uint8Array = list.length > 0 ? rng.pick(list) : rng.bytes(rng.int(0, 300));
  const rounds = rng.chance(0.7) ? 1 : rng.int(2, 4);
  for (let i = 0; i < rounds; i++) {
    if (rng.chance(0.15)) {
      b = mutateBytes(rng, b, log, 512);
      continue;
    }
    switch (parser) {
      case "x509":
        b = mutateCertificate(rng, b, log);
        break;
      case "dns":
        b = mutateDns(rng, b, log);
        break;
      case "pack":
        b = mutatePack(rng, b, 0, log);
        break;
      case "openvpn":
        b = mutateOpenVpnUdp(rng, b, log);
        break;
      case "framer": {
        const chain = openVpnTcpChain(b);
        b = chain !== undefined ? mutateOpenVpnTcp(rng, b, chain, log) : mutateBytes(rng, b, log);
        break;
      }
      case "flight":
        b = mutateServerFlight(rng, b, log);
        break;
      case "sni":
        b = replaceSni(b, hostBytes(rng)) ?? mutateBytes(rng, b, log);
        log.push("sni");
        break;
      case "http":
        b = mutateBytes(rng, b, log, 256);
        break;
      default: // sha1: any length, block edges most
        b = rng.bytes(
          rng.pick([0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, rng.int(0, 2000)]),
        );
        log.push(`sha1=${b.length}`);
    }
  }
  // The range inside a larger buffer: bytes before it, bytes after it.
  const pre = rng.chance(0.5) ? rng.bytes(rng.pick([1, 3, 16])) : new Uint8Array(0);
  const post = rng.chance(0.5) ? rng.bytes(rng.pick([1, 7, 64])) : new Uint8Array(0);
  const len = rng.chance(0.9) ? b.length : rng.int(0, b.length);
  const cuts: number[] = [];
  for (let left = len; left > 0;) {
    const n = Math.min(left, rng.chance(0.3) ? rng.int(1, 3) : rng.int(1, Math.max(1, len)));
    cuts.push(n);
    left -= n;
  }
  return { parser, data: concat(pre, b, post), off: pre.length, len, cuts, mutations: log };
}

/** Checks `c`; a problem, or undefined. Exceptions propagate (the caller reports them). */
export function checkParserCase(c: ParserCase): string | undefined {
  const { data, off, len } = c;
  // The same range with other bytes after it (nothing may be read past `len`).
  const alt = data.slice();
  for (let i = off + len; i < alt.length; i++) alt[i] ^= 0xa5;
  const exact = data.slice(0, off + len);
  switch (c.parser) {
    case "x509":
      return checkX509(data, alt, exact, off, len);
    case "dns":
      return checkDns(data, alt, off, len);
    case "pack":
      return same(walkPack(data, off, len), walkPack(alt, off, len), "pack");
    case "openvpn":
      return checkOpenVpn(data, alt, off, len);
    case "framer":
      return checkFramer(data, off, len, c.cuts);
    case "flight":
      return checkFlight(data, off, len, c.cuts);
    case "sni":
      return checkSni(data, alt, off, len);
    case "http":
      return checkHttp(data, alt, off, len);
    case "sha1":
      return checkSha1(data, off, len);
  }
  return `unknown parser ${c.parser}`;
}

function same(a: string, b: string, what: string): string | undefined {
  return a === b ? undefined : `${what}: bytes past the range changed the result: ${a} vs ${b}`;
}

const cert = new X509Certificate();

function x509Fields(buf: Uint8Array, off: number, len: number): string {
  cert.parse(buf, off, len);
  if (cert.status !== "ok") return `no:${cert.reason}`;
  const s = cert.subject, i = cert.issuer;
  const vals: number[] = [];
  for (let k = 0; k < Math.min(s.count, 16); k++) {
    vals.push(s.attrs[k], s.valueOff[k], s.valueLen[k]);
  }
  return [
    cert.length,
    cert.version,
    cert.serialOff,
    cert.serialLen,
    i.off,
    i.len,
    i.count,
    s.off,
    s.len,
    s.count,
    s.rdnCount,
    cert.notBefore,
    cert.notAfter,
    cert.utcTimes,
    cert.extCount,
    cert.basicCa,
    cert.basicPathLen,
    cert.keyUsage,
    cert.ekuCount,
    cert.serialIsZero(buf),
    cert.selfIssued(buf),
    ...vals,
  ].join(",");
}

function checkX509(
  data: Uint8Array,
  alt: Uint8Array,
  exact: Uint8Array,
  off: number,
  len: number,
): string | undefined {
  const a = x509Fields(data, off, len);
  if (cert.status === "ok") {
    const end = off + len;
    const inside = (o: number, n: number) => o >= off && n >= 0 && o + n <= end;
    if (!inside(cert.serialOff, cert.serialLen)) return "x509: serial outside the range";
    for (const nm of [cert.subject, cert.issuer]) {
      if (!inside(nm.off, nm.len)) return "x509: name outside the range";
      for (let k = 0; k < Math.min(nm.count, 16); k++) {
        if (!inside(nm.valueOff[k], nm.valueLen[k])) {
          return `x509: attribute ${k} outside the range`;
        }
      }
    }
    if (cert.version < 1 || cert.version > 3) return `x509: version ${cert.version}`;
    if (!Number.isFinite(cert.notBefore) || !Number.isFinite(cert.notAfter)) {
      return `x509: times ${cert.notBefore} ${cert.notAfter}`;
    }
    if (cert.length > len) return `x509: length ${cert.length} > ${len}`;
  }
  return same(a, x509Fields(alt, off, len), "x509") ??
    same(a, x509Fields(exact, off, len), "x509 (exact buffer)");
}

const dns = new DnsMessage();
const SUFFIXES = [
  nameToWire("softether-network.net"),
  nameToWire("keepalive.softether.org"),
  nameToWire(""),
  nameToWire("a"),
];

function dnsWalk(buf: Uint8Array, off: number, len: number): string {
  const ok = dns.parse(buf, off, len);
  const out: (string | number | boolean)[] = [ok, dns.qdCount, dns.anCount, dns.flags];
  if (!ok) return out.join(",");
  out.push(dns.qNameOffset, dns.qNameEnd, dns.qLabels, dns.qNameLength, dns.qType, dns.qClass);
  out.push(dns.questionName());
  for (const s of SUFFIXES) out.push(dns.questionHasSuffix(s));
  let n = 0;
  while (dns.nextRecord() && n < 70000) {
    n++;
    if (n <= 64) {
      out.push(dns.rrSection, dns.rrType, dns.rrDataOffset, dns.rrDataLength);
      out.push(dns.nameText(dns.rrNameOffset));
    }
    if (dns.rrDataOffset + dns.rrDataLength > off + len || dns.rrDataOffset < off) {
      return `BAD record data ${dns.rrDataOffset}+${dns.rrDataLength} outside ${off}+${len}`;
    }
  }
  out.push(n, dns.recordsMalformed);
  return out.join(",");
}

function checkDns(data: Uint8Array, alt: Uint8Array, off: number, len: number): string | undefined {
  const a = dnsWalk(data, off, len);
  if (a.startsWith("BAD")) return `dns: ${a}`;
  if (dns.qNameEnd > off + len) return `dns: question name ends at ${dns.qNameEnd} > ${off + len}`;
  return same(a, dnsWalk(alt, off, len), "dns");
}

const pack = new PackReader();
const OPCODE = new TextEncoder().encode("opcode");

function walkPack(buf: Uint8Array, off: number, len: number): string {
  const out: (number | boolean)[] = [pack.begin(buf, off, len), pack.count];
  let n = 0;
  while (pack.next() && n < 300000) {
    n++;
    if (pack.firstOffset + pack.firstLength > off + len && pack.valueCount > 0) {
      return `BAD value ${pack.firstOffset}+${pack.firstLength} outside ${off}+${len}`;
    }
    if (n <= 64) {
      out.push(pack.nameLength, pack.type, pack.valueCount, pack.firstLength, pack.nameIs(OPCODE));
      out.push(pack.firstValueIs(OPCODE));
    }
  }
  out.push(n, pack.malformed, pack.truncated, pack.consumed);
  return out.join(",");
}

const ovpn = new OpenVpnPacket();

function ovpnFields(buf: Uint8Array, off: number, len: number): string {
  ovpn.parse(buf, off, len);
  const acks = Array.from(ovpn.acks.subarray(0, Math.min(ovpn.ackCount, 8)));
  return [
    ovpn.status,
    ovpn.reason,
    ovpn.opcode,
    ovpn.keyId,
    ovpn.sessionHi,
    ovpn.sessionLo,
    ovpn.ackCount,
    ...acks,
    ovpn.remoteHi,
    ovpn.remoteLo,
    ovpn.packetId,
    ovpn.payloadOff,
    ovpn.payloadLen,
  ].join(",");
}

function checkOpenVpn(
  data: Uint8Array,
  alt: Uint8Array,
  off: number,
  len: number,
): string | undefined {
  const a = ovpnFields(data, off, len);
  if (ovpn.status === "ok") {
    if (ovpn.payloadOff < off || ovpn.payloadOff + ovpn.payloadLen > off + len) {
      return `openvpn: payload ${ovpn.payloadOff}+${ovpn.payloadLen} outside ${off}+${len}`;
    }
    if (ovpn.ackCount > 8) return `openvpn: ${ovpn.ackCount} acks`;
  }
  return same(a, ovpnFields(alt, off, len), "openvpn");
}

/** The packets a framer delivers for the stream `data[off, off+len)` fed in pieces `cuts`. */
function framed(data: Uint8Array, off: number, cuts: number[]): string[] | string {
  const got: string[] = [];
  let bad: string | undefined;
  const f = new OpenVpnTcpFramer({
    packet(buf, o, n, full) {
      if (o < 0 || n < 0 || o + n > buf.length) {
        bad ??= `framer: packet ${o}+${n} outside the buffer`;
      }
      if (n > full) bad ??= `framer: ${n} bytes of a ${full}-byte packet`;
      got.push(`${full}:${Array.from(buf.subarray(o, o + Math.min(n, 2048))).join(".")}`);
    },
  }, 2048);
  let p = off;
  for (const n of cuts) {
    f.feed(data, p, n);
    p += n;
    if (f.desync) break;
  }
  return bad ?? got;
}

function checkFramer(
  data: Uint8Array,
  off: number,
  len: number,
  cuts: number[],
): string | undefined {
  const whole = framed(data, off, [len]);
  const pieces = framed(data, off, cuts);
  if (typeof whole === "string") return whole;
  if (typeof pieces === "string") return pieces;
  // A packet split across feeds is gathered; one that fits a feed is handed over in place:
  // the same packets either way.
  const n = Math.min(whole.length, pieces.length);
  for (let i = 0; i < n; i++) {
    if (whole[i] !== pieces[i]) {
      return `framer: packet ${i} differs when the stream is cut ${cuts.join("+")}`;
    }
  }
  if (whole.length !== pieces.length) {
    return `framer: ${whole.length} packets whole, ${pieces.length} cut ${cuts.join("+")}`;
  }
  return undefined;
}

function flightResult(data: Uint8Array, off: number, cuts: number[]): string {
  const f = new TlsServerFlight();
  let p = off;
  for (const n of cuts) {
    f.feed(data, p, n);
    p += n;
  }
  const out: (number | string)[] = [f.state, f.version, f.cipherSuite];
  if (f.state === FlightState.CERTIFICATE) {
    const b = f.buffer;
    if (f.certOff < 0 || f.certLen <= 0 || f.certOff + f.certLen > b.length) {
      return `BAD certificate ${f.certOff}+${f.certLen} outside ${b.length}`;
    }
    out.push(f.certLen, sha1(b.subarray(f.certOff, f.certOff + f.certLen)).join("."));
  }
  return out.join(",");
}

function checkFlight(
  data: Uint8Array,
  off: number,
  len: number,
  cuts: number[],
): string | undefined {
  const whole = flightResult(data, off, [len]);
  if (whole.startsWith("BAD")) return `flight: ${whole}`;
  const pieces = flightResult(data, off, cuts);
  if (pieces.startsWith("BAD")) return `flight: ${pieces}`;
  if (whole !== pieces) return `flight: ${whole} whole, ${pieces} cut ${cuts.join("+")}`;
  if (opensWithTls13Hello(data, off, len) && Number(whole.split(",")[0]) !== FlightState.TLS13) {
    return `opensWithTls13Hello true, the flight's state ${whole.split(",")[0]}`;
  }
  return undefined;
}

const span = new Int32Array(4);

function checkSni(data: Uint8Array, alt: Uint8Array, off: number, len: number): string | undefined {
  const r = (b: Uint8Array) => {
    span.fill(-1);
    const ok = findSni(b, off, len, span);
    return `${ok},${ok ? `${span[0]},${span[1]}` : ""}`;
  };
  const a = r(data);
  if (a.startsWith("true") && (span[0] < off || span[1] <= 0 || span[0] + span[1] > off + len)) {
    return `sni: name ${span[0]}+${span[1]} outside ${off}+${len}`;
  }
  return same(a, r(alt), "sni");
}

const HEADERS = ["host", "user-agent", "keep-alive", "accept-language", "content-length"]
  .map((h) => new TextEncoder().encode(h));

function checkHttp(
  data: Uint8Array,
  alt: Uint8Array,
  off: number,
  len: number,
): string | undefined {
  const r = (b: Uint8Array): string => {
    span.fill(-1);
    const heads = parseRequestLine(b, off, off + len, span);
    const out: number[] = [heads];
    if (heads < 0) return out.join(",");
    if (!(off <= span[0] && span[0] < span[1] && span[1] < span[2] && span[2] < span[3])) {
      return `BAD request line spans ${Array.from(span).join(",")}`;
    }
    if (span[3] > off + len || heads > off + len) return `BAD request line past ${off + len}`;
    out.push(...span);
    const v = new Int32Array(2);
    for (const h of HEADERS) {
      if (findHeader(b, heads, off + len, h, v)) {
        if (v[0] < heads || v[1] < v[0] || v[1] > off + len) {
          return `BAD header value ${v[0]}-${v[1]}`;
        }
        out.push(v[0], v[1]);
      } else out.push(-1);
    }
    return out.join(",");
  };
  const a = r(data);
  if (a.startsWith("BAD")) return `http: ${a}`;
  return same(a, r(alt), "http");
}

const engine = new Sha1();

function checkSha1(data: Uint8Array, off: number, len: number): string | undefined {
  const want = sha1(data.subarray(off, off + len));
  if (!engine.matches(data, off, len, want, 0)) return `sha1: no match over ${len} bytes at ${off}`;
  const wrong = want.slice();
  wrong[len % 20] ^= 1;
  if (engine.matches(data, off, len, wrong, 0)) {
    return `sha1: a wrong digest matched (${len} bytes)`;
  }
  return undefined;
}
