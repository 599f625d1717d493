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
