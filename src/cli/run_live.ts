/**
 * Live mode, SoftEther Alert 1.00's way: list the capture devices, take the
 * device number from the command line or ask `Device ID>`, print
 * `Starting Capture Packets at [<description>].`, capture until Ctrl-C
 * (or SIGTERM), then print a summary with the kernel's drop counters.
 * SIGHUP reopens the log files (logrotate). SIGUSR1 (not on Windows)
 * prints the status line and, with `--servers` / `--report`, rewrites those
 * files and prints the server table; they are also rewritten every 60 s.
 *
 * Faults end the run the same orderly way — the packets captured before the
 * fault are analysed, pending decisions are made, the logs flushed and the
 * summary printed — with one `sealert: …` line and an exit code of its own
 * ({@linkcode LiveExit}): the capture device went away (3), an alert log
 * cannot be written, e.g. its disk is full (4). A log file deleted while
 * running keeps being written (the unlinked file, as most daemons do) until
 * SIGHUP creates it anew; a warning says so.
 *
 * @module
 */

import { BatchSource } from "../capture/batch_source.ts";
import { LiveCapture } from "../capture/live.ts";
import type { SoftEtherTcpDetector } from "../detect/softether_tcp_detector.ts";
import type { AlertSink } from "../output/sink.ts";
import type { Pipeline } from "../pipeline.ts";
import { deviceLabel, listDevices } from "../../ffi/devices.ts";
import { CaptureDeviceError } from "../../ffi/errors.ts";
import { CAPTURE_FAULT_EXIT } from "../../ffi/pcap_handle.ts";
import type { Options } from "./args.ts";
import { chooseDevice, formatDeviceList } from "./device_chooser.ts";
import { statusLine, summary } from "./summary.ts";
import { INVENTORY_REWRITE_SECONDS } from "./inventory_outputs.ts";
import type { PipelineMetrics } from "./metrics_server.ts";

/** The numbered device list (`--list`). */
export function listDevicesText(): string {
  return formatDeviceList(listDevices()).trimEnd();
}

function onSignal(sig: Deno.Signal, fn: () => void): () => void {
  try {
    Deno.addSignalListener(sig, fn);
    return () => Deno.removeSignalListener(sig, fn);
  } catch {
    return () => {}; // signal not supported on this OS (SIGHUP on Windows)
  }
}

/** Exit codes of a live run (README "Live use", `--help`). */
export const LiveExit = {
  /** Stopped by SIGINT or SIGTERM; every alert was written. */
  OK: 0,
  /** The capture device went away (deleted, down) or capture failed after it started. */
  CAPTURE_FAULT: CAPTURE_FAULT_EXIT,
  /** An alert log could not be written (disk full, I/O error): alerts were lost. */
  LOG_FAULT: 4,
} as const;

/** The server inventory's files as a live run drives them (`InventoryOutputs`). */
interface LiveInventory {
  /** Rewrite the files; false when one could not be written (printed). */
  save(): boolean;
  /** The server table for stderr. */
  table(): string;
}

/** How often the log paths are checked for deletion, in milliseconds. */
const LOG_CHECK_MS = 1000;

/**
 * Warns once per file when a log path has been missing at two checks in a
 * row (a logrotate rename is followed by SIGHUP well within that).
 */
class DeletedLogWatch {
  #missing = new Map<string, number>();

  constructor(readonly paths: readonly string[]) {}

