/**
 * UDP side flows of SoftEther VPN sessions: UDP acceleration and NetBIOS
 * name queries, tied to a session found by another detector (same client
 * and server addresses, starting with or after the session's first
 * connection; {@linkcode SessionDirectory}).
 *
 * UDP acceleration (SoftEther's UdpAccel.c) is decided by shape and timing,
 * never by port number: both ends send keep-alives, each an empty frame of
 * the protocol's fixed overhead plus 0–31 random padding bytes — 23 bytes
 * of header in plaintext mode, + a 20-byte IV and a 20-byte MAC in version 1
 * (RC4), + a 12-byte nonce and a 16-byte tag in version 2
 * (ChaCha20-Poly1305): 23–94 bytes in all — at intervals of 0.5–1 s (builds
 * ≥ 8535) or 1–3 s (older builds). The random padding makes the keep-alive
 * sizes vary, which fixed-size heartbeats of other protocols do not; in
 * plaintext mode (no padding) the 23-byte header itself is checked: a
 * cookie constant per direction, the sender's 64-bit tick rising, data size
 * 0 and a flag byte of 0 or 1.
 *
 * NetBIOS name queries: RFC 1002 name-query or node-status requests on UDP
 * 137 between the session's two addresses.
 *
 * @module
 */

import { type DecodedPacket, IpProto } from "../decode/packet.ts";
import type { FlowTable } from "../flow/flow_table.ts";
import type { Detector, EmitFn } from "./detector.ts";
import { flowEvent } from "./flow_event.ts";
import type { SessionDirectory, SessionEntry } from "./session_directory.ts";
import { slotCapacity } from "./slot_capacity.ts";

/** Smallest keep-alive: the plaintext header (cookie, two ticks, size, flag). */
const KEEPALIVE_MIN = 23;
/** Largest keep-alive: version 1's IV + header + MAC (63) + 31 padding bytes. */
const KEEPALIVE_MAX = 94;
/** Keep-alive gaps accepted (seconds): the protocol's 0.5–3 s, with slack for jitter. */
const GAP_MIN = 0.3;
const GAP_MAX = 4;
/** Keep-alives needed each way, and in-range gaps needed in all. */
const KEEPALIVES_EACH_WAY = 2;
const GAPS_NEEDED = 2;
/** A UDP flow that found no session within this many seconds of its start is left alone. */
const SESSION_WAIT = 30;
/** A shaped flow without a session is looked up again at most this often (seconds of packet time). */
const RECHECK = 0.5;
/** NetBIOS name service port. */
const NBNS_PORT = 137;

/** Counters of the detector (for the summary). */
interface UdpSideFlowStats {
  /** UDP acceleration flows reported. */
  udpAccel: number;
  /** NetBIOS query flows reported. */
  nbns: number;
  /** UDP flows with the acceleration shape that no session claimed. */
  unclaimed: number;
}

/** Detects UDP acceleration and NetBIOS side flows of known sessions. */
export class UdpSideFlowDetector implements Detector {
  /**
   * No mark bits: the per-slot state is tied to the flow's number (a reused
   * slot starts afresh), so no end-of-flow call is needed.
   */
  readonly markBits = 0;
  /** Position of the (empty) bit field (set by the pipeline). */
  markShift = 0;
  /** Work counters. */
  readonly stats: UdpSideFlowStats = { udpAccel: 0, nbns: 0, unclaimed: 0 };
  readonly #emit: EmitFn;
  readonly #dir: SessionDirectory;
  readonly #a = new Uint32Array(4);
  readonly #b = new Uint32Array(4);
  // Per flow slot (grown to the table's size on first use).
  #fid = new Float64Array(0); // number of the flow the slot's state is about
  #done = new Uint8Array(0); // reported, or no session claimed it in time
  #next = new Float64Array(0); // next session look-up
  #ka = new Uint16Array(0); // keep-alives, 2 per slot (by direction)
  #lastKa = new Float64Array(0); // time of the last keep-alive, 2 per slot
  #gaps = new Uint8Array(0); // keep-alive gaps in range
  #minLen = new Uint8Array(0); // smallest and largest keep-alive payload
  #maxLen = new Uint8Array(0);
  #plain = new Uint8Array(0); // 1 while every keep-alive had the plaintext header's structure
  #cookie = new Uint32Array(0); // plaintext: first cookie, 2 per slot
  #tick = new Float64Array(0); // plaintext: last tick, 2 per slot

  /** Creates the detector; `emit` receives side-flow events, `directory` knows the sessions. */
  constructor(emit: EmitFn, directory: SessionDirectory) {
    this.#emit = emit;
    this.#dir = directory;
  }

