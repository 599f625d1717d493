/**
 * An HTTP/1.x request line and single header fields located in place,
 * without allocating (the head parsers of `http_head.ts` build strings):
 * for a per-packet look at the first client segment of a TCP connection.
 * Only the bytes at hand are read; a header line cut by the end of the
 * segment is not seen.
 *
 * @module
 */

import { checkHttpVersion, contentEnd, lineEnd } from "./http_head.ts";

/** Longest method token accepted. */
const MAX_METHOD = 16;

function isUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

function lower(c: number): number {
  return isUpper(c) ? c | 0x20 : c;
}

/**
 * Parses the request line at `buf[off .. end)`: `METHOD SP target SP
 * HTTP/1.x` (method in upper-case letters, as every client sends it).
 * On success writes method start/end and target start/end to `out[0..3]`
 * and returns the offset of the first header line; −1 otherwise (not a
 * request line, or not complete within the bytes).
 */
export function parseRequestLine(
  buf: Uint8Array,
  off: number,
  end: number,
  out: Int32Array,
): number {
  const e = Math.min(end, buf.length);
  let p = off;
  while (p < e && p - off < MAX_METHOD && isUpper(buf[p])) p++;
  if (p === off || p >= e || buf[p] !== 0x20) return -1;
  const lf = lineEnd(buf, off, e);
  if (lf < 0) return -1;
  const ce = contentEnd(buf, off, lf);
  const ts = p + 1;
  let te = ts;
  while (te < ce && buf[te] !== 0x20) te++;
  if (te === ts || te >= ce) return -1;
  if (checkHttpVersion(buf, te + 1, ce, false) !== 1) return -1;
  out[0] = off;
  out[1] = p;
  out[2] = ts;
  out[3] = te;
  return lf + 1;
}

/**
 * Finds the header field `name` (lower-case ASCII; names compare
 * case-insensitively) among the complete header lines from `from` up to
 * the blank line or `end`. On success writes the value's start and end
 * (surrounding blanks trimmed) to `out[0]`, `out[1]` and returns true.
 */
export function findHeader(
  buf: Uint8Array,
  from: number,
  end: number,
  name: Uint8Array,
  out: Int32Array,
): boolean {
  const e = Math.min(end, buf.length);
  let p = from;
  while (p < e) {
    const lf = lineEnd(buf, p, e);
    if (lf < 0) return false;
    const ce = contentEnd(buf, p, lf);
    if (ce === p) return false; // blank line: end of the head
    if (ce - p > name.length && buf[p + name.length] === 0x3a) {
      let k = 0;
      while (k < name.length && lower(buf[p + k]) === name[k]) k++;
      if (k === name.length) {
        let vs = p + k + 1, ve = ce;
        while (vs < ve && (buf[vs] === 0x20 || buf[vs] === 0x09)) vs++;
        while (ve > vs && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
        out[0] = vs;
        out[1] = ve;
        return true;
      }
    }
    p = lf + 1;
  }
  return false;
}
