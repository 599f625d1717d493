/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/**
 * An analysis worker: one whole pipeline (decoder, flow table, every
 * detector of `createDetectors`) in a Worker, fed by the packet source its
 * `start` message names, posting back its detections, flow log lines and
 * counters (`analysis_protocol.ts` has the messages).
 *
 * Sources:
 *
 * - `ring` (offline `--workers N`): the reader on the main thread hands this
 *   worker the frames of its address pairs through a SharedArrayBuffer ring,
 *   each with its global frame number (flow ids are the one-thread ones).
 *   Packet time: in one thread, every packet moves the clock of every flow
 *   and detector (idle flows expire once a second; a decision waiting for
 *   time fires at the first packet past its deadline, whoever's it is). So
 *   before each of its own packets the worker replays the times of the
 *   frames the other workers got since its last one, from the shared frame
 *   time log: the flow table's clock and expiry, then the detectors' timers
 *   (`Pipeline.tick`), exactly at the packet times one thread would have
 *   used. A SYNC record replays up to its frame when this worker got nothing
 *   for a while; END replays the rest, then every flow ends.
 * - `pcap` (live `--workers N` and several interfaces): libpcap read on the
 *   worker's own thread, as one member of the interface's kernel fanout
 *   group when it has several workers (`src/capture/fanout_source.ts`).
 *   When the link is idle, packet time moves with the wall clock (as the
 *   single-thread live run does), so decisions waiting for time are made.
 *
 * Hot path: a packet costs what it costs in one thread, plus, per frame of
 * another worker, two typed-array loads, a comparison and the detectors'
 * `tick` (one comparison each when nothing is due); nothing is allocated.
 *
 * @module
 */

import { CaptureDeviceError } from "../../ffi/errors.ts";
import { PcapPacketSource } from "../capture/fanout_source.ts";
import { FrameTimeLog } from "../capture/frame_time_log.ts";
import { TimeReplay } from "./time_replay.ts";
import { PacketRingReader, RingRecord } from "../capture/packet_ring.ts";
import type { PacketSource, RawPacket } from "../capture/raw_packet.ts";
import { Weirds } from "../decode/weirds.ts";
import { createDetectors } from "../detect/detector_set.ts";
import type { DetectionEvent } from "../detect/event.ts";
import { flowRecord } from "../flow/flow_record.ts";
import { EvidenceRecorder } from "../output/evidence.ts";
import { escapeJsonLine } from "../output/wire_text.ts";
import { Pipeline } from "../pipeline.ts";
import {
  AnalysisControl,
  type FromAnalysis,
  type PcapSourceSpec,
  type RingSourceSpec,
  type StartMessage,
  type ToAnalysis,
} from "./analysis_protocol.ts";
import { addStats, pipelineStats } from "./summary.ts";

/** Records a ring source hands out before letting the pipeline return to the worker. */
const RING_CHUNK = 1024;
/** Events are posted at least this often while some are waiting (ms). */
const EVENT_FLUSH_MS = 50;
/** Flow log lines are posted once this many are waiting (or with the events). */
const FLOW_LINES_FLUSH = 2048;

function post(message: FromAnalysis): void {
  self.postMessage(message);
}

let control: Int32Array | undefined;
let started = false;

self.onmessage = (event: MessageEvent<ToAnalysis>) => {
  const message = event.data;
  if (message.type === "start" && !started) {
    started = true;
    control = new Int32Array(message.control);
    run(message).catch((err) => {
      // A bug: report it rather than leave main waiting.
      post({
        type: "done",
        worker: message.worker,
        stats: addStats([]),
        error: `analysis worker ${message.worker} failed: ${
          err instanceof Error ? err.message : String(err)
        }`,
        exitCode: 2,
      });
      self.close();
    });
  } else if (message.type === "stop" && control !== undefined) {
    Atomics.store(control, AnalysisControl.STOP, 1);
  }
};

