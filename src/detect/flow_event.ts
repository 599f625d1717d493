/**
 * Builds the {@linkcode DetectionEvent} of one flow for the detectors other
 * than the TCP session classifier (side flows, VPN over ICMP/DNS,
 * infrastructure contacts, server faces): endpoints, flow number and
 * Community ID from the flow table. Called once per event: allocations are
 * fine here.
 *
 * @module
 */

import { addressToBytes, addressToString, IpProto } from "../decode/packet.ts";
import { communityId } from "../flow/community_id.ts";
import type { FlowTable } from "../flow/flow_table.ts";
import type { DetectionEvent } from "./event.ts";

/** What the detector decided about the flow. */
interface FlowEventFields {
  /** Event kind. */
  kind: DetectionEvent["kind"];
  /** Variant (sessions) or transport (other kinds). */
  variant: DetectionEvent["variant"];
  /** Established session or an attempt; "established" for other kinds. */
  outcome?: DetectionEvent["outcome"];
  /** True when the flow table's client (first sender) is really the server. */
  reversed?: boolean;
  /** ICMP flows: the type of a client message (for the Community ID); else ignored. */
  icmpType?: number;
  /** Names of the signals that fired. */
  evidence: string[];
  /** Confidence in [0, 1]. */
  confidence: number;
  /** Seconds from the evidence being complete to the decision (default 0). */
  latency?: number;
}

const cw = new Uint32Array(4);
const sw = new Uint32Array(4);

/** The event of flow `slot` at packet time `ts`. */
export function flowEvent(
  table: FlowTable,
  slot: number,
  ts: number,
  f: FlowEventFields,
): DetectionEvent {
  const v = table.ipVersion(slot);
  const c = f.reversed === true ? 1 : 0;
  table.address(slot, c, cw);
  table.address(slot, 1 - c, sw);
  let cp = table.clientPort(slot), sp = table.serverPort(slot);
  if (c === 1) [cp, sp] = [sp, cp];
  const proto = table.proto(slot);
  const icmp = proto === IpProto.ICMP || proto === IpProto.ICMPV6;
  return {
    ts,
    kind: f.kind,
    variant: f.variant,
    outcome: f.outcome ?? "established",
    client: { ip: addressToString(v, cw), port: cp },
    server: { ip: addressToString(v, sw), port: sp },
    evidence: f.evidence,
    confidence: f.confidence,
    flow_id: table.flowId(slot),
    community_id: communityId(
      v as 4 | 6,
      addressToBytes(v, cw),
      addressToBytes(v, sw),
      proto,
      icmp ? (f.icmpType ?? 0) : cp,
      icmp ? 0 : sp,
    ),
    connections: 1,
    latency: f.latency ?? 0,
    start: table.firstSeen(slot),
  };
}
