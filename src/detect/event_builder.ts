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
import { type ConnectionAnalyzer, Verdict } from "./connection_analyzer.ts";

const cw = new Uint32Array(4);
const sw = new Uint32Array(4);

/** The event for flow `slot`, classified by `an` at packet time `ts`. */
export function buildEvent(
  table: FlowTable,
  slot: number,
  an: ConnectionAnalyzer,
  ts: number,
): DetectionEvent {
  const v = table.ipVersion(slot);
  table.address(slot, 0, cw);
  table.address(slot, 1, sw);
  const cp = table.clientPort(slot), sp = table.serverPort(slot);
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
  };
  if (an.target !== undefined) ev.target = an.target;
  return ev;
}
