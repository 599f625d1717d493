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
 * Several interfaces (`sealert eth1 eth2`) or `--workers N` above 1 run
 * through analysis workers ({@linkcode runLiveWorkers}): each interface gets
 * N Workers, each capturing and analysing on its own thread (decoder, flow
 * table, every detector), the N sockets of an interface sharing its packets
 * in a kernel fanout group (Linux PACKET_FANOUT) by address pair, so all
 * connections and side flows of a client–server pair meet in one worker.
 * The main thread only writes what they decide (one log, each record naming
 * its interface) and adds their counters up.
 *
 * @module
 */

import { BatchSource } from "../capture/batch_source.ts";
import { fanoutRendezvous, PEER_FAILED } from "../capture/fanout_source.ts";
import { LiveCapture } from "../capture/live.ts";
import { type DetectionEvent, onceKey } from "../detect/event.ts";
import type { SoftEtherTcpDetector } from "../detect/softether_tcp_detector.ts";
import { errorReason, LineFile } from "../output/line_file.ts";
import type { AlertSink } from "../output/sink.ts";
import type { Pipeline } from "../pipeline.ts";
import { type Device, deviceLabel, listDevices } from "../../ffi/devices.ts";
import { CaptureDeviceError } from "../../ffi/errors.ts";
import { CAPTURE_FAULT_EXIT } from "../../ffi/pcap_handle.ts";
import {
  AnalysisControl,
  type AnalysisSettings,
  type FromAnalysis,
  type StartMessage,
  type WorkerStats,
} from "./analysis_protocol.ts";
import type { Options } from "./args.ts";
import { chooseDevice, chooseDevices, formatDeviceList } from "./device_chooser.ts";
import {
  addStats,
  addSummaryPart,
  footprintSummary,
  statusLine,
  statusLineOf,
  summary,
  summaryOf,
} from "./summary.ts";
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

/** What {@linkcode liveControls} acts on. */
interface LiveControlHooks {
  /** The alert sinks (reopened on SIGHUP). */
  sinks: AlertSink;
  /** More to reopen on SIGHUP (the flow log). */
  onReopen?: () => void;
  /** Sink write failures so far; a failure stops the run with LOG_FAULT. */
  sinkFailures?: () => number;
  /** The server inventory's files, rewritten every minute and on SIGUSR1. */
  inventory?: LiveInventory;
  /** The status line (SIGUSR1, --status). */
  status: () => string;
  /** SIGINT / SIGTERM. */
  stop: () => void;
  /** Stops the run with an exit code and a message. */
  failed: (code: number, message: string) => void;
  /** Called every 200 ms with the wall clock (performance.now()). */
  onTick?: (now: number) => void;
}

/**
 * The controls every live run has: signals (SIGINT/SIGTERM stop, SIGHUP
 * reopens the logs, SIGUSR1 prints the status and rewrites the inventory;
 * they stay handled until the process exits, so a second signal during
 * the shutdown cannot cut the logs or the summary short), the sink-failure
 * and deleted-log checks, the inventory rewrites and the status timer.
 */
