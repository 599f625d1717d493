/**
 * A single-producer single-consumer ring of frame records in a
 * SharedArrayBuffer: the offline reader (main thread) hands each analysis
 * worker its frames through one ring per worker.
 *
 * Layout: a 256-byte control block (each word on its own cache line), then
 * the data area. A record is 8-byte aligned and contiguous (a frame never
 * straddles the end: a WRAP marker sends the reader back to the start), so
 * the consumer reads the frame in place — no copy on its side. Its header:
 *
 * ```text
 * u32 0 record size (bytes, header included, multiple of 8)
 * u32 1 type (PACKET, SYNC, WRAP, END) | padding before the frame << 8
 * u32 2 captured length   u32 3 wire length
 * u32 4 seconds           u32 5 nanoseconds
 * u32 6 link type         u32 7 interface index
 * f64 8 global frame number (PACKET), or the frame number SYNC / END refer to
 * bytes 40 + padding .. the frame
 * ```
 *
 * The padding (0–7 bytes) puts the frame at the same address modulo 8 as
 * its source: V8 copies into a SharedArrayBuffer word by word only when
 * source and destination are equally aligned, else byte by byte (measured:
 * the copy then took 40 % of the reader's time).
 *
 * The producer publishes its write offset after a run of records
 * ({@linkcode PacketRingWriter.publish}), the consumer its read offset when it
 * is done with the records it read ({@linkcode PacketRingReader.release}).
 * Empty is `read == write`; the producer never fills the ring so far that
 * `write` meets `read`. Full ring: the producer waits (back-pressure) until
 * the consumer releases room; empty ring: the consumer waits for a publish.
 * Each side sets a "waiting" word before it sleeps and the other side wakes
 * it only then (Atomics.notify), so a busy pair costs no system call.
 *
 * @module
 */

import type { RawPacket } from "./raw_packet.ts";

/** Record types. */
export const RingRecord = {
  /** A frame. */
  PACKET: 1,
  /** No frame: "every frame up to this number has been handed out". */
  SYNC: 2,
  /** Padding up to the end of the data area: continue at its start. */
  WRAP: 3,
  /** The end of the input; the frame number is the number of frames read. */
  END: 4,
} as const;

// Control words (Int32 indexes), one 64-byte line apart.
const I_WRITE = 0; // producer's published write offset
const I_READ = 16; // consumer's published read offset
const I_PRODUCER_WAITS = 32;
const I_CONSUMER_WAITS = 48;
/** Bytes of the control block. */
const CONTROL_BYTES = 256;
/** Bytes of a record header. */
const HEADER_BYTES = 40;

/** Room a record of a `capLen`-byte frame takes. */
function recordBytes(capLen: number): number {
  return (HEADER_BYTES + 7 + capLen + 7) & ~7;
}

/**
 * Bytes a ring needs so that frames of up to `maxFrame` bytes always fit
 * (at least four such records, and `minBytes`).
 */
export function ringBytes(maxFrame: number, minBytes = 8 << 20): number {
  return CONTROL_BYTES + Math.max(minBytes, recordBytes(maxFrame) * 4);
}

/**
 * Resolves when `ctl[index]` is no longer `seen` (after a notify) or after
 * `timeoutMs`. A timer runs meanwhile: Deno does not count a pending
 * `Atomics.waitAsync` as work, and would otherwise end an event loop that
 * has nothing else to do.
 */
async function waitChange(
  ctl: Int32Array,
  index: number,
  seen: number,
  timeoutMs: number,
): Promise<void> {
  const w = Atomics.waitAsync(ctl, index, seen, timeoutMs);
  if (!w.async) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([w.value, new Promise((r) => timer = setTimeout(r, timeoutMs))]);
  clearTimeout(timer);
}

/** Views of one ring's buffer. */
class RingViews {
  readonly ctl: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly bytes: Uint8Array;
  /** Bytes of the data area. */
  readonly capacity: number;
  /** Byte offset of the data area in the buffer. */
  readonly base = CONTROL_BYTES;

