/**
 * HTTP proxy tunnels: the client's `CONNECT host:port HTTP/1.x` request head,
 * the proxy's reply head, and how closely a CONNECT request matches the one
 * the SoftEther VPN client writes.
 *
 * @module
 */

import { indexOfByte, latin1 } from "./bytes.ts";
import {
  checkHttpVersion,
  contentEnd,
  HTTP_BAD,
  HTTP_FOLD,
  HTTP_MAX_HEAD,
  HTTP_NEED,
  type HttpHeader,
  HttpReason,
  lineEnd,
  parseHeaderBlock,
} from "./http_head.ts";
import type { ParseStatus } from "./parse_status.ts";

/** Longest method accepted (longer tokens are not HTTP requests). */
const MAX_METHOD = 20;

/** Result of {@linkcode parseConnectRequest}. */
interface ConnectRequest {
  /** `"ok"` only for a complete, well-formed CONNECT head. */
  status: ParseStatus;
  /** For `"no"`: a {@linkcode HttpReason} value; `""` otherwise. */
  reason: string;
  /** Bytes of the head through its blank line (`"ok"` only; 0 otherwise). */
  consumed: number;
  /** Method token once the request line is complete (also for `"no"` with `not_connect`). */
  method: string;
  /** Request target exactly as written. */
  target: string;
  /** CONNECT destination host (IPv6 without brackets); `""` for other methods. */
  host: string;
  /** CONNECT destination port; 0 for other methods. */
  port: number;
  /** `"HTTP/1.0"` or `"HTTP/1.1"` once the request line is complete. */
  httpVersion: string;
  /** Header fields in arrival order (`"ok"` only; empty otherwise). */
  headers: HttpHeader[];
}

/** Result of {@linkcode parseConnectResponse}. */
interface ConnectResponse {
  /** `"ok"` for a complete status line + headers. */
  status: ParseStatus;
  /** For `"no"`: a {@linkcode HttpReason} value; `""` otherwise. */
  reason: string;
  /** Bytes through the blank line; the tunnel (or a body) starts right after. */
  consumed: number;
  /** `"HTTP/1.0"` or `"HTTP/1.1"`. */
  httpVersion: string;
  /** Status code (0 until known). */
  statusCode: number;
  /** Reason phrase as sent (may be empty). */
  reasonPhrase: string;
  /** True for a 2xx code: the proxy opened the tunnel. */
  success: boolean;
  /** Header fields in arrival order. */
  headers: HttpHeader[];
}

function request(status: ParseStatus, reason: string): ConnectRequest {
  return {
    status,
    reason,
    consumed: 0,
    method: "",
    target: "",
    host: "",
    port: 0,
    httpVersion: "",
    headers: [],
  };
}

function response(status: ParseStatus, reason: string): ConnectResponse {
  return {
    status,
    reason,
    consumed: 0,
    httpVersion: "",
    statusCode: 0,
    reasonPhrase: "",
    success: false,
    headers: [],
  };
}

/** Method characters: upper-case letters, `-` and `_` (every registered method). */
function isMethodChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f;
}

/**
 * Validates a request line that has no LF yet, so non-HTTP streams are
 * rejected from their first bytes. Returns "" when it is still a valid prefix.
 */
function partialRequestLine(buf: Uint8Array, off: number, end: number): string {
  let i = off;
  while (i < end && isMethodChar(buf[i])) i++;
  if (i - off > MAX_METHOD) return HttpReason.NOT_HTTP;
  if (i === end) return "";
  if (buf[i] !== 0x20 || i === off) return HttpReason.NOT_HTTP;
  i++;
  while (i < end && buf[i] > 0x20 && buf[i] < 0x7f) i++;
  if (i === end) return "";
  if (buf[i] !== 0x20) return buf[i] === 0x0d && i + 1 === end ? "" : HttpReason.NOT_HTTP;
  let ve = end;
  if (ve > i + 1 && buf[ve - 1] === 0x0d) ve--;
  return checkHttpVersion(buf, i + 1, ve, true) < 0 ? HttpReason.BAD_VERSION : "";
}

/**
 * Parses an authority-form CONNECT target (`host:port`, `[v6]:port`) into `r`.
 * Returns false when it is not one.
 */
