/**
 * Flow states and the timeout classes they fall in.
 *
 * @module
 */

/** Connection state of a flow (TCP states follow the handshake; UDP is stateless). */
export const FlowState = {
  /** SYN seen from the client, no answer yet. */
  SYN_SENT: 1,
  /** SYN and SYN-ACK seen. */
  SYN_ACKED: 2,
  /** Handshake completed, or data flowing both ways. */
  ESTABLISHED: 3,
  /** Picked up mid-stream (no SYN seen). */
  MIDSTREAM: 4,
  /** One side sent FIN. */
  CLOSING: 5,
  /** Both sides sent FIN. */
  CLOSED: 6,
  /** A RST was seen. */
  RESET: 7,
  /** A UDP flow. */
  UDP: 8,
} as const;

/** Names for {@linkcode FlowState} values, indexed by value. */
export const FLOW_STATE_NAMES = [
  "",
  "syn_sent",
  "syn_acked",
  "established",
  "midstream",
  "closing",
  "closed",
  "reset",
  "udp",
] as const;

/** Timeout classes: flows of one class share an idle timeout and an LRU list. */
const TimeoutClass = { OPENING: 0, ACTIVE: 1, CLOSED: 2, UDP: 3 } as const;

/** Number of timeout classes. */
export const TIMEOUT_CLASSES = 4;

/** Idle timeouts in seconds of packet time, per timeout class. */
export interface FlowTimeouts {
  /** TCP flows whose handshake has not completed (default 60 s). */
  opening: number;
  /** Established or mid-stream TCP flows (default 3600 s). */
  active: number;
  /** TCP flows after FIN from both sides or RST (default 10 s). */
  closed: number;
  /** UDP flows (default 120 s). */
  udp: number;
}

/** Default idle timeouts. */
export const DEFAULT_TIMEOUTS: FlowTimeouts = { opening: 60, active: 3600, closed: 10, udp: 120 };

/** Timeout class of a state. */
export function timeoutClassOf(state: number): number {
  switch (state) {
    case FlowState.SYN_SENT:
    case FlowState.SYN_ACKED:
      return TimeoutClass.OPENING;
    case FlowState.CLOSED:
    case FlowState.RESET:
      return TimeoutClass.CLOSED;
    case FlowState.UDP:
      return TimeoutClass.UDP;
    default:
      return TimeoutClass.ACTIVE;
  }
}
