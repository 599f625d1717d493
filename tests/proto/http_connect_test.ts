import assert from "node:assert/strict";
import {
  parseConnectRequest,
  parseConnectResponse,
  softEtherConnectScore,
} from "../../src/proto/http_connect.ts";
import { HttpReason } from "../../src/proto/http_head.ts";
import { ascii, concat, loadSegments } from "./fixture.ts";

/** The User-Agent SoftEther sends by default (Firefox 29 on Windows 8.1). */
const SOFTETHER_CONNECT_USER_AGENT =
  "Mozilla/5.0 (Windows NT 6.3; WOW64; rv:29.0) Gecko/20100101 Firefox/29.0";

/** softEtherConnectScore's marker names. */
const M = {
  HTTP_1_0: "http_1_0",
  HEADER_SEQUENCE: "header_sequence",
  HEADERS_SORTED: "headers_sorted",
  CONTENT_LENGTH_0: "content_length_0",
  HOST_WITHOUT_PORT: "host_without_port",
  PRAGMA_NO_CACHE: "pragma_no_cache",
  PROXY_CONNECTION_KEEP_ALIVE: "proxy_connection_keep_alive",
  USER_AGENT: "user_agent_firefox29",
};

/** What the Debian 5.01 client sent to an HTTP proxy (softether-wire.md §6). */
const SOFTETHER_CONNECT = "CONNECT 10.77.2.2:443 HTTP/1.0\r\n" +
  "Content-Length: 0\r\n" +
  "Host: 10.77.2.2\r\n" +
  "Pragma: no-cache\r\n" +
  "Proxy-Connection: Keep-Alive\r\n" +
  `User-Agent: ${SOFTETHER_CONNECT_USER_AGENT}\r\n` +
  "\r\n";

Deno.test("parseConnectRequest: SoftEther CONNECT head, every prefix is need", () => {
  const bytes = concat([ascii(SOFTETHER_CONNECT), ascii("\x16\x03\x01")]);
  const head = ascii(SOFTETHER_CONNECT).length;
  const r = parseConnectRequest(bytes, 0, bytes.length);
  assert.equal(r.status, "ok");
  assert.equal(r.reason, "");
  assert.equal(r.consumed, head);
  assert.equal(r.method, "CONNECT");
  assert.equal(r.target, "10.77.2.2:443");
  assert.equal(r.host, "10.77.2.2");
  assert.equal(r.port, 443);
  assert.equal(r.httpVersion, "HTTP/1.0");
  assert.deepEqual(r.headers, [
    ["Content-Length", "0"],
    ["Host", "10.77.2.2"],
    ["Pragma", "no-cache"],
    ["Proxy-Connection", "Keep-Alive"],
    ["User-Agent", SOFTETHER_CONNECT_USER_AGENT],
  ]);
  for (let n = 0; n < head; n++) {
    assert.equal(parseConnectRequest(bytes, 0, n).status, "need", `prefix ${n}`);
  }
});

Deno.test("parseConnectRequest: works at an offset inside a larger buffer", () => {
  const bytes = concat([ascii("xxxx"), ascii(SOFTETHER_CONNECT)]);
  const r = parseConnectRequest(bytes, 4, bytes.length - 4);
  assert.equal(r.status, "ok");
  assert.equal(r.consumed, bytes.length - 4);
});

Deno.test("parseConnectRequest: real curl CONNECT (fixture)", () => {
  const f = loadSegments("proxy_http_connect_curl");
  const r = parseConnectRequest(f.client, 0, f.client.length);
  assert.equal(r.status, "ok");
  assert.equal(r.method, "CONNECT");
  assert.equal(r.host, "vpn.example.net");
  assert.equal(r.port, 443);
  assert.equal(r.httpVersion, "HTTP/1.1");
  assert.deepEqual(r.headers.map((h) => h[0]), ["Host", "User-Agent", "Proxy-Connection"]);
  assert.equal(r.headers[0][1], "vpn.example.net:443");
  // The tunnelled TLS ClientHello starts right after the head.
  assert.equal(f.client[r.consumed], 0x16);
  assert.equal(r.consumed, f.segments[0].bytes.length);
});

Deno.test("parseConnectRequest: IPv6 target, bare LF lines", () => {
  const r = parseConnectRequest(ascii("CONNECT [2001:db8::1]:8443 HTTP/1.1\nHost: x\n\n"), 0, 50);
  assert.equal(r.status, "ok");
  assert.equal(r.host, "2001:db8::1");
  assert.equal(r.port, 8443);
  assert.equal(r.consumed, 45);
});

