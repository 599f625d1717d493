/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/**
 * The capture Worker started by {@linkcode LiveCapture}: runs the blocking
 * `pcap_next_ex` loop off the main thread and ships packets in batches (see
 * `live_batch.ts` for the format, `live_protocol.ts` for the messages).
 *
 * Steady state allocates no buffers: a pool of `batchCount` buffers travels
 * worker → main → worker. A batch is posted when full, when its packets span
 * `flushMs` of capture time, or when a read times out with packets pending.
 * When every buffer is with the main thread the worker waits (the kernel
 * buffer absorbs the backlog; overflow shows as `dropped`).
 *
 * @module
 */

import { libc } from "../../ffi/libc.ts";
import { CAPTURE_FAULT_EXIT, PcapHandle } from "../../ffi/pcap_handle.ts";
import { CaptureDeviceError } from "../../ffi/errors.ts";
import { BatchWriter, recordSize } from "./live_batch.ts";
import {
  type CaptureStats,
  Control,
  type FromWorker,
  type OpenMessage,
  type ToWorker,
} from "./live_protocol.ts";

const free: ArrayBuffer[] = [];
let released = 0;
let wake: (() => void) | null = null;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === "open") {
    run(message).catch((err) => {
      // Unexpected (a bug): report it as a capture failure rather than hang main.
      post({ type: "closed", stats: zeroStats(), error: String(err), exitCode: 1 });
      self.close();
    });
  } else if (message.type === "release") {
    free.push(message.buffer);
    released++;
    const w = wake;
    wake = null;
    w?.();
  }
};

function zeroStats(): CaptureStats {
  return { received: 0, dropped: 0, ifDropped: 0, captured: 0 };
}

function nextMessage(): Promise<void> {
  return new Promise((resolve) => (wake = resolve));
}

async function run(open: OpenMessage): Promise<void> {
  const control = new Int32Array(open.control);
  let handle: PcapHandle;
  try {
    handle = PcapHandle.open(open.options);
  } catch (err) {
    post({
      type: "error",
      message: err instanceof Error ? err.message : String(err),
      exitCode: err instanceof CaptureDeviceError ? err.exitCode : 2,
    });
    self.close();
    return;
  }
  post({ type: "opened", linkType: handle.linkType, snaplen: handle.snaplen, ...warn(handle) });

  const { settings } = open;
  // Room for at least one full-size record; a multiple of 4 (record alignment).
  const batchBytes = (Math.max(settings.batchBytes, recordSize(handle.snaplen)) + 3) & ~3;
  for (let i = 0; i < Math.max(2, settings.batchCount); i++) {
    free.push(new ArrayBuffer(batchBytes));
  }

  let captured = 0;
  let stats: CaptureStats = zeroStats();
  let nextStatsAt = performance.now() + settings.statsIntervalMs;
  const readStats = (): CaptureStats => {
    try {
      stats = { ...handle.stats(), captured };
    } catch {
      stats = { ...stats, captured };
    }
    return stats;
  };
  const maybeStats = (): void => {
    const now = performance.now();
    if (now < nextStatsAt) return;
    nextStatsAt = now + settings.statsIntervalMs;
    post({ type: "stats", stats: readStats() });
  };

  /** A free buffer, waiting for main to return one; null when asked to stop. */
  const acquire = async (): Promise<ArrayBuffer | null> => {
    for (;;) {
      while (released < Atomics.load(control, Control.RETURNED)) await nextMessage();
      const buffer = free.pop();
      if (buffer !== undefined) return buffer;
      if (Atomics.load(control, Control.STOP) !== 0) return null;
      Atomics.wait(control, Control.RETURNED, released, 100);
    }
  };

  const memcpy = libc()?.memcpy ?? null;
  const writer = new BatchWriter(memcpy);
  handle.mapViews = memcpy === null; // copy by address: no per-packet view
  const postBatch = (): void => {
    const { used, count } = writer;
    captured += count;
    const buffer = writer.take();
    post({ type: "batch", buffer, used, count }, [buffer]);
  };
  /** Posts the current batch and starts a new one; false when asked to stop meanwhile. */
  const flush = async (): Promise<boolean> => {
    postBatch();
    maybeStats();
    const buffer = await acquire();
    if (buffer === null) return false;
    writer.reset(buffer);
    return true;
  };

  writer.reset(free.pop()!);
  const flushUs = settings.flushMs * 1000;
  const header = handle.header;
  let firstUs = 0;
  let error: CaptureDeviceError | undefined;
  try {
    loop: while (Atomics.load(control, Control.STOP) === 0) {
      const rc = handle.next();
      if (rc === 1) {
        if (!writer.fits(header.capLen) && writer.count > 0) {
          if (!(await flush())) break loop;
        }
        writer.append(header, handle.data, handle.dataAddress);
        const us = header.tsSec * 1e6 + header.tsUsec;
        if (writer.count === 1) firstUs = us;
        else if (us - firstUs >= flushUs && !(await flush())) break loop;
      } else if (rc === 0) {
        if (writer.count > 0) {
          if (!(await flush())) break loop;
        } else {
          maybeStats();
        }
      } else {
        break loop; // closed / broken
      }
    }
  } catch (err) {
    error = err instanceof CaptureDeviceError ? err : new CaptureDeviceError(
      `capture failed: ${err instanceof Error ? err.message : String(err)}`,
      CAPTURE_FAULT_EXIT,
    );
  }
  if (writer.buffer !== null && writer.count > 0) postBatch();
  const final = readStats();
  handle.close();
  post({
    type: "closed",
    stats: final,
    ...(error ? { error: error.message, exitCode: error.exitCode } : {}),
  });
  self.close();
}

function warn(handle: PcapHandle): { warning?: string } {
  return handle.warning === undefined ? {} : { warning: handle.warning };
}