  check(): void {
    for (const path of this.paths) {
      let gone = false;
      try {
        Deno.statSync(path);
      } catch (e) {
        gone = e instanceof Deno.errors.NotFound;
      }
      const n = gone ? (this.#missing.get(path) ?? 0) + 1 : 0;
      this.#missing.set(path, n);
      if (n === 2) {
        console.error(
          `sealert: warning: log file "${path}" was deleted; ` +
            "still writing to the deleted file until SIGHUP reopens it",
        );
      }
    }
  }

  /** After SIGHUP: the files exist again. */
  reset(): void {
    this.#missing.clear();
  }
}

/** The log files of `opts` (not standard output). */
function logPaths(opts: Options): string[] {
  return [opts.log === "none" ? undefined : opts.log, opts.json, opts.flows]
    .filter((p): p is string => p !== undefined && p !== "-");
}

/**
 * Capture live until stopped; returns the exit code ({@linkcode LiveExit}).
 *
 * @param onReopen Called on SIGHUP after the sinks reopened (the flow log).
 * @param sinkFailures Number of sink write failures so far (main.ts counts
 *   them); once it is non-zero the capture stops with
 *   {@linkcode LiveExit.LOG_FAULT}. Without it, write failures are only printed.
 * @param inventory The server inventory's files (`--servers`, `--report`):
 *   rewritten every {@linkcode INVENTORY_REWRITE_SECONDS} s of wall time and
 *   on SIGUSR1 (which also prints the table); the caller writes them at exit.
 * @param metrics The `--metrics` counters: told the device and its capture counters.
 */
export async function runLive(
  opts: Options,
  pipeline: Pipeline,
  classifier: SoftEtherTcpDetector,
  sinks: AlertSink,
  onReopen?: () => void,
  sinkFailures?: () => number,
  inventory?: LiveInventory,
  metrics?: PipelineMetrics,
): Promise<number> {
  const devices = listDevices();
  const device = await chooseDevice(devices, opts.device);
  const label = deviceLabel(device);
  const capture = await LiveCapture.open({
    device: device.name,
    label,
    snaplen: opts.snaplen,
    promisc: opts.promisc,
    bufferSize: opts.bufferMiB * 1024 * 1024,
    filter: opts.filter,
  });
  metrics?.setCapture(device.name, () => capture.stats());
  console.log(`Starting Capture Packets at [${label}].`);
  if (capture.warning) console.error(`sealert: warning: ${capture.warning}`);

  const started = performance.now();
  let stopping = false;
  let fault: { code: number; message: string } | undefined;
  const stop = () => {
    if (!stopping) console.error("\nsealert: stopping…");
    else if (fault === undefined) console.error("sealert: already stopping, finishing the logs");
    stopping = true;
    capture.stop();
  };
  const failed = (code: number, message: string) => {
    if (fault !== undefined) return;
    fault = { code, message };
    console.error(`sealert: ${message}`);
    stopping = true;
    capture.stop();
  };
  const checkSinks = () => {
    const n = sinkFailures?.() ?? 0;
    if (n > 0) {
      failed(
        LiveExit.LOG_FAULT,
        `alerts could not be written (${n} failed ${n === 1 ? "write" : "writes"}): stopping`,
      );
    }
  };
  const watch = new DeletedLogWatch(logPaths(opts));
  // The signals stay handled until the process exits: a second signal
  // during the shutdown must not cut the logs or the summary short.
  let ended = false;
  onSignal("SIGINT", stop);
  onSignal("SIGTERM", stop);
  onSignal("SIGHUP", () => {
    if (ended) return; // main.ts is closing the sinks
    try {
      sinks.reopen();
      onReopen?.();
      watch.reset();
      console.error("sealert: log files reopened");
    } catch (e) {
      console.error(`sealert: ${(e as Error).message}`);
    }
  });
  const status = () => {
    const s = capture.stats();
    return statusLine(pipeline, classifier, { dropped: s.dropped, ifDropped: s.ifDropped });
  };
  // SIGUSR1: a status line on demand, and the inventory now (no SIGUSR1 on Windows).
  if (Deno.build.os !== "windows") {
    onSignal("SIGUSR1", () => {
      if (ended) return; // main.ts writes the inventory at exit
      console.error(`sealert: ${status()}`);
      if (inventory === undefined) return;
      inventory.save();
      console.error(inventory.table());
    });
  }
  const rewrite = inventory !== undefined
    ? setInterval(() => inventory.save(), INVENTORY_REWRITE_SECONDS * 1000)
    : undefined;
  // Decisions that wait for time to pass (e.g. 1 s after a welcome) must not
  // wait for the next packet when the link goes quiet: advance packet time by
  // the wall clock since the last packet.
  let lastPackets = -1, lastWall = performance.now(), lastLogCheck = lastWall;
  const tick = setInterval(() => {
    const now = performance.now();
    checkSinks();
    if (now - lastLogCheck >= LOG_CHECK_MS) {
      lastLogCheck = now;
      watch.check();
    }
    if (pipeline.packets !== lastPackets) {
      lastPackets = pipeline.packets;
      lastWall = now;
      return;
    }
    pipeline.tick(pipeline.flows.now + (now - lastWall) / 1000);
  }, 200);
  const statusTimer = opts.statusInterval > 0
    ? setInterval(() => console.error(`sealert: ${status()}`), opts.statusInterval * 1000)
    : undefined;

  try {
    await pipeline.run(new BatchSource(capture));
  } catch (e) {
    // The batches captured before the fault were analysed; finish the run.
    if (!(e instanceof CaptureDeviceError)) throw e;
    failed(e.exitCode, e.message);
  } finally {
    clearInterval(tick);
    if (statusTimer !== undefined) clearInterval(statusTimer);
    if (rewrite !== undefined) clearInterval(rewrite);
  }
  const final = await capture.close();
  pipeline.finish();
  sinks.flush();
  checkSinks();
  console.error(
    summary(pipeline, classifier, (performance.now() - started) / 1000, {
      dropped: final.dropped,
      ifDropped: final.ifDropped,
    }),
  );
  ended = true;
  return fault?.code ?? LiveExit.OK;
}
