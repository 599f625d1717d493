/**
 * Folds connections into VPN sessions, as SoftEther Alert 1.00 printed one
 * line per VPN connection: a session is its main connection (watermark,
 * hello, login, welcome) plus the extra TCP connections (additional_connect)
 * that join it. Every main connection starts a session — concurrent
 * sessions of one client to one server (several accounts) are separate
 * lines — and an extra connection joins the newest live session of its
 * client and server. The automatic retries of a failed login are one
 * attempt line; administration connections of one client to one server
 * within a live session are one line.
 *
 * @module
 */

import type { DetectionEvent } from "./event.ts";

/** How long (s of packet time) a finished session still absorbs extra connections. */
const SESSION_LINGER = 120;
/** Failed attempts of the same client to the same server within this window are one line. */
const ATTEMPT_WINDOW = 120;

interface Session {
  event: DetectionEvent;
  live: number;
  lastTs: number;
  /** Started by an extra connection: its main connection was not seen (yet). */
  orphan: boolean;
  /** IP bytes client → server of its connections that ended. */
  toServer: number;
  /** IP bytes server → client of its connections that ended. */
  toClient: number;
}

/** What the tracker decided for a connection. */
export const Fold = {
  /** A new session (or attempt): emit its alert. */
  NEW: 0,
  /** Folded into an existing session: no new line. */
  FOLDED: 1,
  /**
   * Held: a main connection whose outer layer went by before the capture
   * started waits for a connection of its session that shows it; the
   * tracker starts its session later (through `onStart`).
   */
  HELD: 2,
} as const;

/** Receives a held connection's event when its session starts (its alert). */
type SessionStartFn = (ev: DetectionEvent) => void;

interface Held {
  ev: DetectionEvent;
  /** False when even the variant is a guess (a proxy request may have gone by). */
  layerKnown: boolean;
  /** Packet time by which it goes out as it is. */
  due: number;
}

/** Receives the summary of a session that ended (phase "end"). */
type SessionEndFn = (summary: DetectionEvent) => void;

/** Client and server of an event, with its kind and outcome: sessions are grouped by it. */
function endpointKey(ev: DetectionEvent): string {
  return `${ev.kind}|${ev.outcome}|${ev.client.ip}|${ev.server.ip}|${ev.server.port}`;
}

/** Same way through the same proxy to the same target (an unknown target matches any). */
function compatible(a: DetectionEvent, b: DetectionEvent): boolean {
  if (a.variant !== b.variant) return false;
  if (a.target === undefined || b.target === undefined) return true;
  return a.target.host === b.target.host && a.target.port === b.target.port;
}

/** Groups classified connections into sessions. */
export class SessionTracker {
  readonly #sessions = new Map<string, Session[]>(); // by endpointKey, oldest first
  readonly #of = new WeakMap<DetectionEvent, Session>(); // connection → its session
  readonly #onEnd: SessionEndFn;
  readonly #onStart: SessionStartFn;
  readonly #held: Held[] = [];
  /** Packet time the earliest held connection is due (Infinity: none). */
  nextDue = Infinity;

  /**
   * Creates a tracker; `onEnd` gets each session's summary once it is
   * over, `onStart` the alert of a held connection when its session starts.
   */
  constructor(onEnd: SessionEndFn = () => {}, onStart: SessionStartFn = () => {}) {
    this.#onEnd = onEnd;
    this.#onStart = onStart;
  }

  /**
   * A main connection picked up mid-stream, whose outer layer (a proxy
   * before its TLS; `layerKnown` false) or proxy target went by before the
   * capture started. If an extra connection of its session already started
   * the session, it joins it (FOLDED, variant and target taken from it);
   * else it is HELD until `due` for a connection that shows the layer.
   */
  hold(ev: DetectionEvent, layerKnown: boolean, due: number): number {
    const list = this.#sessions.get(endpointKey(ev));
    for (let i = (list?.length ?? 0) - 1; i >= 0; i--) {
      const s = list![i];
      if (!s.orphan || s.live === 0) continue;
      s.orphan = false;
      ev.variant = s.event.variant;
      if (s.event.target !== undefined) ev.target = { ...s.event.target };
      return this.connection(ev, true);
    }
    this.#held.push({ ev, layerKnown, due });
    if (due < this.nextDue) this.nextDue = due;
    return Fold.HELD;
  }

  /** Held connections due by `now` start their sessions as they are. */
  release(now: number): void {
    this.nextDue = Infinity;
    for (let i = 0; i < this.#held.length; i++) {
      const h = this.#held[i];
      if (now < h.due) {
        if (h.due < this.nextDue) this.nextDue = h.due;
        continue;
      }
      this.#held.splice(i--, 1);
      this.#start(h.ev);
    }
  }

