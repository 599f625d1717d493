/**
 * The bidirectional flow table. All state of a flow lives in one 256-byte
 * record per slot (four cache lines), in one ArrayBuffer seen through
 * 32-bit, float and byte views: line 0 holds what every packet reads (key,
 * hash, state, history bits, sequence tracking, the classifier's mark),
 * line 1 the counters and times every packet writes, line 2 what changes
 * rarely (flow number, LRU links, round trips, history text), line 3 the
 * first payload sizes. Records are found through an open-addressing index
 * of (hash, slot) pairs, so a probe compares hashes inside the index's own
 * cache line and touches only the matching record: no string keys, no
 * per-packet objects.
 *
 * With hundreds of thousands of flows a lookup is two cache misses (index
 * line, record), each ~170 ns of DRAM latency on the project's VM when taken
 * one after the other. {@linkcode FlowTable.prefetch} touches the index
 * lines and records of a whole batch of packets in tight loops first, so the
 * misses overlap (~25 ns each), as DPDK's bulk lookup and VPP's quad loops
 * do; the per-packet work then finds its lines in cache.
 *
 * Expiry is driven by packet time, with per-state idle timeouts kept in one
 * LRU list per timeout class; a full table evicts its least recently active
 * flow.
 *
 * @module
 */

import { type DecodedPacket, IpProto, TcpFlag } from "../decode/packet.ts";
import type { Weirds } from "../decode/weirds.ts";
import {
  DEFAULT_TIMEOUTS,
  FlowState,
  type FlowTimeouts,
  TIMEOUT_CLASSES,
  timeoutClassOf,
} from "./flow_state.ts";

// The record: REC_WORDS 32-bit words (256 bytes) per slot.
//   line 0, words 0-15: 0-3 client address, 4-7 server address,
//     8 client port << 16 | server port, 9 ip version << 8 | proto, 10 hash,
//     11 bytes 44-47: state, timeout class, classifier mark, sequence-seen bits,
//     12 history bits (client low 16, server high 16), 13/14 highest sequence + 1
//     seen per direction, 15 bytes 60-63: history length, size count.
//   line 1, words 16-31 as float64 8-15: packets, IP bytes, payload bytes per
//     direction, first and last packet time.
//   line 2, words 32-47: float64 16 flow number, float64 17 LRU link time,
//     float32 36 server round trip, float32 37 round trip, 38 LRU prev, 39 LRU next,
//     bytes 160-175 history text.
//     words 44/45: the first sequence number of each direction (its SYN's
//     + 1), valid per B_SEQSEEN bits 2/3.
//   line 3, words 48-63: the first payload sizes (int32).
//   B_SEQSEEN bits: 0/1 a sequence seen per direction, 2/3 its SYN seen,
//     4 roles (client/server) taken from the handshake.
const REC_WORDS = 64;
const REC_BYTES = REC_WORDS * 4;
const REC_F64 = REC_WORDS / 2;
const W_PORTS = 8, W_VP = 9, W_HASH = 10, W_HIST = 12, W_SEQ = 13;
const B_STATE = 44, B_CLS = 45, B_MARK = 46, B_SEQSEEN = 47, B_HLEN = 60, B_SIZES = 61;
const F_PKTS = 8, F_BYTES = 10, F_PAYLOAD = 12, F_FIRST = 14, F_LAST = 15, F_ID = 16, F_LINK = 17;
const W_RTT_SERVER = 36, W_RTT = 37, W_PREV = 38, W_NEXT = 39, B_HISTORY = 160, W_SIZES = 48;
const W_ISN = 44;
const SEEN_SYN = 4, SEEN_ROLES = 16;

/** Characters of history kept per flow. */
const HISTORY_MAX = 16;
/** Payload-carrying segments whose size and time are kept per flow. */
const SIZE_SEQ_MAX = 16;

/** Why a flow ended. */
export const EndReason = { TIMEOUT: 0, EVICTED: 1, SHUTDOWN: 2 } as const;

/** Options of {@linkcode FlowTable}. */
export interface FlowTableOptions {
  /** Maximum number of flows tracked at once (default 1,000,000). */
  maxFlows?: number;
  /** Idle timeouts (seconds of packet time). */
  timeouts?: Partial<FlowTimeouts>;
}

