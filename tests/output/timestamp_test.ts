import assert from "node:assert/strict";
import { formatAlertTime, formatIsoMicros, wallClock } from "../../src/output/timestamp.ts";

const T = Date.UTC(2026, 10, 26, 5, 56, 58) / 1000;

Deno.test("formatIsoMicros keeps microseconds", () => {
  assert.equal(formatIsoMicros(T + 0.123456), "2026-11-26T05:56:58.123456Z");
  assert.equal(formatIsoMicros(T), "2026-11-26T05:56:58.000000Z");
  assert.equal(formatIsoMicros(T + 0.000001), "2026-11-26T05:56:58.000001Z");
  assert.equal(formatIsoMicros(T + 0.999999), "2026-11-26T05:56:58.999999Z");
  assert.equal(formatIsoMicros(T + 0.9999996), "2026-11-26T05:56:59.000000Z");
  assert.equal(formatIsoMicros(0), "1970-01-01T00:00:00.000000Z");
});

Deno.test("formatAlertTime truncates seconds and applies the offset", () => {
  assert.equal(formatAlertTime(T + 0.999, 0), "2026/11/26 05:56:58");
  assert.equal(formatAlertTime(T, 9 * 60), "2026/11/26 14:56:58");
  assert.equal(formatAlertTime(T, -8 * 60), "2026/11/25 21:56:58");
  assert.equal(formatAlertTime(T, 5 * 60 + 30), "2026/11/26 11:26:58");
});

Deno.test("formatAlertTime accepts an offset function of the instant", () => {
  const seen: number[] = [];
  const tz = (ms: number) => {
    seen.push(ms);
    return 60;
  };
  assert.equal(formatAlertTime(T + 0.5, tz), "2026/11/26 06:56:58");
  assert.deepEqual(seen, [T * 1000]);
});

Deno.test("wallClock follows the host time zone by default", () => {
  const off = -new Date(T * 1000).getTimezoneOffset();
  assert.deepEqual(wallClock(T), wallClock(T, off));
});

Deno.test("formatIsoMicros: seconds always present, exact calendar over the whole range", () => {
  // Far years: JS Date drops seconds from its ISO form past 9999 only in some code paths,
  // and `new Date(y, …)` maps years 0–99 to 19xx: none of that here.
  assert.equal(formatIsoMicros(253402300799.5), "9999-12-31T23:59:59.500000Z");
  assert.equal(formatIsoMicros(253402300799.9999996), "9999-12-31T23:59:59.999999Z");
  assert.equal(formatIsoMicros(-62167219200), "0000-01-01T00:00:00.000000Z");
  assert.equal(formatIsoMicros(-62135596800), "0001-01-01T00:00:00.000000Z");
  assert.equal(formatIsoMicros(-2208988800), "1900-01-01T00:00:00.000000Z");
  assert.equal(formatIsoMicros(951782400), "2000-02-29T00:00:00.000000Z");
  assert.equal(formatIsoMicros(-0.25), "1969-12-31T23:59:59.750000Z");
  // Outside the readers' range (never delivered), ISO 8601's expanded years: with seconds.
  assert.equal(formatIsoMicros(8.64e12 - 0.672852), "+275760-09-12T23:59:59.327148Z");
  assert.equal(formatIsoMicros(-62167219201), "-000001-12-31T23:59:59.000000Z");
  assert.throws(() => formatIsoMicros(NaN), RangeError);
  // Agrees with Date over a sweep of the common range.
  for (let s = -62167219200; s < 253402300800; s += 7654321.123) {
    const want = new Date(Math.floor(s) * 1000).toISOString().slice(0, 19);
    assert.equal(formatIsoMicros(Math.floor(s)).slice(0, 19), want, String(s));
  }
});

Deno.test("formatAlertTime: never NaN, the range's ends in local time keep a signed year", () => {
  assert.equal(formatAlertTime(253402300799, 0), "9999/12/31 23:59:59");
  assert.equal(formatAlertTime(253402300799, 60), "10000/01/01 00:59:59");
  assert.equal(formatAlertTime(-62167219200, -60), "-0001/12/31 23:00:00");
  assert.equal(formatAlertTime(-62135596800, 0), "0001/01/01 00:00:00");
  assert.equal(formatAlertTime(253402300799, () => NaN), "9999/12/31 23:59:59");
  assert.equal(formatAlertTime(T), formatAlertTime(T, -new Date(T * 1000).getTimezoneOffset()));
});

Deno.test("the last accepted nanosecond stays in 9999 (its float rounds up to 10000)", () => {
  const last = 253402300799 + 999999999 / 1e9; // what the decoder computes
  assert.equal(formatIsoMicros(last), "9999-12-31T23:59:59.999999Z");
  assert.equal(formatAlertTime(last, 0), "9999/12/31 23:59:59");
});
