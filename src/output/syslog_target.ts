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

/** A syslog target that cannot be parsed; `reason` says what is wrong with it. */
export class SyslogTargetError extends RangeError {
  /** What is wrong, without the target itself ("no host", "port 0 is not from 1 to 65535"). */
  readonly reason: string;
  /** Creates the error for `text` with its `reason`. */
  constructor(text: string, reason: string) {
    super(`Invalid syslog target ${JSON.stringify(text)}: ${reason}`);
    this.name = "SyslogTargetError";
    this.reason = reason;
  }
}

const FORMS = "udp://HOST[:PORT], tcp://HOST[:PORT] or unix:///PATH";

/** A host name or IPv4 address: letters, digits, ".", "-", "_"; no empty label; IPv4 in range. */
function hostProblem(host: string): string | undefined {
  if (host === "") return "no host";
  if (!/^[A-Za-z0-9._-]+$/.test(host)) {
    return `host ${JSON.stringify(host)} may hold only letters, digits, ".", "-" and "_"` +
      " (IPv6 addresses go in brackets: udp://[2001:db8::1]:514)";
  }
  if (host.length > 253 || host.replace(/\.$/, "").split(".").some((l) => l === "")) {
    return `host ${JSON.stringify(host)} is not a host name`;
  }
  if (/^[0-9.]+$/.test(host)) {
    const parts = host.split(".");
    if (parts.length !== 4 || parts.some((p) => p === "" || Number(p) > 255)) {
      return `host ${JSON.stringify(host)} is not an IPv4 address`;
    }
  }
  return undefined;
}

/** An IPv6 literal (without brackets), checked by the WHATWG URL parser. */
export function isIpv6(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !text.includes(":")) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses a syslog target: `udp://host[:port]` (default port 514),
 * `tcp://host[:port]` (default 601), `unix:///path` or just an absolute path.
 * IPv6 literals go in brackets: `udp://[2001:db8::1]:514`. The scheme is one of
 * udp, tcp, unix; the host is not empty; the port is 1–65535 in decimal digits.
 *
 * @throws {SyslogTargetError} On anything else, saying what is wrong.
 */
export function parseSyslogTarget(text: string): SyslogTarget {
  const bad = (reason: string) => new SyslogTargetError(text, reason);
  if (text === "") throw bad("empty");
  if (/^\/[^/]/.test(text)) return { transport: "unix", path: text };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1];
  if (scheme === undefined) throw bad(`not a URL: expected ${FORMS}`);
  if (scheme === "unix") {
    const unix = /^unix:(?:\/\/)?(\/[^/].*)$/.exec(text);
    if (unix === null) throw bad("the socket path must be absolute: unix:///PATH");
    return { transport: "unix", path: unix[1] };
  }
  if (scheme !== "udp" && scheme !== "tcp") {
    throw bad(`the scheme ${JSON.stringify(scheme)} is not udp, tcp or unix`);
  }
  const transport = scheme;
  if (!text.startsWith(`${scheme}://`)) throw bad(`expected ${scheme}://HOST[:PORT]`);
  const rest = text.slice(scheme.length + 3).replace(/\/$/, "");
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) throw bad("no closing ] after the IPv6 address");
    host = rest.slice(1, close);
    if (!isIpv6(host)) throw bad(`${JSON.stringify(host)} is not an IPv6 address`);
    const after = rest.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) throw bad(`expected ${scheme}://HOST[:PORT]`);
    if (after !== "") portText = after.slice(1);
  } else {
    if (/[/?#@]/.test(rest)) throw bad(`only HOST[:PORT] may follow ${scheme}://`);
    if (rest.indexOf(":") !== rest.lastIndexOf(":")) {
      throw bad(`IPv6 addresses go in brackets: ${scheme}://[2001:db8::1]:514`);
    }
    const colon = rest.indexOf(":");
    host = colon < 0 ? rest : rest.slice(0, colon);
    if (colon >= 0) portText = rest.slice(colon + 1);
    const problem = hostProblem(host);
    if (problem !== undefined) throw bad(problem);
  }
  let port: number = DEFAULT_SYSLOG_PORTS[transport];
  if (portText !== undefined) {
    if (portText === "") throw bad('no port after ":"');
    if (!/^[0-9]+$/.test(portText)) {
      throw bad(`the port ${JSON.stringify(portText)} is not a whole number from 1 to 65535`);
    }
    port = Number(portText);
    if (port < 1 || port > 65535) throw bad(`the port ${portText} is not from 1 to 65535`);
  }
  return { transport, host, port };
}

/** The target in URL form, as accepted by {@linkcode parseSyslogTarget}. */
export function formatSyslogTarget(target: SyslogTarget): string {
  if (target.transport === "unix") return `unix://${target.path}`;
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  return `${target.transport}://${host}:${target.port}`;
}
