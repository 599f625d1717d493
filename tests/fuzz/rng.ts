/**
 * The fuzzer's deterministic randomness: one generator per input, derived
 * from the run seed and the input's kind and index, so that any input can be
 * rebuilt from (seed, kind, index) alone.
 *
 * @module
 */

import { SeededRandom } from "../eval/seeded_random.ts";
import { concat } from "../helpers/bytes.ts";

/** A seeded generator with the helpers the mutators use. */
export class Rng extends SeededRandom {
  /** The generator of input `index` of `kind` in the run seeded by `seed`. */
  static forInput(seed: number, kind: string, index: number): Rng {
    return new Rng(seed, `${kind}:${index}`);
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** A byte 0..255. */
  byte(): number {
    return Math.floor(this.next() * 256);
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.byte();
    return out;
  }

  /** A 32-bit unsigned integer. */
  u32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  /** An index 0..n-1 chosen with a weight per index. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) return i;
    }
    return weights.length - 1;
  }
}

/** Boundary values a length field of `width` bytes is most likely to mishandle. */
export function interesting(rng: Rng, width: number, current: number): number {
  const max = width >= 4 ? 0xffffffff : (2 ** (width * 8)) - 1;
  const cands = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    current - 1,
    current + 1,
    current * 2,
    max,
    max - 1,
    max >>> 1,
    (max >>> 1) + 1,
    0x80,
    0xff,
    0x100,
    0x3fff,
    0x4000,
    0x4001,
    0x7fff,
    0x8000,
    0xffff,
    0x10000,
    rng.int(0, max),
  ];
  const v = rng.pick(cands);
  return Math.max(0, Math.min(max, v)) >>> 0;
}

/** Writes `v` big-endian in `width` bytes at `off` (bytes past the end are dropped). */
export function putBE(b: Uint8Array, off: number, width: number, v: number): void {
  for (let i = width - 1; i >= 0; i--) {
    if (off + i < b.length && off + i >= 0) b[off + i] = v & 0xff;
    v = Math.floor(v / 256);
  }
}

/** Reads a big-endian unsigned integer of `width` bytes at `off` (0 past the end). */
export function getBE(b: Uint8Array, off: number, width: number): number {
  let v = 0;
  for (let i = 0; i < width; i++) v = v * 256 + (off + i < b.length ? b[off + i] : 0);
  return v;
}

/** Generic byte-level mutations of `b` (a new array); names appended to `log`. */
export function mutateBytes(rng: Rng, b: Uint8Array, log: string[], maxGrow = 4096): Uint8Array {
  let out: Uint8Array = b.slice();
  const n = rng.int(1, 3);
  for (let k = 0; k < n; k++) {
    const op = rng.int(0, 8);
    const at = out.length === 0 ? 0 : rng.int(0, out.length - 1);
    switch (op) {
      case 0: // bit flip
        if (out.length) out[at] ^= 1 << rng.int(0, 7), log.push(`bitflip@${at}`);
        break;
      case 1: // random byte
        if (out.length) out[at] = rng.byte(), log.push(`byte@${at}`);
        break;
      case 2: // interesting byte
        if (out.length) {
          out[at] = rng.pick([0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x20, 0x3a]);
          log.push(`ibyte@${at}`);
        }
        break;
      case 3: { // interesting u16
        const v = interesting(rng, 2, getBE(out, at, 2));
        putBE(out, at, 2, v);
        log.push(`u16@${at}=${v}`);
        break;
      }
      case 4: { // truncate
        const len = rng.int(0, out.length);
        out = out.slice(0, len);
        log.push(`truncate=${len}`);
        break;
      }
      case 5: { // insert random bytes
        const ins = rng.bytes(rng.int(1, Math.min(maxGrow, rng.pick([4, 16, 64, 512, maxGrow]))));
        out = concat(out.subarray(0, at), ins, out.subarray(at));
        log.push(`insert@${at}+${ins.length}`);
        break;
      }
      case 6: { // delete a range
        const len = rng.int(1, Math.max(1, Math.min(64, out.length - at)));
        out = concat(out.subarray(0, at), out.subarray(at + len));
        log.push(`delete@${at}-${len}`);
        break;
      }
      case 7: { // duplicate a range
        const len = rng.int(1, Math.max(1, Math.min(maxGrow, out.length - at)));
        out = concat(out.subarray(0, at + len), out.subarray(at, at + len), out.subarray(at + len));
        log.push(`dup@${at}-${len}`);
        break;
      }
      default: { // interesting u32
        const v = interesting(rng, 4, getBE(out, at, 4));
        putBE(out, at, 4, v);
        log.push(`u32@${at}=${v}`);
      }
    }
  }
  return out;
}
