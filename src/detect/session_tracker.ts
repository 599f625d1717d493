/**
 * Folds connections into VPN sessions, as SoftEther Alert 1.00 printed one
 * line per VPN connection: a session's extra TCP connections
 * (additional_connect) are counted into the session that is already
 * reported; the automatic retries of a failed login are one attempt line.
 *
 * @module
 */

import type { DetectionEvent } from "./event.ts";

/** How long (s of packet time) a finished session still absorbs extra connections. */
export const SESSION_LINGER = 120;
/** Failed attempts of the same client to the same server within this window are one line. */
export const ATTEMPT_WINDOW = 120;

interface Session {
  event: DetectionEvent;
  live: number;
  lastTs: number;
}

/** What the tracker decided for a connection. */
export const Fold = {
  /** A new session (or attempt): emit its alert. */
  NEW: 0,
  /** Folded into an existing session: no new line. */
  FOLDED: 1,
} as const;

/** Receives the summary of a session that ended (phase "end"). */
export type SessionEndFn = (summary: DetectionEvent) => void;

/** Groups connections by (kind, variant, outcome, client ip, server, target). */
export class SessionTracker {
  readonly #sessions = new Map<string, Session>();
  readonly #onEnd: SessionEndFn;
  /** Connections folded into an existing session. */
  folded = 0;

  /** Creates a tracker; `onEnd` gets each session's summary once it is over. */
  constructor(onEnd: SessionEndFn = () => {}) {
    this.#onEnd = onEnd;
  }

  /** Close sessions whose connections all ended more than their linger ago. */
  sweep(now: number): void {
    this.#expire(now);
  }

  /** End of input: summarise every session still known. */
  finish(): void {
    for (const s of this.#sessions.values()) this.#summary(s);
    this.#sessions.clear();
  }

  /** Key of the session a connection belongs to. */
  static key(ev: DetectionEvent): string {
    const t = ev.target ? `${ev.target.host}:${ev.target.port}` : "";
    return `${ev.kind}|${ev.variant}|${ev.client.ip}|${ev.server.ip}:${ev.server.port}|${t}`;
  }

  /**
   * A connection was classified. `additional` marks an extra connection of
   * a session (it joins a live or recent session instead of starting one).
   * Returns {@linkcode Fold}; for NEW the caller emits `ev`.
   */
  connection(ev: DetectionEvent, additional: boolean): number {
    const key = SessionTracker.key(ev) + (ev.outcome === "attempt" ? "|attempt" : "");
    this.#expire(ev.ts);
    const s = this.#sessions.get(key);
    if (s !== undefined && s.live === 0 && ev.outcome !== "attempt" && !additional) {
      // A new login after the previous session's connections all ended.
      this.#sessions.delete(key);
      this.#summary(s);
      this.#sessions.set(key, { event: ev, live: 1, lastTs: ev.ts });
      return Fold.NEW;
    }
    const joins = s !== undefined &&
      (additional || ev.outcome === "attempt" || ev.kind === "admin");
    if (joins) {
      s.event.connections++;
      s.live++;
      s.lastTs = ev.ts;
      ev.connections = s.event.connections;
      this.folded++;
      return Fold.FOLDED;
    }
    this.#sessions.set(key, { event: ev, live: 1, lastTs: ev.ts });
    return Fold.NEW;
  }

  /** A classified connection of session `ev` ended at `ts`. */
  ended(ev: DetectionEvent, ts: number): void {
    const key = SessionTracker.key(ev) + (ev.outcome === "attempt" ? "|attempt" : "");
    const s = this.#sessions.get(key);
    if (s === undefined) return;
    if (s.live > 0) s.live--;
    if (ts > s.lastTs) s.lastTs = ts;
  }

  #expire(now: number): void {
    for (const [k, s] of this.#sessions) {
      const linger = s.event.outcome === "attempt" ? ATTEMPT_WINDOW : SESSION_LINGER;
      if (s.live === 0 && now - s.lastTs > linger) {
        this.#sessions.delete(k);
        this.#summary(s);
      }
    }
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
