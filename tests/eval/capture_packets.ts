/**
 * The evasion rewriters' view of a capture: every frame decoded into a plain,
 * immutable object (allocation is fine here — this is test code). TCP
 * segments are decoded field by field so that they can be cut, merged,
 * re-addressed and re-encoded; complete UDP datagrams keep their transport
 * bytes; everything else (ARP, ICMP, IP fragments, frames cut by the snaplen)
 * is kept as opaque layer-3 bytes.
 *
 * Link layers read: Ethernet (with any 802.1Q / 802.1ad tags), Linux cooked
 * SLL and SLL2, raw IP, BSD NULL/LOOP. The link header is reduced to the two
 * MAC addresses and the tags (other link types get fixed made-up MACs), so
 * the encoder can write the packet under any encapsulation.
 *
 * @module
 */

import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";

/** EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;

/** TCP flag bits. */
export const TCP_FIN = 0x01;
/** SYN flag. */
export const TCP_SYN = 0x02;
/** RST flag. */
export const TCP_RST = 0x04;
/** PSH flag. */
export const TCP_PSH = 0x08;
/** ACK flag. */
export const TCP_ACK = 0x10;

/** One VLAN tag: its TPID (0x8100, 0x88a8, 0x9100) and TCI. */
export interface VlanTag {
  /** Tag protocol identifier. */
  tpid: number;
  /** Priority, DEI and VLAN id. */
  tci: number;
}

/** What is kept of the link header. */
export interface LinkInfo {
  /** Destination MAC (6 bytes). */
  dstMac: Uint8Array;
  /** Source MAC (6 bytes). */
  srcMac: Uint8Array;
  /** VLAN tags, outermost first. */
  tags: readonly VlanTag[];
}

/** IP header fields kept for re-encoding (IPv4 options and IPv6 extension headers are dropped). */
export interface IpInfo {
  /** 4 or 6. */
  version: 4 | 6;
  /** Source address (4 or 16 bytes). */
  src: Uint8Array;
  /** Destination address (4 or 16 bytes). */
  dst: Uint8Array;
  /** TTL / hop limit. */
  ttl: number;
  /** TOS / traffic class. */
  tos: number;
  /** IPv4 identification (0 for IPv6). */
  id: number;
  /** IPv4 don't-fragment bit. */
  df: boolean;
  /** IPv6 flow label (0 for IPv4). */
  flowLabel: number;
}

/** Fields every packet has. */
interface PacketBase {
  /** Capture time in nanoseconds since the Unix epoch. */
  ts: bigint;
  /** Link-layer addresses and tags. */
  link: LinkInfo;
}

/** A TCP segment, decoded. */
export interface TcpPacket extends PacketBase {
  /** Discriminant. */
  kind: "tcp";
  /** IP header fields. */
  ip: IpInfo;
  /** Source port. */
  sport: number;
  /** Destination port. */
  dport: number;
  /** Sequence number (uint32). */
  seq: number;
  /** Acknowledgment number (uint32). */
  ack: number;
  /** Flags byte (FIN .. CWR). */
  flags: number;
  /** Window field. */
  window: number;
  /** Urgent pointer. */
  urgent: number;
  /** TCP options (a multiple of 4 bytes). */
  options: Uint8Array;
  /** Payload. */
  payload: Uint8Array;
}

/** A complete UDP datagram (header + payload; the checksum is recomputed on output). */
export interface UdpPacket extends PacketBase {
  /** Discriminant. */
  kind: "udp";
  /** IP header fields. */
  ip: IpInfo;
  /** UDP header and payload. */
  l4: Uint8Array;
}

/** Any other frame, kept as opaque layer-3 bytes. */
export interface OtherPacket extends PacketBase {
  /** Discriminant. */
  kind: "other";
  /** EtherType of `l3`. */
  etherType: number;
  /** The layer-3 bytes as captured. */
  l3: Uint8Array;
  /** Bytes of the frame that were on the wire but not captured. */
  cut: number;
}

/** One packet of a capture. */
export type Packet = TcpPacket | UdpPacket | OtherPacket;

const MAC_A = Uint8Array.of(2, 0, 0, 0, 0, 0xa);
const MAC_B = Uint8Array.of(2, 0, 0, 0, 0, 0xb);

/** Nanosecond timestamp of a raw packet. */
export function packetTime(raw: RawPacket): bigint {
  return BigInt(raw.tsSec) * 1_000_000_000n + BigInt(raw.tsNsec);
}

/** Reads every packet of a capture file (any format the project reads). */
export async function readCapture(path: string): Promise<Packet[]> {
  const src = await openCaptureFiles([path]);
  const raw = new RawPacket();
  const out: Packet[] = [];
  try {
    do {
      while (src.next(raw)) {
        out.push(decodeFrame(raw.buf.slice(raw.offset, raw.offset + raw.capLen), raw));
      }
    } while (await src.refill());
  } finally {
    src.close();
  }
  return out;
}

