/**
 * Structure-aware packet mutations. Real frames of the lab captures are
 * parsed into a small model (link header and VLAN tags, IP header with IPv4
 * options or the IPv6 extension chain, transport header, payload), mutated
 * at every layer the decoder and the parsers read, and serialised again —
 * lengths fixed up so that a payload change reaches the parsers, or broken on
 * purpose by a header mutation applied after serialisation.
 *
 * A round is a window of one lab capture's packet sequence (so flows and
 * their TCP streams, TLS / CONNECT / SOCKS / SSH set-ups are in context),
 * sometimes interleaved with a window of a second capture shifted to the same
 * time (the lab captures share addresses: a VPN over ICMP session meets a TCP
 * session's side flows), with round-wide transforms (IPv6, link type, VLAN
 * stack, fragmentation, ports, ICMP types and id / sequence keys, TCP
 * segments split) and per-packet mutations at a per-round rate. Payload
 * mutations go by what the payload is: ICMP (VPN over ICMP's SHA-1 framing
 * kept valid), DNS, OpenVPN over UDP / TCP, Packs, TLS server flights and
 * their certificates, ClientHello SNI, HTTP requests, SOCKS, texts. A TCP
 * payload whose length changed moves the later sequence and acknowledgement
 * numbers of its connection by as much (in most rounds), so that the stream
 * stays whole and the change reaches the stream parsers.
 *
 * @module
 */

import { LinkType } from "../../src/capture/raw_packet.ts";
import {
  findCertificate,
  looksServerFlight,
  mutateServerFlight,
  patchDerInPlace,
} from "./cert_mutators.ts";
import { mutateDns } from "./dns_mutators.ts";
import {
  hostBytes,
  infraText,
  looksOpenVpnUdp,
  looksPack,
  mutateIcmp,
  mutateOpenVpnTcp,
  mutateOpenVpnUdp,
  mutatePack,
  natTPack,
  openVpnTcpChain,
  replaceSni,
  udpAccelShape,
} from "./footprint_mutators.ts";
import { getBE, interesting, mutateBytes, putBE, type Rng } from "./rng.ts";
import { concat } from "../helpers/bytes.ts";

/** A frame as the fuzzer feeds it to the pipeline. */
export interface Frame {
  /** Link type (LINKTYPE_*). */
  linkType: number;
  /** The frame's bytes (capLen = data.length). */
  data: Uint8Array;
  /** Length on the wire. */
  wireLen: number;
  /** Seconds. */
  tsSec: number;
  /** Nanoseconds. */
  tsNsec: number;
}

/** One IPv6 extension header: its type and its bytes (next-header byte fixed at serialisation). */
interface Ext {
  type: number;
  body: Uint8Array;
}

/** A parsed IP packet with its link header. */
interface Pkt {
  tsSec: number;
  tsNsec: number;
  link: number;
  macs: Uint8Array; // dst + src, 12 bytes
  vlans: number[]; // (tpid << 16) | tci, outermost first
  v: 4 | 6;
  ip: Uint8Array; // fixed header: 20 (v4) or 40 (v6) bytes
  opts: Uint8Array; // IPv4 options
  ext: Ext[]; // IPv6 extension headers
  proto: number;
  l4: Uint8Array; // transport header (TCP/UDP, ICMP's 8 bytes), or empty for other protocols
  payload: Uint8Array;
}

/** A corpus frame: the original bytes and, when it is IP over a known link, its model. */
export interface SeedFrame {
  /** The frame as captured. */
  frame: Frame;
  /** The parsed model (undefined: kept opaque). */
  pkt?: Pkt;
  /** What its payload is, for focused rounds (see {@linkcode classify}); set on first use. */
  cls?: string;
  /** A copy of a repeated window: added to its ephemeral ports (and ICMP id). */
  portAdd?: number;
}

/** Payload classes a round can focus its mutations on (the detector set's parsers). */
const CLASSES = ["icmp", "dns", "ovpn", "cert", "flight", "pack", "http", "hello", "udp"] as const;

/** How often a focused round picks each class (certificates are few and deep). */
const CLASS_WEIGHTS = [2, 2, 2, 4, 1, 1, 1, 1, 1];

/** What a packet's payload is, for focused rounds ("" for none of the classes). */
function classify(p: Pkt | undefined): string {
  if (p === undefined) return "";
  if (isIcmp(p)) return "icmp";
  const b = p.payload;
  if (b.length === 0 || p.l4.length < 4) return "";
  const sp = getBE(p.l4, 0, 2), dp = getBE(p.l4, 2, 2);
  if (p.proto === 17) {
    if ((sp === 53 || dp === 53 || sp === 137 || dp === 137) && b.length >= 12) return "dns";
    if (looksPack(b, 0)) return "pack";
    if (looksOpenVpnUdp(b, sp, dp)) return findCertificate(b) >= 0 ? "cert" : "ovpn";
    return b.length <= 100 ? "udp" : "";
  }
  if (p.proto !== 6) return "";
  if (findCertificate(b) >= 0) return "cert";
  if (openVpnTcpChain(b) !== undefined) return "ovpn";
  if (looksServerFlight(b)) return "flight";
  if (looksPack(b, 4) || (b.length >= 4 && b[0] === 0x41 && b[1] === 0x43 && b[2] === 0x54)) {
    return "pack";
  }
  if (b.length > 9 && b[0] === 22 && b[5] === 1) return "hello";
  if (b.length > 5 && b[0] === 23 && b[1] === 3) return "app"; // (focused with "cert": SSTP sizes)
  if (isText(b) && b[0] !== 0x53 && b[0] !== 0x48) return "http";
  return "";
}

const capClasses = new WeakMap<SeedCapture, Set<string>>();

/** The payload classes present in a capture. */
function classesOf(cap: SeedCapture): Set<string> {
  let set = capClasses.get(cap);
  if (set === undefined) {
    set = new Set();
    for (const sf of cap.frames) set.add(sf.cls ??= classify(sf.pkt));
    capClasses.set(cap, set);
  }
  return set;
}

const ETH_IPV4 = 0x0800, ETH_IPV6 = 0x86dd;

