/**
 * Timestamp formatting for the alert sinks. Packet times are seconds since
 * the Unix epoch as a fractional number (microsecond resolution from pcap).
 *
 * Range: the capture readers refuse, as damage, every packet time outside
 * 0000-01-01T00:00:00Z – 9999-12-31T23:59:59.999999999Z (see
 * `MIN_PACKET_SEC` / `MAX_PACKET_SEC` in `src/capture/pcapng_timestamp.ts`),
 * the years ISO 8601 and RFC 5424 write with four digits; so every time the
 * sinks see has a four-digit year. The calendar arithmetic here is done on
 * plain numbers (proleptic Gregorian, no `Date`), so it is exact for any
 * finite time; should a caller pass a year outside 0000–9999 anyway, the ISO
 * form is ISO 8601's expanded one (`+010000-01-01T00:00:00.000000Z`,
 * `-000001-…`, sign and six digits) and the text log writes the year with its
 * sign (`-0001/12/31`, `10000/01/01`): never NaN.
 *
 * @module
 */

/** Minutes east of UTC: fixed, or a function of the instant (ms since the epoch). */
export type UtcOffset = number | ((epochMs: number) => number);

/** Seconds of 9999-12-31T23:59:59Z, the last whole second with a four-digit year. */
const LAST_SECOND = 253402300799;

/**
 * The float of the last accepted nanosecond, 9999-12-31T23:59:59.999999999,
 * is 10000-01-01T00:00:00 (a double near 2.5e11 s has 30 µs steps): times
 * within 100 µs after it are taken as 9999-12-31T23:59:59.999999.
 */
function isPastLast(ts: number): boolean {
  if (!Number.isFinite(ts)) throw new RangeError(`packet time ${ts} is not a number of seconds`);
  return ts >= LAST_SECOND + 1 && ts < LAST_SECOND + 1.0001;
}

/** Splits packet time into whole seconds and rounded microseconds (0–999999). */
function splitMicros(ts: number): [number, number] {
  if (isPastLast(ts)) return [LAST_SECOND, 999999];
  let secs = Math.floor(ts);
  let micros = Math.round((ts - secs) * 1e6);
  if (micros >= 1e6) {
    if (secs === LAST_SECOND) return [secs, 999999]; // do not round into year 10000
    secs += 1;
    micros -= 1e6;
  }
  return [secs, micros];
}

/** Two-digit zero padding. */
function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** Calendar fields of a time, seconds since the epoch, all in UTC (or an offset applied before). */
interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * Breaks whole seconds since the epoch into proleptic Gregorian UTC fields
 * (H. Hinnant's `civil_from_days`), exact for any safe integer.
 */
function civil(secs: number): Civil {
  const days = Math.floor(secs / 86400);
  const sod = secs - days * 86400;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(sod / 3600);
  const minute = Math.floor((sod - hour * 3600) / 60);
  return { year, month, day, hour, minute, second: sod - hour * 3600 - minute * 60 };
}

/** ISO 8601 year: four digits for 0000–9999, else the expanded form (sign, six digits). */
function isoYear(y: number): string {
  if (y >= 0 && y <= 9999) return String(y).padStart(4, "0");
  return (y < 0 ? "-" : "+") + String(Math.abs(y)).padStart(6, "0");
}

/**
 * Formats packet time as ISO 8601 UTC with seconds and microseconds, as used
 * by JSON lines and RFC 5424: "2026-11-26T05:56:58.123456Z". The fraction is
 * rounded to the microsecond (never past 9999-12-31T23:59:59.999999Z).
 *
 * @throws {RangeError} when `ts` is not finite (the readers never deliver that).
 */
export function formatIsoMicros(ts: number): string {
  const [secs, micros] = splitMicros(ts);
  const t = civil(secs);
  return `${isoYear(t.year)}-${pad2(t.month)}-${pad2(t.day)}T` +
    `${pad2(t.hour)}:${pad2(t.minute)}:${pad2(t.second)}.${String(micros).padStart(6, "0")}Z`;
}

/**
 * Seconds of a time as the basic-format stamp of evidence file names,
 * "YYYYMMDDTHHMMSS" (UTC, fraction dropped).
 */
export function formatFileStamp(ts: number): string {
  const t = civil(splitMicros(ts)[0]);
  return `${isoYear(t.year)}${pad2(t.month)}${pad2(t.day)}T` +
    `${pad2(t.hour)}${pad2(t.minute)}${pad2(t.second)}`;
}

/** Minutes east of UTC of the host's local time zone (honours TZ) at an instant. */
function localUtcOffset(epochMs: number): number {
  const minutes = -new Date(epochMs).getTimezoneOffset();
  return minutes === 0 ? 0 : minutes; // avoid -0
}

/**
 * Breaks packet time (whole seconds, fraction dropped) into calendar fields in
 * the given offset from UTC (default: the host's local time). An offset that
 * is not a finite number (no zone data for the instant) counts as UTC.
 *
 * @throws {RangeError} when `ts` is not finite.
 */
export function wallClock(ts: number, tz: UtcOffset = localUtcOffset): Civil {
  const secs = isPastLast(ts) ? LAST_SECOND : Math.floor(ts);
  let offset = typeof tz === "number" ? tz : tz(secs * 1000);
  if (!Number.isFinite(offset)) offset = 0;
  return civil(secs + Math.round(offset * 60));
}

/**
 * Formats packet time as SoftEther Alert did, in local time (or `tz`),
 * seconds truncated: "2004/08/28 20:01:00". Years outside 0000–9999 (only a
 * local time within a day of the range's ends) keep their sign: "-0001/12/31".
 */
export function formatAlertTime(ts: number, tz?: UtcOffset): string {
  const t = wallClock(ts, tz);
  const y = t.year < 0 ? "-" + String(-t.year).padStart(4, "0") : String(t.year).padStart(4, "0");
  return `${y}/${pad2(t.month)}/${pad2(t.day)} ` +
    `${pad2(t.hour)}:${pad2(t.minute)}:${pad2(t.second)}`;
}
