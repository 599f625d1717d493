/**
 * Messages and shared control words between {@linkcode LiveCapture} (main
 * thread) and the capture Worker (`live_worker.ts`).
 *
 * Sequence: main posts `open`; the worker opens the device and answers
 * `opened` or `error` (then exits). While capturing it posts `batch` (buffer
 * transferred) and `stats` (about every second); main gives each batch buffer
 * back with `release` (transferred again) and bumps {@linkcode Control.RETURNED}.
 * Main asks to stop by setting {@linkcode Control.STOP}; the worker sees it
 * after its current read returns (at most the read timeout), posts its last
 * partial batch, closes the handle and posts `closed` with the final counters.
 *
 * @module
 */

import type { PcapOpenOptions, PcapStats } from "../../ffi/pcap_handle.ts";

/** Indexes into the shared `Int32Array` control block. */
export const Control = {
  /** Non-zero: stop capturing. */
  STOP: 0,
  /** Number of `release` messages main has posted (the worker waits on it). */
  RETURNED: 1,
  /** Number of words in the block. */
  SIZE: 2,
} as const;

/** Counters of a live capture. */
export interface CaptureStats extends PcapStats {
  /** Packets the worker copied into batches. */
  captured: number;
}

/** Worker settings beyond the pcap handle's. */
interface WorkerSettings {
  /** Bytes per batch buffer. */
  batchBytes: number;
  /** Batch buffers in the pool. */
  batchCount: number;
  /** Flush a batch once its packets span this many milliseconds. */
  flushMs: number;
  /** Interval of `stats` messages, in milliseconds. */
  statsIntervalMs: number;
}

/** main → worker: start capturing. */
export interface OpenMessage {
  /** Discriminant. */
  type: "open";
  /** Device and handle options. */
  options: PcapOpenOptions;
  /** Worker settings. */
  settings: WorkerSettings;
  /** Shared control block (see {@linkcode Control}). */
  control: SharedArrayBuffer;
}

/** main → worker: a batch buffer is free again. */
interface ReleaseMessage {
  /** Discriminant. */
  type: "release";
  /** The buffer (transferred). */
  buffer: ArrayBuffer;
}

/** Messages the worker receives. */
export type ToWorker = OpenMessage | ReleaseMessage;

/** worker → main: the device is open. */
export interface OpenedMessage {
  /** Discriminant. */
  type: "opened";
  /** LINKTYPE_* of the frames. */
  linkType: number;
  /** Snapshot length in effect. */
  snaplen: number;
  /** libpcap activation warning, if any. */
  warning?: string;
}

/** worker → main: opening failed (the worker exits). */
interface ErrorMessage {
  /** Discriminant. */
  type: "error";
  /** One-line message. */
  message: string;
  /** Exit code for main.ts. */
  exitCode: number;
}

/** worker → main: a filled batch (buffer transferred). */
interface BatchMessage {
  /** Discriminant. */
  type: "batch";
  /** The batch buffer. */
  buffer: ArrayBuffer;
  /** Bytes holding records. */
  used: number;
  /** Number of records. */
  count: number;
}

/** worker → main: periodic counters. */
interface StatsMessage {
  /** Discriminant. */
  type: "stats";
  /** Counters now. */
  stats: CaptureStats;
}

/** worker → main: capture ended (the worker exits). */
interface ClosedMessage {
  /** Discriminant. */
  type: "closed";
  /** Final counters. */
  stats: CaptureStats;
  /** One-line message when capture ended on an error. */
  error?: string;
  /** Exit code for that error. */
  exitCode?: number;
}

/** Messages main receives. */
export type FromWorker =
  | OpenedMessage
  | ErrorMessage
  | BatchMessage
  | StatsMessage
  | ClosedMessage;