  constructor(sab: SharedArrayBuffer) {
    if (sab.byteLength < CONTROL_BYTES + 1024 || sab.byteLength % 8 !== 0) {
      throw new RangeError(`Invalid packet ring size: ${sab.byteLength}`);
    }
    this.ctl = new Int32Array(sab, 0, CONTROL_BYTES / 4);
    this.capacity = sab.byteLength - CONTROL_BYTES;
    this.u32 = new Uint32Array(sab, CONTROL_BYTES);
    this.f64 = new Float64Array(sab, CONTROL_BYTES);
    this.bytes = new Uint8Array(sab, CONTROL_BYTES);
  }
}

/** The producer's side of a ring (one thread). */
export class PacketRingWriter {
  /** Largest frame a record can hold. */
  readonly maxFrame: number;
  readonly #v: RingViews;
  #write = 0; // next record's offset (not yet published past #published)
  #published = 0;
  #read = 0; // consumer's offset as last seen

  /** Takes the producer's side of `sab` (made by {@linkcode createPacketRing}). */
  constructor(sab: SharedArrayBuffer) {
    this.#v = new RingViews(sab);
    this.maxFrame = ((this.#v.capacity / 4) & ~7) - HEADER_BYTES - 8;
  }

  /** Records written but not yet published. */
  get unpublished(): boolean {
    return this.#write !== this.#published;
  }

  /**
   * Offset where a record of `size` bytes can go now, writing a WRAP marker
   * first when it must start over; −1 when the ring is too full.
   */
  #reserve(size: number): number {
    const cap = this.#v.capacity;
    for (let fresh = 0; fresh < 2; fresh++) {
      const w = this.#write, r = this.#read;
      if (w >= r) {
        // Keep 8 bytes at the end for a WRAP marker.
        if (w + size + 8 <= cap) return w;
        if (size < r) {
          this.#v.u32[w >> 2] = 8;
          this.#v.u32[(w >> 2) + 1] = RingRecord.WRAP;
          this.#write = 0;
          return 0;
        }
      } else if (w + size < r) return w;
      if (fresh === 0) this.#read = Atomics.load(this.#v.ctl, I_READ);
    }
    return -1;
  }

  /**
   * Append `raw` as frame number `frame`; false when the ring is full (wait
   * with {@linkcode waitForRoom}, then try again). Copies the frame bytes.
   * Frames longer than {@linkcode maxFrame} must be cut by the caller.
   */
  tryPacket(raw: RawPacket, frame: number): boolean {
    const len = raw.capLen;
    const size = recordBytes(len);
    const at = this.#reserve(size);
    if (at < 0) return false;
    // Frame address ≡ source address (mod 8): see the module doc.
    const pad = (raw.buf.byteOffset + raw.offset - (this.#v.base + at + HEADER_BYTES)) & 7;
    const u = this.#v.u32, i = at >> 2;
    u[i] = size;
    u[i + 1] = RingRecord.PACKET | (pad << 8);
    u[i + 2] = raw.capLen;
    u[i + 3] = raw.wireLen;
    u[i + 4] = raw.tsSec;
    u[i + 5] = raw.tsNsec;
    u[i + 6] = raw.linkType;
    u[i + 7] = raw.ifIndex;
    this.#v.f64[(at >> 3) + 4] = frame;
    this.#v.bytes.set(raw.buf.subarray(raw.offset, raw.offset + len), at + HEADER_BYTES + pad);
    this.#write = at + size;
    return true;
  }

  /** Append a SYNC (or END) record for `frame`; false when the ring is full. */
  tryMark(type: number, frame: number): boolean {
    const at = this.#reserve(HEADER_BYTES);
    if (at < 0) return false;
    const u = this.#v.u32, i = at >> 2;
    u[i] = HEADER_BYTES;
    u[i + 1] = type;
    u[i + 2] =
      u[i + 3] =
      u[i + 4] =
      u[i + 5] =
      u[i + 6] =
      u[i + 7] =
        0;
    this.#v.f64[(at >> 3) + 4] = frame;
    this.#write = at + HEADER_BYTES;
    return true;
  }

  /** Make the records written so far visible to the consumer (and wake it). */
  publish(): void {
    if (this.#write === this.#published) return;
    this.#published = this.#write;
    const ctl = this.#v.ctl;
    Atomics.store(ctl, I_WRITE, this.#write);
    if (Atomics.load(ctl, I_CONSUMER_WAITS) !== 0) {
      Atomics.store(ctl, I_CONSUMER_WAITS, 0);
      Atomics.notify(ctl, I_WRITE);
    }
  }

  /**
   * Publishes, then resolves once the consumer has released room (or after
   * `timeoutMs`, whichever first: the caller simply tries again).
   */
  async waitForRoom(timeoutMs = 50): Promise<void> {
    this.publish();
    const ctl = this.#v.ctl;
    const seen = this.#read;
    Atomics.store(ctl, I_PRODUCER_WAITS, 1);
    if (Atomics.load(ctl, I_READ) !== seen) {
      Atomics.store(ctl, I_PRODUCER_WAITS, 0);
      return;
    }
    await waitChange(ctl, I_READ, seen, timeoutMs);
    Atomics.store(ctl, I_PRODUCER_WAITS, 0);
  }
}

/** The consumer's side of a ring (one thread), reading records in place. */
export class PacketRingReader {
  readonly #v: RingViews;
  #read = 0; // next record to read
  #released = 0;
  #write = 0; // producer's offset as last seen
  /** Type of the last record {@linkcode next} returned. */
  type = 0;
  /** Frame number of that record. */
  frame = 0;

  /** Takes the consumer's side of `sab`. */
  constructor(sab: SharedArrayBuffer) {
    this.#v = new RingViews(sab);
  }

  /**
   * Read the next record: a PACKET fills `raw` (its bytes stay valid until
   * {@linkcode release}), SYNC and END only set {@linkcode type} and
   * {@linkcode frame}. Returns false when nothing more is published.
   */
  next(raw: RawPacket): boolean {
    let r = this.#read;
    if (r === this.#write) {
      this.#write = Atomics.load(this.#v.ctl, I_WRITE);
      if (r === this.#write) return false;
    }
    const u = this.#v.u32;
    if (u[(r >> 2) + 1] === RingRecord.WRAP) {
      r = 0;
      if (r === this.#write) {
        this.#read = 0;
        return false;
      }
    }
    const i = r >> 2;
    const word = u[i + 1];
    const type = word & 0xff;
    this.type = type;
    this.frame = this.#v.f64[(r >> 3) + 4];
    if (type === RingRecord.PACKET) {
      raw.buf = this.#v.bytes;
      raw.offset = r + HEADER_BYTES + (word >>> 8);
      raw.capLen = u[i + 2];
      raw.wireLen = u[i + 3];
      raw.tsSec = u[i + 4];
      raw.tsNsec = u[i + 5];
      raw.linkType = u[i + 6];
      raw.ifIndex = u[i + 7];
      raw.frame = this.frame;
    }
    this.#read = r + u[i];
    return true;
  }

  /** True when a record is published and not read yet. */
  available(): boolean {
    if (this.#read !== this.#write) return true;
    this.#write = Atomics.load(this.#v.ctl, I_WRITE);
    return this.#read !== this.#write;
  }

  /** Bytes read since the last {@linkcode release}. */
  get held(): number {
    const d = this.#read - this.#released;
    return d >= 0 ? d : d + this.#v.capacity;
  }

  /** Give the records read so far back to the producer (their bytes become invalid). */
  release(): void {
    if (this.#read === this.#released) return;
    this.#released = this.#read;
    const ctl = this.#v.ctl;
    Atomics.store(ctl, I_READ, this.#read);
    if (Atomics.load(ctl, I_PRODUCER_WAITS) !== 0) {
      Atomics.store(ctl, I_PRODUCER_WAITS, 0);
      Atomics.notify(ctl, I_READ);
    }
  }

  /**
   * Releases, then resolves once the producer has published more (or after
   * `timeoutMs`). Does not block the thread: its messages are handled meanwhile.
   */
  async waitForData(timeoutMs = 100): Promise<void> {
    this.release();
    const ctl = this.#v.ctl;
    const seen = this.#write;
    Atomics.store(ctl, I_CONSUMER_WAITS, 1);
    if (Atomics.load(ctl, I_WRITE) !== seen) {
      Atomics.store(ctl, I_CONSUMER_WAITS, 0);
      return;
    }
    await waitChange(ctl, I_WRITE, seen, timeoutMs);
    Atomics.store(ctl, I_CONSUMER_WAITS, 0);
  }
}

/** A new, empty ring of `bytes` bytes (see {@linkcode ringBytes}). */
export function createPacketRing(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer((bytes + 7) & ~7);
}
