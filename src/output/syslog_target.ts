/**
 * Parsing of syslog destinations given on the command line:
 * `udp://host[:port]`, `tcp://host[:port]`, `unix:///dev/log`.
 *
 * @module
 */

/** Where syslog messages go. */
export type SyslogTarget =
  | { transport: "udp" | "tcp"; host: string; port: number }
  | { transport: "unix"; path: string };

/** Default port of each network transport (UDP 514, RFC 5426; TCP 601, as syslog-ng). */
const DEFAULT_SYSLOG_PORTS = { udp: 514, tcp: 601 } as const;

/**
 * Parses a syslog target: `udp://host[:port]` (default port 514),
 * `tcp://host[:port]` (default 601), `unix:///path` or just an absolute path.
 * IPv6 literals go in brackets: `udp://[2001:db8::1]:514`.
 *
 * @throws {RangeError} On anything else.
 */
export function parseSyslogTarget(text: string): SyslogTarget {
  const bad = () =>
    new RangeError(
      `Invalid syslog target "${text}": expected udp://host[:port], tcp://host[:port] or unix:///path`,
    );
  if (/^\/[^/]/.test(text)) return { transport: "unix", path: text };
  const unix = /^unix:(?:\/\/)?(\/[^/].*)$/.exec(text);
  if (unix !== null) return { transport: "unix", path: unix[1] };
  if (text.startsWith("unix:")) throw bad();
  const net = /^(udp|tcp):\/\/(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?\/?$/.exec(
    text,
  );
  if (net === null) throw bad();
  const transport = net[1] as "udp" | "tcp";
  const host = net[2] ?? net[3];
  const port = net[4] === undefined ? DEFAULT_SYSLOG_PORTS[transport] : Number(net[4]);
  if (port < 1 || port > 65535) throw bad();
  if (net[2] !== undefined && !net[2].includes(":")) throw bad();
  return { transport, host, port };
}

/** The target in URL form, as accepted by {@linkcode parseSyslogTarget}. */
export function formatSyslogTarget(target: SyslogTarget): string {
  if (target.transport === "unix") return `unix://${target.path}`;
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  return `${target.transport}://${host}:${target.port}`;
}
