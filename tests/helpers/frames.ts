/**
 * Builders of link/IP/TCP/UDP frames for unit tests (byte arrays, no capture
 * needed).
 *
 * @module
 */

import { concat } from "./bytes.ts";

/** Fields of a test segment. */
export interface SegmentSpec {
  /** Source address: dotted quad or IPv6 text. */
  src: string;
  /** Destination address. */
  dst: string;
  /** Source port. */
  sport: number;
  /** Destination port. */
  dport: number;
  /** 6 (TCP, default) or 17 (UDP). */
  proto?: number;
  /** TCP flags byte (default ACK). */
  flags?: number;
  /** TCP sequence number. */
  seq?: number;
  /** TCP ack number. */
  ack?: number;
  /** Payload bytes or a length of zero bytes. */
  payload?: Uint8Array | number;
  /** TCP options length (multiple of 4). */
  tcpOptions?: number;
}

/** Parse an IPv4 or IPv6 text address into bytes. */
export function ipBytes(ip: string): Uint8Array {
  if (ip.includes(".")) return new Uint8Array(ip.split(".").map(Number));
  const [head, tail] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 255;
  });
  return out;
}

/** TCP or UDP header + payload. */
export function transport(spec: SegmentSpec): Uint8Array {
  const payload = typeof spec.payload === "number"
    ? new Uint8Array(spec.payload)
    : spec.payload ?? new Uint8Array(0);
  if ((spec.proto ?? 6) === 17) {
    const h = new Uint8Array(8);
    const dv = new DataView(h.buffer);
    dv.setUint16(0, spec.sport);
    dv.setUint16(2, spec.dport);
    dv.setUint16(4, 8 + payload.length);
    return concat(h, payload);
  }
  const optLen = spec.tcpOptions ?? 0;
  const h = new Uint8Array(20 + optLen);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, spec.sport);
  dv.setUint16(2, spec.dport);
  dv.setUint32(4, (spec.seq ?? 1000) >>> 0);
  dv.setUint32(8, (spec.ack ?? 0) >>> 0);
  h[12] = ((20 + optLen) / 4) << 4;
  h[13] = spec.flags ?? 0x10;
  dv.setUint16(14, 65535);
  for (let i = 20; i < 20 + optLen; i++) h[i] = 1; // NOPs
  return concat(h, payload);
}

/** IPv4 or IPv6 packet (chosen by the address form) around a TCP/UDP segment. */
export function ipPacket(spec: SegmentSpec, fragOffset = 0, moreFragments = false): Uint8Array {
  const l4 = transport(spec);
  const proto = spec.proto ?? 6;
  if (spec.src.includes(".")) {
    const h = new Uint8Array(20);
    const dv = new DataView(h.buffer);
    h[0] = 0x45;
    dv.setUint16(2, 20 + l4.length);
    dv.setUint16(6, (moreFragments ? 0x2000 : 0) | fragOffset);
    h[8] = 64;
    h[9] = proto;
    h.set(ipBytes(spec.src), 12);
    h.set(ipBytes(spec.dst), 16);
    return concat(h, l4);
  }
  const h = new Uint8Array(40);
  const dv = new DataView(h.buffer);
  h[0] = 0x60;
  dv.setUint16(4, l4.length);
  h[6] = proto;
  h[7] = 64;
  h.set(ipBytes(spec.src), 8);
  h.set(ipBytes(spec.dst), 24);
  return concat(h, l4);
}

/** Ethernet frame (optionally VLAN-tagged with the given TPIDs/ids) around an IP packet. */
export function ethernet(ip: Uint8Array, vlans: Array<[number, number]> = []): Uint8Array {
  const eth = new Uint8Array(12 + vlans.length * 4 + 2);
  eth.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
  let o = 12;
  for (const [tpid, id] of vlans) {
    eth[o] = tpid >> 8;
    eth[o + 1] = tpid & 255;
    eth[o + 2] = id >> 8;
    eth[o + 3] = id & 255;
    o += 4;
  }
  const et = (ip[0] >> 4) === 6 ? 0x86dd : 0x0800;
  eth[o] = et >> 8;
  eth[o + 1] = et & 255;
  return concat(eth, ip);
}

/** Linux cooked (SLL v1) frame. */
export function sll(ip: Uint8Array): Uint8Array {
  const h = new Uint8Array(16);
  const et = (ip[0] >> 4) === 6 ? 0x86dd : 0x0800;
  h[14] = et >> 8;
  h[15] = et & 255;
  return concat(h, ip);
}

/** Linux cooked v2 (SLL2) frame. */
export function sll2(ip: Uint8Array): Uint8Array {
  const h = new Uint8Array(20);
  const et = (ip[0] >> 4) === 6 ? 0x86dd : 0x0800;
  h[0] = et >> 8;
  h[1] = et & 255;
  return concat(h, ip);
}

