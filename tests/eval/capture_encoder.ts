/**
 * Writes {@linkcode Packet}s back out as a classic pcap (nanosecond
 * timestamps): IP total / payload lengths, the IPv4 header checksum and the
 * TCP and UDP checksums are computed afresh for every TCP and UDP packet (the
 * lab captures carry checksum-offload garbage; the output is always valid),
 * optionally IPv4 / IPv6 fragmentation of the TCP segments that carry
 * payload (in order or reversed, fresh identifications, DF off), and the
 * link-layer encapsulation: Ethernet (frames padded to 60 bytes as on a
 * wire), 802.1Q, QinQ, Linux cooked SLL (113) or SLL2 (276).
 *
 * @module
 */

import { PcapWriter } from "../../src/capture/pcap_writer.ts";
import { LinkType } from "../../src/capture/raw_packet.ts";
import {
  addrText,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  type IpInfo,
  type Packet,
  type TcpPacket,
  type VlanTag,
} from "./capture_packets.ts";
import type { SeededRandom } from "./seeded_random.ts";
import { concat } from "../helpers/bytes.ts";

/** Link-layer encapsulation of the output. */
export type Encapsulation = "ethernet" | "vlan" | "qinq" | "sll" | "sll2";

/** How packets are turned into frames. */
export interface EncodeOptions {
  /** Fragment every TCP segment that carries payload into fragments of this many data bytes (a multiple of 8). */
  fragmentSize?: number;
  /** Send the fragments of a packet last first. */
  fragmentReverse?: boolean;
  /** Link layer (default Ethernet, keeping the input's tags). */
  encapsulation?: Encapsulation;
}

/** Ones' complement sum of `b[start..end)` added to `acc` (not folded). */
export function sum16(b: Uint8Array, start: number, end: number, acc: number): number {
  let i = start;
  for (; i + 1 < end; i += 2) acc += (b[i] << 8) | b[i + 1];
  if (i < end) acc += b[i] << 8;
  return acc;
}

/** Folds a 32-bit-or-more sum and complements it: the Internet checksum. */
export function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 65536);
  return ~acc & 0xffff;
}

/** The Internet checksum of `b` (RFC 1071). */
export function internetChecksum(b: Uint8Array): number {
  return fold(sum16(b, 0, b.length, 0));
}

/** Checksum of a TCP or UDP segment `l4` under the pseudo-header of `ip`. */
export function transportChecksum(ip: IpInfo, proto: number, l4: Uint8Array): number {
  let acc = sum16(ip.src, 0, ip.src.length, 0);
  acc = sum16(ip.dst, 0, ip.dst.length, acc);
  acc += proto + (l4.length & 0xffff) + Math.floor(l4.length / 65536);
  return fold(sum16(l4, 0, l4.length, acc));
}

/** The TCP header and payload of `p`, checksum filled in. */
export function encodeTcp(p: TcpPacket): Uint8Array {
  const hlen = 20 + p.options.length;
  if (p.options.length % 4 !== 0 || hlen > 60) throw new Error("bad TCP options length");
  const b = new Uint8Array(hlen + p.payload.length);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, p.sport);
  dv.setUint16(2, p.dport);
  dv.setUint32(4, p.seq >>> 0);
  dv.setUint32(8, p.ack >>> 0);
  b[12] = (hlen / 4) << 4;
  b[13] = p.flags;
  dv.setUint16(14, p.window);
  dv.setUint16(18, p.urgent);
  b.set(p.options, 20);
  b.set(p.payload, hlen);
  dv.setUint16(16, transportChecksum(p.ip, 6, b));
  return b;
}

/** A UDP datagram with its checksum recomputed. */
function encodeUdp(ip: IpInfo, l4: Uint8Array): Uint8Array {
  const b = l4.slice();
  b[6] = b[7] = 0;
  const c = transportChecksum(ip, 17, b) || 0xffff;
  b[6] = c >> 8;
  b[7] = c & 255;
  return b;
}

/** An IPv4 header (no options) for `dataLen` bytes of `proto`, checksum filled in. */
function ipv4Header(
  ip: IpInfo,
  proto: number,
  dataLen: number,
  id: number,
  fragField: number,
): Uint8Array {
  const h = new Uint8Array(20);
  const dv = new DataView(h.buffer);
  h[0] = 0x45;
  h[1] = ip.tos;
  dv.setUint16(2, 20 + dataLen);
  dv.setUint16(4, id & 0xffff);
  dv.setUint16(6, fragField);
  h[8] = ip.ttl;
  h[9] = proto;
  h.set(ip.src, 12);
  h.set(ip.dst, 16);
  dv.setUint16(10, internetChecksum(h));
  return h;
}

/** An IPv6 header for `payloadLen` bytes after it, next header `nh`. */
function ipv6Header(ip: IpInfo, nh: number, payloadLen: number): Uint8Array {
  const h = new Uint8Array(40);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, ((6 << 28) | (ip.tos << 20) | (ip.flowLabel & 0xfffff)) >>> 0);
  dv.setUint16(4, payloadLen);
  h[6] = nh;
  h[7] = ip.ttl;
  h.set(ip.src, 8);
  h.set(ip.dst, 24);
  return h;
}

/** Turns packets into link-layer frames according to {@linkcode EncodeOptions}. */
export class FrameEncoder {
  readonly #opts: EncodeOptions;
  readonly #vlanIds: [number, number];
  /** Next fragment identification per (source, destination). */
  readonly #ids = new Map<string, number>();
  readonly #rng: SeededRandom;

