/**
 * Issue 10, item 3: strings off the wire (CONNECT host, SOCKS host, SNI,
 * User-Agent, SSH banner) cannot split, forge or corrupt any sink's line.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseSocks4Request, parseSocks5Request } from "../../src/proto/socks_message.ts";
import { parseConnectRequest } from "../../src/proto/http_connect.ts";
import { formatJsonLine } from "../../src/output/json_log.ts";
import { formatAlertLine } from "../../src/output/text_log.ts";
import { formatBsdLocal, formatRfc5424 } from "../../src/output/syslog_message.ts";
import { sampleEvent, tempDir } from "./_event.ts";

const enc = new TextEncoder();

/** Anything that ends, splits or forges a line for some reader, raw. */
// deno-lint-ignore no-control-regex
const RAW_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Hostile host names: bytes, and how the JSON `target.host` must read. */
const HOSTILE: [string, number[], string, boolean][] = [
  ["C0 + ESC", [...enc.encode("a\nb\r\x1b[31m\x00c")], "a\nb\r\x1b[31m\x00c", false],
  ["DEL, NEL, CSI", [0x61, 0x7f, 0xc2, 0x85, 0xc2, 0x9b, 0x62], "a\x7f\x85\x9bb", false],
  ["U+2028/2029", [...enc.encode("x\u2028y\u2029z")], "x\u2028y\u2029z", false],
  ["raw C1 bytes", [0x61, 0x85, 0x9b, 0x62], "a\ufffd\ufffdb", true],
  ["invalid UTF-8", [0xff, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xe2, 0x82], "\ufffd".repeat(8), true],
  ["syslog breakers", [...enc.encode('e"\\]x[y="')], 'e"\\]x[y="', false],
  ["valid UTF-8", [...enc.encode("bücher.example")], "bücher.example", false],
];

function socks5(host: number[]): Uint8Array {
  return new Uint8Array([5, 1, 0, 3, host.length, ...host, 1, 187]);
}

function socks4a(host: number[]): Uint8Array {
  return new Uint8Array([4, 1, 1, 187, 0, 0, 0, 1, 0x75, 0, ...host, 0]);
}

/** Every sink's rendering of an event naming `host`: each must be one safe line. */
function checkAllSinks(label: string, host: string, wantHost: string, invalid: boolean) {
  const ev = sampleEvent({ variant: "SOCKS5 Proxy", target: { host, port: 443 } });
  const header = {
    facility: 16,
    hostname: "h",
    appName: "sealert",
    procId: "1",
    enterpriseId: 32473,
  };
  const lines = {
    json: formatJsonLine(ev),
    text: formatAlertLine(ev, 0),
    rfc5424: formatRfc5424(ev, header),
    bsd: formatBsdLocal(ev, header, 0),
  };
  for (const [sink, line] of Object.entries(lines)) {
    assert(!RAW_UNSAFE.test(line), `${label}: ${sink} line holds a raw control: ${line}`);
    assert(line.isWellFormed(), `${label}: ${sink} line is not well-formed Unicode`);
  }
  const rec = JSON.parse(lines.json);
  assertEquals(rec.target, { host: wantHost, port: 443 }, label);
  assertEquals(rec.invalid_utf8, invalid ? ["target.host"] : undefined, label);
  const keys = Object.keys(rec);
  assertEquals(
    keys.indexOf("invalid_utf8") === -1 ? -1 : keys[keys.indexOf("target") + 1],
    invalid ? "invalid_utf8" : -1,
  );
  // RFC 5424: the SD element parses back (only \", \\, \] escapes), MSG after it.
  const sd =
    /^<\d+>1 \S+ \S+ \S+ \S+ \S+ \[sealert@32473 ((?:[a-z_]+="(?:[^"\\\]]|\\["\\\]])*" ?)+)\] (.*)$/
      .exec(lines.rfc5424);
  assert(sd, `${label}: RFC 5424 structure: ${lines.rfc5424}`);
  const target = /target="((?:[^"\\\]]|\\["\\\]])*)"/.exec(sd[1])![1].replace(/\\(.)/g, "$1");
  const want = wantHost.replace(new RegExp(RAW_UNSAFE.source, "g"), "?");
  assertEquals(target, `${want}:443`, label);
}

Deno.test("wire strings: hostile SOCKS5 / SOCKS4a / CONNECT hosts in every formatter", () => {
  for (const [label, bytes, wantHost, invalid] of HOSTILE) {
    const s5 = parseSocks5Request(socks5(bytes), 0, bytes.length + 7);
    assertEquals(s5.status, "ok", label);
    checkAllSinks(`SOCKS5 ${label}`, s5.host, wantHost, invalid);
    if (!bytes.includes(0)) {
      const s4 = parseSocks4Request(socks4a(bytes), 0, bytes.length + 11);
      assertEquals(s4.status, "ok", label);
      checkAllSinks(`SOCKS4a ${label}`, s4.hostName, wantHost, invalid);
    }
  }
  // CONNECT admits printable ASCII only; what is left are the syslog breakers.
  const req = enc.encode('CONNECT e"\\]x[y=":443 HTTP/1.1\r\nHost: x\r\n\r\n');
  const c = parseConnectRequest(req, 0, req.length);
  assertEquals(c.host, 'e"\\]x[y="');
  checkAllSinks("CONNECT", c.host, c.host, false);
});