  #start(ev: DetectionEvent): void {
    if (this.connection(ev, false) === Fold.NEW) this.#onStart(ev);
  }

  /**
   * A connection whose outer layer is known was classified: held
   * connections of the same client to the same server take its variant and
   * target, and start their sessions now (before it, which may join them).
   */
  #adopt(ev: DetectionEvent): void {
    const key = endpointKey(ev);
    for (let i = 0; i < this.#held.length; i++) {
      const h = this.#held[i], x = h.ev;
      if (endpointKey(x) !== key || (h.layerKnown && x.variant !== ev.variant)) continue;
      x.variant = ev.variant;
      if (ev.target !== undefined) x.target = { ...ev.target };
      this.#held.splice(i--, 1);
      this.#start(x);
    }
    this.#dueAgain();
  }

  /** The earliest due time of what is still held. */
  #dueAgain(): void {
    this.nextDue = Infinity;
    for (const h of this.#held) if (h.due < this.nextDue) this.nextDue = h.due;
  }

  /** Close sessions whose connections all ended more than their linger ago. */
  sweep(now: number): void {
    for (const [k, list] of this.#sessions) {
      for (let i = 0; i < list.length; i++) {
        const s = list[i];
        const linger = s.event.outcome === "attempt" ? ATTEMPT_WINDOW : SESSION_LINGER;
        if (s.live === 0 && now - s.lastTs > linger) {
          list.splice(i--, 1);
          this.#summary(s);
        }
      }
      if (list.length === 0) this.#sessions.delete(k);
    }
  }

  /** End of input: held connections start their sessions, then every session is summarised. */
  finish(): void {
    this.release(Infinity);
    for (const list of this.#sessions.values()) for (const s of list) this.#summary(s);
    this.#sessions.clear();
  }

  /**
   * A connection was classified. `additional` marks an extra connection of
   * a session (it joins a live or recent session instead of starting one);
   * `layerKnown` (default true) says its outer layer was seen, which held
   * connections of its session adopt. Returns {@linkcode Fold}; for NEW the
   * caller emits `ev`.
   */
  connection(ev: DetectionEvent, additional: boolean, layerKnown = true): number {
    if (layerKnown && this.#held.length > 0) this.#adopt(ev);
    this.sweep(ev.ts);
    const key = endpointKey(ev);
    let list = this.#sessions.get(key);
    const join = ev.outcome === "attempt" || ev.kind === "admin" || additional;
    if (join && list !== undefined) {
      // The newest session it fits: extra connections of a live session
      // first, then of one that just ended (a reconnect of its connection).
      for (let live = 1; live >= 0; live--) {
        for (let i = list.length - 1; i >= 0; i--) {
          const s = list[i];
          if ((s.live > 0 ? 1 : 0) !== live || !compatible(s.event, ev)) continue;
          s.event.connections++;
          s.live++;
          s.lastTs = ev.ts;
          if (s.event.target === undefined && ev.target !== undefined) {
            s.event.target = { ...ev.target };
          }
          ev.connections = s.event.connections;
          this.#of.set(ev, s);
          return Fold.FOLDED;
        }
      }
    }
    const s: Session = {
      event: ev,
      live: 1,
      lastTs: ev.ts,
      orphan: additional,
      toServer: 0,
      toClient: 0,
    };
    if (list === undefined) this.#sessions.set(key, list = []);
    list.push(s);
    this.#of.set(ev, s);
    return Fold.NEW;
  }

  /**
   * A classified connection (event `ev`) ended at `ts`, having carried
   * `toServer` and `toClient` IP bytes (its session's end record sums them).
   */
  ended(ev: DetectionEvent, ts: number, toServer = 0, toClient = 0): void {
    const h = this.#held.findIndex((x) => x.ev === ev);
    if (h >= 0) {
      this.#start(this.#held.splice(h, 1)[0].ev); // its session needs it first
      this.#dueAgain();
    }
    const s = this.#of.get(ev);
    if (s === undefined) return;
    if (s.live > 0) s.live--;
    if (ts > s.lastTs) s.lastTs = ts;
    s.toServer += toServer;
    s.toClient += toClient;
  }

  #summary(s: Session): void {
    this.#onEnd({
      ...s.event,
      evidence: [...s.event.evidence],
      phase: "end",
      ts: s.lastTs,
      duration: Math.max(0, s.lastTs - s.event.ts),
      bytes: { toserver: s.toServer, toclient: s.toClient },
    });
  }
}
