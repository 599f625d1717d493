/**
 * Fan-out of detection events to several sinks. A failing sink never
 * prevents the others from receiving the event.
 *
 * @module
 */

import type { DetectionEvent } from "../detect/event.ts";
import type { AlertSink } from "./sink.ts";
import { SinkError } from "./sink.ts";
import { hasLogLine } from "./text_log.ts";

/** Several sink failures from one call, as one error whose message joins theirs with "; ". */
class MultiSinkError extends SinkError {
  /** The individual errors, in sink order. */
  readonly errors: readonly Error[];
  /** Creates the combined error. */
  constructor(errors: readonly Error[]) {
    super(errors.map((e) => e.message).join("; "));
    this.name = "MultiSinkError";
    this.errors = errors;
  }
}

/** What one sink of a {@linkcode MultiSink} failed to record. */
interface SinkLoss {
  /** Alerts (events other than session ends) whose write failed. */
  alerts: number;
  /** Session-end records whose write failed. */
  records: number;
  /** Side-flow records (JSON only) whose write failed. */
  sideFlows: number;
  /** The latest write failure. */
  lastError: Error | undefined;
}

/** Options of {@linkcode MultiSink}. */
interface MultiSinkOptions {
  /**
   * Receives each failure (with the failing sink) instead of it being
   * thrown. Without it, failures are thrown after all sinks were tried.
   */
  onError?: (err: Error, sink: AlertSink) => void;
}

/**
 * Passes every call to each sink in order. Every sink is tried even when an
 * earlier one throws; a failed write is counted against its sink (`lost`). The failures are then either given to `onError`, or,
 * without it, thrown: the error itself when there is one, a
 * {@linkcode MultiSinkError} (a `SinkError`) when there are several.
 */
export class MultiSink implements AlertSink {
  /** The sinks, in call order. */
  readonly sinks: readonly AlertSink[];
  #onError: ((err: Error, sink: AlertSink) => void) | undefined;
  #losses = new Map<AlertSink, SinkLoss>();

  /** Creates the fan-out over `sinks`. */
  constructor(sinks: readonly AlertSink[], options: MultiSinkOptions = {}) {
    this.sinks = [...sinks];
    this.#onError = options.onError;
  }

  /** What `sink` failed to record so far (write failures; flush, reopen and close are not counted). */
  lost(sink: AlertSink): SinkLoss {
    return {
      ...(this.#losses.get(sink) ?? { alerts: 0, records: 0, sideFlows: 0, lastError: undefined }),
    };
  }

  #count(sink: AlertSink, ev: DetectionEvent, e: Error): void {
    let l = this.#losses.get(sink);
    if (l === undefined) {
      this.#losses.set(sink, l = { alerts: 0, records: 0, sideFlows: 0, lastError: e });
    }
    if (ev.phase === "end") l.records++;
    else if (!hasLogLine(ev)) l.sideFlows++;
    else l.alerts++;
    l.lastError = e;
  }

  #each(call: (sink: AlertSink) => void, ev?: DetectionEvent): void {
    const errors: Error[] = [];
    for (const sink of this.sinks) {
      try {
        call(sink);
      } catch (err) {
        const e = err instanceof Error ? err : new SinkError(String(err));
        if (ev !== undefined) this.#count(sink, ev, e);
        if (this.#onError) this.#onError(e, sink);
        else errors.push(e);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new MultiSinkError(errors);
  }

  /**
   * Writes the event to every sink.
   *
   * @throws {SinkError} When a sink failed and there is no `onError`.
   */
  write(ev: DetectionEvent): void {
    this.#each((s) => s.write(ev), ev);
  }

  /**
   * Flushes every sink.
   *
   * @throws {SinkError} When a sink failed and there is no `onError`.
   */
  flush(): void {
    this.#each((s) => s.flush());
  }

  /**
   * Reopens every sink.
   *
   * @throws {SinkError} When a sink failed and there is no `onError`.
   */
  reopen(): void {
    this.#each((s) => s.reopen());
  }

  /**
   * Closes every sink.
   *
   * @throws {SinkError} When a sink failed and there is no `onError`.
   */
  close(): void {
    this.#each((s) => s.close());
  }
}