function parseAuthority(t: string, r: ConnectRequest): boolean {
  let host: string;
  let portText: string;
  if (t.startsWith("[")) {
    const close = t.indexOf("]");
    if (close < 0 || t.charCodeAt(close + 1) !== 0x3a) return false;
    host = t.slice(1, close);
    portText = t.slice(close + 2);
  } else {
    const colon = t.lastIndexOf(":");
    if (colon <= 0 || t.indexOf(":") !== colon) return false;
    host = t.slice(0, colon);
    portText = t.slice(colon + 1);
  }
  if (host.length === 0 || host.indexOf("@") >= 0 || host.indexOf("/") >= 0) return false;
  if (portText.length === 0 || portText.length > 5 || !/^[0-9]+$/.test(portText)) return false;
  const port = Number(portText);
  if (port < 1 || port > 65535) return false;
  r.host = host;
  r.port = port;
  return true;
}

/** The parts of a request and a response head that the header block settles. */
interface HeadResult {
  status: ParseStatus;
  reason: string;
  consumed: number;
  headers: HttpHeader[];
}

/**
 * Parses the header block after the start line ending at `lf` and settles
 * `r`: "ok" with `consumed` through the blank line, "need" while the head is
 * incomplete and shorter than `maxHead`, else "no" with the reason.
 */
function finishHead<T extends HeadResult>(
  r: T,
  buf: Uint8Array,
  off: number,
  lf: number,
  end: number,
  len: number,
  maxHead: number,
): T {
  const done = parseHeaderBlock(buf, lf + 1, end, r.headers);
  if (done >= 0) {
    r.status = "ok";
    r.consumed = done - off;
    return r;
  }
  r.headers.length = 0;
  if (done === HTTP_NEED) {
    if (len < maxHead) return r;
    r.status = "no";
    r.reason = HttpReason.HEAD_TOO_LONG;
    return r;
  }
  r.status = "no";
  r.reason = done === HTTP_FOLD ? HttpReason.OBS_FOLD : HttpReason.BAD_HEADER;
  return r;
}

/**
 * Parses the HTTP/1.x request head at the start of a client stream.
 *
 * `"ok"` only for CONNECT; a complete request line with another method gives
 * `"no"` with reason `not_connect` and `method`, `target`, `httpVersion` set
 * (plain HTTP, possibly through a forward proxy). A head with no blank line
 * within `maxHead` bytes is `"no"` (`head_too_long`).
 */
export function parseConnectRequest(
  buf: Uint8Array,
  off: number,
  len: number,
  maxHead: number = HTTP_MAX_HEAD,
): ConnectRequest {
  const end = off + (len < maxHead ? len : maxHead);
  const lf = lineEnd(buf, off, end);
  if (lf === HTTP_BAD) return request("no", HttpReason.NOT_HTTP);
  if (lf === HTTP_NEED) {
    const why = partialRequestLine(buf, off, end);
    if (why !== "") return request("no", why);
    return len >= maxHead ? request("no", HttpReason.HEAD_TOO_LONG) : request("need", "");
  }
  const ce = contentEnd(buf, off, lf);
  const sp1 = indexOfByte(buf, 0x20, off, ce);
  if (sp1 <= off || sp1 - off > MAX_METHOD) return request("no", HttpReason.NOT_HTTP);
  for (let i = off; i < sp1; i++) {
    if (!isMethodChar(buf[i])) return request("no", HttpReason.NOT_HTTP);
  }
  const sp2 = indexOfByte(buf, 0x20, sp1 + 1, ce);
  if (sp2 < 0 || sp2 === sp1 + 1) return request("no", HttpReason.NOT_HTTP);
  for (let i = sp1 + 1; i < sp2; i++) {
    if (buf[i] <= 0x20 || buf[i] >= 0x7f) return request("no", HttpReason.NOT_HTTP);
  }
  if (checkHttpVersion(buf, sp2 + 1, ce, false) !== 1) {
    return request("no", HttpReason.BAD_VERSION);
  }
  const r = request("need", "");
  r.method = latin1(buf, off, sp1);
  r.target = latin1(buf, sp1 + 1, sp2);
  r.httpVersion = latin1(buf, sp2 + 1, ce);
  if (r.method !== "CONNECT") {
    r.status = "no";
    r.reason = HttpReason.NOT_CONNECT;
    return r;
  }
  if (!parseAuthority(r.target, r)) {
    r.status = "no";
    r.reason = HttpReason.BAD_TARGET;
    return r;
  }
  return finishHead(r, buf, off, lf, end, len, maxHead);
}

