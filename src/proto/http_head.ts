/**
 * Shared pieces of HTTP/1.x head parsing (request and status lines are parsed
 * by their callers): line splitting, header fields, reason constants.
 *
 * Lines may end in CRLF or a bare LF (as most servers accept); a bare CR,
 * control bytes, obsolete line folding, and space before the colon are
 * malformed (RFC 9112 §5).
 *
 * @module
 */

import { latin1 } from "./bytes.ts";

/** One header field as sent: name with its original case, value without surrounding blanks. */
export type HttpHeader = [name: string, value: string];

/** Default limit on the size of an HTTP head (request or status line + headers + blank line). */
export const HTTP_MAX_HEAD = 8192;

/** Reasons for a `"no"` result of the HTTP parsers. */
export const HttpReason = {
  /** The first bytes are not an HTTP/1.x request (or status) line. */
  NOT_HTTP: "not_http",
  /** A complete HTTP request whose method is not CONNECT (plain HTTP). */
  NOT_CONNECT: "not_connect",
  /** The version is not HTTP/1.x. */
  BAD_VERSION: "bad_version",
  /** The CONNECT target is not `host:port`. */
  BAD_TARGET: "bad_target",
  /** The status code is not three digits. */
  BAD_STATUS: "bad_status",
  /** A header line is malformed. */
  BAD_HEADER: "bad_header",
  /** Obsolete line folding in a header. */
  OBS_FOLD: "obs_fold",
  /** No blank line within the head size limit. */
  HEAD_TOO_LONG: "head_too_long",
} as const;

/** Sentinel returned by {@linkcode lineEnd} and {@linkcode parseHeaderBlock}: more bytes needed. */
export const HTTP_NEED = -1;
/** Sentinel returned by {@linkcode lineEnd} and {@linkcode parseHeaderBlock}: malformed. */
export const HTTP_BAD = -2;
/** Sentinel returned by {@linkcode parseHeaderBlock}: obsolete line folding. */
export const HTTP_FOLD = -3;

/** True for an RFC 9110 `tchar` (token character). */
function isTchar(c: number): boolean {
  if (c >= 0x30 && c <= 0x39) return true;
  if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) return true;
  // ! # $ % & ' * + - . ^ _ ` | ~
  return c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d ||
    c === 0x2e || c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e;
}

/**
 * Finds the end of the line starting at `pos` (before `end`). Returns the index
 * of its LF, {@linkcode HTTP_NEED} when no LF is there yet, or
 * {@linkcode HTTP_BAD} when a control byte (other than HTAB, or CR right before
 * the LF) occurs first.
 */
export function lineEnd(buf: Uint8Array, pos: number, end: number): number {
  for (let i = pos; i < end; i++) {
    const c = buf[i];
    if (c === 0x0a) return i;
    if (c === 0x0d) {
      if (i + 1 < end && buf[i + 1] !== 0x0a) return HTTP_BAD;
    } else if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
      return HTTP_BAD;
    }
  }
  return HTTP_NEED;
}

/** End of the line's content: `lf`, minus one when the line ends in CRLF. */
export function contentEnd(buf: Uint8Array, start: number, lf: number): number {
  return lf > start && buf[lf - 1] === 0x0d ? lf - 1 : lf;
}

/**
 * Parses header lines from `pos` through the blank line, appending them to
 * `headers`. Returns the index just after the blank line, or
 * {@linkcode HTTP_NEED}, {@linkcode HTTP_BAD}, {@linkcode HTTP_FOLD}.
 */
export function parseHeaderBlock(
  buf: Uint8Array,
  pos: number,
  end: number,
  headers: HttpHeader[],
): number {
  let p = pos;
  for (;;) {
    const lf = lineEnd(buf, p, end);
    if (lf < 0) {
      if (lf === HTTP_BAD) return HTTP_BAD;
      return checkPartialHeader(buf, p, end);
    }
    const ce = contentEnd(buf, p, lf);
    if (ce === p) return lf + 1;
    const c0 = buf[p];
    if (c0 === 0x20 || c0 === 0x09) return HTTP_FOLD;
    let colon = p;
    while (colon < ce && isTchar(buf[colon])) colon++;
    if (colon === p || colon === ce || buf[colon] !== 0x3a) return HTTP_BAD;
    let vs = colon + 1;
    let ve = ce;
    while (vs < ve && (buf[vs] === 0x20 || buf[vs] === 0x09)) vs++;
    while (ve > vs && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
    headers.push([latin1(buf, p, colon), latin1(buf, vs, ve)]);
    p = lf + 1;
  }
}

/** A header line still arriving: reject it early when its name part is already malformed. */
function checkPartialHeader(buf: Uint8Array, p: number, end: number): number {
  if (p < end && (buf[p] === 0x20 || buf[p] === 0x09)) return HTTP_FOLD;
  for (let i = p; i < end; i++) {
    const c = buf[i];
    if (c === 0x3a) return i === p ? HTTP_BAD : HTTP_NEED;
    if (c === 0x0d) return i === p ? HTTP_NEED : HTTP_BAD;
    if (!isTchar(c)) return HTTP_BAD;
  }
  return HTTP_NEED;
}

/**
 * Checks `HTTP/1.<digit>` at `[start, end)`, accepting a shorter valid prefix
 * when `partial`. Returns 1 valid, 0 valid prefix (partial only), -1 invalid.
 */
export function checkHttpVersion(
  buf: Uint8Array,
  start: number,
  end: number,
  partial: boolean,
): number {
  const n = end - start;
  const want = "HTTP/1.";
  const m = n < 7 ? n : 7;
  for (let i = 0; i < m; i++) if (buf[start + i] !== want.charCodeAt(i)) return -1;
  if (n < 8) return partial ? 0 : -1;
  const d = buf[start + 7];
  if (d < 0x30 || d > 0x39 || n !== 8) return -1;
  return 1;
}
