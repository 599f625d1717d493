/**
 * Timestamp formatting for the alert sinks. Packet times are seconds since
 * the Unix epoch as a fractional number (microsecond resolution from pcap).
 *
 * @module
 */

/** Minutes east of UTC: fixed, or a function of the instant (ms since the epoch). */
export type UtcOffset = number | ((epochMs: number) => number);

/** Splits packet time into whole seconds and rounded microseconds (0–999999). */
function splitMicros(ts: number): [number, number] {
  let secs = Math.floor(ts);
  let micros = Math.round((ts - secs) * 1e6);
  if (micros >= 1e6) {
    secs += 1;
    micros -= 1e6;
  }
  return [secs, micros];
}

/** Two-digit zero padding. */
function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * Formats packet time as ISO 8601 UTC with microseconds, as used by JSON
 * lines and RFC 5424: "2026-11-26T05:56:58.123456Z".
 */
export function formatIsoMicros(ts: number): string {
  const [secs, micros] = splitMicros(ts);
  const base = new Date(secs * 1000).toISOString().slice(0, 19);
  return `${base}.${String(micros).padStart(6, "0")}Z`;
}

/** Minutes east of UTC of the host's local time zone (honours TZ) at an instant. */
function localUtcOffset(epochMs: number): number {
  const minutes = -new Date(epochMs).getTimezoneOffset();
  return minutes === 0 ? 0 : minutes; // avoid -0
}

/**
 * Breaks packet time (whole seconds, fraction dropped) into calendar fields in
 * the given offset from UTC (default: the host's local time).
 */
export function wallClock(
  ts: number,
  tz: UtcOffset = localUtcOffset,
): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const ms = Math.floor(ts) * 1000;
  const offset = typeof tz === "number" ? tz : tz(ms);
  const d = new Date(ms + offset * 60_000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/**
 * Formats packet time as SoftEther Alert did, in local time (or `tz`),
 * seconds truncated: "2004/08/28 20:01:00".
 */
export function formatAlertTime(ts: number, tz?: UtcOffset): string {
  const t = wallClock(ts, tz);
  return `${String(t.year).padStart(4, "0")}/${pad2(t.month)}/${pad2(t.day)} ` +
    `${pad2(t.hour)}:${pad2(t.minute)}:${pad2(t.second)}`;
}
