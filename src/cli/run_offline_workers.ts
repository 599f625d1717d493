/**
 * Offline mode with `--workers N` (N ≥ 2): the main thread reads the
 * capture files and deals each frame to one of N analysis workers
 * (`analysis_worker.ts`), each running a whole pipeline over its share.
 *
 * The reader decodes each frame just enough to know its address pair (link
 * type, VLAN tags, IPv4/IPv6, fragments too) and sends it to worker
 * `packetPairHash % N` — the rule of live capture's fanout program
 * (src/decode/pair_hash.ts) — through that worker's SharedArrayBuffer ring
 * (src/capture/packet_ring.ts), with its global frame number so flow ids
 * are the one-thread ones. Frames that are not IP go to worker 0. It also
 * writes each frame's packet time to the shared frame time log
 * (src/capture/frame_time_log.ts) when the frame reaches a flow — the
 * reader runs the pipeline's decoder and IP reassembly to know it — so that
 * each worker lets time pass exactly as one thread would (its timers and
 * flow expiry fire at the same packets). The alerts, flow ids, session
 * records and counters are those of `--workers 1`; only the order of the
 * output lines may differ within one frame.
 *
 * Main merges the workers' events back into frame order before the sinks
 * (each event carries the frame it was decided at; an event is written once
 * every worker has reported progress past its frame), and keeps the
 * run-wide "once" reports single: the first infrastructure contact per host
 * and service, the first report of a server face (each worker would
 * otherwise report its own first one).
 *
 * Damaged and unreadable files: as in one thread (the frames before the
 * damage are analysed, the file is reported, reading goes on; exit 1).
 *
 * @module
 */

import { CaptureFileError } from "../capture/errors.ts";
import { openCaptureFiles } from "../capture/file_source.ts";
import { FrameTimeLog } from "../capture/frame_time_log.ts";
import {
  createPacketRing,
  PacketRingWriter,
  ringBytes,
  RingRecord,
} from "../capture/packet_ring.ts";
import { RawPacket } from "../capture/raw_packet.ts";
import { Decoder, DecodeResult } from "../decode/decoder.ts";
import { IpProto } from "../decode/packet.ts";
import { packetPairHash } from "../decode/pair_hash.ts";
import { Weirds } from "../decode/weirds.ts";
import type { DetectionEvent } from "../detect/event.ts";
import { Defragmenter } from "../flow/defrag.ts";
import { LineFile } from "../output/line_file.ts";
import {
  AnalysisControl,
  type AnalysisSettings,
  type DoneMessage,
  type EventsMessage,
  type FromAnalysis,
  type StartMessage,
  type WorkerStats,
} from "./analysis_protocol.ts";
import { ProgressBar } from "./progress.ts";
import { addStats, addSummaryPart, fileSummary, footprintSummary, summaryOf } from "./summary.ts";

/** Ring size: at least four records of pcap's largest snapshot length. */
const RING_FRAME = 262_144;
/** Frames of packet time the shared log keeps. */
const TIME_LOG_FRAMES = 1 << 20;
/** A worker that got no frame with a flow for this many frames gets a SYNC record. */
const SYNC_GAP = TIME_LOG_FRAMES / 4;
/** Frames between two checks for workers due a SYNC record, and between publishes. */
const PUBLISH_EVERY = 256;

/** Where a worker run's results go: built once a file could be opened. */
interface WorkerOutputs {
  /** Every event, in frame order, after the run-wide de-duplication. */
  emit: (ev: DetectionEvent) => void;
}

/** Options of {@linkcode runOfflineWorkers}. */
interface OfflineWorkerOptions {
  /** Number of analysis workers (≥ 1). */
  workers: number;
  /** No summary. */
  quiet: boolean;
  /** Progress bar on a terminal. */
  progress: boolean;
  /** Flow table settings. */
  maxFlows: number;
  /** Idle timeout of established TCP flows (s). */
  tcpTimeout: number;
  /** Idle timeout of UDP flows (s). */
  udpTimeout: number;
  /** Flow log path (`--flows`): the workers' lines are written there. */
  flows?: string;
  /** Evidence directory (`--evidence-dir`): each worker writes the pcaps of its alerts. */
  evidenceDir?: string;
  /** The TCP classifier's inspection cap per worker (default: its own). */
  maxAnalyzers?: number;
}

