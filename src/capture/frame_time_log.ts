/**
 * The packet time of every frame of an input split between analysis
 * workers, shared by all of them (a SharedArrayBuffer): the reader writes,
 * per global frame number, which worker got the frame, whether it reaches a
 * flow ({@linkcode FrameFlag.FLOW}; not: not IP, a fragment that completes
 * nothing, undecodable) or is an IP fragment ({@linkcode FrameFlag.FRAGMENT}),
 * and then its packet time. A worker replays the times of the frames the
 * others got between two of its own, so its timers, flow expiry and IP
 * reassembly timeouts run at exactly the packet times they would run at in
 * one thread.
 *
 * The log keeps the last `size` frames (a power of two). Each worker
 * publishes the last frame whose time it has replayed
 * ({@linkcode FrameTimeLog.setProgress}); the reader must not write a frame
 * `size` or more beyond the slowest worker's progress
 * ({@linkcode FrameTimeLog.room}).
 *
 * @module
 */

/** Workers a log can serve (their progress words; owner numbers take 6 bits). */
const MAX_WORKERS = 64;
const OWNER_MASK = 0x3f;

/** What a frame does to packet time in one thread. */
export const FrameFlag = {
  /** It reaches a flow: the flow table's clock and the detectors' timers move. */
  FLOW: 0x40,
  /** It is an IP fragment: IP reassembly's timeouts move. */
  FRAGMENT: 0x80,
} as const;
/** Int32 words per progress entry: one cache line each. */
const PROGRESS_STRIDE = 16;
const PROGRESS_BYTES = MAX_WORKERS * PROGRESS_STRIDE * 4;

/** Shared per-frame times and owners; see the module doc. */
export class FrameTimeLog {
  /** The shared buffer (sent to the workers). */
  readonly buffer: SharedArrayBuffer;
  /** Frames kept (a power of two). */
  readonly size: number;
  readonly #mask: number;
  readonly #times: Float64Array;
  readonly #owners: Uint8Array;
  readonly #progress: Int32Array;

  /**
   * A new log of `size` frames (rounded up to a power of two), or a view of
   * an existing one's `buffer`.
   */
  constructor(sizeOrBuffer: number | SharedArrayBuffer) {
    let size: number;
    if (typeof sizeOrBuffer === "number") {
      size = 1024;
      while (size < sizeOrBuffer) size *= 2;
      this.buffer = new SharedArrayBuffer(PROGRESS_BYTES + size * 9);
    } else {
      this.buffer = sizeOrBuffer;
      size = (sizeOrBuffer.byteLength - PROGRESS_BYTES) / 9;
    }
    this.size = size;
    this.#mask = size - 1;
    this.#progress = new Int32Array(this.buffer, 0, PROGRESS_BYTES / 4);
    this.#times = new Float64Array(this.buffer, PROGRESS_BYTES, size);
    this.#owners = new Uint8Array(this.buffer, PROGRESS_BYTES + size * 8, size);
  }

  /**
   * Reader: frame `frame` went to worker `owner` (0–63); `flags` are
   * {@linkcode FrameFlag}s, `time` its packet time (read only with a flag).
   */
  set(frame: number, owner: number, flags: number, time: number): void {
    const i = frame & this.#mask;
    this.#times[i] = time;
    this.#owners[i] = owner | flags;
  }

  /** Packet time of `frame` (meaningful with a flag); valid while within the kept window. */
  time(frame: number): number {
    return this.#times[frame & this.#mask];
  }

  /** Worker that got `frame`. */
  owner(frame: number): number {
    return this.#owners[frame & this.#mask] & OWNER_MASK;
  }

  /** {@linkcode FrameFlag}s of `frame`. */
  flags(frame: number): number {
    return this.#owners[frame & this.#mask] & ~OWNER_MASK;
  }

  /** Worker `worker`: every frame up to `frame` has been replayed (its time is no longer read). */
  setProgress(worker: number, frame: number): void {
    Atomics.store(this.#progress, worker * PROGRESS_STRIDE, frame | 0);
  }

  /** The progress worker `worker` published (low 32 bits of a frame number). */
  progress(worker: number): number {
    return Atomics.load(this.#progress, worker * PROGRESS_STRIDE);
  }

  /**
   * Reader: may `frame` be written, given the progress of `workers`
   * workers? (It must stay less than `size` frames ahead of every one.)
   */
  room(frame: number, workers: number): boolean {
    for (let w = 0; w < workers; w++) {
      if ((((frame | 0) - this.progress(w)) | 0) >= this.size) return false;
    }
    return true;
  }
}
