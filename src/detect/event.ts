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

/**
 * How the client reached the server, printed in the log line (`SoftEther
 * <variant> Connection Detected`): over TCP (directly, through a proxy or an
 * SSH forward), or VPN over ICMP / VPN over DNS. Side flows, infrastructure
 * contacts and server faces name their transport ("UDP", "ICMP", "TCP").
 */
export type Variant =
  | "TCP"
  | "HTTP Proxy"
  | "SOCKS4 Proxy"
  | "SOCKS5 Proxy"
  | "SSH"
  | "ICMP"
  | "DNS"
  | "UDP";

/**
 * Side flows of a VPN session, tied to it by address pair and time: UDP
 * acceleration, the connect race's DNS-shaped and ICMP probes, NetBIOS name
 * queries.
 */
export type SideFlowKind = "udp_accel" | "dns_probe" | "icmp_probe" | "nbns";

/** Every side-flow kind, in the order the session-end record lists them. */
export const SIDE_FLOW_KINDS: readonly SideFlowKind[] = [
  "udp_accel",
  "dns_probe",
  "icmp_probe",
  "nbns",
];

/**
 * Kind of event: a VPN session; remote administration (vpncmd / server
 * manager); a side flow of a session; a host's contact with SoftEther's
 * infrastructure; a SoftEther server identified by another face.
 */
type EventKind = "vpn" | "admin" | SideFlowKind | "infrastructure" | "server";

/** SoftEther's infrastructure services a host may contact. */
export type InfraService = "DDNS" | "NAT-T" | "VPN Azure" | "Keep-alive";

/**
 * The face a SoftEther server was identified by: its own protocol (a
 * session), its OpenVPN or SSTP listener, or its self-generated certificate.
 */
export type ServerFace = "SoftEther" | "OpenVPN" | "SSTP" | "certificate";

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
  /**
   * Side flows: the `flow_id` of the session's alert. On a session's alert
   * and end record: absent.
   */
  session?: number;
  /**
   * On a session's "end" summary: IP bytes each way over all its
   * connections (or tunnel flows).
   */
  bytes?: { toserver: number; toclient: number };
  /** On a session's "end" summary: its side flows by kind. */
  side_flows?: Record<SideFlowKind, number>;
  /** Infrastructure contacts: the service contacted. */
  service?: InfraService;
  /**
   * Infrastructure contacts and server faces: the host name seen on the wire
   * (DNS question, TLS SNI, HTTP Host, certificate CN), when there was one.
   */
  name?: string;
  /** Server events: the face the server was identified by. */
  face?: ServerFace;
  /**
   * Packet time the session's first connection (or tunnel flow) started; for
   * tying side flows to sessions. Not written by the sinks.
   */
  start?: number;
  /**
   * The capture device the packets came from, when the run captures through
   * analysis workers (several interfaces, or `--workers` above 1); set by
   * the live run, not by the detectors.
   */
  interface?: string;
}

/**
 * The key of a report the detectors make once per run — a host's first
 * contact with an infrastructure service, the first sighting of a server
 * face — or undefined for other events. Several pipelines (analysis
 * workers) keep such reports single by it.
 */
export function onceKey(ev: DetectionEvent): string | undefined {
  if (ev.kind === "infrastructure") return `i|${ev.client.ip}|${ev.service}`;
  if (ev.kind === "server") return `s|${ev.server.ip}|${ev.server.port}|${ev.face}`;
  return undefined;
}