/** Result of an offline run. */
interface OfflineResult {
  /** 0; 1 when a file was damaged or could not be opened; 2 when a worker failed. */
  exitCode: number;
  /** The files that were damaged or could not be opened, in the order found. */
  problems: CaptureFileError[];
  /** The workers' counters added up. */
  stats: WorkerStats;
}

/** Key of a report made once per run, or undefined for other events. */
function onceKey(ev: DetectionEvent): string | undefined {
  if (ev.kind === "infrastructure") return `i|${ev.client.ip}|${ev.service}`;
  if (ev.kind === "server") return `s|${ev.server.ip}|${ev.server.port}|${ev.face}`;
  return undefined;
}

/**
 * Puts the workers' events back into frame order and drops the repeats of
 * run-wide "once" reports; see the module doc.
 */
class EventMerger {
  readonly #progress: number[];
  #queue: { frame: number; worker: number; seq: number; ev: DetectionEvent }[] = [];
  #seq = 0;
  readonly #once = new Set<string>();
  readonly #emit: (ev: DetectionEvent) => void;
  /** Events passed on, by "kind" or "kind/variant". */
  readonly counts: Record<string, number> = {};
  /** Infrastructure events passed on. */
  infra = 0;
  /** Server face events passed on. */
  faces = 0;

  constructor(workers: number, emit: (ev: DetectionEvent) => void) {
    this.#progress = new Array(workers).fill(0);
    this.#emit = emit;
  }