/** A packet source as the worker drives it. */
interface WorkerSource extends PacketSource {
  /** Called before each packet's flow is tracked, with its frame number. */
  beforeTrack?: (frame: number) => void;
  /** Called after each chunk of packets was analysed (before `refill`). */
  afterChunk?: () => void;
  /** Called at the end of input, before the pipeline finishes. */
  beforeFinish?: () => void;
  /** Frame events are dated at now (0 when the source has no global numbering). */
  readonly cursor: number;
  /** Every event up to this frame has been emitted (0 when unnumbered). */
  readonly progress: number;
}

/**
 * The offline reader's ring, with the replay of the other workers' packet
 * times (see the module doc).
 */
class RingSource implements WorkerSource {
  readonly #reader: PacketRingReader;
  readonly #replay: TimeReplay;
  readonly #stop: Int32Array;
  #count = 0;
  #mark = 0; // SYNC / END record waiting for the end of the chunk
  #markFrame = 0;
  #ended = false;

  constructor(spec: RingSourceSpec, worker: number, stop: Int32Array) {
    this.#reader = new PacketRingReader(spec.ring);
    this.#replay = new TimeReplay(new FrameTimeLog(spec.timeLog), worker);
    this.#stop = stop;
    this.beforeTrack = this.#replay.before;
  }

  /** The pipeline whose clock and timers the replay drives. */
  attach(pipeline: Pipeline): void {
    this.#replay.attach(pipeline);
  }

  get cursor(): number {
    return this.#replay.cursor;
  }

  get progress(): number {
    return this.#replay.last;
  }

