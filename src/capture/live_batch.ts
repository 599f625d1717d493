/**
 * The batch format live capture uses to move packets from the capture Worker
 * to the main thread, and the writer that fills a batch.
 *
 * A batch is one transferable `ArrayBuffer` holding `count` records back to
 * back in its first `used` bytes. Each record starts on a 4-byte boundary:
 *
 * | offset | size   | field                                            |
 * |--------|--------|--------------------------------------------------|
 * | 0      | u32    | capLen: captured bytes                           |
 * | 4      | u32    | wireLen: length on the wire                      |
 * | 8      | u32    | tsSec: seconds since the Unix epoch (to 2106)    |
 * | 12     | u32    | tsNsec: nanoseconds within the second            |
 * | 16     | capLen | the frame                                        |
 * | …      | 0–3    | padding to the next multiple of 4                |
 *
 * Integers are in host byte order (both threads share the host). All frames
 * of a batch have the batch's `linkType`.
 *
 * @module
 */

import type { Pkthdr } from "../../ffi/layout.ts";
import { bufferAddress, type Libc } from "../../ffi/libc.ts";

/** Bytes of a record's header. */
export const RECORD_HEADER_BYTES = 16;

/** Word index (u32) of each header field, relative to the record's first word. */
export const RecordWord = {
  /** Captured bytes. */
  CAP_LEN: 0,
  /** Length on the wire. */
  WIRE_LEN: 1,
  /** Timestamp seconds. */
  TS_SEC: 2,
  /** Timestamp nanoseconds. */
  TS_NSEC: 3,
} as const;

/** Bytes a record of `capLen` captured bytes occupies, padding included. */
export function recordSize(capLen: number): number {
  return (RECORD_HEADER_BYTES + capLen + 3) & ~3;
}

/** One batch of captured packets, as the main thread receives it. */
export interface PacketBatch {
  /** The whole batch buffer as bytes (records at 4-aligned offsets). */
  readonly bytes: Uint8Array;
  /** The same buffer as u32 words (header fields). */
  readonly words: Uint32Array;
  /** Bytes of `bytes` that hold records. */
  readonly used: number;
  /** Number of records. */
  readonly count: number;
  /** LINKTYPE_* of every frame in the batch. */
  readonly linkType: number;
}

/** Views a received batch buffer as a {@linkcode PacketBatch}. */
export function viewBatch(
  buffer: ArrayBuffer,
  used: number,
  count: number,
  linkType: number,
): PacketBatch {
  return {
    bytes: new Uint8Array(buffer),
    words: new Uint32Array(buffer, 0, buffer.byteLength >> 2),
    used,
    count,
    linkType,
  };
}

/**
 * Appends records to one batch buffer at a time. Copies with libc `memcpy`
 * when given (BigInt addresses; no buffer allocation per packet), else with
 * `Uint8Array.set`.
 */
export class BatchWriter {
  /** The buffer being filled, or null between {@linkcode take} and {@linkcode reset}. */
  buffer: ArrayBuffer | null = null;
  /** Bytes used. */
  used = 0;
  /** Records written. */
  count = 0;
  #bytes = new Uint8Array(0);
  #words = new Uint32Array(0);
  #address = 0;
  // Deno's FFI takes plain numbers for 64-bit integers (typed bigint only).
  #memcpy: ((dst: number, src: number, n: number) => void) | null;

  /** `memcpy`: the C function, or null to copy in JavaScript. */
  constructor(memcpy: Libc["memcpy"] | null) {
    this.#memcpy = memcpy as unknown as ((dst: number, src: number, n: number) => void) | null;
  }

  /** Starts filling `buffer` (its length must be a multiple of 4). */
  reset(buffer: ArrayBuffer): void {
    this.buffer = buffer;
    this.#bytes = new Uint8Array(buffer);
    this.#words = new Uint32Array(buffer);
    this.#address = this.#memcpy === null ? 0 : bufferAddress(buffer);
    this.used = 0;
    this.count = 0;
  }

  /** Largest capLen one record can hold in the current buffer. */
  get capacity(): number {
    return this.#bytes.length - RECORD_HEADER_BYTES;
  }

  /** True when a record of `capLen` bytes fits after the used part. */
  fits(capLen: number): boolean {
    return this.used + RECORD_HEADER_BYTES + capLen <= this.#bytes.length;
  }

  /**
   * Appends one packet: header fields from `hdr` (microsecond timestamp),
   * bytes from `data[0 .. hdr.capLen)` whose memory starts at `dataAddress`.
   * The caller checked {@linkcode fits}; a capLen over the buffer's
   * capacity is truncated to it.
   */
  append(hdr: Pkthdr, data: Uint8Array, dataAddress: number): void {
    const capLen = Math.min(hdr.capLen, this.capacity);
    const off = this.used;
    const w = off >> 2;
    const words = this.#words;
    words[w] = capLen;
    words[w + 1] = hdr.wireLen;
    words[w + 2] = hdr.tsSec;
    words[w + 3] = hdr.tsUsec * 1000;
    if (this.#memcpy !== null) {
      this.#memcpy(this.#address + off + RECORD_HEADER_BYTES, dataAddress, capLen);
    } else {
      this.#bytes.set(data.subarray(0, capLen), off + RECORD_HEADER_BYTES);
    }
    this.used = off + ((RECORD_HEADER_BYTES + capLen + 3) & ~3);
    this.count++;
  }

  /** Hands the filled buffer over (the writer holds none until the next reset). */
  take(): ArrayBuffer {
    const buffer = this.buffer!;
    this.buffer = null;
    this.#bytes = new Uint8Array(0);
    this.#words = new Uint32Array(0);
    return buffer;
  }
}
