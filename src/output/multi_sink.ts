/**
 * Fan-out of detection events to several sinks. A failing sink never
 * prevents the others from receiving the event.
 *
 * @module
 */

import type { DetectionEvent } from "../detect/event.ts";
import type { AlertSink } from "./sink.ts";
import { SinkError } from "./sink.ts";

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
 * earlier one throws. The failures are then either given to `onError`, or,
 * without it, thrown: the error itself when there is one, a
 * {@linkcode MultiSinkError} (a `SinkError`) when there are several.
 */
export class MultiSink implements AlertSink {
  /** The sinks, in call order. */
  readonly sinks: readonly AlertSink[];
  #onError: ((err: Error, sink: AlertSink) => void) | undefined;

  /** Creates the fan-out over `sinks`. */
  constructor(sinks: readonly AlertSink[], options: MultiSinkOptions = {}) {
    this.sinks = [...sinks];
    this.#onError = options.onError;
  }

  #each(call: (sink: AlertSink) => void): void {
    const errors: Error[] = [];
    for (const sink of this.sinks) {
      try {
        call(sink);
      } catch (err) {
        const e = err instanceof Error ? err : new SinkError(String(err));
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
    this.#each((s) => s.write(ev));
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
