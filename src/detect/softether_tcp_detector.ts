/**
 * The SoftEther TCP detector. Each TCP connection with payload gets an
 * {@linkcode Inspection}: the flow layer's stream engine feeding an analyzer
 * tree (protocol_sniffer.ts → CONNECT / SOCKS → TLS, or SSH sizes) that
 * follows SoftEther's set-up exchange under the encryption. Independent
 * signals are combined into a confidence; the alert goes out as soon as the
 * evidence is enough (the tunnel's first records after the welcome, a timer
 * of packet time, or the connection's end), never only at flow end. A flood
 * of undecided connections cannot blind it: at the inspection cap the oldest
 * least promising one is let go, not the newcomer.
 *
 * @module
 */

import type { FlowTable } from "../flow/flow_table.ts";
import { IpProto } from "../decode/packet.ts";
import type { DecodedPacket } from "../decode/packet.ts";
import type { Weirds } from "../decode/weirds.ts";
import type { Detector, EmitFn } from "./detector.ts";
import { Inspection } from "./inspection.ts";
import { Verdict } from "./verdict.ts";
import { buildEvent } from "./event_builder.ts";
import { Fold, SessionTracker } from "./session_tracker.ts";
import type { DetectionEvent } from "./event.ts";
import { Stage } from "./handshake_pattern.ts";
import { WEIGHTS } from "./confidence.ts";

/** Give up on a connection that showed no SoftEther layer within this many payload bytes. */
const MAX_INSPECT_BYTES = 64 * 1024;
/**
 * Seconds of packet time the alert of a connection picked up mid-stream
 * waits for another connection of its session to show the outer layer
 * (SoftEther's extra connections follow the main one within about a second).
 */
const LAYER_WAIT = 3;
/** Inspections under way from which the batch prefetch pays (see {@linkcode SoftEtherTcpDetector.prefetch}). */
const PREFETCH_MIN_LIVE = 32768;
/** Inspections looked at from the oldest when one must make room. */
const EVICT_SCAN = 64;

// The flow's mark (this detector's bits of FlowTable.mark, in the flow's own
// record: no extra memory access per packet): 0 not looked at yet,
// INSPECTING while an inspection is attached, GAVE_UP once dismissed,
// decided or evicted.
const INSPECTING = 1;
const GAVE_UP = 2;

const wa = new Uint32Array(4), wb = new Uint32Array(4);

/**
 * Same client address, server address and server port, with each flow's
 * roles as its inspection found them (`ra`/`rb`: the flow table's client is
 * in fact the server, for a flow picked up mid-stream).
 */
function sameEndpoints(table: FlowTable, a: number, ra: boolean, b: number, rb: boolean): boolean {
  if (table.ipVersion(a) !== table.ipVersion(b)) return false;
  const portA = ra ? table.clientPort(a) : table.serverPort(a);
  const portB = rb ? table.clientPort(b) : table.serverPort(b);
  if (portA !== portB) return false;
  for (let side = 0; side < 2; side++) {
    table.address(a, ra ? 1 - side : side, wa);
    table.address(b, rb ? 1 - side : side, wb);
    for (let i = 0; i < 4; i++) if (wa[i] !== wb[i]) return false;
  }
  return true;
}

/** Counters of the classifier's work. */
interface DetectorStats {
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
  /** Undecided inspections let go to make room for newer connections (flood). */
  evicted: number;
  /** Connections dropped from inspection after an internal parser error. */
  errors: number;
  /** Stream bytes the analyzers looked at before they were released (all connections). */
  inspectedBytes: number;
}

/** Default cap on connections inspected at once (~3 KB each while undecided). */
const DEFAULT_MAX_ANALYZERS = 250_000;

/** Options of {@linkcode SoftEtherTcpDetector}. */
interface SoftEtherTcpDetectorOptions {
  /** Connections inspected at once (default {@linkcode DEFAULT_MAX_ANALYZERS}). */
  maxAnalyzers?: number;
  /** Named counters for stream anomalies (the pipeline's). */
  weirds: Weirds;
}

/** Detects SoftEther VPN connections over TCP; emits one event per session. */
export class SoftEtherTcpDetector implements Detector {
  /** Two bits: inspecting, gave up. */
  readonly markBits = 2;
  #shift = 0;
  #bits = 3; // this detector's bits of the mark byte
  #inspecting = INSPECTING; // INSPECTING at those bits
  #gaveUp = GAVE_UP;

