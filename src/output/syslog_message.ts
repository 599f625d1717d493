/**
 * Syslog message formatting for alerts: RFC 5424 with a structured-data
 * element, or the traditional BSD local form that syslog(3) writes to
 * /dev/log.
 *
 * @module
 */

import type { DetectionEvent } from "../detect/event.ts";
import { round3 } from "./json_log.ts";
import { formatAlertMessage, formatEndpoint } from "./text_log.ts";
import { formatIsoMicros, type UtcOffset, wallClock } from "./timestamp.ts";
import { replaceControls } from "./wire_text.ts";

/** Default facility: local0. */
export const DEFAULT_FACILITY = 16;

/** Default SD-ID enterprise number (32473 is IANA's example number, RFC 5612). */
export const DEFAULT_ENTERPRISE_ID = 32473;

/** Severity "warning": an established VPN session. */
const SEVERITY_WARNING = 4;

/** Severity "notice": an attempt, or an administration connection. */
const SEVERITY_NOTICE = 5;

/** Severity of an event: warning for an established VPN session, notice otherwise. */
function syslogSeverity(ev: DetectionEvent): number {
  return ev.kind === "vpn" && ev.outcome === "established" ? SEVERITY_WARNING : SEVERITY_NOTICE;
}

/**
 * Escapes an SD-PARAM value per RFC 5424 6.3.3 ('"', '\' and ']'); control
 * characters (C0, DEL, C1, U+2028/2029) become "?" and bytes of a wire string
 * that were not valid UTF-8 U+FFFD.
 */
function escapeSdValue(value: string): string {
  return replaceControls(value).replace(/["\\\]]/g, (c) => "\\" + c);
}

/** An RFC 5424 header field: printable US-ASCII only, at most `max` characters, "-" if empty. */
function headerField(value: string, max: number): string {
  const v = value.replace(/[^\x21-\x7e]/g, "").slice(0, max);
  return v === "" ? "-" : v;
}

/** Fields of the syslog header that do not come from the event. */
export interface SyslogHeader {
  /** Facility number 0–23. */
  facility: number;
  /** HOSTNAME field ("-" when unknown). */
  hostname: string;
  /** APP-NAME field, "sealert". */
  appName: string;
  /** PROCID field (usually the process id). */
  procId: string;
  /** Enterprise number of the SD-ID "sealert@N". */
  enterpriseId: number;
}

/** The structured-data element: `[sealert@32473 kind="vpn" variant="TCP" …]`. */
function formatStructuredData(ev: DetectionEvent, enterpriseId: number): string {
  const params: [string, string][] = [
    ["kind", ev.kind],
    ["variant", ev.variant],
    ["outcome", ev.outcome],
    ["client", formatEndpoint(ev.client)],
    ["server", formatEndpoint(ev.server)],
  ];
  if (ev.target !== undefined) params.push(["target", `${ev.target.host}:${ev.target.port}`]);
  if (ev.service !== undefined) params.push(["service", ev.service]);
  if (ev.face !== undefined) params.push(["face", ev.face]);
  if (ev.name !== undefined) params.push(["name", ev.name]);
  params.push(["confidence", String(round3(ev.confidence))]);
  params.push(["community_id", ev.community_id]);
  const body = params.map(([k, v]) => `${k}="${escapeSdValue(v)}"`).join(" ");
  return `[sealert@${enterpriseId} ${body}]`;
}

/**
 * An RFC 5424 message:
 * `<PRI>1 TIMESTAMP HOSTNAME sealert PROCID softether [sealert@N …] MSG`,
 * TIMESTAMP being the packet time in UTC with microseconds and MSG the text
 * log line without its date prefix.
 */
export function formatRfc5424(ev: DetectionEvent, header: SyslogHeader): string {
  const pri = header.facility * 8 + syslogSeverity(ev);
  return `<${pri}>1 ${formatIsoMicros(ev.ts)} ${headerField(header.hostname, 255)} ` +
    `${headerField(header.appName, 48)} ${headerField(header.procId, 128)} softether ` +
    `${formatStructuredData(ev, header.enterpriseId)} ${replaceControls(formatAlertMessage(ev))}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The BSD local form that syslog(3) sends to /dev/log and that rsyslog's
 * imuxsock and journald parse by default:
 * `<PRI>Mmm dd HH:MM:SS sealert[PID]: MSG` (packet time, local time zone).
 */
export function formatBsdLocal(ev: DetectionEvent, header: SyslogHeader, tz?: UtcOffset): string {
  const pri = header.facility * 8 + syslogSeverity(ev);
  const t = wallClock(ev.ts, tz);
  const p2 = (n: number) => String(n).padStart(2, "0");
  const stamp = `${MONTHS[t.month - 1]} ${String(t.day).padStart(2, " ")} ` +
    `${p2(t.hour)}:${p2(t.minute)}:${p2(t.second)}`;
  const tag = headerField(header.appName, 32);
  return `<${pri}>${stamp} ${tag}[${headerField(header.procId, 16)}]: ` +
    replaceControls(formatAlertMessage(ev));
}
