/**
 * Exact conversion of pcapng 64-bit timestamps (ticks of an interface's
 * `if_tsresol` unit, split in high and low 32-bit words) into whole seconds
 * plus nanoseconds, without BigInt on the per-packet path.
 *
 * - Decimal units 10^-k with k <= 9 (the usual µs and ns): the seconds are
 *   estimated with one floating-point division, which is off by at most one;
 *   the exact remainder is then recovered modulo 2^32 with `Math.imul` (it is
 *   small, so its low 32 bits are the whole of it) and the estimate corrected.
 * - Binary units 2^-k with k <= 32: shifts and exact power-of-two scaling.
 * - Anything finer (10^-12, 2^-40, ...), or absurdly far timestamps: BigInt.
 *
 * Writers use the inverse, {@linkcode TickConverter.toTicks}.
 *
 * Every `if_tsresol` byte is accepted (10^-0 and 10^-1 included: whole
 * seconds and deciseconds are legal units); what is checked is the time
 * itself. A packet time must lie in 0000-01-01T00:00:00Z through
 * 9999-12-31T23:59:59.999999999Z ({@linkcode MIN_PACKET_SEC} ..
 * {@linkcode MAX_PACKET_SEC} whole seconds), the years that ISO 8601 and
 * RFC 5424 timestamps write with four digits; the reader refuses any other
 * (a huge `if_tsoffset` or tick count) as damage at the packet block's offset.
 *
 * @module
 */

import type { RawPacket } from "./raw_packet.ts";

const TWO_32 = 4294967296;
const TWO_51 = 2251799813685248;

/** Whole seconds of 0000-01-01T00:00:00Z, the earliest packet time accepted. */
export const MIN_PACKET_SEC = -62167219200;
/** Whole seconds of 9999-12-31T23:59:59Z, the last second of the latest packet time accepted. */
export const MAX_PACKET_SEC = 253402300799;

/**
 * Why the packet time `sec` (whole seconds since the epoch) cannot be
 * written, or "" when it is in range.
 */
export function packetTimeProblem(sec: number): string {
  if (sec >= MIN_PACKET_SEC && sec <= MAX_PACKET_SEC) return "";
  return `packet time ${sec} s from 1970 is outside 0000-01-01..9999-12-31`;
}

const MODE_DECIMAL = 0;
const MODE_BINARY = 1;
const MODE_BIGINT = 2;

/** Converts one interface's timestamp ticks into seconds and nanoseconds. */
export class TickConverter {
  /** The `if_tsresol` byte this converter implements. */
  readonly tsresol: number;
  /** Seconds added to every timestamp (`if_tsoffset`). */
  readonly offsetSec: number;
  /** Ticks per second, exactly. */
  readonly ticksPerSecond: bigint;
  /** High word of the last {@linkcode TickConverter.toTicks} result. */
  ticksHi = 0;
  /** Low word of the last {@linkcode TickConverter.toTicks} result. */
  ticksLo = 0;
  #mode: number;
  /** Decimal: ticks per second. Binary: 2^k. */
  #div: number;
  /** Decimal: nanoseconds per tick. Binary: nanoseconds per tick (exact, may be fractional). */
  #nsMul: number;
  /** Binary: 2^(32 - k), the weight of the high word in seconds. */
  #hiMul: number;

  /**
   * Creates the converter for an `if_tsresol` option byte (default 6, i.e.
   * microseconds; high bit set: 2^-(low 7 bits), else 10^-value) and an
   * `if_tsoffset` in seconds.
   */
  constructor(tsresol = 6, offsetSec = 0) {
    this.tsresol = tsresol;
    this.offsetSec = offsetSec;
    const k = tsresol & 0x7f;
    const binary = (tsresol & 0x80) !== 0;
    this.ticksPerSecond = binary ? 1n << BigInt(k) : 10n ** BigInt(k);
    this.#div = 1;
    this.#nsMul = 0;
    this.#hiMul = 0;
    if (!binary && k <= 9) {
      this.#mode = MODE_DECIMAL;
      this.#div = 10 ** k;
      this.#nsMul = 10 ** (9 - k);
    } else if (binary && k <= 32) {
      this.#mode = MODE_BINARY;
      this.#div = 2 ** k;
      this.#nsMul = 1953125 * 2 ** (9 - k); // 1e9 / 2^k, exactly representable
      this.#hiMul = 2 ** (32 - k);
    } else {
      this.#mode = MODE_BIGINT;
    }
  }

