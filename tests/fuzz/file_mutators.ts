/**
 * Structure-aware mutations of whole capture files. A seed capture is
 * written as a list of chunks (file header / record, or pcapng block) whose
 * field offsets are known, in one of the layouts the readers accept (pcap
 * µs/ns in both byte orders, pcapng with several interfaces and
 * `if_tsresol` / `if_tsoffset`, simple packet blocks, foreign blocks); the
 * mutations then change fields (lengths, link types, snap lengths,
 * timestamps, options, interface ids, block types), drop, duplicate and
 * swap chunks, flip and cut bytes, and finally maybe gzip the result (one or
 * several members, corrupted or cut).
 *
 * @module
 */

import { gzipSync } from "node:zlib";
import type { Frame } from "./packet_mutators.ts";
import { interesting, mutateBytes, type Rng } from "./rng.ts";
import { concat } from "../helpers/bytes.ts";

/** One piece of a file with what it is. */
interface Chunk {
  kind: "pcaphdr" | "rec" | "shb" | "idb" | "epb" | "spb" | "other";
  bytes: Uint8Array;
  le: boolean;
}

function put(b: Uint8Array, off: number, width: number, v: number, le: boolean): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (off < 0 || off + width > b.length) return;
  if (width === 2) dv.setUint16(off, v & 0xffff, le);
  else if (width === 4) dv.setUint32(off, v >>> 0, le);
  else if (width === 8) dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), le);
  else b[off] = v & 0xff;
}

function get(b: Uint8Array, off: number, width: number, le: boolean): number {
  if (off < 0 || off + width > b.length) return 0;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return width === 2 ? dv.getUint16(off, le) : width === 4 ? dv.getUint32(off, le) : b[off];
}

/** Layout a seed is written in. */
interface SeedLayout {
  format: "pcap" | "pcapng";
  le: boolean;
  ns: boolean;
  ifaces: number;
  tsresol: number | undefined;
  tsoffset: number;
  spb: boolean;
}

function pcapChunks(frames: Frame[], lay: SeedLayout): Chunk[] {
  const le = lay.le;
  const h = new Uint8Array(24);
  put(h, 0, 4, lay.ns ? 0xa1b23c4d : 0xa1b2c3d4, le);
  put(h, 4, 2, 2, le);
  put(h, 6, 2, 4, le);
  put(h, 16, 4, 262144, le);
  put(h, 20, 4, frames[0]?.linkType ?? 1, le);
  const out: Chunk[] = [{ kind: "pcaphdr", bytes: h, le }];
  for (const f of frames) {
    const r = new Uint8Array(16 + f.data.length);
    put(r, 0, 4, f.tsSec, le);
    put(r, 4, 4, lay.ns ? f.tsNsec : Math.floor(f.tsNsec / 1000), le);
    put(r, 8, 4, f.data.length, le);
    put(r, 12, 4, f.wireLen, le);
    r.set(f.data, 16);
    out.push({ kind: "rec", bytes: r, le });
  }
  return out;
}

function block(type: number, body: Uint8Array, le: boolean): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const len = 12 + padded;
  const b = new Uint8Array(len);
  put(b, 0, 4, type, le);
  put(b, 4, 4, len, le);
  b.set(body, 8);
  put(b, len - 4, 4, len, le);
  return b;
}

function option(code: number, value: Uint8Array, le: boolean): Uint8Array {
  const o = new Uint8Array(4 + ((value.length + 3) & ~3));
  put(o, 0, 2, code, le);
  put(o, 2, 2, value.length, le);
  o.set(value, 4);
  return o;
}

function u64(v: number, le: boolean): Uint8Array {
  const b = new Uint8Array(8);
  put(b, 0, 8, v, le);
  return b;
}

function shb(le: boolean): Uint8Array {
  const body = new Uint8Array(16);
  put(body, 0, 4, 0x1a2b3c4d, le);
  put(body, 4, 2, 1, le);
  put(body, 8, 4, 0xffffffff, le);
  put(body, 12, 4, 0xffffffff, le);
  return block(0x0a0d0d0a, body, le);
}

function idb(
  link: number,
  lay: SeedLayout,
  tsresol: number | undefined,
  tsoffset: number,
): Uint8Array {
  const le = lay.le;
  const fixed = new Uint8Array(8);
  put(fixed, 0, 2, link, le);
  put(fixed, 4, 4, 262144, le);
  const opts: Uint8Array[] = [option(2, new TextEncoder().encode("eth0"), le)];
  if (tsresol !== undefined) opts.push(option(9, new Uint8Array([tsresol]), le));
  if (tsoffset !== 0) opts.push(option(14, u64(tsoffset, le), le));
  opts.push(new Uint8Array(4)); // opt_endofopt
  return block(1, concat(fixed, ...opts), le);
}

