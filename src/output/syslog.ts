/**
 * Syslog alert sink: RFC 5424 messages over UDP, TCP (RFC 6587 octet
 * counting) or a local Unix socket such as /dev/log. Sending never blocks
 * and never throws: a TCP target that is down is retried with back-off while
 * messages wait in a bounded queue; a message that could not be delivered is
 * counted in `errors`, the failure kept in `lastError` and reported once per
 * outage to `onError`.
 *
 * @module
 */

import type { DetectionEvent } from "../detect/event.ts";
import type { AlertSink } from "./sink.ts";
import { hasLogLine } from "./text_log.ts";
import { SinkError } from "./sink.ts";
import {
  DEFAULT_ENTERPRISE_ID,
  DEFAULT_FACILITY,
  formatBsdLocal,
  formatRfc5424,
  type SyslogHeader,
} from "./syslog_message.ts";
import { formatSyslogTarget, parseSyslogTarget, type SyslogTarget } from "./syslog_target.ts";
import { openTransport, type SyslogTransport, type TransportStatus } from "./syslog_transport.ts";
import type { UnixSocketCalls } from "./unix_datagram.ts";
import type { UtcOffset } from "./timestamp.ts";

/** Options of {@linkcode SyslogSink}. */
interface SyslogOptions {
  /** Facility number 0–23. Default 16 (local0). */
  facility?: number;
  /**
   * Message format: "rfc5424" (default), or "bsd", the syslog(3) form
   * `<PRI>Mmm dd HH:MM:SS sealert[PID]: MSG` that rsyslog's imuxsock and
   * journald expect on /dev/log by default.
   */
  format?: "rfc5424" | "bsd";
  /** HOSTNAME field. Default: this host's name, or "-" if it cannot be read. */
  hostname?: string;
  /** APP-NAME field. Default "sealert". */
  appName?: string;
  /** PROCID field. Default: this process id. */
  procId?: string;
  /** Enterprise number of the SD-ID "sealert@N". Default 32473. */
  enterpriseId?: number;
  /** Time zone of the "bsd" timestamp (default: host local time). */
  tz?: UtcOffset;
  /** Called with the first error after a success (once per outage, not per message). */
  onError?: (err: SinkError) => void;
  /**
   * Seconds before the first reconnection attempt, doubled after each failed
   * one up to `maxRetrySeconds` (stream targets queue messages meanwhile). Default 1.
   */
  retrySeconds?: number;
  /** Longest wait between reconnection attempts. Default 60. */
  maxRetrySeconds?: number;
  /** Seconds allowed for a TCP connection. Default 5. */
  connectTimeoutSeconds?: number;
  /** Bytes of messages a stream target may queue unsent before new ones are dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /**
   * libc's Unix datagram calls (src/cli passes `unixDatagramLibc()` of
   * `ffi/unix_socket.ts`). Without them a `unix://` target is used as a stream socket.
   */
  unixDatagram?: UnixSocketCalls | null;
}

/** This host's name, or "-" when it cannot be read (no --allow-sys). */
function defaultHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "-";
  }
}

const encoder = new TextEncoder();

/** Sends one syslog message per detection. */
export class SyslogSink implements AlertSink {
  /** Where messages go. */
  readonly target: SyslogTarget;
  #header: SyslogHeader;
  #format: "rfc5424" | "bsd";
  #tz: UtcOffset | undefined;
  #onError: ((err: SinkError) => void) | undefined;
  #transport: SyslogTransport;
  #errors = 0;
  #sent = 0;
  #lastError: SinkError | undefined;
  #healthy = true;
  #closed = false;

  /**
   * Prepares the sink; nothing is sent and no connection is made until the
   * first event.
   *
   * @param target `udp://host[:port]`, `tcp://host[:port]`, `unix:///dev/log`, or a parsed target.
   * @throws {RangeError} On an invalid target or facility.
   */
  constructor(target: string | SyslogTarget, options: SyslogOptions = {}) {
    this.target = typeof target === "string" ? parseSyslogTarget(target) : target;
    const facility = options.facility ?? DEFAULT_FACILITY;
    if (!Number.isInteger(facility) || facility < 0 || facility > 23) {
      throw new RangeError(`Invalid syslog facility: ${facility}`);
    }
    this.#header = {
      facility,
      hostname: options.hostname ?? defaultHostname(),
      appName: options.appName ?? "sealert",
      procId: options.procId ?? String(Deno.pid),
      enterpriseId: options.enterpriseId ?? DEFAULT_ENTERPRISE_ID,
    };
    this.#format = options.format ?? "rfc5424";
    this.#tz = options.tz;
    this.#onError = options.onError;
    this.#transport = openTransport(this.target, {
      ok: () => {
        this.#sent++;
        this.#healthy = true;
      },
      fail: (err, lost) => {
        this.#errors += lost;
        this.#lastError = err;
        if (!this.#healthy) return;
        this.#healthy = false;
        this.#onError?.(err);
      },
    }, {
      retrySeconds: options.retrySeconds ?? 1,
      maxRetrySeconds: options.maxRetrySeconds ?? 60,
      connectTimeoutSeconds: options.connectTimeoutSeconds ?? 5,
      maxBufferedBytes: options.maxBufferedBytes ?? 1 << 20,
      unixDatagram: options.unixDatagram ?? null,
    });
  }

  /** Messages that could not be sent so far. */
  get errors(): number {
    return this.#errors;
  }

  /** Messages handed to the operating system so far. */
  get sent(): number {
    return this.#sent;
  }

  /** Connection state and queue of the transport (for the status line). */
  status(): TransportStatus {
    return this.#transport.status();
  }

  /** The most recent failure, if any. */
  get lastError(): SinkError | undefined {
    return this.#lastError;
  }

  /** The syslog message of one event, as sent (without transport framing). */
  format(ev: DetectionEvent): string {
    return this.#format === "bsd"
      ? formatBsdLocal(ev, this.#header, this.#tz)
      : formatRfc5424(ev, this.#header);
  }

  /**
   * Sends the event. Network failures are not thrown: see `errors`,
   * `lastError` and `onError`.
   *
   * @throws {SinkError} Only when the sink was closed.
   */
  write(ev: DetectionEvent): void {
    if (this.#closed) {
      throw new SinkError(`Cannot send to syslog ${formatSyslogTarget(this.target)}: closed`);
    }
    if (!hasLogLine(ev)) return; // alerts only; session summaries and side flows go to JSON
    this.#transport.send(encoder.encode(this.format(ev)));
  }

  /** Sending is asynchronous; use `drain()` to wait for it. */
  flush(): void {}

  /** Nothing to reopen: connections are re-established after failures. */
  reopen(): void {}

  /**
   * Resolves once every message written so far was sent or counted as an
   * error, and after `close()` once the socket is released.
   */
  drain(): Promise<void> {
    return this.#transport.drain();
  }

  /** Stops accepting events; pending messages are still sent (await `drain()`). Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
  }
}
