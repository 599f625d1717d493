/**
 * The flood check of tests/eval/flood.ts at CI scale: 60,000 half-open TLS
 * connections with the real SoftEther session of
 * testdata/lab/direct_443.pcap spliced in after 30,000 of them, the
 * detector's inspection cap scaled down to 20,000 so that evictions happen
 * (and the session's inspection is overtaken by more than the cap's worth of
 * newer ones before its decision); then the same flood without eviction
 * pressure.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DEFAULT_PACKET_RATE, flood } from "./flood.ts";

const CONNECTIONS = 60_000;
const CAP = 20_000;

Deno.test("flood: a capped detector evicts flood connections and still alerts the session once", async () => {
  const r = await flood({ connections: CONNECTIONS, maxAnalyzers: CAP });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.run.alerts.length, 1);
  const ev = r.run.alerts[0];
  const want = r.expected[0];
  assert.deepEqual(
    [ev.kind, ev.variant, ev.outcome, ev.client, ev.server],
    [want.kind, want.variant, want.outcome, want.client, want.server],
  );
  assert.deepEqual(r.run.packets, 2 * CONNECTIONS + r.capture.sessionPackets);
  assert.ok(r.run.stats.evicted > 0, "no inspection was evicted");
  assert.deepEqual(r.run.evictedWeird, r.run.stats.evicted);
  // Every flood connection was inspected; all but the cap's worth were let go.
  assert.ok(r.run.stats.inspected >= CONNECTIONS);
  assert.ok(r.run.stats.evicted >= CONNECTIONS - CAP, `evicted ${r.run.stats.evicted}`);
  // The session was still undecided when more than the cap's worth of newer
  // connections had started: it was the oldest inspection under pressure.
  const overtaken = r.capture.sessionStart + 2 * CAP / DEFAULT_PACKET_RATE;
  assert.ok(ev.ts > overtaken, `decided at ${ev.ts}, before ${overtaken}`);
  // Decided when it is without the flood.
  assert.ok(Math.abs(ev.ts - r.capture.shift - want.ts) < 1e-3);
});

Deno.test("flood: without eviction pressure nothing is evicted", async () => {
  const r = await flood({ connections: CONNECTIONS, maxAnalyzers: 2 * CONNECTIONS });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.run.alerts.length, 1);
  assert.equal(r.run.stats.evicted, 0);
  assert.deepEqual(r.run.evictedWeird, 0);
  assert.ok(r.run.stats.inspected >= CONNECTIONS);
});