function liveControls(opts: Options, c: LiveControlHooks): {
  checkSinks: () => void;
  stopTimers: () => void;
  end: () => void;
} {
  const checkSinks = () => {
    const n = c.sinkFailures?.() ?? 0;
    if (n > 0) {
      c.failed(
        LiveExit.LOG_FAULT,
        `alerts could not be written (${n} failed ${n === 1 ? "write" : "writes"}): stopping`,
      );
    }
  };
  const watch = new DeletedLogWatch(logPaths(opts));
  let ended = false;
  onSignal("SIGINT", c.stop);
  onSignal("SIGTERM", c.stop);
  onSignal("SIGHUP", () => {
    if (ended) return; // main.ts is closing the sinks
    try {
      c.sinks.reopen();
      c.onReopen?.();
      watch.reset();
      console.error("sealert: log files reopened");
    } catch (e) {
      console.error(`sealert: ${(e as Error).message}`);
    }
  });
  const inventory = c.inventory;
  // No SIGUSR1 on Windows.
  if (Deno.build.os !== "windows") {
    onSignal("SIGUSR1", () => {
      if (ended) return; // main.ts writes the inventory at exit
      console.error(`sealert: ${c.status()}`);
      if (inventory === undefined) return;
      inventory.save();
      console.error(inventory.table());
    });
  }
  const rewrite = inventory !== undefined
    ? setInterval(() => inventory.save(), INVENTORY_REWRITE_SECONDS * 1000)
    : undefined;
  let lastLogCheck = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    checkSinks();
    if (now - lastLogCheck >= LOG_CHECK_MS) {
      lastLogCheck = now;
      watch.check();
    }
    c.onTick?.(now);
  }, 200);
  const statusTimer = opts.statusInterval > 0
    ? setInterval(() => console.error(`sealert: ${c.status()}`), opts.statusInterval * 1000)
    : undefined;
  return {
    checkSinks,
    stopTimers: () => {
      clearInterval(tick);
      if (statusTimer !== undefined) clearInterval(statusTimer);
      if (rewrite !== undefined) clearInterval(rewrite);
    },
    end: () => {
      ended = true;
    },
  };
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
  const status = () => {
    const s = capture.stats();
    return statusLine(pipeline, classifier, { dropped: s.dropped, ifDropped: s.ifDropped });
  };
  // Decisions that wait for time to pass (e.g. 1 s after a welcome) must not
  // wait for the next packet when the link goes quiet: advance packet time by
  // the wall clock since the last packet.
  let lastPackets = -1, lastWall = performance.now();
  const controls = liveControls(opts, {
    sinks,
    onReopen,
    sinkFailures,
    inventory,
    status,
    stop,
    failed,
    onTick: (now) => {
      if (pipeline.packets !== lastPackets) {
        lastPackets = pipeline.packets;
        lastWall = now;
        return;
      }
      pipeline.tick(pipeline.flows.now + (now - lastWall) / 1000);
    },
  });

  try {
    await pipeline.run(new BatchSource(capture));
  } catch (e) {
    // The batches captured before the fault were analysed; finish the run.
    if (!(e instanceof CaptureDeviceError)) throw e;
    failed(e.exitCode, e.message);
  } finally {
    controls.stopTimers();
  }
  const final = await capture.close();
  pipeline.finish();
  sinks.flush();
  controls.checkSinks();
  console.error(
    summary(pipeline, classifier, (performance.now() - started) / 1000, {
      dropped: final.dropped,
      ifDropped: final.ifDropped,
    }),
  );
  controls.end();
  return fault?.code ?? LiveExit.OK;
}

/**
 * Analysis workers per interface for live capture: `requested` (`--workers`),
 * else the cores but one (at least 1). Packet fanout is Linux's: elsewhere
 * (Windows/Npcap, macOS, BSD) one worker per interface, whatever was asked.
 */
function liveWorkerCount(
  requested: number | undefined,
  os: typeof Deno.build.os = Deno.build.os,
  cores: number = navigator.hardwareConcurrency,
): number {
  if (os !== "linux") return 1;
  return requested ?? Math.max(1, cores - 1);
}

/**
 * True when the live run goes through analysis workers
 * ({@linkcode runLiveWorkers}): several devices, or more than one worker
 * per interface; else the single-thread run ({@linkcode runLive}).
 */
export function usesLiveWorkers(opts: Options): boolean {
  return opts.devices.length > 1 || liveWorkerCount(opts.workers) > 1;
}

/** The per-worker counters of a run through analysis workers (for `--metrics`). */
interface LiveWorkerCounters {
  /** Every worker's latest counters, with its interface and its number on it. */
  workers(): Iterable<{ interface?: string; worker: number; stats: WorkerStats }>;
}

/** Where a run through analysis workers sends what they decide. */
interface LiveWorkerOutputs {
  /**
   * Every event, with its `interface` set: to the alert sinks, the server
   * inventory, the metrics. The workers write their own evidence pcaps.
   */
  emit(ev: DetectionEvent): void;
  /** The alert sinks: reopened on SIGHUP, flushed at the end. */
  sinks: AlertSink;
  /** Called on SIGHUP after the sinks and the flow log reopened. */
  onReopen?: () => void;
  /** Sink write failures so far; non-zero stops the run with {@linkcode LiveExit.LOG_FAULT}. */
  sinkFailures?: () => number;
  /** The server inventory's files (rewritten every 60 s and on SIGUSR1). */
  inventory?: LiveInventory;
  /** Told the workers' counters once they run (`--metrics`). */
  metrics?: (source: LiveWorkerCounters) => void;
}

/** One analysis worker of a live run. */
interface LiveWorker {
  /** Its interface. */
  iface: LiveInterface;
  /** Its number on the interface (its fanout member number). */
  member: number;
  worker: Worker;
  control: Int32Array;
  /** Latest counters (final after `done`). */
  stats: WorkerStats | undefined;
  /** Resolves when it answered `started` (true) or failed to start (false). */
  started: Promise<boolean>;
  /** Resolves when it is done (or died). */
  done: Promise<void>;
}

/** One captured interface of a live run. */
interface LiveInterface {
  device: Device;
  name: string;
  label: string;
  workers: LiveWorker[];
}

/** How often the workers post their counters (ms). */
const WORKER_STATS_MS = 1000;

