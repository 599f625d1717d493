/**
 * The SoftEther classifier. Per TCP connection it finds the layer the
 * client speaks first — TLS directly, an HTTP CONNECT or SOCKS handshake
 * that hands its inner stream on (Zeek's child analyzers), or SSH — and
 * follows SoftEther's set-up exchange under the encryption (see
 * handshake_pattern.ts) from TLS record sizes. Independent signals are
 * combined into a confidence; the alert goes out as soon as the evidence is
 * enough (the tunnel's first records after the welcome, a timer of 1 s of
 * packet time, or the connection's end), never only at flow end.
 *
 * @module
 */

import type { FlowTable } from "../flow/flow_table.ts";
import { IpProto } from "../decode/packet.ts";
import type { DecodedPacket } from "../decode/packet.ts";
import type { Classifier, EmitFn } from "./classifier.ts";
import { ConnectionAnalyzer, Verdict } from "./connection_analyzer.ts";
import { buildEvent } from "./event_builder.ts";
import { Fold, SessionTracker } from "./session_tracker.ts";
import type { DetectionEvent } from "./event.ts";

/** Give up on a connection that showed no SoftEther layer within this many payload bytes. */
const MAX_INSPECT_BYTES = 64 * 1024;

// The flow's mark (FlowTable.mark, in the flow's own record: no extra memory
// access per packet): 0 not looked at yet, INSPECTING while an analyzer is
// attached (table.analyzer[slot]), GAVE_UP once dismissed, decided or capped.
const INSPECTING = 1;
const GAVE_UP = 2;

const wa = new Uint32Array(4), wb = new Uint32Array(4);

/** Same client address, server address and server port. */
function sameEndpoints(table: FlowTable, a: number, b: number): boolean {
  if (table.ipVersion(a) !== table.ipVersion(b) || table.serverPort(a) !== table.serverPort(b)) {
    return false;
  }
  for (let side = 0; side < 2; side++) {
    table.address(a, side, wa);
    table.address(b, side, wb);
    for (let i = 0; i < 4; i++) if (wa[i] !== wb[i]) return false;
  }
  return true;
}

/** Counters of the classifier's work. */
export interface ClassifierStats {
  /** Connections given an analyzer. */
  inspected: number;
  /** Connections dismissed as not SoftEther. */
  dismissed: number;
  /** Connections classified as SoftEther (incl. folded ones). */
  classified: number;
  /** Alerts emitted. */
  alerts: number;
  /** Connections folded into an already reported session. */
  folded: number;
  /** Connections not inspected because the analyzer cap was reached. */
  capped: number;
  /** Connections dropped from inspection after an internal parser error. */
  errors: number;
  /** Stream bytes the analyzers looked at before they were released (all connections). */
  inspectedBytes: number;
}

/** Default cap on connections inspected at once (~3 KB each while undecided). */
export const DEFAULT_MAX_ANALYZERS = 250_000;

/** Detects SoftEther VPN connections; emits one event per session. */
export class SoftEtherClassifier implements Classifier {
  /** Work counters. */
  readonly stats: ClassifierStats = {
    inspected: 0,
    dismissed: 0,
    classified: 0,
    alerts: 0,
    folded: 0,
    capped: 0,
    errors: 0,
    inspectedBytes: 0,
  };
  readonly #emit: EmitFn;
  readonly #sessions: SessionTracker;
  readonly #maxAnalyzers: number;
  #live = 0; // analyzers attached to live flows
  /** Analyzers waiting for their decision timer (deadline = welcome + DECISION_DELAY). */
  readonly #pending: ConnectionAnalyzer[] = [];
  #earliest = Infinity; // no pending deadline before this packet time
  #table: FlowTable | undefined;
  #sink = 0; // keeps the prefetch loads observable

  /**
   * Creates the classifier; `emit` receives the alerts. At most
   * `maxAnalyzers` connections are inspected at once (a memory cap: beyond
   * it new connections are counted in `stats.capped` and not inspected).
   */
  constructor(emit: EmitFn, maxAnalyzers = DEFAULT_MAX_ANALYZERS) {
    this.#emit = emit;
    this.#maxAnalyzers = maxAnalyzers;
    this.#sessions = new SessionTracker(emit);
  }

  /** Per-packet hook (hot path: returns at once for dismissed flows). */
  onPacket(table: FlowTable, slot: number, p: DecodedPacket): void {
    if (p.ts >= this.#earliest) this.#timers(p.ts);
    if (p.proto !== IpProto.TCP) return;
    const mark = table.mark(slot);
    if (mark === GAVE_UP) return;
    this.#table = table;
    let an: ConnectionAnalyzer;
    if (mark === INSPECTING) an = table.analyzer[slot] as ConnectionAnalyzer;
    else {
      // Inspect from the first payload (a bare SYN or ACK costs nothing).
      if (p.payloadLen === 0) return;
      if (this.#live >= this.#maxAnalyzers) {
        // Memory cap (a flood of unfinished connections): count, don't inspect.
        this.stats.capped++;
        table.setMark(slot, GAVE_UP);
        return;
      }
      this.#live++;
      an = new ConnectionAnalyzer(
        table.flowId(slot),
        table.firstSeen(slot),
        table.rttServer(slot),
        table.rtt(slot),
      );
      table.analyzer[slot] = an;
      table.setMark(slot, INSPECTING);
      this.stats.inspected++;
    }
    try {
      an.packet(table.dir, p);
    } catch {
      // A parser bug must not stop the sensor: count it, let the flow go.
      this.stats.errors++;
      an.verdict = Verdict.NOT_SOFTETHER;
    }
    this.#after(table, slot, an, p.ts);
  }

  /** Touch the analyzers of a batch's inspected flows (see {@linkcode Classifier.prefetch}). */
  prefetch(table: FlowTable, slots: Int32Array, n: number): void {
    const analyzers = table.analyzer;
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      if (s < 0 || table.mark(s) !== INSPECTING) continue;
      const an = analyzers[s]; // a hint must never throw: checked, not assumed
      if (an !== undefined) acc += (an as ConnectionAnalyzer).touch();
    }
    this.#sink ^= acc;
  }

