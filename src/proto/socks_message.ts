/**
 * SOCKS messages, one parser each: SOCKS4/4a request and reply, SOCKS5
 * greeting, method selection, RFC 1929 username/password sub-negotiation,
 * request and reply (RFC 1928). All integers are big-endian.
 *
 * @module
 */

import { latin1, readU16, utf8Escaped } from "./bytes.ts";
import type { ParseStatus } from "./parse_status.ts";

/** Reasons for a `"no"` result of the SOCKS parsers and {@linkcode SocksHandshake}. */
export const SocksReason = {
  /** Wrong version byte for this message. */
  BAD_VERSION: "bad_version",
  /** Unknown command. */
  BAD_COMMAND: "bad_command",
  /** A SOCKS5 greeting with no methods. */
  NO_METHODS: "no_methods",
  /** SOCKS5 reserved byte not zero. */
  BAD_RESERVED: "bad_reserved",
  /** Unknown SOCKS5 address type. */
  BAD_ATYP: "bad_atyp",
  /** Empty or oversized name (user id, host name, user name). */
  BAD_NAME: "bad_name",
  /** Reply code not defined by the protocol. */
  BAD_CODE: "bad_code",
  /** The first client byte is neither 4 nor 5. */
  NOT_SOCKS: "not_socks",
  /** The server chose a method the client did not offer. */
  METHOD_NOT_OFFERED: "method_not_offered",
  /** The server chose an authentication method this parser cannot follow (GSSAPI, private). */
  UNSUPPORTED_METHOD: "unsupported_method",
} as const;

/** SOCKS4 reply code: request granted. */
const SOCKS4_GRANTED = 0x5a;
/** SOCKS5 method: no authentication. */
export const SOCKS5_NO_AUTH = 0x00;
/** SOCKS5 method: username/password (RFC 1929). */
export const SOCKS5_USER_PASS = 0x02;
/** SOCKS5 method selection: no acceptable method. */
export const SOCKS5_NO_ACCEPTABLE = 0xff;

/** Longest SOCKS4 user id or SOCKS4a host name accepted (NUL-terminated strings). */
const MAX_SOCKS4_STRING = 255;

/** Fields every SOCKS parse result has. */
export interface SocksParse {
  /** Parse outcome. */
  status: ParseStatus;
  /** For `"no"`: a {@linkcode SocksReason} value; `""` otherwise. */
  reason: string;
  /** Bytes of the message (`"ok"` only). */
  consumed: number;
}

/** SOCKS4 or SOCKS4a request: `04 cmd port(2) ip(4) userid 00 [host 00]`. */
interface Socks4Request extends SocksParse {
  /** 1 CONNECT, 2 BIND. */
  command: number;
  /** Destination port. */
  port: number;
  /** Destination address as sent (dotted quad; `0.0.0.x` for SOCKS4a). */
  ip: string;
  /** User id (may be empty). */
  userId: string;
  /** SOCKS4a: the host name after the user id (UTF-8, see `utf8Escaped`); `""` for plain SOCKS4. */
  hostName: string;
  /** True for the SOCKS4a form (address 0.0.0.x, x ≠ 0). */
  socks4a: boolean;
}

/** SOCKS4 reply: `00 code port(2) ip(4)`. */
interface Socks4Reply extends SocksParse {
  /** 0x5A granted, 0x5B rejected, 0x5C/0x5D identd failures. */
  code: number;
  /** True for 0x5A. */
  granted: boolean;
}

/** SOCKS5 greeting: `05 n methods…`. */
interface Socks5Greeting extends SocksParse {
  /** Offered methods in order (SoftEther: `[0, 2]`; curl: `[0, 1]`). */
  methods: number[];
}

/** SOCKS5 method selection: `05 method`. */
interface Socks5MethodReply extends SocksParse {
  /** Chosen method; 0xFF when none is acceptable. */
  method: number;
}

/** RFC 1929 request: `01 ulen user plen pass`. The password itself is not kept. */
interface Socks5UserPassRequest extends SocksParse {
  /** User name. */
  username: string;
  /** Password length in bytes. */
  passwordLength: number;
}

/** RFC 1929 reply: `01 status`. */
interface Socks5UserPassReply extends SocksParse {
  /** 0 success, anything else failure. */
  code: number;
  /** True for 0. */
  success: boolean;
}

