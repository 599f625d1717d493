/**
 * The decoded view of one packet. One instance is filled per packet and
 * reused (gopacket's DecodingLayerParser style); `buf` is the capture
 * source's buffer and the payload is `buf[payloadOffset .. + payloadCapLen)`.
 * Valid until the next packet.
 *
 * @module
 */

import { ipv4Text, ipv6Text } from "./ip_text.ts";

/** IP protocol numbers sealert tracks. */
export const IpProto = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58 } as const;

/** TCP flag bits. */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** Decoded layer-3/4 fields of the current packet. */
export class DecodedPacket {
  /** Packet time in seconds since the epoch (fractional). */
  ts = 0;
  /** Whole seconds of the packet time. */
  tsSec = 0;
  /** Nanoseconds of the packet time. */
  tsNsec = 0;
  /** 4 or 6. */
  ipVersion = 0;
  /** Source address as big-endian 32-bit words (IPv4: word 0 only, others 0). */
  readonly src = new Uint32Array(4);
  /** Destination address, same layout as `src`. */
  readonly dst = new Uint32Array(4);
  /** IP protocol (6 TCP, 17 UDP, …). */
  proto = 0;
  /** Source port (TCP/UDP), else 0. */
  srcPort = 0;
  /** Destination port (TCP/UDP), else 0. */
  dstPort = 0;
  /** TCP flags byte. */
  tcpFlags = 0;
  /** ICMP / ICMPv6 type (ICMP packets only; ports are 0 and the payload follows the 8-byte header). */
  icmpType = 0;
  /** ICMP / ICMPv6 code (ICMP packets only). */
  icmpCode = 0;
  /** TCP sequence number. */
  seq = 0;
  /** TCP acknowledgement number. */
  ack = 0;
  /** TCP window. */
  window = 0;
  /** The capture buffer the payload lives in. */
  buf: Uint8Array = new Uint8Array(0);
  /** Offset of the transport payload in `buf`. */
  payloadOffset = 0;
  /** Transport payload length on the wire (from the IP/UDP length fields). */
  payloadLen = 0;
  /** Payload bytes actually captured (may be less than `payloadLen` with a short snaplen). */
  payloadCapLen = 0;
  /** Frame length on the wire. */
  wireLen = 0;
  /** IP packet length on the wire (header + payload). */
  ipLen = 0;
  /** VLAN IDs seen (outermost first), count in `vlanCount`. */
  readonly vlans = new Uint16Array(4);
  /** Number of VLAN tags. */
  vlanCount = 0;
  /** Offset of the IP header in `buf`. */
  ipOffset = 0;
  /**
   * Length of the IP header: IPv4 the IHL; IPv6 the fixed header plus the
   * extension headers walked (for a fragment: the unfragmentable part, up to
   * and excluding the Fragment header).
   */
  ipHeaderLen = 0;
  /**
   * True when the packet is an IP fragment (the decoder returned `DecodeResult.FRAGMENT`):
   * IPv4 with MF set or a non-zero offset, IPv6 with a Fragment header that
   * is not atomic. Then `proto` is the upper protocol (IPv6: the Fragment
   * header's next header), `payloadOffset`/`payloadLen`/`payloadCapLen` are
   * the fragment's data, the `frag*` fields are set, and no transport field
   * is decoded.
   */
  fragment = false;
  /** Fragment identification (IPv4 16-bit, IPv6 32-bit); fragments only. */
  fragId = 0;
  /** Offset of the fragment's data in the original payload, in bytes; fragments only. */
  fragOffset = 0;
  /** More-fragments flag; fragments only. */
  fragMore = false;
  /**
   * IPv6 fragments: offset in `buf` of the Next Header byte that announces
   * the Fragment header (the fixed header's, or the last unfragmentable
   * extension header's). 0 for IPv4.
   */
  fragNextHeaderOffset = 0;
  /**
   * Number of the packet in the input stream (1-based, over all files; set
   * by the pipeline, 0 when unknown): a flow's number is its first packet's.
   */
  frame = 0;
}

/** Text form of the packet's source or destination address (allocates: not for the hot path). */
export function addressToString(version: number, words: Uint32Array): string {
  const bytes = addressToBytes(version, words);
  return version === 4 ? ipv4Text(bytes) : ipv6Text(bytes);
}

/** Address words as bytes (4 or 16), for Community ID hashing. */
export function addressToBytes(version: number, words: Uint32Array): Uint8Array {
  const n = version === 4 ? 1 : 4;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = words[i] >>> 24;
    out[i * 4 + 1] = (words[i] >>> 16) & 255;
    out[i * 4 + 2] = (words[i] >>> 8) & 255;
    out[i * 4 + 3] = words[i] & 255;
  }
  return out;
}
