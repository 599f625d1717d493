/**
 * Every weight the SoftEther detector gives a signal, in one table: the
 * set-up pattern is necessary and worth {@linkcode WEIGHTS.pattern} alone —
 * never enough for an alert ({@linkcode ALERT_THRESHOLD}); independent
 * supporting signals from the layers, the tunnel and the session add to it.
 *
 * @module
 */

/** Confidence weights of the SoftEther detector's signals. */
export const WEIGHTS = {
  /** The set-up alternation (watermark, hello, login, welcome) under TLS. */
  pattern: 0.5,
  /** SoftEther's own CONNECT header set (scaled by the share of markers seen). */
  connectHeaders: 0.2,
  /** SOCKS5 greeting offering exactly "no auth" and "user/password" (SoftEther's). */
  socks5Methods: 0.05,
  /** ClientHello without ALPN. */
  noAlpn: 0.05,
  /** ClientHello offering ALPN (browsers, curl, Go, Python requests): counts against. */
  alpnOffered: -0.3,
  /** ClientHello without the session-ticket extension. */
  noSessionTicketExt: 0.05,
  /** An IP literal as SNI. */
  sniIpLiteral: 0.05,
  /** The stream leaves TLS after the welcome (encryption off). */
  leftTls: 0.2,
  /** SoftEther's clear tunnel framing right after the welcome. */
  plaintextFraming: 0.2,
  /** Tiny stateful TLS 1.3 tickets (SoftEther's server turns tickets off). */
  statefulTickets: 0.1,
  /** A short login followed by an RPC exchange (administration). */
  adminRpc: 0.2,
  /** Records after the welcome. */
  tunnelRecords: 0.05,
  /** Keep-alive-sized records both ways within the decision delay of the welcome. */
  keepAliveBothWays: 0.1,
  /** The server speaking without being asked. */
  serverIndependent: 0.15,
  /** The server closing after a short answer to a login (failed login). */
  closedAfterError: 0.2,
  /** Another connection of the same client and server showed additional_connect. */
  sessionExtraConnection: 0.2,
  /** Through SSH: the inner set-up alternation with tunnel keep-alives both ways. */
  sshTunnel: 0.8,
  /** Through SSH: a failed inner login (error, then close). */
  sshAttempt: 0.65,
} as const;

/** Minimum confidence for an alert. */
export const ALERT_THRESHOLD = 0.75;
