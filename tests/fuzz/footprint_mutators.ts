/**
 * Payload mutations aimed at the parsers of SoftEther's other footprints:
 * ICMP messages of VPN over ICMP (type, code, id / sequence, the SHA-1 that
 * frames the data, recomputed so that mutated data still verifies), OpenVPN
 * packets over UDP and TCP (opcode / key id byte, session ids, the
 * acknowledgement array, packet id, control payload sizes, the TCP 16-bit
 * length prefix), SoftEther Packs (element count, name lengths, value
 * types, counts and lengths; NAT-T's opcodes; VPN Azure's size + Pack +
 * SHA-1), the keep-alive and NAT-T reply texts, UDP acceleration keep-alive
 * sizes, and a TLS ClientHello's SNI host name (lengths kept consistent).
 *
 * Each mutator returns the new bytes (or undefined when the payload is not
 * its kind) and names what it did in `log`.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { getBE, interesting, mutateBytes, putBE, type Rng } from "./rng.ts";
import { concat } from "../helpers/bytes.ts";

const ENC = new TextEncoder();

/** Host names of SoftEther's infrastructure and near misses (DNS questions, SNI, Host). */
export const INFRA_NAMES = [
  "x1.x2.dev.open.servers.ddns.softether-network.net",
  "x3.x8.open.servers-v6.ddns.softether-network.net",
  "get-my-ip.ddns.softether-network.net",
  "get-my-ip-v6.ddns.softether-network.net",
  "xe.xb.dev.servers.nat-traversal.softether-network.net",
  "a.ddns.uxcom.jp",
  "b.nat-traversal.uxcom.jp",
  "vpnlab4711.vpnazure.net",
  "relay-lab01.vpnazure.net",
  "keepalive.softether.org",
  "KEEPALIVE.SoftEther.ORG",
  "myhost.softether.net",
  "myhost.sedns.cn",
  "softether.net",
  "vpnazure.net",
  "ddns",
  "DDNS",
  "xsoftether.net",
  "softether.net.example.com",
  "keepalive.softether.org.",
  "ddns.softether-network.net.evil",
  ".softether.net",
  "a..softether.net",
  "vpnazure.net:443",
  "[::1]",
  "\u00e9.softether.net",
  "host\u0000.softether.net",
  "a".repeat(63) + ".softether.net",
  ("b".repeat(60) + ".").repeat(5) + "softether.net",
];

