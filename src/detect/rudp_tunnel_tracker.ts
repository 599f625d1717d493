/**
 * Bookkeeping shared by the VPN over ICMP and VPN over DNS detectors: both
 * carry SoftEther's R-UDP (Mayaqua/Network.c, RUDP_PROTOCOL_ICMP /
 * RUDP_PROTOCOL_DNS) and differ only in how a packet is recognised. A
 * detector recognises a packet and hands it here as one of the
 * {@linkcode TunnelPacket} kinds, under an *episode* key: one R-UDP
 * connection of the flow (VPN over ICMP: the client's ICMP id and sequence
 * number, which its R-UDP stack fixes for the connection and the server
 * echoes; VPN over DNS: the UDP flow itself, key 0).
 *
 * An episode whose two sides both carry tunnel packets, the client going on
 * for a while after the server first answered, is a VPN connection: the
 * first one of a client/server pair opens a session (one alert, kind "vpn"),
 * later ones while the session lives are folded into it (`connections`), and
 * the session's end record is emitted when its last flow ends (its time and
 * bytes those of its episodes' packets: one ICMP flow holds every ICMP
 * message of the address pair). An episode
 * where only the client speaks (or the server answers but the client leaves
 * it: the connect race's loser) is a side flow ("icmp_probe", "dns_probe") of
 * the session the {@linkcode SessionDirectory} knows for the pair at the
 * episode's start, reported once; waiting for that session is bounded.
 *
 * Per-episode state lives in typed arrays (a pool grown by doubling, rarely);
 * nothing is allocated per packet. Events are built at decision time.
 *
 * @module
 */

import type { FlowTable } from "../flow/flow_table.ts";
import type { EmitFn } from "./detector.ts";
import type { DetectionEvent, SideFlowKind, Variant } from "./event.ts";
import { flowEvent } from "./flow_event.ts";
import type { SessionDirectory } from "./session_directory.ts";
import { slotCapacity } from "./slot_capacity.ts";

/** What a recognised packet is, as far as its detector can tell. */
export const TunnelPacket = {
  /** A tunnel packet sent by the R-UDP client. */
  CLIENT: 0,
  /** A tunnel packet sent by the R-UDP server. */
  SERVER: 1,
  /** A tunnel packet whose sender's role the packet does not tell. */
  EITHER: 2,
  /** A SoftEther packet of the client that is not tunnel data (VPN over ICMP's echo requests). */
  CLIENT_OTHER: 3,
  /**
   * A packet the episode caused that neither side's SoftEther sent (the
   * server kernel's echo replies): counted in the session's bytes only.
   */
  ECHOED: 4,
} as const;

/** Tunnel packets needed each way before an episode can be a connection. */
const EACH_WAY = 4;
/**
 * The client must go on sending tunnel packets this long (seconds) after the
 * server's first answer: a connect-race loser the server answered is
 * abandoned within the race, a connection is not.
 */
const CLIENT_SPAN = 1;
/** An unanswered episode is decided a probe this long (seconds) after its first client packet. */
const PROBE_WAIT = 2;
/** Longest wait (seconds from the episode's start) for a session to tie a probe to. */
const SESSION_WAIT = 30;
/** Pending decisions are looked at again at most this often (seconds of packet time). */
const RECHECK = 0.5;
/** Episodes kept per flow (further R-UDP connections of one flow are not tracked). */
const MAX_EPISODES = 32;

// Episode flags.
const F_CLIENT_KNOWN = 1, F_SEEN = 2, F_ESTABLISHED = 4, F_DECIDED = 8;

/** What a tracker reports and how (set by its detector). */
interface TunnelTrackerOptions {
  /** Variant of the sessions ("ICMP" or "DNS"). */
  variant: Variant;
  /** Kind of the side-flow events. */
  probeKind: SideFlowKind;
  /** Variant (transport) of the side-flow events. */
  probeVariant: Variant;
  /** Evidence of a session, from its first established episode. */
  sessionEvidence: (ep: number) => string[];
  /** Evidence of a probe episode. */
  probeEvidence: (ep: number) => string[];
  /** Confidence of a session alert. */
  sessionConfidence: number;
  /** Confidence of a probe event. */
  probeConfidence: number;
}

