/**
 * Big-endian readers and small text helpers over byte regions. None of them
 * checks bounds: callers check lengths first.
 *
 * @module
 */

/** Reads a big-endian u16 at `off`. */
export function readU16(buf: Uint8Array, off: number): number {
  return (buf[off] << 8) | buf[off + 1];
}

/** Reads a big-endian u24 at `off`. */
export function readU24(buf: Uint8Array, off: number): number {
  return (buf[off] << 16) | (buf[off + 1] << 8) | buf[off + 2];
}

/** Reads a big-endian u32 at `off` (as a non-negative number). */
export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

/**
 * Decodes bytes `[start, end)` one character per byte (ISO-8859-1), so every
 * byte value survives as `charCodeAt`. Meant for short protocol fields.
 */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}

/** Index of the first `byte` in `[start, end)`, or -1. */
export function indexOfByte(buf: Uint8Array, byte: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (buf[i] === byte) return i;
  return -1;
}

/** Lower-case 4-digit hex of a u16 (`0x1301` → `"1301"`). */
export function hex4(v: number): string {
  return v.toString(16).padStart(4, "0");
}

/**
 * True when bytes `[off, off + n)` equal the ASCII string `s` for the first
 * `n` characters; lets a parser reject a prefix before the whole token arrived.
 */
export function asciiPrefixMatches(buf: Uint8Array, off: number, n: number, s: string): boolean {
  const m = n < s.length ? n : s.length;
  for (let i = 0; i < m; i++) if (buf[off + i] !== s.charCodeAt(i)) return false;
  return true;
}
