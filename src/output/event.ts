/**
 * The detection event: what the classifier decides about one SoftEther VPN
 * connection, and what every alert sink writes (Suricata style: one flat
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
export type EventKind = "vpn" | "admin";

/** Whether the session was established or only attempted (failed login, wrong hub). */
export type Outcome = "established" | "attempt";

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

/** Something that records detection events (text log, JSON lines, syslog, …). */
export interface AlertSink {
  /** Record one event. Errors are reported by throwing `SinkError`. */
  write(ev: DetectionEvent): void;
  /** Flush buffered output. */
  flush(): void;
  /** Reopen files (after logrotate moved them); no-op for non-file sinks. */
  reopen(): void;
  /** Flush and release resources; safe to call twice. */
  close(): void;
}

/** A sink could not write (disk full, permission, closed socket). */
export class SinkError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "SinkError";
  }
}
