/**
 * Offline mode with `--workers N` (N ≥ 2): N pipelines over one capture
 * stream, split by address pair — the main thread's own, and N − 1
 * analysis workers (`analysis_worker.ts`).
 *
 * The main thread reads the capture files. Each frame is decoded just
 * enough to know its address pair (link type, VLAN tags, IPv4/IPv6,
 * fragments too) and its pipeline chosen from the pair hash of
 * src/decode/pair_hash.ts (the one live capture's fanout program computes),
 * so every packet of a client–server pair is analysed by one pipeline. A
 * frame of a worker goes through that worker's SharedArrayBuffer ring
 * (src/capture/packet_ring.ts), with its global frame number so flow ids
 * are the one-thread ones; a frame of the main thread's share (and every
 * frame that is not IP) goes straight on to its own pipeline, which runs
 * in between. The main thread takes a smaller share (3/4 of an even one):
 * reading and dealing are its work too.
 *
 * Each frame's packet time is written to the shared frame time log
 * (src/capture/frame_time_log.ts) when the frame reaches a flow (the reader
 * runs the decoder and IP reassembly to know it), and every pipeline replays
 * the others' times before each of its own packets (`time_replay.ts`): its
 * timers and flow expiry fire at the packets they fire at in one thread.
 *
 * The events of all pipelines are merged back into frame order before the
 * sinks (each carries the frame it was decided at; an event is written once
 * every pipeline has reported progress past its frame), and the run-wide
 * "once" reports are kept single: the first infrastructure contact per host
 * and service, the first report of a server face.
 *
 * Alerts, flow ids, session records, the flow log and the counters are those
 * of `--workers 1`, the order of output lines within one frame aside — but
 * for correlations across address pairs, made within a pipeline only (README
 * "Scaling"). Damaged and unreadable files: as in one thread (the frames
 * before the damage are analysed, the file is reported, reading goes on;
 * exit 1).
 *
 * @module
 */

import { CaptureFileError } from "../capture/errors.ts";
import { openCaptureFiles } from "../capture/file_source.ts";
import { FrameFlag, FrameTimeLog } from "../capture/frame_time_log.ts";
import {
  createPacketRing,
  PacketRingWriter,
  ringBytes,
  RingRecord,
} from "../capture/packet_ring.ts";
import { type PacketSource, RawPacket } from "../capture/raw_packet.ts";
import { Decoder, DecodeResult } from "../decode/decoder.ts";
import { IpProto } from "../decode/packet.ts";
import { packetPairHash } from "../decode/pair_hash.ts";
import { Weirds } from "../decode/weirds.ts";
import { createDetectors } from "../detect/detector_set.ts";
import { type DetectionEvent, onceKey } from "../detect/event.ts";
import { Defragmenter } from "../flow/defrag.ts";
import { flowRecord } from "../flow/flow_record.ts";
import { EvidenceRecorder } from "../output/evidence.ts";
import { LineFile } from "../output/line_file.ts";
import { escapeJsonLine } from "../output/wire_text.ts";
import { Pipeline } from "../pipeline.ts";
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
import {
  addStats,
  addSummaryPart,
  fileSummary,
  footprintSummary,
  pipelineStats,
  summaryOf,
} from "./summary.ts";
import { TimeReplay } from "./time_replay.ts";

/** Ring size: at least four records of pcap's largest snapshot length. */
const RING_FRAME = 262_144;
/** Frames of packet time the shared log keeps. */
const TIME_LOG_FRAMES = 1 << 20;
/** A worker that got no frame with a flow for this many frames gets a SYNC record. */
const SYNC_GAP = TIME_LOG_FRAMES / 4;
/** Frames between two checks for workers due a SYNC record, and between publishes. */
const PUBLISH_EVERY = 256;
/** Pair hashes are dealt in this many buckets. */
const BUCKETS = 1024;
/** The main thread's share: this much of an even one (reading and dealing are its work too). */
const MAIN_SHARE = 0.75;

/** Where a run's results go: built once a file could be opened. */
interface WorkerOutputs {
  /** Every event, in frame order, after the run-wide de-duplication. */
  emit: (ev: DetectionEvent) => void;
  /**
   * Given the pipelines' latest counters once they started (each worker
   * posts them every second and at its end), e.g. for the metrics endpoint.
   */
  attach?: (source: { workers(): Iterable<{ worker: number; stats: WorkerStats }> }) => void;
}

/** Options of {@linkcode runOfflineWorkers}. */
interface OfflineWorkerOptions {
  /** Number of pipelines (≥ 2): the main thread's and `workers` − 1 analysis workers. */
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
  /** Flow log path (`--flows`): every pipeline's lines are written there. */
  flows?: string;
  /**
   * Evidence directory (`--evidence-dir`): each pipeline writes the pcaps of
   * its alerts when it decides them (its connection is still there then).
   */
  evidenceDir?: string;
  /** The TCP classifier's inspection cap per pipeline (default: its own). */
  maxAnalyzers?: number;
}

