/**
 * Recognises IP address literals in host names (SNI, Host headers, proxy targets).
 *
 * @module
 */

/** True for a dotted-quad IPv4 literal with every part in 0..255 (`"10.77.2.2"`). */
function isIpv4Literal(s: string): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) {
      if (++digits > 3) return false;
      value = value * 10 + (c - 0x30);
    } else if (c === 0x2e) {
      if (digits === 0 || value > 255) return false;
      parts++;
      digits = 0;
      value = 0;
    } else {
      return false;
    }
  }
  return parts === 4;
}

/**
 * True for an IPv6 literal, bare or in brackets, optionally with a zone
 * (`"::1"`, `"[2001:db8::1]"`, `"fe80::1%eth0"`, `"::ffff:10.0.0.1"`).
 */
function isIpv6Literal(s: string): boolean {
  let t = s;
  if (t.startsWith("[")) {
    if (!t.endsWith("]")) return false;
    t = t.slice(1, -1);
  }
  const zone = t.indexOf("%");
  if (zone >= 0) t = t.slice(0, zone);
  if (t.length < 2 || t.indexOf(":") < 0) return false;
  const groups = t.split(":");
  if (groups.length > 8) return false;
  let empty = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    if (g.length === 0) {
      empty++;
      continue;
    }
    if (i === groups.length - 1 && g.indexOf(".") >= 0) {
      if (!isIpv4Literal(g)) return false;
      continue;
    }
    if (g.length > 4 || !/^[0-9a-fA-F]+$/.test(g)) return false;
  }
  const compressed = t.indexOf("::") >= 0;
  if (!compressed && empty > 0) return false;
  if (compressed && t.indexOf("::") !== t.lastIndexOf("::")) return false;
  return compressed || groups.length === 8 || (groups.length === 7 && t.indexOf(".") >= 0);
}

/** True when `s` is an IPv4 or IPv6 literal rather than a host name. */
export function isIpLiteral(s: string): boolean {
  return isIpv4Literal(s) || isIpv6Literal(s);
}