/** Decodes one frame (its bytes copied out of the reader's buffer). */
export function decodeFrame(frame: Uint8Array, raw: RawPacket): Packet {
  const ts = packetTime(raw);
  const cut = raw.wireLen - raw.capLen;
  let off = 0;
  let etherType = -1;
  let link: LinkInfo = { dstMac: MAC_B, srcMac: MAC_A, tags: [] };
  const be16 = (o: number) => (frame[o] << 8) | frame[o + 1];
  switch (raw.linkType) {
    case LinkType.ETHERNET: {
      const tags: VlanTag[] = [];
      etherType = be16(12);
      off = 14;
      while (
        (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) &&
        off + 4 <= frame.length
      ) {
        tags.push({ tpid: etherType, tci: be16(off) });
        etherType = be16(off + 2);
        off += 4;
      }
      link = { dstMac: frame.slice(0, 6), srcMac: frame.slice(6, 12), tags };
      break;
    }
    case LinkType.LINUX_SLL:
      etherType = be16(14);
      if (be16(4) === 6) link = { ...link, srcMac: frame.slice(6, 12) };
      off = 16;
      break;
    case LinkType.LINUX_SLL2:
      etherType = be16(0);
      if (frame[11] === 6) link = { ...link, srcMac: frame.slice(12, 18) };
      off = 20;
      break;
    case LinkType.NULL:
    case LinkType.LOOP:
      off = 4;
      break;
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      break;
    default:
      throw new Error(`link type ${raw.linkType} is not supported by the evasion rewriters`);
  }
  if (etherType === -1) {
    const v = frame[off] >> 4;
    etherType = v === 4 ? ETHERTYPE_IPV4 : v === 6 ? ETHERTYPE_IPV6 : 0;
  }
  const l3 = frame.subarray(off);
  const other = (): OtherPacket => ({ kind: "other", ts, link, etherType, l3, cut });
  if (cut > 0) return other();
  if (etherType === ETHERTYPE_IPV4) return decodeIpv4(l3, ts, link) ?? other();
  if (etherType === ETHERTYPE_IPV6) return decodeIpv6(l3, ts, link) ?? other();
  return other();
}

function decodeIpv4(b: Uint8Array, ts: bigint, link: LinkInfo): Packet | null {
  if (b.length < 20 || b[0] >> 4 !== 4) return null;
  const ihl = (b[0] & 15) * 4;
  const total = (b[2] << 8) | b[3];
  const frag = (b[6] << 8) | b[7];
  if (ihl < 20 || total < ihl || total > b.length || (frag & 0x3fff) !== 0) return null;
  const ip: IpInfo = {
    version: 4,
    src: b.slice(12, 16),
    dst: b.slice(16, 20),
    ttl: b[8],
    tos: b[1],
    id: (b[4] << 8) | b[5],
    df: (frag & 0x4000) !== 0,
    flowLabel: 0,
  };
  return decodeTransport(b[9], b.subarray(ihl, total), ip, ts, link);
}

function decodeIpv6(b: Uint8Array, ts: bigint, link: LinkInfo): Packet | null {
  if (b.length < 40 || b[0] >> 4 !== 6) return null;
  const plen = (b[4] << 8) | b[5];
  if (plen === 0 || 40 + plen > b.length) return null;
  const ip: IpInfo = {
    version: 6,
    src: b.slice(8, 24),
    dst: b.slice(24, 40),
    ttl: b[7],
    tos: ((b[0] & 15) << 4) | (b[1] >> 4),
    id: 0,
    df: false,
    flowLabel: ((b[1] & 15) << 16) | (b[2] << 8) | b[3],
  };
  // Extension headers are not kept; a fragment is left opaque.
  let nh = b[6];
  let cur = 40;
  while (nh === 0 || nh === 43 || nh === 60) {
    if (cur + 8 > 40 + plen) return null;
    nh = b[cur];
    cur += (b[cur + 1] + 1) * 8;
  }
  if (cur > 40 + plen) return null;
  return decodeTransport(nh, b.subarray(cur, 40 + plen), ip, ts, link);
}

function decodeTransport(
  proto: number,
  l4: Uint8Array,
  ip: IpInfo,
  ts: bigint,
  link: LinkInfo,
): Packet | null {
  if (proto === 17) {
    if (l4.length < 8) return null;
    const len = (l4[4] << 8) | l4[5];
    if (len < 8 || len > l4.length) return null;
    return { kind: "udp", ts, link, ip, l4: l4.slice(0, len) };
  }
  if (proto !== 6 || l4.length < 20) return null;
  const hlen = (l4[12] >> 4) * 4;
  if (hlen < 20 || hlen > l4.length) return null;
  const dv = new DataView(l4.buffer, l4.byteOffset, l4.byteLength);
  return {
    kind: "tcp",
    ts,
    link,
    ip,
    sport: dv.getUint16(0),
    dport: dv.getUint16(2),
    seq: dv.getUint32(4),
    ack: dv.getUint32(8),
    flags: l4[13],
    window: dv.getUint16(14),
    urgent: dv.getUint16(18),
    options: l4.slice(20, hlen),
    payload: l4.slice(hlen),
  };
}

/** Sequence number `seq + n`, modulo 2^32. */
export function seqAdd(seq: number, n: number): number {
  return (seq + n) >>> 0;
}

/** Signed distance `a - b` between two sequence numbers (RFC 1982 style). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** Text key of an address (for maps). */
export function addrText(addr: Uint8Array): string {
  return addr.join(".");
}