/** Result of an offline run. */
interface OfflineResult {
  /** 0; 1 when a file was damaged or could not be opened; 2 when a worker failed. */
  exitCode: number;
  /** The files that were damaged or could not be opened, in the order found. */
  problems: CaptureFileError[];
  /** The pipelines' counters added up. */
  stats: WorkerStats;
}

/**
 * Puts the pipelines' events back into frame order and drops the repeats of
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

  add(m: Omit<EventsMessage, "type">): void {
    for (let i = 0; i < m.events.length; i++) {
      this.#queue.push({ frame: m.frames[i], worker: m.worker, seq: this.#seq++, ev: m.events[i] });
    }
    if (m.progress > this.#progress[m.worker]) this.#progress[m.worker] = m.progress;
    this.#release(Math.min(...this.#progress));
  }

  /** Pipeline `worker` is done: nothing more comes from it. */
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

/** The frame reaches a flow in the pipeline (TCP, UDP, ICMP, ICMPv6)? */
function flowProto(proto: number): boolean {
  return proto === IpProto.TCP || proto === IpProto.UDP || proto === IpProto.ICMP ||
    proto === IpProto.ICMPV6;
}

/** What the dealing source waits for before it can go on. */
const Blocked = { NOTHING: 0, RING: 1, LOG: 2 } as const;

/**
 * The main thread's packet source: reads the capture files, deals every
 * frame of the workers' shares to their rings and hands the main thread's
 * own frames to its pipeline (with their frame numbers). Allocation-free per
 * frame but for the ring copy's view.
 */
class DealingSource implements PacketSource {
  /** Frames read so far (the last frame's number). */
  frame = 0;
  readonly #file: PacketSource;
  readonly #rings: PacketRingWriter[]; // index = pipeline number; [0] unused
  readonly #log: FrameTimeLog;
  readonly #n: number;
  readonly #mainBuckets: number;
  readonly #maxFrame: number;
  readonly #weirds = new Weirds(); // the reader's own: the pipelines count what they analyse
  readonly #decoder = new Decoder(this.#weirds);
  #defrag: Defragmenter | undefined;
  readonly #lastSent: Float64Array;
  #logFloor = 0; // every pipeline's progress was at least this at the last look
  #blocked: number = Blocked.NOTHING;
  #pendingWorker = 1;
  readonly #pending = new RawPacket(); // a frame waiting for room in its ring
  /** Called before waiting (the main pipeline publishes its progress). */
  onWait: () => void = () => {};
  /** True once a worker failed: stop dealing. */
  failed: () => boolean = () => false;

  constructor(file: PacketSource, rings: PacketRingWriter[], log: FrameTimeLog) {
    this.#file = file;
    this.#rings = rings;
    this.#log = log;
    this.#n = rings.length;
    this.#mainBuckets = Math.round((BUCKETS * MAIN_SHARE) / rings.length);
    this.#maxFrame = rings[1].maxFrame;
    this.#lastSent = new Float64Array(rings.length);
  }

