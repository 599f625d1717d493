/**
 * Link, IP and transport decoding into one reused {@linkcode DecodedPacket}.
 * Allocation-free: reads bytes straight from the capture buffer; malformed
 * input is counted in {@linkcode Weirds} and reported by a false return.
 *
 * @module
 */

import { LinkType, type RawPacket } from "../capture/raw_packet.ts";
import { DecodedPacket, IpProto } from "./packet.ts";
import type { Weirds } from "./weirds.ts";

/** Result of {@linkcode Decoder.decode}. */
export const DecodeResult = {
  /** Not IP, or not decodable (counted as a weird when malformed). */
  SKIP: 0,
  /** IP packet decoded; transport fields filled for TCP, UDP, ICMP and ICMPv6. */
  OK: 1,
  /**
   * An IP fragment (IPv4 MF or offset, IPv6 non-atomic Fragment header): the
   * IP layer and the `frag*` fields of the packet are decoded, transport
   * fields are not; the data is `payloadOffset .. + payloadLen`. For a
   * defragmenter (`src/flow/defrag.ts`).
   */
  FRAGMENT: 2,
} as const;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const MAX_VLAN_TAGS = 4;

/** Counters of what the decoder saw, besides weirds. */
interface DecodeCounters {
  /** Frames offered to the decoder. */
  frames: number;
  /** IPv4 packets decoded. */
  ipv4: number;
  /** IPv6 packets decoded. */
  ipv6: number;
  /** TCP segments decoded. */
  tcp: number;
  /** UDP datagrams decoded. */
  udp: number;
  /** ICMP and ICMPv6 messages decoded. */
  icmp: number;
  /** IP fragments (IPv4 and IPv6) decoded, returned as {@linkcode DecodeResult.FRAGMENT}. */
  fragments: number;
  /** Frames that were not IP (ARP, LLDP, …). */
  nonIp: number;
}

/**
 * Decodes frames of the link types sealert supports: Ethernet with 802.1Q /
 * 802.1ad / QinQ tags, Linux SLL and SLL2, raw IP, BSD NULL/LOOP.
 * Counters count every frame offered, so a datagram a defragmenter rebuilt
 * and handed back is counted again (as Suricata's decoder counters do).
 */
export class Decoder {
  /** The packet structure filled by {@linkcode decode}. */
  readonly pkt: DecodedPacket = new DecodedPacket();
  /** Counts of decoded packets by layer. */
  readonly counters: DecodeCounters = {
    frames: 0,
    ipv4: 0,
    ipv6: 0,
    tcp: 0,
    udp: 0,
    icmp: 0,
    fragments: 0,
    nonIp: 0,
  };
  readonly #weirds: Weirds;
  #cur: DecodedPacket = this.pkt; // the structure being filled

  /** Creates a decoder counting malformed input in `weirds`. */
  constructor(weirds: Weirds) {
    this.#weirds = weirds;
  }

  /**
   * Decode `raw` into {@linkcode pkt}, or into `p` (a batch keeps one
   * structure per packet); returns a {@linkcode DecodeResult}.
   */
  decode(raw: RawPacket, p: DecodedPacket = this.pkt): number {
    this.#cur = p;
    const b = raw.buf;
    const start = raw.offset;
    const end = start + raw.capLen;
    this.counters.frames++;
    p.buf = b;
    p.tsSec = raw.tsSec;
    p.tsNsec = raw.tsNsec;
    p.ts = raw.tsSec + raw.tsNsec / 1e9;
    p.wireLen = raw.wireLen;
    p.vlanCount = 0;
    p.proto = 0;
    p.srcPort = 0;
    p.dstPort = 0;
    p.tcpFlags = 0;
    p.icmpType = 0;
    p.icmpCode = 0;
    p.payloadLen = 0;
    p.payloadCapLen = 0;
    p.fragment = false;
    p.fragMore = false;

    let off = start;
    let etherType = -1; // -1: decide by IP version nibble
    switch (raw.linkType) {
      case LinkType.ETHERNET: {
        if (end - off < 14) return this.#weird("truncated_link_header");
        etherType = (b[off + 12] << 8) | b[off + 13];
        off += 14;
        while (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) {
          if (end - off < 4) return this.#weird("truncated_link_header");
          if (p.vlanCount === MAX_VLAN_TAGS) return this.#weird("too_many_vlan_tags");
          p.vlans[p.vlanCount++] = ((b[off] << 8) | b[off + 1]) & 0x0fff;
          etherType = (b[off + 2] << 8) | b[off + 3];
          off += 4;
        }
        break;
      }
      case LinkType.LINUX_SLL:
        if (end - off < 16) return this.#weird("truncated_link_header");
        etherType = (b[off + 14] << 8) | b[off + 15];
        off += 16;
        break;
      case LinkType.LINUX_SLL2:
        if (end - off < 20) return this.#weird("truncated_link_header");
        etherType = (b[off] << 8) | b[off + 1];
        off += 20;
        break;
      case LinkType.NULL:
      case LinkType.LOOP: {
        if (end - off < 4) return this.#weird("truncated_link_header");
        // Address family in host order (NULL) or network order (LOOP); accept both.
        const fam = b[off] !== 0 ? b[off] | (b[off + 1] << 8) : (b[off + 2] << 8) | b[off + 3];
        off += 4;
        if (fam === 2) etherType = ETH_IPV4;
        else if (fam === 24 || fam === 28 || fam === 30 || fam === 10) etherType = ETH_IPV6;
        else etherType = 0;
        break;
      }
      case LinkType.RAW:
      case LinkType.IPV4:
      case LinkType.IPV6:
      case 12: // DLT_RAW on most platforms (live capture reports DLT, files LINKTYPE)
      case 14: // DLT_RAW on OpenBSD
        break;
      default:
        return this.#weird("unknown_link_type");
    }
    if (etherType === -1) {
      if (end - off < 1) return this.#weird("truncated_ip_header");
      const v = b[off] >> 4;
      etherType = v === 4 ? ETH_IPV4 : v === 6 ? ETH_IPV6 : 0;
      if (etherType === 0) return this.#weird("bad_ip_version");
    }
    if (etherType === ETH_IPV4) return this.#ipv4(b, off, end);
    if (etherType === ETH_IPV6) return this.#ipv6(b, off, end);
    this.counters.nonIp++;
    return DecodeResult.SKIP;
  }