function pcapngChunks(frames: Frame[], lay: SeedLayout): Chunk[] {
  const le = lay.le;
  const out: Chunk[] = [{ kind: "shb", bytes: shb(le), le }];
  const links = new Map<number, number>();
  // tsresol: 6 (µs, the default) or as chosen; units per second.
  const res = lay.tsresol ?? 6;
  const perSec = res & 0x80 ? 2 ** (res & 0x7f) : 10 ** res;
  for (const f of frames) {
    let ifId = links.get(f.linkType);
    if (ifId === undefined) {
      for (let k = 0; k < lay.ifaces; k++) {
        out.push({ kind: "idb", bytes: idb(f.linkType, lay, lay.tsresol, lay.tsoffset), le });
      }
      ifId = links.size * lay.ifaces;
      links.set(f.linkType, ifId);
    }
    if (lay.spb && lay.ifaces === 1 && links.size === 1) {
      const body = new Uint8Array(4 + f.data.length);
      put(body, 0, 4, f.wireLen, le);
      body.set(f.data, 4);
      out.push({ kind: "spb", bytes: block(3, body, le), le });
      continue;
    }
    const t = Math.floor(((f.tsSec - lay.tsoffset) + f.tsNsec / 1e9) * perSec);
    const ts = Math.max(0, t);
    const body = new Uint8Array(20 + f.data.length);
    put(body, 0, 4, ifId + (lay.ifaces > 1 ? f.tsSec % lay.ifaces : 0), le);
    put(body, 4, 4, Math.floor(ts / 4294967296), le);
    put(body, 8, 4, ts % 4294967296, le);
    put(body, 12, 4, f.data.length, le);
    put(body, 16, 4, f.wireLen, le);
    body.set(f.data, 20);
    out.push({ kind: "epb", bytes: block(6, body, le), le });
  }
  return out;
}

/** Writes `frames` as a seed file in a layout chosen by `rng`; returns the chunks. */
function seedChunks(rng: Rng, frames: Frame[], log: string[]): Chunk[] {
  const lay: SeedLayout = {
    format: rng.chance(0.5) ? "pcap" : "pcapng",
    le: rng.chance(0.7),
    ns: rng.chance(0.4),
    ifaces: rng.pick([1, 1, 1, 2, 3]),
    tsresol: rng.pick([undefined, 6, 9, 3, 0x80 | 20, 0x80 | 10]),
    tsoffset: rng.chance(0.8) ? 0 : rng.pick([1, 3600, 1_000_000_000]),
    spb: rng.chance(0.15),
  };
  log.push(`seed ${JSON.stringify(lay)}`);
  return lay.format === "pcap" ? pcapChunks(frames, lay) : pcapngChunks(frames, lay);
}

const TSRESOL = [
  0,
  1,
  2,
  3,
  6,
  9,
  10,
  12,
  15,
  18,
  19,
  20,
  63,
  64,
  0x80,
  0x81,
  0x8a,
  0x9e,
  0xbf,
  0xc0,
  0xff,
];

