/**
 * What the offline capture readers have in common: the record-reader
 * interface the file source drives, format detection by magic number, and
 * the sanity limits on record sizes.
 *
 * @module
 */

import type { CaptureFileError } from "./errors.ts";
import type { RawPacket } from "./raw_packet.ts";

/** Capture file formats sealert reads. */
export type CaptureFormat = "pcap" | "pcapng";

/** Largest captured length accepted for one packet (libpcap's maximum snapshot length). */
const MAX_CAPLEN = 262144;

/** Largest pcapng block accepted (Wireshark's limit); bigger means damage. */
export const MAX_BLOCK_LEN = 16 * 1024 * 1024;

/**
 * Largest captured length accepted for a file or interface with snapshot
 * length `snapLen`: libpcap's 256 KiB, tightened to twice the snapshot length
 * (at least 64 KiB, for writers that under-declare it) when one is declared.
 */
export function capLenLimit(snapLen: number): number {
  if (snapLen <= 0 || snapLen >= MAX_CAPLEN) return MAX_CAPLEN;
  return Math.min(MAX_CAPLEN, Math.max(2 * snapLen, 65536));
}

/**
 * A parser of one capture file's records, working in place on a
 * {@linkcode ByteInput}'s buffer.
 */
export interface FormatReader {
  /** The file format. */
  readonly format: CaptureFormat;
  /**
   * Bytes needed from the input position to complete the current record;
   * set when {@linkcode FormatReader.next} returns false.
   */
  need: number;
  /** Packets delivered from this file. */
  packets: number;
  /** Captured bytes delivered from this file. */
  bytes: number;
  /** Fills `pkt` with the next complete buffered packet; false when more input is needed. */
  next(pkt: RawPacket): boolean;
  /** Error describing the partial record left at the end of the input. */
  truncation(): CaptureFileError;
}

/** Classic pcap magic numbers as read big-endian: µs then ns, each in both byte orders. */
const PCAP_MAGICS = [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1];

/** pcapng Section Header Block type (the same in both byte orders). */
export const PCAPNG_SHB = 0x0a0d0d0a;

/** Detects the format from the first 4 bytes of a file read big-endian; null if neither. */
export function sniffFormat(magicBE: number): CaptureFormat | null {
  if (PCAP_MAGICS.includes(magicBE)) return "pcap";
  if (magicBE === PCAPNG_SHB) return "pcapng";
  return null;
}