/** "4100 + 3900" (each worker's packets) and the drops of an interface. */
function interfaceStatus(iface: LiveInterface): string {
  const packets = iface.workers.map((w) => w.stats?.packets ?? 0);
  const total = packets.reduce((a, b) => a + b, 0);
  const dropped = iface.workers.reduce((a, w) => a + (w.stats?.capture?.dropped ?? 0), 0);
  const split = packets.length > 1 ? ` (${packets.join(" + ")})` : "";
  return `${iface.name}: ${total} packets${split}, ${dropped} dropped`;
}

/** The summary line of an interface: packets, each worker's share, drops. */
function interfaceSummary(iface: LiveInterface): string {
  const packets = iface.workers.map((w) => w.stats?.packets ?? 0);
  const total = packets.reduce((a, b) => a + b, 0);
  const cap = iface.workers.map((w) => w.stats?.capture);
  const dropped = cap.reduce((a, c) => a + (c?.dropped ?? 0), 0);
  const ifDropped = cap.reduce((a, c) => a + (c?.ifDropped ?? 0), 0);
  const share = packets.length > 1
    ? `, ${packets.length} workers: ${
      packets.map((n) => `${n} (${total > 0 ? Math.round((n / total) * 100) : 0} %)`).join(", ")
    }`
    : "";
  return `Interface: ${iface.name}: ${total} packets${share}; ` +
    `dropped ${dropped} by the kernel, ${ifDropped} by the interface`;
}

/**
 * Capture live on every device of `opts.devices` (or the one the prompt
 * gives) with {@linkcode liveWorkerCount} analysis workers each, until
 * stopped; returns the exit code ({@linkcode LiveExit}). Signals, the status
 * line, the fault exits and the summary are those of {@linkcode runLive};
 * the status line and the summary add each interface's packets (and each
 * worker's share) and drops. A device that cannot be opened (or shared
 * between workers) throws its {@linkcode CaptureDeviceError} once every
 * worker stopped.
 */