/** A field mutation of one chunk (by kind). */
function mutateChunk(rng: Rng, c: Chunk, log: string[]): void {
  const b = c.bytes, le = c.le;
  switch (c.kind) {
    case "pcaphdr": {
      const f = rng.int(0, 5);
      if (f === 0) {
        put(
          b,
          0,
          4,
          rng.pick([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a, rng.u32()]),
          false,
        );
      } else if (f === 1) {
        put(b, 4, 2, rng.pick([0, 1, 2, 3, 0xffff]), le), put(b, 6, 2, rng.int(0, 0xffff), le);
      } else if (f === 2) {
        put(
          b,
          16,
          4,
          rng.pick([0, 1, 14, 54, 65535, 262144, 0x7fffffff, 0xffffffff, rng.u32()]),
          le,
        );
      } else if (f === 3) {
        put(
          b,
          20,
          4,
          rng.pick([0, 1, 101, 108, 113, 228, 229, 276, 147, 0x10000001, rng.int(0, 300)]),
          le,
        );
      } else if (f === 4) put(b, 8, 4, rng.u32(), le); // thiszone
      else put(b, 12, 4, rng.u32(), le); // sigfigs
      log.push(`pcaphdr.f${f}`);
      return;
    }
    case "rec": {
      const f = rng.int(0, 4);
      if (f === 0) put(b, 8, 4, interesting(rng, 4, get(b, 8, 4, le)), le); // incl_len
      else if (f === 1) put(b, 12, 4, interesting(rng, 4, get(b, 12, 4, le)), le); // orig_len
      else if (f === 2) {
        put(b, 0, 4, rng.pick([0, 0x7fffffff, 0x80000000, 0xffffffff, rng.u32()]), le);
      } else if (f === 3) {
        put(b, 4, 4, rng.pick([999_999, 1_000_000, 999_999_999, 1_000_000_000, 0xffffffff]), le);
      } else put(b, 8, 4, get(b, 8, 4, le) + rng.pick([-1, 1, 4, -16]), le);
      log.push(`rec.f${f}`);
      return;
    }
    case "shb": {
      const f = rng.int(0, 3);
      if (f === 0) put(b, 8, 4, rng.pick([0x1a2b3c4d, 0x4d3c2b1a, 0, rng.u32()]), le);
      else if (f === 1) put(b, 12, 2, rng.pick([0, 1, 2, 0xffff]), le);
      else if (f === 2) put(b, 16, 8, rng.pick([0, 8, 100, 2 ** 40, -1]), le);
      else put(b, 4, 4, rng.pick([0, 12, 24, 28, 29, 0xffffffff, rng.u32()]), le);
      log.push(`shb.f${f}`);
      return;
    }
    case "idb": {
      const f = rng.int(0, 5);
      if (f === 0) {
        put(b, 8, 2, rng.pick([0, 1, 101, 113, 228, 229, 276, 0xffff, rng.int(0, 300)]), le);
      } else if (f === 1) put(b, 12, 4, rng.pick([0, 1, 20, 65535, 0xffffffff]), le);
      else if (f >= 2 && f <= 4) {
        // Replace the options with a hostile set.
        const opts: Uint8Array[] = [];
        const n = rng.int(1, 4);
        for (let i = 0; i < n; i++) {
          const k = rng.int(0, 4);
          if (k === 0) opts.push(option(9, new Uint8Array([rng.pick(TSRESOL)]), le));
          else if (k === 1) {
            opts.push(
              option(
                14,
                u64(
                  rng.pick([
                    1,
                    -1,
                    2 ** 31,
                    2 ** 32,
                    2 ** 53,
                    2 ** 62,
                    -(2 ** 40),
                    rng.u32() * 65536,
                  ]),
                  le,
                ),
                le,
              ),
            );
          } else if (k === 2) { // bogus option length
            const o = option(rng.pick([9, 14, 2, 3, 0x8000]), rng.bytes(rng.int(0, 9)), le);
            put(o, 2, 2, rng.pick([0, 1, 7, 9, 255, 0xffff]), le);
            opts.push(o);
          } else if (k === 3) opts.push(option(rng.int(0, 0xffff), rng.bytes(rng.int(0, 20)), le));
          else opts.push(option(9, rng.bytes(rng.int(0, 3)), le)); // tsresol of length 0/2/3
        }
        if (rng.chance(0.7)) opts.push(new Uint8Array(4));
        const nb = block(1, concat(b.subarray(8, 16), ...opts), le);
        c.bytes = nb;
      } else put(b, 4, 4, get(b, 4, 4, le) + rng.pick([-4, 4, -1, 1]), le);
      log.push(`idb.f${f}`);
      return;
    }
    case "epb": {
      const f = rng.int(0, 5);
      if (f === 0) put(b, 8, 4, rng.pick([1, 2, 3, 7, 255, 0xffffffff, rng.int(0, 10)]), le); // interface id
      else if (f === 1) {
        put(b, 12, 4, rng.pick([0, 0xffffffff, 0x80000000, 0x7fffffff, rng.u32()]), le); // ts hi
      } else if (f === 2) put(b, 16, 4, rng.pick([0, 0xffffffff, rng.u32()]), le); // ts lo
      else if (f === 3) put(b, 20, 4, interesting(rng, 4, get(b, 20, 4, le)), le); // caplen
      else if (f === 4) put(b, 24, 4, interesting(rng, 4, get(b, 24, 4, le)), le); // origlen
      else put(b, 4, 4, interesting(rng, 4, get(b, 4, 4, le)), le); // block length
      log.push(`epb.f${f}`);
      return;
    }
    default: {
      const f = rng.int(0, 2);
      if (f === 0) {
        put(b, 0, 4, rng.pick([0, 2, 4, 5, 7, 0x0a0d0d0a, 0x80000001, 0x00000bad, rng.u32()]), le);
      } else if (f === 1) put(b, 4, 4, interesting(rng, 4, get(b, 4, 4, le)), le);
      else put(b, b.length - 4, 4, rng.u32(), le);
      log.push(`${c.kind}.f${f}`);
    }
  }
}

