/**
 * Layer parsers for the first bytes of a flow (Suricata style): each takes a
 * region `(buf, off, len)` of a reassembled stream and returns `"ok"` with the
 * bytes consumed, `"need"` for more bytes, or `"no"` with a short reason. None
 * throws on malformed input.
 *
 * - `http_connect.ts`: HTTP CONNECT request/response heads, SoftEther CONNECT score.
 * - `socks.ts`: SOCKS4/4a/5 messages and the incremental {@linkcode SocksHandshake}.
 * - `tls_record.ts`: record headers and the per-direction {@linkcode TlsRecordScanner}.
 * - `tls_client_hello.ts`: ClientHello, ServerHello, JA3/JA3S/JA4.
 * - `ssh.ts`: identification line, packets, KEXINIT, {@linkcode SshStreamScanner}.
 *
 * @module
 */

export * from "./parse_status.ts";
export * from "./ip_literal.ts";
export * from "./http_connect.ts";
export * from "./socks.ts";
export * from "./tls_registry.ts";
export * from "./tls_record.ts";
export * from "./tls_handshake.ts";
export * from "./tls_client_hello.ts";
export * from "./tls_server_hello.ts";
export * from "./tls_fingerprint.ts";
export * from "./ssh.ts";
