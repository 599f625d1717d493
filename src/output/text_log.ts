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
import { replaceControls } from "./wire_text.ts";

/** Default text log path, as in SoftEther Alert 1.00. */
const DEFAULT_TEXT_LOG = "./sealert.log";

/**
 * "ip:port", with an IPv6 address in brackets: "[2001:db8::1]:443"; the bare
 * address when the port is 0 (ICMP).
 */
export function formatEndpoint(ep: Endpoint): string {
  if (ep.port === 0) return ep.ip;
  return ep.ip.includes(":") ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
}

/**
 * Whether an event has a line in the text log (and syslog, console): VPN
 * sessions, administration connections, infrastructure contacts and server
 * faces do; session-end summaries and side flows go to JSON only (the text
 * log keeps one line per VPN session).
 */
export function hasLogLine(ev: DetectionEvent): boolean {
  if (ev.phase === "end") return false;
  const k = ev.kind;
  return k === "vpn" || k === "admin" || k === "infrastructure" || k === "server";
}

const SIDE_FLOW_NAMES: Record<string, string> = {
  udp_accel: "UDP Acceleration",
  dns_probe: "DNS Probe",
  icmp_probe: "ICMP Probe",
  nbns: "NetBIOS Query",
};

/**
 * The alert text without the date prefix, e.g.
 * "SoftEther TCP Connection Detected (client 10.0.0.1:1027, server 10.0.0.2:443)".
 * Admin connections read "SoftEther Admin Connection …"; failed attempts
 * read "… Connection Attempt Detected …"; infrastructure contacts
 * "SoftEther NAT-T Contact Detected (host 10.0.0.5, server 10.9.9.9:5004)";
 * server faces "SoftEther Server Detected (server 10.0.0.2:1194, face
 * OpenVPN, client 10.0.0.1:40000)". A host name seen on the wire is added as
 * ", name …" with control characters replaced by "?".
 */
export function formatAlertMessage(ev: DetectionEvent): string {
  const name = ev.name !== undefined ? `, name ${replaceControls(ev.name)}` : "";
  if (ev.kind === "infrastructure") {
    return `SoftEther ${ev.service ?? "Infrastructure"} Contact Detected ` +
      `(host ${ev.client.ip}, server ${formatEndpoint(ev.server)}${name})`;
  }
  if (ev.kind === "server") {
    return `SoftEther Server Detected (server ${formatEndpoint(ev.server)}, ` +
      `face ${ev.face ?? "SoftEther"}, client ${formatEndpoint(ev.client)}${name})`;
  }
  const side = SIDE_FLOW_NAMES[ev.kind];
  if (side !== undefined) {
    return `SoftEther ${side} Side Flow Detected (client ${formatEndpoint(ev.client)}, ` +
      `server ${formatEndpoint(ev.server)}, session ${ev.session ?? 0})`;
  }
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
    if (!hasLogLine(ev)) return; // one line per session: summaries and side flows go to JSON only
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