/** Parses a captured frame into a model (undefined for non-IP or unsupported links). */
export function parseFrame(f: Frame): Pkt | undefined {
  const b = f.data;
  let off = 0;
  let et = -1;
  const macs = new Uint8Array(12);
  const vlans: number[] = [];
  if (f.linkType === LinkType.ETHERNET) {
    if (b.length < 14) return undefined;
    macs.set(b.subarray(0, 12));
    et = getBE(b, 12, 2);
    off = 14;
    while ((et === 0x8100 || et === 0x88a8 || et === 0x9100) && off + 4 <= b.length) {
      vlans.push(((et << 16) | getBE(b, off, 2)) >>> 0);
      et = getBE(b, off + 2, 2);
      off += 4;
    }
  } else if (f.linkType === LinkType.LINUX_SLL) {
    if (b.length < 16) return undefined;
    et = getBE(b, 14, 2);
    off = 16;
  } else if (f.linkType === LinkType.RAW) {
    et = b.length > 0 && b[0] >> 4 === 6 ? ETH_IPV6 : ETH_IPV4;
  } else return undefined;
  const ipb = b.subarray(off);
  if (et === ETH_IPV4) {
    if (ipb.length < 20 || ipb[0] >> 4 !== 4) return undefined;
    const ihl = (ipb[0] & 15) * 4, total = getBE(ipb, 2, 2);
    if (ihl < 20 || total < ihl || total > ipb.length) return undefined;
    if ((getBE(ipb, 6, 2) & 0x3fff) !== 0) return undefined; // already a fragment
    const proto = ipb[9];
    const body = ipb.subarray(ihl, total);
    const [l4, payload] = splitL4(proto, body);
    if (l4 === undefined) return undefined;
    return {
      tsSec: f.tsSec,
      tsNsec: f.tsNsec,
      link: f.linkType,
      macs,
      vlans,
      v: 4,
      ip: ipb.slice(0, 20),
      opts: ipb.slice(20, ihl),
      ext: [],
      proto,
      l4,
      payload,
    };
  }
  if (et === ETH_IPV6) {
    if (ipb.length < 40 || ipb[0] >> 4 !== 6) return undefined;
    const plen = getBE(ipb, 4, 2);
    if (40 + plen > ipb.length) return undefined;
    let nh = ipb[6], cur = 40;
    const ext: Ext[] = [];
    while (nh === 0 || nh === 43 || nh === 60) {
      const len = (ipb[cur + 1] + 1) * 8;
      if (cur + len > 40 + plen) return undefined;
      ext.push({ type: nh, body: ipb.slice(cur, cur + len) });
      nh = ipb[cur];
      cur += len;
    }
    const [l4, payload] = splitL4(nh, ipb.subarray(cur, 40 + plen));
    if (l4 === undefined) return undefined;
    return {
      tsSec: f.tsSec,
      tsNsec: f.tsNsec,
      link: f.linkType,
      macs,
      vlans,
      v: 6,
      ip: ipb.slice(0, 40),
      opts: new Uint8Array(0),
      ext,
      proto: nh,
      l4,
      payload,
    };
  }
  return undefined;
}

function splitL4(proto: number, body: Uint8Array): [Uint8Array | undefined, Uint8Array] {
  if (proto === 6) {
    if (body.length < 20) return [undefined, body];
    const doff = (body[12] >> 4) * 4;
    if (doff < 20 || doff > body.length) return [undefined, body];
    return [body.slice(0, doff), body.slice(doff)];
  }
  if (proto === 17) {
    if (body.length < 8) return [undefined, body];
    return [body.slice(0, 8), body.slice(8)];
  }
  if ((proto === 1 || proto === 58) && body.length >= 8) return [body.slice(0, 8), body.slice(8)];
  return [new Uint8Array(0), body.slice()];
}

function clonePkt(p: Pkt): Pkt {
  return {
    ...p,
    macs: p.macs,
    vlans: [...p.vlans],
    ip: p.ip.slice(),
    opts: p.opts,
    ext: p.ext.map((e) => ({ type: e.type, body: e.body.slice() })),
    l4: p.l4.slice(),
  };
}

function isIcmp(p: Pkt): boolean {
  return (p.proto === 1 || p.proto === 58) && p.l4.length === 8;
}

/** Where the layers start in a serialised frame. */
interface Layout {
  ipOff: number;
  l4Off: number;
  payOff: number;
}

function linkHeader(p: Pkt): Uint8Array {
  const et = p.v === 4 ? ETH_IPV4 : ETH_IPV6;
  switch (p.link) {
    case LinkType.ETHERNET: {
      const h = new Uint8Array(14 + 4 * p.vlans.length);
      h.set(p.macs);
      let off = 12;
      for (const t of p.vlans) {
        putBE(h, off, 2, t >>> 16);
        putBE(h, off + 2, 2, t & 0xffff);
        off += 4;
      }
      putBE(h, off, 2, et);
      return h;
    }
    case LinkType.LINUX_SLL: {
      const h = new Uint8Array(16);
      putBE(h, 2, 2, 1);
      putBE(h, 4, 2, 6);
      h.set(p.macs.subarray(6, 12), 6);
      putBE(h, 14, 2, et);
      return h;
    }
    case LinkType.LINUX_SLL2: {
      const h = new Uint8Array(20);
      putBE(h, 0, 2, et);
      putBE(h, 4, 4, 2);
      putBE(h, 8, 2, 1);
      h[11] = 6;
      h.set(p.macs.subarray(6, 12), 12);
      return h;
    }
    case LinkType.NULL: {
      const fam = p.v === 4 ? 2 : 30;
      return new Uint8Array([fam, 0, 0, 0]);
    }
    case LinkType.LOOP: {
      const fam = p.v === 4 ? 2 : 24;
      return new Uint8Array([0, 0, 0, fam]);
    }
    default:
      return new Uint8Array(0);
  }
}

function pad4(b: Uint8Array): Uint8Array {
  if (b.length % 4 === 0) return b;
  return concat(b, new Uint8Array(4 - (b.length % 4)));
}

/** IP packet bytes (header with consistent lengths, transport, payload) of the model. */
function ipBytes(p: Pkt): { bytes: Uint8Array; l4Rel: number } {
  let l4 = p.l4;
  if (p.proto === 6 && l4.length >= 20) {
    l4 = pad4(l4.slice());
    l4[12] = ((Math.min(15, l4.length / 4)) << 4) | (l4[12] & 15);
  } else if (p.proto === 17 && l4.length >= 8) {
    l4 = l4.slice();
    putBE(l4, 4, 2, (8 + p.payload.length) & 0xffff);
  }
  if (p.v === 4) {
    const opts = pad4(p.opts);
    const hdr = concat(p.ip.subarray(0, 20), opts);
    hdr[0] = 0x40 | Math.min(15, hdr.length / 4);
    putBE(hdr, 2, 2, (hdr.length + l4.length + p.payload.length) & 0xffff);
    hdr[9] = p.proto;
    return { bytes: concat(hdr, l4, p.payload), l4Rel: hdr.length };
  }
  const hdr = p.ip.slice(0, 40);
  const exts: Uint8Array[] = [];
  for (let i = 0; i < p.ext.length; i++) {
    const e = p.ext[i].body.slice();
    if (e.length > 0) e[0] = i + 1 < p.ext.length ? p.ext[i + 1].type : p.proto;
    exts.push(e);
  }
  const ext = concat(...exts);
  hdr[6] = p.ext.length > 0 ? p.ext[0].type : p.proto;
  putBE(hdr, 4, 2, (ext.length + l4.length + p.payload.length) & 0xffff);
  return { bytes: concat(hdr, ext, l4, p.payload), l4Rel: 40 + ext.length };
}

/** Serialises the model into a frame; returns the layout too. */
function serialise(p: Pkt): { frame: Frame; layout: Layout } {
  const link = linkHeader(p);
  const { bytes, l4Rel } = ipBytes(p);
  const data = concat(link, bytes);
  return {
    frame: { linkType: p.link, data, wireLen: data.length, tsSec: p.tsSec, tsNsec: p.tsNsec },
    layout: {
      ipOff: link.length,
      l4Off: link.length + l4Rel,
      payOff: link.length + l4Rel + pad4(p.l4).length,
    },
  };
}

// ---- model mutations (before serialisation) ----

