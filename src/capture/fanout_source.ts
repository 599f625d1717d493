/**
 * Live capture inside an analysis worker: a {@linkcode PacketSource} that
 * reads libpcap on the worker's own thread, optionally as one member of a
 * kernel fanout group (`--workers N`: N sockets on one interface, each
 * packet to one of them, chosen by the program of `fanout_bpf.ts`).
 *
 * Capture and analysis alternate on one thread: `refill` copies packets out
 * of libpcap's ring into one batch buffer (libc `memcpy`, the batch format
 * of `live_batch.ts`), the pipeline analyses the batch, and so on; while it
 * analyses, the kernel's buffer (`--buffer-size`, per socket) holds what
 * arrives. A batch ends when it is full, when its packets span `flushMs` of
 * capture time, or when a read waited `timeoutMs` for a packet; an empty
 * batch (idle link) still returns, so the worker keeps posting its counters
 * and the detectors' timers keep running ({@linkcode PcapPacketSource.onIdle}).
 *
 * Joining the group: the members of one interface meet in a
 * {@linkcode fanoutRendezvous} (a SharedArrayBuffer). Member 0 creates the
 * group with an id the kernel picks (no clash with another program's group
 * in the network namespace), publishes it, the others join it; each waits
 * until all have joined. A socket receives every packet of the interface
 * from its activation until it joins, and while the group grows its
 * members' shares change; so each member then takes the wall-clock time and
 * skips packets stamped before it: the run starts there, every later packet
 * reaches exactly one member, every packet of one address pair the same
 * member.
 *
 * @module
 */

import { CaptureDeviceError } from "../../ffi/errors.ts";
import { libc } from "../../ffi/libc.ts";
import {
  CAPTURE_FAULT_EXIT,
  PcapHandle,
  type PcapOpenOptions,
  type PcapStats,
} from "../../ffi/pcap_handle.ts";
import { BatchSource } from "./batch_source.ts";
import { fanoutProgram } from "./fanout_bpf.ts";
import { BatchWriter, recordSize } from "./live_batch.ts";
import type { PacketSource, RawPacket } from "./raw_packet.ts";

/** Words of a rendezvous block. */
const Rv = {
  /** Group id + 1 once member 0 created the group (0: not yet). */
  GROUP: 0,
  /** Members joined so far. */
  JOINED: 1,
  /** Non-zero: a member failed to open or join; the others give up. */
  FAILED: 2,
  /** Words in the block. */
  SIZE: 3,
} as const;

/** How long members wait for each other when joining (ms). */
const JOIN_TIMEOUT_MS = 15_000;

/**
 * The end of the message of a member that gave up because another member of
 * its group failed to start (whose own message says why).
 */
export const PEER_FAILED = "another worker of the interface failed to start";

/** A new rendezvous block for the members of one interface's fanout group. */
export function fanoutRendezvous(): SharedArrayBuffer {
  return new SharedArrayBuffer(Rv.SIZE * 4);
}

/** Membership of a fanout group. */
interface FanoutMembership {
  /** Group id 0–65,535, or -1: a new group whose id the kernel picks (member 0 creates it). */
  group: number;
  /** This member's number, 0 .. count − 1. */
  member: number;
  /** Members of the group. */
  count: number;
  /** The interface's {@linkcode fanoutRendezvous} block. */
  rendezvous: SharedArrayBuffer;
}

/** How to open a {@linkcode PcapPacketSource}. */
interface PcapSourceOptions extends PcapOpenOptions {
  /** Join this fanout group (absent: a plain capture of the whole interface). */
  fanout?: FanoutMembership;
  /** Bytes of the batch buffer; default 1 MiB (raised to fit one full-size packet). */
  batchBytes?: number;
  /** End a batch once its packets span this many milliseconds; default 50. */
  flushMs?: number;
  /**
   * Number the packets `n × frameStride + frameOffset + 1` (n = 0, 1, …):
   * the workers of a run, each with its own offset below the stride, give
   * their flows ids unique in the run (a flow's id is its first packet's
   * number). Default 1 and 0: 1, 2, 3, … as one thread counts.
   */
  frameStride?: number;
  /** See {@linkcode frameStride}; 0 .. frameStride − 1. */
  frameOffset?: number;
}

