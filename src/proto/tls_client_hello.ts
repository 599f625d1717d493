/**
 * TLS ClientHello parsing (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) into the
 * fields the detectors use. The message comes from a `TlsRecordScanner`
 * capture (`tls_record.ts`), record headers stripped.
 *
 * @module
 */

import { latin1, readU16, readU24 } from "./bytes.ts";
import { isIpLiteral } from "./ip_literal.ts";
import type { ParseStatus } from "./parse_status.ts";
import { TLS_MAX_CAPTURE } from "./tls_record.ts";
import { isGrease, TlsExtension, TlsHandshakeType } from "./tls_registry.ts";

/** Reasons for a `"no"` result of {@linkcode parseClientHello}. */
const HelloReason = {
  /** Not a handshake message of the expected type. */
  WRONG_TYPE: "wrong_type",
  /** Legacy version outside 0x0300–0x0304. */
  BAD_VERSION: "bad_version",
  /** A length field runs past its enclosing structure. */
  BAD_LENGTH: "bad_length",
  /** Session id longer than 32 bytes. */
  BAD_SESSION_ID: "bad_session_id",
  /** Cipher suite list empty or of odd length. */
  BAD_CIPHERS: "bad_ciphers",
  /** No compression method. */
  BAD_COMPRESSION: "bad_compression",
  /** A known extension's body is malformed. */
  BAD_EXTENSION: "bad_extension",
  /** The message is longer than the parser accepts. */
  TOO_LONG: "too_long",
} as const;

/** A parsed ClientHello. Lists keep wire order and GREASE values. */
interface ClientHello {
  /** `"ok"` when the whole message parsed. */
  status: ParseStatus;
  /** For `"no"`: a {@linkcode HelloReason}; `""` otherwise. */
  reason: string;
  /** Bytes consumed: the handshake message (4-byte header included). */
  consumed: number;
  /** Handshake message length including its 4-byte header. */
  length: number;
  /** legacy_version (0x0303 for TLS 1.2 and 1.3). */
  legacyVersion: number;
  /** Session id length (32 in TLS 1.3 middlebox compatibility mode, 0 otherwise usually). */
  sessionIdLength: number;
  /** Cipher suites. */
  cipherSuites: number[];
  /** Compression methods. */
  compressionMethods: number[];
  /** Extension types in order. */
  extensions: number[];
  /** First host_name of server_name; null when absent. */
  sni: string | null;
  /** SNI is an IP literal (RFC 6066 forbids it; browsers and curl never send one). */
  sniIsIpLiteral: boolean;
  /** ALPN protocol names, one character per byte. */
  alpn: string[];
  /** supported_versions. */
  supportedVersions: number[];
  /** supported_groups. */
  supportedGroups: number[];
  /** ec_point_formats. */
  ecPointFormats: number[];
  /** signature_algorithms. */
  signatureAlgorithms: number[];
  /** key_share groups offered. */
  keyShareGroups: number[];
  /** session_ticket extension present (SoftEther 5.x disables it). */
  hasSessionTicketExt: boolean;
  /**
   * A GREASE value appears among ciphers, extensions, groups, versions, key shares or
   * signature algorithms.
   */
  hasGrease: boolean;
}

function hello(status: ParseStatus, reason: string): ClientHello {
  return {
    status,
    reason,
    consumed: 0,
    length: 0,
    legacyVersion: 0,
    sessionIdLength: 0,
    cipherSuites: [],
    compressionMethods: [],
    extensions: [],
    sni: null,
    sniIsIpLiteral: false,
    alpn: [],
    supportedVersions: [],
    supportedGroups: [],
    ecPointFormats: [],
    signatureAlgorithms: [],
    keyShareGroups: [],
    hasSessionTicketExt: false,
    hasGrease: false,
  };
}

/** Reads a u16 list of `n` bytes at `p` into `out`; false when `n` is odd. */
function u16List(buf: Uint8Array, p: number, n: number, out: number[]): boolean {
  if (n & 1) return false;
  for (let i = 0; i < n; i += 2) out.push(readU16(buf, p + i));
  return true;
}