function randomIpv4Options(rng: Rng): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  const budget = rng.pick([4, 8, 20, 40, 44]);
  while (n < budget) {
    const kind = rng.pick([0, 1, 7, 68, 131, 137, 148, 130, 25, rng.byte()]);
    if (kind === 0 || kind === 1) {
      parts.push(new Uint8Array([kind]));
      n++;
      continue;
    }
    const len = rng.pick([0, 1, 2, 3, 4, 7, 11, 39, 40, 255, rng.int(2, 12)]);
    const body = rng.bytes(Math.max(0, Math.min(len, budget - n) - 2));
    const o = concat(new Uint8Array([kind, len]), body);
    parts.push(o);
    n += o.length;
  }
  return concat(...parts);
}

function randomExt(rng: Rng): Ext {
  const type = rng.pick([0, 43, 60, 44, 51, 50, 59, 135, 139, 140, 253, rng.byte()]);
  if (type === 44) { // fragment header: atomic or not
    const b = new Uint8Array(8);
    const off = rng.chance(0.6) ? 0 : rng.int(0, 8191);
    putBE(b, 2, 2, (off << 3) | (rng.chance(0.3) ? 1 : 0));
    putBE(b, 4, 4, rng.u32());
    return { type, body: b };
  }
  if (type === 51) { // AH: length in 4-byte units minus 2
    const units = rng.pick([0, 1, 2, 4, 6, 255]);
    const len = Math.min(1024, (units + 2) * 4);
    const b = rng.bytes(len);
    b[1] = units;
    return { type, body: b };
  }
  const hlen = rng.pick([0, 0, 1, 2, 255, rng.int(0, 8)]);
  const real = rng.chance(0.85) ? (hlen + 1) * 8 : rng.pick([2, 8, 16, 24]);
  const b = rng.bytes(Math.min(real, 2048));
  if (b.length > 1) b[1] = hlen;
  return { type, body: b };
}

function randomTcpOptions(rng: Rng): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  const budget = rng.pick([4, 12, 20, 40, 44]);
  while (n < budget) {
    const kind = rng.pick([0, 1, 2, 3, 4, 5, 8, 28, 29, 30, 34, 254, rng.byte()]);
    if (kind === 0 || kind === 1) {
      parts.push(new Uint8Array([kind]));
      n++;
      continue;
    }
    const natural: Record<number, number> = { 2: 4, 3: 3, 4: 2, 5: 10, 8: 10, 34: 18 };
    const len = rng.chance(0.6)
      ? (natural[kind] ?? rng.int(2, 12))
      : rng.pick([0, 1, 2, 3, 41, 255, rng.int(0, 40)]);
    const body = rng.bytes(Math.max(0, Math.min(len, budget - n) - 2));
    const o = concat(new Uint8Array([kind, len]), body);
    parts.push(o);
    n += o.length;
  }
  return concat(...parts);
}

/** Offsets and widths of the length/type fields of a TLS record / ClientHello at the payload start. */
function tlsFields(b: Uint8Array): [number, number][] {
  const f: [number, number][] = [];
  if (b.length < 5 || b[0] < 20 || b[0] > 24 || b[1] !== 3) return f;
  f.push([0, 1], [1, 2], [3, 2]);
  if (b[0] !== 22 || b.length < 9) return f;
  f.push([5, 1], [6, 3]);
  if (b[5] !== 1 && b[5] !== 2) return f;
  f.push([9, 2]);
  let o = 43;
  if (o >= b.length) return f;
  f.push([o, 1]);
  o += 1 + b[o];
  if (b[5] === 1) { // ClientHello: cipher suites, compression methods
    if (o + 2 > b.length) return f;
    f.push([o, 2]);
    o += 2 + getBE(b, o, 2);
    if (o >= b.length) return f;
    f.push([o, 1]);
    o += 1 + b[o];
  } else {
    f.push([o, 2], [o + 2, 1]);
    o += 3;
  }
  if (o + 2 > b.length) return f;
  f.push([o, 2]); // extensions length
  o += 2;
  while (o + 4 <= b.length && f.length < 80) {
    const type = getBE(b, o, 2), len = getBE(b, o + 2, 2);
    f.push([o, 2], [o + 2, 2]);
    if (type === 0 && o + 9 <= b.length) f.push([o + 4, 2], [o + 6, 1], [o + 7, 2]); // SNI
    if (type === 16 && o + 7 <= b.length) f.push([o + 4, 2], [o + 6, 1]); // ALPN
    if (type === 43 && o + 5 <= b.length) f.push([o + 4, 1]); // supported_versions
    o += 4 + len;
  }
  return f;
}

const ASCII = new TextDecoder("latin1");
const ENC = new TextEncoder();

/** Text mutations that concern an HTTP request (SoftEther's DDNS client, a CONNECT). */
const HTTP_OPS = [0, 1, 2, 3, 5, 8, 11, 12, 12, 13, 13, 14, 14, 15, 16, 17, 18];

