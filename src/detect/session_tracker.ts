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
}

/** What the tracker decided for a connection. */
export const Fold = {
  /** A new session (or attempt): emit its alert. */
  NEW: 0,
  /** Folded into an existing session: no new line. */
  FOLDED: 1,
} as const;

/** Receives the summary of a session that ended (phase "end"). */
type SessionEndFn = (summary: DetectionEvent) => void;

/** Client and server of an event, with its kind and outcome: sessions are grouped by it. */
export function endpointKey(ev: DetectionEvent): string {
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

  /** Creates a tracker; `onEnd` gets each session's summary once it is over. */
  constructor(onEnd: SessionEndFn = () => {}) {
    this.#onEnd = onEnd;
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

  /** End of input: summarise every session still known. */
  finish(): void {
    for (const list of this.#sessions.values()) for (const s of list) this.#summary(s);
    this.#sessions.clear();
  }

  /**
   * A connection was classified. `additional` marks an extra connection of
   * a session (it joins a live or recent session instead of starting one).
   * Returns {@linkcode Fold}; for NEW the caller emits `ev`.
   */
  connection(ev: DetectionEvent, additional: boolean): number {
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
    const s: Session = { event: ev, live: 1, lastTs: ev.ts, orphan: additional };
    if (list === undefined) this.#sessions.set(key, list = []);
    list.push(s);
    this.#of.set(ev, s);
    return Fold.NEW;
  }

  /**
   * The event of a live session of the same kind, client address and server
   * that was started by an extra connection (its main connection unseen):
   * a main connection picked up mid-stream belongs to it.
   */
  orphanOf(ev: DetectionEvent): DetectionEvent | undefined {
    const list = this.#sessions.get(endpointKey(ev));
    if (list === undefined) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i];
      if (s.orphan && s.live > 0) {
        s.orphan = false;
        return s.event;
      }
    }
    return undefined;
  }

  /** A classified connection (event `ev`) ended at `ts`. */
  ended(ev: DetectionEvent, ts: number): void {
    const s = this.#of.get(ev);
    if (s === undefined) return;
    if (s.live > 0) s.live--;
    if (ts > s.lastTs) s.lastTs = ts;
  }

  #summary(s: Session): void {
    this.#onEnd({
      ...s.event,
      evidence: [...s.event.evidence],
      phase: "end",
      ts: s.lastTs,
      duration: Math.max(0, s.lastTs - s.event.ts),
    });
  }
}
