/**
 * The detection event: what the classifier decides about one SoftEther VPN
 * connection, owned by `src/detect/`; every alert sink in `src/output/` writes it (Suricata style: one flat
 * record per alert, all sharing the same flow header).
 *
 * @module
 */

/** An IP address (text form: dotted quad or RFC 5952 IPv6) and a port. */
export interface Endpoint {
  /** Address in text form. */
  ip: string;
  /** TCP/UDP port. */
  port: number;
}

/** What a proxy or tunnel request named as its destination. */
export interface Target {
  /** Host name or address as written in the request. */
  host: string;
  /** Destination port. */
  port: number;
}

/** Variant names printed in the log line (`SoftEther <variant> Connection Detected`). */
export type Variant = "TCP" | "HTTP Proxy" | "SOCKS4 Proxy" | "SOCKS5 Proxy" | "SSH";

/** Kind of SoftEther connection: a VPN session, or remote administration (vpncmd / server manager). */
type EventKind = "vpn" | "admin";

/** Whether the session was established or only attempted (failed login, wrong hub). */
type Outcome = "established" | "attempt";

/** One detection: one line in the text log, one JSON object in the JSON log. */
export interface DetectionEvent {
  /** Packet time of the decision, seconds since the Unix epoch (fractional). */
  ts: number;
  /** VPN session or administration connection. */
  kind: EventKind;
  /** How the client reached the server. */
  variant: Variant;
  /** Established session or a failed attempt. */
  outcome: Outcome;
  /** The side that opened the TCP connection. */
  client: Endpoint;
  /** The host the client talked to (the proxy or SSH host for those variants). */
  server: Endpoint;
  /** Destination named inside a CONNECT / SOCKS request, when there was one. */
  target?: Target;
  /** Names of the signals that fired. */
  evidence: string[];
  /** Confidence in [0, 1]. */
  confidence: number;
  /** sealert's flow number of the connection that triggered the alert. */
  flow_id: number;
  /** Community ID v1 of that connection ("1:base64"). */
  community_id: string;
  /** TCP connections of this session seen so far (extra connections are folded in). */
  connections: number;
  /**
   * Detection latency: seconds of packet time from the end of SoftEther's
   * set-up exchange (the server's welcome, reply or error) to the decision.
   */
  latency: number;
  /**
   * Absent on the alert itself. "end" on the session summary written when
   * the session's last connection ended: `connections` is then the total,
   * `ts` the end time and `duration` the session's length in seconds.
   */
  phase?: "end";
  /** Session length in seconds (on "end" summaries). */
  duration?: number;
}
