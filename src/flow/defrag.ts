/**
 * IPv4 and IPv6 fragment reassembly for the decoder's
 * `DecodeResult.FRAGMENT` packets: fragments are held until their datagram
 * is complete, which is then handed back as a synthetic unfragmented frame
 * for the normal decoder (Suricata's pseudo packet, Zeek's reassembled IP).
 *
 * Storage is pooled and bounded: fragment data is written straight to its
 * place in 1 KiB pages taken from one pool (grown by doubling up to the
 * memory cap, then reused), with one coverage bit per 8 bytes; the per
 * datagram state lives in typed arrays allocated on the first fragment. In
 * the steady state nothing is allocated per packet.
 *
 * @module
 */

import { RawPacket } from "../capture/raw_packet.ts";
import type { DecodedPacket } from "../decode/packet.ts";
import type { WeirdName, Weirds } from "../decode/weirds.ts";

/**
 * Number of output buffers the reassembled datagrams are written to, in
 * turn: the last this many results stay valid at once. At least the
 * pipeline's batch size (`BATCH`, 64), so every decoded packet of a batch
 * keeps its payload (tests/flow/defrag_pipeline_test.ts fails otherwise).
 */
const OUTPUTS = 64;

/**
 * Most bytes of link header plus IP header (IPv4 with options; IPv6 fixed
 * header plus the unfragmentable extension headers) kept from a first
 * fragment; a first fragment with more is counted as `ip_frag_too_large`.
 */
const MAX_HEADER = 2048;

/** Options of {@linkcode Defragmenter}. */
export interface DefragOptions {
  /** Datagrams in reassembly at once (default 4096); a new one evicts the oldest. */
  maxDatagrams?: number;
  /**
   * Bytes of fragment storage (default 32 MiB, at least 66 KiB: one whole
   * datagram), counted in 1 KiB pages; when full, the oldest datagram is
   * evicted.
   */
  maxMemory?: number;
  /** Seconds of packet time a datagram may take from its first fragment seen (default 30). */
  timeout?: number;
}