/** BSD NULL (host-order, little-endian family) frame. */
export function bsdNull(ip: Uint8Array): Uint8Array {
  const h = new Uint8Array(4);
  h[0] = (ip[0] >> 4) === 6 ? 30 : 2;
  return concat(h, ip);
}

/** IPv6 packet with extension headers inserted before the transport header. */
export function ipv6WithExtensions(spec: SegmentSpec, exts: number[]): Uint8Array {
  const l4 = transport(spec);
  const proto = spec.proto ?? 6;
  const extBytes: Uint8Array[] = [];
  for (let i = 0; i < exts.length; i++) {
    const next = i + 1 < exts.length ? exts[i + 1] : proto;
    const e = new Uint8Array(8);
    e[0] = next;
    e[1] = 0;
    extBytes.push(e);
  }
  const body = concat(...extBytes, l4);
  const h = new Uint8Array(40);
  const dv = new DataView(h.buffer);
  h[0] = 0x60;
  dv.setUint16(4, body.length);
  h[6] = exts.length ? exts[0] : proto;
  h.set(ipBytes(spec.src), 8);
  h.set(ipBytes(spec.dst), 24);
  return concat(h, body);
}

/** One fragment to cut from an IP packet by {@linkcode ipFragments}. */
export interface FragmentPiece {
  /** Offset in the fragmentable part, in bytes (a multiple of 8). */
  off: number;
  /** Data length in bytes. */
  len: number;
  /** More-fragments flag (default: the piece does not reach the end). */
  more?: boolean;
  /** Data to send instead of the packet's own bytes (for overlaps that differ). */
  data?: Uint8Array;
}

/** Options of {@linkcode ipFragments}. */
export interface FragmentOptions {
  /** Identification (default 0x1234; IPv4 uses the low 16 bits). */
  id?: number;
  /**
   * IPv6: bytes of the packet that form the unfragmentable part (default:
   * the fixed header plus any Hop-by-Hop and Routing headers).
   */
  unfragmentable?: number;
}

/** Length of the unfragmentable part of an IPv6 packet (fixed + Hop-by-Hop/Routing headers). */
function ipv6Unfragmentable(ip: Uint8Array): { len: number; nhPos: number } {
  let nh = ip[6], nhPos = 6, cur = 40;
  while (nh === 0 || nh === 43) {
    nhPos = cur;
    nh = ip[cur];
    cur += (ip[cur + 1] + 1) * 8;
  }
  return { len: cur, nhPos };
}

/**
 * Cut a complete IPv4 or IPv6 packet (no link header) into fragments: into
 * pieces of `pieces` bytes (a multiple of 8), or into the given pieces (which
 * may overlap, repeat or leave holes). IPv4 checksums are left 0.
 */
export function ipFragments(
  ip: Uint8Array,
  pieces: number | FragmentPiece[],
  opts: FragmentOptions = {},
): Uint8Array[] {
  const v4 = ip[0] >> 4 === 4;
  const id = opts.id ?? 0x1234;
  let hdrLen: number, nhPos = 0;
  if (v4) hdrLen = (ip[0] & 15) * 4;
  else if (opts.unfragmentable !== undefined) {
    hdrLen = opts.unfragmentable;
    nhPos = 6;
    for (let cur = 40; cur < hdrLen; cur += (ip[cur + 1] + 1) * 8) nhPos = cur;
  } else ({ len: hdrLen, nhPos } = ipv6Unfragmentable(ip));
  const ipLen = v4 ? ((ip[2] << 8) | ip[3]) : 40 + ((ip[4] << 8) | ip[5]);
  const body = ip.subarray(hdrLen, ipLen);
  const list: FragmentPiece[] = typeof pieces === "number" ? [] : pieces;
  if (typeof pieces === "number") {
    for (let o = 0; o < body.length; o += pieces) {
      list.push({ off: o, len: Math.min(pieces, body.length - o) });
    }
  }
  return list.map((piece) => {
    const data = piece.data ?? body.subarray(piece.off, piece.off + piece.len);
    const more = piece.more ?? piece.off + piece.len < body.length;
    if (v4) {
      const h = ip.slice(0, hdrLen);
      const dv = new DataView(h.buffer);
      dv.setUint16(2, hdrLen + data.length);
      dv.setUint16(4, id & 0xffff);
      dv.setUint16(6, (h[6] & 0x40) << 8 | (more ? 0x2000 : 0) | (piece.off >> 3));
      dv.setUint16(10, 0);
      return concat(h, data);
    }
    const h = ip.slice(0, hdrLen);
    const frag = new Uint8Array(8);
    frag[0] = h[nhPos];
    h[nhPos] = 44;
    const fdv = new DataView(frag.buffer);
    fdv.setUint16(2, piece.off | (more ? 1 : 0));
    fdv.setUint32(4, id >>> 0);
    new DataView(h.buffer).setUint16(4, hdrLen - 40 + 8 + data.length);
    return concat(h, frag, data);
  });
}
