/**
 * The directory of VPN sessions the detectors found, by client and server
 * address: where side flows (UDP acceleration, the connect race's DNS and
 * ICMP probes, NetBIOS queries) meet the session they belong to. Every
 * session event (alert and end record) passes through {@linkcode
 * SessionDirectory.observe}; a side-flow detector asks {@linkcode
 * SessionDirectory.find} with a flow's two addresses (no allocation) and
 * reports the flow with {@linkcode SessionDirectory.attach}, which counts it
 * in the session's end record.
 *
 * @module
 */

import { ipTextToWords } from "../decode/ip_text.ts";
import type { DetectionEvent, SideFlowKind, Variant } from "./event.ts";

/**
 * A side flow may start this long before its session's first connection
 * (seconds; the client starts its connect race with the TCP SYN and packet
 * times of two links may differ by a little).
 */
const START_SLACK = 1;
/**
 * A session stays findable this long after its end record (seconds): its
 * side flows end after its last TCP connection (UDP keep-alives, late
 * acceleration datagrams).
 */
const END_GRACE = 30;
/**
 * A session through a proxy or an SSH forward whose VPN server the sensor
 * cannot see (no address in the request) takes side flows of its client
 * that start at most this long after its first connection (seconds): the
 * server tells the client its address and the client's UDP acceleration may
 * then go to it directly, outside the tunnel.
 */
const CLIENT_ONLY_WINDOW = 10;

/** One VPN session as the side-flow detectors see it. */
export interface SessionEntry {
  /** `flow_id` of the session's alert. */
  readonly id: number;
  /** 4 or 6. */
  readonly version: number;
  /** Client address words. */
  readonly client: Uint32Array;
  /** Server address words (the VPN server: a proxy's target when it was an address). */
  readonly server: Uint32Array;
  /** How the session reached the server. */
  readonly variant: Variant;
  /** Packet time the session's first connection started. */
  readonly start: number;
  /** Packet time of the session's alert (a side flow cannot be tied to it before). */
  readonly alertTs: number;
  /** Packet time of its end record (Infinity while it lasts). */
  end: number;
  /**
   * True when the VPN server's address is unknown (proxy or SSH variant, no
   * address in the request): `server` is then the proxy or SSH host, and
   * the session takes side flows by client address and start time alone.
   */
  readonly serverUnknown: boolean;
  /** Side flows attached so far, by kind. */
  readonly counts: Record<SideFlowKind, number>;
}

function wordsHash(version: number, w: Uint32Array): number {
  let h = version;
  for (let i = 0; i < 4; i++) h = Math.imul(h ^ w[i], 0x9e3779b1) ^ (h >>> 15);
  return h;
}

/** Symmetric key of an address pair (both orientations share it). */
function pairKey(version: number, a: Uint32Array, b: Uint32Array): number {
  return (wordsHash(version, a) ^ wordsHash(version, b)) | 0;
}

