/**
 * The alert sink interface and its error type: what every output
 * (text log, JSON lines, syslog, …) implements.
 *
 * @module
 */

import type { DetectionEvent } from "../detect/event.ts";

/** Something that records detection events (text log, JSON lines, syslog, …). */
export interface AlertSink {
  /** Record one event. Errors are reported by throwing `SinkError`. */
  write(ev: DetectionEvent): void;
  /** Flush buffered output. */
  flush(): void;
  /** Reopen files (after logrotate moved them); no-op for non-file sinks. */
  reopen(): void;
  /** Flush and release resources; safe to call twice. */
  close(): void;
}

/** A sink could not write (disk full, permission, closed socket). */
export class SinkError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "SinkError";
  }
}