/** Waits until `ok()` or a failed member or the timeout; throws on the latter two. */
function waitUntil(rv: Int32Array, word: number, ok: () => boolean, what: string): void {
  const end = performance.now() + JOIN_TIMEOUT_MS;
  while (!ok()) {
    if (Atomics.load(rv, Rv.FAILED) !== 0) {
      throw new CaptureDeviceError(`${what}: ${PEER_FAILED}`);
    }
    const left = end - performance.now();
    if (left <= 0) throw new CaptureDeviceError(`${what}: timed out waiting for the other workers`);
    Atomics.wait(rv, word, Atomics.load(rv, word), Math.min(left, 100));
  }
}

/** Joins `handle` to its group (see the module doc); returns the group id. */
function join(handle: PcapHandle, m: FanoutMembership, label: string): number {
  const rv = new Int32Array(m.rendezvous);
  const program = fanoutProgram();
  const what = `Cannot share capture on "${label}" between workers`;
  let group = m.group;
  if (group < 0 && m.member === 0) {
    group = handle.joinFanout("new", program);
    Atomics.store(rv, Rv.GROUP, group + 1);
    Atomics.notify(rv, Rv.GROUP);
  } else {
    if (group < 0) {
      waitUntil(rv, Rv.GROUP, () => Atomics.load(rv, Rv.GROUP) !== 0, what);
      group = Atomics.load(rv, Rv.GROUP) - 1;
    }
    handle.joinFanout(group, program);
  }
  Atomics.add(rv, Rv.JOINED, 1);
  Atomics.notify(rv, Rv.JOINED);
  waitUntil(rv, Rv.JOINED, () => Atomics.load(rv, Rv.JOINED) >= m.count, what);
  return group;
}

/**
 * A live capture as a pull-style {@linkcode PacketSource} on the calling
 * thread (a Worker: `refill` blocks for up to the read timeout).
 */
export class PcapPacketSource implements PacketSource {
  /** LINKTYPE_* of the frames. */
  readonly linkType: number;
  /** Snapshot length in effect. */
  readonly snaplen: number;
  /** libpcap's activation warning, if any. */
  readonly warning: string | undefined;
  /** The fanout group id, or -1 without fanout. */
  readonly group: number;
  /**
   * Called when a read waited the whole timeout and nothing came, with the
   * wall-clock seconds since the last packet (to let packet time pass).
   */
  onIdle: ((idleSeconds: number) => void) | undefined;

  readonly #handle: PcapHandle;
  readonly #stopped: () => boolean;
  readonly #writer: BatchWriter;
  readonly #buffer: ArrayBuffer;
  readonly #reader = new BatchSource();
  readonly #flushUs: number;
  readonly #startUs: number;
  #pending = false; // the handle's current packet did not fit the last batch
  #ended = false;
  #error: CaptureDeviceError | undefined;
  #lastPacket = performance.now();
  #skipped = 0;
  #frame: number; // number of the last packet handed out
  readonly #frameStride: number;
  #stats: PcapStats = { received: 0, dropped: 0, ifDropped: 0 };

  private constructor(
    handle: PcapHandle,
    group: number,
    startUs: number,
    opts: PcapSourceOptions,
    stopped: () => boolean,
  ) {
    this.#handle = handle;
    this.linkType = handle.linkType;
    this.snaplen = handle.snaplen;
    this.warning = handle.warning;
    this.group = group;
    this.#startUs = startUs;
    this.#stopped = stopped;
    this.#flushUs = (opts.flushMs ?? 50) * 1000;
    this.#frameStride = opts.frameStride ?? 1;
    this.#frame = (opts.frameOffset ?? 0) + 1 - this.#frameStride;
    const memcpy = libc()?.memcpy ?? null;
    this.#writer = new BatchWriter(memcpy);
    handle.mapViews = memcpy === null;
    const bytes = Math.max(opts.batchBytes ?? 1 << 20, recordSize(handle.snaplen));
    this.#buffer = new ArrayBuffer((bytes + 3) & ~3);
  }

