/**
 * TLS ServerHello parsing: the version and cipher suite the server chose,
 * its extensions, and the ALPN protocol when visible (TLS ≤ 1.2; TLS 1.3
 * moves it into the encrypted EncryptedExtensions).
 *
 * @module
 */

import { latin1, readU16, readU24 } from "./bytes.ts";
import type { ParseStatus } from "./parse_status.ts";
import { firstHandshakeMessage, HelloReason } from "./tls_handshake.ts";
import { TLS_MAX_CAPTURE } from "./tls_record.ts";
import { TlsExtension, TlsHandshakeType } from "./tls_registry.ts";

/** SHA-256("HelloRetryRequest"): the random of a TLS 1.3 HelloRetryRequest (RFC 8446 §4.1.3). */
const HRR_RANDOM = [
  0xcf,
  0x21,
  0xad,
  0x74,
  0xe5,
  0x9a,
  0x61,
  0x11,
  0xbe,
  0x1d,
  0x8c,
  0x02,
  0x1e,
  0x65,
  0xb8,
  0x91,
  0xc2,
  0xa2,
  0x11,
  0x16,
  0x7a,
  0xbb,
  0x8c,
  0x5e,
  0x07,
  0x9e,
  0x09,
  0xe2,
  0xc8,
  0xa8,
  0x33,
  0x9c,
];

/** A parsed ServerHello. */
export interface ServerHello {
  /** `"ok"` when the whole message parsed. */
  status: ParseStatus;
  /** For `"no"`: a {@linkcode HelloReason} (or record/handshake reason); `""` otherwise. */
  reason: string;
  /** Bytes consumed (message, or records for {@linkcode parseServerHelloRecords}). */
  consumed: number;
  /** legacy_version. */
  legacyVersion: number;
  /** Negotiated version: supported_versions when present (TLS 1.3), else legacy_version. */
  selectedVersion: number;
  /** Session id length. */
  sessionIdLength: number;
  /** Chosen cipher suite. */
  cipherSuite: number;
  /** Chosen compression method. */
  compressionMethod: number;
  /** Extension types in order. */
  extensions: number[];
  /** ALPN protocol chosen (TLS ≤ 1.2 only); null when absent. */
  alpn: string | null;
  /** True for a TLS 1.3 HelloRetryRequest (special random). */
  helloRetryRequest: boolean;
}

function server(status: ParseStatus, reason: string): ServerHello {
  return {
    status,
    reason,
    consumed: 0,
    legacyVersion: 0,
    selectedVersion: 0,
    sessionIdLength: 0,
    cipherSuite: 0,
    compressionMethod: 0,
    extensions: [],
    alpn: null,
    helloRetryRequest: false,
  };
}

/**
 * Parses a ServerHello handshake message starting at its 4-byte handshake
 * header. `"need"` until the whole message is there.
 */
export function parseServerHello(buf: Uint8Array, off: number, len: number): ServerHello {
  if (len >= 1 && buf[off] !== TlsHandshakeType.SERVER_HELLO) {
    return server("no", HelloReason.WRONG_TYPE);
  }
  if (len < 4) return server("need", "");
  const bodyLen = readU24(buf, off + 1);
  if (bodyLen > TLS_MAX_CAPTURE * 4) return server("no", HelloReason.TOO_LONG);
  if (len >= 6 && (buf[off + 4] !== 3 || buf[off + 5] > 4)) {
    return server("no", HelloReason.BAD_VERSION);
  }
  if (len < 4 + bodyLen) return server("need", "");
  const end = off + 4 + bodyLen;
  let p = off + 4;
  if (end - p < 2 + 32 + 1) return server("no", HelloReason.BAD_LENGTH);
  const s = server("ok", "");
  s.legacyVersion = s.selectedVersion = readU16(buf, p);
  let hrr = true;
  for (let i = 0; i < 32 && hrr; i++) hrr = buf[p + 2 + i] === HRR_RANDOM[i];
  s.helloRetryRequest = hrr;
  p += 34;
  const sid = buf[p++];
  if (sid > 32) return server("no", HelloReason.BAD_SESSION_ID);
  s.sessionIdLength = sid;
  p += sid;
  if (end - p < 3) return server("no", HelloReason.BAD_LENGTH);
  s.cipherSuite = readU16(buf, p);
  s.compressionMethod = buf[p + 2];
  p += 3;
  if (p < end) {
    if (end - p < 2 || readU16(buf, p) !== end - p - 2) return server("no", HelloReason.BAD_LENGTH);
    p += 2;
    while (p < end) {
      if (end - p < 4) return server("no", HelloReason.BAD_LENGTH);
      const type = readU16(buf, p);
      const n = readU16(buf, p + 2);
      p += 4;
      if (end - p < n) return server("no", HelloReason.BAD_LENGTH);
      s.extensions.push(type);
      if (type === TlsExtension.SUPPORTED_VERSIONS) {
        if (n !== 2) return server("no", HelloReason.BAD_EXTENSION);
        s.selectedVersion = readU16(buf, p);
      } else if (type === TlsExtension.ALPN) {
        if (n < 3 || readU16(buf, p) !== n - 2 || buf[p + 2] !== n - 3) {
          return server("no", HelloReason.BAD_EXTENSION);
        }
        s.alpn = latin1(buf, p + 3, p + n);
      }
      p += n;
    }
  }
  s.consumed = 4 + bodyLen;
  return s;
}

/**
 * Parses the ServerHello at the start of the server's TLS records (the first
 * handshake message; a TLS 1.2 server usually puts more messages in the same
 * record). `consumed` runs through the ServerHello's last byte.
 */
export function parseServerHelloRecords(
  buf: Uint8Array,
  off: number,
  len: number,
  maxBytes: number = TLS_MAX_CAPTURE,
): ServerHello {
  if (len >= 6 && buf[off] === 22 && buf[off + 5] !== TlsHandshakeType.SERVER_HELLO) {
    return server("no", HelloReason.WRONG_TYPE);
  }
  const m = firstHandshakeMessage(buf, off, len, maxBytes);
  if (m.status !== "ok") return server(m.status, m.reason);
  const s = parseServerHello(m.buf, m.off, m.len);
  if (s.status === "ok") s.consumed = m.consumed;
  return s;
}