function same(a: Uint32Array, b: Uint32Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

function add(map: Map<number, SessionEntry[]>, key: number, e: SessionEntry): void {
  const bucket = map.get(key);
  if (bucket === undefined) map.set(key, [e]);
  else bucket.push(e);
}

function remove(map: Map<number, SessionEntry[]>, key: number, e: SessionEntry): void {
  const bucket = map.get(key);
  if (bucket === undefined) return;
  const rest = bucket.filter((x) => x !== e);
  if (rest.length === 0) map.delete(key);
  else map.set(key, rest);
}

/** VPN sessions by address pair, for tying side flows to them. */
export class SessionDirectory {
  readonly #byPair = new Map<number, SessionEntry[]>();
  readonly #byId = new Map<number, SessionEntry[]>();
  readonly #byClient = new Map<number, SessionEntry[]>(); // sessions whose server is unknown
  #oldestEnd = Infinity; // earliest end among ended sessions, for expiry

  /**
   * Sees a detection event: a VPN session's (or an administration
   * connection's: vpncmd races like a client) alert opens an entry (for its
   * client and server, and for the target of a proxy request when that was
   * an address); its "end" record closes it and gets `side_flows`.
   */
  observe(ev: DetectionEvent): void {
    if (ev.kind !== "vpn" && ev.kind !== "admin") return;
    if (ev.phase === "end") {
      const entries = this.#byId.get(ev.flow_id);
      if (entries === undefined || entries.length === 0) return;
      ev.side_flows = { ...entries[0].counts };
      for (const e of entries) e.end = ev.ts;
      this.#oldestEnd = Math.min(this.#oldestEnd, ev.ts);
      return;
    }
    this.expire(ev.ts);
    const start = ev.start ?? ev.ts;
    const counts: Record<SideFlowKind, number> = {
      udp_accel: 0,
      dns_probe: 0,
      icmp_probe: 0,
      nbns: 0,
    };
    const list: SessionEntry[] = [];
    const client = new Uint32Array(4);
    const version = ipTextToWords(ev.client.ip, client);
    if (version === 0) return;
    const servers = [ev.server.ip];
    if (ev.target !== undefined) servers.push(ev.target.host);
    const proxied = ev.variant !== "TCP" && ev.variant !== "ICMP" && ev.variant !== "DNS";
    for (let i = 0; i < servers.length; i++) {
      const server = new Uint32Array(4);
      if (ipTextToWords(servers[i], server) !== version) continue;
      const entry: SessionEntry = {
        id: ev.flow_id,
        version,
        client,
        server,
        variant: ev.variant,
        start,
        alertTs: ev.ts,
        end: Infinity,
        counts,
        serverUnknown: false,
      };
      add(this.#byPair, pairKey(version, client, server), entry);
      list.push(entry);
    }
    if (proxied && list.length < 2) {
      // Only the proxy's address is known: take side flows by client.
      const entry: SessionEntry = {
        id: ev.flow_id,
        version,
        client,
        server: list[0]?.server ?? new Uint32Array(4),
        variant: ev.variant,
        start,
        alertTs: ev.ts,
        end: Infinity,
        counts,
        serverUnknown: true,
      };
      add(this.#byClient, wordsHash(version, client), entry);
      list.push(entry);
    }
    // A flow can carry one session after another (VPN over ICMP: one ICMP
    // flow per address pair): a new session on it ends the one before.
    const before = this.#byId.get(ev.flow_id);
    if (before !== undefined) this.#forget(before);
    this.#byId.set(ev.flow_id, list);
  }

  /**
   * The session of addresses `a` and `b` (either may be the client) that a
   * flow starting at packet time `ts` belongs to: of the sessions live then
   * (ended at most {@linkcode END_GRACE} s before), the one that started
   * last at or before `ts`, else the first that started at most
   * {@linkcode START_SLACK} s after it. Allocates nothing.
   */
  find(version: number, a: Uint32Array, b: Uint32Array, ts: number): SessionEntry | undefined {
    if (this.#byId.size === 0) return undefined;
    const bucket = this.#byPair.get(pairKey(version, a, b));
    let before: SessionEntry | undefined;
    let after: SessionEntry | undefined;
    if (bucket !== undefined) {
      for (let i = 0; i < bucket.length; i++) {
        const e = bucket[i];
        if (e.version !== version) continue;
        if (
          !((same(e.client, a) && same(e.server, b)) || (same(e.client, b) && same(e.server, a)))
        ) continue;
        if (ts > e.end + END_GRACE) continue;
        if (e.start <= ts) {
          if (before === undefined || e.start > before.start) before = e;
        } else if (e.start - START_SLACK <= ts) {
          if (after === undefined || e.start < after.start) after = e;
        }
      }
    }
    const found = before ?? after;
    if (found !== undefined || this.#byClient.size === 0) return found;
    return this.#byClientOf(version, a, ts) ?? this.#byClientOf(version, b, ts);
  }

  /** Takes a session's entries out of the address maps. */
  #forget(list: SessionEntry[]): void {
    for (const e of list) {
      if (e.serverUnknown) remove(this.#byClient, wordsHash(e.version, e.client), e);
      else remove(this.#byPair, pairKey(e.version, e.client, e.server), e);
    }
  }

  /** A session with an unknown server whose client is `c` and that started just before `ts`. */
  #byClientOf(version: number, c: Uint32Array, ts: number): SessionEntry | undefined {
    const bucket = this.#byClient.get(wordsHash(version, c));
    if (bucket === undefined) return undefined;
    let best: SessionEntry | undefined;
    for (let i = 0; i < bucket.length; i++) {
      const e = bucket[i];
      if (e.version !== version || !same(e.client, c)) continue;
      if (ts < e.start - START_SLACK || ts > e.start + CLIENT_ONLY_WINDOW || ts > e.end) continue;
      if (best === undefined || e.start > best.start) best = e;
    }
    return best;
  }

  /** Counts a side flow of `kind` in `entry`'s session (its end record lists the counts). */
  attach(entry: SessionEntry, kind: SideFlowKind): void {
    entry.counts[kind]++;
  }

  /** Sessions known (live, and ended within the grace time). */
  get size(): number {
    return this.#byId.size;
  }

  /** Forget sessions that ended more than {@linkcode END_GRACE} s before `now`. */
  expire(now: number): void {
    if (now - END_GRACE < this.#oldestEnd) return;
    let oldest = Infinity;
    for (const [id, list] of this.#byId) {
      const end = list.length > 0 ? list[0].end : -Infinity;
      if (end + END_GRACE < now) {
        this.#byId.delete(id);
        this.#forget(list);
      } else if (end < oldest) oldest = end;
    }
    this.#oldestEnd = oldest;
  }
}