/** Text-level mutations of a CONNECT head / HTTP request or response / SSH banner. */
function mutateText(rng: Rng, b: Uint8Array, log: string[], http = false): Uint8Array {
  let s = ASCII.decode(b);
  const op = http ? rng.pick(HTTP_OPS) : rng.int(0, 18);
  switch (op) {
    case 0:
      s = s.replace(/\r\n\r\n/, rng.pick(["\r\n", "\n\n", "\r\n\r", ""]));
      break;
    case 1:
      s = s.replace(
        /:(\d+)/,
        `:${rng.pick(["99999", "0", "-1", "0x10", "", "65536", "1e3", " 5"])}`,
      );
      break;
    case 2: {
      const at = rng.int(0, s.length);
      s = s.slice(0, at) + "A".repeat(rng.pick([100, 1000, 8000, 40000])) + s.slice(at);
      break;
    }
    case 3: {
      const at = rng.int(0, s.length);
      s = s.slice(0, at) + rng.pick(["\0", "\xff", "\x1b[2J", "\r", "\n", "\u0085"]) + s.slice(at);
      break;
    }
    case 4:
      s = s.replace(/^[A-Z]+/, rng.pick(["GET", "connect", "CONNECTX", "", "CONNECT CONNECT"]));
      break;
    case 5:
      s = s.replace(/\r\n/, "\r\n" + "X-Pad: y\r\n".repeat(rng.pick([1, 50, 500])));
      break;
    case 6:
      s = s.replace(
        /^SSH-[\d.]+-/,
        rng.pick(["SSH-1.99-", "SSH-1.5-", "SSH--", "SSH-2.0", "SSH-"]),
      );
      break;
    case 7:
      s = "hello\r\n".repeat(rng.pick([1, 5, 100])) + s;
      break;
    case 8:
      s = s.replace(/\r?\n/g, "");
      break;
    case 9:
      s = s.replace(
        /HTTP\/1\.[01] \d+/,
        rng.pick(["HTTP/1.1 200", "HTTP/1.1 2000", "HTTP/9 200", "HTTP/1.1"]),
      );
      break;
    case 10:
      s = s.replace(
        / [^ ]+:\d+ /,
        rng.pick([" [::1]:443 ", " [::1:443 ", " :443 ", " a..b:443 ", "  "]),
      );
      break;
    case 12: { // Host: one of SoftEther's names (or near), with or without a port
      const host = latin1(hostBytes(rng)) + rng.pick(["", ":80", ":443", ":", ":99999"]);
      const line = `${rng.pick(["Host", "host", "HOST", "Host ", "X-Host"])}:${
        rng.pick([" ", "", "\t", "  "])
      }${host}`;
      s = /\r?\nhost:[^\r\n]*/i.test(s)
        ? s.replace(/(\r?\n)host:[^\r\n]*/i, `$1${line}`)
        : s.replace(/\r?\n/, `\r\n${line}\r\n`);
      break;
    }
    case 13: // request target: SoftEther's DDNS endpoints, absolute form
      s = s.replace(
        /^(\S+) \S+/,
        `$1 ${
          rng.pick([
            "/ddns/ddns.aspx",
            "/ddns/getmyip.ashx",
            "/ddns/getmyip.ashx?v=1",
            "/DDNS/DDNS.ASPX",
            "/ddns/ddns.aspxx",
            "http://x1.x2.open.servers.ddns.softether-network.net/ddns/ddns.aspx",
            "HTTP://keepalive.softether.org:80/",
            "http://",
            "http:///ddns/ddns.aspx",
            "*",
          ])
        }`,
      );
      break;
    case 14: { // the fixed headers of SoftEther's HTTP client, exact or near
      const ua = rng.pick([
        "Mozilla/5.0 (Windows NT 6.3; WOW64; rv:29.0) Gecko/20100101 Firefox/29.0",
        "Mozilla/5.0 (Windows NT 6.3; WOW64; rv:29.0) Gecko/20100101 Firefox/29.1",
        "",
      ]);
      const ka = rng.pick(["timeout=15; max=19", "timeout=15;max=19", " timeout=15; max=19\t"]);
      const lang = rng.pick(["ja", "JA", "ja-JP", ""]);
      s = s.replace(
        /\r?\n/,
        `\r\nUser-Agent: ${ua}\r\nKeep-Alive: ${ka}\r\nAccept-Language: ${lang}\r\n`,
      );
      break;
    }
    case 15: // method
      s = s.replace(
        /^[A-Za-z_]*/,
        rng.pick([
          "GET",
          "POST",
          "CONNECT",
          "get",
          "PUT",
          "GETT",
          "G".repeat(17),
          "SSTP_DUPLEX_POST",
        ]),
      );
      break;
    case 16: // version
      s = s.replace(
        / HTTP\/\d\.\d/,
        rng.pick([" HTTP/1.0", " HTTP/1.1", " HTTP/2", " HTTP/1.", " http/1.1", " HTTP/1.1 x", ""]),
      );
      break;
    case 17: // header lines: folded, bare LF, no colon, empty name
      s = s.replace(
        /\r\n/,
        rng.pick(["\r\n \tfolded\r\n", "\n", "\r\nNoColon\r\n", "\r\n: empty\r\n", "\r\n\r\n"]),
      );
      break;
    case 18: { // a proxy CONNECT to one of SoftEther's names
      const host = latin1(hostBytes(rng));
      s = `CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\n\r\n`;
      break;
    }
    default:
      s = s.slice(0, rng.int(0, s.length));
  }
  log.push(`text${op}`);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out.length > 60000 ? out.subarray(0, 60000) : out;
}

/** SOCKS4/5 message field mutations (version, counts, address type, name lengths, ports). */
function mutateSocks(rng: Rng, b: Uint8Array, log: string[]): Uint8Array {
  const out = b.slice();
  const op = rng.int(0, 4);
  if (op === 0) {
    const at = rng.int(0, Math.min(8, out.length - 1));
    out[at] = rng.pick([0, 1, 2, 3, 4, 5, 0x7f, 0xff, rng.byte()]);
    log.push(`socks_byte@${at}`);
    return out;
  }
  if (op === 1 && out[0] === 4) { // drop the NUL terminators / long user id
    log.push("socks4_user");
    return concat(out.subarray(0, 8), ENC.encode("u".repeat(rng.pick([0, 300, 5000]))));
  }
  if (op === 2 && out[0] === 5 && out.length > 4) { // domain name length vs bytes
    out[3] = 3;
    out[4] = rng.pick([0, 1, 255, out.length, rng.byte()]);
    log.push("socks5_domain_len");
    return out;
  }
  if (op === 3) {
    log.push("socks_trunc");
    return out.subarray(0, rng.int(0, out.length));
  }
  log.push("socks_extend");
  return concat(out, rng.bytes(rng.int(1, 300)));
}

function latin1(b: Uint8Array): string {
  return ASCII.decode(b);
}

function isText(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  const s = ASCII.decode(b.subarray(0, 8));
  return /^(CONNECT|HTTP\/|SSH-|GET |POST)/.test(s);
}

/** Mutations aimed at the parsers of the detector set's footprints; false when none applied. */
function mutateFootprint(rng: Rng, p: Pkt, log: string[]): boolean {
  const b = p.payload;
  if (isIcmp(p)) {
    p.payload = mutateIcmp(rng, p.l4, b, log);
    return true;
  }
  const sp = p.l4.length >= 4 ? getBE(p.l4, 0, 2) : -1,
    dp = p.l4.length >= 4 ? getBE(p.l4, 2, 2) : -1;
  if (p.proto === 17) {
    const dnsPort = (x: number) => x === 53 || x === 137 || x === 5353;
    if ((dnsPort(sp) || dnsPort(dp)) && b.length >= 12 && rng.chance(0.85)) {
      p.payload = mutateDns(rng, b, log);
      return true;
    }
    if (looksPack(b, 0) && rng.chance(0.8)) {
      p.payload = mutatePack(rng, b, 0, log);
      return true;
    }
    if (looksOpenVpnUdp(b, sp, dp) && rng.chance(0.7)) {
      const at = findCertificate(b);
      if (at >= 0 && rng.chance(0.5)) {
        p.payload = b.slice();
        patchDerInPlace(rng, p.payload, at, log);
      } else p.payload = mutateOpenVpnUdp(rng, b, log);
      return true;
    }
    if (b.length <= 100 && rng.chance(0.2)) {
      p.payload = udpAccelShape(rng, b, log);
      return true;
    }
    if (rng.chance(0.04)) {
      p.payload = rng.chance(0.5) ? infraText(rng, log) : natTPack(rng);
      if (rng.chance(0.3)) putBE(p.l4, rng.chance(0.5) ? 0 : 2, 2, 5004);
      log.push("udp_infra");
      return true;
    }
    return false;
  }
  if (p.proto !== 6 || b.length === 0) return false;
  const chain = openVpnTcpChain(b);
  if (chain !== undefined && rng.chance(0.8)) {
    p.payload = mutateOpenVpnTcp(rng, b, chain, log);
    return true;
  }
  if (looksServerFlight(b) && rng.chance(0.85)) {
    p.payload = mutateServerFlight(rng, b, log);
    return true;
  }
  if (b.length >= 12 && looksPack(b, 4) && rng.chance(0.7)) { // VPN Azure: size, Pack, SHA-1
    const r = mutatePack(rng, b, 4, log);
    if (rng.chance(0.6)) putBE(r, 0, 4, Math.max(0, r.length - 24));
    p.payload = r;
    return true;
  }
  const at = findCertificate(b);
  if (at >= 0 && rng.chance(0.6)) {
    p.payload = b.slice();
    patchDerInPlace(rng, p.payload, at, log);
    return true;
  }
  if (b.length > 4 && isText(b) && b[0] !== 0x53 && b[0] !== 0x48 && rng.chance(0.6)) {
    p.payload = mutateText(rng, b, log, true); // a request: GET, POST, CONNECT
    return true;
  }
  if (b.length > 5 && b[0] === 23 && b[1] === 3 && rng.chance(0.5)) {
    p.payload = sstpSizedRecord(rng, p, b, log);
    return true;
  }
  if (b.length > 9 && b[0] === 22 && b[5] === 1 && rng.chance(0.3)) {
    const r = replaceSni(b, hostBytes(rng));
    if (r !== undefined) {
      p.payload = r;
      log.push("sni_name");
      return true;
    }
  }
  return false;
}

