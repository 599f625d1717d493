/**
 * The long run, short: 50 replays of the lab captures through one pipeline
 * (tests/bench/long_run.ts, in its own process so that a GC can be forced):
 * the alert counts are exactly 50 × those of one pass and memory is flat.
 */
import assert from "node:assert/strict";
import type { LongRunResult } from "./long_run.ts";

const SCRIPT = new URL("./long_run.ts", import.meta.url).pathname;

Deno.test("long run: 50 replays through one pipeline, exact alert counts, no memory growth", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--v8-flags=--expose-gc",
      SCRIPT,
      "--replays",
      "50",
      "--json",
    ],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const r: LongRunResult = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(r.problems, [], stderr);
  assert.equal(out.code, 0, stderr);
  assert.ok(r.gcForced);
  assert.equal(r.replays, 50);
  assert.equal(r.packets, 50 * r.packetsPerPass);
  // Every pass alerts, and the long run has exactly 50 times each count.
  assert.ok(Object.keys(r.perPass).length >= 5, JSON.stringify(r.perPass));
  for (const [key, n] of Object.entries(r.perPass)) assert.equal(r.total[key], 50 * n, key);
  assert.equal(r.logLines.text, 50 * r.logLines.passText);
  assert.equal(r.logLines.json, 50 * r.logLines.passJson);
  // The flows of earlier passes ended by timeout (the table turned over).
  assert.ok(r.flows.timedOut >= r.flows.total * 0.9, JSON.stringify(r.flows));
  // Flat: end within 10 % of the middle (plus 2 MiB of heap, 8 MiB of RSS).
  assert.ok(r.end.heapUsed <= r.middle.heapUsed * 1.1 + (2 << 20), JSON.stringify(r));
  assert.ok(r.end.rss <= r.middle.rss * 1.1 + (8 << 20), JSON.stringify(r));
});
