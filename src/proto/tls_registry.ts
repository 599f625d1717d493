/**
 * TLS registry values the parsers use (IANA TLS parameters) and the GREASE
 * test (RFC 8701).
 *
 * @module
 */

/** TLS record content types (RFC 8446 §5.1, RFC 6520). */
export const TlsContentType = {
  /** change_cipher_spec */
  CHANGE_CIPHER_SPEC: 20,
  /** alert */
  ALERT: 21,
  /** handshake */
  HANDSHAKE: 22,
  /** application_data */
  APPLICATION_DATA: 23,
  /** heartbeat */
  HEARTBEAT: 24,
} as const;

/** TLS handshake message types used here. */
export const TlsHandshakeType = {
  /** client_hello */
  CLIENT_HELLO: 1,
  /** server_hello (also HelloRetryRequest in TLS 1.3) */
  SERVER_HELLO: 2,
} as const;

/** TLS extension types used here. */
export const TlsExtension = {
  /** server_name (RFC 6066) */
  SERVER_NAME: 0x0000,
  /** supported_groups (RFC 8422, RFC 7919) */
  SUPPORTED_GROUPS: 0x000a,
  /** ec_point_formats (RFC 8422) */
  EC_POINT_FORMATS: 0x000b,
  /** signature_algorithms (RFC 8446) */
  SIGNATURE_ALGORITHMS: 0x000d,
  /** application_layer_protocol_negotiation (RFC 7301) */
  ALPN: 0x0010,
  /** padding (RFC 7685) */
  PADDING: 0x0015,
  /** session_ticket (RFC 5077) */
  SESSION_TICKET: 0x0023,
  /** supported_versions (RFC 8446) */
  SUPPORTED_VERSIONS: 0x002b,
  /** key_share (RFC 8446) */
  KEY_SHARE: 0x0033,
} as const;

/** True for a GREASE value (RFC 8701): `0x?A?A` with both bytes equal. */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff);
}