  #weird(name: Parameters<Weirds["add"]>[0]): number {
    this.#weirds.add(name);
    return DecodeResult.SKIP;
  }

  #ipv4(b: Uint8Array, off: number, end: number): number {
    const p = this.#cur;
    if (end - off < 20) return this.#weird("truncated_ip_header");
    if (b[off] >> 4 !== 4) return this.#weird("bad_ip_version");
    const ihl = (b[off] & 15) * 4;
    if (ihl < 20) return this.#weird("bad_ipv4_header_length");
    if (end - off < ihl) return this.#weird("truncated_ip_header");
    const total = (b[off + 2] << 8) | b[off + 3];
    if (total < ihl) return this.#weird("bad_ip_total_length");
    const fragField = (b[off + 6] << 8) | b[off + 7];
    p.ipVersion = 4;
    p.ipOffset = off;
    p.ipHeaderLen = ihl;
    p.src[0] = ((b[off + 12] << 24) | (b[off + 13] << 16) | (b[off + 14] << 8) | b[off + 15]) >>> 0;
    p.dst[0] = ((b[off + 16] << 24) | (b[off + 17] << 16) | (b[off + 18] << 8) | b[off + 19]) >>> 0;
    p.src[1] = p.src[2] = p.src[3] = 0;
    p.dst[1] = p.dst[2] = p.dst[3] = 0;
    p.proto = b[off + 9];
    p.ipLen = total;
    this.counters.ipv4++;
    // Ethernet padding: trust the IP length; snaplen cut: captured bytes end earlier.
    let capEnd = off + total;
    if (capEnd > end) {
      capEnd = end;
      this.#weirds.add("ip_snaplen_cut");
    }
    if ((fragField & 0x3fff) !== 0) { // MF or a fragment offset
      p.fragment = true;
      p.fragId = (b[off + 4] << 8) | b[off + 5];
      p.fragOffset = (fragField & 0x1fff) * 8;
      p.fragMore = (fragField & 0x2000) !== 0;
      p.fragNextHeaderOffset = 0;
      p.payloadOffset = off + ihl;
      p.payloadLen = total - ihl;
      p.payloadCapLen = capEnd - off - ihl;
      this.counters.fragments++;
      return DecodeResult.FRAGMENT;
    }
    return this.#transport(b, off + ihl, capEnd, total - ihl);
  }

  #ipv6(b: Uint8Array, off: number, end: number): number {
    const p = this.#cur;
    if (end - off < 40) return this.#weird("truncated_ip_header");
    if (b[off] >> 4 !== 6) return this.#weird("bad_ip_version");
    const plen = (b[off + 4] << 8) | b[off + 5];
    p.ipVersion = 6;
    p.ipOffset = off;
    for (let i = 0; i < 4; i++) {
      const s = off + 8 + i * 4, d = off + 24 + i * 4;
      p.src[i] = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) >>> 0;
      p.dst[i] = ((b[d] << 24) | (b[d + 1] << 16) | (b[d + 2] << 8) | b[d + 3]) >>> 0;
    }
    p.ipLen = 40 + plen;
    this.counters.ipv6++;
    if (plen === 0) {
      this.#weirds.add("ipv6_jumbogram");
      return DecodeResult.SKIP;
    }
    let capEnd = off + 40 + plen;
    if (capEnd > end) {
      capEnd = end;
      this.#weirds.add("ip_snaplen_cut");
    }
    let nh = b[off + 6];
    let nhPos = off + 6; // where nh was read
    let cur = off + 40;
    let remaining = plen; // wire bytes after the current header
    for (let hops = 0; hops < 8; hops++) {
      if (nh === 0 || nh === 43 || nh === 60 || nh === 135 || nh === 139 || nh === 140) {
        if (capEnd - cur < 8) return this.#weird("ipv6_bad_extension_header");
        const hlen = (b[cur + 1] + 1) * 8;
        if (hlen > remaining) return this.#weird("ipv6_bad_extension_header");
        nh = b[cur];
        nhPos = cur;
        cur += hlen;
        remaining -= hlen;
      } else if (nh === 44) {
        if (capEnd - cur < 8 || remaining < 8) return this.#weird("ipv6_bad_extension_header");
        const fragField = (b[cur + 2] << 8) | b[cur + 3];
        if ((fragField & 0xfff9) !== 0) { // offset or M set: not an atomic fragment (RFC 6946)
          p.fragment = true;
          p.proto = b[cur];
          p.ipHeaderLen = cur - off;
          p.fragId = ((b[cur + 4] << 24) | (b[cur + 5] << 16) | (b[cur + 6] << 8) | b[cur + 7]) >>>
            0;
          p.fragOffset = fragField & 0xfff8;
          p.fragMore = (fragField & 1) !== 0;
          p.fragNextHeaderOffset = nhPos;
          p.payloadOffset = cur + 8;
          p.payloadLen = remaining - 8;
          p.payloadCapLen = capEnd - cur - 8;
          this.counters.fragments++;
          return DecodeResult.FRAGMENT;
        }
        nh = b[cur];
        nhPos = cur;
        cur += 8;
        remaining -= 8;
      } else if (nh === 51) {
        if (capEnd - cur < 8) return this.#weird("ipv6_bad_extension_header");
        const hlen = (b[cur + 1] + 2) * 4;
        if (hlen > remaining) return this.#weird("ipv6_bad_extension_header");
        nh = b[cur];
        nhPos = cur;
        cur += hlen;
        remaining -= hlen;
      } else {
        break;
      }
    }
    p.proto = nh;
    p.ipHeaderLen = cur - off;
    return this.#transport(b, cur, capEnd, remaining);
  }

  /**
   * Decode TCP/UDP/ICMP/ICMPv6 at `off`; `wireLen` = transport bytes on the
   * wire. ICMP keeps ports 0 (one flow per address pair); its payload is what
   * follows the 8-byte header (echo/information id and sequence number, or an
   * error's unused word).
   */
  #transport(b: Uint8Array, off: number, capEnd: number, wireLen: number): number {
    const p = this.#cur;
    if (p.proto === IpProto.TCP) {
      if (capEnd - off < 20 || wireLen < 20) return this.#weird("truncated_tcp_header");
      const hlen = (b[off + 12] >> 4) * 4;
      if (hlen < 20 || hlen > wireLen) return this.#weird("bad_tcp_header_length");
      if (capEnd - off < hlen) return this.#weird("truncated_tcp_header");
      p.srcPort = (b[off] << 8) | b[off + 1];
      p.dstPort = (b[off + 2] << 8) | b[off + 3];
      p.seq = ((b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7]) >>> 0;
      p.ack = ((b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11]) >>> 0;
      p.tcpFlags = b[off + 13];
      p.window = (b[off + 14] << 8) | b[off + 15];
      p.payloadOffset = off + hlen;
      p.payloadLen = wireLen - hlen;
      p.payloadCapLen = capEnd - off - hlen;
      this.counters.tcp++;
      return DecodeResult.OK;
    }
    if (p.proto === IpProto.UDP) {
      if (capEnd - off < 8 || wireLen < 8) return this.#weird("truncated_udp_header");
      const ulen = (b[off + 4] << 8) | b[off + 5];
      if (ulen < 8 || ulen > wireLen) return this.#weird("bad_udp_length");
      p.srcPort = (b[off] << 8) | b[off + 1];
      p.dstPort = (b[off + 2] << 8) | b[off + 3];
      p.payloadOffset = off + 8;
      p.payloadLen = ulen - 8;
      p.payloadCapLen = Math.min(capEnd - off, ulen) - 8;
      this.counters.udp++;
      return DecodeResult.OK;
    }
    if (p.proto === IpProto.ICMP || p.proto === IpProto.ICMPV6) {
      if (capEnd - off < 8 || wireLen < 8) return this.#weird("truncated_icmp_header");
      p.icmpType = b[off];
      p.icmpCode = b[off + 1];
      p.payloadOffset = off + 8;
      p.payloadLen = wireLen - 8;
      p.payloadCapLen = Math.min(capEnd - off, wireLen) - 8;
      this.counters.icmp++;
      return DecodeResult.OK;
    }
    p.payloadOffset = off;
    p.payloadLen = wireLen;
    p.payloadCapLen = capEnd - off;
    return DecodeResult.OK;
  }
}
