/**
 * The classifier interface: the pipeline hands every tracked packet to it,
 * together with its flow, and tells it when a flow ends. A classifier emits
 * {@linkcode DetectionEvent}s through the callback it was built with.
 *
 * @module
 */

import type { DecodedPacket } from "../decode/packet.ts";
import type { FlowTable } from "../flow/flow_table.ts";
import type { DetectionEvent } from "./event.ts";

/** Receives detection events. */
export type EmitFn = (ev: DetectionEvent) => void;

/** Per-packet and per-flow hooks of a classifier. */
export interface Classifier {
  /**
   * One packet of flow `slot` (`table.dir`: 0 client→server, 1 server→client;
   * `table.segKind`: how the TCP payload relates to the stream). The packet
   * and its payload are valid only during the call.
   */
  onPacket(table: FlowTable, slot: number, pkt: DecodedPacket): void;
  /** Flow `slot` ends (timeout, eviction, shutdown); its slot is reused afterwards. */
  onFlowEnd(table: FlowTable, slot: number, reason: number): void;
  /** End of input: emit anything still pending. */
  finish(): void;
  /**
   * Optional hint before a batch is processed: the slots the flow table
   * found for its `n` packets (−1: none yet); may touch per-flow state so
   * its cache misses overlap. Must change nothing.
   */
  prefetch?(table: FlowTable, slots: Int32Array, n: number): void;
}

/** A classifier that decides nothing (for capture-only runs and tests). */
export class NullClassifier implements Classifier {
  /** Ignores the packet. */
  onPacket(_table: FlowTable, _slot: number, _pkt: DecodedPacket): void {}
  /** Ignores the flow end. */
  onFlowEnd(_table: FlowTable, _slot: number, _reason: number): void {}
  /** Nothing pending. */
  finish(): void {}
}