/** Counters of a tracker (for summaries and tests). */
export interface TunnelTrackerStats {
  /** Sessions alerted. */
  sessions: number;
  /** Connections (episodes) folded into a live session after its first. */
  folded: number;
  /** Probe side flows reported. */
  probes: number;
  /** Probe episodes no session could be found for (never reported). */
  unattached: number;
  /** R-UDP connections beyond the per-flow limit, not tracked. */
  overflow: number;
}

/** A live session: its alert and what its end record needs. */
interface TunnelSession {
  alert: DetectionEvent;
  version: number;
  client: Uint32Array;
  server: Uint32Array;
  start: number;
  last: number;
  connections: number;
  flows: number[]; // slots of its flows still alive
  toServer: number;
  toClient: number;
}

/** A probe whose flow ended before its session was known. */
interface LateProbe {
  ev: DetectionEvent;
  version: number;
  a: Uint32Array;
  b: Uint32Array;
  since: number;
}

function same(a: Uint32Array, b: Uint32Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/** R-UDP episodes of one detector's flows, their sessions and side flows. */
export class RudpTunnelTracker {
  /** Work counters. */
  readonly stats: TunnelTrackerStats = {
    sessions: 0,
    folded: 0,
    probes: 0,
    unattached: 0,
    overflow: 0,
  };
  readonly #emit: EmitFn;
  readonly #directory: SessionDirectory;
  readonly #o: TunnelTrackerOptions;
  #table: FlowTable | undefined;
  #head = new Int32Array(0); // slot → first episode + 1
  #cap = 0;
  #free = -1;
  // Per episode.
  #slot = new Int32Array(0);
  #key = new Uint32Array(0);
  #next = new Int32Array(0); // next episode of the slot, or next free
  #flags = new Uint8Array(0);
  #clientDir = new Uint8Array(0);
  #icmpType = new Uint8Array(0);
  #tun = new Uint32Array(0); // 2 per episode, by flow direction
  #other = new Uint32Array(0); // 2 per episode
  #firstTun = new Float64Array(0); // 2 per episode
  #lastTun = new Float64Array(0); // 2 per episode
  #bytes = new Float64Array(0); // 2 per episode: IP bytes of its packets by direction
  #last = new Float64Array(0); // last packet of the episode
  #first = new Float64Array(0); // first SoftEther packet
  #firstClient = new Float64Array(0); // first packet the client sent
  #sess: (TunnelSession | undefined)[] = [];
  // Episodes awaiting a probe decision.
  #pending = new Int32Array(16);
  #nPending = 0;
  #nextSweep = Infinity;
  #sessions: TunnelSession[] = [];
  #late: LateProbe[] = [];
  readonly #a = new Uint32Array(4);
  readonly #b = new Uint32Array(4);
  /** True when the last {@linkcode RudpTunnelTracker.episode} call created the episode. */
  fresh = false;

  /** Creates a tracker reporting through `emit`, tying side flows through `directory`. */
  constructor(emit: EmitFn, directory: SessionDirectory, opts: TunnelTrackerOptions) {
    this.#emit = emit;
    this.#directory = directory;
    this.#o = opts;
  }

  /** Episodes the pool holds room for (per-episode arrays of a detector follow it). */
  get capacity(): number {
    return this.#cap;
  }

  /**
   * The episode of flow `slot` under `key`, created when new; −1 when the
   * flow already has its maximum of episodes.
   */
  episode(table: FlowTable, slot: number, key: number): number {
    if (slot >= this.#head.length) {
      const h = new Int32Array(slotCapacity(slot, table.maxFlows));
      h.set(this.#head);
      this.#head = h;
    }
    this.#table = table;
    this.fresh = false;
    let n = 0;
    for (let e = this.#head[slot] - 1; e >= 0; e = this.#next[e]) {
      if (this.#key[e] === key) return e;
      n++;
    }
    if (n >= MAX_EPISODES) {
      this.stats.overflow++;
      return -1;
    }
    if (this.#free < 0) this.#grow();
    const e = this.#free;
    this.#free = this.#next[e];
    this.#slot[e] = slot;
    this.#key[e] = key;
    this.#flags[e] = 0;
    this.#clientDir[e] = 0;
    this.#icmpType[e] = 0;
    this.#tun[e * 2] = this.#tun[e * 2 + 1] = 0;
    this.#other[e * 2] = this.#other[e * 2 + 1] = 0;
    this.#bytes[e * 2] = this.#bytes[e * 2 + 1] = 0;
    this.#sess[e] = undefined;
    this.#next[e] = this.#head[slot] - 1;
    this.#head[slot] = e + 1;
    if (this.#nPending === this.#pending.length) {
      const p = new Int32Array(this.#pending.length * 2);
      p.set(this.#pending);
      this.#pending = p;
    }
    this.#pending[this.#nPending++] = e;
    this.fresh = true;
    return e;
  }

  /** Direction (0/1, the flow table's) of the episode's client; 0 while unknown. */
  clientDir(ep: number): number {
    return this.#clientDir[ep];
  }

  /** True once a packet told the episode's client direction. */
  clientKnown(ep: number): boolean {
    return (this.#flags[ep] & F_CLIENT_KNOWN) !== 0;
  }

  /** Sets the ICMP type used for the Community ID of the episode's events. */
  setIcmpType(ep: number, type: number): void {
    this.#icmpType[ep] = type;
  }

  /**
   * Counts one packet of episode `ep` (`ipLen` IP bytes), sent in flow
   * direction `dir` at `ts` ({@linkcode TunnelPacket} `kind`), and decides the
   * episode when its evidence is complete.
   */
  count(ep: number, dir: number, kind: number, ts: number, ipLen: number): void {
    this.#bytes[ep * 2 + dir] += ipLen;
    if (ts > this.#last[ep]) this.#last[ep] = ts;
    if (kind === TunnelPacket.ECHOED) return;
    const f = this.#flags[ep];
    if ((f & F_CLIENT_KNOWN) === 0) {
      if (kind === TunnelPacket.CLIENT || kind === TunnelPacket.CLIENT_OTHER) {
        this.#clientDir[ep] = dir;
        this.#flags[ep] |= F_CLIENT_KNOWN;
      } else if (kind === TunnelPacket.SERVER) {
        this.#clientDir[ep] = 1 - dir;
        this.#flags[ep] |= F_CLIENT_KNOWN;
        // The client's packets before its role showed (kind EITHER) were its first ones.
        const c = ep * 2 + 1 - dir;
        if (this.#tun[c] > 0) {
          this.#firstClient[ep] = this.#firstTun[c];
          if (this.#firstTun[c] + PROBE_WAIT < this.#nextSweep) {
            this.#nextSweep = this.#firstTun[c] + PROBE_WAIT;
          }
        }
      }
    }
    if ((f & F_SEEN) === 0) {
      this.#first[ep] = ts;
      this.#last[ep] = ts;
      this.#firstClient[ep] = Infinity;
      this.#flags[ep] |= F_SEEN;
    }
    // Whatever the packet says of itself: one sent by the client (its role known) is its.
    if ((this.#flags[ep] & F_CLIENT_KNOWN) !== 0 && dir === this.#clientDir[ep]) {
      if (this.#firstClient[ep] === Infinity) {
        this.#firstClient[ep] = ts;
        if (ts + PROBE_WAIT < this.#nextSweep) this.#nextSweep = ts + PROBE_WAIT;
      }
    }
    const i = ep * 2 + dir;
    if (kind === TunnelPacket.CLIENT_OTHER) this.#other[i]++;
    else {
      if (this.#tun[i] === 0) this.#firstTun[i] = ts;
      this.#tun[i]++;
      this.#lastTun[i] = ts;
    }
    if ((this.#flags[ep] & F_ESTABLISHED) === 0) this.#check(ep, ts);
  }

  /**
   * Packet time `now` has come: decide the probes that waited long enough.
   * Cheap when nothing is due (one comparison): call it for every packet.
   */
  sweep(now: number): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = Infinity;
    let i = 0;
    while (i < this.#nPending) {
      const ep = this.#pending[i];
      if (this.#decideProbe(ep, now, false)) {
        this.#pending[i] = this.#pending[--this.#nPending];
      } else {
        const due = Math.min(
          Math.max(this.#firstClient[ep] + PROBE_WAIT, now + RECHECK),
          Math.max(this.#first[ep] + SESSION_WAIT, now + RECHECK),
        );
        if (due < this.#nextSweep) this.#nextSweep = due;
        i++;
      }
    }
    if (this.#late.length > 0) {
      this.#late = this.#late.filter((l) => !this.#lateTry(l, now));
      if (this.#late.length > 0) this.#nextSweep = Math.min(this.#nextSweep, now + RECHECK);
    }
  }

  /** True while flow `slot` has an episode not decided yet. */
  undecided(slot: number): boolean {
    if (slot >= this.#head.length) return false;
    for (let e = this.#head[slot] - 1; e >= 0; e = this.#next[e]) {
      if ((this.#flags[e] & (F_ESTABLISHED | F_DECIDED)) === 0) return true;
    }
    return false;
  }

  /**
   * Flow `slot` ends: its undecided episodes are decided now (or wait for
   * their session without the flow), its sessions lose a flow (the last one
   * gets its end record), and its episodes are freed.
   */
  flowEnd(table: FlowTable, slot: number): void {
    if (slot >= this.#head.length || this.#head[slot] === 0) return;
    const now = Math.max(table.now, table.lastSeen(slot));
    for (let e = this.#head[slot] - 1; e >= 0; e = this.#next[e]) {
      if ((this.#flags[e] & (F_ESTABLISHED | F_DECIDED)) === 0) this.#decideProbe(e, now, true);
    }
    let e = this.#head[slot] - 1;
    while (e >= 0) {
      const s = this.#sess[e];
      if (s !== undefined) {
        const cd = this.#clientDir[e];
        s.toServer += this.#bytes[e * 2 + cd];
        s.toClient += this.#bytes[e * 2 + 1 - cd];
        s.last = Math.max(s.last, this.#last[e]);
        const at = s.flows.indexOf(slot);
        if (at >= 0) s.flows.splice(at, 1);
        this.#sess[e] = undefined;
      }
      const n = this.#next[e];
      this.#next[e] = this.#free;
      this.#free = e;
      this.#slot[e] = -1;
      e = n;
    }
    this.#head[slot] = 0;
    // Sessions whose last flow this was end now.
    for (let i = this.#sessions.length - 1; i >= 0; i--) {
      if (this.#sessions[i].flows.length === 0) this.#endSession(this.#sessions[i]);
    }
    let i = 0;
    while (i < this.#nPending) {
      if (this.#slot[this.#pending[i]] === -1) this.#pending[i] = this.#pending[--this.#nPending];
      else i++;
    }
  }

  /** End of input: probes still waiting for their session get a last look. */
  finish(): void {
    const now = this.#table?.now ?? 0;
    for (const l of this.#late) {
      if (!this.#lateTry(l, now)) this.stats.unattached++;
    }
    this.#late = [];
  }

  /** Establishes the episode once both sides carried enough tunnel packets. */
  #check(ep: number, ts: number): void {
    const cd = this.#clientDir[ep], sd = 1 - cd;
    if (
      this.#tun[ep * 2 + cd] >= EACH_WAY && this.#tun[ep * 2 + sd] >= EACH_WAY &&
      this.#lastTun[ep * 2 + cd] - this.#firstTun[ep * 2 + sd] >= CLIENT_SPAN
    ) {
      this.#flags[ep] |= F_ESTABLISHED;
      this.#join(ep, ts);
    }
  }

  /**
   * Makes the episode a connection: folded into the live session of its
   * client and server, or the first of a new session (its alert).
   */
  #join(ep: number, ts: number): void {
    if (this.#sess[ep] !== undefined) return;
    const table = this.#table!, slot = this.#slot[ep], cd = this.#clientDir[ep];
    const version = table.ipVersion(slot);
    const client = table.address(slot, cd, this.#a), server = table.address(slot, 1 - cd, this.#b);
    let s = this.#live(version, client, server);
    if (s !== undefined) {
      s.connections++;
      this.stats.folded++;
    } else {
      const alert = flowEvent(table, slot, ts, {
        kind: "vpn",
        variant: this.#o.variant,
        reversed: cd === 1,
        icmpType: this.#icmpType[ep],
        evidence: this.#o.sessionEvidence(ep),
        confidence: this.#o.sessionConfidence,
      });
      alert.start = this.#first[ep];
      s = {
        alert,
        version,
        client: client.slice(),
        server: server.slice(),
        start: this.#first[ep],
        last: ts,
        connections: 1,
        flows: [],
        toServer: 0,
        toClient: 0,
      };
      this.#sessions.push(s);
      this.stats.sessions++;
      this.#emit(alert);
    }
    if (!s.flows.includes(slot)) s.flows.push(slot);
    this.#sess[ep] = s;
  }

  /** The live session of this detector for the client/server pair. */
  #live(version: number, client: Uint32Array, server: Uint32Array): TunnelSession | undefined {
    for (let i = this.#sessions.length - 1; i >= 0; i--) {
      const s = this.#sessions[i];
      if (s.version === version && same(s.client, client) && same(s.server, server)) return s;
    }
    return undefined;
  }

  #endSession(s: TunnelSession): void {
    const i = this.#sessions.indexOf(s);
    if (i >= 0) this.#sessions.splice(i, 1);
    this.#emit({
      ...s.alert,
      ts: s.last,
      evidence: [...s.alert.evidence],
      connections: s.connections,
      latency: 0,
      phase: "end",
      duration: s.last - s.start,
      bytes: { toserver: s.toServer, toclient: s.toClient },
    });
  }

  /**
   * Decides whether episode `ep` is a probe of a known session (`final`: its
   * flow ends now). True when nothing is left to wait for.
   */
  #decideProbe(ep: number, now: number, final: boolean): boolean {
    const f = this.#flags[ep];
    if ((f & (F_ESTABLISHED | F_DECIDED)) !== 0) return true;
    const first = this.#first[ep];
    const expired = now >= first + SESSION_WAIT;
    const cd = this.#clientDir[ep], sd = 1 - cd;
    const fromClient = (f & F_CLIENT_KNOWN) !== 0 &&
      this.#tun[ep * 2 + cd] + this.#other[ep * 2 + cd] > 0;
    if (!fromClient) {
      // Nothing of the client seen (one direction captured, roles unknown).
      if (!final && !expired) return false;
      this.#flags[ep] |= F_DECIDED;
      return true;
    }
    if (!final && now < this.#firstClient[ep] + PROBE_WAIT) return false;
    const table = this.#table!, slot = this.#slot[ep];
    const version = table.ipVersion(slot);
    const client = table.address(slot, cd, this.#a), server = table.address(slot, 1 - cd, this.#b);
    if (this.#tun[ep * 2 + sd] > 0) {
      // The server answered: a further connection of a live session, or a race loser.
      if (this.#live(version, client, server) !== undefined) {
        this.#flags[ep] |= F_DECIDED;
        this.#join(ep, now);
        return true;
      }
      if (!final && !expired) return false;
    }
    const entry = this.#directory.find(version, client, server, this.#firstClient[ep]);
    if (entry !== undefined || final || expired) this.#flags[ep] |= F_DECIDED;
    if (entry === undefined && !final) {
      if (expired) this.stats.unattached++;
      return expired;
    }
    // Dated when the decision became possible — the probe's wait over and
    // its session alerted — not when a packet of some flow happened to
    // sweep: the same time however packets are spread (analysis workers).
    const due = this.#firstClient[ep] + PROBE_WAIT;
    const at = Math.min(now, Math.max(due, entry?.alertTs ?? due));
    const ev = flowEvent(table, slot, at, {
      kind: this.#o.probeKind,
      variant: this.#o.probeVariant,
      reversed: cd === 1,
      icmpType: this.#icmpType[ep],
      evidence: this.#o.probeEvidence(ep),
      confidence: this.#o.probeConfidence,
    });
    ev.start = this.#firstClient[ep];
    if (entry !== undefined) {
      ev.session = entry.id;
      this.#directory.attach(entry, this.#o.probeKind);
      this.stats.probes++;
      this.#emit(ev);
    } else if (now < first + SESSION_WAIT) {
      // The flow ended before its session was announced: wait without it.
      this.#late.push({
        ev,
        version,
        a: client.slice(),
        b: server.slice(),
        since: this.#firstClient[ep],
      });
      this.#nextSweep = Math.min(this.#nextSweep, now + RECHECK);
    } else this.stats.unattached++;
    return true;
  }

  /** A late probe: reported when its session is known now; true when done with it. */
  #lateTry(l: LateProbe, now: number): boolean {
    const entry = this.#directory.find(l.version, l.a, l.b, l.since);
    if (entry !== undefined) {
      l.ev.session = entry.id;
      l.ev.ts = Math.min(now, Math.max(l.ev.ts, entry.alertTs));
      this.#directory.attach(entry, this.#o.probeKind);
      this.stats.probes++;
      this.#emit(l.ev);
      return true;
    }
    if (now >= l.since + SESSION_WAIT) {
      this.stats.unattached++;
      return true;
    }
    return false;
  }

  /** Doubles the episode pool (rare: only when more episodes are live than ever before). */
  #grow(): void {
    const old = this.#cap, cap = Math.max(64, old * 2);
    const g32 = (a: Int32Array, n: number) => {
      const b = new Int32Array(cap * n);
      b.set(a);
      return b;
    };
    const gu32 = (a: Uint32Array, n: number) => {
      const b = new Uint32Array(cap * n);
      b.set(a);
      return b;
    };
    const gu8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    const gf = (a: Float64Array, n: number) => {
      const b = new Float64Array(cap * n);
      b.set(a);
      return b;
    };
    this.#slot = g32(this.#slot, 1);
    this.#key = gu32(this.#key, 1);
    this.#next = g32(this.#next, 1);
    this.#flags = gu8(this.#flags);
    this.#clientDir = gu8(this.#clientDir);
    this.#icmpType = gu8(this.#icmpType);
    this.#tun = gu32(this.#tun, 2);
    this.#other = gu32(this.#other, 2);
    this.#firstTun = gf(this.#firstTun, 2);
    this.#lastTun = gf(this.#lastTun, 2);
    this.#bytes = gf(this.#bytes, 2);
    this.#last = gf(this.#last, 1);
    this.#first = gf(this.#first, 1);
    this.#firstClient = gf(this.#firstClient, 1);
    this.#sess.length = cap;
    for (let e = cap - 1; e >= old; e--) {
      this.#slot[e] = -1;
      this.#next[e] = this.#free;
      this.#free = e;
    }
    this.#cap = cap;
  }
}