  /** An encoder; `rng` chooses VLAN ids and the first fragment identifications. */
  constructor(opts: EncodeOptions, rng: SeededRandom) {
    this.#opts = opts;
    this.#rng = rng;
    this.#vlanIds = [rng.int(2, 4094), rng.int(2, 4094)];
    const size = opts.fragmentSize;
    if (size !== undefined && (size < 8 || size % 8 !== 0)) {
      throw new Error("fragment size must be a positive multiple of 8");
    }
  }

  /** Link type of the frames written. */
  get linkType(): number {
    const e = this.#opts.encapsulation ?? "ethernet";
    return e === "sll"
      ? LinkType.LINUX_SLL
      : e === "sll2"
      ? LinkType.LINUX_SLL2
      : LinkType.ETHERNET;
  }

  /** The frames of one packet (several when it is fragmented), with the bytes not captured. */
  frames(p: Packet): { frames: Uint8Array[]; cut: number } {
    if (p.kind === "other") return { frames: [this.#link(p, p.etherType, p.l3)], cut: p.cut };
    const etherType = p.ip.version === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
    const size = this.#opts.fragmentSize;
    if (p.kind === "udp") {
      return {
        frames: [this.#link(p, etherType, this.#whole(p.ip, 17, encodeUdp(p.ip, p.l4)))],
        cut: 0,
      };
    }
    const l4 = encodeTcp(p);
    if (size === undefined || p.payload.length === 0 || l4.length <= size) {
      return { frames: [this.#link(p, etherType, this.#whole(p.ip, 6, l4))], cut: 0 };
    }
    const id = this.#nextId(p.ip);
    const packets: Uint8Array[] = [];
    for (let o = 0; o < l4.length; o += size) {
      const data = l4.subarray(o, Math.min(o + size, l4.length));
      const more = o + size < l4.length;
      if (p.ip.version === 4) {
        const field = (more ? 0x2000 : 0) | (o / 8);
        packets.push(concat(ipv4Header(p.ip, 6, data.length, id, field), data));
      } else {
        const fh = new Uint8Array(8);
        const dv = new DataView(fh.buffer);
        fh[0] = 6;
        dv.setUint16(2, (o / 8) << 3 | (more ? 1 : 0));
        dv.setUint32(4, id >>> 0);
        packets.push(concat(ipv6Header(p.ip, 44, 8 + data.length), fh, data));
      }
    }
    if (this.#opts.fragmentReverse) packets.reverse();
    return { frames: packets.map((ip) => this.#link(p, etherType, ip)), cut: 0 };
  }

  /** An unfragmented IP packet (IPv4: the original identification and DF bit). */
  #whole(ip: IpInfo, proto: number, l4: Uint8Array): Uint8Array {
    if (ip.version === 4) {
      return concat(ipv4Header(ip, proto, l4.length, ip.id, ip.df ? 0x4000 : 0), l4);
    }
    return concat(ipv6Header(ip, proto, l4.length), l4);
  }

  /** A fresh identification for a fragmented datagram from `ip.src` to `ip.dst`. */
  #nextId(ip: IpInfo): number {
    const key = `${addrText(ip.src)}>${addrText(ip.dst)}`;
    const id = this.#ids.get(key) ?? this.#rng.int(0, 0xffff);
    this.#ids.set(key, ip.version === 4 ? (id + 1) & 0xffff : (id + 1) >>> 0);
    return id;
  }

  #link(p: Packet, etherType: number, l3: Uint8Array): Uint8Array {
    const enc = this.#opts.encapsulation ?? "ethernet";
    if (enc === "sll") {
      const h = new Uint8Array(16);
      h[3] = 1; // ARPHRD_ETHER; packet type 0: to us
      h[5] = 6;
      h.set(p.link.srcMac, 6);
      h[14] = etherType >> 8;
      h[15] = etherType & 255;
      return concat(h, l3);
    }
    if (enc === "sll2") {
      const h = new Uint8Array(20);
      h[0] = etherType >> 8;
      h[1] = etherType & 255;
      h[7] = 1; // interface index 1
      h[9] = 1; // ARPHRD_ETHER
      h[11] = 6;
      h.set(p.link.srcMac, 12);
      return concat(h, l3);
    }
    let tags: readonly VlanTag[] = p.link.tags;
    if (enc === "vlan") tags = [{ tpid: 0x8100, tci: this.#vlanIds[0] }, ...tags];
    if (enc === "qinq") {
      tags = [
        { tpid: 0x88a8, tci: this.#vlanIds[0] },
        { tpid: 0x8100, tci: this.#vlanIds[1] },
        ...tags,
      ];
    }
    const hlen = 14 + 4 * tags.length;
    const f = new Uint8Array(Math.max(60, hlen + l3.length));
    f.set(p.link.dstMac, 0);
    f.set(p.link.srcMac, 6);
    let o = 12;
    for (const t of tags) {
      f[o] = t.tpid >> 8;
      f[o + 1] = t.tpid & 255;
      f[o + 2] = t.tci >> 8;
      f[o + 3] = t.tci & 255;
      o += 4;
    }
    f[o] = etherType >> 8;
    f[o + 1] = etherType & 255;
    f.set(l3, o + 2);
    return f;
  }
}

/** Writes `packets` to a new classic pcap (nanosecond timestamps) at `path`; returns the frame count. */
export function writeCapture(
  path: string,
  packets: readonly Packet[],
  opts: EncodeOptions,
  rng: SeededRandom,
): number {
  const enc = new FrameEncoder(opts, rng);
  const w = new PcapWriter(path, { linkType: enc.linkType, nanosecond: true, snapLen: 262144 });
  try {
    for (const p of packets) {
      const sec = Number(p.ts / 1_000_000_000n);
      const nsec = Number(p.ts % 1_000_000_000n);
      const { frames, cut } = enc.frames(p);
      for (const f of frames) w.writeFrame(f, sec, nsec, f.length + cut);
    }
  } finally {
    w.close();
  }
  return w.packets;
}
