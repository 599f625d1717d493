/**
 * Progress bar on stderr for large offline files (only when stderr is a
 * terminal): percent, packets/s, alerts so far.
 *
 * @module
 */

import type { SoftEtherTcpDetector } from "../detect/softether_tcp_detector.ts";
import type { Pipeline } from "../pipeline.ts";

const encoder = new TextEncoder();
/** Files smaller than this get no bar. */
const MIN_BYTES = 64 * 1024 * 1024;

/** A throttled single-line progress display. */
export class ProgressBar {
  readonly #total: number;
  readonly #start = performance.now();
  #last = 0;
  #shown = false;

  private constructor(total: number) {
    this.#total = total;
  }

  /** A bar for `totalBytes`, or undefined when stderr is not a terminal or the input is small. */
  static forStderr(totalBytes: number): ProgressBar | undefined {
    if (totalBytes < MIN_BYTES || !Deno.stderr.isTerminal()) return undefined;
    return new ProgressBar(totalBytes);
  }

  /** Redraw (at most 4 times a second). */
  update(done: number, p: Pipeline, c: SoftEtherTcpDetector): void {
    this.show(done, p.packets, c.stats.alerts);
  }

  /** Redraw from counters (several analysis workers' added up); at most 4 times a second. */
  show(done: number, packets: number, alerts: number): void {
    const now = performance.now();
    if (now - this.#last < 250) return;
    this.#last = now;
    const pct = Math.min(100, (done / this.#total) * 100);
    const rate = packets / Math.max(0.001, (now - this.#start) / 1000);
    const width = 30, fill = Math.round((pct / 100) * width);
    const line = `\r[${"#".repeat(fill)}${" ".repeat(width - fill)}] ${pct.toFixed(1)}% ` +
      `${(rate / 1e6).toFixed(2)} M packets/s, ${alerts} alerts `;
    Deno.stderr.writeSync(encoder.encode(line));
    this.#shown = true;
  }

  /** Clear the line. */
  done(): void {
    if (this.#shown) Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
  }
}
