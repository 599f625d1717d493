/**
 * Locates the first handshake message in a region that starts at a TLS
 * record header, reassembling it when it is fragmented over several records.
 *
 * @module
 */

import { readU16 } from "./bytes.ts";
import type { ParseStatus } from "./parse_status.ts";
import {
  parseTlsRecordHeader,
  TLS_MAX_CAPTURE,
  TLS_RECORD_HEADER_LEN,
  TlsContentType,
} from "./tls_record.ts";

/** Reasons for a `"no"` of {@linkcode firstHandshakeMessage} (besides record header reasons). */
export const TlsHandshakeReason = {
  /** The first record is not a handshake record. */
  NOT_HANDSHAKE: "not_handshake",
  /** Another record type came before the message was complete. */
  INTERRUPTED: "interrupted",
  /** The message is longer than the limit. */
  HANDSHAKE_TOO_LONG: "handshake_too_long",
} as const;

/** Reasons for a `"no"` result of the ClientHello and ServerHello parsers. */
export const HelloReason = {
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

/** Result of {@linkcode firstHandshakeMessage}. */
export interface HandshakeMessage {
  /** `"ok"` when the whole message is available. */
  status: ParseStatus;
  /** For `"no"`: a {@linkcode TlsHandshakeReason} or record header reason; `""` otherwise. */
  reason: string;
  /** Bytes from the region start through the message's last byte (record headers included). */
  consumed: number;
  /** Version field of the first record header. */
  recordVersion: number;
  /** Records the message spans. */
  records: number;
  /** Where the message is: the input buffer when it sits in one record, else a copy. */
  buf: Uint8Array;
  /** Offset of the message (its 4-byte handshake header) in `buf`. */
  off: number;
  /** Message length including its 4-byte header. */
  len: number;
}

function result(status: ParseStatus, reason: string, buf: Uint8Array): HandshakeMessage {
  return { status, reason, consumed: 0, recordVersion: 0, records: 0, buf, off: 0, len: 0 };
}

/**
 * Finds the first handshake message in the TLS records starting at `off`.
 * A message inside one record is returned in place (no copy); one spread
 * over several records is copied once into a new buffer. Messages above
 * `maxBytes` are `"no"`.
 */
export function firstHandshakeMessage(
  buf: Uint8Array,
  off: number,
  len: number,
  maxBytes: number = TLS_MAX_CAPTURE,
): HandshakeMessage {
  const end = off + len;
  let p = off;
  let records = 0;
  let have = 0; // message bytes seen
  let total = -1; // 4 + message length once known
  let pre = 0;
  let lastEnd = 0;
  let version = 0;
  for (;;) {
    const h = parseTlsRecordHeader(buf, p, end - p);
    if (h.status === "no") return result("no", h.reason, buf);
    if (h.status === "need") return result("need", "", buf);
    if (h.contentType !== TlsContentType.HANDSHAKE) {
      return result(
        "no",
        records === 0 ? TlsHandshakeReason.NOT_HANDSHAKE : TlsHandshakeReason.INTERRUPTED,
        buf,
      );
    }
    if (records === 0) version = h.version;
    records++;
    const body = p + TLS_RECORD_HEADER_LEN;
    const avail = h.length < end - body ? h.length : end - body;
    let k = 0;
    while (total < 0 && k < avail) {
      pre = pre * 256 + buf[body + k++];
      if (++have === 4) {
        total = 4 + (pre & 0xffffff);
        if (total > maxBytes) return result("no", TlsHandshakeReason.HANDSHAKE_TOO_LONG, buf);
      }
    }
    if (total >= 0) {
      const want = total - have;
      const take = want < avail - k ? want : avail - k;
      have += take;
      k += take;
      if (have === total) {
        lastEnd = body + k;
        break;
      }
    }
    if (avail < h.length) return result("need", "", buf);
    p = body + h.length;
  }
  const r = result("ok", "", buf);
  r.consumed = lastEnd - off;
  r.recordVersion = version;
  r.records = records;
  r.len = total;
  if (records === 1) {
    r.off = off + TLS_RECORD_HEADER_LEN;
    return r;
  }
  const copy = new Uint8Array(total);
  let o = 0;
  p = off;
  while (o < total) {
    const length = readU16(buf, p + 3);
    const body = p + TLS_RECORD_HEADER_LEN;
    const take = length < total - o ? length : total - o;
    copy.set(buf.subarray(body, body + take), o);
    o += take;
    p = body + length;
  }
  r.buf = copy;
  r.off = 0;
  return r;
}