  /** Pipeline of a frame whose pair hash is `h`. */
  #owner(h: number): number {
    const b = h % BUCKETS;
    return b < this.#mainBuckets ? 0 : 1 + (b - this.#mainBuckets) % (this.#n - 1);
  }

  next(raw: RawPacket): boolean {
    if (this.#blocked !== Blocked.NOTHING) return false;
    const rings = this.#rings, log = this.#log, decoder = this.#decoder, p = decoder.pkt;
    for (;;) {
      const f = this.frame + 1;
      if (f - this.#logFloor >= log.size) {
        if (!log.room(f, this.#n)) {
          this.#blocked = Blocked.LOG;
          return false;
        }
        this.#logFloor = f - log.size + 1; // every pipeline's progress is at least this
      }
      if (!this.#file.next(raw)) return false;
      this.frame = f;
      if (raw.capLen > this.#maxFrame) raw.capLen = this.#maxFrame; // megabytes: beyond any snaplen
      const r = decoder.decode(raw, p);
      let w = 0, flags = 0;
      const time = p.ts;
      if (r === DecodeResult.OK) {
        w = this.#owner(packetPairHash(p));
        if (flowProto(p.proto)) flags = FrameFlag.FLOW;
      } else if (r === DecodeResult.FRAGMENT) {
        w = this.#owner(packetPairHash(p));
        flags = FrameFlag.FRAGMENT;
        this.#defrag ??= new Defragmenter(this.#weirds);
        const whole = this.#defrag.add(p, raw); // (the datagram keeps the fragment's time)
        if (whole !== null && decoder.decode(whole, p) === DecodeResult.OK && flowProto(p.proto)) {
          flags |= FrameFlag.FLOW;
        }
      }
      log.set(f, w, flags, time);
      if (flags !== 0) this.#lastSent[w] = f;
      if (f % PUBLISH_EVERY === 0) this.#syncs();
      if (w === 0) {
        raw.frame = f;
        return true;
      }
      if (!rings[w].tryPacket(raw, f)) {
        const q = this.#pending;
        q.buf = raw.buf;
        q.offset = raw.offset;
        q.capLen = raw.capLen;
        q.wireLen = raw.wireLen;
        q.tsSec = raw.tsSec;
        q.tsNsec = raw.tsNsec;
        q.linkType = raw.linkType;
        q.ifIndex = raw.ifIndex;
        this.#pendingWorker = w;
        this.#blocked = Blocked.RING;
        return false;
      }
    }
  }

  async refill(): Promise<boolean> {
    this.publish();
    const wasBlocked = this.#blocked !== Blocked.NOTHING;
    while (this.#blocked !== Blocked.NOTHING && !this.failed()) {
      this.onWait();
      if (this.#blocked === Blocked.RING) {
        const ring = this.#rings[this.#pendingWorker];
        if (ring.tryPacket(this.#pending, this.frame)) this.#blocked = Blocked.NOTHING;
        else await ring.waitForRoom();
      } else if (this.#log.room(this.frame + 1, this.#n)) {
        this.#blocked = Blocked.NOTHING;
      } else {
        this.publish();
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    if (this.failed()) return false;
    if (wasBlocked) return true; // the rest of the buffer, before reading on
    return this.#file.refill();
  }

  close(): void {
    this.#file.close();
  }

  /** Make every ring's records visible to its worker. */
  publish(): void {
    for (let v = 1; v < this.#n; v++) this.#rings[v].publish();
  }

  /**
   * Publish every ring, after a SYNC record for each worker that got no
   * frame with a flow for {@linkcode SYNC_GAP} frames (a ring with no room
   * gets it next time).
   */
  #syncs(): void {
    const f = this.frame, rings = this.#rings;
    for (let v = 1; v < this.#n; v++) {
      if (f - this.#lastSent[v] >= SYNC_GAP && rings[v].tryMark(RingRecord.SYNC, f)) {
        this.#lastSent[v] = f;
      }
      rings[v].publish();
    }
  }
}

/** One analysis worker as main drives it. */
interface WorkerHandle {
  worker: Worker;
  ring: PacketRingWriter;
  stats: WorkerStats | undefined;
  done: Promise<DoneMessage>;
}

/**
 * Run over `paths` with `opts.workers` pipelines. `start` opens the outputs
 * once a file could be opened (never when none can be). Problems are printed
 * when found; the summary, unless `quiet`, is the one of a one-thread run.
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
  const files = await openCaptureFiles(paths, { onUnreadable: report });
  if (files.paths.length === 0) {
    files.close();
    return { exitCode: 1, problems, stats: addStats([]) };
  }
  let outputs: WorkerOutputs;
  let flowFile: LineFile | undefined;
  try {
    outputs = start();
    flowFile = opts.flows !== undefined ? new LineFile(opts.flows) : undefined;
  } catch (e) {
    files.close();
    throw e;
  }
  const bar = opts.progress ? ProgressBar.forStderr(files.totalBytes) : undefined;
  shown.bar = bar;
  const n = opts.workers;
  const merger = new EventMerger(n, outputs.emit);
  const log = new FrameTimeLog(TIME_LOG_FRAMES);
  let failure: { message: string; exitCode: number } | undefined;
  const fail = (message: string, exitCode = 2) => {
    failure ??= { message, exitCode };
  };
  const writeFlows = (lines: string[]) => {
    try {
      for (const line of lines) flowFile!.writeLine(line);
    } catch (e) {
      // As in one thread: a flow log that cannot be written ends the run (exit 2).
      fail(e instanceof Error ? e.message : String(e));
    }
  };

  // Workers 1 .. n − 1.
  const settings: AnalysisSettings = {
    maxFlows: opts.maxFlows,
    tcpTimeout: opts.tcpTimeout,
    udpTimeout: opts.udpTimeout,
    flowLog: flowFile !== undefined,
    statsIntervalMs: bar !== undefined ? 250 : 1000,
    ...(opts.evidenceDir !== undefined ? { evidenceDir: opts.evidenceDir } : {}),
    ...(opts.maxAnalyzers !== undefined ? { maxAnalyzers: opts.maxAnalyzers } : {}),
  };
  const handles: WorkerHandle[] = [];
  for (let w = 1; w < n; w++) {
    const sab = createPacketRing(ringBytes(RING_FRAME));
    const control = new SharedArrayBuffer(AnalysisControl.SIZE * 4);
    const worker = new Worker(new URL("./analysis_worker.ts", import.meta.url).href, {
      type: "module",
    });
    const h: WorkerHandle = {
      worker,
      ring: new PacketRingWriter(sab),
      stats: undefined,
      done: null!,
    };
    h.done = new Promise<DoneMessage>((resolve) => {
      const end = (done: DoneMessage) => {
        h.stats = done.stats;
        merger.done(w);
        resolve(done);
      };
      worker.onmessage = (e: MessageEvent<FromAnalysis>) => {
        const m = e.data;
        if (m.type === "events") merger.add(m);
        else if (m.type === "flows") writeFlows(m.lines);
        else if (m.type === "stats") h.stats = m.stats;
        else if (m.type === "error") {
          fail(m.message, m.exitCode);
          end({ type: "done", worker: w, stats: addStats([]) });
        } else if (m.type === "done") {
          if (m.error !== undefined) fail(m.error, m.exitCode);
          end(m);
        }
      };
      worker.onerror = (e) => {
        e.preventDefault();
        fail(`analysis worker ${w} failed: ${e.message}`);
        end({ type: "done", worker: w, stats: addStats([]) });
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

  // Pipeline 0, on this thread.
  const replay = new TimeReplay(log, 0);
  let events: DetectionEvent[] = [], frames: number[] = [], lines: string[] = [];
  const weirds = new Weirds();
  const evidence = opts.evidenceDir !== undefined
    ? new EvidenceRecorder(opts.evidenceDir)
    : undefined;
  const set = createDetectors(
    (ev: DetectionEvent) => {
      events.push(structuredClone(ev)); // as it is now (the sinks write it later)
      frames.push(replay.cursor);
      const session = ev.kind === "vpn" || ev.kind === "admin";
      if (evidence !== undefined && ev.phase !== "end" && session) evidence.write(ev);
    },
    weirds,
    opts.maxAnalyzers !== undefined ? { maxAnalyzers: opts.maxAnalyzers } : {},
  );
  const pipeline = new Pipeline(set.detectors, {
    maxFlows: opts.maxFlows,
    timeouts: { active: opts.tcpTimeout, udp: opts.udpTimeout },
    onFlowEnd: flowFile !== undefined
      ? (table, slot) => lines.push(escapeJsonLine(JSON.stringify(flowRecord(table, slot))))
      : undefined,
    evidence,
    beforeTrack: replay.before,
  }, weirds);
  replay.attach(pipeline);
  const mainStats = () => pipelineStats(pipeline, set.classifier, set);
  const flushMain = () => {
    replay.publish();
    merger.add({ worker: 0, events, frames, progress: replay.last });
    events = [];
    frames = [];
    if (lines.length > 0) writeFlows(lines);
    lines = [];
  };
  const total = () => {
    const s = addStats([mainStats(), ...handles.flatMap((h) => h.stats ?? [])]);
    s.footprint.infraEvents = merger.infra;
    s.footprint.faces = merger.faces;
    s.events = { ...merger.counts };
    return s;
  };
  addSummaryPart(() => footprintSummary(total().footprint));
  outputs.attach?.({
    workers: () => [
      { worker: 0, stats: mainStats() },
      ...handles.map((h, i) => ({ worker: i + 1, stats: h.stats ?? addStats([]) })),
    ],
  });

  const src = new DealingSource(files, [null!, ...handles.map((h) => h.ring)], log);
  src.onWait = flushMain;
  src.failed = () => failure !== undefined;
  try {
    for (;;) {
      try {
        await pipeline.run(src, () => {
          flushMain();
          bar?.show(files.bytesRead, total().packets, total().classifier.alerts);
        });
        break;
      } catch (e) {
        if (!(e instanceof CaptureFileError)) throw e;
        report(e);
        files.skipFile(); // go on with the next file
      }
    }
  } finally {
    bar?.done();
    const end = src.frame;
    for (const h of handles) {
      while (!h.ring.tryMark(RingRecord.END, end) && failure === undefined) {
        await h.ring.waitForRoom();
      }
      h.ring.publish();
    }
    files.close();
  }
  // The end of input: the rest of the others' packet time, then every flow ends.
  replay.upTo(src.frame + 1);
  replay.cursor = src.frame + 1;
  pipeline.finish();
  flushMain();
  merger.done(0);
  await Promise.all(handles.map((h) => h.done));
  flowFile?.close();
  const stats = total();
  if (failure !== undefined) console.error(`sealert: ${failure.message}`);
  if (!opts.quiet) {
    const seconds = (performance.now() - started) / 1000;
    const out = [summaryOf(stats, seconds)];
    out.push(...fileSummary(paths.length, files.filesDone, problems));
    console.error(out.join("\n"));
  }
  const exitCode = failure !== undefined ? failure.exitCode : problems.length > 0 ? 1 : 0;
  return { exitCode, problems, stats };
}