  /** Flow end: decide what is still open, release the analyzer. */
  onFlowEnd(table: FlowTable, slot: number, _reason: number): void {
    if (table.mark(slot) !== INSPECTING) return;
    const an = table.analyzer[slot] as ConnectionAnalyzer;
    try {
      an.close(table.lastSeen(slot));
    } catch {
      this.stats.errors++;
      an.verdict = Verdict.NOT_SOFTETHER;
    }
    this.#after(table, slot, an, table.lastSeen(slot));
    // Not dismissed by that last decision (which releases it itself): release once.
    if (table.mark(slot) === INSPECTING) this.#release(table, slot, an);
    if (an.event !== undefined) {
      this.#sessions.ended(an.event, table.lastSeen(slot));
      this.#sessions.sweep(table.lastSeen(slot));
    }
    this.#unpend(an);
  }

  /** Connections under inspection now (analyzers attached to live flows). */
  get live(): number {
    return this.#live;
  }

  /** Let packet time pass without a packet (live mode on a quiet link). */
  tick(now: number): void {
    if (now >= this.#earliest) this.#timers(now);
  }

  /** End of input: nothing is pending after the flow table was flushed. */
  finish(): void {
    this.#pending.length = 0;
    this.#earliest = Infinity;
    this.#sessions.finish();
  }

  #timers(now: number): void {
    // Runs only once the earliest deadline has passed (not on every packet);
    // an index loop over an array: no iterator allocated.
    this.#earliest = Infinity;
    for (let i = 0; i < this.#pending.length; i++) {
      const an = this.#pending[i];
      if (now < an.deadline) {
        if (an.deadline < this.#earliest) this.#earliest = an.deadline;
        continue;
      }
      this.#unpend(an);
      i--;
      // The decision is due at the deadline: date it there, whether the next
      // packet (offline) or the wall-clock tick (live) noticed it — the same
      // alert either way.
      const due = an.deadline;
      an.timer(due);
      // Still undecided: it waits again only for a later deadline (else its
      // next packet or its end decides).
      if (an.verdict === Verdict.UNDECIDED && an.deadline <= due) an.deadline = 0;
      // Decided, or still watching with a later deadline (pended again).
      if (an.slot >= 0 && this.#table !== undefined) this.#after(this.#table, an.slot, an, due);
    }
  }

  #pend(an: ConnectionAnalyzer): void {
    if (an.deadline < this.#earliest) this.#earliest = an.deadline;
    if (!an.pending) {
      an.pending = true;
      this.#pending.push(an);
    }
  }

  #unpend(an: ConnectionAnalyzer): void {
    if (!an.pending) return;
    an.pending = false;
    const i = this.#pending.indexOf(an);
    if (i >= 0) this.#pending.splice(i, 1);
  }

  #after(table: FlowTable, slot: number, an: ConnectionAnalyzer, now: number): void {
    an.slot = slot;
    switch (an.verdict) {
      case Verdict.UNDECIDED:
        if (an.deadline > 0) this.#pend(an);
        else if (an.inspectedBytes > MAX_INSPECT_BYTES) this.#dismiss(table, slot, an);
        return;
      case Verdict.NOT_SOFTETHER:
        this.#dismiss(table, slot, an);
        return;
      default:
        if (an.event !== undefined) return; // already reported
        if (an.verdict === Verdict.ADDITIONAL) this.#boostSuspects(table, slot, now);
        this.#report(table, slot, an, now);
    }
  }

  /**
   * An extra connection (additional_connect) was seen: a session's main
   * connection from the same client to the same server that matched the
   * set-up but lacked evidence is now confirmed, and reported first.
   */
  #boostSuspects(table: FlowTable, slot: number, now: number): void {
    for (let i = 0; i < this.#pending.length; i++) {
      const other = this.#pending[i];
      const os = other.slot;
      if (!other.suspect || os < 0 || os === slot || table.flowId(os) !== other.flowId) continue;
      if (!sameEndpoints(table, os, slot)) continue;
      other.sessionEvidence("session_extra_connection", 0.2, now);
      if (other.verdict !== Verdict.UNDECIDED) {
        this.#after(table, os, other, now);
        i = -1; // the list changed
      }
    }
  }

  #dismiss(table: FlowTable, slot: number, an: ConnectionAnalyzer): void {
    this.#unpend(an);
    this.stats.dismissed++;
    this.#release(table, slot, an);
  }

  /** Detach the analyzer from its flow (counted out of the live ones, once). */
  #release(table: FlowTable, slot: number, an: ConnectionAnalyzer): void {
    table.setMark(slot, GAVE_UP);
    table.analyzer[slot] = undefined;
    this.stats.inspectedBytes += an.inspectedBytes;
    this.#live--;
  }

  #report(table: FlowTable, slot: number, an: ConnectionAnalyzer, now: number): void {
    this.#unpend(an);
    const ev: DetectionEvent = buildEvent(table, slot, an, now);
    an.event = ev;
    this.stats.classified++;
    if (this.#sessions.connection(ev, an.additional) === Fold.NEW) {
      this.stats.alerts++;
      this.#emit(ev);
    } else {
      this.stats.folded++;
    }
    an.release(); // stop inspecting: the decision is made
  }
}
