/**
 * The size leaf of the analyzer tree: follows SoftEther's set-up from the
 * sizes, directions and order of a stream's bursts when its content cannot
 * be read — inside SSH (`ssh -L`: the forwarded TLS is invisible), and for
 * TLS whose records a short snaplen cut away. Fed by the stream engine, so
 * retransmissions, duplicates, tiny segments and mirror-port skew change
 * nothing; decisions by {@linkcode BurstPatternDetector}.
 *
 * @module
 */

import { BurstPatternDetector } from "./burst_pattern.ts";
import type { Inspection, SetupDecider } from "./inspection.ts";
import type { StreamAnalyzer } from "./stream_analyzer.ts";
import { Verdict } from "./verdict.ts";

/** Decides from burst sizes (SSH, or TLS cut by the snaplen). */
export class SizePathAnalyzer implements StreamAnalyzer, SetupDecider {
  /** Layer name ("ssh" or "burst"). */
  readonly layer: string;
  readonly #c: Inspection;
  readonly #bursts: BurstPatternDetector;

  /** Creates the analyzer; `framing` bytes per burst of the outer layer, `label` for evidence. */
  constructor(c: Inspection, framing: number, label: string) {
    this.#c = c;
    this.layer = label;
    this.#bursts = new BurstPatternDetector(framing, label, c.rtt);
  }

  /** Stage reached: WELCOME once the inner set-up matched (5), else 0. */
  get stage(): number {
    return this.#bursts.setupTs > 0 ? 5 : 0;
  }

  /** One field (prefetch). */
  touch(): number {
    return this.#bursts.deadline;
  }

  /** In-order bytes: counted into the current burst. */
  data(dir: number, _buf: Uint8Array, _off: number, len: number, ts: number): void {
    if (!this.#c.decided) this.#bursts.bytes(dir, len, ts);
  }

  /** Bytes the snaplen cut off: sizes still count. */
  cut(dir: number, len: number, ts: number): void {
    if (!this.#c.decided) this.#bursts.bytes(dir, len, ts);
  }

  /** Missing bytes: their size still counts (the burst happened). */
  gap(dir: number, len: number, ts: number): void {
    if (!this.#c.decided) this.#bursts.bytes(dir, len, ts);
  }

  /** The roles were the other way round: swap the directions seen so far. */
  flip(): void {
    this.#bursts.flip();
  }

  /** After each packet. */
  check(ts: number): void {
    this.#take(this.#bursts.poll(ts));
  }

  /** Decision timer. */
  timer(now: number): void {
    this.#take(this.#bursts.timer(now));
  }

  /** Connection end. */
  close(ts: number): void {
    this.#take(this.#bursts.close(ts));
  }

  /** Session evidence does not change a size-path decision. */
  reconsider(_now: number): void {}

  #take(v: number): void {
    const c = this.#c;
    if (c.decided) return;
    if (v === Verdict.UNDECIDED) {
      c.deadline = this.#bursts.deadline;
      return;
    }
    c.verdict = v;
    if (v === Verdict.ADDITIONAL) c.additional = true;
    if (v !== Verdict.NOT_SOFTETHER) {
      c.evidence.length = 0;
      c.evidence.push(...this.#bursts.evidence);
      c.setupTs = this.#bursts.setupTs;
      c.confidence = this.#bursts.confidence;
    }
  }
}