/** Replaces `find` in `bytes` by `repl` (same length), at every occurrence; returns the count. */
function patch(bytes: Uint8Array, find: Uint8Array, repl: number[]): number {
  assertEquals(repl.length, find.length);
  let n = 0;
  outer: for (let i = 0; i + find.length <= bytes.length; i++) {
    for (let j = 0; j < find.length; j++) if (bytes[i + j] !== find[j]) continue outer;
    bytes.set(repl, i);
    n++;
  }
  return n;
}

/** `len` hostile bytes: ESC, CR, LF, NEL, raw C1, LS, DEL, invalid UTF-8, quotes and brackets. */
function hostileBytes(len: number, crlf = true): number[] {
  const base = [
    0x1b,
    0x5b,
    0x32,
    0x4a,
    0xc2,
    0x85,
    0x9b,
    0xe2,
    0x80,
    0xa8,
    0x7f,
    0xff,
    0x22,
    0x5d,
    0x5c,
  ];
  if (crlf) base.push(0x0d, 0x0a);
  return Array.from({ length: len }, (_, i) => base[i % base.length]);
}

Deno.test("wire strings: captures with hostile SNI, User-Agent, CONNECT host and SSH banner, every sink", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const files: string[] = [];
    const prep = (src: string, edits: [string, (n: number) => number[]][]) => {
      const b = Deno.readFileSync(src);
      for (const [find, make] of edits) {
        assert(patch(b, enc.encode(find), make(find.length)) > 0, `${src}: ${find}`);
      }
      const out = `${dir}/${files.length}.pcap`;
      Deno.writeFileSync(out, b);
      files.push(out);
    };
    // CONNECT admits printable ASCII only: the syslog / JSON breakers.
    prep("testdata/lab/http_proxy.pcap", [
      ["CONNECT 10.77.2.2:443", () => [...enc.encode('CONNECT e"\\]x[y=":443')]],
    ]);
    // A User-Agent with controls makes the request not HTTP (no alert), with high bytes only
    // it is kept: either way it reaches no sink.
    prep("testdata/lab/http_proxy.pcap", [
      ["Mozilla/5.0 (Windows NT 6.3; WOW64; rv:29.0)", (n) => hostileBytes(n, false)],
    ]);
    prep("testdata/lab/http_proxy.pcap", [
      [
        "Mozilla/5.0 (Windows NT 6.3; WOW64; rv:29.0)",
        (n) => hostileBytes(n, false).map((b) => b | 0x80),
      ],
    ]);
    prep("testdata/lab2/hostname_direct.pcap", [["vpn.lab", (n) => hostileBytes(n)]]);
    prep("testdata/lab/ssh_forward.pcap", [["Debian-2+deb12u10", (n) => hostileBytes(n, false)]]);
    const out = {
      log: `${dir}/sealert.log`,
      json: `${dir}/alerts.json`,
      flows: `${dir}/flows.json`,
    };
    const p = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "main.ts",
        "--quiet",
        "--no-progress",
        "--log",
        out.log,
        "--json",
        out.json,
        "--flows",
        out.flows,
        "--evidence-dir",
        `${dir}/ev`,
        "--read",
        ...files,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(p.stderr);
    assertEquals(p.code, 0, stderr);
    const json = Deno.readTextFileSync(out.json).split("\n");
    assertEquals(json.pop(), "");
    const variants = json.map((l) => JSON.parse(l)).map((r) => r.variant + (r.target?.host ?? ""));
    assert(variants.includes('HTTP Proxye"\\]x[y="'), variants.join(","));
    assert(variants.includes("TCP"), variants.join(","));
    assert(variants.includes("SSH"), variants.join(","));
    for (const [name, path] of Object.entries(out)) {
      const text = Deno.readTextFileSync(path);
      const lines = text.split("\n");
      assertEquals(lines.pop(), "", name);
      assert(lines.length > 0, name);
      for (const l of lines) {
        assert(!RAW_UNSAFE.test(l), `${name}: ${l}`);
        if (name !== "log") JSON.parse(l);
        else assert(/^\[\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\] SoftEther [ -~]+$/.test(l), l);
      }
    }
    for (const e of Deno.readDirSync(`${dir}/ev`)) {
      assert(
        /^\d{8}T\d{6}_[0-9A-Za-z.-]+_[0-9A-Za-z.-]+_[0-9A-Za-z.-]+\.pcap$/.test(e.name),
        e.name,
      );
    }
  } finally {
    cleanup();
  }
});