/** Bytes of an MS-SSTP SSTP_DUPLEX_POST request besides its Host value. */
const SSTP_FIXED = ("SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n" +
  "Host: \r\n" +
  "Content-Length: 18446744073709551615\r\n" +
  "SSTPCORRELATIONID: {00000000-0000-0000-0000-000000000000}\r\n" +
  "\r\n").length;

/**
 * A client application-data record (the first of the segment) resized to
 * what an encrypted SSTP request to this server would be: AES-GCM,
 * ChaCha20-Poly1305 or CBC overheads around the fixed request plus a Host
 * of the destination's address literal (with or without its port) or a
 * short name.
 */
function sstpSizedRecord(rng: Rng, p: Pkt, b: Uint8Array, log: string[]): Uint8Array {
  const dst = p.v === 4 ? p.ip.subarray(16, 20).join(".") : "fd00::" + p.ip[39];
  const port = p.l4.length >= 4 ? `:${getBE(p.l4, 2, 2)}` : "";
  const host = rng.chance(0.7)
    ? rng.pick([dst.length, dst.length + port.length])
    : rng.pick([7, 0, 255]);
  const n = SSTP_FIXED + host + (rng.chance(0.5) ? 24 : rng.pick([16, 37, 48, 64, 80, 23, 81]));
  const recLen = getBE(b, 3, 2);
  const body = rng.bytes(n);
  log.push(`sstp_record=${n}`);
  return concat(b.subarray(0, 3), new Uint8Array([n >> 8, n & 0xff]), body, b.subarray(5 + recLen));
}

/** Mutations of the payload, by what it looks like. */
function mutatePayload(rng: Rng, p: Pkt, log: string[]): void {
  if (mutateFootprint(rng, p, log)) return;
  const b = p.payload;
  const tls = tlsFields(b);
  if (tls.length > 0 && rng.chance(0.7)) {
    const out = b.slice();
    const [off, w] = rng.pick(tls);
    const v = interesting(rng, w, getBE(out, off, w));
    putBE(out, off, w, v);
    log.push(`tls@${off}/${w}=${v}`);
    p.payload = rng.chance(0.15) ? out.subarray(0, rng.int(off, out.length)) : out;
    return;
  }
  if (isText(b) && rng.chance(0.7)) {
    p.payload = mutateText(rng, b, log);
    return;
  }
  if ((b[0] === 4 || b[0] === 5) && b.length < 600 && rng.chance(0.7)) {
    p.payload = mutateSocks(rng, b, log);
    return;
  }
  p.payload = mutateBytes(rng, b, log, 2048);
}

/** One model-level mutation of `p` (in place). */
function mutateModel(rng: Rng, p: Pkt, log: string[]): void {
  const op = rng.weighted([3, 2, 2, 2, 6, 2, 1, 1]);
  switch (op) {
    case 0: // VLAN stack
      if (p.link === LinkType.ETHERNET) {
        const n = rng.int(0, 6);
        p.vlans = Array.from(
          { length: n },
          () => ((rng.pick([0x8100, 0x88a8, 0x9100]) << 16) | rng.int(0, 0xffff)) >>> 0,
        );
        log.push(`vlans=${n}`);
      }
      break;
    case 1:
      if (p.v === 4) p.opts = randomIpv4Options(rng), log.push(`ipv4opts=${p.opts.length}`);
      else {
        p.ext = Array.from({ length: rng.int(1, 5) }, () => randomExt(rng));
        log.push(`ipv6ext=${p.ext.map((e) => e.type).join(",")}`);
      }
      break;
    case 2:
      if (p.proto === 6 && p.l4.length >= 20) {
        p.l4 = concat(p.l4.subarray(0, 20), randomTcpOptions(rng));
        log.push(`tcpopts=${p.l4.length - 20}`);
      }
      break;
    case 3:
      if (p.proto === 6 && p.l4.length >= 20) {
        const f = rng.int(0, 3);
        if (f === 0) p.l4[13] = rng.byte();
        else if (f === 1) {
          putBE(
            p.l4,
            4,
            4,
            (getBE(p.l4, 4, 4) + rng.pick([1, 1460, 65536, 0x7fffffff, rng.u32()])) >>> 0,
          );
        } else if (f === 2) putBE(p.l4, 8, 4, rng.u32());
        else putBE(p.l4, 14, 2, rng.pick([0, 1, 0xffff]));
        log.push(`tcpfield${f}`);
      }
      break;
    case 4:
      mutatePayload(rng, p, log);
      break;
    case 5: { // ports
      const side = rng.int(0, 1) * 2;
      if (p.l4.length >= 4 && (p.proto === 6 || p.proto === 17)) {
        putBE(
          p.l4,
          side,
          2,
          rng.pick([0, 22, 53, 80, 137, 443, 992, 1080, 1194, 3128, 5004, 5555, 8080, 65535]),
        );
        log.push(`port${side}`);
      }
      break;
    }
    case 6: // protocol swap (TCP header read as UDP or the reverse)
      p.proto = rng.pick([6, 17, 1, 58, 41, 0, 255]);
      log.push(`proto=${p.proto}`);
      break;
    default: // time
      p.tsSec = rng.pick([0, p.tsSec - 3600, p.tsSec + 7200, p.tsSec + 86400 * 30, 0xffffffff]) >>>
        0;
      p.tsNsec = rng.pick([0, 999_999_999, p.tsNsec]);
      log.push(`ts=${p.tsSec}`);
  }
}

