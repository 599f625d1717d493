import assert from "node:assert/strict";
import { findHeader, parseRequestLine } from "../../src/proto/http_request_line.ts";
import { ascii } from "./fixture.ts";

const text = (b: Uint8Array, s: number, e: number) => new TextDecoder().decode(b.subarray(s, e));

function line(s: string): [string, string, number] | null {
  const b = ascii(s), out = new Int32Array(4);
  const next = parseRequestLine(b, 0, b.length, out);
  return next < 0 ? null : [text(b, out[0], out[1]), text(b, out[2], out[3]), next];
}

function header(s: string, name: string): string | null {
  const b = ascii(s), out = new Int32Array(4);
  const next = parseRequestLine(b, 0, b.length, out);
  assert.ok(next >= 0);
  return findHeader(b, next, b.length, ascii(name), out) ? text(b, out[0], out[1]) : null;
}

Deno.test("http request line: method, target and where the headers start", () => {
  assert.deepEqual(line("POST /ddns/ddns.aspx?v=1 HTTP/1.1\r\nHost: a\r\n\r\n"), [
    "POST",
    "/ddns/ddns.aspx?v=1",
    35,
  ]);
  assert.deepEqual(line("GET http://h/x HTTP/1.0\nX: y\n\n"), ["GET", "http://h/x", 24]);
  assert.equal(line("GET / HTTP/1.1"), null, "line not complete");
  assert.equal(line("get / HTTP/1.1\r\n"), null, "lower-case method");
  assert.equal(line("GET  / HTTP/1.1\r\n"), null, "empty target");
  assert.equal(line("GET / HTTP/2.0\r\n"), null);
  assert.equal(line("GET /\r\n"), null, "HTTP/0.9");
  assert.equal(line("GET / HTTP/1.1 x\r\n"), null);
  assert.equal(line("GET /\x01 HTTP/1.1\r\n"), null, "control byte");
  assert.equal(line("\x16\x03\x01\x00"), null);
  assert.equal(line("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n"), null, "method too long");
});

Deno.test("http request line: header fields by name, case-insensitive, values trimmed", () => {
  const req = "GET /x HTTP/1.1\r\nhOsT:  a.example:80 \r\nKeep-Alive: timeout=15; max=19\r\n" +
    "Accept-Language: ja\r\n\r\nHost: body.example\r\n";
  assert.equal(header(req, "host"), "a.example:80");
  assert.equal(header(req, "keep-alive"), "timeout=15; max=19");
  assert.equal(header(req, "accept-language"), "ja");
  assert.equal(header(req, "user-agent"), null);
  assert.equal(header(req, "accept"), null, "a prefix of a name is not the name");
  assert.equal(header("GET / HTTP/1.1\r\nHost: cut", "host"), null, "line cut by the segment");
  assert.equal(header("GET / HTTP/1.1\r\nX-Host: no\r\nHost:\r\n", "host"), "");
});