/** Parses one extension body `[p, p + n)` into `h`; false when malformed. */
function parseExtension(h: ClientHello, type: number, buf: Uint8Array, p: number, n: number) {
  const end = p + n;
  switch (type) {
    case TlsExtension.SERVER_NAME: {
      if (n === 0) return true; // allowed in a ServerHello, tolerated here
      if (n < 2 || readU16(buf, p) !== n - 2) return false;
      for (let q = p + 2; q < end;) {
        if (end - q < 3) return false;
        const nameLen = readU16(buf, q + 1);
        if (q + 3 + nameLen > end) return false;
        if (buf[q] === 0 && h.sni === null) h.sni = latin1(buf, q + 3, q + 3 + nameLen);
        q += 3 + nameLen;
      }
      return true;
    }
    case TlsExtension.ALPN: {
      if (n < 2 || readU16(buf, p) !== n - 2) return false;
      for (let q = p + 2; q < end;) {
        const l = buf[q];
        if (q + 1 + l > end) return false;
        h.alpn.push(latin1(buf, q + 1, q + 1 + l));
        q += 1 + l;
      }
      return true;
    }
    case TlsExtension.SUPPORTED_VERSIONS:
      if (n < 1 || buf[p] !== n - 1) return false;
      return u16List(buf, p + 1, n - 1, h.supportedVersions);
    case TlsExtension.SUPPORTED_GROUPS:
      if (n < 2 || readU16(buf, p) !== n - 2) return false;
      return u16List(buf, p + 2, n - 2, h.supportedGroups);
    case TlsExtension.SIGNATURE_ALGORITHMS:
      if (n < 2 || readU16(buf, p) !== n - 2) return false;
      return u16List(buf, p + 2, n - 2, h.signatureAlgorithms);
    case TlsExtension.EC_POINT_FORMATS:
      if (n < 1 || buf[p] !== n - 1) return false;
      for (let q = p + 1; q < end; q++) h.ecPointFormats.push(buf[q]);
      return true;
    case TlsExtension.KEY_SHARE: {
      if (n < 2 || readU16(buf, p) !== n - 2) return false;
      for (let q = p + 2; q < end;) {
        if (end - q < 4) return false;
        const kl = readU16(buf, q + 2);
        if (q + 4 + kl > end) return false;
        h.keyShareGroups.push(readU16(buf, q));
        q += 4 + kl;
      }
      return true;
    }
    case TlsExtension.SESSION_TICKET:
      h.hasSessionTicketExt = true;
      return true;
    default:
      return true;
  }
}

function anyGrease(list: number[]): boolean {
  for (const v of list) if (isGrease(v)) return true;
  return false;
}

/**
 * Parses a ClientHello handshake message starting at its 4-byte handshake
 * header (type 1, u24 length), e.g. a record body or a scanner capture.
 * `"need"` until the whole message is there.
 */
export function parseClientHello(buf: Uint8Array, off: number, len: number): ClientHello {
  if (len >= 1 && buf[off] !== TlsHandshakeType.CLIENT_HELLO) {
    return hello("no", HelloReason.WRONG_TYPE);
  }
  if (len < 4) return hello("need", "");
  const bodyLen = readU24(buf, off + 1);
  if (bodyLen > TLS_MAX_CAPTURE * 4) return hello("no", HelloReason.TOO_LONG);
  if (len >= 6 && (buf[off + 4] !== 3 || buf[off + 5] > 4)) {
    return hello("no", HelloReason.BAD_VERSION);
  }
  if (len < 4 + bodyLen) return hello("need", "");
  const h = hello("ok", "");
  const end = off + 4 + bodyLen;
  const bad = (reason: string) => {
    const r = hello("no", reason);
    r.legacyVersion = h.legacyVersion;
    return r;
  };
  let p = off + 4;
  if (end - p < 2 + 32 + 1) return bad(HelloReason.BAD_LENGTH);
  h.legacyVersion = readU16(buf, p);
  p += 2 + 32;
  const sid = buf[p++];
  if (sid > 32) return bad(HelloReason.BAD_SESSION_ID);
  h.sessionIdLength = sid;
  p += sid;
  if (end - p < 2) return bad(HelloReason.BAD_LENGTH);
  const cl = readU16(buf, p);
  p += 2;
  if (cl === 0 || cl & 1) return bad(HelloReason.BAD_CIPHERS);
  if (end - p < cl) return bad(HelloReason.BAD_LENGTH);
  u16List(buf, p, cl, h.cipherSuites);
  p += cl;
  if (end - p < 1) return bad(HelloReason.BAD_LENGTH);
  const ml = buf[p++];
  if (ml === 0) return bad(HelloReason.BAD_COMPRESSION);
  if (end - p < ml) return bad(HelloReason.BAD_LENGTH);
  for (let i = 0; i < ml; i++) h.compressionMethods.push(buf[p + i]);
  p += ml;
  if (p < end) {
    if (end - p < 2 || readU16(buf, p) !== end - p - 2) return bad(HelloReason.BAD_LENGTH);
    p += 2;
    while (p < end) {
      if (end - p < 4) return bad(HelloReason.BAD_LENGTH);
      const type = readU16(buf, p);
      const n = readU16(buf, p + 2);
      p += 4;
      if (end - p < n) return bad(HelloReason.BAD_LENGTH);
      h.extensions.push(type);
      if (!parseExtension(h, type, buf, p, n)) return bad(HelloReason.BAD_EXTENSION);
      p += n;
    }
  }
  h.consumed = h.length = 4 + bodyLen;
  h.sniIsIpLiteral = h.sni !== null && isIpLiteral(h.sni);
  h.hasGrease = anyGrease(h.cipherSuites) || anyGrease(h.extensions) ||
    anyGrease(h.supportedGroups) || anyGrease(h.supportedVersions) ||
    anyGrease(h.keyShareGroups) || anyGrease(h.signatureAlgorithms);
  return h;
}