/** One raw header-field mutation after serialisation (breaks lengths on purpose). */
function mutateRaw(rng: Rng, f: Frame, lay: Layout, p: Pkt, log: string[]): void {
  const d = f.data;
  const op = rng.int(0, 9);
  switch (op) {
    case 0: // ethertype / link protocol field
      if (lay.ipOff >= 2) {
        putBE(
          d,
          lay.ipOff - 2,
          2,
          rng.pick([0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0, rng.int(0, 0xffff)]),
        );
      }
      break;
    case 1: // IP version / IHL
      d[lay.ipOff] = rng.byte();
      break;
    case 2: // IPv4 total length / IPv6 payload length
      putBE(
        d,
        lay.ipOff + (p.v === 4 ? 2 : 4),
        2,
        interesting(rng, 2, getBE(d, lay.ipOff + (p.v === 4 ? 2 : 4), 2)),
      );
      break;
    case 3: // IPv4 flags+offset / IPv6 next header
      if (p.v === 4) {
        putBE(
          d,
          lay.ipOff + 6,
          2,
          rng.pick([0x2000, 0x0001, 0x1fff, 0x3fff, 0x4000, rng.int(0, 0xffff)]),
        );
      } else d[lay.ipOff + 6] = rng.pick([0, 6, 17, 43, 44, 59, 60, rng.byte()]);
      break;
    case 4: // TCP data offset
      if (p.proto === 6) d[lay.l4Off + 12] = (rng.int(0, 15) << 4) | (d[lay.l4Off + 12] & 15);
      break;
    case 5: // UDP length
      if (p.proto === 17) {
        putBE(d, lay.l4Off + 4, 2, interesting(rng, 2, getBE(d, lay.l4Off + 4, 2)));
      }
      break;
    case 6: // snaplen cut
      f.data = d.subarray(0, rng.int(0, d.length));
      break;
    case 7: // wire length
      f.wireLen = rng.pick([0, 1, d.length - 1, 0xffff, 0xffffffff]);
      break;
    case 8: // link type swapped under the bytes
      f.linkType = rng.pick([0, 1, 101, 108, 113, 228, 229, 276, 12, 14, rng.int(0, 300)]);
      break;
    default: // IPv4 protocol byte
      if (p.v === 4) d[lay.ipOff + 9] = rng.pick([6, 17, 1, 0, 41, 255]);
  }
  log.push(`raw${op}`);
}

/** IPv4 / IPv6 fragments of the model's IP packet, possibly overlapping, out of order, duplicated. */
function fragment(rng: Rng, p: Pkt, log: string[]): Frame[] {
  const link = linkHeader(p);
  const { bytes, l4Rel } = ipBytes(p);
  const split = p.v === 4 ? l4Rel : 40; // IPv6: every extension header is fragmentable
  const hdr = bytes.subarray(0, split);
  const body = bytes.subarray(split);
  const size = rng.pick([8, 16, 24, 64, 256, 1280]);
  const pieces: [number, number][] = [];
  for (let o = 0; o < body.length; o += size) pieces.push([o, Math.min(body.length, o + size)]);
  if (pieces.length === 0) pieces.push([0, 0]);
  const id = rng.u32();
  const style = rng.int(0, 6);
  if (style === 1) pieces.reverse();
  else if (style === 2) rng.shuffle(pieces);
  else if (style === 3 && pieces.length > 1) pieces.splice(rng.int(0, pieces.length - 1), 1); // gap
  else if (style === 4) pieces.push(rng.pick(pieces)); // duplicate
  else if (style === 5) { // overlap with different bytes
    const [a, b] = rng.pick(pieces);
    pieces.push([Math.max(0, a - 8), Math.min(body.length, b + 8)]);
  }
  log.push(`frag${p.v}:${size}/${style}x${pieces.length}`);
  const lastEnd = body.length;
  const frames: Frame[] = [];
  for (const [a, b] of pieces) {
    let chunk = body.subarray(a, b);
    if (style === 5 && rng.chance(0.5)) chunk = rng.bytes(chunk.length);
    let offUnits = a >> 3;
    let more = b < lastEnd;
    if (style === 6) {
      offUnits = rng.pick([offUnits, 8191, 8190, 0]);
      more = rng.chance(0.5);
    }
    let ip: Uint8Array;
    if (p.v === 4) {
      const h = hdr.slice();
      putBE(h, 2, 2, (h.length + chunk.length) & 0xffff);
      putBE(h, 4, 2, id & 0xffff);
      putBE(h, 6, 2, (more ? 0x2000 : 0) | offUnits);
      ip = concat(h, chunk);
    } else {
      const h = hdr.slice(0, 40);
      const fh = new Uint8Array(8);
      fh[0] = h[6];
      putBE(fh, 2, 2, (offUnits << 3) | (more ? 1 : 0));
      putBE(fh, 4, 4, id);
      h[6] = 44;
      putBE(h, 4, 2, (8 + chunk.length) & 0xffff);
      ip = concat(h, fh, chunk);
    }
    const data = concat(link, ip);
    frames.push({ linkType: p.link, data, wireLen: data.length, tsSec: p.tsSec, tsNsec: p.tsNsec });
  }
  return frames;
}

/** Round-wide transforms chosen once per round. */
interface RoundPlan {
  v6: boolean;
  link: number;
  vlans: number[] | undefined;
  fragRate: number;
  mutRate: number;
  seqRate: number;
  portMap: number;
  /** ICMP types replaced (VPN over ICMP's 15/16 as echo replies, roles swapped, …). */
  icmpMap: Record<number, number> | undefined;
  /** ICMP id / sequence keys: 0 kept, 1 sequence cycling over `icmpMod`, 2 random, 3 one for all. */
  icmpKey: number;
  icmpMod: number;
  /** IPv6 rounds: ICMP becomes ICMPv6 (echo 8/0 → 128/129). */
  icmp6: boolean;
  /** A TCP payload's length change moves its connection's later numbers (the stream stays whole). */
  seqFix: boolean;
  /** TCP payloads split into several segments at this rate. */
  splitRate: number;
}

function toV6(p: Pkt, icmp6: boolean): void {
  if (p.v === 6) return;
  const ip = new Uint8Array(40);
  ip[0] = 0x60;
  ip[7] = p.ip[8];
  const pre = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  ip.set(pre, 8);
  ip.set(p.ip.subarray(12, 16), 20);
  ip.set(pre, 24);
  ip.set(p.ip.subarray(16, 20), 36);
  p.ip = ip;
  p.v = 6;
  p.opts = new Uint8Array(0);
  p.ext = [];
  if (icmp6 && p.proto === 1) {
    p.proto = 58;
    if (p.l4.length === 8) p.l4[0] = p.l4[0] === 8 ? 128 : p.l4[0] === 0 ? 129 : p.l4[0];
  }
}

/** A fuzz round: the frames to feed and the mutations applied. */
export interface Round {
  /** Frames in feeding order. */
  frames: Frame[];
  /** What was done (for the reproducer). */
  mutations: string[];
  /** The seed capture the round came from. */
  source: string;
}

/** A seed capture of the packet fuzzer: name and frames. */
export interface SeedCapture {
  /** File name. */
  name: string;
  /** Its frames (parsed once). */
  frames: SeedFrame[];
}

/** Key of one direction of a TCP connection (addresses and ports of the original packet). */
function dirKey(p: Pkt, reverse: boolean): string {
  const a = p.v === 4 ? p.ip.subarray(12, 16) : p.ip.subarray(8, 24);
  const b = p.v === 4 ? p.ip.subarray(16, 20) : p.ip.subarray(24, 40);
  const sp = getBE(p.l4, 0, 2), dp = getBE(p.l4, 2, 2);
  return reverse
    ? `${b.join(".")}|${dp}|${a.join(".")}|${sp}`
    : `${a.join(".")}|${sp}|${b.join(".")}|${dp}`;
}

