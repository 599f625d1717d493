/**
 * Classic pcap (libpcap) record reader.
 *
 * Handles both byte orders and both timestamp precisions (magic a1b2c3d4:
 * microseconds, a1b23c4d: nanoseconds). The link-layer type is the low 16
 * bits of the header's network field; the upper bits (FCS length, reserved)
 * are split off into {@linkcode PcapReader.fcsLen} instead of failing.
 *
 * Records are parsed in place: one DataView per buffer, no allocation per
 * packet.
 *
 * @module
 */

import type { ByteInput } from "./byte_input.ts";
import type { CaptureFileError } from "./errors.ts";
import { capLenLimit, type FormatReader } from "./file_format.ts";
import type { RawPacket } from "./raw_packet.ts";

/** Size of the pcap file header in bytes. */
export const PCAP_FILE_HEADER_LEN = 24;

/** Reader of the packet records of one classic pcap file. */
export class PcapReader implements FormatReader {
  /** The file format. */
  readonly format = "pcap" as const;
  /** Bytes needed from the input position to complete the current record. */
  need = 0;
  /** Packets delivered from this file. */
  packets = 0;
  /** Captured bytes delivered from this file. */
  bytes = 0;
  /** True when the file is little-endian. */
  readonly littleEndian: boolean;
  /** True for nanosecond timestamps (magic a1b23c4d). */
  readonly nanosecond: boolean;
  /** Link-layer type (low 16 bits of the header's network field). */
  readonly linkType: number;
  /** FCS length in bytes announced by the network field's upper bits (0: none or unknown). */
  readonly fcsLen: number;
  /** Snapshot length from the file header. */
  readonly snapLen: number;
  /** File format version, "major.minor". */
  readonly version: string;
  /** Largest captured length accepted before declaring the file damaged. */
  readonly maxCapLen: number;
  #inp: ByteInput;

  /**
   * Parses the file header at the input position (at least 24 bytes must be
   * buffered; the magic must already have been recognized) and consumes it.
   */
  constructor(inp: ByteInput) {
    this.#inp = inp;
    const v = inp.view;
    const p = inp.pos;
    const magic = v.getUint32(p, false);
    const le = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
    this.littleEndian = le;
    this.nanosecond = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
    this.version = `${v.getUint16(p + 4, le)}.${v.getUint16(p + 6, le)}`;
    this.snapLen = v.getUint32(p + 16, le);
    const network = v.getUint32(p + 20, le);
    this.linkType = network & 0xffff;
    // Bits 28-31: FCS length in 16-bit words, meaningful when bit 26 is set.
    this.fcsLen = (network & 0x04000000) !== 0 ? (network >>> 28) * 2 : 0;
    this.maxCapLen = capLenLimit(this.snapLen);
    inp.pos = p + 24;
  }

  /** Fills `pkt` with the next complete buffered packet; false when more input is needed. */
  next(pkt: RawPacket): boolean {
    const inp = this.#inp;
    const p = inp.pos;
    const avail = inp.end - p;
    if (avail < 16) {
      this.need = 16;
      return false;
    }
    const v = inp.view;
    const le = this.littleEndian;
    const capLen = v.getUint32(p + 8, le);
    if (capLen > this.maxCapLen) {
      throw inp.damaged(
        inp.base + p,
        `packet record claims ${capLen} captured bytes, limit ${this.maxCapLen}`,
      );
    }
    const len = 16 + capLen;
    if (len > avail) {
      this.need = len;
      return false;
    }
    let sec = v.getUint32(p, le);
    let frac = v.getUint32(p + 4, le);
    if (this.nanosecond) {
      if (frac >= 1000000000) {
        sec += Math.floor(frac / 1000000000);
        frac %= 1000000000;
      }
    } else {
      if (frac >= 1000000) {
        sec += Math.floor(frac / 1000000);
        frac %= 1000000;
      }
      frac *= 1000;
    }
    const wireLen = v.getUint32(p + 12, le);
    pkt.buf = inp.buf;
    pkt.offset = p + 16;
    pkt.capLen = capLen;
    pkt.wireLen = wireLen < capLen ? capLen : wireLen;
    pkt.tsSec = sec;
    pkt.tsNsec = frac;
    pkt.linkType = this.linkType;
    pkt.ifIndex = 0;
    inp.pos = p + len;
    this.packets++;
    this.bytes += capLen;
    return true;
  }

  /** Error describing the partial record left at the end of the input. */
  truncation(): CaptureFileError {
    const inp = this.#inp;
    const detail = inp.end - inp.pos < 16
      ? "packet record header cut short"
      : "packet data cut short";
    return inp.truncated(inp.base + inp.pos, detail);
  }
}