  /** Sets `pkt.tsSec` / `pkt.tsNsec` from the timestamp words `hi` and `lo`. */
  convert(hi: number, lo: number, pkt: RawPacket): void {
    if (this.#mode === MODE_DECIMAL) {
      const d = this.#div;
      let s = Math.floor((hi * TWO_32 + lo) / d);
      if (s < TWO_51) {
        // True remainder lies in [-d, 2d) and d <= 1e9, so it fits in an int32.
        let r = (lo - Math.imul(s, d)) | 0;
        if (r < 0) {
          s--;
          r += d;
        } else if (r >= d) {
          s++;
          r -= d;
        }
        pkt.tsSec = s + this.offsetSec;
        pkt.tsNsec = r * this.#nsMul;
        return;
      }
    } else if (this.#mode === MODE_BINARY) {
      const d = this.#div;
      const q = Math.floor(lo / d);
      pkt.tsSec = hi * this.#hiMul + q + this.offsetSec;
      pkt.tsNsec = Math.floor((lo - q * d) * this.#nsMul);
      return;
    }
    this.#convertBig(hi, lo, pkt);
  }

  /**
   * The inverse, for writers: sets {@linkcode TickConverter.ticksHi} and
   * {@linkcode TickConverter.ticksLo} to the timestamp `sec` + `nsec`
   * nanoseconds in ticks (sub-tick remainders are truncated; the offset is
   * subtracted). Exact whenever the tick count fits in 64 bits.
   */
  toTicks(sec: number, nsec: number): void {
    sec -= this.offsetSec;
    if (sec >= 0 && sec < 2 ** 36) {
      if (this.#mode === MODE_DECIMAL) {
        const d = this.#div;
        const frac = Math.floor(nsec / this.#nsMul);
        // sec * d + frac, split so that every intermediate stays below 2^53.
        const s1 = Math.floor(sec / 65536);
        const u = s1 * d;
        const uh = Math.floor(u / 65536);
        const w = (u - uh * 65536) * 65536 + (sec - s1 * 65536) * d + frac;
        const carry = Math.floor(w / TWO_32);
        this.ticksHi = uh + carry;
        this.ticksLo = w - carry * TWO_32;
        return;
      }
      if (this.#mode === MODE_BINARY) {
        const d = this.#div;
        const x = nsec * d; // < 2^62, a power-of-two scaling: exact
        let frac = Math.floor(x / 1e9);
        if (frac * 1e9 > x) frac--;
        else if ((frac + 1) * 1e9 <= x) frac++;
        const hi = Math.floor(sec / this.#hiMul);
        this.ticksHi = hi;
        this.ticksLo = (sec - hi * this.#hiMul) * d + frac;
        return;
      }
    }
    const tps = this.ticksPerSecond;
    const ticks = BigInt(sec) * tps + BigInt(nsec) * tps / 1000000000n;
    this.ticksHi = Number((ticks >> 32n) & 0xffffffffn);
    this.ticksLo = Number(ticks & 0xffffffffn);
  }

  #convertBig(hi: number, lo: number, pkt: RawPacket): void {
    const ticks = (BigInt(hi) << 32n) | BigInt(lo);
    const tps = this.ticksPerSecond;
    pkt.tsSec = Number(ticks / tps) + this.offsetSec;
    pkt.tsNsec = Number((ticks % tps) * 1000000000n / tps);
  }
}