/** A window of `cap` and, sometimes, of a second capture shifted onto its time, merged by time. */
function roundFrames(
  rng: Rng,
  corpus: SeedCapture[],
  cap: SeedCapture,
  start: number,
  len: number,
  log: string[],
): SeedFrame[] {
  const own = cap.frames.slice(start, start + len);
  if (own.length === 0 || !rng.chance(0.15)) return own;
  const other = rng.pick(corpus);
  if (other.frames.length === 0) return own;
  const os = rng.chance(0.5) ? 0 : rng.int(0, other.frames.length - 1);
  const olen = Math.min(other.frames.length - os, Math.max(1, len >> 1));
  const t0 = own[0].frame.tsSec + rng.pick([0, 0, 1, 5, 40]);
  const shift = t0 - other.frames[os].frame.tsSec;
  log.push(`mix ${other.name}[${os}+${olen}] shift=${shift}`);
  const moved: SeedFrame[] = other.frames.slice(os, os + olen).map((sf) => ({
    frame: { ...sf.frame, tsSec: Math.max(0, sf.frame.tsSec + shift) },
    pkt: sf.pkt === undefined ? undefined : { ...sf.pkt, tsSec: Math.max(0, sf.pkt.tsSec + shift) },
  }));
  const out: SeedFrame[] = [];
  let i = 0, j = 0;
  const t = (sf: SeedFrame) => sf.frame.tsSec + sf.frame.tsNsec / 1e9;
  while (i < own.length || j < moved.length) {
    if (j >= moved.length || (i < own.length && t(own[i]) <= t(moved[j]))) out.push(own[i++]);
    else out.push(moved[j++]);
  }
  return out;
}

/** Well-known ports a repeated window keeps (the detectors key on them). */
const KEEP_PORTS = new Set([53, 80, 137, 443, 992, 1194, 5004, 5555, 8080, 3128, 1080, 22]);

/** A copy's ports: ephemeral ones (and an ICMP id) moved by `add`. */
function shiftPorts(p: Pkt, add: number): void {
  if (isIcmp(p)) {
    putBE(p.l4, 4, 2, (getBE(p.l4, 4, 2) + add) & 0xffff);
    return;
  }
  if (p.l4.length < 4 || (p.proto !== 6 && p.proto !== 17)) return;
  for (const at of [0, 2]) {
    const port = getBE(p.l4, at, 2);
    if (port >= 1024 && !KEEP_PORTS.has(port)) {
      putBE(p.l4, at, 2, 1024 + (port - 1024 + add) % 64512);
    }
  }
}

/**
 * Sometimes the window again and again (up to `max` frames), each copy on
 * other ephemeral ports and later in time (or overlapping): more connections
 * of a small capture's kind in one round, each mutated its own way.
 */
function repeatWindow(
  rng: Rng,
  frames: SeedFrame[],
  max: number,
  focus: string | undefined,
  log: string[],
): SeedFrame[] {
  if (focus !== undefined && rng.chance(0.08)) {
    // A flood: the first packets of the focused class, each copy another flow, all at once
    // (bounded inspections, flow-table eviction).
    const picked = frames.filter((sf) => (sf.cls ??= classify(sf.pkt)) === focus).slice(0, 2);
    if (picked.length > 0) frames = picked;
    const copies = Math.floor(max / frames.length);
    log.push(`flood x${copies}`);
    const out: SeedFrame[] = [];
    for (let k = 0; k < copies; k++) {
      for (const sf of frames) out.push(k === 0 ? sf : { ...sf, portAdd: 7919 * k });
    }
    return out;
  }
  const focused = focus !== undefined;
  if (frames.length === 0 || frames.length > max / 2 || !rng.chance(focused ? 0.5 : 0.1)) {
    return frames;
  }
  const copies = Math.min(rng.pick([2, 4, 10, 30]), Math.floor(max / frames.length));
  const first = frames[0].frame.tsSec, last = frames[frames.length - 1].frame.tsSec;
  const step = rng.chance(0.3) ? rng.int(0, 2) : last - first + rng.pick([1, 10, 60]);
  log.push(`repeat x${copies} step=${step}`);
  const out: SeedFrame[] = [...frames];
  for (let k = 1; k < copies; k++) {
    for (const sf of frames) {
      out.push({
        frame: { ...sf.frame, tsSec: sf.frame.tsSec + k * step },
        pkt: sf.pkt === undefined ? undefined : { ...sf.pkt, tsSec: sf.pkt.tsSec + k * step },
        cls: sf.cls,
        portAdd: sf.pkt === undefined ? undefined : 7919 * k,
      });
    }
  }
  if (step < 3) { // overlapping copies: merged by time
    const t = (sf: SeedFrame) => sf.frame.tsSec + sf.frame.tsNsec / 1e9;
    out.sort((a, b) => t(a) - t(b));
  }
  return out;
}