Deno.test("parseConnectRequest: other methods are no with the method recorded", () => {
  const b = ascii("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
  const r = parseConnectRequest(b, 0, b.length);
  assert.equal(r.status, "no");
  assert.equal(r.reason, HttpReason.NOT_CONNECT);
  assert.equal(r.method, "GET");
  assert.equal(r.target, "http://example.com/");
  assert.equal(r.httpVersion, "HTTP/1.1");
  // Known as soon as the request line is complete.
  assert.equal(parseConnectRequest(b, 0, 34).reason, HttpReason.NOT_CONNECT);
  const post = ascii("POST /vpnsvc/connect.cgi HTTP/1.1\r\n");
  assert.equal(parseConnectRequest(post, 0, post.length).method, "POST");
});

Deno.test("parseConnectRequest: non-HTTP streams are rejected from the first bytes", () => {
  const tls = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00]);
  assert.equal(parseConnectRequest(tls, 0, 5).reason, HttpReason.NOT_HTTP);
  assert.equal(parseConnectRequest(tls, 0, 1).status, "no");
  const ssh = ascii("SSH-2.0-OpenSSH_9.2p1");
  assert.equal(parseConnectRequest(ssh, 0, ssh.length).status, "no");
  const socks = new Uint8Array([5, 2, 0, 2]);
  assert.equal(parseConnectRequest(socks, 0, 4).status, "no");
  const lower = ascii("connect a:1 HTTP/1.1\r\n\r\n");
  assert.equal(parseConnectRequest(lower, 0, lower.length).status, "no");
  const v2 = ascii("CONNECT a:1 HTTP/2.0\r\n");
  assert.equal(parseConnectRequest(v2, 0, v2.length).reason, HttpReason.BAD_VERSION);
  const partialV = ascii("CONNECT a:1 HTTX");
  assert.equal(parseConnectRequest(partialV, 0, partialV.length).reason, HttpReason.BAD_VERSION);
  assert.equal(parseConnectRequest(ascii("CONNECT a:1 HT"), 0, 14).status, "need");
  assert.equal(parseConnectRequest(ascii("CONNECT a:1 HTTP/1.1\r"), 0, 21).status, "need");
  assert.equal(parseConnectRequest(new Uint8Array(0), 0, 0).status, "need");
});

Deno.test("parseConnectRequest: malformed targets and headers", () => {
  const cases: Array<[string, string]> = [
    ["CONNECT example.com HTTP/1.1\r\n\r\n", HttpReason.BAD_TARGET],
    ["CONNECT example.com:0 HTTP/1.1\r\n\r\n", HttpReason.BAD_TARGET],
    ["CONNECT example.com:65536 HTTP/1.1\r\n\r\n", HttpReason.BAD_TARGET],
    ["CONNECT user@example.com:443 HTTP/1.1\r\n\r\n", HttpReason.BAD_TARGET],
    ["CONNECT ::1:443 HTTP/1.1\r\n\r\n", HttpReason.BAD_TARGET],
    ["CONNECT a:1 HTTP/1.1\r\nHost : a\r\n\r\n", HttpReason.BAD_HEADER],
    ["CONNECT a:1 HTTP/1.1\r\nNoColon\r\n\r\n", HttpReason.BAD_HEADER],
    ["CONNECT a:1 HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", HttpReason.OBS_FOLD],
    ["CONNECT a:1 HTTP/1.1\r\nA: b\x00c\r\n\r\n", HttpReason.BAD_HEADER],
    ["CONNECT a:1 HTTP/1.1\r\nA: b\rc\r\n\r\n", HttpReason.BAD_HEADER],
    ["CONNECT a:1  HTTP/1.1\r\n\r\n", HttpReason.BAD_VERSION],
  ];
  for (const [text, reason] of cases) {
    const b = ascii(text);
    const r = parseConnectRequest(b, 0, b.length);
    assert.equal(r.status, "no", text);
    assert.equal(r.reason, reason, text);
    assert.deepEqual(r.headers, []);
  }
  // A partial header line with a bad name fails before its end arrives.
  const partial = ascii("CONNECT a:1 HTTP/1.1\r\nBad Name");
  assert.equal(parseConnectRequest(partial, 0, partial.length).reason, HttpReason.BAD_HEADER);
});

Deno.test("parseConnectRequest: head size limit", () => {
  const long = ascii(
    "CONNECT a:1 HTTP/1.1\r\n" + "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(300),
  );
  const r = parseConnectRequest(long, 0, long.length);
  assert.equal(r.status, "no");
  assert.equal(r.reason, HttpReason.HEAD_TOO_LONG);
  assert.equal(parseConnectRequest(long, 0, 4000).status, "need");
  const small = ascii(SOFTETHER_CONNECT);
  assert.equal(parseConnectRequest(small, 0, small.length, 64).reason, HttpReason.HEAD_TOO_LONG);
  const method = ascii("A".repeat(9000));
  assert.equal(parseConnectRequest(method, 0, method.length).reason, HttpReason.NOT_HTTP);
});