const PAGE_SHIFT = 10;
const PAGE = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE - 1;
const HDR_PAGES = MAX_HEADER >> PAGE_SHIFT;
/** Data pages per datagram: offsets 0 .. 65535. */
const DATA_PAGES = 65536 >> PAGE_SHIFT;
const PAGES_PER_DG = HDR_PAGES + DATA_PAGES;
/** Coverage words per page (one bit per 8 bytes). */
const BIT_WORDS = PAGE >> 8;
const OUT_SIZE = MAX_HEADER + 65536 + 8; // + slack for 4-byte copies
/** Host byte order, so that 32-bit copies through a DataView keep byte order. */
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reassembles IP fragments, keyed by (IP version, source, destination,
 * identification, protocol, VLAN tags); for IPv6 the protocol is not part of
 * the key (RFC 8200: only the offset-zero fragment's Next Header counts).
 *
 * Policies (counted in {@linkcode Weirds}, never thrown):
 * - Overlaps: the FIRST data wins. Bytes already held are kept and a later
 *   fragment only fills what is missing (`ip_frag_overlap` per overlapping
 *   fragment, plus `ip_frag_overlap_conflict` when the overlapping bytes
 *   differ). Exact duplicates are overlaps without conflict. The first
 *   offset-zero fragment also supplies the link and IP header.
 * - A non-final fragment whose length is not a multiple of 8, or an empty
 *   fragment, is dropped (`ip_frag_bad_length`).
 * - A second final fragment with another end, data beyond a known end, or a
 *   final fragment ending before data already held: that fragment is
 *   dropped, the first end wins (`ip_frag_inconsistent_end`).
 * - A datagram longer than its length field can hold (65535 bytes of IPv4
 *   total length / IPv6 payload length), or a link + IP header over 2048
 *   bytes in the first fragment: `ip_frag_too_large`, dropped.
 * - A fragment cut by the snaplen cannot be reassembled: dropped
 *   (`ip_frag_snaplen_cut`).
 * - Timeout in packet time from the first fragment seen (default 30 s, as
 *   Linux's ipfrag_time): the datagram is dropped (`ip_frag_timeout`).
 * - Bounds: at most `maxDatagrams` in progress and `maxMemory` bytes of
 *   pages held; beyond them the oldest datagram is dropped
 *   (`ip_frag_evicted`).
 *
 * A completed datagram is written as one synthetic frame: the first
 * fragment's link header and IP header (IPv4: total length set, MF and
 * offset cleared, checksum recomputed; IPv6: payload length set, the
 * Fragment header removed and the Next Header before it pointing at what
 * followed it), then the reassembled data.
 */
export class Defragmenter {
  /** Fragments offered to {@linkcode add}. */
  fragments = 0;
  /** Datagrams completed and returned. */
  reassembled = 0;
  /** Fragments refused (bad length, too large, inconsistent end, snaplen cut). */
  dropped = 0;
  /** Datagrams dropped incomplete after the timeout. */
  timedOut = 0;
  /** Datagrams dropped for the datagram or memory bound. */
  evicted = 0;

  readonly #weirds: Weirds;
  readonly #maxDg: number;
  readonly #maxPages: number;
  readonly #timeout: number;
  #ready = false;

  // Per datagram slot.
  #ver = new Uint8Array(0);
  #proto = new Uint8Array(0);
  #id = new Uint32Array(0);
  #vlanA = new Int32Array(0);
  #vlanB = new Int32Array(0);
  #src = new Uint32Array(0);
  #dst = new Uint32Array(0);
  #hashOf = new Int32Array(0);
  #chain = new Int32Array(0);
  #prev = new Int32Array(0);
  #next = new Int32Array(0);
  #created = new Float64Array(0);
  #end = new Int32Array(0); // data end once the final fragment is in, else -1
  #maxEnd = new Int32Array(0); // end of the furthest data held
  #have = new Int32Array(0); // data bytes held
  #hdrLen = new Int32Array(0); // link + IP header bytes kept; 0: no first fragment yet
  #ipOff = new Int32Array(0); // IP header offset inside the kept header
  #nhOff = new Int32Array(0); // IPv6: Next Header byte to rewrite, inside the kept header
  #nextProto = new Uint8Array(0); // IPv6: the first fragment's Fragment-header Next Header
  #linkType = new Int32Array(0);
  #pages = new Int32Array(0); // PAGES_PER_DG page numbers per datagram, -1: none
  #freeDg = new Int32Array(0);
  #freeDgTop = 0;
  #buckets = new Int32Array(0);
  #mask = 0;
  #seed = 0;
  #head = -1; // oldest datagram
  #tail = -1;
  #count = 0;

  // Page pool.
  #pool = new Uint8Array(0);
  #pool32 = new Uint32Array(0); // the same bytes, for 4-byte copies (pages are aligned)
  #bits = new Uint32Array(0);
  #pagesMade = 0;
  #freePages = new Int32Array(0);
  #freePagesTop = 0;
  #pagesUsed = 0;

  // Output ring.
  readonly #outBufs: (Uint8Array | undefined)[] = new Array(OUTPUTS).fill(undefined);
  readonly #outViews: (DataView | undefined)[] = new Array(OUTPUTS).fill(undefined);
  readonly #outRaws: (RawPacket | undefined)[] = new Array(OUTPUTS).fill(undefined);
  #outNext = 0;

  // DataView of the last capture buffer fragments came from (one per source buffer).
  #srcBuf: Uint8Array = new Uint8Array(0);
  #srcView: DataView = new DataView(new ArrayBuffer(0));

  // Key of the fragment being added.
  #h = 0;
  #keyProto = 0;
  #keyVlanA = 0;
  #keyVlanB = 0;

  /** Creates a defragmenter counting anomalies in `weirds`. */
  constructor(weirds: Weirds, opts: DefragOptions = {}) {
    this.#weirds = weirds;
    this.#maxDg = Math.max(1, Math.floor(opts.maxDatagrams ?? 4096));
    const mem = Math.max(PAGES_PER_DG * PAGE, opts.maxMemory ?? 32 * 1024 * 1024);
    this.#maxPages = Math.floor(mem / PAGE);
    this.#timeout = opts.timeout ?? 30;
  }

  /** Datagrams in reassembly. */
  get inProgress(): number {
    return this.#count;
  }

  /** Bytes of pages holding fragments now (a multiple of 1 KiB). */
  get heldBytes(): number {
    return this.#pagesUsed * PAGE;
  }

  /**
   * Take the fragment `p` (decoded from `raw` with result
   * `DecodeResult.FRAGMENT`). Returns the completed datagram as a frame of
   * `raw`'s link type with the completing fragment's time, or null while
   * it is incomplete (or the fragment was refused). The result lives in
   * output buffer `entry % 64` (the pipeline's batch entry; 64 is its
   * `BATCH`), or with no `entry` in the next of the 64 buffers in turn, and
   * stays valid until that buffer is used again. The fragment's bytes are copied: `raw` may be
   * reused at once.
   */
  add(p: DecodedPacket, raw: RawPacket, entry = -1): RawPacket | null {
    this.fragments++;
    if (!this.#ready) this.#init();
    const now = p.ts;
    this.expire(now);
    const off = p.fragOffset, len = p.payloadLen, end = off + len, more = p.fragMore;
    if (p.payloadCapLen < len) return this.#drop("ip_frag_snaplen_cut");
    if (len === 0 || (more && (len & 7) !== 0)) return this.#drop("ip_frag_bad_length");
    // The rebuilt length field (IPv4 total, IPv6 payload) must hold it all.
    const extra = p.ipVersion === 4 ? p.ipHeaderLen : p.ipHeaderLen - 40;
    if (end + extra > 65535) return this.#drop("ip_frag_too_large");
    const hdrLen = off === 0 ? p.ipOffset - raw.offset + p.ipHeaderLen : 0;
    if (hdrLen > MAX_HEADER) return this.#drop("ip_frag_too_large");

    let dg = this.#find(p);
    if (dg >= 0 && now - this.#created[dg] > this.#timeout) {
      this.#expireOne(dg);
      dg = -1;
    }
    if (dg < 0) dg = this.#create(p, now);
    const knownEnd = this.#end[dg];
    if (
      knownEnd >= 0 ? (more ? end > knownEnd : end !== knownEnd) : !more && end < this.#maxEnd[dg]
    ) {
      return this.#drop("ip_frag_inconsistent_end");
    }
    if (!more) this.#end[dg] = end;
    if (hdrLen > 0 && this.#hdrLen[dg] === 0 && !this.#keepHeader(dg, p, raw, hdrLen)) return null;

    // Data, 8 bytes (one coverage bit) at a time; held bytes win.
    const b = p.buf;
    if (b !== this.#srcBuf) {
      this.#srcBuf = b;
      this.#srcView = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    const sv = this.#srcView;
    let src = p.payloadOffset;
    let overlap = false, conflict = false;
    const pageBase = dg * PAGES_PER_DG + HDR_PAGES;
    let have = 0;
    for (let u = off; u < end;) { // one page per turn
      let pg = this.#pages[pageBase + (u >> PAGE_SHIFT)];
      if (pg < 0) {
        pg = this.#newPage(dg, HDR_PAGES + (u >> PAGE_SHIFT));
        if (pg < 0) return null; // this datagram was evicted itself
      }
      const pageEnd = Math.min(end, (u | PAGE_MASK) + 1);
      const bits = this.#bits, pool32 = this.#pool32;
      let at = (pg << PAGE_SHIFT) + (u & PAGE_MASK);
      let bit = (pg << (PAGE_SHIFT - 3)) + ((u & PAGE_MASK) >> 3); // over the whole pool
      for (; u < pageEnd; u += 8, src += 8, at += 8, bit++) {
        const w = bit >> 5, m = 1 << (bit & 31);
        const n = pageEnd - u < 8 ? pageEnd - u : 8; // < 8 only for the datagram's last bytes
        if ((bits[w] & m) !== 0) {
          overlap = true;
          if (!conflict) conflict = !this.#same(at, sv, src, n);
        } else {
          if (n === 8) {
            pool32[at >> 2] = sv.getUint32(src, LE);
            pool32[(at >> 2) + 1] = sv.getUint32(src + 4, LE);
          } else {
            const pool = this.#pool;
            for (let k = 0; k < n; k++) pool[at + k] = b[src + k];
          }
          bits[w] |= m;
          have += n;
        }
      }
    }
    this.#have[dg] += have;
    if (end > this.#maxEnd[dg]) this.#maxEnd[dg] = end;
    if (overlap) this.#weirds.add("ip_frag_overlap");
    if (conflict) this.#weirds.add("ip_frag_overlap_conflict");
    if (this.#end[dg] < 0 || this.#have[dg] !== this.#end[dg] || this.#hdrLen[dg] === 0) {
      return null;
    }
    return this.#emit(dg, raw, entry);
  }

  /**
   * Drop the datagrams older than the timeout at packet time `now`
   * (`add` does this itself; a caller may call it when time moves without
   * fragments).
   */
  expire(now: number): void {
    let h = this.#head;
    while (h >= 0 && now - this.#created[h] > this.#timeout) {
      this.#expireOne(h);
      h = this.#head;
    }
  }

  /** Whether the `n` (<= 8) held bytes at pool offset `at` equal the source's at `src`. */
  #same(at: number, sv: DataView, src: number, n: number): boolean {
    if (n === 8) {
      const pool32 = this.#pool32, i = at >> 2;
      return pool32[i] === sv.getUint32(src, LE) && pool32[i + 1] === sv.getUint32(src + 4, LE);
    }
    const pool = this.#pool;
    for (let k = 0; k < n; k++) if (pool[at + k] !== sv.getUint8(src + k)) return false;
    return true;
  }

  #drop(name: WeirdName): null {
    this.#weirds.add(name);
    this.dropped++;
    return null;
  }

  #expireOne(dg: number): void {
    this.#weirds.add("ip_frag_timeout");
    this.timedOut++;
    this.#release(dg);
  }

  #evict(dg: number): void {
    this.#weirds.add("ip_frag_evicted");
    this.evicted++;
    this.#release(dg);
  }

  #init(): void {
    const n = this.#maxDg;
    this.#ver = new Uint8Array(n);
    this.#proto = new Uint8Array(n);
    this.#id = new Uint32Array(n);
    this.#vlanA = new Int32Array(n);
    this.#vlanB = new Int32Array(n);
    this.#src = new Uint32Array(n * 4);
    this.#dst = new Uint32Array(n * 4);
    this.#hashOf = new Int32Array(n);
    this.#chain = new Int32Array(n);
    this.#prev = new Int32Array(n);
    this.#next = new Int32Array(n);
    this.#created = new Float64Array(n);
    this.#end = new Int32Array(n);
    this.#maxEnd = new Int32Array(n);
    this.#have = new Int32Array(n);
    this.#hdrLen = new Int32Array(n);
    this.#ipOff = new Int32Array(n);
    this.#nhOff = new Int32Array(n);
    this.#nextProto = new Uint8Array(n);
    this.#linkType = new Int32Array(n);
    this.#pages = new Int32Array(n * PAGES_PER_DG).fill(-1);
    this.#freeDg = new Int32Array(n);
    for (let i = 0; i < n; i++) this.#freeDg[i] = n - 1 - i; // slot 0 first
    this.#freeDgTop = n;
    let buckets = 16;
    while (buckets < n * 2) buckets *= 2;
    this.#buckets = new Int32Array(buckets).fill(-1);
    this.#mask = buckets - 1;
    this.#seed = (Math.random() * 0x100000000) | 0; // no precomputed collisions
    this.#freePages = new Int32Array(this.#maxPages);
    this.#ready = true;
  }

  /** Slot of the datagram `p` belongs to, or -1; leaves its key in #h/#key*. */
  #find(p: DecodedPacket): number {
    const v4 = p.ipVersion === 4;
    const proto = v4 ? p.proto : 0;
    const vc = p.vlanCount, vl = p.vlans;
    const va = vc === 0 ? 0 : (vc << 24) | (vl[0] << 12) | (vc > 1 ? vl[1] : 0);
    const vb = vc < 3 ? 0 : (vl[2] << 12) | (vc > 3 ? vl[3] : 0);
    const s = p.src, d = p.dst, id = p.fragId;
    let h = this.#seed ^ p.ipVersion;
    h = mix(h, id);
    h = mix(h, proto | (va << 8));
    h = mix(h, vb);
    h = mix(h, s[0]);
    h = mix(h, d[0]);
    if (!v4) {
      h = mix(h, s[1]);
      h = mix(h, s[2]);
      h = mix(h, s[3]);
      h = mix(h, d[1]);
      h = mix(h, d[2]);
      h = mix(h, d[3]);
    }
    h ^= h >>> 16;
    this.#h = h;
    this.#keyProto = proto;
    this.#keyVlanA = va;
    this.#keyVlanB = vb;
    for (let i = this.#buckets[h & this.#mask]; i >= 0; i = this.#chain[i]) {
      if (
        this.#hashOf[i] === h && this.#id[i] === id && this.#ver[i] === p.ipVersion &&
        this.#proto[i] === proto && this.#vlanA[i] === va && this.#vlanB[i] === vb &&
        this.#src[i * 4] === s[0] && this.#dst[i * 4] === d[0] &&
        this.#src[i * 4 + 1] === s[1] && this.#src[i * 4 + 2] === s[2] &&
        this.#src[i * 4 + 3] === s[3] && this.#dst[i * 4 + 1] === d[1] &&
        this.#dst[i * 4 + 2] === d[2] && this.#dst[i * 4 + 3] === d[3]
      ) {
        return i;
      }
    }
    return -1;
  }

  /** A new datagram for `p`'s key (found absent by #find just before). */
  #create(p: DecodedPacket, now: number): number {
    if (this.#freeDgTop === 0) this.#evict(this.#head);
    const dg = this.#freeDg[--this.#freeDgTop];
    const h = this.#h;
    this.#ver[dg] = p.ipVersion;
    this.#proto[dg] = this.#keyProto;
    this.#id[dg] = p.fragId;
    this.#vlanA[dg] = this.#keyVlanA;
    this.#vlanB[dg] = this.#keyVlanB;
    for (let i = 0; i < 4; i++) {
      this.#src[dg * 4 + i] = p.src[i];
      this.#dst[dg * 4 + i] = p.dst[i];
    }
    this.#hashOf[dg] = h;
    this.#created[dg] = now;
    this.#end[dg] = -1;
    this.#maxEnd[dg] = 0;
    this.#have[dg] = 0;
    this.#hdrLen[dg] = 0;
    const bucket = h & this.#mask;
    this.#chain[dg] = this.#buckets[bucket];
    this.#buckets[bucket] = dg;
    this.#prev[dg] = this.#tail;
    this.#next[dg] = -1;
    if (this.#tail >= 0) this.#next[this.#tail] = dg;
    else this.#head = dg;
    this.#tail = dg;
    this.#count++;
    return dg;
  }

  /** Free `dg`'s pages and slot. */
  #release(dg: number): void {
    const base = dg * PAGES_PER_DG;
    for (let s = 0; s < PAGES_PER_DG; s++) {
      const pg = this.#pages[base + s];
      if (pg >= 0) {
        this.#freePages[this.#freePagesTop++] = pg;
        this.#pages[base + s] = -1;
        this.#pagesUsed--;
      }
    }
    const bucket = this.#hashOf[dg] & this.#mask;
    if (this.#buckets[bucket] === dg) this.#buckets[bucket] = this.#chain[dg];
    else {
      let i = this.#buckets[bucket];
      while (this.#chain[i] !== dg) i = this.#chain[i];
      this.#chain[i] = this.#chain[dg];
    }
    const pr = this.#prev[dg], nx = this.#next[dg];
    if (pr >= 0) this.#next[pr] = nx;
    else this.#head = nx;
    if (nx >= 0) this.#prev[nx] = pr;
    else this.#tail = pr;
    this.#freeDg[this.#freeDgTop++] = dg;
    this.#count--;
  }

  /**
   * A cleared page for slot `s` of `dg`, evicting the oldest other datagrams
   * while the memory cap is reached; -1 when `dg` itself had to go.
   */
  #newPage(dg: number, s: number): number {
    let pg = this.#takePage();
    while (pg < 0) {
      const victim = this.#head !== dg ? this.#head : this.#next[dg];
      if (victim < 0) {
        this.#evict(dg);
        return -1;
      }
      this.#evict(victim);
      pg = this.#takePage();
    }
    this.#pages[dg * PAGES_PER_DG + s] = pg;
    for (let i = 0; i < BIT_WORDS; i++) this.#bits[pg * BIT_WORDS + i] = 0;
    return pg;
  }

  /** A free page number, growing the pool up to the cap; -1 at the cap. */
  #takePage(): number {
    let pg: number;
    if (this.#freePagesTop > 0) pg = this.#freePages[--this.#freePagesTop];
    else if (this.#pagesMade < this.#maxPages) {
      pg = this.#pagesMade++;
      const have = this.#pool.length >> PAGE_SHIFT;
      if (pg >= have) {
        const want = Math.min(this.#maxPages, Math.max(64, have * 2));
        const pool = new Uint8Array(want << PAGE_SHIFT);
        pool.set(this.#pool);
        this.#pool = pool;
        this.#pool32 = new Uint32Array(pool.buffer);
        const bits = new Uint32Array(want * BIT_WORDS);
        bits.set(this.#bits);
        this.#bits = bits;
      }
    } else return -1;
    this.#pagesUsed++;
    return pg;
  }

  /** Keep the first fragment's link and IP header; false when `dg` was evicted for memory. */
  #keepHeader(dg: number, p: DecodedPacket, raw: RawPacket, hdrLen: number): boolean {
    const b = p.buf;
    const from = raw.offset;
    for (let s = 0; s * PAGE < hdrLen; s++) {
      const pg = this.#newPage(dg, s);
      if (pg < 0) return false;
      const pool = this.#pool;
      const at = pg << PAGE_SHIFT;
      const n = Math.min(PAGE, hdrLen - s * PAGE);
      for (let k = 0, i = from + s * PAGE; k < n; k++) pool[at + k] = b[i + k];
    }
    this.#hdrLen[dg] = hdrLen;
    this.#ipOff[dg] = p.ipOffset - from;
    this.#nhOff[dg] = p.fragNextHeaderOffset - from;
    this.#nextProto[dg] = p.proto;
    this.#linkType[dg] = raw.linkType;
    return true;
  }

  /** Write the complete datagram `dg` to an output buffer and free it. */
  #emit(dg: number, raw: RawPacket, entry: number): RawPacket | null {
    const hdrLen = this.#hdrLen[dg], end = this.#end[dg], ipOff = this.#ipOff[dg];
    const v4 = this.#ver[dg] === 4;
    const ipLen = hdrLen - ipOff + end; // IP packet length
    if (v4 ? ipLen > 65535 : ipLen - 40 > 65535) {
      this.#release(dg);
      return this.#drop("ip_frag_too_large");
    }
    const slot = entry >= 0 ? entry % OUTPUTS : this.#outNext++ % OUTPUTS;
    let out = this.#outBufs[slot];
    let ov = this.#outViews[slot];
    let r = this.#outRaws[slot];
    if (out === undefined || ov === undefined || r === undefined) {
      out = this.#outBufs[slot] = new Uint8Array(OUT_SIZE);
      ov = this.#outViews[slot] = new DataView(out.buffer);
      r = this.#outRaws[slot] = new RawPacket();
      r.buf = out;
    }
    // Page by page, 4 bytes at a time: a page's last word may carry up to 3
    // bytes past its data, which the next page's copy (or nothing) follows.
    const pool32 = this.#pool32, base = dg * PAGES_PER_DG;
    for (let s = 0, o = 0; o < hdrLen; s++, o += PAGE) {
      const at = this.#pages[base + s] << (PAGE_SHIFT - 2);
      const n = Math.min(PAGE, hdrLen - o);
      for (let k = 0; k < n; k += 4) ov.setUint32(o + k, pool32[at + (k >> 2)], LE);
    }
    for (let s = 0, o = 0; o < end; s++, o += PAGE) {
      const at = this.#pages[base + HDR_PAGES + s] << (PAGE_SHIFT - 2);
      const n = Math.min(PAGE, end - o);
      const to = hdrLen + o;
      for (let k = 0; k < n; k += 4) ov.setUint32(to + k, pool32[at + (k >> 2)], LE);
    }
    if (v4) {
      const ihl = hdrLen - ipOff;
      out[ipOff + 2] = ipLen >> 8;
      out[ipOff + 3] = ipLen & 255;
      out[ipOff + 6] &= 0xc0; // keep reserved and DF; clear MF and the offset
      out[ipOff + 7] = 0;
      out[ipOff + 10] = out[ipOff + 11] = 0;
      let sum = 0;
      for (let i = 0; i < ihl; i += 2) sum += (out[ipOff + i] << 8) | out[ipOff + i + 1];
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      sum = ~sum & 0xffff;
      out[ipOff + 10] = sum >> 8;
      out[ipOff + 11] = sum & 255;
    } else {
      const plen = ipLen - 40;
      out[ipOff + 4] = plen >> 8;
      out[ipOff + 5] = plen & 255;
      out[this.#nhOff[dg]] = this.#nextProto[dg];
    }
    r.offset = 0;
    r.capLen = r.wireLen = hdrLen + end;
    r.tsSec = raw.tsSec;
    r.tsNsec = raw.tsNsec;
    r.linkType = this.#linkType[dg];
    r.ifIndex = raw.ifIndex;
    this.reassembled++;
    this.#release(dg);
    return r;
  }
}

function mix(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x9e3779b1);
  return h ^ (h >>> 15);
}