/** Builds round `index` of the run seeded by `seed` over `corpus`. */
export function buildRound(rng: Rng, corpus: SeedCapture[], maxPackets: number): Round {
  // A focused round: a capture with payloads of one class, most of which get mutated.
  const focus = rng.chance(0.4) ? CLASSES[rng.weighted(CLASS_WEIGHTS)] : undefined;
  const pool = focus === undefined ? corpus : corpus.filter((c) => classesOf(c).has(focus));
  const cap = rng.pick(pool.length > 0 ? pool : corpus);
  const focusRate = rng.pick([0.2, 0.5, 1]);
  const log: string[] = [];
  const n = cap.frames.length;
  const start = rng.chance(0.75) ? 0 : rng.int(0, Math.max(0, n - 1));
  const len = Math.min(n - start, rng.int(Math.min(50, maxPackets), maxPackets));
  const plan: RoundPlan = {
    v6: rng.chance(0.2),
    link: rng.chance(0.7) ? LinkType.ETHERNET : rng.pick([
      LinkType.LINUX_SLL,
      LinkType.LINUX_SLL2,
      LinkType.RAW,
      LinkType.NULL,
      LinkType.LOOP,
      LinkType.IPV4,
      LinkType.IPV6,
    ]),
    vlans: rng.chance(0.15)
      ? Array.from({ length: rng.int(1, 5) }, () => ((0x8100 << 16) | rng.int(1, 4094)) >>> 0)
      : undefined,
    fragRate: rng.pick([0, 0, 0, 0.02, 0.2]),
    mutRate: rng.pick([0, 0.01, 0.03, 0.1, 0.3, 0.7]),
    seqRate: rng.pick([0, 0, 0.01, 0.05]),
    portMap: rng.chance(0.1) ? rng.pick([22, 80, 443, 1080, 3128, 8080, rng.int(1, 65535)]) : 0,
    icmpMap: rng.chance(0.12)
      ? rng.pick<Record<number, number>>([
        { 15: 0, 16: 0 },
        { 15: 16, 16: 15 },
        { 15: 8 },
        { 16: 0 },
        { 0: 15 },
        { 8: 0 },
        { 0: 8, 8: 0 },
      ])
      : undefined,
    icmpKey: rng.chance(0.85) ? 0 : rng.int(1, 3),
    icmpMod: rng.pick([2, 31, 33, 64, 1000]),
    icmp6: rng.chance(0.5),
    seqFix: rng.chance(0.75),
    splitRate: rng.pick([0, 0, 0, 0.02, 0.2]),
  };
  if (plan.link === LinkType.IPV4) plan.v6 = false;
  if (plan.link === LinkType.IPV6) plan.v6 = true;
  log.push(
    `round ${cap.name}[${start}+${len}] v6=${plan.v6} link=${plan.link} vlans=${
      plan.vlans?.length ?? 0
    } ` +
      `frag=${plan.fragRate} mut=${plan.mutRate} seq=${plan.seqRate} port=${plan.portMap} ` +
      `icmp=${JSON.stringify(plan.icmpMap ?? {})}/${plan.icmpKey}/${plan.icmpMod}/${plan.icmp6} ` +
      `seqfix=${plan.seqFix} split=${plan.splitRate} focus=${focus ?? "-"}/${focusRate}`,
  );
  const wide = plan.v6 || plan.link !== LinkType.ETHERNET || plan.vlans !== undefined ||
    plan.portMap !== 0;
  const icmpWide = plan.icmpMap !== undefined || plan.icmpKey !== 0;
  const icmpConst = rng.u32();
  let icmpCount = 0;
  const deltas = new Map<string, number>(); // TCP direction → bytes its sequence numbers moved
  const frames: Frame[] = [];
  let serverPort = -1;
  const seeds = repeatWindow(
    rng,
    roundFrames(rng, corpus, cap, start, len, log),
    maxPackets,
    focus,
    log,
  );
  for (let i = 0; i < seeds.length; i++) {
    const sf = seeds[i];
    const cls = sf.cls ??= classify(sf.pkt);
    const focused = focus !== undefined && (cls === focus || (focus === "cert" && cls === "app")) &&
      rng.chance(focusRate);
    const mutate = focused || (plan.mutRate > 0 && rng.chance(plan.mutRate));
    const frag = plan.fragRate > 0 && rng.chance(plan.fragRate);
    const tcp = sf.pkt !== undefined && sf.pkt.proto === 6 && sf.pkt.l4.length >= 20;
    const dSeq = tcp ? deltas.get(dirKey(sf.pkt!, false)) ?? 0 : 0;
    const dAck = tcp ? deltas.get(dirKey(sf.pkt!, true)) ?? 0 : 0;
    const split = tcp && plan.splitRate > 0 && sf.pkt!.payload.length > 1 &&
      rng.chance(plan.splitRate);
    const icmp = sf.pkt !== undefined && isIcmp(sf.pkt);
    if (
      sf.pkt === undefined ||
      (!wide && !mutate && !frag && !split && dSeq === 0 && dAck === 0 && !(icmp && icmpWide) &&
        sf.portAdd === undefined)
    ) {
      frames.push(sf.frame);
    } else {
      const p = clonePkt(sf.pkt);
      if (sf.portAdd !== undefined) shiftPorts(p, sf.portAdd);
      if (dSeq !== 0) putBE(p.l4, 4, 4, (getBE(p.l4, 4, 4) + dSeq) >>> 0);
      if (dAck !== 0) putBE(p.l4, 8, 4, (getBE(p.l4, 8, 4) + dAck) >>> 0);
      if (icmp) {
        const to = plan.icmpMap?.[p.l4[0]];
        if (to !== undefined) p.l4[0] = to;
        if (plan.icmpKey === 1) putBE(p.l4, 6, 2, icmpCount++ % plan.icmpMod);
        else if (plan.icmpKey === 2) putBE(p.l4, 4, 4, rng.u32());
        else if (plan.icmpKey === 3) putBE(p.l4, 4, 4, icmpConst);
      }
      if (plan.v6) toV6(p, plan.icmp6);
      p.link = plan.link;
      if (plan.vlans !== undefined) p.vlans = plan.vlans;
      if (plan.portMap !== 0 && p.l4.length >= 4 && !icmp) {
        const sp = getBE(p.l4, 0, 2), dp = getBE(p.l4, 2, 2);
        if (serverPort < 0) serverPort = dp;
        if (sp === serverPort) putBE(p.l4, 0, 2, plan.portMap);
        if (dp === serverPort) putBE(p.l4, 2, 2, plan.portMap);
      }
      const mlog: string[] = [];
      let raw = 0;
      if (focused) mutatePayload(rng, p, mlog);
      if (mutate && (!focused || rng.chance(0.2))) {
        const k = rng.int(1, 3);
        for (let j = 0; j < k; j++) {
          if (rng.chance(0.25)) raw++;
          else mutateModel(rng, p, mlog);
        }
      }
      if (tcp && plan.seqFix && p.proto === 6 && p.l4.length >= 20) {
        const diff = p.payload.length - sf.pkt.payload.length;
        if (diff !== 0) deltas.set(dirKey(sf.pkt, false), dSeq + diff);
      }
      if (split && p.proto === 6 && p.l4.length >= 20 && p.payload.length > 1) {
        frames.push(...splitSegment(rng, p, mlog));
      } else if (frag && p.l4.length > 0) {
        frames.push(...fragment(rng, p, mlog));
      } else {
        const { frame, layout } = serialise(p);
        for (let j = 0; j < raw; j++) mutateRaw(rng, frame, layout, p, mlog);
        frames.push(frame);
      }
      if (mlog.length > 0 && log.length < 400) log.push(`#${i}:${mlog.join(",")}`);
    }
    if (plan.seqRate > 0 && rng.chance(plan.seqRate)) {
      const op = rng.int(0, 3);
      if (op === 0 && frames.length > 0) frames.pop(); // drop
      else if (op === 1 && frames.length > 0) frames.push(frames[frames.length - 1]); // duplicate
      else if (op === 2 && frames.length > 1) { // swap with previous
        const a = frames.length - 1;
        [frames[a], frames[a - 1]] = [frames[a - 1], frames[a]];
      } else { // garbage frame
        const data = rng.bytes(rng.int(0, 128));
        frames.push({
          linkType: rng.pick([1, 101, 113, 276, 0]),
          data,
          wireLen: data.length,
          tsSec: sf.frame.tsSec,
          tsNsec: 0,
        });
      }
      if (log.length < 400) log.push(`#${i}:seq${op}`);
    }
  }
  return { frames, mutations: log, source: cap.name };
}

/**
 * A TCP segment as 2–4 segments carrying its payload in order (sequence
 * numbers advanced; FIN on the last only), sometimes the last one first.
 */
function splitSegment(rng: Rng, p: Pkt, log: string[]): Frame[] {
  const n = Math.min(p.payload.length, rng.int(2, 4));
  const cuts = new Set<number>();
  while (cuts.size < n - 1) cuts.add(rng.int(1, p.payload.length - 1));
  const at = [0, ...[...cuts].sort((a, b) => a - b), p.payload.length];
  const seq = getBE(p.l4, 4, 4), flags = p.l4[13];
  const frames: Frame[] = [];
  for (let k = 0; k + 1 < at.length; k++) {
    const q = { ...p, l4: p.l4.slice(), payload: p.payload.subarray(at[k], at[k + 1]) };
    putBE(q.l4, 4, 4, (seq + at[k]) >>> 0);
    if (k + 2 < at.length) q.l4[13] = flags & ~0x01; // FIN only on the last piece
    frames.push(serialise(q).frame);
  }
  const swap = frames.length > 1 && rng.chance(0.2);
  if (swap) frames.unshift(frames.pop()!);
  log.push(`split=${frames.length}${swap ? "r" : ""}`);
  return frames;
}
