/**
 * The bidirectional flow table. Flow records live in typed arrays indexed
 * by a slot number (struct-of-arrays), found through an open-addressing hash
 * index keyed on the 5-tuple words: no string keys, no per-packet objects.
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

/** Float64 slots per flow in the counters array (see the N_* offsets). */
const NUM_STRIDE = 8;
const N_PKTS = 0, N_BYTES = 2, N_PAYLOAD = 4, N_FIRST = 6, N_LAST = 7;

/**
 * Words per flow key: client addr (4), server addr (4), ports, version/proto,
 * the key's hash (so a lookup touches one 48-byte run), one spare.
 */
const KEY_WORDS = 12;
const K_HASH = 10;
/** Characters of history kept per flow. */
export const HISTORY_MAX = 16;
/** Payload-carrying segments whose size and time are kept per flow. */
export const SIZE_SEQ_MAX = 16;

/** Why a flow ended. */
export const EndReason = { TIMEOUT: 0, EVICTED: 1, SHUTDOWN: 2 } as const;

/** Relation of the current TCP segment to what the flow had seen in its direction. */
export const SegKind = {
  /** No payload, or the first payload of the direction. */
  NONE: 0,
  /** Payload continuing the stream in order. */
  IN_ORDER: 1,
  /** Payload wholly before the highest sequence seen (retransmission or late fill). */
  OLD: 2,
  /** Payload beyond the highest sequence seen (a gap before it). */
  AHEAD: 3,
} as const;

/** Options of {@linkcode FlowTable}. */
export interface FlowTableOptions {
  /** Maximum number of flows tracked at once (default 1,000,000). */
  maxFlows?: number;
  /** Idle timeouts (seconds of packet time). */
  timeouts?: Partial<FlowTimeouts>;
}

/** Callback when a flow ends; the slot is reused right after it returns. */
export type FlowEndHandler = (slot: number, reason: number) => void;

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
 * Bidirectional 5-tuple flow table. The client is the SYN sender (else the
 * first sender; a flow first seen by its SYN-ACK is flipped, as Zeek does).
 */
export class FlowTable {
  /** Capacity in flows. */
  readonly maxFlows: number;
  /** Idle timeouts in use. */
  readonly timeouts: FlowTimeouts;
  /** Key words per slot (12): client address, server address, ports, ver<<8|proto, hash, spare. */
  readonly key: Uint32Array;
  /** Flow number (unique over the run; 0 = free slot). */
  readonly id: Float64Array;
  /** {@linkcode FlowState} per slot. */
  readonly state: Uint8Array;
  /** History characters (codes) per slot, {@linkcode HISTORY_MAX} each. */
  readonly history: Uint8Array;
  /** History length per slot. */
  readonly historyLen: Uint8Array;
  /** Signed payload sizes (+ client→server, − server→client) of the first segments. */
  readonly sizes: Int32Array;
  /** Number of entries in `sizes` per slot. */
  readonly sizeCount: Uint8Array;
  /** Round trip sensor → server → sensor (SYN to SYN-ACK), seconds; 0 when not seen. */
  readonly rttServer: Float32Array;
  /** Whole round trip (SYN to the client's ACK), seconds; 0 when not seen. */
  readonly rtt: Float32Array;
  /** Per-state deep-inspection object of the classifier (undefined for most flows). */
  readonly analyzer: unknown[];

  /** Direction of the packet last passed to {@linkcode track}: 0 client→server, 1 server→client. */
  dir = 0;
  /** True when the last {@linkcode track} created the flow. */
  created = false;
  /** {@linkcode SegKind} of the last tracked segment. */
  segKind = 0;
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

