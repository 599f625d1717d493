/**
 * In-order delivery of one TCP flow's two byte streams, for the flows a
 * classifier inspects. In-order segments are handed straight through (no
 * copy); a segment arriving ahead of a hole is copied into a small per-flow
 * holding area (allocated on first need, bounded) and released when the hole
 * is filled, so one lost-and-retransmitted segment does not desynchronise
 * the parsers. A hole that is never filled, or more out-of-order data than
 * the holding area takes, becomes a gap the consumer is told about.
 *
 * @module
 */

import { TcpFlag } from "../decode/packet.ts";

/** Receives reassembled stream data. */
export interface StreamConsumer {
  /** In-order bytes of direction `dir` (0 client→server), valid during the call only. */
  data(dir: number, buf: Uint8Array, off: number, len: number, ts: number): void;
  /** `len` bytes of direction `dir` are missing (loss, or not captured). */
  gap(dir: number, len: number, ts: number): void;
}

const HOLD_MAX_BYTES = 256 * 1024;
const HOLD_MAX_SEGMENTS = 64;

interface Held {
  seq: number;
  bytes: Uint8Array;
}

/** Reassembles both directions of one TCP connection. */
export class TcpStream {
  // Next expected sequence number per direction, and a bit per direction
  // once it is known: plain fields, not arrays (one object per stream is one
  // cache miss per packet of a cold connection; each array would add two).
  #next0 = 0;
  #next1 = 0;
  #started = 0;
  #held: [Held[], Held[]] | undefined;
  #heldBytes = 0;

  /** One field of the stream (for prefetching: the object's cache line). */
  touch(): number {
    return this.#started;
  }

  #nextOf(dir: number): number {
    return dir === 0 ? this.#next0 : this.#next1;
  }

  #setNext(dir: number, seq: number): void {
    if (dir === 0) this.#next0 = seq;
    else this.#next1 = seq;
  }

  /**
   * Offer one segment of direction `dir`. `capLen` may be less than `len`
   * (snaplen): the uncaptured tail is reported as a gap.
   */
  segment(
    dir: number,
    flags: number,
    seq: number,
    buf: Uint8Array,
    off: number,
    len: number,
    capLen: number,
    ts: number,
    out: StreamConsumer,
  ): void {
    if (flags & TcpFlag.SYN) {
      this.#setNext(dir, (seq + 1) >>> 0);
      this.#started |= 1 << dir;
      return;
    }
    if (len === 0) return;
    if ((this.#started & (1 << dir)) === 0) {
      this.#started |= 1 << dir;
      this.#setNext(dir, seq);
    }
    const rel = (seq - this.#nextOf(dir)) | 0;
    if (rel > 0) {
      this.#hold(dir, seq, buf, off, len, capLen, ts, out);
      return;
    }
    if (rel + len <= 0) return; // wholly old: retransmission
    // Overlap with already delivered bytes: skip them.
    off -= rel;
    len += rel;
    capLen += rel;
    this.#deliver(dir, buf, off, len, capLen, ts, out);
    if (this.#held !== undefined && this.#held[dir].length > 0) this.#drain(dir, ts, out);
  }

  /** Give up waiting for holes (end of flow): deliver held data after gaps. */
  flush(ts: number, out: StreamConsumer): void {
    if (this.#held === undefined) return;
    for (let dir = 0; dir < 2; dir++) {
      const h = this.#held[dir];
      while (h.length > 0) {
        const first = h[0];
        const missing = (first.seq - this.#nextOf(dir)) | 0;
        if (missing > 0) {
          out.gap(dir, missing, ts);
          this.#setNext(dir, first.seq);
        }
        this.#drain(dir, ts, out);
      }
    }
  }

  #deliver(
    dir: number,
    buf: Uint8Array,
    off: number,
    len: number,
    capLen: number,
    ts: number,
    out: StreamConsumer,
  ): void {
    const have = capLen < 0 ? 0 : capLen > len ? len : capLen;
    if (have > 0) out.data(dir, buf, off, have, ts);
    if (have < len) {
      out.gap(dir, len - have, ts);
    }
    this.#setNext(dir, (this.#nextOf(dir) + len) >>> 0);
  }

  #hold(
    dir: number,
    seq: number,
    buf: Uint8Array,
    off: number,
    len: number,
    capLen: number,
    ts: number,
    out: StreamConsumer,
  ): void {
    this.#held ??= [[], []];
    const h = this.#held[dir];
    const keep = Math.min(len, Math.max(capLen, 0));
    if (
      h.length >= HOLD_MAX_SEGMENTS || this.#heldBytes + keep > HOLD_MAX_BYTES || keep < len
    ) {
      // Cannot hold: give up on the hole and continue from this segment.
      const missing = (seq - this.#nextOf(dir)) | 0;
      out.gap(dir, missing, ts);
      this.#setNext(dir, seq);
      this.#deliver(dir, buf, off, len, capLen, ts, out);
      this.#drain(dir, ts, out);
      return;
    }
    let i = h.length;
    while (i > 0 && ((h[i - 1].seq - seq) | 0) > 0) i--;
    h.splice(i, 0, { seq, bytes: buf.slice(off, off + keep) });
    this.#heldBytes += keep;
  }

  #drain(dir: number, ts: number, out: StreamConsumer): void {
    const h = this.#held![dir];
    while (h.length > 0) {
      const first = h[0];
      const rel = (first.seq - this.#nextOf(dir)) | 0;
      if (rel > 0) return;
      h.shift();
      this.#heldBytes -= first.bytes.length;
      const len = first.bytes.length + rel;
      if (len > 0) {
        this.#deliver(dir, first.bytes, -rel, len, len, ts, out);
      }
    }
  }
}