/** Callback when a flow ends; the slot is reused right after it returns. */
type FlowEndHandler = (slot: number, reason: number) => void;

// History letters: bit index → letter (uppercase = client, lowercase = server).
const H_SYN = 0, H_SYNACK = 1, H_ACK = 2, H_DATA = 3, H_FIN = 4, H_RST = 5, H_RETX = 6, H_GAP = 7;
const HISTORY_LETTERS = "SHADFRTG";

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function endpointHash(a: Uint32Array, port: number): number {
  let h = Math.imul(a[0] ^ 0x9e3779b9, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ a[1];
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  h ^= a[2];
  h = Math.imul(h, 0xcc9e2d51) ^ a[3];
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ (port * 0x9e3779b1);
  return fmix(h);
}

/**
 * Symmetric hash of a packet's flow key (the same for both directions), as
 * a non-zero int32; the value {@linkcode FlowTable.track} and
 * {@linkcode FlowTable.prefetch} take.
 */
export function flowHash(p: DecodedPacket): number {
  return fmix(
    endpointHash(p.src, p.srcPort) ^ endpointHash(p.dst, p.dstPort) ^
      Math.imul(p.proto + (p.ipVersion << 8), 0x27d4eb2d),
  ) | 1;
}

/**
 * Bidirectional 5-tuple flow table. The client is the SYN sender (else the
 * first sender; a flow first seen by its SYN-ACK is flipped, as Zeek does).
 */
export class FlowTable {
  /** Capacity in flows. */
  readonly maxFlows: number;
  /** Idle timeouts in use. */
  readonly timeouts: FlowTimeouts;
  /** Flows currently tracked. */
  active = 0;
  /** Flows created over the run. */
  total = 0;
  /** Flows evicted because the table was full. */
  evicted = 0;
  /** Flows ended by idle timeout. */
  timedOut = 0;
  /** Highest packet time seen (drives expiry). */
  now = 0;

  // The records (see REC_WORDS): views of one buffer.
  readonly #w: Uint32Array;
  readonly #i: Int32Array;
  readonly #f: Float64Array;
  readonly #f32: Float32Array;
  readonly #b: Uint8Array;
  // Index: pairs (hash, slot + 1); 0 in the slot word = empty.
  #index: Int32Array;
  #mask: number; // pairs - 1
  readonly #maxIndex: number;
  readonly #head = new Int32Array(TIMEOUT_CLASSES).fill(-1);
  readonly #tail = new Int32Array(TIMEOUT_CLASSES).fill(-1);
  readonly #timeoutOf = new Float64Array(TIMEOUT_CLASSES);
  readonly #free: Int32Array;
  #freeTop: number;
  #sink = 0; // keeps the prefetch loads observable
  #found = new Int32Array(64); // prefetch's result
  #onEnd: FlowEndHandler = () => {};
  #dir = 0; // direction found by #find / #create
  readonly #weirds: Weirds;

  /** Creates a table; `weirds` receives retransmission/gap/eviction counts. */
  constructor(weirds: Weirds, opts: FlowTableOptions = {}) {
    const n = opts.maxFlows ?? 1_000_000;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Invalid maximum flow count: ${n}`);
    this.maxFlows = n;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.#timeoutOf.set([
      this.timeouts.opening,
      this.timeouts.active,
      this.timeouts.closed,
      this.timeouts.udp,
    ]);
    this.#weirds = weirds;
    const rec = new ArrayBuffer(n * REC_BYTES);
    this.#w = new Uint32Array(rec);
    this.#i = new Int32Array(rec);
    this.#f = new Float64Array(rec);
    this.#f32 = new Float32Array(rec);
    this.#b = new Uint8Array(rec);
    let size = 1;
    while (size < n * 2) size <<= 1;
    this.#maxIndex = size;
    // Start small and double with the number of flows (kept at most half
    // full): a sparse index costs a cache miss per lookup even when few flows
    // are tracked.
    const start = Math.min(size, 1 << 14);
    this.#index = new Int32Array(start * 2);
    this.#mask = start - 1;
    this.#free = new Int32Array(n);
    for (let i = 0; i < n; i++) this.#free[i] = n - 1 - i;
    this.#freeTop = n;
  }

  /** Set the handler called when a flow ends (timeout, eviction, shutdown). */
  onEnd(handler: FlowEndHandler): void {
    this.#onEnd = handler;
  }

  /**
   * Bring the index lines and records of `n` upcoming packets into cache
   * (`hashes[i]` from {@linkcode flowHash}; 0 entries are skipped), plus the
   * records new flows would take. Changes no flow: a hint, never needed for
   * correctness. Returns, per packet, the slot of the first flow its index
   * probe met (−1 for none; most often its own flow), valid until the next
   * call: a hint for prefetching what the classifier keeps per flow.
   */
  prefetch(hashes: Int32Array, n: number): Int32Array {
    const idx = this.#index, mask = this.#mask, w = this.#w;
    if (n > this.#found.length) this.#found = new Int32Array(n);
    const found = this.#found;
    let acc = 0;
    for (let i = 0; i < n; i++) acc += idx[((hashes[i] & mask) << 1) + 1];
    let fresh = this.#freeTop;
    for (let i = 0; i < n; i++) {
      const h = hashes[i];
      found[i] = -1;
      if (h === 0) continue;
      const e = idx[((h & mask) << 1) + 1];
      let b: number;
      if (e !== 0) {
        b = (e - 1) * REC_WORDS;
        found[i] = e - 1;
      } else if (fresh > 0) b = this.#free[--fresh] * REC_WORDS;
      else continue;
      acc += w[b] + w[b + 16];
    }
    this.#sink ^= acc;
    return found;
  }

  /**
   * Find or create the flow of a decoded TCP or UDP packet, update its
   * counters, state and history; returns the flow's slot and the packet's
   * direction as one number, `slot * 2 + dir` (dir 0 client→server, 1
   * server→client: {@linkcode refSlot}, {@linkcode refDir}). Expires idle
   * flows first. `h` is the packet's {@linkcode flowHash} when the caller has it.
   */
  track(p: DecodedPacket, h: number = flowHash(p)): number {
    const ts = p.ts;
    if (ts > this.now) this.#advance(ts);
    let slot = this.#find(p, h);
    if (slot < 0) slot = this.#create(p, h);
    const d = this.#dir;
    const f = this.#f, fb = slot * REC_F64;
    f[fb + F_PKTS + d]++;
    f[fb + F_BYTES + d] += p.ipLen;
    f[fb + F_PAYLOAD + d] += p.payloadLen;
    if (ts > f[fb + F_LAST]) f[fb + F_LAST] = ts;
    if (p.proto === IpProto.TCP) this.#tcp(slot, d, p);
    else if (p.payloadLen > 0) this.#recordSize(slot, d, p.payloadLen);
    return slot * 2 + d;
  }

  /** Packet time reaches `ts` (later than `now`): expire idle flows once per second. */
  #advance(ts: number): void {
    const before = this.now;
    this.now = ts;
    if (Math.floor(ts) !== Math.floor(before)) this.expire(ts);
  }

  /** End every flow idle for longer than its class timeout at time `now`. */
  expire(now: number): void {
    const f = this.#f;
    for (let c = 0; c < TIMEOUT_CLASSES; c++) {
      const limit = now - this.#timeoutOf[c];
      // Lists are ordered by link time, not by activity (packets do not
      // relink: that would cost three random memory writes per packet): a
      // head that was active since it was linked goes to the tail instead.
      let s = this.#head[c];
      while (s >= 0 && f[s * REC_F64 + F_LINK] < limit) {
        if (f[s * REC_F64 + F_LAST] < limit) {
          this.timedOut++;
          this.#end(s, EndReason.TIMEOUT);
        } else {
          this.#unlink(s);
          this.#append(s, c);
        }
        s = this.#head[c];
      }
    }
  }

  /** End every flow (end of input or shutdown), oldest first within each timeout class. */
  flush(): void {
    for (let c = 0; c < TIMEOUT_CLASSES; c++) {
      while (this.#head[c] >= 0) this.#end(this.#head[c], EndReason.SHUTDOWN);
    }
  }

  /**
   * Flow number of a slot (0 for a free slot): the number of the flow's
   * first packet in the input stream, unique over the run.
   */
  flowId(slot: number): number {
    return this.#f[slot * REC_F64 + F_ID];
  }

  /** {@linkcode FlowState} of a flow. */
  stateOf(slot: number): number {
    return this.#b[slot * REC_BYTES + B_STATE];
  }

  /**
   * The classifier's mark of a flow (0 when the flow is new to it): kept in
   * the flow's record so the per-packet check costs no extra memory access.
   */
  mark(slot: number): number {
    return this.#b[slot * REC_BYTES + B_MARK];
  }

  /** Set the classifier's mark of a flow (0–255; 0 again when the slot is reused). */
  setMark(slot: number, value: number): void {
    this.#b[slot * REC_BYTES + B_MARK] = value;
  }

  /** Round trip sensor → server → sensor (SYN to SYN-ACK), seconds; 0 when not seen. */
  rttServer(slot: number): number {
    return this.#f32[slot * REC_WORDS + W_RTT_SERVER];
  }

  /** Whole round trip (SYN to the client's ACK), seconds; 0 when not seen. */
  rtt(slot: number): number {
    return this.#f32[slot * REC_WORDS + W_RTT];
  }

  /**
   * First sequence number of direction `dir` (its SYN's + 1) when the flow
   * table saw that SYN, else −1 (the flow was picked up mid-stream).
   */
  streamStart(slot: number, dir: number): number {
    if ((this.#b[slot * REC_BYTES + B_SEQSEEN] & (SEEN_SYN << dir)) === 0) return -1;
    return this.#w[slot * REC_WORDS + W_ISN + dir];
  }

  /** True when client and server of the flow were told by its handshake (SYN or SYN-ACK). */
  rolesFromHandshake(slot: number): boolean {
    return (this.#b[slot * REC_BYTES + B_SEQSEEN] & SEEN_ROLES) !== 0;
  }

  /** Time of the flow's first packet. */
  firstSeen(slot: number): number {
    return this.#f[slot * REC_F64 + F_FIRST];
  }

  /** Time of the flow's latest packet. */
  lastSeen(slot: number): number {
    return this.#f[slot * REC_F64 + F_LAST];
  }

  /** Packets of direction `dir` (0 client→server, 1 server→client). */
  packets(slot: number, dir: number): number {
    return this.#f[slot * REC_F64 + F_PKTS + dir];
  }

  /** IP bytes of direction `dir`. */
  ipBytes(slot: number, dir: number): number {
    return this.#f[slot * REC_F64 + F_BYTES + dir];
  }

  /** Transport payload bytes of direction `dir`. */
  payloadBytes(slot: number, dir: number): number {
    return this.#f[slot * REC_F64 + F_PAYLOAD + dir];
  }

  /** Zeek-style history string of a flow (allocates; for logs). */
  historyString(slot: number): string {
    const b = this.#b, at = slot * REC_BYTES;
    let s = "";
    for (let i = 0; i < b[at + B_HLEN]; i++) s += String.fromCharCode(b[at + B_HISTORY + i]);
    return s;
  }

  /**
   * Signed payload sizes (+ client→server, − server→client) of the first
   * {@linkcode SIZE_SEQ_MAX} payload-carrying segments (allocates; for logs).
   */
  sizes(slot: number): number[] {
    const n = this.#b[slot * REC_BYTES + B_SIZES], at = slot * REC_WORDS + W_SIZES;
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.#i[at + i]);
    return out;
  }

  /** IP version of a flow's key. */
  ipVersion(slot: number): number {
    return this.#w[slot * REC_WORDS + W_VP] >>> 8;
  }

  /** IP protocol of a flow's key. */
  proto(slot: number): number {
    return this.#w[slot * REC_WORDS + W_VP] & 0xff;
  }

  /** Client port of a flow. */
  clientPort(slot: number): number {
    return this.#w[slot * REC_WORDS + W_PORTS] >>> 16;
  }

  /** Server port of a flow. */
  serverPort(slot: number): number {
    return this.#w[slot * REC_WORDS + W_PORTS] & 0xffff;
  }

  /** Copy the client (side 0) or server (side 1) address words of a flow into `out`. */
  address(slot: number, side: number, out: Uint32Array): Uint32Array {
    const base = slot * REC_WORDS + side * 4;
    for (let i = 0; i < 4; i++) out[i] = this.#w[base + i];
    return out;
  }

  #find(p: DecodedPacket, h: number): number {
    const w = this.#w, idx = this.#index, mask = this.#mask;
    const ports = ((p.srcPort << 16) | p.dstPort) >>> 0;
    const rports = ((p.dstPort << 16) | p.srcPort) >>> 0;
    const vp = (p.ipVersion << 8) | p.proto;
    const src = p.src, dst = p.dst;
    let i = h & mask;
    for (;;) {
      const e = idx[(i << 1) + 1];
      if (e === 0) return -1;
      if (idx[i << 1] === h) {
        const b = (e - 1) * REC_WORDS;
        if (w[b + W_VP] === vp) {
          const pw = w[b + W_PORTS];
          if (
            pw === ports && w[b] === src[0] && w[b + 1] === src[1] && w[b + 2] === src[2] &&
            w[b + 3] === src[3] && w[b + 4] === dst[0] && w[b + 5] === dst[1] &&
            w[b + 6] === dst[2] && w[b + 7] === dst[3]
          ) {
            this.#dir = 0;
            return e - 1;
          }
          if (
            pw === rports && w[b] === dst[0] && w[b + 1] === dst[1] && w[b + 2] === dst[2] &&
            w[b + 3] === dst[3] && w[b + 4] === src[0] && w[b + 5] === src[1] &&
            w[b + 6] === src[2] && w[b + 7] === src[3]
          ) {
            this.#dir = 1;
            return e - 1;
          }
        }
      }
      i = (i + 1) & mask;
    }
  }

  #create(p: DecodedPacket, h: number): number {
    if (this.#freeTop === 0) this.#evictOldest();
    const s = this.#free[--this.#freeTop];
    const w = this.#w, b = s * REC_WORDS;
    // A flow first seen by its SYN-ACK is flipped: the receiver is the client.
    const flipped = p.proto === IpProto.TCP &&
      (p.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK);
    const c = flipped ? p.dst : p.src, sv = flipped ? p.src : p.dst;
    // Lines 0-2 start zeroed (sizes are written before they are read); a
    // loop, not fill(): a builtin call costs more than 48 stores.
    for (let i = b + 8; i < b + W_SIZES; i++) w[i] = 0;
    for (let i = 0; i < 4; i++) {
      w[b + i] = c[i];
      w[b + 4 + i] = sv[i];
    }
    w[b + W_PORTS] = flipped
      ? ((p.dstPort << 16) | p.srcPort) >>> 0
      : ((p.srcPort << 16) | p.dstPort) >>> 0;
    w[b + W_VP] = (p.ipVersion << 8) | p.proto;
    w[b + W_HASH] = h;
    this.#dir = flipped ? 1 : 0;
    // Roles come from the handshake when it began this flow (SYN or SYN-ACK).
    if (p.proto === IpProto.TCP && (p.tcpFlags & TcpFlag.SYN)) {
      this.#b[s * REC_BYTES + B_SEQSEEN] = SEEN_ROLES;
    }
    const fb = s * REC_F64;
    // The flow's number: its first packet's number in the input (as in
    // Wireshark's frame.number), so a flow can be found in the capture; a
    // running count when the packet has none.
    this.total++;
    this.#f[fb + F_ID] = p.frame > 0 ? p.frame : this.total;
    this.#f[fb + F_FIRST] = p.ts;
    this.#f[fb + F_LAST] = p.ts;
    const state = p.proto === IpProto.TCP
      ? (p.tcpFlags & TcpFlag.SYN ? FlowState.SYN_SENT : FlowState.MIDSTREAM)
      : FlowState.UDP;
    const rb = s * REC_BYTES;
    this.#b[rb + B_STATE] = state;
    if (flipped) this.#addHistory(s, 0, 0x5e); // '^'
    if (this.active + 1 > (this.#mask + 1) >>> 1 && this.#mask + 1 < this.#maxIndex) this.#grow();
    const idx = this.#index, mask = this.#mask;
    let i = h & mask;
    while (idx[(i << 1) + 1] !== 0) i = (i + 1) & mask;
    idx[i << 1] = h;
    idx[(i << 1) + 1] = s + 1;
    const cls = timeoutClassOf(state);
    this.#b[rb + B_CLS] = cls;
    this.#append(s, cls);
    this.active++;
    return s;
  }

  #tcp(s: number, d: number, p: DecodedPacket): void {
    const fl = p.tcpFlags;
    const w = this.#w, bytes = this.#b, f = this.#f;
    const rb = s * REC_BYTES, wb = s * REC_WORDS, fb = s * REC_F64;
    let st = bytes[rb + B_STATE];
    if (fl & TcpFlag.RST) {
      this.#hist(s, d, H_RST);
      st = FlowState.RESET;
    } else if (fl & TcpFlag.SYN) {
      if (fl & TcpFlag.ACK) {
        this.#hist(s, d, H_SYNACK);
        if (st === FlowState.SYN_SENT) {
          st = FlowState.SYN_ACKED;
          this.#f32[wb + W_RTT_SERVER] = p.ts - f[fb + F_FIRST];
        }
      } else {
        this.#hist(s, d, H_SYN);
      }
    } else if (fl & TcpFlag.ACK && p.payloadLen === 0 && !(fl & TcpFlag.FIN)) {
      this.#hist(s, d, H_ACK);
    }
    if (st === FlowState.SYN_ACKED && d === 0 && !(fl & TcpFlag.SYN)) {
      this.#f32[wb + W_RTT] = p.ts - f[fb + F_FIRST];
      st = FlowState.ESTABLISHED;
    } else if (st === FlowState.MIDSTREAM && f[fb + F_PKTS + 1 - d] > 0) {
      st = FlowState.ESTABLISHED;
    }
    if (fl & TcpFlag.FIN) {
      this.#hist(s, d, H_FIN);
      if (st !== FlowState.RESET) {
        st = ((w[wb + W_HIST] >>> ((1 - d) * 16)) & (1 << H_FIN))
          ? FlowState.CLOSED
          : FlowState.CLOSING;
      }
    }
    // Sequence tracking: classify payload as in-order, old (retransmitted) or ahead (gap).
    const len = p.payloadLen;
    const segEnd = (p.seq + len + ((fl & TcpFlag.SYN) ? 1 : 0) + ((fl & TcpFlag.FIN) ? 1 : 0)) >>>
      0;
    const k = wb + W_SEQ + d;
    const seen = bytes[rb + B_SEQSEEN];
    if ((fl & TcpFlag.SYN) && (seen & (SEEN_SYN << d)) === 0) {
      bytes[rb + B_SEQSEEN] |= SEEN_SYN << d;
      w[wb + W_ISN + d] = (p.seq + 1) >>> 0;
    }
    if ((seen & (1 << d)) === 0) {
      bytes[rb + B_SEQSEEN] |= 1 << d;
      w[k] = segEnd;
      if (len > 0) {
        this.#hist(s, d, H_DATA);
        this.#recordSize(s, d, len);
      }
    } else {
      const max = w[k];
      const rel = (p.seq - max) | 0;
      if (len > 0) {
        if (rel === 0) {
          this.#hist(s, d, H_DATA);
          this.#recordSize(s, d, len);
        } else if (rel < 0) {
          this.#hist(s, d, H_RETX);
          this.#weirds.add("tcp_retransmission");
        } else {
          this.#hist(s, d, H_GAP);
          this.#weirds.add("tcp_stream_gap");
          this.#recordSize(s, d, len);
        }
      }
      if (((segEnd - max) | 0) > 0) w[k] = segEnd;
    }
    if (st !== bytes[rb + B_STATE]) {
      bytes[rb + B_STATE] = st;
      const cls = timeoutClassOf(st);
      if (cls !== bytes[rb + B_CLS]) {
        this.#unlink(s);
        bytes[rb + B_CLS] = cls;
        this.#append(s, cls);
      }
    }
  }

  #recordSize(s: number, d: number, len: number): void {
    const at = s * REC_BYTES + B_SIZES;
    const n = this.#b[at];
    if (n >= SIZE_SEQ_MAX) return;
    this.#i[s * REC_WORDS + W_SIZES + n] = d === 0 ? len : -len;
    this.#b[at] = n + 1;
  }

  #hist(s: number, d: number, bit: number): void {
    const k = s * REC_WORDS + W_HIST;
    const m = 1 << (bit + d * 16);
    const bits = this.#w[k];
    if (bits & m) return;
    this.#w[k] = bits | m;
    this.#addHistory(s, d, HISTORY_LETTERS.charCodeAt(bit));
  }

  #addHistory(s: number, d: number, upperCode: number): void {
    const at = s * REC_BYTES;
    const n = this.#b[at + B_HLEN];
    if (n >= HISTORY_MAX) return;
    this.#b[at + B_HISTORY + n] = d === 1 && upperCode >= 65 && upperCode <= 90
      ? upperCode + 32
      : upperCode;
    this.#b[at + B_HLEN] = n + 1;
  }

  #evictOldest(): void {
    const f = this.#f;
    let best = -1;
    for (let c = 0; c < TIMEOUT_CLASSES; c++) {
      // Heads active since they were linked go to the tail (bounded work).
      for (let k = 0; k < 16; k++) {
        const h = this.#head[c];
        if (h < 0 || this.lastSeen(h) <= f[h * REC_F64 + F_LINK] || this.#tail[c] === h) break;
        this.#unlink(h);
        this.#append(h, c);
      }
      const s = this.#head[c];
      if (s >= 0 && (best < 0 || this.lastSeen(s) < this.lastSeen(best))) best = s;
    }
    this.evicted++;
    this.#weirds.add("flow_evicted");
    this.#end(best, EndReason.EVICTED);
  }

  #end(s: number, reason: number): void {
    this.#onEnd(s, reason);
    this.#unlink(s);
    this.#removeIndex(s);
    this.#f[s * REC_F64 + F_ID] = 0;
    this.active--;
    this.#free[this.#freeTop++] = s;
  }

  #grow(): void {
    const old = this.#index;
    const pairs = old.length; // the new pair count: twice the old one
    const idx = new Int32Array(pairs * 2);
    const mask = pairs - 1;
    for (let j = 0; j < old.length; j += 2) {
      const e = old[j + 1];
      if (e === 0) continue;
      let i = old[j] & mask;
      while (idx[(i << 1) + 1] !== 0) i = (i + 1) & mask;
      idx[i << 1] = old[j];
      idx[(i << 1) + 1] = e;
    }
    this.#index = idx;
    this.#mask = mask;
  }

  #removeIndex(s: number): void {
    const mask = this.#mask, idx = this.#index;
    let i = this.#w[s * REC_WORDS + W_HASH] & mask;
    while (idx[(i << 1) + 1] !== s + 1) i = (i + 1) & mask;
    // Backward-shift deletion keeps probe chains intact without tombstones.
    let j = i;
    for (;;) {
      idx[(i << 1) + 1] = 0;
      for (;;) {
        j = (j + 1) & mask;
        if (idx[(j << 1) + 1] === 0) return;
        const k = idx[j << 1] & mask;
        const between = i <= j ? i < k && k <= j : i < k || k <= j;
        if (!between) break;
      }
      idx[i << 1] = idx[j << 1];
      idx[(i << 1) + 1] = idx[(j << 1) + 1];
      i = j;
    }
  }

  #append(s: number, c: number): void {
    const f = this.#f, iw = this.#i, b = s * REC_WORDS;
    f[s * REC_F64 + F_LINK] = f[s * REC_F64 + F_LAST];
    const t = this.#tail[c];
    iw[b + W_PREV] = t;
    iw[b + W_NEXT] = -1;
    if (t >= 0) iw[t * REC_WORDS + W_NEXT] = s;
    else this.#head[c] = s;
    this.#tail[c] = s;
  }

  #unlink(s: number): void {
    const iw = this.#i, b = s * REC_WORDS;
    const c = this.#b[s * REC_BYTES + B_CLS], p = iw[b + W_PREV], n = iw[b + W_NEXT];
    if (p >= 0) iw[p * REC_WORDS + W_NEXT] = n;
    else this.#head[c] = n;
    if (n >= 0) iw[n * REC_WORDS + W_PREV] = p;
    else this.#tail[c] = p;
  }
}

/** Slot of a {@linkcode FlowTable.track} result. */
export function refSlot(ref: number): number {
  return ref >>> 1;
}

/** Direction (0 client→server, 1 server→client) of a {@linkcode FlowTable.track} result. */
export function refDir(ref: number): number {
  return ref & 1;
}
