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