  /** Position of this detector's bits in the flow's mark byte (set by the pipeline). */
  get markShift(): number {
    return this.#shift;
  }

  set markShift(shift: number) {
    this.#shift = shift;
    this.#bits = 3 << shift;
    this.#inspecting = INSPECTING << shift;
    this.#gaveUp = GAVE_UP << shift;
  }
  /** Work counters. */
  readonly stats: DetectorStats = {
    inspected: 0,
    dismissed: 0,
    classified: 0,
    alerts: 0,
    folded: 0,
    evicted: 0,
    errors: 0,
    inspectedBytes: 0,
  };
  readonly #emit: EmitFn;
  readonly #sessions: SessionTracker;
  readonly #maxAnalyzers: number;
  readonly #weirds: Weirds;
  #live = 0; // inspections attached to live flows
  #conns: (Inspection | undefined)[] = []; // per flow slot
  // Inspections in the order they started (flood eviction), as (slot, flow
  // number) pairs in typed arrays: no object is kept alive by it and a
  // release writes nothing; entries whose flow no longer has that
  // inspection are skipped, and compacted away when the arrays fill up.
  #qSlot = new Int32Array(1024);
  #qId = new Float64Array(1024);
  #qHead = 0;
  #qTail = 0;
  /** Inspections waiting for their decision timer. */
  readonly #pending: Inspection[] = [];
  #earliest = Infinity; // no pending deadline before this packet time
  #table: FlowTable | undefined;
  #sink = 0; // keeps the prefetch loads observable

