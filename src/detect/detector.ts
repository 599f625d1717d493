/**
 * The detector interface: the pipeline hands every tracked packet to each
 * of its detectors, together with its flow and direction, and tells them
 * when a flow ends. A detector emits {@linkcode DetectionEvent}s through the
 * callback it was built with; several detectors share a flow through their
 * own bits of the flow's mark byte.
 *
 * @module
 */

import type { DecodedPacket } from "../decode/packet.ts";
import type { FlowTable } from "../flow/flow_table.ts";
import type { DetectionEvent } from "./event.ts";

/** Receives detection events. */
export type EmitFn = (ev: DetectionEvent) => void;

/** Bits in a flow's mark byte, shared by the detectors of one pipeline. */
export const MARK_BYTE_BITS = 8;

/** Per-packet and per-flow hooks of a detector. */
export interface Detector {
  /** How many bits of the flow's mark byte this detector needs (1 or 2). */
  readonly markBits: number;
  /**
   * Position of this detector's `markBits` bits in the flow's mark byte
   * (set by the pipeline before the first packet).
   */
  markShift: number;
  /**
   * One packet of flow `slot`, direction `dir` (0 client→server, 1
   * server→client). The packet and its payload are valid only during the call.
   */
  onPacket(table: FlowTable, slot: number, dir: number, pkt: DecodedPacket): void;
  /** Flow `slot` ends (timeout, eviction, shutdown); its slot is reused afterwards. */
  onFlowEnd(table: FlowTable, slot: number, reason: number): void;
  /** Packet time passes without a packet (live mode on a quiet link). */
  tick(now: number): void;
  /** End of input: emit anything still pending. */
  finish(): void;
  /** True while the detector inspects flow `slot` deeply (evidence pcaps keep its packets). */
  inspecting(table: FlowTable, slot: number): boolean;
  /**
   * Optional hint before a batch is processed: the slots the flow table
   * found for its `n` packets (−1: none yet); may touch per-flow state so
   * its cache misses overlap. Must change nothing.
   */
  prefetch?(table: FlowTable, slots: Int32Array, n: number): void;
}