/** A host name (or a random byte string) as bytes. */
export function hostBytes(rng: Rng): Uint8Array {
  if (rng.chance(0.1)) return rng.bytes(rng.pick([0, 1, 8, 64, 255, 300]));
  const s = rng.pick(INFRA_NAMES);
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

// ---------------------------------------------------------------- ICMP

/** SHA-1 of `b`. */
export function sha1(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha1").update(b).digest());
}

/** True when `data` is SHA-1(rest) + rest (SoftEther's VPN over ICMP framing). */
export function sha1Framed(data: Uint8Array): boolean {
  if (data.length < 20) return false;
  const d = sha1(data.subarray(20));
  for (let i = 0; i < 20; i++) if (d[i] !== data[i]) return false;
  return true;
}

/** `rest` framed as SoftEther frames ICMP data: its SHA-1 in front. */
export function frameSha1(rest: Uint8Array): Uint8Array {
  return concat(sha1(rest), rest);
}

/**
 * Mutates an ICMP message: `hdr` is its 8-byte header (changed in place),
 * `data` what follows; returns the new data.
 */
export function mutateIcmp(rng: Rng, hdr: Uint8Array, data: Uint8Array, log: string[]): Uint8Array {
  const framed = sha1Framed(data);
  const op = rng.weighted([3, 2, 3, framed ? 6 : 1, 2, 2, 1]);
  switch (op) {
    case 0:
      hdr[0] = rng.pick([0, 8, 15, 16, 0, 15, 13, 14, 17, 3, 11, 5, 128, 129, 135, rng.byte()]);
      log.push(`icmp_type=${hdr[0]}`);
      return data;
    case 1:
      hdr[1] = rng.pick([0, 1, 3, 255]);
      log.push(`icmp_code=${hdr[1]}`);
      return data;
    case 2: { // id / sequence: the episode key
      const f = rng.int(0, 3);
      if (f === 0) putBE(hdr, 4, 2, rng.int(0, 0xffff));
      else if (f === 1) putBE(hdr, 6, 2, rng.pick([0, 1, 0xffff, rng.int(0, 0xffff)]));
      else if (f === 2) putBE(hdr, 4, 4, rng.u32());
      else { // id and sequence swapped
        const id = getBE(hdr, 4, 2);
        putBE(hdr, 4, 2, getBE(hdr, 6, 2));
        putBE(hdr, 6, 2, id);
      }
      log.push(`icmp_key${f}`);
      return data;
    }
    case 3: { // the data mutated, its digest recomputed: still SoftEther-framed
      const rest = data.length >= 20 ? data.subarray(20) : data;
      let r: Uint8Array;
      const k = rng.int(0, 2);
      if (k === 0) r = mutateBytes(rng, rest, log, 1500);
      else if (k === 1) { // sizes around the smallest R-UDP packet and SHA-1 block edges
        const n = rng.pick([
          0,
          1,
          36,
          37,
          38,
          39,
          43,
          44,
          55,
          56,
          63,
          64,
          65,
          119,
          120,
          1180,
          1480,
        ]);
        r = n <= rest.length ? rest.slice(0, n) : concat(rest, rng.bytes(n - rest.length));
      } else r = rng.bytes(rng.pick([37, 64, 127, 1200]));
      log.push(`icmp_reframe${k}=${r.length}`);
      return frameSha1(r);
    }
    case 4: { // a wrong digest (the sampling path)
      const out = data.slice();
      if (out.length > 0) out[rng.int(0, Math.min(19, out.length - 1))] ^= 1 << rng.int(0, 7);
      log.push("icmp_bad_digest");
      return out;
    }
    case 5: // around the smallest SoftEther ICMP data (20 + 37)
      log.push("icmp_min_data");
      return frameSha1(rng.bytes(rng.pick([35, 36, 37, 38])));
    default:
      return mutateBytes(rng, data, log, 1500);
  }
}

// ---------------------------------------------------------------- OpenVPN

/** Bounds of the control header of an OpenVPN packet at `o` (plain layout), or undefined. */
function ovpnHeader(b: Uint8Array, o: number, end: number) {
  if (o >= end) return undefined;
  const op = b[o] >> 3;
  if (op < 1 || op > 11) return undefined;
  if (op === 6 || op === 9) return { op, acksAt: -1, n: 0, pidAt: -1, payAt: o + 1 };
  if (o + 10 > end) return undefined;
  const n = b[o + 9];
  let p = o + 10;
  const acksAt = p;
  if (n > 0) p += 4 * n + 8;
  const pidAt = op === 5 ? -1 : p;
  if (op !== 5) p += 4;
  if (p > end) return undefined;
  return { op, acksAt, n, pidAt, payAt: p };
}

/** Whether a UDP payload looks like an OpenVPN packet in the plain layout (a control header that fits). */
export function looksOpenVpnUdp(b: Uint8Array, srcPort: number, dstPort: number): boolean {
  if (b.length < 1) return false;
  const h = ovpnHeader(b, 0, b.length);
  if (h === undefined) return false;
  return srcPort === 1194 || dstPort === 1194 || (h.op !== 6 && h.op !== 9 && h.n <= 8);
}

/** Packets of a TCP payload that is exactly a chain of OpenVPN length-prefixed packets. */
export function openVpnTcpChain(b: Uint8Array): [number, number][] | undefined {
  const out: [number, number][] = [];
  let p = 0;
  while (p + 2 <= b.length) {
    const n = getBE(b, p, 2);
    if (n === 0 || p + 2 + n > b.length || ovpnHeader(b, p + 2, p + 2 + n) === undefined) {
      return undefined;
    }
    out.push([p + 2, n]);
    p += 2 + n;
  }
  return p === b.length && out.length > 0 ? out : undefined;
}

/** One OpenVPN packet mutated (a new array). */
function mutateOpenVpnPacket(rng: Rng, pkt: Uint8Array, log: string[]): Uint8Array {
  const h = ovpnHeader(pkt, 0, pkt.length);
  let b: Uint8Array = pkt.slice();
  const op = rng.int(0, 8);
  switch (op) {
    case 0: { // opcode / key id byte
      const opcode = rng.pick([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 12, 31, b[0] >> 3]);
      const key = rng.pick([0, 0, 1, 7, b[0] & 7]);
      b[0] = (opcode << 3) | key;
      log.push(`ovpn_op=${opcode}/${key}`);
      break;
    }
    case 1: // session ids
      if (b.length >= 9) {
        const at = rng.chance(0.5) || h === undefined || h.n === 0 ? 1 : h.acksAt + 4 * h.n;
        if (rng.chance(0.5)) putBE(b, at, 4, 0), putBE(b, at + 4, 4, 0);
        else b[at + rng.int(0, 7)] ^= 1 << rng.int(0, 7);
        log.push(`ovpn_sid@${at}`);
      }
      break;
    case 2: { // acknowledgement count, the array resized to match (or not)
      if (h === undefined || h.acksAt < 0) break;
      const n = rng.pick([0, 1, 2, 4, 5, 8, 9, 255, h.n + 1, Math.max(0, h.n - 1)]);
      const fix = rng.chance(0.7);
      if (fix && n <= 16) {
        const ids = new Uint8Array(4 * n);
        for (let i = 0; i < n; i++) putBE(ids, 4 * i, 4, rng.pick([0, i, 1, 63, 64, 0xffffffff]));
        const remote = h.n > 0 ? b.slice(h.acksAt + 4 * h.n, h.acksAt + 4 * h.n + 8) : rng.bytes(8);
        const rest = b.subarray(h.acksAt + (h.n > 0 ? 4 * h.n + 8 : 0));
        b = concat(
          b.subarray(0, h.acksAt - 1),
          new Uint8Array([n]),
          ids,
          n > 0 ? remote : new Uint8Array(0),
          rest,
        );
      } else b[h.acksAt - 1] = n & 0xff;
      log.push(`ovpn_acks=${n}${fix ? "" : "!"}`);
      break;
    }
    case 3: // an acknowledged id
      if (h !== undefined && h.n > 0) {
        const at = h.acksAt + 4 * rng.int(0, h.n - 1);
        putBE(b, at, 4, rng.pick([0, 1, 2, 63, 64, 65, 0x7fffffff, 0xffffffff]));
        log.push(`ovpn_ack@${at}`);
      }
      break;
    case 4: // message packet id
      if (h !== undefined && h.pidAt >= 0) {
        putBE(b, h.pidAt, 4, rng.pick([0, 1, 2, 3, 63, 64, 100, 0xffffffff]));
        log.push(`ovpn_pid@${h.pidAt}`);
      }
      break;
    case 5: { // control payload sizes around SoftEther's 1,200-byte chunks
      if (h === undefined) break;
      const n = rng.pick([0, 1, 1199, 1200, 1201, 100]);
      const pay = b.subarray(h.payAt);
      b = concat(
        b.subarray(0, h.payAt),
        n <= pay.length ? pay.subarray(0, n) : concat(pay, rng.bytes(n - pay.length)),
      );
      log.push(`ovpn_payload=${n}`);
      break;
    }
    case 6:
      b = b.subarray(0, rng.int(0, b.length));
      log.push(`ovpn_cut=${b.length}`);
      break;
    default:
      b = mutateBytes(rng, b, log, 256);
  }
  return b;
}

/** Mutates a UDP OpenVPN packet. */
export function mutateOpenVpnUdp(rng: Rng, b: Uint8Array, log: string[]): Uint8Array {
  return mutateOpenVpnPacket(rng, b, log);
}

/** Mutates a TCP payload made of length-prefixed OpenVPN packets. */
export function mutateOpenVpnTcp(
  rng: Rng,
  b: Uint8Array,
  chain: [number, number][],
  log: string[],
): Uint8Array {
  const op = rng.int(0, 4);
  if (op === 0) { // a length prefix
    const [at, n] = rng.pick(chain);
    const out = b.slice();
    const v = rng.pick([0, 1, 14, n - 1, n + 1, 0xffff, 1200, 2048, 2049]);
    putBE(out, at - 2, 2, v);
    log.push(`ovpn_tcp_len@${at - 2}=${v}`);
    return out;
  }
  if (op === 1) { // packets duplicated / dropped / swapped inside the segment
    const pieces = chain.map(([at, n]) => b.subarray(at - 2, at + n));
    const k = rng.int(0, pieces.length - 1);
    const style = rng.int(0, 2);
    if (style === 0) pieces.splice(k, 0, pieces[k]);
    else if (style === 1 && pieces.length > 1) pieces.splice(k, 1);
    else if (pieces.length > 1) [pieces[0], pieces[k]] = [pieces[k], pieces[0]];
    log.push(`ovpn_tcp_chain${style}`);
    return concat(...pieces);
  }
  // One packet mutated, its prefix fixed (or not).
  const k = rng.int(0, chain.length - 1);
  const [at, n] = chain[k];
  const pkt = mutateOpenVpnPacket(rng, b.subarray(at, at + n), log);
  const len = new Uint8Array(2);
  putBE(len, 0, 2, rng.chance(0.85) ? pkt.length : n);
  return concat(b.subarray(0, at - 2), len, pkt, b.subarray(at + n));
}

// ---------------------------------------------------------------- Packs

interface PackElement {
  at: number; // the element's first byte (name length)
  end: number;
  typeAt: number;
  countAt: number;
  values: [number, number][]; // [length field offset (or value offset for INT/INT64), length]
}

/** The elements of the Pack at `b[o..]`, as far as they parse. */
function packElements(b: Uint8Array, o: number): { count: number; elems: PackElement[] } {
  const count = getBE(b, o, 4);
  const elems: PackElement[] = [];
  let p = o + 4;
  for (let i = 0; i < count && i < 64 && p + 4 <= b.length; i++) {
    const nl = getBE(b, p, 4);
    if (nl < 1 || nl > 256) break;
    const typeAt = p + 4 + nl - 1, countAt = typeAt + 4;
    if (countAt + 4 > b.length) break;
    const type = getBE(b, typeAt, 4), n = getBE(b, countAt, 4);
    if (type > 4 || n > 64) break;
    let q = countAt + 4;
    const values: [number, number][] = [];
    for (let j = 0; j < n; j++) {
      if (type === 0 || type === 4) {
        values.push([q, type === 0 ? 4 : 8]);
        q += type === 0 ? 4 : 8;
      } else {
        if (q + 4 > b.length) break;
        const len = getBE(b, q, 4);
        values.push([q, len]);
        q += 4 + len;
      }
    }
    if (q > b.length) break;
    elems.push({ at: p, end: q, typeAt, countAt, values });
    p = q;
  }
  return { count, elems };
}

/** Whether `b[o..]` starts like a Pack (the infrastructure detector's cheap test). */
export function looksPack(b: Uint8Array, o: number): boolean {
  return b.length - o >= 8 && b[o] === 0 && b[o + 1] === 0 && b[o + 2] === 0 &&
    b[o + 3] !== 0 && b[o + 4] === 0 && b[o + 5] === 0 && b[o + 6] === 0 && b[o + 7] >= 2 &&
    b[o + 7] <= 64;
}

/** A Pack element of one STR value. */
function strElement(name: Uint8Array, value: Uint8Array): Uint8Array {
  const e = new Uint8Array(4 + name.length + 12 + value.length);
  putBE(e, 0, 4, name.length + 1);
  e.set(name, 4);
  putBE(e, 4 + name.length, 4, 2);
  putBE(e, 8 + name.length, 4, 1);
  putBE(e, 12 + name.length, 4, value.length);
  e.set(value, 16 + name.length);
  return e;
}

const PACK_NAMES = [
  "opcode",
  "OPCODE",
  "opcodeX",
  "opcod",
  "ControlKeepAlive",
  "CurrentHostName",
  "DataTimeout",
  "x",
];
const PACK_OPCODES = [
  "get_token",
  "nat_t_register",
  "nat_t_connect_request",
  "nat_t_connect_relay",
  "GET_TOKEN",
  "get_token\u0000",
  "get_toke",
  "",
];

/** Mutates the Pack at `b[o..]` (NAT-T's plaintext Packs, VPN Azure's after its size). */
export function mutatePack(rng: Rng, b: Uint8Array, o: number, log: string[]): Uint8Array {
  const { count, elems } = packElements(b, o);
  const out = b.slice();
  const op = rng.int(0, 8);
  if (op === 0 || elems.length === 0) {
    const v = rng.pick([
      0,
      1,
      count - 1,
      count + 1,
      262144,
      262145,
      0xffffffff,
      interesting(rng, 4, count),
    ]);
    putBE(out, o, 4, v >>> 0);
    log.push(`pack_count=${v}`);
    return out;
  }
  const e = rng.pick(elems);
  switch (op) {
    case 1: {
      const v = rng.pick([0, 1, 2, 64, 65, 66, 0xffffffff, getBE(b, e.at, 4) + 1]);
      putBE(out, e.at, 4, v >>> 0);
      log.push(`pack_namelen@${e.at}=${v}`);
      return out;
    }
    case 2: {
      const v = rng.pick([0, 1, 2, 3, 4, 5, 0xffffffff]);
      putBE(out, e.typeAt, 4, v >>> 0);
      log.push(`pack_type@${e.typeAt}=${v}`);
      return out;
    }
    case 3: {
      const n = getBE(b, e.countAt, 4);
      const v = rng.pick([0, 1, 2, n + 1, 262144, 262145, 0x10000000, 0xffffffff]);
      putBE(out, e.countAt, 4, v >>> 0);
      log.push(`pack_values@${e.countAt}=${v}`);
      return out;
    }
    case 4: { // a value length
      const t = getBE(b, e.typeAt, 4);
      if (e.values.length === 0 || t === 0 || t === 4) return mutateBytes(rng, out, log, 64);
      const [at, len] = rng.pick(e.values);
      const v = rng.pick([0, 1, len - 1, len + 1, 0x7fffffff, 0xffffffff, b.length]);
      putBE(out, at, 4, v >>> 0);
      log.push(`pack_vlen@${at}=${v}`);
      return out;
    }
    case 5: { // an element replaced by opcode=<NAT-T opcode or near miss>
      const el = strElement(ENC.encode(rng.pick(PACK_NAMES)), ENC.encode(rng.pick(PACK_OPCODES)));
      log.push("pack_element");
      return concat(b.subarray(0, e.at), el, b.subarray(e.end));
    }
    case 6: { // an element added, the count kept or raised
      const el = strElement(ENC.encode(rng.pick(PACK_NAMES)), ENC.encode(rng.pick(PACK_OPCODES)));
      const r = concat(b.subarray(0, e.end), el, b.subarray(e.end));
      if (rng.chance(0.7)) putBE(r, o, 4, count + 1);
      log.push("pack_add");
      return r;
    }
    case 7: { // cut inside an element
      const cut = rng.int(e.at, e.end);
      log.push(`pack_cut=${cut}`);
      return b.subarray(0, cut);
    }
    default:
      return mutateBytes(rng, out, log, 256);
  }
}

/** A NAT-T Pack built from scratch (opcode first or later). */
export function natTPack(rng: Rng): Uint8Array {
  const els = [strElement(ENC.encode("opcode"), ENC.encode(rng.pick(PACK_OPCODES)))];
  if (rng.chance(0.5)) els.unshift(strElement(ENC.encode("tick"), rng.bytes(8)));
  const head = new Uint8Array(4);
  putBE(head, 0, 4, els.length);
  return concat(head, ...els);
}

// ---------------------------------------------------------------- texts

const KEEPALIVE = "Internet Connection Keep Alive Packet";

/** Keep-alive texts and NAT-T IP replies, exact and near. */
export function infraText(rng: Rng, log: string[]): Uint8Array {
  const op = rng.int(0, 1);
  let s: string;
  if (op === 0) {
    s = rng.pick([
      KEEPALIVE,
      KEEPALIVE + "\0",
      KEEPALIVE.slice(0, -1),
      KEEPALIVE.toLowerCase(),
      KEEPALIVE + KEEPALIVE,
    ]);
  } else {
    s = rng.pick([
      "IP=10.78.1.2,PORT=40000#",
      "IP=2001:db8::1,PORT=5004#",
      "IP=,PORT=1#",
      "IP=1,PORT=1#",
      "IP=10.0.0.1,PORT=123456#",
      "IP=10.0.0.1,PORT=#",
      "IP=10.0.0.1,PORT=80",
      "IP=" + "1".repeat(46) + ",PORT=1#",
      "IP=" + "a".repeat(45) + ",PORT=65535#",
      "IP=10.0.0.1;PORT=1#",
      "IP=",
    ]);
  }
  log.push(`infra_text${op}`);
  return ENC.encode(s);
}

/** UDP acceleration keep-alive sizes (23–94 bytes) and the plaintext header's fields. */
export function udpAccelShape(rng: Rng, b: Uint8Array, log: string[]): Uint8Array {
  const n = rng.pick([0, 22, 23, 24, 43, 62, 63, 94, 95, 96, b.length]);
  const out = n <= b.length ? b.slice(0, n) : concat(b, rng.bytes(n - b.length));
  if (out.length >= 23 && rng.chance(0.5)) { // plaintext header: cookie, ticks, size 0, flag
    if (rng.chance(0.5)) putBE(out, 0, 4, rng.pick([0, 1, 0xffffffff, getBE(out, 0, 4)]));
    putBE(out, 20, 2, rng.pick([0, 0, 1, 0xffff]));
    out[22] = rng.pick([0, 1, 2, 255]);
  }
  log.push(`udp_accel=${n}`);
  return out;
}

// ---------------------------------------------------------------- SNI

/**
 * The ClientHello record `b` with its SNI host name replaced by `name`, every
 * enclosing length (record, handshake, extensions, extension, list, name)
 * fixed; undefined when `b` is not a single-record ClientHello with an SNI.
 */
export function replaceSni(b: Uint8Array, name: Uint8Array): Uint8Array | undefined {
  if (b.length < 9 || b[0] !== 22 || b[1] !== 3 || b[5] !== 1) return undefined;
  const recEnd = 5 + getBE(b, 3, 2);
  if (recEnd > b.length) return undefined;
  let p = 9 + 34;
  if (p >= recEnd) return undefined;
  p += 1 + b[p];
  if (p + 2 > recEnd) return undefined;
  p += 2 + getBE(b, p, 2);
  if (p >= recEnd) return undefined;
  p += 1 + b[p];
  if (p + 2 > recEnd) return undefined;
  const extsAt = p;
  p += 2;
  while (p + 4 <= recEnd) {
    const type = getBE(b, p, 2), len = getBE(b, p + 2, 2);
    if (type === 0 && p + 9 <= recEnd) {
      const nameLen = getBE(b, p + 7, 2);
      if (p + 9 + nameLen > recEnd) return undefined;
      const d = name.length - nameLen;
      const out = concat(b.subarray(0, p + 9), name, b.subarray(p + 9 + nameLen));
      putBE(out, 3, 2, getBE(b, 3, 2) + d);
      putBE(out, 6, 3, getBE(b, 6, 3) + d);
      putBE(out, extsAt, 2, getBE(b, extsAt, 2) + d);
      putBE(out, p + 2, 2, len + d);
      putBE(out, p + 4, 2, getBE(b, p + 4, 2) + d);
      putBE(out, p + 7, 2, name.length);
      return out;
    }
    p += 4 + len;
  }
  return undefined;
}