  // Per-packet numbers of a flow side by side (one 64-byte line): packets,
  // IP bytes and payload bytes per direction, first and last packet time.
  readonly #num: Float64Array;
  #index: Int32Array;
  #mask: number;
  readonly #maxIndex: number;
  readonly #histBits: Uint16Array; // per direction: slot*2 + dir
  readonly #maxSeq: Uint32Array; // per direction: highest sequence number + 1 seen
  readonly #seqSeen: Uint8Array; // per direction: 1 once maxSeq is valid
  readonly #prev: Int32Array;
  readonly #next: Int32Array;
  readonly #cls: Uint8Array;
  readonly #linkTs: Float64Array; // lastTs when the flow was (re)linked into its list
  readonly #head = new Int32Array(TIMEOUT_CLASSES).fill(-1);
  readonly #tail = new Int32Array(TIMEOUT_CLASSES).fill(-1);
  readonly #timeoutOf = new Float64Array(TIMEOUT_CLASSES);
  readonly #free: Int32Array;
  #freeTop: number;
  #onEnd: FlowEndHandler = () => {};
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
    this.key = new Uint32Array(n * KEY_WORDS);
    this.id = new Float64Array(n);
    this.#num = new Float64Array(n * NUM_STRIDE);
    this.state = new Uint8Array(n);
    this.history = new Uint8Array(n * HISTORY_MAX);
    this.historyLen = new Uint8Array(n);
    this.sizes = new Int32Array(n * SIZE_SEQ_MAX);
    this.sizeCount = new Uint8Array(n);
    this.rttServer = new Float32Array(n);
    this.rtt = new Float32Array(n);
    this.analyzer = new Array(n).fill(undefined);
    let size = 1;
    while (size < n * 2) size <<= 1;
    this.#maxIndex = size;
    // Start small and double with the number of flows: a sparse 8 MB index
    // (1 M flows) costs a cache miss per lookup even when few flows are tracked.
    const start = Math.min(size, 1 << 16);
    this.#index = new Int32Array(start);
    this.#mask = start - 1;
    this.#histBits = new Uint16Array(n * 2);
    this.#maxSeq = new Uint32Array(n * 2);
    this.#seqSeen = new Uint8Array(n * 2);
    this.#prev = new Int32Array(n);
    this.#next = new Int32Array(n);
    this.#cls = new Uint8Array(n);
    this.#linkTs = new Float64Array(n);
    this.#free = new Int32Array(n);
    for (let i = 0; i < n; i++) this.#free[i] = n - 1 - i;
    this.#freeTop = n;
  }

  /** Set the handler called when a flow ends (timeout, eviction, shutdown). */
  onEnd(handler: FlowEndHandler): void {
    this.#onEnd = handler;
  }

  /**
   * Find or create the flow of a decoded TCP or UDP packet, update its
   * counters, state and history, and return its slot. Sets {@linkcode dir},
   * {@linkcode created} and {@linkcode segKind}. Expires idle flows first.
   */
  track(p: DecodedPacket): number {
    const ts = p.ts;
    if (ts > this.now) {
      const before = this.now;
      this.now = ts;
      if (Math.floor(ts) !== Math.floor(before)) this.expire(ts);
    }
    const h = fmix(
      endpointHash(p.src, p.srcPort) ^ endpointHash(p.dst, p.dstPort) ^
        Math.imul(p.proto + (p.ipVersion << 8), 0x27d4eb2d),
    ) >>> 0;
    let slot = this.#find(p, h);
    this.created = slot < 0;
    if (slot < 0) slot = this.#create(p, h);
    const d = this.dir;
    const num = this.#num, b = slot * NUM_STRIDE;
    num[b + N_PKTS + d]++;
    num[b + N_BYTES + d] += p.ipLen;
    if (ts > num[b + N_LAST]) num[b + N_LAST] = ts;
    this.segKind = SegKind.NONE;
    if (p.proto === IpProto.TCP) this.#tcp(slot, d, p);
    else if (p.payloadLen > 0) this.#recordSize(slot, d, p.payloadLen);
    num[b + N_PAYLOAD + d] += p.payloadLen;
    return slot;
  }

  /** End every flow idle for longer than its class timeout at time `now`. */
  expire(now: number): void {
    for (let c = 0; c < TIMEOUT_CLASSES; c++) {
      const limit = now - this.#timeoutOf[c];
      // Lists are ordered by link time, not by activity (packets do not
      // relink: that would cost three random memory writes per packet): a
      // head that was active since it was linked goes to the tail instead.
      let s = this.#head[c];
      while (s >= 0 && this.#linkTs[s] < limit) {
        if (this.#num[s * NUM_STRIDE + N_LAST] < limit) {
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

  /** End every flow (end of input or shutdown), oldest first. */
  flush(): void {
    for (let c = 0; c < TIMEOUT_CLASSES; c++) {
      while (this.#head[c] >= 0) this.#end(this.#head[c], EndReason.SHUTDOWN);
    }
  }

  /** Time of the flow's first packet. */
  firstSeen(slot: number): number {
    return this.#num[slot * NUM_STRIDE + N_FIRST];
  }

  /** Time of the flow's latest packet. */
  lastSeen(slot: number): number {
    return this.#num[slot * NUM_STRIDE + N_LAST];
  }

  /** Packets of direction `dir` (0 client→server, 1 server→client). */
  packets(slot: number, dir: number): number {
    return this.#num[slot * NUM_STRIDE + N_PKTS + dir];
  }

  /** IP bytes of direction `dir`. */
  ipBytes(slot: number, dir: number): number {
    return this.#num[slot * NUM_STRIDE + N_BYTES + dir];
  }

  /** Transport payload bytes of direction `dir`. */
  payloadBytes(slot: number, dir: number): number {
    return this.#num[slot * NUM_STRIDE + N_PAYLOAD + dir];
  }

  /** Zeek-style history string of a flow (allocates; for logs). */
  historyString(slot: number): string {
    let s = "";
    for (let i = 0; i < this.historyLen[slot]; i++) {
      s += String.fromCharCode(this.history[slot * HISTORY_MAX + i]);
    }
    return s;
  }

  /** IP version of a flow's key. */
  ipVersion(slot: number): number {
    return this.key[slot * KEY_WORDS + 9] >>> 8;
  }

  /** IP protocol of a flow's key. */
  proto(slot: number): number {
    return this.key[slot * KEY_WORDS + 9] & 0xff;
  }

  /** Client port of a flow. */
  clientPort(slot: number): number {
    return this.key[slot * KEY_WORDS + 8] >>> 16;
  }

  /** Server port of a flow. */
  serverPort(slot: number): number {
    return this.key[slot * KEY_WORDS + 8] & 0xffff;
  }

  /** Copy the client (side 0) or server (side 1) address words of a flow into `out`. */
  address(slot: number, side: number, out: Uint32Array): Uint32Array {
    const base = slot * KEY_WORDS + side * 4;
    for (let i = 0; i < 4; i++) out[i] = this.key[base + i];
    return out;
  }

  #find(p: DecodedPacket, h: number): number {
    const key = this.key;
    const ports = ((p.srcPort << 16) | p.dstPort) >>> 0;
    const rports = ((p.dstPort << 16) | p.srcPort) >>> 0;
    const vp = (p.ipVersion << 8) | p.proto;
    let i = h & this.#mask;
    for (;;) {
      const s = this.#index[i] - 1;
      if (s < 0) return -1;
      const b = s * KEY_WORDS;
      if (key[b + K_HASH] === h) {
        if (key[b + 9] === vp) {
          if (
            key[b + 8] === ports && key[b] === p.src[0] && key[b + 1] === p.src[1] &&
            key[b + 2] === p.src[2] && key[b + 3] === p.src[3] && key[b + 4] === p.dst[0] &&
            key[b + 5] === p.dst[1] && key[b + 6] === p.dst[2] && key[b + 7] === p.dst[3]
          ) {
            this.dir = 0;
            return s;
          }
          if (
            key[b + 8] === rports && key[b] === p.dst[0] && key[b + 1] === p.dst[1] &&
            key[b + 2] === p.dst[2] && key[b + 3] === p.dst[3] && key[b + 4] === p.src[0] &&
            key[b + 5] === p.src[1] && key[b + 6] === p.src[2] && key[b + 7] === p.src[3]
          ) {
            this.dir = 1;
            return s;
          }
        }
      }
      i = (i + 1) & this.#mask;
    }
  }

  #create(p: DecodedPacket, h: number): number {
    if (this.#freeTop === 0) this.#evictOldest();
    const s = this.#free[--this.#freeTop];
    const b = s * KEY_WORDS;
    // A flow first seen by its SYN-ACK is flipped: the receiver is the client.
    const flipped = p.proto === IpProto.TCP &&
      (p.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK);
    const c = flipped ? p.dst : p.src, sv = flipped ? p.src : p.dst;
    for (let i = 0; i < 4; i++) {
      this.key[b + i] = c[i];
      this.key[b + 4 + i] = sv[i];
    }
    this.key[b + 8] = flipped
      ? ((p.dstPort << 16) | p.srcPort) >>> 0
      : ((p.srcPort << 16) | p.dstPort) >>> 0;
    this.key[b + 9] = (p.ipVersion << 8) | p.proto;
    this.dir = flipped ? 1 : 0;
    this.key[b + K_HASH] = h;
    this.id[s] = ++this.total;
    const nb = s * NUM_STRIDE;
    this.#num.fill(0, nb, nb + NUM_STRIDE);
    this.#num[nb + N_FIRST] = p.ts;
    this.#num[nb + N_LAST] = p.ts;
    this.historyLen[s] = 0;
    this.#histBits[s * 2] = this.#histBits[s * 2 + 1] = 0;
    this.#seqSeen[s * 2] = this.#seqSeen[s * 2 + 1] = 0;
    this.sizeCount[s] = 0;
    this.rttServer[s] = 0;
    this.rtt[s] = 0;
    this.state[s] = p.proto === IpProto.TCP
      ? (p.tcpFlags & TcpFlag.SYN ? FlowState.SYN_SENT : FlowState.MIDSTREAM)
      : FlowState.UDP;
    if (flipped) this.#addHistory(s, 0, 0x5e); // '^'
    if (this.active + 1 > (this.#mask + 1) >>> 2 && this.#mask + 1 < this.#maxIndex) this.#grow();
    let i = h & this.#mask;
    while (this.#index[i] !== 0) i = (i + 1) & this.#mask;
    this.#index[i] = s + 1;
    const cls = timeoutClassOf(this.state[s]);
    this.#cls[s] = cls;
    this.#append(s, cls);
    this.active++;
    return s;
  }

  #tcp(s: number, d: number, p: DecodedPacket): void {
    const f = p.tcpFlags;
    const k = s * 2 + d;
    let st = this.state[s];
    if (f & TcpFlag.RST) {
      this.#hist(s, d, H_RST);
      st = FlowState.RESET;
    } else if (f & TcpFlag.SYN) {
      if (f & TcpFlag.ACK) {
        this.#hist(s, d, H_SYNACK);
        if (st === FlowState.SYN_SENT) {
          st = FlowState.SYN_ACKED;
          this.rttServer[s] = p.ts - this.#num[s * NUM_STRIDE + N_FIRST];
        }
      } else {
        this.#hist(s, d, H_SYN);
      }
    } else if (f & TcpFlag.ACK && p.payloadLen === 0 && !(f & TcpFlag.FIN)) {
      this.#hist(s, d, H_ACK);
    }
    if (st === FlowState.SYN_ACKED && d === 0 && !(f & TcpFlag.SYN)) {
      this.rtt[s] = p.ts - this.#num[s * NUM_STRIDE + N_FIRST];
      st = FlowState.ESTABLISHED;
    } else if (
      st === FlowState.MIDSTREAM && this.#num[s * NUM_STRIDE + N_PKTS + 1 - d] > 0
    ) {
      st = FlowState.ESTABLISHED;
    }
    if (f & TcpFlag.FIN) {
      this.#hist(s, d, H_FIN);
      if (st !== FlowState.RESET) {
        st = (this.#histBits[s * 2 + (1 - d)] & (1 << H_FIN))
          ? FlowState.CLOSED
          : FlowState.CLOSING;
      }
    }
    // Sequence tracking: classify payload as in-order, old (retransmitted) or ahead (gap).
    const len = p.payloadLen;
    const segEnd = (p.seq + len + ((f & TcpFlag.SYN) ? 1 : 0) + ((f & TcpFlag.FIN) ? 1 : 0)) >>> 0;
    if (this.#seqSeen[k] === 0) {
      this.#seqSeen[k] = 1;
      this.#maxSeq[k] = segEnd;
      if (len > 0) {
        this.segKind = SegKind.NONE;
        this.#hist(s, d, H_DATA);
        this.#recordSize(s, d, len);
      }
    } else {
      const rel = (p.seq - this.#maxSeq[k]) | 0;
      if (len > 0) {
        if (rel === 0) {
          this.segKind = SegKind.IN_ORDER;
          this.#hist(s, d, H_DATA);
          this.#recordSize(s, d, len);
        } else if (rel < 0) {
          this.segKind = SegKind.OLD;
          this.#hist(s, d, H_RETX);
          this.#weirds.add("tcp_retransmission");
        } else {
          this.segKind = SegKind.AHEAD;
          this.#hist(s, d, H_GAP);
          this.#weirds.add("tcp_stream_gap");
          this.#recordSize(s, d, len);
        }
      }
      if (((segEnd - this.#maxSeq[k]) | 0) > 0) this.#maxSeq[k] = segEnd;
    }
    if (st !== this.state[s]) {
      this.state[s] = st;
      const cls = timeoutClassOf(st);
      if (cls !== this.#cls[s]) {
        this.#unlink(s);
        this.#cls[s] = cls;
        this.#append(s, cls);
      }
    }
  }

  #recordSize(s: number, d: number, len: number): void {
    const n = this.sizeCount[s];
    if (n >= SIZE_SEQ_MAX) return;
    this.sizes[s * SIZE_SEQ_MAX + n] = d === 0 ? len : -len;
    this.sizeCount[s] = n + 1;
  }

  #hist(s: number, d: number, bit: number): void {
    const k = s * 2 + d;
    const m = 1 << bit;
    if (this.#histBits[k] & m) return;
    this.#histBits[k] |= m;
    const code = HISTORY_LETTERS.charCodeAt(bit);
    this.#addHistory(s, d, code);
  }

  #addHistory(s: number, d: number, upperCode: number): void {
    const n = this.historyLen[s];
    if (n >= HISTORY_MAX) return;
    this.history[s * HISTORY_MAX + n] = d === 1 && upperCode >= 65 && upperCode <= 90
      ? upperCode + 32
      : upperCode;
    this.historyLen[s] = n + 1;
  }

  #evictOldest(): void {
    let best = -1;
    for (let c = 0; c < TIMEOUT_CLASSES; c++) {
      // Heads active since they were linked go to the tail (bounded work).
      for (let k = 0; k < 16; k++) {
        const h = this.#head[c];
        if (h < 0 || this.lastSeen(h) <= this.#linkTs[h] || this.#tail[c] === h) break;
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
    this.analyzer[s] = undefined;
    this.#unlink(s);
    this.#removeIndex(s);
    this.id[s] = 0;
    this.active--;
    this.#free[this.#freeTop++] = s;
  }

  #grow(): void {
    const old = this.#index;
    const size = old.length * 2;
    const idx = new Int32Array(size);
    const mask = size - 1;
    for (let j = 0; j < old.length; j++) {
      const e = old[j];
      if (e === 0) continue;
      let i = this.key[(e - 1) * KEY_WORDS + K_HASH] & mask;
      while (idx[i] !== 0) i = (i + 1) & mask;
      idx[i] = e;
    }
    this.#index = idx;
    this.#mask = mask;
  }

  #removeIndex(s: number): void {
    const mask = this.#mask, idx = this.#index;
    let i = this.key[s * KEY_WORDS + K_HASH] & mask;
    while (idx[i] !== s + 1) i = (i + 1) & mask;
    // Backward-shift deletion keeps probe chains intact without tombstones.
    let j = i;
    for (;;) {
      idx[i] = 0;
      for (;;) {
        j = (j + 1) & mask;
        if (idx[j] === 0) return;
        const k = this.key[(idx[j] - 1) * KEY_WORDS + K_HASH] & mask;
        const between = i <= j ? i < k && k <= j : i < k || k <= j;
        if (!between) break;
      }
      idx[i] = idx[j];
      i = j;
    }
  }

  #append(s: number, c: number): void {
    this.#linkTs[s] = this.#num[s * NUM_STRIDE + N_LAST];
    this.#prev[s] = this.#tail[c];
    this.#next[s] = -1;
    if (this.#tail[c] >= 0) this.#next[this.#tail[c]] = s;
    else this.#head[c] = s;
    this.#tail[c] = s;
  }

  #unlink(s: number): void {
    const c = this.#cls[s], p = this.#prev[s], n = this.#next[s];
    if (p >= 0) this.#next[p] = n;
    else this.#head[c] = n;
    if (n >= 0) this.#prev[n] = p;
    else this.#tail[c] = p;
  }
}