  /**
   * Opens the device and, with `opts.fanout`, joins its group (waiting for
   * the other members). `stopped` is polled between reads. Throws
   * {@linkcode CaptureDeviceError} (one line) when the device cannot be
   * opened or shared; a failure also releases the other members waiting.
   */
  static open(opts: PcapSourceOptions, stopped: () => boolean): PcapPacketSource {
    const { fanout, batchBytes: _b, flushMs: _f, frameStride: _s, frameOffset: _o, ...pcap } = opts;
    let handle: PcapHandle | undefined;
    try {
      handle = PcapHandle.open(pcap);
      const group = fanout === undefined ? -1 : join(handle, fanout, opts.label ?? opts.device);
      // Packets stamped before every member joined may have gone to several members.
      const startUs = fanout === undefined ? 0 : (Date.now() + 1) * 1000;
      return new PcapPacketSource(handle, group, startUs, opts, stopped);
    } catch (err) {
      handle?.close();
      if (fanout !== undefined) {
        const rv = new Int32Array(fanout.rendezvous);
        Atomics.store(rv, Rv.FAILED, 1);
        for (let w = 0; w < Rv.SIZE; w++) Atomics.notify(rv, w);
      }
      throw err;
    }
  }

  /** Fills `pkt` with the next packet of the current batch (and its number, `pkt.frame`). */
  next(pkt: RawPacket): boolean {
    if (!this.#reader.next(pkt)) return false;
    pkt.frame = this.#frame += this.#frameStride;
    return true;
  }

  /**
   * Reads the next batch (at most about one read timeout or `flushMs`);
   * resolves true (the batch may be empty on an idle link) until the capture
   * is stopped, false then. A read error ends the capture: the packets read
   * before it are delivered, then `refill` rejects with the
   * {@linkcode CaptureDeviceError} (exit code 3).
   */
  async refill(): Promise<boolean> {
    if (this.#ended) {
      const error = this.#error;
      this.#error = undefined;
      if (error !== undefined) throw error;
      return false;
    }
    const h = this.#handle, w = this.#writer, header = h.header;
    w.reset(this.#buffer);
    let firstUs = -1;
    if (this.#pending) {
      this.#pending = false;
      w.append(header, h.data, h.dataAddress);
      firstUs = header.tsSec * 1e6 + header.tsUsec;
    }
    for (;;) {
      if (this.#stopped()) {
        this.#ended = true;
        break;
      }
      let rc: number;
      try {
        rc = h.next();
      } catch (err) {
        this.#ended = true;
        this.#error = err instanceof CaptureDeviceError ? err : new CaptureDeviceError(
          `capture failed: ${err instanceof Error ? err.message : String(err)}`,
          CAPTURE_FAULT_EXIT,
        );
        break;
      }
      if (rc === 1) {
        const us = header.tsSec * 1e6 + header.tsUsec;
        if (us < this.#startUs) {
          this.#skipped++;
          continue;
        }
        this.#lastPacket = performance.now();
        if (!w.fits(header.capLen) && w.count > 0) {
          this.#pending = true;
          break;
        }
        w.append(header, h.data, h.dataAddress);
        if (firstUs < 0) firstUs = us;
        else if (us - firstUs >= this.#flushUs) break;
      } else if (rc === 0) {
        if (w.count === 0) {
          this.onIdle?.((performance.now() - this.#lastPacket) / 1000);
          // Let the worker's messages in while the link is quiet.
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        break;
      } else {
        this.#ended = true; // closed
        break;
      }
    }
    const { used, count } = w;
    const buffer = w.take();
    this.#reader.load({
      bytes: new Uint8Array(buffer),
      words: new Uint32Array(buffer),
      used,
      count,
      linkType: this.linkType,
    });
    return count > 0 || !this.#ended || this.#error !== undefined;
  }

  /** libpcap's counters now (the last ones read after {@linkcode close}). */
  stats(): PcapStats {
    if (!this.#handle.closed) {
      try {
        this.#stats = this.#handle.stats();
      } catch {
        // keep the last counters
      }
    }
    return this.#stats;
  }

  /** Packets skipped because they were stamped before every member of the group joined. */
  get skipped(): number {
    return this.#skipped;
  }

  /** Closes the capture (reading the final counters first); safe to call twice. */
  close(): void {
    if (this.#handle.closed) return;
    this.stats();
    this.#handle.close();
  }
}
