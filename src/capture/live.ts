/**
 * Live capture from a network device through libpcap / Npcap, run in a
 * Worker so the blocking reads never stall the main thread.
 *
 * @example The main loop (the PacketSource contract, as for files)
 * ```ts ignore
 * import { LiveCapture } from "./src/capture/live.ts";
 * import { BatchSource } from "./src/capture/batch_source.ts";
 * import { RawPacket } from "./src/capture/raw_packet.ts";
 *
 * const capture = await LiveCapture.open({ device: "eth0", filter: "tcp" }); // throws CaptureDeviceError
 * Deno.addSignalListener("SIGINT", () => capture.stop()); // the loop below then ends
 * const source = new BatchSource(capture);
 * const pkt = new RawPacket();
 * try {
 *   do { while (source.next(pkt)) handle(pkt); } while (await source.refill());
 * } finally {
 *   source.close();
 * }
 * const stats = await capture.close(); // { received, dropped, ifDropped, captured }
 * ```
 *
 * Or batch by batch: `for await (const batch of capture) { source.load(batch); ... }`.
 *
 * @module
 */

import { DEFAULT_TIMEOUT_MS, type PcapOpenOptions } from "../../ffi/pcap_handle.ts";
import { CaptureDeviceError } from "../../ffi/errors.ts";
import { type PacketBatch, viewBatch } from "./live_batch.ts";
import {
  type CaptureStats,
  Control,
  type FromWorker,
  type OpenedMessage,
  type ToWorker,
} from "./live_protocol.ts";

/** How to open a live capture (all but `device` optional). */
interface LiveCaptureOptions extends PcapOpenOptions {
  /** Bytes per batch buffer; default 1 MiB (raised to fit one full-size packet). */
  batchBytes?: number;
  /** Batch buffers in flight between the threads; default 4 (minimum 2). */
  batchCount?: number;
  /** Post a batch once its packets span this many milliseconds; default 50. */
  flushMs?: number;
  /** How often the worker refreshes {@linkcode LiveCapture.stats}, in ms; default 1000. */
  statsIntervalMs?: number;
}

/** Default bytes per batch buffer. */
const DEFAULT_BATCH_BYTES = 1 << 20;
/** Default number of batch buffers. */
const DEFAULT_BATCH_COUNT = 4;
/** How long {@linkcode LiveCapture.close} waits for the worker before terminating it. */
const CLOSE_GRACE_MS = 5000;

const ZERO_STATS: CaptureStats = { received: 0, dropped: 0, ifDropped: 0, captured: 0 };

/**
 * A running live capture. Open with {@linkcode LiveCapture.open}; iterate
 * the batches with `for await`; stop with {@linkcode stop} (e.g. on SIGINT),
 * after which the iteration delivers what was already captured and ends;
 * {@linkcode close} stops and resolves with the final counters.
 *
 * A batch (and every packet read from it) is valid until the next batch is
 * requested: asking for the next batch hands the previous buffer back to the
 * capture thread, detaching it.
 */
export class LiveCapture implements AsyncIterable<PacketBatch> {
  /** Device name being captured. */
  readonly device: string;
  /** LINKTYPE_* of every frame. */
  readonly linkType: number;
  /** Snapshot length in effect. */
  readonly snaplen: number;
  /** libpcap's activation warning (e.g. promiscuous mode unsupported), if any. */
  readonly warning: string | undefined;

  #worker: Worker;
  #control: Int32Array;
  #queue: ArrayBuffer[] = [];
  #queueMeta: number[] = []; // used, count pairs, parallel to #queue
  #held: ArrayBuffer | null = null;
  #waiter: (() => void) | null = null;
  #stats: CaptureStats = ZERO_STATS;
  #finished = false;
  #error: CaptureDeviceError | undefined;
  #closed: Promise<CaptureStats>;
  #resolveClosed!: (stats: CaptureStats) => void;
  #closing: Promise<CaptureStats> | undefined;