/** A foreign pcapng block (NRB, ISB, custom, unknown, a new section in the other byte order). */
function foreignBlock(rng: Rng, le: boolean, log: string[]): Chunk {
  const k = rng.int(0, 4);
  log.push(`foreign${k}`);
  if (k === 0) return { kind: "shb", bytes: shb(!le), le: !le }; // new section, other byte order
  if (k === 1) {
    return {
      kind: "other",
      bytes: block(
        4,
        concat(
          new Uint8Array([0, 1, 0, 4, 10, 0, 0, 1]),
          new TextEncoder().encode("host\0"),
          new Uint8Array(4),
        ),
        le,
      ),
      le,
    };
  }
  if (k === 2) return { kind: "other", bytes: block(5, rng.bytes(rng.int(12, 40)), le), le };
  if (k === 3) {
    return {
      kind: "other",
      bytes: block(
        rng.pick([0x00000bad, 0x40000bad, 0x80000bad, 2, 7, 8, 9, 10]),
        rng.bytes(rng.int(0, 64)),
        le,
      ),
      le,
    };
  }
  return { kind: "other", bytes: block(rng.u32(), rng.bytes(rng.int(0, 16)), le), le };
}

/** gzip mutations of `data`: one or several members, corrupt, cut, trailing bytes. */
function gzipMutate(rng: Rng, data: Uint8Array, log: string[]): Uint8Array {
  const op = rng.int(0, 7);
  log.push(`gzip${op}`);
  const gz = (b: Uint8Array) => new Uint8Array(gzipSync(b, { level: 1 }));
  if (op === 1) { // several members
    const parts: Uint8Array[] = [];
    let at = 0;
    while (at < data.length) {
      const n = rng.int(1, Math.max(1, data.length >> 1));
      parts.push(gz(data.subarray(at, at + n)));
      at += n;
    }
    if (rng.chance(0.3)) parts.splice(rng.int(0, parts.length), 0, gz(new Uint8Array(0)));
    return concat(...parts);
  }
  const z = gz(data);
  if (op === 2) { // corrupt a deflate byte
    const at = rng.int(10, Math.max(10, z.length - 9));
    z[at] ^= 1 << rng.int(0, 7);
    return z;
  }
  if (op === 3) { // CRC or ISIZE
    z[z.length - rng.int(1, 8)] ^= 0xff;
    return z;
  }
  if (op === 4) return z.subarray(0, rng.int(0, z.length)); // cut
  if (op === 5) {
    return concat(
      z,
      rng.pick([new Uint8Array(8), rng.bytes(rng.int(1, 64)), new Uint8Array([0x1f, 0x8b])]),
    ); // trailing
  }
  if (op === 6) { // header flags: FEXTRA/FNAME/FCOMMENT/FHCRC/reserved without their fields
    z[3] = rng.pick([1, 2, 4, 8, 0x10, 0x20, 0xe0, 0xff]);
    return z;
  }
  if (op === 7) return concat(z, gz(data.subarray(0, rng.int(0, data.length)))); // member then part of it again
  return z;
}

/** A mutated capture file built from `frames`; `log` receives the mutations. */
export function buildFile(rng: Rng, frames: Frame[], log: string[]): Uint8Array {
  const chunks = seedChunks(rng, frames, log);
  const isNg = chunks[0].kind === "shb";
  const nMut = rng.pick([0, 1, 1, 2, 3, 5, 10]);
  for (let k = 0; k < nMut; k++) {
    const op = rng.weighted([6, 1, 1, 1, 1, isNg ? 2 : 0]);
    if (chunks.length === 0) break;
    const i = rng.chance(0.3)
      ? rng.int(0, Math.min(3, chunks.length - 1))
      : rng.int(0, chunks.length - 1);
    if (op === 0) mutateChunk(rng, chunks[i], log);
    else if (op === 1) chunks.splice(i, 1), log.push(`drop#${i}`);
    else if (op === 2) {
      chunks.splice(i, 0, { ...chunks[i], bytes: chunks[i].bytes.slice() }), log.push(`dup#${i}`);
    } else if (op === 3 && i + 1 < chunks.length) {
      [chunks[i], chunks[i + 1]] = [chunks[i + 1], chunks[i]];
      log.push(`swap#${i}`);
    } else if (op === 4) {
      chunks.splice(i, 0, { kind: "other", bytes: rng.bytes(rng.int(1, 40)), le: true });
      log.push(`junk#${i}`);
    } else if (op === 5) chunks.splice(i, 0, foreignBlock(rng, chunks[i].le, log));
  }
  let data: Uint8Array = concat(...chunks.map((c) => c.bytes));
  if (rng.chance(0.2)) data = mutateBytes(rng, data, log, 256) as Uint8Array;
  if (rng.chance(0.15)) {
    const cut = rng.int(0, data.length);
    data = data.subarray(0, cut);
    log.push(`cut=${cut}`);
  }
  if (rng.chance(0.25)) data = gzipMutate(rng, data, log);
  return data;
}
