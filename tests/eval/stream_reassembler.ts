/**
 * A simple reference TCP receiver for the evasion tests, written apart from
 * the rewriters so that the two check each other: it decodes every frame of
 * a capture (Ethernet with VLAN / QinQ tags, Linux SLL and SLL2, raw IP;
 * IPv4 and IPv6, reassembling IPv4 and IPv6 fragments), checks the IPv4
 * header and TCP checksums when asked, and rebuilds each direction of each
 * TCP connection as a receiver that keeps the first data it got for every
 * sequence number would (arrival order = capture order).
 *
 * Streams are keyed `client ip:port > server ip:port #n` per direction
 * (`#n` counts reuses of the 4-tuple with a new SYN); each stream is a list
 * of contiguous blocks at absolute sequence numbers, so that a capture whose
 * start is missing can be compared with the whole one.
 *
 * @module
 */

import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";

/** A contiguous run of stream bytes starting at an absolute sequence number. */
export interface StreamBlock {
  /** Sequence number of the first byte. */
  seq: number;
  /** The bytes. */
  data: Uint8Array;
}

/** What {@linkcode reassembleCapture} found. */
export interface Reassembly {
  /** Stream key (see the module doc) → blocks in sequence order. */
  streams: Map<string, StreamBlock[]>;
  /** Frames read. */
  frames: number;
  /** IP datagrams rebuilt from fragments. */
  reassembledDatagrams: number;
  /** Fragments seen. */
  fragments: number;
  /** Datagrams whose first fragment to arrive was not the one at offset 0. */
  outOfOrderDatagrams: number;
  /** Largest data length of a fragment that is not a datagram's last. */
  maxFragmentData: number;
  /** TCP segments with payload. */
  dataSegments: number;
  /** Payload bytes that arrived for sequence numbers already filled with different bytes. */
  conflictingBytes: number;
  /** Bad IPv4 header or TCP checksums (only counted when checking). */
  badChecksums: number;
  /** Link types seen. */
  linkTypes: Set<number>;
  /** IP versions seen. */
  ipVersions: Set<number>;
  /** VLAN tag counts seen on Ethernet frames. */
  vlanDepths: Set<number>;
}

/** Options of {@linkcode reassembleCapture}. */
export interface ReassemblyOptions {
  /** Verify the IPv4 header and TCP checksums (count failures in `badChecksums`). */
  checksums?: boolean;
  /** Maps an address text (dotted quad / lower-case hex IPv6) before it is used in keys. */
  mapAddress?: (text: string) => string;
}

interface Segment {
  seq: number;
  data: Uint8Array;
}

interface Direction {
  isn?: number;
  segments: Segment[];
}

function ipText(b: Uint8Array): string {
  if (b.length === 4) return b.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return groups.join(":");
}

function checksum(parts: Uint8Array[]): number {
  let acc = 0;
  for (const b of parts) {
    // every part but the last has an even length here
    for (let i = 0; i < b.length; i += 2) acc += (b[i] << 8) | (i + 1 < b.length ? b[i + 1] : 0);
  }
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 65536);
  return acc; // 0xffff when the checksum field was right
}

