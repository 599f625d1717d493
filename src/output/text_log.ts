/**
 * The SoftEther Alert text log: one line per detected connection, appended
 * to ./sealert.log and echoed to the console, in the 2004 format:
 *
 * ```text
 * [2004/08/28 20:01:00] SoftEther TCP Connection Detected (client 192.168.126.229:1027, server 61.197.235.210:7777)
 * ```
 *
 * @module
 */

import type { DetectionEvent, Endpoint } from "../detect/event.ts";
import type { AlertSink } from "./sink.ts";
import { SinkError } from "./sink.ts";
import { errorReason, LineFile, writeAllSync } from "./line_file.ts";
import { formatAlertTime, type UtcOffset } from "./timestamp.ts";

/** Default text log path, as in SoftEther Alert 1.00. */
const DEFAULT_TEXT_LOG = "./sealert.log";

/** "ip:port", with an IPv6 address in brackets: "[2001:db8::1]:443". */
export function formatEndpoint(ep: Endpoint): string {
  return ep.ip.includes(":") ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
}

/**
 * The alert text without the date prefix, e.g.
 * "SoftEther TCP Connection Detected (client 10.0.0.1:1027, server 10.0.0.2:443)".
 * Admin connections read "SoftEther Admin Connection …"; failed attempts
 * read "… Connection Attempt Detected …".
 */
export function formatAlertMessage(ev: DetectionEvent): string {
  const what = ev.kind === "admin" ? "Admin" : ev.variant;
  const attempt = ev.outcome === "attempt" ? " Attempt" : "";
  return `SoftEther ${what} Connection${attempt} Detected ` +
    `(client ${formatEndpoint(ev.client)}, server ${formatEndpoint(ev.server)})`;
}

/**
 * One text log line (no trailing newline): "[YYYY/MM/DD HH:MM:SS] " and the
 * alert message, dated with the packet time in local time.
 *
 * @param tz Offset from UTC to use instead of the host's local time zone
 *   (minutes east of UTC, or a function of the instant).
 */
export function formatAlertLine(ev: DetectionEvent, tz?: UtcOffset): string {
  return `[${formatAlertTime(ev.ts, tz)}] ${formatAlertMessage(ev)}`;
}

/** Options of {@linkcode TextLogSink}. */
interface TextLogOptions {
  /** Log file path; "-" writes to standard output only. Default "./sealert.log". */
  path?: string;
  /** Do not echo lines to standard output. Default false. */
  quiet?: boolean;
  /** Time zone override for the date prefix (default: host local time). */
  tz?: UtcOffset;
}

const encoder = new TextEncoder();

/**
 * Appends SoftEther Alert lines to a file and echoes them to standard output
 * unless quiet. The file is opened in append mode (created if missing, never
 * truncated) and every line is written whole with one write call.
 */
export class TextLogSink implements AlertSink {
  #file: LineFile;
  #echo: boolean;
  #tz: UtcOffset | undefined;

  /**
   * Opens the log file.
   *
   * @throws {SinkError} "Cannot open log file …" when it cannot be opened.
   */
  constructor(options: TextLogOptions = {}) {
    this.#file = new LineFile(options.path ?? DEFAULT_TEXT_LOG);
    this.#echo = !options.quiet && !this.#file.isStdout;
    this.#tz = options.tz;
  }

  /** Path of the log file ("-" for standard output). */
  get path(): string {
    return this.#file.path;
  }

  /**
   * Appends the event's line, then echoes it. An echo failure (closed
   * standard output) is thrown once and turns echoing off.
   *
   * @throws {SinkError} "Cannot write to log file …" or "Cannot write to standard output …".
   */
  write(ev: DetectionEvent): void {
    if (ev.phase === "end") return; // one line per connection: summaries go to JSON only
    const line = formatAlertLine(ev, this.#tz);
    this.#file.writeLine(line);
    if (!this.#echo) return;
    try {
      writeAllSync(Deno.stdout, encoder.encode(line + "\n"));
    } catch (err) {
      this.#echo = false;
      throw new SinkError(
        `Cannot write to standard output: ${errorReason(err)} (console echo turned off)`,
      );
    }
  }

  /** Lines are written unbuffered; nothing to flush. */
  flush(): void {}

  /**
   * Closes and reopens the same path (SIGHUP after logrotate).
   *
   * @throws {SinkError} "Cannot open log file …"; the next write retries.
   */
  reopen(): void {
    this.#file.reopen();
  }

  /** Closes the log file; safe to call twice. */
  close(): void {
    this.#file.close();
  }
}
