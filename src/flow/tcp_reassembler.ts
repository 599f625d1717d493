/**
 * The stream engine of one inspected TCP connection: both directions'
 * bytes delivered in sequence order, and the two directions interleaved in
 * the order the endpoints saw them — whatever order and timing the capture
 * shows. Policies (README "Stream reassembly"):
 *
 * - **Start.** A direction starts at its SYN's sequence number + 1 when the
 *   flow table saw the SYN (`start`), else at the first segment seen
 *   (mid-stream pick-up).
 * - **Order.** A segment ahead of the next expected byte is held (copied)
 *   until the hole is filled, within {@linkcode HOLD_MAX_BYTES} and
 *   {@linkcode HOLD_MAX_SEGMENTS} per connection; beyond that, or at the
 *   end, the hole is given up and reported as a gap.
 * - **Overlaps and duplicates: first data wins.** Bytes already delivered or
 *   held are kept; a later segment contributes only the bytes nobody sent
 *   before. Where a later segment overlaps held bytes with different content,
 *   `tcp_overlap_conflict` is counted (bytes already delivered are not kept,
 *   so overlaps with them are counted as `tcp_overlap` only).
 * - **Between directions: acknowledgements.** A segment whose ACK covers
 *   bytes of the other direction not yet delivered waits until they are (the
 *   endpoint that sent it had received them): a mirror port that stamps one
 *   direction earlier than the other, or reorders them, gives the same
 *   delivery order. The wait is bounded by {@linkcode ORDER_WAIT} seconds of
 *   packet time (the acknowledged bytes may never reach the sensor).
 * - Bytes the capture cut off (snaplen) are in order but unseen: `cut`.
 *
 * Only connections under inspection carry one (the flow table's sequence
 * tracking costs the bulk of the traffic nothing); in-order segments are
 * handed through without a copy.
 *
 * @module
 */

import { type DecodedPacket, TcpFlag } from "../decode/packet.ts";
import type { Weirds } from "../decode/weirds.ts";

/** Receives one connection's reassembled streams. */
export interface StreamConsumer {
  /** In-order captured bytes of direction `dir` (0 client→server); valid during the call only. */
  data(dir: number, buf: Uint8Array, off: number, len: number, ts: number): void;
  /** `len` in-order bytes of direction `dir` were on the wire but cut off by the snaplen. */
  cut(dir: number, len: number, ts: number): void;
  /** `len` bytes of direction `dir` are missing (lost before the sensor, or given up). */
  gap(dir: number, len: number, ts: number): void;
}

/** Bytes held out of order per connection. */
export const HOLD_MAX_BYTES = 256 * 1024;
/** Segments held out of order per connection (tiny-segment evasion fits inside). */
export const HOLD_MAX_SEGMENTS = 2048;
/** Seconds of packet time a segment waits for the other direction's bytes it acknowledges. */
export const ORDER_WAIT = 0.25;
/** Acknowledgements further ahead than this are not taken as ordering information. */
const ACK_HORIZON = 1 << 24;

interface Held {
  seq: number;
  bytes: Uint8Array;
  /** Bytes after `bytes` that the snaplen cut off (in sequence, never seen). */
  cut: number;
  /** Other direction's sequence this segment acknowledges (valid when `waits`). */
  ack: number;
  waits: boolean;
  ts: number;
}

/** Reassembles both directions of one TCP connection (see the module doc for the policies). */
export class TcpReassembler {
  #next0 = 0;
  #next1 = 0;
  #started = 0; // bit per direction
  #held0: Held[] | undefined;
  #held1: Held[] | undefined;
  #heldBytes = 0;
  #heldSegs = 0;
  #fin = 0; // bit per direction: FIN seen at #finSeq
  #finSeq0 = 0;
  #finSeq1 = 0;
  #out: StreamConsumer;
  readonly #weirds: Weirds;

  /**
   * Creates the engine for one connection; `start0`/`start1` are the first
   * sequence numbers of each direction when the handshake showed them (−1
   * when not: picked up mid-stream).
   */
  constructor(out: StreamConsumer, weirds: Weirds, start0 = -1, start1 = -1) {
    this.#out = out;
    this.#weirds = weirds;
    if (start0 >= 0) this.#start(0, start0);
    if (start1 >= 0) this.#start(1, start1);
  }