/** SOCKS5 request `05 cmd 00 atyp addr port` or reply `05 rep 00 atyp addr port`. */
interface Socks5Address extends SocksParse {
  /** Request: 1 CONNECT, 2 BIND, 3 UDP ASSOCIATE. Reply: REP code (0 success). */
  code: number;
  /** 1 IPv4, 3 domain name, 4 IPv6. */
  atyp: number;
  /** Address in text form (domain name as UTF-8, see `utf8Escaped`; IPv4 dotted quad; IPv6 RFC 5952). */
  host: string;
  /** Port. */
  port: number;
}

function base(status: ParseStatus, reason: string, consumed: number): SocksParse {
  return { status, reason, consumed };
}

function ipv4(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

function ipv6(buf: Uint8Array, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(readU16(buf, off + 2 * i));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number, b: number) => g.slice(a, b).map((x) => x.toString(16)).join(":");
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

/** Finds the NUL ending a string at `start`; -1 need, -2 too long. */
function nulEnd(buf: Uint8Array, start: number, end: number): number {
  const stop = start + MAX_SOCKS4_STRING + 1 < end ? start + MAX_SOCKS4_STRING + 1 : end;
  for (let i = start; i < stop; i++) if (buf[i] === 0) return i;
  return stop === end ? -1 : -2;
}

/** Parses a SOCKS4 or SOCKS4a request at the start of a client stream. */
export function parseSocks4Request(buf: Uint8Array, off: number, len: number): Socks4Request {
  const r: Socks4Request = {
    ...base("need", "", 0),
    command: 0,
    port: 0,
    ip: "",
    userId: "",
    hostName: "",
    socks4a: false,
  };
  const end = off + len;
  if (len >= 1 && buf[off] !== 4) return fail(r, SocksReason.BAD_VERSION);
  if (len >= 2 && buf[off + 1] !== 1 && buf[off + 1] !== 2) return fail(r, SocksReason.BAD_COMMAND);
  if (len < 9) return r;
  const u = nulEnd(buf, off + 8, end);
  if (u === -2) return fail(r, SocksReason.BAD_NAME);
  const a = buf[off + 4] === 0 && buf[off + 5] === 0 && buf[off + 6] === 0 && buf[off + 7] !== 0;
  let stop = u;
  if (u >= 0 && a) {
    stop = nulEnd(buf, u + 1, end);
    if (stop === -2 || stop === u + 1) return fail(r, SocksReason.BAD_NAME);
  }
  if (stop < 0) return r;
  r.status = "ok";
  r.consumed = stop + 1 - off;
  r.command = buf[off + 1];
  r.port = readU16(buf, off + 2);
  r.ip = ipv4(buf, off + 4);
  r.userId = latin1(buf, off + 8, u);
  r.socks4a = a;
  if (a) r.hostName = utf8Escaped(buf, u + 1, stop);
  return r;
}

/**
 * Parses a SOCKS4 reply (8 bytes). The version byte must be 0; some servers
 * send 4, which is accepted too.
 */
export function parseSocks4Reply(buf: Uint8Array, off: number, len: number): Socks4Reply {
  const r: Socks4Reply = { ...base("need", "", 0), code: 0, granted: false };
  if (len >= 1 && buf[off] !== 0 && buf[off] !== 4) return fail(r, SocksReason.BAD_VERSION);
  if (len >= 2 && (buf[off + 1] < 0x5a || buf[off + 1] > 0x5d)) {
    return fail(r, SocksReason.BAD_CODE);
  }
  if (len < 8) return r;
  r.status = "ok";
  r.consumed = 8;
  r.code = buf[off + 1];
  r.granted = r.code === SOCKS4_GRANTED;
  return r;
}

/** Parses a SOCKS5 greeting (`05 n methods…`) at the start of a client stream. */
export function parseSocks5Greeting(buf: Uint8Array, off: number, len: number): Socks5Greeting {
  const r: Socks5Greeting = { ...base("need", "", 0), methods: [] };
  if (len >= 1 && buf[off] !== 5) return fail(r, SocksReason.BAD_VERSION);
  if (len >= 2 && buf[off + 1] === 0) return fail(r, SocksReason.NO_METHODS);
  if (len < 2 || len < 2 + buf[off + 1]) return r;
  const n = buf[off + 1];
  for (let i = 0; i < n; i++) r.methods.push(buf[off + 2 + i]);
  r.status = "ok";
  r.consumed = 2 + n;
  return r;
}

/** Parses the SOCKS5 method selection reply (`05 method`). */
export function parseSocks5MethodReply(
  buf: Uint8Array,
  off: number,
  len: number,
): Socks5MethodReply {
  const r: Socks5MethodReply = { ...base("need", "", 0), method: 0 };
  if (len >= 1 && buf[off] !== 5) return fail(r, SocksReason.BAD_VERSION);
  if (len < 2) return r;
  r.status = "ok";
  r.consumed = 2;
  r.method = buf[off + 1];
  return r;
}

/** Parses an RFC 1929 username/password request; keeps the user name, not the password. */
export function parseSocks5UserPassRequest(
  buf: Uint8Array,
  off: number,
  len: number,
): Socks5UserPassRequest {
  const r: Socks5UserPassRequest = { ...base("need", "", 0), username: "", passwordLength: 0 };
  if (len >= 1 && buf[off] !== 1) return fail(r, SocksReason.BAD_VERSION);
  if (len >= 2 && buf[off + 1] === 0) return fail(r, SocksReason.BAD_NAME);
  if (len < 2) return r;
  const ulen = buf[off + 1];
  if (len < 3 + ulen) return r;
  const plen = buf[off + 2 + ulen];
  if (len < 3 + ulen + plen) return r;
  r.status = "ok";
  r.consumed = 3 + ulen + plen;
  r.username = latin1(buf, off + 2, off + 2 + ulen);
  r.passwordLength = plen;
  return r;
}

/**
 * Parses an RFC 1929 reply (`01 status`). Version 5 is accepted too: some
 * servers answer with the SOCKS version there.
 */
export function parseSocks5UserPassReply(
  buf: Uint8Array,
  off: number,
  len: number,
): Socks5UserPassReply {
  const r: Socks5UserPassReply = { ...base("need", "", 0), code: 0, success: false };
  if (len >= 1 && buf[off] !== 1 && buf[off] !== 5) return fail(r, SocksReason.BAD_VERSION);
  if (len < 2) return r;
  r.status = "ok";
  r.consumed = 2;
  r.code = buf[off + 1];
  r.success = r.code === 0;
  return r;
}

/** Shared body of the SOCKS5 request and reply parsers. */
function parseSocks5Address(
  buf: Uint8Array,
  off: number,
  len: number,
  isReply: boolean,
): Socks5Address {
  const r: Socks5Address = { ...base("need", "", 0), code: 0, atyp: 0, host: "", port: 0 };
  if (len >= 1 && buf[off] !== 5) return fail(r, SocksReason.BAD_VERSION);
  if (len >= 2) {
    const c = buf[off + 1];
    if (isReply && c > 8) return fail(r, SocksReason.BAD_CODE);
    if (!isReply && (c === 0 || c > 3)) return fail(r, SocksReason.BAD_COMMAND);
  }
  if (len >= 3 && buf[off + 2] !== 0) return fail(r, SocksReason.BAD_RESERVED);
  if (len < 4) return r;
  const atyp = buf[off + 3];
  let addrLen: number;
  let addrOff = off + 4;
  if (atyp === 1) addrLen = 4;
  else if (atyp === 4) addrLen = 16;
  else if (atyp === 3) {
    if (len < 5) return r;
    addrLen = buf[off + 4];
    if (addrLen === 0) return fail(r, SocksReason.BAD_NAME);
    addrOff++;
  } else return fail(r, SocksReason.BAD_ATYP);
  const total = addrOff - off + addrLen + 2;
  if (len < total) return r;
  r.status = "ok";
  r.consumed = total;
  r.code = buf[off + 1];
  r.atyp = atyp;
  r.host = atyp === 1
    ? ipv4(buf, addrOff)
    : atyp === 4
    ? ipv6(buf, addrOff)
    : utf8Escaped(buf, addrOff, addrOff + addrLen);
  r.port = readU16(buf, addrOff + addrLen);
  return r;
}

/** Parses a SOCKS5 request (`05 cmd 00 atyp addr port`, ATYP 1/3/4). */
export function parseSocks5Request(buf: Uint8Array, off: number, len: number): Socks5Address {
  return parseSocks5Address(buf, off, len, false);
}

/** Parses a SOCKS5 reply (`05 rep 00 atyp addr port`; REP 0 success, 1–8 failures). */
export function parseSocks5Reply(buf: Uint8Array, off: number, len: number): Socks5Address {
  return parseSocks5Address(buf, off, len, true);
}

function fail<T extends SocksParse>(r: T, reason: string): T {
  r.status = "no";
  r.reason = reason;
  return r;
}