  /**
   * See {@linkcode Detector.onPacket}. Keep-alive-sized datagrams of every
   * UDP flow are counted from its first packet (a session is often alerted
   * only after its acceleration flow began); a session is looked up once the
   * flow has the acceleration shape, or for a NetBIOS query.
   */
  onPacket(table: FlowTable, slot: number, dir: number, p: DecodedPacket): void {
    if (p.proto !== IpProto.UDP) return;
    // Acceleration sockets are bound by the OS (an ephemeral port) or in
    // 40000–44999 (UdpAccel.c NewUdpAccel): both ports are >= 1024, so a
    // well-known service (DNS, NTP, QUIC on 443, …) is never acceleration.
    const sp = p.srcPort, dp = p.dstPort;
    if ((sp < 1024 || dp < 1024) && sp !== NBNS_PORT && dp !== NBNS_PORT) return;
    const len = p.payloadLen;
    const sized = len >= KEEPALIVE_MIN && len <= KEEPALIVE_MAX;
    // Neither counted nor looked up: the slot's state is not touched (a new
    // flow's state is reset by whichever packet reads it first).
    if (!sized && this.#dir.size === 0) return;
    if (slot >= this.#done.length) this.#grow(slotCapacity(slot, table.maxFlows));
    const id = table.flowId(slot);
    if (this.#fid[slot] !== id) this.#reset(slot, id);
    if (this.#done[slot] === 1) return;
    if (sized) this.#count(slot, dir, p);
    if (this.#dir.size === 0) return;
    const nbns = (p.srcPort === NBNS_PORT || p.dstPort === NBNS_PORT) && isNbnsQuery(p);
    if (!nbns && !this.#shaped(slot)) return;
    if (p.ts < this.#next[slot]) return;
    const first = table.firstSeen(slot);
    if (p.ts - first > SESSION_WAIT) {
      this.stats.unclaimed++;
      this.#done[slot] = 1;
      return;
    }
    const entry = this.#dir.find(
      table.ipVersion(slot),
      table.address(slot, 0, this.#a),
      table.address(slot, 1, this.#b),
      first,
    );
    if (entry === undefined) {
      this.#next[slot] = p.ts + RECHECK;
      return;
    }
    this.#done[slot] = 1;
    // UDP acceleration belongs to sessions over TCP; a VPN-over-DNS/ICMP
    // session's own datagrams are its tunnel, not acceleration.
    if (!nbns && (entry.variant === "DNS" || entry.variant === "ICMP")) return;
    this.#report(table, slot, p.ts, nbns ? "nbns" : "udp_accel", entry);
  }

  /** Keep-alive bookkeeping of one keep-alive-sized datagram. */
  #count(slot: number, dir: number, p: DecodedPacket): void {
    const len = p.payloadLen;
    const i = slot * 2 + dir;
    if (this.#ka[i] > 0) {
      const gap = p.ts - this.#lastKa[i];
      if (gap >= GAP_MIN && gap <= GAP_MAX && this.#gaps[slot] < 255) this.#gaps[slot]++;
    }
    this.#plainCheck(slot, i, p);
    if (this.#ka[slot * 2] + this.#ka[slot * 2 + 1] === 0) {
      this.#minLen[slot] = len;
      this.#maxLen[slot] = len;
    } else if (len < this.#minLen[slot]) this.#minLen[slot] = len;
    else if (len > this.#maxLen[slot]) this.#maxLen[slot] = len;
    if (this.#ka[i] < 65535) this.#ka[i]++;
    this.#lastKa[i] = p.ts;
  }

  /** Whether flow `slot` has shown the acceleration shape. */
  #shaped(slot: number): boolean {
    return this.#ka[slot * 2] >= KEEPALIVES_EACH_WAY &&
      this.#ka[slot * 2 + 1] >= KEEPALIVES_EACH_WAY && this.#gaps[slot] >= GAPS_NEEDED &&
      (this.#maxLen[slot] !== this.#minLen[slot] || this.#plain[slot] === 1);
  }

  #reset(slot: number, id: number): void {
    this.#fid[slot] = id;
    this.#done[slot] = 0;
    this.#next[slot] = 0;
    this.#ka[slot * 2] = 0;
    this.#ka[slot * 2 + 1] = 0;
    this.#gaps[slot] = 0;
  }

  /**
   * Plaintext-mode structure of a keep-alive (direction index `i`): a
   * 23-byte header with data size 0, flag 0 or 1, the direction's first
   * cookie, and a tick above the direction's last one.
   */
  #plainCheck(slot: number, i: number, p: DecodedPacket): void {
    const b = p.buf, o = p.payloadOffset;
    const first = this.#ka[slot * 2] + this.#ka[slot * 2 + 1] === 0;
    if (first) this.#plain[slot] = 1;
    if (this.#plain[slot] === 0) return;
    if (p.payloadLen !== KEEPALIVE_MIN || p.payloadCapLen < KEEPALIVE_MIN) {
      this.#plain[slot] = 0;
      return;
    }
    const cookie = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    const hi = ((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0;
    const lo = ((b[o + 8] << 24) | (b[o + 9] << 16) | (b[o + 10] << 8) | b[o + 11]) >>> 0;
    const tick = hi * 4294967296 + lo;
    const size = (b[o + 20] << 8) | b[o + 21];
    const ok = size === 0 && b[o + 22] <= 1 && cookie !== 0 &&
      (this.#ka[i] === 0 || (cookie === this.#cookie[i] && tick > this.#tick[i]));
    if (!ok) {
      this.#plain[slot] = 0;
      return;
    }
    this.#cookie[i] = cookie;
    this.#tick[i] = tick;
  }

  /** True when the flow table's client of `slot` is not `entry`'s client. */
  #reversed(table: FlowTable, slot: number, entry: SessionEntry): boolean {
    const a = table.address(slot, 0, this.#a), c = entry.client;
    return !(a[0] === c[0] && a[1] === c[1] && a[2] === c[2] && a[3] === c[3]);
  }

  #report(
    table: FlowTable,
    slot: number,
    ts: number,
    kind: "udp_accel" | "nbns",
    entry: SessionEntry,
  ): void {
    const accel = kind === "udp_accel";
    const ev = flowEvent(table, slot, ts, {
      kind,
      variant: "UDP",
      reversed: this.#reversed(table, slot, entry),
      evidence: accel
        ? [
          "session_pair",
          "keepalive_both_ways",
          this.#plain[slot] === 1 ? "keepalive_plaintext_header" : "keepalive_padding",
          "keepalive_interval",
        ]
        : ["session_pair", "nbns_query"],
      confidence: accel ? 0.9 : 0.8,
      latency: ts - table.firstSeen(slot),
    });
    ev.session = entry.id;
    if (entry.serverUnknown) ev.evidence.push("session_client_only");
    this.#dir.attach(entry, kind);
    if (accel) this.stats.udpAccel++;
    else this.stats.nbns++;
    this.#emit(ev);
  }

  /** Never called: the detector marks no flow. */
  onFlowEnd(_table: FlowTable, _slot: number, _reason: number): void {}

  /** Nothing is timed: flows are decided on their own packets. */
  tick(_now: number): void {}

  /** Nothing is pending at the end of input. */
  finish(): void {}

  /** Side flows are not inspected deeply (no evidence pcaps). */
  inspecting(_table: FlowTable, _slot: number): boolean {
    return false;
  }

  #grow(n: number): void {
    const grow8 = (a: Uint8Array, k = 1) => {
      const b = new Uint8Array(n * k);
      b.set(a);
      return b;
    };
    const grow64 = (a: Float64Array, k = 1) => {
      const b = new Float64Array(n * k);
      b.set(a);
      return b;
    };
    this.#fid = grow64(this.#fid);
    this.#done = grow8(this.#done);
    this.#gaps = grow8(this.#gaps);
    this.#minLen = grow8(this.#minLen);
    this.#maxLen = grow8(this.#maxLen);
    this.#plain = grow8(this.#plain);
    this.#next = grow64(this.#next);
    this.#lastKa = grow64(this.#lastKa, 2);
    this.#tick = grow64(this.#tick, 2);
    const ka = new Uint16Array(n * 2);
    ka.set(this.#ka);
    this.#ka = ka;
    const cookie = new Uint32Array(n * 2);
    cookie.set(this.#cookie);
    this.#cookie = cookie;
  }
}

/**
 * An RFC 1002 NetBIOS name-service request: opcode 0 (query), QR 0, one
 * question whose name is a 32-character first-level encoding (label length
 * 32, each byte 'A'–'P'), type NB (0x20) or NBSTAT (0x21), class IN.
 */
function isNbnsQuery(p: DecodedPacket): boolean {
  const b = p.buf, o = p.payloadOffset, n = p.payloadCapLen;
  if (n < 12 + 34 + 4) return false;
  if ((b[o + 2] & 0xf8) !== 0) return false; // QR = 0, opcode = 0 (query)
  if (b[o + 4] !== 0 || b[o + 5] !== 1 || b[o + 6] !== 0 || b[o + 7] !== 0) return false;
  if (b[o + 12] !== 32) return false;
  for (let i = 0; i < 32; i++) {
    const c = b[o + 13 + i];
    if (c < 0x41 || c > 0x50) return false;
  }
  // Scope labels may follow the encoded name; skip them (bounded by the payload).
  let q = o + 45;
  const end = o + n;
  while (q < end && b[q] !== 0) {
    if (b[q] > 63) return false;
    q += b[q] + 1;
  }
  if (q + 5 > end) return false;
  const type = (b[q + 1] << 8) | b[q + 2];
  const cls = (b[q + 3] << 8) | b[q + 4];
  return (type === 0x20 || type === 0x21) && cls === 1;
}
