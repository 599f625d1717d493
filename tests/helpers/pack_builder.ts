/**
 * Builds SoftEther Packs (Mayaqua/Pack.c `WritePack`) for tests: u32 element
 * count; per element u32 (name length + 1), the name, u32 type, u32 value
 * count, values; all big-endian.
 *
 * @module
 */

import { concat } from "./bytes.ts";

/** One value of a test element. */
export type PackValue =
  | { int: number }
  | { int64: bigint }
  | { str: string }
  | { data: Uint8Array }
  | { unistr: string };

/** Big-endian u32 bytes. */
export function be32(v: number): Uint8Array {
  return new Uint8Array([(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
}

const enc = new TextEncoder();

function valueBytes(v: PackValue): [number, Uint8Array] {
  if ("int" in v) return [0, be32(v.int)];
  if ("int64" in v) {
    return [4, concat(be32(Number(v.int64 >> 32n)), be32(Number(v.int64 & 0xffffffffn)))];
  }
  if ("str" in v) {
    const s = enc.encode(v.str);
    return [2, concat(be32(s.length), s)];
  }
  if ("data" in v) return [1, concat(be32(v.data.length), v.data)];
  const u = concat(enc.encode(v.unistr), new Uint8Array([0]));
  return [3, concat(be32(u.length), u)];
}

/** A Pack of `elements`: each a name and its values (all of one type). */
export function pack(elements: [string, ...PackValue[]][]): Uint8Array {
  const parts: Uint8Array[] = [be32(elements.length)];
  for (const [name, ...values] of elements) {
    const n = enc.encode(name);
    const encoded = values.map(valueBytes);
    const type = encoded.length > 0 ? encoded[0][0] : 0;
    parts.push(be32(n.length + 1), n, be32(type), be32(values.length), ...encoded.map((e) => e[1]));
  }
  return concat(...parts);
}

/** `SendPackWithHash`: u32 size, the Pack, a 20-byte hash (zeros: no receiver here checks it). */
export function packWithHash(p: Uint8Array): Uint8Array {
  return concat(be32(p.length), p, new Uint8Array(20));
}