Deno.test("parseConnectResponse: real proxy reply and prefixes", () => {
  const f = loadSegments("proxy_http_connect_curl");
  const r = parseConnectResponse(f.server, 0, f.server.length);
  assert.equal(r.status, "ok");
  assert.equal(r.statusCode, 200);
  assert.equal(r.success, true);
  assert.equal(r.httpVersion, "HTTP/1.1");
  assert.equal(r.reasonPhrase, "Connection established");
  assert.deepEqual(r.headers, [["Proxy-Agent", "fake"]]);
  assert.equal(r.consumed, f.server.length);
  for (let n = 0; n < r.consumed; n++) {
    assert.equal(parseConnectResponse(f.server, 0, n).status, "need", `prefix ${n}`);
  }
});

Deno.test("parseConnectResponse: codes, bare status lines, failures", () => {
  const tail = new Uint8Array([0x16, 0x03, 0x03]);
  const ok = concat([ascii("HTTP/1.0 200\r\n\r\n"), tail]);
  const r = parseConnectResponse(ok, 0, ok.length);
  assert.equal(r.status, "ok");
  assert.equal(r.consumed, ok.length - 3);
  assert.equal(r.reasonPhrase, "");
  const denied = ascii("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
  const d = parseConnectResponse(denied, 0, denied.length);
  assert.equal(d.status, "ok");
  assert.equal(d.statusCode, 407);
  assert.equal(d.success, false);
  for (
    const bad of ["HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n"]
  ) {
    const b = ascii(bad);
    assert.equal(parseConnectResponse(b, 0, b.length).reason, HttpReason.BAD_STATUS, bad);
  }
  for (const bad of ["SSH-2.0-x\r\n", "HTTP/2 200\r\n\r\n", "\x16\x03\x03"]) {
    const b = ascii(bad);
    assert.equal(parseConnectResponse(b, 0, b.length).reason, HttpReason.NOT_HTTP, bad);
  }
  assert.equal(parseConnectResponse(ascii("HTTP/1.1 2"), 0, 10).status, "need");
  assert.equal(parseConnectResponse(ascii("HTTP/1.1 2a"), 0, 11).reason, HttpReason.BAD_STATUS);
});

Deno.test("softEtherConnectScore: SoftEther head scores 1, curl scores low", () => {
  const se = ascii(SOFTETHER_CONNECT);
  const s = softEtherConnectScore(parseConnectRequest(se, 0, se.length));
  assert.equal(s.score, 1);
  assert.equal(s.structureScore, 1);
  assert.deepEqual(s.markers, [
    M.HTTP_1_0,
    M.HEADER_SEQUENCE,
    M.HEADERS_SORTED,
    M.CONTENT_LENGTH_0,
    M.HOST_WITHOUT_PORT,
    M.PRAGMA_NO_CACHE,
    M.PROXY_CONNECTION_KEEP_ALIVE,
    M.USER_AGENT,
  ]);
  const f = loadSegments("proxy_http_connect_curl");
  const c = softEtherConnectScore(parseConnectRequest(f.client, 0, f.client.length));
  assert.deepEqual(c.markers, [M.PROXY_CONNECTION_KEEP_ALIVE]);
  assert.ok(c.score < 0.1 && c.structureScore < 0.1);
});

Deno.test("softEtherConnectScore: custom UA and Proxy-Authorization keep the structure", () => {
  const text = "CONNECT vpn.example.net:443 HTTP/1.0\r\nContent-Length: 0\r\n" +
    "Host: vpn.example.net\r\nPragma: no-cache\r\nProxy-Authorization: Basic dTpw\r\n" +
    "Proxy-Connection: Keep-Alive\r\nUser-Agent: MyAgent/1.0\r\n\r\n";
  const b = ascii(text);
  const s = softEtherConnectScore(parseConnectRequest(b, 0, b.length));
  assert.equal(s.structureScore, 1);
  assert.equal(s.score, 0.75);
  assert.ok(!s.markers.includes(M.USER_AGENT));
  // A 5.x user-defined header stays in sorted order but breaks the exact sequence.
  const sortedExtra = ascii(text.replace("Content-Length", "Accept: */*\r\nContent-Length"));
  const e = softEtherConnectScore(parseConnectRequest(sortedExtra, 0, sortedExtra.length));
  assert.ok(e.markers.includes(M.HEADERS_SORTED));
  assert.ok(!e.markers.includes(M.HEADER_SEQUENCE));
  const unsorted = ascii(text.replace("Pragma", "X-Custom: 1\r\nPragma"));
  const u = softEtherConnectScore(parseConnectRequest(unsorted, 0, unsorted.length));
  assert.ok(!u.markers.includes(M.HEADERS_SORTED));
  assert.ok(!u.markers.includes(M.HEADER_SEQUENCE));
});

Deno.test("softEtherConnectScore: not ok or not CONNECT scores 0", () => {
  const b = ascii("GET / HTTP/1.0\r\n\r\n");
  assert.deepEqual(softEtherConnectScore(parseConnectRequest(b, 0, b.length)), {
    score: 0,
    structureScore: 0,
    markers: [],
  });
});