  /** One field of the engine (for prefetching its cache line). */
  touch(): number {
    return this.#started;
  }

  /** Bytes currently held out of order or waiting. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** True when direction `dir` has a known position. */
  started(dir: number): boolean {
    return (this.#started & (1 << dir)) !== 0;
  }

  /** Next expected sequence number of direction `dir`. */
  next(dir: number): number {
    return dir === 0 ? this.#next0 : this.#next1;
  }

  #start(dir: number, seq: number): void {
    this.#started |= 1 << dir;
    this.#setNext(dir, seq >>> 0);
  }

  #setNext(dir: number, seq: number): void {
    if (dir === 0) this.#next0 = seq;
    else this.#next1 = seq;
  }

  #heldOf(dir: number): Held[] | undefined {
    return dir === 0 ? this.#held0 : this.#held1;
  }

  /** {@linkcode segment} with the fields of a decoded TCP packet of direction `dir`. */
  packet(dir: number, p: DecodedPacket): void {
    this.segment(
      dir,
      p.tcpFlags,
      p.seq,
      p.ack,
      p.buf,
      p.payloadOffset,
      p.payloadLen,
      p.payloadCapLen,
      p.ts,
    );
  }

  /**
   * Offer one segment of direction `dir`. `capLen` may be less than `len`
   * (snaplen): the uncaptured tail is reported through `cut`.
   */
  segment(
    dir: number,
    flags: number,
    seq: number,
    ack: number,
    buf: Uint8Array,
    off: number,
    len: number,
    capLen: number,
    ts: number,
  ): void {
    if (flags & TcpFlag.SYN) {
      if (!this.started(dir)) this.#start(dir, seq + 1);
      seq = (seq + 1) >>> 0; // data on a SYN (TCP Fast Open) follows it
    }
    if (flags & TcpFlag.FIN) {
      // The FIN takes one sequence number: an acknowledgement of it is not
      // an acknowledgement of missing bytes.
      this.#fin |= 1 << dir;
      if (dir === 0) this.#finSeq0 = (seq + len) >>> 0;
      else this.#finSeq1 = (seq + len) >>> 0;
      if (len === 0 && this.#heldSegs > 0) this.#drain(1 - dir, ts); // acks of it may wait
    }
    if (this.#heldSegs > 0) this.#expireWaits(ts);
    if (len === 0) return;
    if (!this.started(dir)) this.#start(dir, seq);
    const other = 1 - dir;
    const waits = (flags & TcpFlag.ACK) !== 0 && this.started(other) &&
      this.#ahead(ack, this.#acked(other));
    const rel = (seq - this.next(dir)) | 0;
    const h = this.#heldOf(dir);
    if (rel > 0 || waits || (h !== undefined && h.length > 0)) {
      this.#hold(dir, seq, ack, waits, buf, off, len, capLen, ts);
      this.#drain(dir, ts);
      return;
    }
    if (rel + len <= 0) {
      this.#weirds.add("tcp_overlap");
      return; // wholly delivered already: first data wins
    }
    if (rel < 0) {
      this.#weirds.add("tcp_overlap");
      off -= rel;
      len += rel;
      capLen += rel;
    }
    this.#deliver(dir, buf, off, len, capLen, ts);
    this.#drain(other, ts);
  }

  /** Highest sequence number of direction `dir` an acknowledgement may cover now. */
  #acked(dir: number): number {
    const next = this.next(dir);
    if ((this.#fin & (1 << dir)) === 0) return next;
    return (dir === 0 ? this.#finSeq0 : this.#finSeq1) === next ? (next + 1) >>> 0 : next;
  }

  /** True when `ack` acknowledges bytes beyond `next` (within a sane horizon). */
  #ahead(ack: number, next: number): boolean {
    const d = (ack - next) | 0;
    return d > 0 && d < ACK_HORIZON;
  }

  /** Deliver everything held, giving up holes and waits (end of flow, or a decision is due). */
  flush(ts: number): void {
    for (let round = 0; round < 2 && this.#heldSegs > 0; round++) {
      for (let dir = 0; dir < 2; dir++) {
        const h = this.#heldOf(dir);
        if (h === undefined) continue;
        for (const e of h) e.waits = false;
        while (h.length > 0) {
          const missing = (h[0].seq - this.next(dir)) | 0;
          if (missing > 0) this.#skip(dir, missing, ts);
          this.#drain(dir, ts);
        }
      }
    }
  }

  #deliver(dir: number, buf: Uint8Array, off: number, len: number, capLen: number, ts: number) {
    const have = capLen < 0 ? 0 : capLen > len ? len : capLen;
    this.#setNext(dir, (this.next(dir) + len) >>> 0);
    if (have > 0) this.#out.data(dir, buf, off, have, ts);
    if (have < len) this.#out.cut(dir, len - have, ts);
  }

  #skip(dir: number, missing: number, ts: number): void {
    this.#weirds.add("tcp_stream_hole");
    this.#setNext(dir, (this.next(dir) + missing) >>> 0);
    this.#out.gap(dir, missing, ts);
  }

  #hold(
    dir: number,
    seq: number,
    ack: number,
    waits: boolean,
    buf: Uint8Array,
    off: number,
    len: number,
    capLen: number,
    ts: number,
  ): void {
    let h = this.#heldOf(dir);
    if (h === undefined) {
      h = [];
      if (dir === 0) this.#held0 = h;
      else this.#held1 = h;
    }
    if (capLen < len) {
      // A snaplen-cut segment is held whole (its captured bytes and the
      // length cut off) when it overlaps nothing; else the holes before it
      // are given up.
      const rel0 = (seq - this.next(dir)) | 0;
      let i = 0;
      while (i < h.length && ((h[i].seq - seq) | 0) < 0) i++;
      const prev = i > 0 ? h[i - 1] : undefined, next = i < h.length ? h[i] : undefined;
      const clear = rel0 >= 0 &&
        (prev === undefined || ((prev.seq + prev.bytes.length + prev.cut - seq) | 0) <= 0) &&
        (next === undefined || ((seq + len - next.seq) | 0) <= 0);
      const keep = capLen < 0 ? 0 : capLen;
      if (
        clear && this.#heldSegs < HOLD_MAX_SEGMENTS && this.#heldBytes + keep <= HOLD_MAX_BYTES
      ) {
        h.splice(i, 0, {
          seq: seq >>> 0,
          bytes: buf.slice(off, off + keep),
          cut: len - keep,
          ack,
          waits,
          ts,
        });
        this.#heldSegs++;
        this.#heldBytes += keep;
        return;
      }
      this.#weirds.add("tcp_hold_cut_segment");
      this.#giveUpTo(dir, seq, ts);
      // Held data after it keeps its bytes (first data wins): stop there.
      if (h.length > 0) {
        const upTo = (h[0].seq - seq) | 0;
        if (upTo < len) {
          len = upTo;
          if (capLen > len) capLen = len;
        }
      }
      const rel = (seq - this.next(dir)) | 0;
      if (rel + len > 0) {
        const skip = rel < 0 ? -rel : 0;
        this.#deliver(dir, buf, off + skip, len - skip, capLen - skip, ts);
      }
      this.#drain(dir, ts);
      return;
    }
    // Only the bytes nobody sent before are kept (first data wins): cut the
    // segment around what is delivered or already held.
    let s = seq >>> 0, o = off, n = len;
    const delivered = (this.next(dir) - s) | 0;
    if (delivered > 0) {
      this.#weirds.add("tcp_overlap");
      if (delivered >= n) return;
      s = (s + delivered) >>> 0;
      o += delivered;
      n -= delivered;
    }
    let i = 0;
    while (i < h.length && ((h[i].seq + h[i].bytes.length + h[i].cut - s) | 0) <= 0) i++;
    while (n > 0) {
      const e = i < h.length ? h[i] : undefined;
      const before = e === undefined ? n : Math.min(n, (e.seq - s) | 0);
      if (before > 0) {
        if (
          this.#heldSegs >= HOLD_MAX_SEGMENTS || this.#heldBytes + before > HOLD_MAX_BYTES
        ) {
          // No room: give up the holes before this data and go on from it.
          this.#weirds.add("tcp_hold_overflow");
          this.#giveUpTo(dir, s, ts);
          i = 0;
          while (i < h.length && ((h[i].seq - s) | 0) < 0) i++;
          if (this.#heldSegs >= HOLD_MAX_SEGMENTS || this.#heldBytes + before > HOLD_MAX_BYTES) {
            return; // still no room (held data ahead of it): drop, the sender retransmits
          }
        }
        h.splice(i, 0, { seq: s, bytes: buf.slice(o, o + before), cut: 0, ack, waits, ts });
        this.#heldSegs++;
        this.#heldBytes += before;
        i++;
        s = (s + before) >>> 0;
        o += before;
        n -= before;
        continue;
      }
      if (e === undefined) break;
      // Overlaps held bytes: keep them, note whether the new ones differ
      // (bytes the snaplen cut from the held segment cannot be compared).
      const at = (s - e.seq) | 0;
      const both = Math.min(n, e.bytes.length + e.cut - at);
      this.#weirds.add("tcp_overlap");
      for (let k = 0; k < both && at + k < e.bytes.length; k++) {
        if (e.bytes[at + k] !== buf[o + k]) {
          this.#weirds.add("tcp_overlap_conflict");
          break;
        }
      }
      s = (s + both) >>> 0;
      o += both;
      n -= both;
      i++;
    }
  }

  /** Give up the holes of direction `dir` before `seq`: deliver what is held before it, gaps between. */
  #giveUpTo(dir: number, seq: number, ts: number): void {
    const h = this.#heldOf(dir)!;
    for (const e of h) e.waits = false;
    while (h.length > 0 && ((h[0].seq - seq) | 0) < 0) {
      const missing = (h[0].seq - this.next(dir)) | 0;
      if (missing > 0) this.#skip(dir, missing, ts);
      this.#drain(dir, ts);
    }
    const missing = (seq - this.next(dir)) | 0;
    if (missing > 0) this.#skip(dir, missing, ts);
  }

  /** Deliver the held segments of `dir` that are next and free to go; then the other side's. */
  #drain(dir: number, ts: number): void {
    // Alternate between the directions while either makes progress: a
    // delivery on one side may free the other side's waiting segments.
    let d = dir, idle = 0;
    while (idle < 2) {
      const h = this.#heldOf(d);
      let moved = false;
      while (h !== undefined && h.length > 0) {
        const e = h[0];
        const rel = (e.seq - this.next(d)) | 0;
        if (rel > 0) break;
        if (e.waits) {
          if (this.#ahead(e.ack, this.#acked(1 - d))) break;
          e.waits = false;
        }
        h.shift();
        this.#heldSegs--;
        this.#heldBytes -= e.bytes.length;
        const n = e.bytes.length + e.cut + rel; // in sequence, from the next byte
        if (n > 0) this.#deliver(d, e.bytes, -rel, n, e.bytes.length + rel, ts);
        moved = true;
      }
      idle = moved ? 0 : idle + 1;
      d = 1 - d;
    }
  }

  /** Waits older than {@linkcode ORDER_WAIT} end: their acknowledged bytes are not coming. */
  #expireWaits(ts: number): void {
    for (let dir = 0; dir < 2; dir++) {
      const h = this.#heldOf(dir);
      if (h === undefined || h.length === 0) continue;
      let expired = false;
      for (let i = 0; i < h.length; i++) {
        const e = h[i];
        if (e.waits && ts - e.ts > ORDER_WAIT) {
          this.#weirds.add("tcp_ack_wait_expired");
          e.waits = false;
          expired = true;
        }
      }
      if (expired) this.#drain(dir, ts);
    }
  }

  /** Let packet time pass (a timer): expired waits go. */
  advance(ts: number): void {
    if (this.#heldSegs > 0) this.#expireWaits(ts);
  }
}