  private constructor(
    device: string,
    worker: Worker,
    control: Int32Array,
    opened: OpenedMessage,
  ) {
    this.device = device;
    this.#worker = worker;
    this.#control = control;
    this.linkType = opened.linkType;
    this.snaplen = opened.snaplen;
    this.warning = opened.warning;
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /**
   * Starts the capture Worker, which loads libpcap and opens `opts.device`.
   * Resolves once the device is open and filtering; rejects with a one-line
   * {@linkcode CaptureDeviceError} (exit code 2) when libpcap is missing, the
   * device does not exist, permission is denied or the filter is invalid.
   * Needs `--allow-ffi` (and `--allow-env` for `SEALERT_LIBPCAP`).
   */
  static open(opts: LiveCaptureOptions): Promise<LiveCapture> {
    const {
      batchBytes = DEFAULT_BATCH_BYTES,
      batchCount = DEFAULT_BATCH_COUNT,
      flushMs = 50,
      statsIntervalMs = 1000,
      ...pcapOptions
    } = opts;
    pcapOptions.timeoutMs ??= DEFAULT_TIMEOUT_MS;
    const control = new SharedArrayBuffer(Control.SIZE * 4);
    let worker: Worker;
    try {
      worker = new Worker(new URL("./live_worker.ts", import.meta.url).href, { type: "module" });
    } catch (err) {
      return Promise.reject(
        new CaptureDeviceError(`Cannot start the capture worker: ${messageOf(err)}`),
      );
    }
    return new Promise<LiveCapture>((resolve, reject) => {
      let capture: LiveCapture | undefined;
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const m = event.data;
        if (capture !== undefined) {
          capture.#receive(m);
        } else if (m.type === "opened") {
          capture = new LiveCapture(opts.device, worker, new Int32Array(control), m);
          resolve(capture);
        } else if (m.type === "error" || m.type === "closed") {
          worker.terminate();
          reject(
            new CaptureDeviceError(
              m.type === "error" ? m.message : m.error ?? "Capture ended before it started",
              m.type === "error" ? m.exitCode : m.exitCode ?? 2,
            ),
          );
        }
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        const error = new CaptureDeviceError(`Capture worker failed: ${event.message}`, 1);
        if (capture !== undefined) {
          capture.#finish(capture.#stats, error);
        } else {
          worker.terminate();
          reject(error);
        }
      };
      const message: ToWorker = {
        type: "open",
        options: pcapOptions,
        settings: { batchBytes, batchCount, flushMs, statsIntervalMs },
        control,
      };
      worker.postMessage(message);
    });
  }

  #receive(m: FromWorker): void {
    switch (m.type) {
      case "batch":
        this.#queue.push(m.buffer);
        this.#queueMeta.push(m.used, m.count);
        this.#wake();
        break;
      case "stats":
        this.#stats = m.stats;
        break;
      case "closed":
        this.#finish(
          m.stats,
          m.error === undefined ? undefined : new CaptureDeviceError(m.error, m.exitCode ?? 2),
        );
        break;
      default:
        break;
    }
  }

  #finish(stats: CaptureStats, error: CaptureDeviceError | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#stats = stats;
    this.#error = error;
    this.#worker.terminate();
    this.#resolveClosed(stats);
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }

  /** The latest counters (refreshed by the worker about every second; final after close). */
  stats(): CaptureStats {
    return this.#stats;
  }

  /**
   * The next batch, or null when capture has ended (after {@linkcode stop},
   * or on a capture error, which is thrown as {@linkcode CaptureDeviceError}
   * once the batches captured before it are consumed). Calling it hands the
   * previous batch's buffer back to the capture thread.
   */
  async nextBatch(): Promise<PacketBatch | null> {
    this.#release();
    while (this.#queue.length === 0) {
      if (this.#finished) {
        if (this.#error !== undefined) {
          const error = this.#error;
          this.#error = undefined;
          throw error;
        }
        return null;
      }
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
    const buffer = this.#queue.shift()!;
    const used = this.#queueMeta.shift()!;
    const count = this.#queueMeta.shift()!;
    this.#held = buffer;
    return viewBatch(buffer, used, count, this.linkType);
  }

  #release(): void {
    const buffer = this.#held;
    if (buffer === null) return;
    this.#held = null;
    if (this.#finished) return;
    this.#worker.postMessage({ type: "release", buffer } satisfies ToWorker, [buffer]);
    Atomics.add(this.#control, Control.RETURNED, 1);
    Atomics.notify(this.#control, Control.RETURNED);
  }

  /** Iterates the batches until capture ends; leaving the loop early closes the capture. */
  [Symbol.asyncIterator](): AsyncIterator<PacketBatch> {
    return {
      next: async (): Promise<IteratorResult<PacketBatch>> => {
        const batch = await this.nextBatch();
        return batch === null ? { done: true, value: undefined } : { done: false, value: batch };
      },
      return: async (): Promise<IteratorResult<PacketBatch>> => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * Asks the capture to stop (safe from a signal handler, safe to call
   * twice). The worker notices within the read timeout, sends its last
   * batch and the final counters; the iteration then ends.
   */
  stop(): void {
    Atomics.store(this.#control, Control.STOP, 1);
    Atomics.notify(this.#control, Control.RETURNED);
  }

  /**
   * Stops the capture, waits for the worker to close the device (terminating
   * it after 5 s if it does not) and resolves with the final counters.
   * Batches not yet consumed are dropped. Safe to call twice (same result).
   */
  close(): Promise<CaptureStats> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<CaptureStats> {
    this.stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
    await Promise.race([this.#closed, timeout]);
    clearTimeout(timer);
    this.#finish(this.#stats, undefined);
    this.#queue.length = 0;
    this.#queueMeta.length = 0;
    this.#held = null;
    return this.#stats;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
