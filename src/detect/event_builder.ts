/**
 * Builds the {@linkcode DetectionEvent} of a classified connection from its
 * flow record and analyzer (once per alert: allocations are fine here).
 *
 * @module
 */

import type { FlowTable } from "../flow/flow_table.ts";
import type { DetectionEvent } from "./event.ts";
import { flowEvent } from "./flow_event.ts";
import type { Inspection } from "./inspection.ts";
import { Verdict } from "./verdict.ts";

/**
 * The event for flow `slot`, classified by `an` at packet time `ts`. When
 * the content showed the flow table's roles reversed (`an.flipped`, `an.swapped`: a flow
 * picked up mid-stream), client and server are swapped.
 */
export function buildEvent(
  table: FlowTable,
  slot: number,
  an: Inspection,
  ts: number,
): DetectionEvent {
  const ev = flowEvent(table, slot, ts, {
    kind: an.verdict === Verdict.ADMIN ? "admin" : "vpn",
    variant: an.variant,
    outcome: an.verdict === Verdict.ATTEMPT ? "attempt" : "established",
    reversed: an.reversed,
    evidence: [...an.evidence],
    confidence: an.confidence,
    latency: Math.max(0, ts - (an.setupTs > 0 ? an.setupTs : table.firstSeen(slot))),
  });
  if (an.target !== undefined) ev.target = an.target;
  return ev;
}
