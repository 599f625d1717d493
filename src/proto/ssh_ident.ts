/**
 * SSH identification string (RFC 4253 §4.2):
 * `SSH-protoversion-softwareversion SP comments CR LF`, at most 255 bytes
 * with CR LF. A server may send other lines before it; a client may not.
 *
 * @module
 */

import { asciiPrefixMatches, indexOfByte, latin1 } from "./bytes.ts";
import type { ParseStatus } from "./parse_status.ts";

/** Longest identification line, CR LF included (RFC 4253 §4.2). */
export const SSH_MAX_IDENT = 255;
/** Most bytes of lines accepted before the identification line (server side). */
export const SSH_MAX_PREFACE = 8192;

/** Reasons for a `"no"` result of the SSH parsers, and for a failed scanner direction. */
export const SshReason = {
  /** The stream does not start like SSH. */
  NOT_SSH: "not_ssh",
  /** Identification line longer than 255 bytes. */
  IDENT_TOO_LONG: "ident_too_long",
  /** Identification line not `SSH-x.y-software[ comments]` in printable ASCII. */
  BAD_IDENT: "bad_ident",
  /** Too many bytes of lines before the identification line. */
  PREFACE_TOO_LONG: "preface_too_long",
  /** packet_length out of range or not a multiple of the block size. */
  BAD_PACKET_LENGTH: "bad_packet_length",
  /** padding_length below 4 or leaving no payload. */
  BAD_PADDING: "bad_padding",
  /** KEXINIT payload malformed. */
  BAD_KEXINIT: "bad_kexinit",
  /** A message of another type than the parser expects. */
  WRONG_TYPE: "wrong_type",
} as const;

/** Result of {@linkcode parseSshIdent}. */
export interface SshIdent {
  /** `"ok"` once the identification line is complete. */
  status: ParseStatus;
  /** For `"no"`: a {@linkcode SshReason} value; `""` otherwise. */
  reason: string;
  /** Bytes through the identification line's LF, preface lines included. */
  consumed: number;
  /** Offset of `SSH-` from the region start (bytes of preface lines). */
  identOffset: number;
  /** Lines before the identification line. */
  prefaceLines: number;
  /** The identification line without CR LF. */
  line: string;
  /** Protocol version: `"2.0"` (or `"1.99"` for servers that also speak SSH-1). */
  protoVersion: string;
  /** Software version, e.g. `"OpenSSH_9.2p1"`. */
  software: string;
  /** Comments after the first space, e.g. `"Debian-2+deb12u3"`; `""` when none. */
  comments: string;
}

function ident(status: ParseStatus, reason: string): SshIdent {
  return {
    status,
    reason,
    consumed: 0,
    identOffset: 0,
    prefaceLines: 0,
    line: "",
    protoVersion: "",
    software: "",
    comments: "",
  };
}

/** Bytes allowed in a preface line: text, tabs, CR; not NUL or other controls. */
function prefaceByte(c: number): boolean {
  return c >= 0x20 || c === 0x09 || c === 0x0d;
}

/**
 * Parses the SSH identification line at the start of a stream. With
 * `allowPreface` (server side) lines not starting with `SSH-` may come first.
 */
export function parseSshIdent(
  buf: Uint8Array,
  off: number,
  len: number,
  allowPreface = true,
): SshIdent {
  const end = off + len;
  let p = off;
  let lines = 0;
  for (;;) {
    const avail = end - p;
    if (!asciiPrefixMatches(buf, p, avail, "SSH-")) {
      if (!allowPreface) return ident("no", SshReason.NOT_SSH);
      const stop = off + SSH_MAX_PREFACE < end ? off + SSH_MAX_PREFACE : end;
      let i = p;
      while (i < stop && buf[i] !== 0x0a) {
        if (!prefaceByte(buf[i])) return ident("no", SshReason.NOT_SSH);
        i++;
      }
      if (i === stop) {
        return stop < end || stop - off >= SSH_MAX_PREFACE
          ? ident("no", SshReason.PREFACE_TOO_LONG)
          : ident("need", "");
      }
      p = i + 1;
      lines++;
      continue;
    }
    if (avail < 4) return ident("need", "");
    const limit = p + SSH_MAX_IDENT < end ? p + SSH_MAX_IDENT : end;
    const lf = indexOfByte(buf, 0x0a, p, limit);
    const ce = lf < 0 ? limit : lf > p && buf[lf - 1] === 0x0d ? lf - 1 : lf;
    for (let i = p; i < ce; i++) {
      const c = buf[i];
      if (c < 0x20 || c > 0x7e) {
        if (lf < 0 && c === 0x0d && i === ce - 1) break;
        return ident("no", SshReason.BAD_IDENT);
      }
    }
    if (lf < 0) {
      return limit - p >= SSH_MAX_IDENT ? ident("no", SshReason.IDENT_TOO_LONG) : ident("need", "");
    }
    const line = latin1(buf, p, ce);
    const dash = line.indexOf("-", 4);
    if (dash < 0) return ident("no", SshReason.BAD_IDENT);
    const proto = line.slice(4, dash);
    if (!/^[0-9]+\.[0-9]+$/.test(proto)) return ident("no", SshReason.BAD_IDENT);
    const rest = line.slice(dash + 1);
    const sp = rest.indexOf(" ");
    const software = sp < 0 ? rest : rest.slice(0, sp);
    if (software.length === 0) return ident("no", SshReason.BAD_IDENT);
    const r = ident("ok", "");
    r.consumed = lf + 1 - off;
    r.identOffset = p - off;
    r.prefaceLines = lines;
    r.line = line;
    r.protoVersion = proto;
    r.software = software;
    r.comments = sp < 0 ? "" : rest.slice(sp + 1);
    return r;
  }
}