  add(m: EventsMessage): void {
    for (let i = 0; i < m.events.length; i++) {
      this.#queue.push({ frame: m.frames[i], worker: m.worker, seq: this.#seq++, ev: m.events[i] });
    }
    if (m.progress > this.#progress[m.worker]) this.#progress[m.worker] = m.progress;
    this.#release(Math.min(...this.#progress));
  }

  /** Worker `worker` is done: nothing more comes from it. */
  done(worker: number): void {
    this.#progress[worker] = Infinity;
    this.#release(Math.min(...this.#progress));
  }

  #release(upTo: number): void {
    if (this.#queue.length === 0) return;
    const ready = this.#queue.filter((e) => e.frame <= upTo);
    if (ready.length === 0) return;
    this.#queue = this.#queue.filter((e) => e.frame > upTo);
    ready.sort((a, b) => a.frame - b.frame || a.worker - b.worker || a.seq - b.seq);
    for (const { ev } of ready) {
      const key = onceKey(ev);
      if (key !== undefined) {
        if (this.#once.has(key)) continue;
        this.#once.add(key);
        if (ev.kind === "infrastructure") this.infra++;
        else this.faces++;
      }
      const k = ev.kind === "vpn" || ev.kind === "admin" ? `${ev.kind}/${ev.variant}` : ev.kind;
      this.counts[k] = (this.counts[k] ?? 0) + 1;
      this.#emit(ev);
    }
  }
}

/** One analysis worker as main drives it. */
interface WorkerHandle {
  worker: Worker;
  ring: PacketRingWriter;
  control: Int32Array;
  stats: WorkerStats | undefined;
  done: Promise<DoneMessage>;
}

/** The frame reaches a flow in the pipeline (TCP, UDP, ICMP, ICMPv6)? */
function flowProto(proto: number): boolean {
  return proto === IpProto.TCP || proto === IpProto.UDP || proto === IpProto.ICMP ||
    proto === IpProto.ICMPV6;
}

/** {@linkcode FrameDealer.deal}: the buffered frames are all dealt. */
const DEALT = -1;
/** {@linkcode FrameDealer.deal}: the time log is full (a worker lags a whole log behind). */
const LOG_FULL = -2;

/**
 * The reader's hot loop: decodes each frame just enough, picks its worker,
 * logs its packet time and copies it into the worker's ring. Synchronous
 * (the caller does the waiting), allocation-free but for the ring copy's
 * view.
 */
class FrameDealer {
  /** Frames read so far (the last frame's number). */
  frame = 0;
  readonly #rings: PacketRingWriter[];
  readonly #log: FrameTimeLog;
  readonly #n: number;
  readonly #maxFrame: number;
  readonly #raw = new RawPacket();
  readonly #weirds = new Weirds(); // the reader's own: the workers count what they analyse
  readonly #decoder = new Decoder(this.#weirds);
  #defrag: Defragmenter | undefined;
  readonly #lastSent: Float64Array;
  #logFloor = 0; // every worker's progress was at least this at the last look
  #pending = -1; // worker whose ring had no room for the frame in #raw

  constructor(rings: PacketRingWriter[], log: FrameTimeLog) {
    this.#rings = rings;
    this.#log = log;
    this.#n = rings.length;
    this.#maxFrame = rings[0].maxFrame;
    this.#lastSent = new Float64Array(rings.length);
  }

  /**
   * Deal the frames `src` has buffered; returns {@linkcode DEALT}, or the
   * number of the worker whose ring is full, or {@linkcode LOG_FULL} (call
   * again once there is room: the frame waiting is dealt first).
   */
  deal(src: { next(raw: RawPacket): boolean }): number {
    const raw = this.#raw, rings = this.#rings, n = this.#n, log = this.#log;
    const decoder = this.#decoder, p = decoder.pkt;
    if (this.#pending >= 0) {
      const w = this.#pending;
      if (!rings[w].tryPacket(raw, this.frame)) return w;
      this.#pending = -1;
      if (this.frame % PUBLISH_EVERY === 0) this.#syncs();
    }
    for (;;) {
      const f = this.frame + 1;
      if (f - this.#logFloor >= log.size) {
        if (!log.room(f, this.#n)) return LOG_FULL;
        this.#logFloor = f - log.size + 1; // every worker's progress is at least this
      }
      if (!src.next(raw)) return DEALT;
      this.frame = f;
      if (raw.capLen > this.#maxFrame) raw.capLen = this.#maxFrame; // megabytes: beyond any snaplen
      const r = decoder.decode(raw, p);
      let w = 0, time = NaN;
      if (r === DecodeResult.OK) {
        w = packetPairHash(p) % n;
        if (flowProto(p.proto)) time = p.ts;
      } else if (r === DecodeResult.FRAGMENT) {
        w = packetPairHash(p) % n;
        this.#defrag ??= new Defragmenter(this.#weirds);
        const whole = this.#defrag.add(p, raw);
        if (whole !== null && decoder.decode(whole, p) === DecodeResult.OK && flowProto(p.proto)) {
          time = p.ts;
        }
      }
      log.set(f, w, time);
      if (time === time) this.#lastSent[w] = f;
      if (!rings[w].tryPacket(raw, f)) {
        this.#pending = w;
        return w;
      }
      if (f % PUBLISH_EVERY === 0) this.#syncs();
    }
  }

  /**
   * Publish every ring, after a SYNC record for each worker that got no
   * frame with a flow for {@linkcode SYNC_GAP} frames (a ring with no room
   * gets it next time).
   */
  #syncs(): void {
    const f = this.frame, rings = this.#rings;
    for (let v = 0; v < this.#n; v++) {
      if (f - this.#lastSent[v] >= SYNC_GAP && rings[v].tryMark(RingRecord.SYNC, f)) {
        this.#lastSent[v] = f;
      }
      rings[v].publish();
    }
  }
}

/**
 * Run over `paths` with `opts.workers` analysis workers. `start` opens the
 * outputs once a file could be opened (never when none can be). Problems are
 * printed when found; the summary, unless `quiet`, is the one of a
 * one-thread run.
 */
export async function runOfflineWorkers(
  paths: string[],
  opts: OfflineWorkerOptions,
  start: () => WorkerOutputs,
): Promise<OfflineResult> {
  const started = performance.now();
  const problems: CaptureFileError[] = [];
  const shown: { bar?: ProgressBar } = {}; // the bar, once the input is open
  const report = (e: CaptureFileError) => {
    problems.push(e);
    shown.bar?.done();
    console.error(`sealert: ${e.message}`);
  };
  const src = await openCaptureFiles(paths, { onUnreadable: report });
  if (src.paths.length === 0) {
    src.close();
    return { exitCode: 1, problems, stats: addStats([]) };
  }
  let outputs: WorkerOutputs;
  let flowFile: LineFile | undefined;
  try {
    outputs = start();
    flowFile = opts.flows !== undefined ? new LineFile(opts.flows) : undefined;
  } catch (e) {
    src.close();
    throw e;
  }
  const bar = opts.progress ? ProgressBar.forStderr(src.totalBytes) : undefined;
  shown.bar = bar;
  const n = opts.workers;
  const merger = new EventMerger(n, outputs.emit);
  const log = new FrameTimeLog(TIME_LOG_FRAMES);
  const settings: AnalysisSettings = {
    maxFlows: opts.maxFlows,
    tcpTimeout: opts.tcpTimeout,
    udpTimeout: opts.udpTimeout,
    flowLog: flowFile !== undefined,
    statsIntervalMs: bar !== undefined ? 250 : 0,
    ...(opts.evidenceDir !== undefined ? { evidenceDir: opts.evidenceDir } : {}),
    ...(opts.maxAnalyzers !== undefined ? { maxAnalyzers: opts.maxAnalyzers } : {}),
  };
  let failure: { message: string; exitCode: number } | undefined;
  const handles: WorkerHandle[] = [];
  for (let w = 0; w < n; w++) {
    const sab = createPacketRing(ringBytes(RING_FRAME));
    const control = new SharedArrayBuffer(AnalysisControl.SIZE * 4);
    const worker = new Worker(new URL("./analysis_worker.ts", import.meta.url).href, {
      type: "module",
    });
    const h: WorkerHandle = {
      worker,
      ring: new PacketRingWriter(sab),
      control: new Int32Array(control),
      stats: undefined,
      done: undefined!,
    };
    h.done = new Promise<DoneMessage>((resolve) => {
      worker.onmessage = (e: MessageEvent<FromAnalysis>) => {
        const m = e.data;
        if (m.type === "events") merger.add(m);
        else if (m.type === "flows") {
          for (const line of m.lines) flowFile!.writeLine(line);
        } else if (m.type === "stats") h.stats = m.stats;
        else if (m.type === "error" || m.type === "done") {
          if (m.type === "error" || m.error !== undefined) {
            const message = m.type === "error" ? m.message : m.error!;
            failure ??= { message, exitCode: m.exitCode ?? 2 };
          }
          const done: DoneMessage = m.type === "done"
            ? m
            : { type: "done", worker: w, stats: addStats([]) };
          h.stats = done.stats;
          merger.done(w);
          resolve(done);
        }
      };
      worker.onerror = (e) => {
        e.preventDefault();
        failure ??= { message: `analysis worker ${w} failed: ${e.message}`, exitCode: 2 };
        merger.done(w);
        resolve({ type: "done", worker: w, stats: addStats([]) });
      };
    });
    const msg: StartMessage = {
      type: "start",
      worker: w,
      workers: n,
      source: { kind: "ring", ring: sab, timeLog: log.buffer },
      settings,
      control,
    };
    worker.postMessage(msg);
    handles.push(h);
  }
  const total = () => {
    const s = addStats(handles.map((h) => h.stats).filter((s) => s !== undefined));
    s.footprint.infraEvents = merger.infra;
    s.footprint.faces = merger.faces;
    s.events = { ...merger.counts };
    return s;
  };
  addSummaryPart(() => footprintSummary(total().footprint));

  const rings = handles.map((h) => h.ring);
  const dealer = new FrameDealer(rings, log);
  /** Wait until ring `w` has room (or a worker failed). */
  const room = async (w: number) => {
    if (failure === undefined) await rings[w].waitForRoom();
  };

  try {
    for (;;) {
      try {
        do {
          for (;;) {
            const blocked = dealer.deal(src);
            if (blocked === DEALT || failure !== undefined) break;
            if (blocked === LOG_FULL) {
              for (const r of rings) r.publish();
              await new Promise((r) => setTimeout(r, 1));
            } else await room(blocked);
          }
          for (const ring of rings) ring.publish();
          bar?.show(src.bytesRead, total().packets, total().classifier.alerts);
          if (failure !== undefined) break;
        } while (await src.refill());
        break;
      } catch (e) {
        if (!(e instanceof CaptureFileError)) throw e;
        report(e);
        src.skipFile(); // go on with the next file
      }
    }
  } finally {
    src.close();
    bar?.done();
    for (let w = 0; w < n; w++) {
      while (!rings[w].tryMark(RingRecord.END, dealer.frame) && failure === undefined) {
        await room(w);
      }
      rings[w].publish();
    }
  }
  await Promise.all(handles.map((h) => h.done));
  flowFile?.close();
  const stats = total();
  if (failure !== undefined) console.error(`sealert: ${failure.message}`);
  if (!opts.quiet) {
    const seconds = (performance.now() - started) / 1000;
    const lines = [summaryOf(stats, seconds)];
    lines.push(...fileSummary(paths.length, src.filesDone, problems));
    console.error(lines.join("\n"));
  }
  const exitCode = failure !== undefined ? failure.exitCode : problems.length > 0 ? 1 : 0;
  return { exitCode, problems, stats };
}
