/**
 * Alert de-duplication for SIEM sinks: one long-lived or reconnecting
 * session must not flood syslog or a JSON feed with identical alerts.
 *
 * @module
 */

import type { DetectionEvent } from "../detect/event.ts";
import type { AlertSink } from "./sink.ts";

/** Default suppression window: 300 seconds of packet time. */
const DEFAULT_DEDUP_WINDOW = 300;

/** Options of {@linkcode DedupSink}. */
interface DedupOptions {
  /** Seconds of packet time during which a repeat is suppressed. Default 300. */
  windowSeconds?: number;
}

/**
 * The identity of an alert for de-duplication: kind, variant, outcome,
 * client address (not port: reconnections use new ports) and server
 * address and port.
 */
function dedupKey(ev: DetectionEvent): string {
  return [
    ev.kind,
    ev.variant,
    ev.outcome,
    ev.client.ip,
    ev.server.ip,
    ev.server.port,
    ev.service ?? "",
    ev.face ?? "",
  ].join("|");
}

/**
 * Passes an event to the wrapped sink unless an event with the same
 * {@linkcode dedupKey} was passed less than `windowSeconds` earlier (packet
 * time). The window counts from the last event passed on, not from the last
 * repeat, so a session that lasts hours yields one reminder per window.
 * Packet time going backwards (several capture files) counts by distance.
 */
export class DedupSink implements AlertSink {
  /** The sink events are passed to. */
  readonly inner: AlertSink;
  /** Window length in seconds of packet time. */
  readonly windowSeconds: number;
  #last = new Map<string, number>();
  #passed = new Set<number>(); // flows whose alert was passed on, until their summary
  #suppressed = 0;
  #newest = -Infinity;
  #writesSincePrune = 0;

  /**
   * Wraps `inner`.
   *
   * @throws {RangeError} When the window is negative or not a number.
   */
  constructor(inner: AlertSink, options: DedupOptions = {}) {
    const w = options.windowSeconds ?? DEFAULT_DEDUP_WINDOW;
    if (!(w >= 0)) throw new RangeError(`Invalid dedup window: ${w}`);
    this.inner = inner;
    this.windowSeconds = w;
  }

  /** Repeats suppressed so far. */
  get suppressed(): number {
    return this.#suppressed;
  }

  /** Keys remembered (for memory accounting and tests). */
  get tracked(): number {
    return this.#last.size;
  }

  /**
   * Passes `ev` on unless it repeats a recent one. The event counts as seen
   * even if the wrapped sink throws.
   *
   * @throws {SinkError} Whatever the wrapped sink throws.
   */
  write(ev: DetectionEvent): void {
    if (ev.phase === "end") {
      // A session summary goes where its alert went: on only when the alert
      // (same flow) was passed on, not suppressed.
      if (this.#passed.delete(ev.flow_id)) this.inner.write(ev);
      return;
    }
    if (ev.session !== undefined) {
      // A side flow goes where its session's alert went.
      if (this.#passed.has(ev.session)) this.inner.write(ev);
      return;
    }
    const key = dedupKey(ev);
    const last = this.#last.get(key);
    if (last !== undefined && Math.abs(ev.ts - last) < this.windowSeconds) {
      this.#suppressed++;
      return;
    }
    this.#last.set(key, ev.ts);
    this.#passed.add(ev.flow_id);
    if (ev.ts > this.#newest) this.#newest = ev.ts;
    if (++this.#writesSincePrune >= 1024) this.#prune();
    this.inner.write(ev);
  }

  /** Forgets keys whose window ended (relative to the newest packet time seen). */
  #prune(): void {
    this.#writesSincePrune = 0;
    for (const [key, ts] of this.#last) {
      if (Math.abs(this.#newest - ts) >= this.windowSeconds) this.#last.delete(key);
    }
  }

  /** Flushes the wrapped sink. */
  flush(): void {
    this.inner.flush();
  }

  /** Reopens the wrapped sink. */
  reopen(): void {
    this.inner.reopen();
  }

  /** Closes the wrapped sink. */
  close(): void {
    this.inner.close();
  }
}
