/**
 * A small deterministic pseudo-random generator (mulberry32) for the evasion
 * rewriters: the same seed and name always give the same capture.
 *
 * @module
 */

/** FNV-1a hash of a string (32 bits), used to derive per-use seeds. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Seeded generator of uniform numbers, integers, shuffles and bytes. */
export class SeededRandom {
  #state: number;

  /** A generator seeded by `seed` and, optionally, a name mixed into it. */
  constructor(seed: number, name = "") {
    this.#state = (hashString(`${seed}:${name}`) ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}