  /**
   * Creates the detector; `emit` receives the alerts. At most
   * `maxAnalyzers` connections are inspected at once (a memory cap: beyond
   * it the oldest least promising undecided one makes room).
   */
  constructor(emit: EmitFn, opts: SoftEtherTcpDetectorOptions) {
    this.#emit = emit;
    this.#maxAnalyzers = opts.maxAnalyzers ?? DEFAULT_MAX_ANALYZERS;
    this.#weirds = opts.weirds;
    this.#sessions = new SessionTracker(emit, (ev) => {
      this.stats.alerts++; // a held connection's session started
      emit(ev);
    });
  }

  #setMark(table: FlowTable, slot: number, v: number): void {
    table.setMark(slot, (table.mark(slot) & ~this.#bits) | (v << this.#shift));
  }

  /** True while flow `slot` is inspected. */
  inspecting(table: FlowTable, slot: number): boolean {
    return (table.mark(slot) & this.#bits) === this.#inspecting;
  }

  /** Per-packet hook (hot path: returns at once for dismissed flows). */
  onPacket(table: FlowTable, slot: number, dir: number, p: DecodedPacket): void {
    if (p.ts >= this.#earliest) this.#timers(p.ts);
    if (p.proto !== IpProto.TCP) return;
    const mark = table.mark(slot) & this.#bits;
    if (mark === this.#gaveUp) return;
    this.#table = table;
    let an: Inspection;
    if (mark === this.#inspecting) an = this.#conns[slot]!;
    else {
      // Inspect from the first payload (a bare SYN or ACK costs nothing);
      // the flow table kept the handshake's sequence numbers for it.
      if (p.payloadLen === 0) return;
      if (this.#live >= this.#maxAnalyzers) this.#makeRoom(table);
      if (this.#conns.length < table.maxFlows) this.#conns = new Array(table.maxFlows);
      this.#live++;
      an = new Inspection(
        table.flowId(slot),
        this.#weirds,
        table.streamStart(slot, 0),
        table.streamStart(slot, 1),
        table.rolesFromHandshake(slot),
        table.rttServer(slot),
        table.rtt(slot),
      );
      an.slot = slot;
      this.#conns[slot] = an;
      this.#setMark(table, slot, INSPECTING);
      if (this.#qTail === this.#qSlot.length) this.#compact();
      this.#qSlot[this.#qTail] = slot;
      this.#qId[this.#qTail++] = an.flowId;
      this.stats.inspected++;
    }
    try {
      an.packet(dir, p);
    } catch {
      // A parser bug must not stop the sensor: count it, let the flow go.
      this.stats.errors++;
      an.verdict = Verdict.NOT_SOFTETHER;
    }
    this.#after(table, slot, an, p.ts);
  }

  /**
   * The inspection cap is reached: let go of the oldest undecided connection
   * that shows nothing of SoftEther's set-up yet (else the oldest one).
   */
  #makeRoom(table: FlowTable): void {
    // The least promising first: a connection one side of which never sent
    // anything (a half-open flood connection; a real session has its
    // server's answer one round trip later), then one that shows nothing of
    // the set-up yet, then simply the oldest.
    let silent: Inspection | undefined, bare: Inspection | undefined;
    let oldest: Inspection | undefined;
    let seen = 0;
    for (let i = this.#qHead; i < this.#qTail && seen < EVICT_SCAN; i++) {
      const x = this.#queued(i);
      if (x === undefined) {
        if (i === this.#qHead) this.#qHead++; // gone: drop from the front
        continue;
      }
      seen++;
      oldest ??= x;
      if (x.stage !== Stage.NONE || x.pending || x.suspect) continue;
      bare ??= x;
      if (table.packets(x.slot, 0) === 0 || table.packets(x.slot, 1) === 0) {
        silent = x;
        break;
      }
    }
    const victim = silent ?? bare ?? oldest;
    if (victim === undefined) return;
    this.stats.evicted++;
    this.#weirds.add("inspection_evicted");
    this.#unpend(victim);
    this.#release(table, victim.slot, victim);
  }

  /** The undecided inspection of queue entry `i`, if it is still there. */
  #queued(i: number): Inspection | undefined {
    const x = this.#conns[this.#qSlot[i]];
    return x !== undefined && x.flowId === this.#qId[i] && x.event === undefined ? x : undefined;
  }

  /** Drop the entries of inspections gone; grow when most are still there. */
  #compact(): void {
    let n = 0;
    for (let i = this.#qHead; i < this.#qTail; i++) {
      if (this.#queued(i) === undefined) continue;
      this.#qSlot[n] = this.#qSlot[i];
      this.#qId[n++] = this.#qId[i];
    }
    this.#qHead = 0;
    this.#qTail = n;
    if (n > this.#qSlot.length / 2) {
      const slots = new Int32Array(this.#qSlot.length * 2), ids = new Float64Array(slots.length);
      slots.set(this.#qSlot.subarray(0, n));
      ids.set(this.#qId.subarray(0, n));
      this.#qSlot = slots;
      this.#qId = ids;
    }
  }

  /** Touch the inspections of a batch's flows (see {@linkcode Detector.prefetch}). */
  prefetch(table: FlowTable, slots: Int32Array, n: number): void {
    // Worth it only when the inspections outgrow the caches; with fewer the
    // walk costs more than the misses it overlaps (measured: -3 % on the 1 M
    // bench capture, +10 % on the 10 M one with ~200 k inspected at once).
    if (this.#live < PREFETCH_MIN_LIVE) return;
    const conns = this.#conns;
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      if (s < 0 || (table.mark(s) & this.#bits) !== this.#inspecting) continue;
      const an = conns[s]; // a hint must never throw: checked, not assumed
      if (an !== undefined) acc += an.touch();
    }
    this.#sink ^= acc;
  }

  /** Flow end: decide what is still open, release the inspection. */
  onFlowEnd(table: FlowTable, slot: number, _reason: number): void {
    if ((table.mark(slot) & this.#bits) !== this.#inspecting) return;
    const an = this.#conns[slot]!;
    try {
      an.close(table.lastSeen(slot));
    } catch {
      this.stats.errors++;
      an.verdict = Verdict.NOT_SOFTETHER;
    }
    this.#after(table, slot, an, table.lastSeen(slot));
    // Not dismissed by that last decision (which releases it itself): release once.
    if ((table.mark(slot) & this.#bits) === this.#inspecting) this.#release(table, slot, an);
    if (an.event !== undefined) {
      // The connection's bytes count in its session's end record (each way
      // by the roles its inspection found: a flow picked up mid-stream may
      // have them the wrong way round in the flow table).
      const c = an.reversed ? 1 : 0;
      this.#sessions.ended(
        an.event,
        table.lastSeen(slot),
        table.ipBytes(slot, c),
        table.ipBytes(slot, 1 - c),
      );
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

  /** Count and emit what the session tracker decided for a connection ({@linkcode Fold}). */
  #fold(ev: DetectionEvent, fold: number): void {
    if (fold === Fold.NEW) {
      this.stats.alerts++;
      this.#emit(ev);
    } else if (fold === Fold.FOLDED) {
      this.stats.folded++;
    }
  }

  #timers(now: number): void {
    // Runs only once the earliest deadline has passed (not on every packet);
    // an index loop over an array: no iterator allocated.
    if (now >= this.#sessions.nextDue) this.#sessions.release(now);
    this.#earliest = this.#sessions.nextDue;
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
      // A later deadline that packet time has passed already (time jumped:
      // a quiet link, or a capture whose clock leaps) is due now: once more
      // at the current time, not step by step through the gap.
      if (an.verdict === Verdict.UNDECIDED && an.deadline > due && an.deadline <= now) {
        an.timer(now);
        if (an.verdict === Verdict.UNDECIDED && an.deadline <= now) an.deadline = 0;
      }
      // Still undecided: it waits again only for a later deadline (else its
      // next packet or its end decides).
      if (an.verdict === Verdict.UNDECIDED && an.deadline <= due) an.deadline = 0;
      // Decided, or still watching with a later deadline (pended again).
      if (an.slot >= 0 && this.#table !== undefined) this.#after(this.#table, an.slot, an, due);
    }
  }

  #pend(an: Inspection): void {
    if (an.deadline < this.#earliest) this.#earliest = an.deadline;
    if (!an.pending) {
      an.pending = true;
      this.#pending.push(an);
    }
  }

  #unpend(an: Inspection): void {
    if (!an.pending) return;
    an.pending = false;
    const i = this.#pending.indexOf(an);
    if (i >= 0) this.#pending.splice(i, 1);
  }

  #after(table: FlowTable, slot: number, an: Inspection, now: number): void {
    if (an.slot < 0) return; // let go already
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
        if (an.verdict === Verdict.ADDITIONAL) this.#boostSuspects(table, slot, an, now);
        this.#report(table, slot, an, now);
    }
  }

  /**
   * An extra connection (additional_connect) was seen: a session's main
   * connection from the same client to the same server that matched the
   * set-up but lacked evidence is now confirmed, and reported first.
   */
  #boostSuspects(table: FlowTable, slot: number, an: Inspection, now: number): void {
    for (let i = 0; i < this.#pending.length; i++) {
      const other = this.#pending[i];
      const os = other.slot;
      if (!other.suspect || os < 0 || os === slot || table.flowId(os) !== other.flowId) continue;
      if (!sameEndpoints(table, os, other.reversed, slot, an.reversed)) continue;
      other.sessionEvidence("session_extra_connection", WEIGHTS.sessionExtraConnection, now);
      if (other.verdict !== Verdict.UNDECIDED) {
        this.#after(table, os, other, now);
        i = -1; // the list changed
      }
    }
  }

  #dismiss(table: FlowTable, slot: number, an: Inspection): void {
    this.#unpend(an);
    this.stats.dismissed++;
    this.#release(table, slot, an);
  }

  /** Detach the inspection from its flow (counted out of the live ones, once). */
  #release(table: FlowTable, slot: number, an: Inspection): void {
    this.#setMark(table, slot, GAVE_UP);
    this.#conns[slot] = undefined;
    this.stats.inspectedBytes += an.inspectedBytes;
    this.#live--;
    an.release();
    if (an.event === undefined) an.slot = -1;
  }

  #report(table: FlowTable, slot: number, an: Inspection, now: number): void {
    this.#unpend(an);
    const ev: DetectionEvent = buildEvent(table, slot, an, now);
    an.event = ev;
    this.stats.classified++;
    const open = !an.layerKnown || (ev.variant !== "TCP" && ev.target === undefined);
    if (open && !an.additional && ev.outcome === "established") {
      // Picked up mid-stream: the outer layer (a proxy before TLS) or its
      // target went by before the capture started; the session tracker
      // holds it for a connection of its session that shows them — an
      // extra connection is a TCP, TLS and set-up exchange: a few round trips.
      const due = now + LAYER_WAIT + 8 * Math.max(an.rtt, an.setupRtt);
      this.#fold(ev, this.#sessions.hold(ev, an.layerKnown, due));
      if (this.#sessions.nextDue < this.#earliest) this.#earliest = this.#sessions.nextDue;
    } else {
      this.#fold(ev, this.#sessions.connection(ev, an.additional, an.layerKnown));
    }
    // Stop inspecting: the decision is made. The inspection stays on the
    // flow (without its buffers) so the flow's end is counted in its session.
    an.release();
  }
}