/**
 * Parses the proxy's reply head (`HTTP/1.x NNN reason` + headers) at the start
 * of the server stream. `consumed` runs through the blank line: after a 2xx
 * the tunnelled stream starts there (after another code a body may follow).
 */
export function parseConnectResponse(
  buf: Uint8Array,
  off: number,
  len: number,
  maxHead: number = HTTP_MAX_HEAD,
): ConnectResponse {
  const end = off + (len < maxHead ? len : maxHead);
  const lf = lineEnd(buf, off, end);
  if (lf === HTTP_BAD) return response("no", HttpReason.NOT_HTTP);
  if (lf === HTTP_NEED) {
    const n = end - off;
    const v = checkHttpVersion(buf, off, off + (n < 8 ? n : 8), true);
    if (v < 0) return response("no", HttpReason.NOT_HTTP);
    if (n > 8 && buf[off + 8] !== 0x20) return response("no", HttpReason.NOT_HTTP);
    for (let i = off + 9; i < end && i < off + 12; i++) {
      if (buf[i] < 0x30 || buf[i] > 0x39) return response("no", HttpReason.BAD_STATUS);
    }
    return len >= maxHead ? response("no", HttpReason.HEAD_TOO_LONG) : response("need", "");
  }
  const ce = contentEnd(buf, off, lf);
  if (ce - off < 12 || checkHttpVersion(buf, off, off + 8, false) !== 1) {
    return response("no", HttpReason.NOT_HTTP);
  }
  if (buf[off + 8] !== 0x20) return response("no", HttpReason.NOT_HTTP);
  let code = 0;
  for (let i = off + 9; i < off + 12; i++) {
    const c = buf[i];
    if (c < 0x30 || c > 0x39) return response("no", HttpReason.BAD_STATUS);
    code = code * 10 + (c - 0x30);
  }
  if (code < 100 || (ce > off + 12 && buf[off + 12] !== 0x20)) {
    return response("no", HttpReason.BAD_STATUS);
  }
  const r = response("need", "");
  r.httpVersion = latin1(buf, off, off + 8);
  r.statusCode = code;
  r.success = code >= 200 && code < 300;
  r.reasonPhrase = ce > off + 13 ? latin1(buf, off + 13, ce) : "";
  return finishHead(r, buf, off, lf, end, len, maxHead);
}

/** Markers reported by {@linkcode softEtherConnectScore}. */
const SoftEtherConnectMarker = {
  /** Request line ends in `HTTP/1.0` (curl and browsers send 1.1). */
  HTTP_1_0: "http_1_0",
  /**
   * Header names are exactly `Content-Length, Host, Pragma, [Proxy-Authorization,]
   * Proxy-Connection, User-Agent`, in that order and case, and nothing else.
   */
  HEADER_SEQUENCE: "header_sequence",
  /**
   * Three or more headers, names in case-insensitive ascending order (SoftEther keeps its
   * header list sorted, user-added 5.x headers included).
   */
  HEADERS_SORTED: "headers_sorted",
  /** `Content-Length: 0` on a CONNECT. */
  CONTENT_LENGTH_0: "content_length_0",
  /** `Host` names the target host without the port. */
  HOST_WITHOUT_PORT: "host_without_port",
  /** `Pragma: no-cache`. */
  PRAGMA_NO_CACHE: "pragma_no_cache",
  /** `Proxy-Connection: Keep-Alive`. */
  PROXY_CONNECTION_KEEP_ALIVE: "proxy_connection_keep_alive",
  /** The SoftEther default User-Agent (Firefox 29 on Windows 8.1); customisable in 5.x. */
  USER_AGENT: "user_agent_firefox29",
} as const;