  next(raw: RawPacket): boolean {
    if (this.#count >= RING_CHUNK || this.#mark !== 0) return false;
    const r = this.#reader;
    if (!r.next(raw)) return false;
    if (r.type === RingRecord.PACKET) {
      this.#count++;
      return true;
    }
    this.#mark = r.type;
    this.#markFrame = r.frame;
    return false;
  }

  async refill(): Promise<boolean> {
    this.#count = 0;
    if (this.#ended) return false;
    const r = this.#reader;
    r.release();
    while (!r.available()) {
      if (Atomics.load(this.#stop, AnalysisControl.STOP) !== 0) return false;
      await r.waitForData();
    }
    return true;
  }

  close(): void {
    this.#reader.release();
  }

  readonly beforeTrack: (frame: number) => void;

  readonly afterChunk = (): void => {
    if (this.#mark === RingRecord.SYNC) this.#replay.upTo(this.#markFrame + 1);
    else if (this.#mark === RingRecord.END) this.#ended = true;
    if (this.#mark !== RingRecord.END) this.#mark = 0;
    this.#replay.publish();
  };

  readonly beforeFinish = (): void => {
    if (this.#mark === RingRecord.END) this.#replay.upTo(this.#markFrame + 1);
    this.#replay.cursor = this.#markFrame + 1;
    this.#replay.publish();
  };
}

/** Live capture: the interface's packets, or this worker's share of its fanout group. */
class PcapSource implements WorkerSource {
  readonly cursor = 0;
  readonly progress = 0;
  readonly capture: PcapPacketSource;

  constructor(spec: PcapSourceSpec, worker: number, workers: number, stop: Int32Array) {
    this.capture = PcapPacketSource.open({
      // Flow ids unique in the run: worker w numbers its packets w + 1, w + 1 + N, …
      frameStride: workers,
      frameOffset: worker,
      device: spec.device,
      snaplen: spec.snaplen,
      promisc: spec.promisc,
      bufferSize: spec.bufferSize,
      filter: spec.filter,
      fanout: spec.fanout === undefined ? undefined : {
        group: spec.fanout.group,
        member: spec.fanout.id,
        count: spec.fanout.count,
        rendezvous: spec.fanout.rendezvous,
      },
    }, () => Atomics.load(stop, AnalysisControl.STOP) !== 0);
  }

  next(raw: RawPacket): boolean {
    return this.capture.next(raw);
  }

  refill(): Promise<boolean> {
    return this.capture.refill();
  }

  close(): void {
    this.capture.close();
  }
}

/** Opens the packet source of `start`; throws a one-line error when it cannot. */
function openSource(start: StartMessage, stop: Int32Array): WorkerSource {
  const spec = start.source;
  if (spec.kind === "ring") return new RingSource(spec, start.worker, stop);
  return new PcapSource(spec, start.worker, start.workers, stop);
}

async function run(start: StartMessage): Promise<void> {
  const { worker, settings } = start;
  const stop = new Int32Array(start.control);
  let src: WorkerSource;
  try {
    src = openSource(start, stop);
  } catch (err) {
    post({
      type: "error",
      worker,
      message: err instanceof Error ? err.message : String(err),
      exitCode: err instanceof CaptureDeviceError ? err.exitCode : 2,
    });
    self.close();
    return;
  }
  const live = src instanceof PcapSource ? src.capture : undefined;
  post({
    type: "started",
    worker,
    ...(live === undefined ? {} : { linkType: live.linkType, snaplen: live.snaplen }),
    ...(live?.warning === undefined ? {} : { warning: live.warning }),
  });

  let events: DetectionEvent[] = [];
  let frames: number[] = [];
  const counts: Record<string, number> = {};
  let lines: string[] = [];
  const evidence = settings.evidenceDir !== undefined
    ? new EvidenceRecorder(settings.evidenceDir)
    : undefined;
  const weirds = new Weirds();
  const set = createDetectors(
    (ev: DetectionEvent) => {
      // A copy as it is now: detectors update their events later (a
      // session's connection count) and one thread's sinks write them at once.
      events.push(structuredClone(ev));
      frames.push(src.cursor);
      const key = ev.kind === "vpn" || ev.kind === "admin" ? `${ev.kind}/${ev.variant}` : ev.kind;
      counts[key] = (counts[key] ?? 0) + 1;
      const session = ev.kind === "vpn" || ev.kind === "admin";
      if (evidence !== undefined && ev.phase !== "end" && session) evidence.write(ev);
    },
    weirds,
    settings.maxAnalyzers !== undefined ? { maxAnalyzers: settings.maxAnalyzers } : {},
  );
  const pipeline = new Pipeline(set.detectors, {
    maxFlows: settings.maxFlows,
    timeouts: { active: settings.tcpTimeout, udp: settings.udpTimeout },
    onFlowEnd: settings.flowLog
      ? (table, slot) => lines.push(escapeJsonLine(JSON.stringify(flowRecord(table, slot))))
      : undefined,
    evidence,
    beforeTrack: src.beforeTrack,
  }, weirds);
  if (src instanceof RingSource) src.attach(pipeline);
  if (live !== undefined) {
    // An idle link: let packet time pass with the wall clock (as run_live.ts does).
    live.onIdle = (idle) => {
      if (pipeline.packets > 0) pipeline.tick(pipeline.flows.now + idle);
    };
  }

  const stats = () => {
    const s = pipelineStats(pipeline, set.classifier, set, counts);
    if (live !== undefined) s.capture = live.stats();
    return s;
  };
  let lastEvents = performance.now();
  let nextStats = lastEvents + settings.statsIntervalMs;
  const flush = (force: boolean) => {
    const now = performance.now();
    if (events.length > 0 || force || now - lastEvents >= EVENT_FLUSH_MS) {
      if (lines.length > 0) {
        post({ type: "flows", worker, lines });
        lines = [];
      }
      post({ type: "events", worker, events, frames, progress: src.progress });
      events = [];
      frames = [];
      lastEvents = now;
    } else if (lines.length >= FLOW_LINES_FLUSH) {
      post({ type: "flows", worker, lines });
      lines = [];
    }
    if (settings.statsIntervalMs > 0 && now >= nextStats) {
      nextStats = now + settings.statsIntervalMs;
      post({ type: "stats", worker, stats: stats() });
    }
  };

  let error: string | undefined;
  let errorCode = 2;
  try {
    await pipeline.run(src, () => {
      src.afterChunk?.();
      flush(false);
    });
    src.beforeFinish?.();
    pipeline.finish();
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    if (err instanceof CaptureDeviceError) {
      // The capture failed (3: the device went away): what was captured is
      // analysed, the pending decisions made, every flow ended, as one thread does.
      errorCode = err.exitCode;
      pipeline.finish();
    }
  } finally {
    src.close();
  }
  flush(true);
  post({
    type: "done",
    worker,
    stats: stats(),
    ...(error !== undefined ? { error, exitCode: errorCode } : {}),
  });
  self.close();
}
