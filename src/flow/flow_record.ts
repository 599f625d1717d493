/**
 * A flow's summary as a plain record (conn.log style), built when a flow
 * ends. Allocates: called once per flow, never per packet.
 *
 * @module
 */

import { addressToString } from "../decode/packet.ts";
import { FLOW_STATE_NAMES, FlowState } from "./flow_state.ts";
import type { FlowTable } from "./flow_table.ts";

/** One flow summary. */
interface FlowRecord {
  /** Flow number. */
  flow_id: number;
  /** "tcp", "udp", "icmp", "ipv6-icmp" or the IP protocol number. */
  proto: string;
  /** Client endpoint ("ip:port", IPv6 in brackets). */
  client: string;
  /** Server endpoint. */
  server: string;
  /** First packet time (seconds since the epoch, µs precision). */
  first_ts: number;
  /** Last packet time. */
  last_ts: number;
  /** Final state name. */
  state: string;
  /** Zeek-like history (uppercase client, lowercase server). */
  history: string;
  /** Packets client→server, server→client. */
  pkts: [number, number];
  /** IP bytes per direction. */
  bytes: [number, number];
  /** Payload bytes per direction. */
  payload: [number, number];
  /** First payload sizes, negative for server→client. */
  sizes: number[];
}

const scratch = new Uint32Array(4);

/** Text endpoint of one side (0 client, 1 server) of a flow. */
function endpointString(table: FlowTable, slot: number, side: number): string {
  const v = table.ipVersion(slot);
  const ip = addressToString(v, table.address(slot, side, scratch));
  const proto = table.proto(slot);
  if (proto === 1 || proto === 58) return ip; // ICMP: one flow per address pair, no ports
  const port = side === 0 ? table.clientPort(slot) : table.serverPort(slot);
  return v === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Build the summary of flow `slot`. */
export function flowRecord(table: FlowTable, slot: number): FlowRecord {
  const p = table.proto(slot);
  return {
    flow_id: table.flowId(slot),
    proto: p === 6
      ? "tcp"
      : p === 17
      ? "udp"
      : p === 1
      ? "icmp"
      : p === 58
      ? "ipv6-icmp"
      : String(p),
    client: endpointString(table, slot, 0),
    server: endpointString(table, slot, 1),
    first_ts: round6(table.firstSeen(slot)),
    last_ts: round6(table.lastSeen(slot)),
    // ICMP flows are stateless like UDP ones; say which.
    state: (p === 1 || p === 58) && table.stateOf(slot) === FlowState.UDP
      ? "icmp"
      : FLOW_STATE_NAMES[table.stateOf(slot)] ?? String(table.stateOf(slot)),
    history: table.historyString(slot),
    pkts: [table.packets(slot, 0), table.packets(slot, 1)],
    bytes: [table.ipBytes(slot, 0), table.ipBytes(slot, 1)],
    payload: [table.payloadBytes(slot, 0), table.payloadBytes(slot, 1)],
    sizes: table.sizes(slot),
  };
}