/** Reassembles the TCP streams of a capture file. */
export async function reassembleCapture(
  path: string,
  opts: ReassemblyOptions = {},
): Promise<Reassembly> {
  const map = opts.mapAddress ?? ((t: string) => t);
  const r: Reassembly = {
    streams: new Map(),
    frames: 0,
    reassembledDatagrams: 0,
    fragments: 0,
    outOfOrderDatagrams: 0,
    maxFragmentData: 0,
    dataSegments: 0,
    conflictingBytes: 0,
    badChecksums: 0,
    linkTypes: new Set(),
    ipVersions: new Set(),
    vlanDepths: new Set(),
  };
  const dirs = new Map<string, Direction>();
  const instance = new Map<string, number>(); // 4-tuple direction -> reuse count
  const pending = new Map<
    string,
    { parts: Map<number, Uint8Array>; total: number }
  >();

  const tcp = (src: Uint8Array, dst: Uint8Array, seg: Uint8Array) => {
    if (seg.length < 20) return;
    if (opts.checksums) {
      const pseudo = new Uint8Array(src.length * 2 + 4);
      pseudo.set(src);
      pseudo.set(dst, src.length);
      pseudo[pseudo.length - 3] = 6;
      pseudo[pseudo.length - 2] = seg.length >> 8;
      pseudo[pseudo.length - 1] = seg.length & 255;
      if (checksum([pseudo, seg]) !== 0xffff) r.badChecksums++;
    }
    const dv = new DataView(seg.buffer, seg.byteOffset, seg.byteLength);
    const sport = dv.getUint16(0), dport = dv.getUint16(2);
    let seq = dv.getUint32(4);
    const flags = seg[13];
    const data = seg.subarray((seg[12] >> 4) * 4);
    const a = `${map(ipText(src))}:${sport}`, b = `${map(ipText(dst))}:${dport}`;
    const tuple = `${a} > ${b}`;
    let n = instance.get(tuple) ?? 0;
    let d = dirs.get(`${tuple} #${n}`);
    if (flags & 2) {
      if (d !== undefined && d.isn !== undefined && d.isn !== seq) instance.set(tuple, ++n);
      if (d === undefined || (d.isn !== undefined && d.isn !== seq)) {
        d = { segments: [] };
        dirs.set(`${tuple} #${n}`, d);
      }
      d.isn = seq;
      seq = (seq + 1) >>> 0;
    } else if (d === undefined) {
      d = { segments: [] };
      dirs.set(`${tuple} #${n}`, d);
    }
    if (data.length > 0) {
      r.dataSegments++;
      d.segments.push({ seq, data: data.slice() });
    }
  };

  const ipv4 = (b: Uint8Array) => {
    if (b.length < 20) return;
    const ihl = (b[0] & 15) * 4;
    const total = (b[2] << 8) | b[3];
    const ip = b.subarray(0, total);
    r.ipVersions.add(4);
    if (opts.checksums && checksum([ip.subarray(0, ihl)]) !== 0xffff) r.badChecksums++;
    const frag = (b[6] << 8) | b[7];
    const offset = (frag & 0x1fff) * 8;
    const more = (frag & 0x2000) !== 0;
    let body = ip.subarray(ihl);
    if (offset !== 0 || more) {
      r.fragments++;
      const key = `4 ${ipText(b.subarray(12, 16))} ${ipText(b.subarray(16, 20))} ${b[9]} ${
        (b[4] << 8) | b[5]
      }`;
      const whole = fragment(key, offset, more, body);
      if (whole === null) return;
      body = whole;
    }
    if (b[9] === 6) tcp(b.subarray(12, 16), b.subarray(16, 20), body);
  };

  const ipv6 = (b: Uint8Array) => {
    if (b.length < 40) return;
    r.ipVersions.add(6);
    const ip = b.subarray(0, 40 + ((b[4] << 8) | b[5]));
    let nh = ip[6];
    let off = 40;
    let body: Uint8Array | null = null;
    while (body === null) {
      if (nh === 0 || nh === 43 || nh === 60) {
        nh = ip[off];
        off += (ip[off + 1] + 1) * 8;
      } else if (nh === 44) {
        const fo = (ip[off + 2] << 8) | ip[off + 3];
        const id = new DataView(ip.buffer, ip.byteOffset + off + 4, 4).getUint32(0);
        const next = ip[off];
        r.fragments++;
        const key = `6 ${ipText(ip.subarray(8, 24))} ${ipText(ip.subarray(24, 40))} ${id}`;
        body = fragment(key, fo & 0xfff8, (fo & 1) !== 0, ip.subarray(off + 8));
        if (body === null) return;
        nh = next;
      } else {
        body = ip.subarray(off);
      }
    }
    if (nh === 6) tcp(ip.subarray(8, 24), ip.subarray(24, 40), body);
  };

  /** Stores a fragment; returns the datagram's data once every byte is there. */
  const fragment = (
    key: string,
    offset: number,
    more: boolean,
    data: Uint8Array,
  ): Uint8Array | null => {
    let f = pending.get(key);
    if (f === undefined) {
      f = { parts: new Map(), total: -1 };
      pending.set(key, f);
      if (offset !== 0) r.outOfOrderDatagrams++;
    }
    if (more) r.maxFragmentData = Math.max(r.maxFragmentData, data.length);
    if (!f.parts.has(offset)) f.parts.set(offset, data.slice());
    if (!more) f.total = offset + data.length;
    if (f.total < 0) return null;
    const out = new Uint8Array(f.total);
    const have = new Uint8Array(f.total);
    for (const [o, p] of f.parts) {
      out.set(p.subarray(0, Math.max(0, f.total - o)), o);
      have.fill(1, o, Math.min(f.total, o + p.length));
    }
    if (have.includes(0)) return null;
    pending.delete(key);
    r.reassembledDatagrams++;
    return out;
  };

  const src = await openCaptureFiles([path]);
  const raw = new RawPacket();
  try {
    do {
      while (src.next(raw)) {
        r.frames++;
        r.linkTypes.add(raw.linkType);
        const f = raw.buf.subarray(raw.offset, raw.offset + raw.capLen);
        let et = -1, off = 0;
        if (raw.linkType === LinkType.ETHERNET) {
          et = (f[12] << 8) | f[13];
          off = 14;
          let depth = 0;
          while (et === 0x8100 || et === 0x88a8 || et === 0x9100) {
            et = (f[off + 2] << 8) | f[off + 3];
            off += 4;
            depth++;
          }
          r.vlanDepths.add(depth);
        } else if (raw.linkType === LinkType.LINUX_SLL) {
          et = (f[14] << 8) | f[15];
          off = 16;
        } else if (raw.linkType === LinkType.LINUX_SLL2) {
          et = (f[0] << 8) | f[1];
          off = 20;
        } else if (raw.linkType === LinkType.RAW) {
          et = f[0] >> 4 === 6 ? 0x86dd : 0x0800;
        } else {
          throw new Error(`link type ${raw.linkType} not handled by the reference reassembler`);
        }
        if (et === 0x0800) ipv4(f.subarray(off));
        else if (et === 0x86dd) ipv6(f.subarray(off));
      }
    } while (await src.refill());
  } finally {
    src.close();
  }

  for (const [key, d] of dirs) {
    if (d.segments.length === 0) continue;
    // Base: the first byte after the SYN, else the lowest sequence number seen.
    let base = d.isn !== undefined ? (d.isn + 1) >>> 0 : d.segments[0].seq;
    for (const s of d.segments) if (((s.seq - base) | 0) < 0 && d.isn === undefined) base = s.seq;
    let size = 0;
    for (const s of d.segments) size = Math.max(size, ((s.seq - base) | 0) + s.data.length);
    const bytes = new Uint8Array(size);
    const have = new Uint8Array(size);
    for (const s of d.segments) {
      const o = (s.seq - base) | 0;
      for (let k = 0; k < s.data.length; k++) {
        if (o + k < 0) continue;
        if (!have[o + k]) {
          have[o + k] = 1;
          bytes[o + k] = s.data[k];
        } else if (bytes[o + k] !== s.data[k]) r.conflictingBytes++;
      }
    }
    const blocks: StreamBlock[] = [];
    for (let o = 0; o < size;) {
      if (!have[o]) {
        o++;
        continue;
      }
      let e = o;
      while (e < size && have[e]) e++;
      blocks.push({ seq: (base + o) >>> 0, data: bytes.slice(o, e) });
      o = e;
    }
    r.streams.set(key, blocks);
  }
  return r;
}