export async function runLiveWorkers(opts: Options, out: LiveWorkerOutputs): Promise<number> {
  const devices = await chooseDevices(listDevices(), opts.devices);
  const count = liveWorkerCount(opts.workers);
  if ((opts.workers ?? 1) > count) {
    console.error(
      `sealert: warning: --workers ${opts.workers}: packet fanout needs Linux; ` +
        `one worker per interface on ${Deno.build.os}`,
    );
  }
  const flowFile = opts.flows !== undefined ? new LineFile(opts.flows) : undefined;
  let flowError: string | undefined;
  const settings: AnalysisSettings = {
    maxFlows: opts.maxFlows,
    tcpTimeout: opts.tcpTimeout,
    udpTimeout: opts.udpTimeout,
    flowLog: flowFile !== undefined,
    statsIntervalMs: WORKER_STATS_MS,
    ...(opts.evidenceDir !== undefined ? { evidenceDir: opts.evidenceDir } : {}),
  };
  const once = new Set<string>();
  let infra = 0, faces = 0;
  const counts: Record<string, number> = {};
  let fault: { code: number; message: string } | undefined;
  const faultCode = () => fault?.code; // read through a call: set from the workers' handlers
  let stopping = false;
  let started = false;
  const all: LiveWorker[] = [];
  const stopAll = () => {
    for (const w of all) {
      Atomics.store(w.control, AnalysisControl.STOP, 1);
      w.worker.postMessage({ type: "stop" });
    }
  };
  const failed = (code: number, message: string) => {
    // A worker that gave up because another of its group failed says less than that one.
    if (!started && fault?.message.endsWith(PEER_FAILED)) fault = undefined;
    if (fault !== undefined) return;
    fault = { code, message };
    if (started) console.error(`sealert: ${message}`);
    stopping = true;
    stopAll();
  };

  const emit = (iface: LiveInterface, ev: DetectionEvent) => {
    const key = onceKey(ev);
    if (key !== undefined) {
      if (once.has(key)) return; // another worker (or interface) reported it first
      once.add(key);
      if (ev.kind === "infrastructure") infra++;
      else faces++;
    }
    const k = ev.kind === "vpn" || ev.kind === "admin" ? `${ev.kind}/${ev.variant}` : ev.kind;
    counts[k] = (counts[k] ?? 0) + 1;
    ev.interface = iface.name;
    out.emit(ev);
  };

  const interfaces: LiveInterface[] = devices.map((device) => ({
    device,
    name: device.name,
    label: deviceLabel(device),
    workers: [],
  }));
  let index = 0;
  for (const iface of interfaces) {
    const rendezvous = count > 1 ? fanoutRendezvous() : undefined;
    for (let member = 0; member < count; member++) {
      const control = new SharedArrayBuffer(AnalysisControl.SIZE * 4);
      const worker = new Worker(new URL("./analysis_worker.ts", import.meta.url).href, {
        type: "module",
      });
      let onStarted!: (ok: boolean) => void;
      const w: LiveWorker = {
        iface,
        member,
        worker,
        control: new Int32Array(control),
        stats: undefined,
        started: new Promise((resolve) => (onStarted = resolve)),
        done: undefined!,
      };
      const n = index++;
      w.done = new Promise<void>((resolve) => {
        const finish = (code?: number, message?: string) => {
          if (message !== undefined) failed(code ?? 2, message);
          onStarted(false);
          resolve();
        };
        worker.onmessage = (e: MessageEvent<FromAnalysis>) => {
          const m = e.data;
          switch (m.type) {
            case "started":
              if (m.warning !== undefined && member === 0) {
                console.error(`sealert: warning: ${m.warning}`);
              }
              onStarted(true);
              break;
            case "events":
              for (const ev of m.events) emit(iface, ev);
              break;
            case "flows":
              for (const line of m.lines) {
                try {
                  flowFile?.writeLine(line);
                } catch (err) {
                  if (flowError === undefined) console.error(`sealert: ${errorReason(err)}`);
                  flowError = errorReason(err);
                }
              }
              break;
            case "stats":
              w.stats = m.stats;
              break;
            case "error":
              finish(m.exitCode, m.message);
              break;
            case "done":
              w.stats = m.stats;
              finish(m.exitCode, m.error);
              break;
          }
        };
        worker.onerror = (e: ErrorEvent) => {
          e.preventDefault();
          finish(1, `analysis worker ${n} (${iface.name}) failed: ${e.message}`);
        };
      });
      const start: StartMessage = {
        type: "start",
        worker: n,
        workers: interfaces.length * count,
        source: {
          kind: "pcap",
          device: iface.name,
          snaplen: opts.snaplen,
          promisc: opts.promisc,
          bufferSize: opts.bufferMiB * 1024 * 1024,
          ...(opts.filter !== undefined ? { filter: opts.filter } : {}),
          ...(rendezvous !== undefined
            ? { fanout: { group: -1, id: member, count, rendezvous } }
            : {}),
        },
        settings,
        control,
      };
      worker.postMessage(start);
      iface.workers.push(w);
      all.push(w);
    }
  }
  const terminateAll = () => {
    for (const w of all) w.worker.terminate();
  };

  // Every worker opened its capture (and joined its group), or one could not.
  await Promise.all(all.map((w) => w.started));
  const early = fault;
  if (early !== undefined) {
    await Promise.race([
      Promise.all(all.map((w) => w.done)),
      new Promise((resolve) => setTimeout(resolve, 5000)),
    ]);
    terminateAll();
    flowFile?.close();
    throw new CaptureDeviceError(early.message, early.code);
  }
  started = true;
  for (const iface of interfaces) {
    console.log(`Starting Capture Packets at [${iface.label}].`);
  }
  const total = (): WorkerStats => {
    const s = addStats(all.map((w) => w.stats).filter((x) => x !== undefined));
    s.footprint.infraEvents = infra;
    s.footprint.faces = faces;
    s.events = { ...counts };
    return s;
  };
  const drops = () => {
    const t = total().capture;
    return { dropped: t?.dropped ?? 0, ifDropped: t?.ifDropped ?? 0 };
  };
  addSummaryPart(() => footprintSummary(total().footprint));
  out.metrics?.({
    workers: () =>
      all.filter((w) => w.stats !== undefined).map((w) => ({
        interface: w.iface.name,
        worker: w.member,
        stats: w.stats!,
      })),
  });

  const startedAt = performance.now();
  const stop = () => {
    if (!stopping) console.error("\nsealert: stopping…");
    else if (fault === undefined) console.error("sealert: already stopping, finishing the logs");
    stopping = true;
    stopAll();
  };
  const status = () =>
    `${statusLineOf(total(), drops())}; ${interfaces.map(interfaceStatus).join("; ")}`;
  const controls = liveControls(opts, {
    sinks: out.sinks,
    onReopen: () => {
      flowFile?.reopen();
      out.onReopen?.();
    },
    sinkFailures: out.sinkFailures,
    inventory: out.inventory,
    status,
    stop,
    failed,
  });

  await Promise.all(all.map((w) => w.done));
  controls.stopTimers();
  terminateAll();
  flowFile?.close();
  out.sinks.flush();
  controls.checkSinks();
  console.error(
    [
      summaryOf(total(), (performance.now() - startedAt) / 1000, drops()),
      ...interfaces.map(interfaceSummary),
    ].join("\n"),
  );
  controls.end();
  return faultCode() ?? LiveExit.OK;
}
