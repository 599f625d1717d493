/**
 * Packet time for one pipeline among several that split an input by
 * address pair (offline `--workers N`).
 *
 * In one thread, every packet that reaches a flow moves the clock of every
 * flow and detector: the flow table ends idle flows when the second of
 * packet time changes, and each detector fires its timers at the first
 * packet past a deadline, whoever's packet it is (`Detector.onPacket` checks
 * its deadlines before looking at the packet; `tick` does the same without
 * one). A pipeline that sees only its own pairs' packets would fire them
 * later. So, before each of its own packets, it replays the packet times of
 * the frames the other pipelines got since its previous one — read from the
 * shared {@linkcode FrameTimeLog} — exactly as one thread would have seen
 * them: the flow table's clock and expiry, then the detectors' timers. Its
 * flows and detectors then live the same life as in one thread, at the same
 * packet times.
 *
 * @module
 */

import { FrameFlag, type FrameTimeLog } from "../capture/frame_time_log.ts";
import type { Pipeline } from "../pipeline.ts";

/** The replay of the other pipelines' packet times for pipeline `me`. */
export class TimeReplay {
  /** The frame being analysed or replayed now (events decided now are dated at it). */
  cursor = 0;
  /** Every frame up to this one was replayed or analysed. */
  last = 0;
  readonly #log: FrameTimeLog;
  readonly #me: number;
  #pipeline: Pipeline | undefined;

  /** Replays for pipeline number `me` from `log`. */
  constructor(log: FrameTimeLog, me: number) {
    this.#log = log;
    this.#me = me;
  }

  /** The pipeline whose clock and timers the replay drives. */
  attach(pipeline: Pipeline): void {
    this.#pipeline = pipeline;
  }

  /**
   * For `Pipeline`'s `beforeTrack`: the own frame `frame` is about to be
   * tracked; the others' frames before it pass first.
   */
  readonly before = (frame: number): void => {
    if (frame > this.last + 1) this.upTo(frame);
    this.cursor = frame;
    this.last = frame;
  };

  /**
   * Let the packet time of the other pipelines' frames after the last one
   * handled, up to `end` (excluded), pass as one thread would: IP
   * reassembly's timeouts (a fragment), the flow table's clock (idle flows
   * expire when the second changes, as `FlowTable.track` does), then the
   * detectors' timers (`Pipeline.tick`). Frames that reach no flow move no
   * flow clock, in one thread either.
   */
  upTo(end: number): void {
    const p = this.#pipeline!, log = this.#log, me = this.#me, t = p.flows;
    for (let g = this.last + 1; g < end; g++) {
      if (log.owner(g) === me) continue;
      const flags = log.flags(g);
      if (flags === 0) continue;
      const ts = log.time(g);
      // A fragment: in one thread reassembly drops its timed-out datagrams first.
      if ((flags & FrameFlag.FRAGMENT) !== 0) p.defrag?.expire(ts);
      if ((flags & FrameFlag.FLOW) === 0) continue;
      this.cursor = g;
      if (ts > t.now) {
        const before = t.now;
        t.now = ts;
        if (Math.floor(ts) !== Math.floor(before)) t.expire(ts);
      }
      p.tick(ts);
    }
    if (end - 1 > this.last) this.last = end - 1;
  }

  /** Publish {@linkcode last} as this pipeline's progress in the log. */
  publish(): void {
    this.#log.setProgress(this.#me, this.last);
  }
}