/** The User-Agent SoftEther sends by default. */
const SOFTETHER_CONNECT_USER_AGENT =
  "Mozilla/5.0 (Windows NT 6.3; WOW64; rv:29.0) Gecko/20100101 Firefox/29.0";

/** Result of {@linkcode softEtherConnectScore}. */
interface SoftEtherConnectScore {
  /** 0..1 over all markers, User-Agent included. */
  score: number;
  /** 0..1 over the markers that do not depend on the (customisable) User-Agent. */
  structureScore: number;
  /** The {@linkcode SoftEtherConnectMarker} values that matched, in declaration order. */
  markers: string[];
}

const M = SoftEtherConnectMarker;
const WEIGHTS: ReadonlyArray<readonly [string, number]> = [
  [M.HTTP_1_0, 0.15],
  [M.HEADER_SEQUENCE, 0.2],
  [M.HEADERS_SORTED, 0.1],
  [M.CONTENT_LENGTH_0, 0.1],
  [M.HOST_WITHOUT_PORT, 0.1],
  [M.PRAGMA_NO_CACHE, 0.05],
  [M.PROXY_CONNECTION_KEEP_ALIVE, 0.05],
  [M.USER_AGENT, 0.25],
];
const UA_WEIGHT = 0.25;

function headerValue(headers: HttpHeader[], lowerName: string): string | null {
  for (const [n, v] of headers) if (n.toLowerCase() === lowerName) return v;
  return null;
}

function isSoftEtherSequence(headers: HttpHeader[]): boolean {
  const names = headers.map((h) => h[0]).join("\n");
  return names === "Content-Length\nHost\nPragma\nProxy-Connection\nUser-Agent" ||
    names === "Content-Length\nHost\nPragma\nProxy-Authorization\nProxy-Connection\nUser-Agent";
}

/**
 * Scores how closely a parsed CONNECT request matches SoftEther's own:
 * `CONNECT host:port HTTP/1.0` with headers `Content-Length: 0`, `Host: host`,
 * `Pragma: no-cache`, optional `Proxy-Authorization`, `Proxy-Connection:
 * Keep-Alive`, `User-Agent: …Firefox/29.0`, in that sorted order. The
 * structural markers are scored apart from the User-Agent, which 5.x lets
 * users change. Anything but an `"ok"` CONNECT scores 0.
 */
export function softEtherConnectScore(req: ConnectRequest): SoftEtherConnectScore {
  const matched = new Set<string>();
  if (req.status === "ok" && req.method === "CONNECT") {
    const h = req.headers;
    if (req.httpVersion === "HTTP/1.0") matched.add(M.HTTP_1_0);
    if (isSoftEtherSequence(h)) matched.add(M.HEADER_SEQUENCE);
    if (h.length >= 3) {
      let sorted = true;
      for (let i = 1; i < h.length && sorted; i++) {
        sorted = h[i - 1][0].toLowerCase() <= h[i][0].toLowerCase();
      }
      if (sorted) matched.add(M.HEADERS_SORTED);
    }
    if (headerValue(h, "content-length") === "0") matched.add(M.CONTENT_LENGTH_0);
    const host = headerValue(h, "host")?.toLowerCase();
    const target = req.host.toLowerCase();
    if (host === target || host === `[${target}]`) matched.add(M.HOST_WITHOUT_PORT);
    if (headerValue(h, "pragma")?.toLowerCase() === "no-cache") matched.add(M.PRAGMA_NO_CACHE);
    if (headerValue(h, "proxy-connection")?.toLowerCase() === "keep-alive") {
      matched.add(M.PROXY_CONNECTION_KEEP_ALIVE);
    }
    if (headerValue(h, "user-agent") === SOFTETHER_CONNECT_USER_AGENT) matched.add(M.USER_AGENT);
  }
  let score = 0;
  let structure = 0;
  const markers: string[] = [];
  for (const [marker, w] of WEIGHTS) {
    if (!matched.has(marker)) continue;
    markers.push(marker);
    score += w;
    if (marker !== M.USER_AGENT) structure += w;
  }
  return {
    score: Math.round(score * 1000) / 1000,
    structureScore: Math.round((structure / (1 - UA_WEIGHT)) * 1000) / 1000,
    markers,
  };
}
