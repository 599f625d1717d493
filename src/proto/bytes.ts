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

/**
 * Decodes bytes `[start, end)` as UTF-8 (a host name off the wire). Every
 * byte that is not part of a well-formed sequence (stray continuation,
 * overlong form, surrogate, beyond U+10FFFF, cut short) becomes the lone
 * surrogate U+DC00 + byte (U+DC80..U+DCFF, PEP 383's "surrogateescape"), which
 * no valid UTF-8 decodes to: the output sinks write each one as U+FFFD and
 * flag the field as invalid UTF-8.
 */
export function utf8Escaped(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  let i = start;
  while (i < end) {
    const b = buf[i];
    let n = 0;
    let cp = 0;
    let min = 0;
    if (b < 0x80) {
      s += String.fromCharCode(b);
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [n, cp, min] = [1, b & 0x1f, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [n, cp, min] = [2, b & 0x0f, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [n, cp, min] = [3, b & 0x07, 0x10000];
    let k = 1;
    while (n > 0 && k <= n && i + k < end && (buf[i + k] & 0xc0) === 0x80) {
      cp = (cp << 6) | (buf[i + k] & 0x3f);
      k++;
    }
    if (n > 0 && k === n + 1 && cp >= min && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff)) {
      s += String.fromCodePoint(cp);
      i += k;
    } else {
      s += String.fromCharCode(0xdc00 + b);
      i++;
    }
  }
  return s;
}

/** Index of the first `byte` in `[start, end)`, or -1. */
export function indexOfByte(buf: Uint8Array, byte: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (buf[i] === byte) return i;
  return -1;
}
