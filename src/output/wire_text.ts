/**
 * Strings that came off the wire (a CONNECT or SOCKS target host), made safe
 * for every sink. The parsers decode host names as UTF-8 and keep each byte
 * that is not valid UTF-8 as a lone surrogate (`utf8Escaped` in
 * src/proto/bytes.ts); here every lone surrogate becomes U+FFFD and the
 * field is reported as invalid UTF-8. Control characters are the sinks'
 * business: JSON escapes them ({@linkcode escapeJsonLine}), syslog replaces
 * them.
 *
 * @module
 */

/** A wire string as written: lone surrogates replaced by U+FFFD, and whether there were any. */
export function wireText(s: string): { text: string; invalidUtf8: boolean } {
  return s.isWellFormed() ? { text: s, invalidUtf8: false } : {
    text: s.toWellFormed(),
    invalidUtf8: true,
  };
}

/**
 * C0 controls, DEL, C1 controls and U+2028 / U+2029: what could end, split
 * or forge a line for some reader.
 */
// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Makes the output of `JSON.stringify` safe for line readers: DEL, C1
 * controls (NEL, 8-bit CSI) and U+2028 / U+2029, which JSON allows raw, are
 * written as `\uXXXX` (C0 controls already are). Only string contents can
 * hold them, so the result is the same JSON value.
 */
export function escapeJsonLine(json: string): string {
  return json.replace(UNSAFE, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/**
 * A wire string for a text sink (syslog): lone surrogates become U+FFFD and
 * every C0 / DEL / C1 control and U+2028 / U+2029 becomes "?".
 */
export function replaceControls(s: string): string {
  return s.toWellFormed().replace(UNSAFE, "?");
}
