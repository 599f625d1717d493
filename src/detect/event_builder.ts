/**
 * Builds the {@linkcode DetectionEvent} of a classified connection from its
 * flow record and analyzer (once per alert: allocations are fine here).
 *
 * @module
 */

import { addressToBytes, addressToString } from "../decode/packet.ts";
import type { FlowTable } from "../flow/flow_table.ts";
import { communityId } from "../flow/community_id.ts";
import type { DetectionEvent } from "./event.ts";
import type { Inspection } from "./inspection.ts";
import { Verdict } from "./verdict.ts";

const cw = new Uint32Array(4);
const sw = new Uint32Array(4);

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
  const v = table.ipVersion(slot);
  const flip = an.reversed;
  const c = flip ? 1 : 0;
  table.address(slot, c, cw);
  table.address(slot, 1 - c, sw);
  let cp = table.clientPort(slot), sp = table.serverPort(slot);
  if (flip) [cp, sp] = [sp, cp];
  const ev: DetectionEvent = {
    ts,
    kind: an.verdict === Verdict.ADMIN ? "admin" : "vpn",
    variant: an.variant,
    outcome: an.verdict === Verdict.ATTEMPT ? "attempt" : "established",
    client: { ip: addressToString(v, cw), port: cp },
    server: { ip: addressToString(v, sw), port: sp },
    evidence: [...an.evidence],
    confidence: an.confidence,
    flow_id: table.flowId(slot),
    community_id: communityId(
      v as 4 | 6,
      addressToBytes(v, cw),
      addressToBytes(v, sw),
      table.proto(slot),
      cp,
      sp,
    ),
    connections: 1,
    latency: Math.max(0, ts - (an.setupTs > 0 ? an.setupTs : table.firstSeen(slot))),
    start: table.firstSeen(slot),
  };
  if (an.target !== undefined) ev.target = an.target;
  return ev;
}
