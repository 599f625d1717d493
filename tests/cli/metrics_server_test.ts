/**
 * `--metrics ADDR`: the address forms and their mistakes; the endpoint in
 * process (paths, methods, labels, escaping, every metric family); through
 * the real CLI offline (a capture fed through a FIFO: served while the run
 * lasts, packets_total equal to the packets written so far) and live (a
 * network namespace with a veth pair, the lab's direct_443 session replayed
 * onto it: packets and bytes equal to what was sent, the alerts counted);
 * a bind that fails is one `sealert: …` line and exit 2 before any log file.
 *
 * Every scrape is checked line by line against the text exposition format
 * 0.0.4 and, where `promtool` is installed (Debian's `prometheus` package),
 * by `promtool check metrics` too. The live case needs root and `ip`:
 * skipped with a reason outside CI, never skipped with CI=true.
 */
import assert from "node:assert/strict";
import { parseOptions } from "../../src/cli/args.ts";
import { MetricsServer, parseMetricsAddress } from "../../src/cli/metrics_server.ts";
import type { WorkerStats } from "../../src/cli/analysis_protocol.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { asNobody, readableCopy } from "../helpers/as_nobody.ts";
import { inCi, privilegeProblem, skipPrivileged } from "../ffi/_privilege.ts";
import { sampleEvent } from "../output/_event.ts";
import { Proc } from "../helpers/proc.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;
const SESSION = `${ROOT}testdata/lab/direct_443.pcap`;
const REPLAY = `${ROOT}tests/capture/live_faults_replay.ts`;

// ---------------------------------------------------------------------------
// The exposition, checked line by line.

/** One sample: its metric name, labels (unescaped) and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\[\\"n]|[^\\"\n])*)"(,|$)/y;

/** Go ParseFloat's forms that the format allows. */
function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  assert.match(text, /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, `value ${text}`);
  return Number(text);
}

/**
 * Checks `text` against the exposition format's rules and sealert's naming
 * (prefix `sealert_`, counters `_total`, gauges not) and returns its samples.
 */
function checkExposition(text: string): Sample[] {
  assert.ok(text.endsWith("\n"), "ends with a line feed");
  const help = new Map<string, string>(), type = new Map<string, string>();
  const closed = new Set<string>(); // families whose samples are over
  const series = new Set<string>();
  const samples: Sample[] = [];
  let current = "";
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta !== null) {
      const [, what, name, rest] = meta;
      assert.match(name, NAME, line);
      assert.ok(!closed.has(name) && name !== current || what === "TYPE", `${name} reopened`);
      if (current !== name && current !== "") closed.add(current);
      current = name;
      if (what === "HELP") {
        assert.ok(!help.has(name), `one HELP for ${name}`);
        assert.ok(rest.length > 0 && !/\\[^\\n]/.test(rest), `HELP text of ${name}`);
        help.set(name, rest);
      } else {
        assert.ok(!type.has(name), `one TYPE for ${name}`);
        assert.ok(rest === "counter" || rest === "gauge", `${name} type ${rest}`);
        type.set(name, rest);
      }
      continue;
    }
    assert.ok(!line.startsWith("#") && line !== "", `unexpected line ${JSON.stringify(line)}`);
    const m = /^([^{ ]+)(\{.*\})? (\S+)$/.exec(line);
    assert.ok(m !== null, `sample line ${JSON.stringify(line)}`);
    const [, name, labelText = "", valueText] = m;
    assert.match(name, NAME, line);
    assert.equal(name, current, `${name} sample inside its family (after HELP and TYPE)`);
    assert.ok(help.has(name) && type.has(name), `${name} has HELP and TYPE`);
    assert.ok(name.startsWith("sealert_"), name);
    assert.equal(
      name.endsWith("_total"),
      type.get(name) === "counter",
      `${name}: _total ⇔ counter`,
    );
    const labels: Record<string, string> = {};
    if (labelText !== "") {
      const inner = labelText.slice(1, -1);
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < inner.length) {
        const at = LABEL.lastIndex;
        const l = LABEL.exec(inner);
        assert.ok(l !== null && l.index === at, `labels of ${line}`);
        assert.ok(!l[1].startsWith("__") && !(l[1] in labels), `label ${l[1]}`);
        labels[l[1]] = l[2].replace(/\\([\\"n])/g, (_, c) => c === "n" ? "\n" : c);
      }
    }
    const value = parseValue(valueText);
    if (type.get(name) === "counter") assert.ok(value >= 0, `${line}: a count`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!series.has(key), `one sample per series: ${line}`);
    series.add(key);
    samples.push({ name, labels, value });
  }
  return samples;
}

/** Is `promtool` installed (Debian package `prometheus`)? */
function havePromtool(): boolean {
  try {
    return new Deno.Command("promtool", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
const PROMTOOL = havePromtool();
if (!PROMTOOL) {
  console.log("promtool not installed: scrapes are checked by this test's parser only");
}

Deno.test("promtool: installed in CI (.ci/run installs Debian's prometheus package)", () => {
  if (inCi) assert.ok(PROMTOOL, "promtool must check the scrapes in CI");
});

/** `promtool check metrics` (format and lint) on `text`, when promtool is installed. */
async function promtoolCheck(text: string): Promise<void> {
  if (!PROMTOOL) return;
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  assert.ok(out.success, `promtool: ${dec.decode(out.stdout)}${dec.decode(out.stderr)}`);
}

/** GET `url`, checked: 200, the format's content type, a valid exposition. */
async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  const body = await res.text();
  assert.equal(res.status, 200, body);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const samples = checkExposition(body);
  await promtoolCheck(body);
  return samples;
}

/** The value of the one sample of `name` whose labels include `labels`. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  assert.equal(found.length, 1, `one ${name} ${JSON.stringify(labels)}: ${found.length}`);
  return found[0].value;
}

// ---------------------------------------------------------------------------
// Addresses.

Deno.test("--metrics: address forms", () => {
  const ok: [string, string, number][] = [
    ["127.0.0.1:9617", "127.0.0.1", 9617],
    ["[::1]:9617", "::1", 9617],
    ["[2001:db8::1]:1", "2001:db8::1", 1],
    [":9617", "", 9617],
    ["0.0.0.0:65535", "0.0.0.0", 65535],
    ["localhost:9617", "localhost", 9617],
    ["sensor-1.example.org:80", "sensor-1.example.org", 80],
    ["[::ffff:10.0.0.1]:9617", "::ffff:10.0.0.1", 9617],
  ];
  for (const [text, hostname, port] of ok) {
    assert.deepEqual(parseMetricsAddress(text), { hostname, port }, text);
    assert.deepEqual(parseOptions(["--metrics", text]).metrics, { hostname, port }, text);
  }
  assert.equal(parseOptions([]).metrics, undefined);
  assert.deepEqual(parseOptions(["-r", "x.pcap", "--metrics=:1"]).metrics, {
    hostname: "",
    port: 1,
  });
});

Deno.test("--metrics: a bad address says what is wrong", () => {
  const bad: [string, RegExp][] = [
    ["9617", /no port/],
    ["127.0.0.1", /no port/],
    ["127.0.0.1:", /no port/],
    ["127.0.0.1:0", /port "0" is not a whole number from 1 to 65,535/],
    ["127.0.0.1:65536", /port "65536"/],
    ["127.0.0.1:+80", /port "\+80"/],
    ["127.0.0.1:0x50", /port "0x50"/],
    ["127.0.0.1:http", /port "http"/],
    ["127.0.0.1:123456", /port "123456"/],
    ["::1:9617", /IPv6 addresses go in brackets: \[::1\]:9617/],
    ["[::1:9617", /brackets|bracketed/],
    ["[::g]:9617", /not a bracketed IPv6 address/],
    ["[127.0.0.1]:9617", /not a bracketed IPv6 address/],
    ["[fe80::1%eth0]:9617", /not a bracketed IPv6 address/],
    ["256.0.0.1:9617", /not an IPv4 address/],
    ["1.2.3:9617", /not an IPv4 address/],
    ["bad host:9617", /not a host name/],
    ["-x:9617", /not a host name/],
    ["a..b:9617", /not a host name/],
    ["http://127.0.0.1:9617", /IPv6 addresses go in brackets|not a host name/],
  ];
  for (const [text, reason] of bad) {
    assert.throws(() => parseMetricsAddress(text), RangeError, text);
    assert.throws(
      () => parseOptions([`--metrics=${text}`]),
      (e: Error) => {
        assert.match(e.message, /^Invalid value for --metrics: ".*": /, text);
        assert.match(e.message, reason, text);
        return e.name === "UsageError";
      },
    );
  }
  assert.throws(() => parseOptions(["--metrics", ""]), /--metrics: must not be empty/);
  assert.throws(() => parseOptions(["--metrics"]), /--metrics needs a value/);
});

// ---------------------------------------------------------------------------
// The endpoint in process.

/** What a run gives the endpoint: its workers' counters (the worker path builds one). */
type MetricsSource = Parameters<MetricsServer["attach"]>[0];
type WorkerMetrics = ReturnType<MetricsSource["workers"]> extends Iterable<infer W> ? W : never;

function worker(
  iface: string | undefined,
  n: number,
  over: Partial<WorkerStats>,
): WorkerMetrics {
  return {
    interface: iface,
    worker: n,
    stats: {
      packets: 0,
      wireBytes: 0,
      decoded: { ipv4: 0, ipv6: 0, tcp: 0, udp: 0, icmp: 0, nonIp: 0 },
      flows: { total: 0, active: 0, timedOut: 0, evicted: 0 },
      defrag: null,
      classifier: { inspected: 0, classified: 0, alerts: 0, folded: 0, evicted: 0, errors: 0 },
      inspecting: 0,
      footprint: {
        udpAccel: 0,
        nbns: 0,
        icmpSessions: 0,
        icmpProbes: 0,
        dnsSessions: 0,
        dnsProbes: 0,
        infraEvents: 0,
        infraContacts: {},
        faces: 0,
      },
      events: {},
      weirds: {},
      ...over,
    },
  };
}

function event(over: Partial<DetectionEvent>): DetectionEvent {
  return { ...sampleEvent(), ...over };
}

Deno.test("metrics endpoint: /metrics only, GET and HEAD only", async () => {
  const server = MetricsServer.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const base = `http://127.0.0.1:${server.port}`;
    for (const path of ["/", "/metrics/", "/metric", "/favicon.ico"]) {
      const res = await fetch(base + path);
      assert.equal(res.status, 404, path);
      await res.body?.cancel();
    }
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const res = await fetch(`${base}/metrics`, { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get("allow"), "GET, HEAD");
      await res.body?.cancel();
    }
    const head = await fetch(`${base}/metrics`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    // A query string is still /metrics. Before a run is attached: build info, uptime and the
    // alert series at 0, nothing of workers or sinks.
    const samples = await scrape(`${base}/metrics?x=1`);
    assert.deepEqual([...new Set(samples.map((s) => s.name))], [
      "sealert_build_info",
      "sealert_uptime_seconds",
      "sealert_alerts_total",
      "sealert_session_ends_total",
    ]);
    assert.deepEqual(samples[0].labels, {
      version: "0.1.0",
      deno: Deno.version.deno,
      os: Deno.build.os,
    });
    assert.equal(samples[0].value, 1);
    assert.ok(samples[1].value > 0 && samples[1].value < 3600);
    assert.ok(samples.slice(2).every((s) => s.value === 0));
  } finally {
    await server.close();
  }
});

Deno.test("metrics endpoint: every family from a source, the events and the sinks", async () => {
  const server = MetricsServer.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const workers = [
      worker("eth1", 0, {
        packets: 100,
        wireBytes: 64_000,
        flows: { total: 7, active: 3, timedOut: 2, evicted: 1 },
        inspecting: 2,
        classifier: { inspected: 9, classified: 2, alerts: 1, folded: 1, evicted: 4, errors: 5 },
        decoded: { ipv4: 90, ipv6: 8, tcp: 80, udp: 15, icmp: 3, nonIp: 2 },
        defrag: { fragments: 3, reassembled: 1, dropped: 0, timedOut: 0, evicted: 0 },
        weirds: { tcp_retransmission: 4, bad_udp_length: 0 },
        capture: { received: 105, dropped: 5, ifDropped: 6 },
      }),
      worker("eth1", 1, {
        packets: 50,
        weirds: { tcp_retransmission: 1 },
        capture: { received: 50, dropped: 0, ifDropped: 0 },
      }),
      // An interface name with every character the format escapes.
      worker('we\\ird"\nname', 0, { packets: 1 }),
    ];
    const source: MetricsSource = { workers: () => workers };
    let failures = 0;
    server.attach(source, () => [{ sink: "text", failures: 0 }, { sink: "json", failures }]);
    server.observe(event({ kind: "vpn", variant: "TCP" }));
    server.observe(event({ kind: "vpn", variant: "TCP" }));
    server.observe(event({ kind: "vpn", variant: "TCP", phase: "end" }));
    server.observe(event({ kind: "admin", variant: "SOCKS5 Proxy" }));
    server.observe(event({ kind: "udp_accel", variant: "UDP" }));
    server.observe(event({ kind: "infrastructure", variant: "UDP", service: "NAT-T" }));
    server.observe(event({ kind: "server", variant: "TCP", face: "SSTP" }));
    server.observe(event({ kind: "server", variant: "UDP", face: "certificate" })); // not pre-listed
    failures = 3;
    const s = await scrape(server.url);
    const e1w0 = { interface: "eth1", worker: "0" }, e1w1 = { interface: "eth1", worker: "1" };
    assert.equal(value(s, "sealert_packets_total", e1w0), 100);
    assert.equal(value(s, "sealert_packets_total", e1w1), 50);
    assert.equal(value(s, "sealert_packets_total", { interface: 'we\\ird"\nname' }), 1);
    assert.equal(value(s, "sealert_bytes_total", e1w0), 64_000);
    assert.equal(value(s, "sealert_kernel_drops_total", e1w0), 5);
    assert.equal(value(s, "sealert_interface_drops_total", e1w0), 6);
    assert.equal(value(s, "sealert_kernel_drops_total", e1w1), 0);
    // No capture counters (offline-like worker): no drop series.
    assert.equal(s.filter((x) => x.name === "sealert_kernel_drops_total").length, 2);
    assert.equal(value(s, "sealert_flows_total", e1w0), 7);
    assert.equal(value(s, "sealert_flows_active", e1w0), 3);
    assert.equal(value(s, "sealert_flows_timed_out_total", e1w0), 2);
    assert.equal(value(s, "sealert_flows_evicted_total", e1w0), 1);
    assert.equal(value(s, "sealert_inspections_active", e1w0), 2);
    assert.equal(value(s, "sealert_inspections_total", e1w0), 9);
    assert.equal(value(s, "sealert_inspections_evicted_total", e1w0), 4);
    assert.equal(value(s, "sealert_inspection_errors_total", e1w0), 5);
    assert.equal(value(s, "sealert_decoder_ip_packets_total", { ...e1w0, version: "4" }), 90);
    assert.equal(value(s, "sealert_decoder_ip_packets_total", { ...e1w0, version: "6" }), 8);
    assert.equal(
      value(s, "sealert_decoder_transport_packets_total", { ...e1w0, protocol: "tcp" }),
      80,
    );
    assert.equal(
      value(s, "sealert_decoder_transport_packets_total", { ...e1w0, protocol: "udp" }),
      15,
    );
    assert.equal(
      value(s, "sealert_decoder_transport_packets_total", { ...e1w0, protocol: "icmp" }),
      3,
    );
    assert.equal(value(s, "sealert_ip_fragments_total", e1w0), 3);
    assert.equal(value(s, "sealert_ip_reassembled_total", e1w0), 1);
    assert.equal(value(s, "sealert_ip_fragments_total", e1w1), 0); // no reassembly yet: 0
    assert.equal(value(s, "sealert_decoder_non_ip_frames_total", e1w0), 2);
    assert.equal(value(s, "sealert_weird_total", { ...e1w0, name: "tcp_retransmission" }), 4);
    assert.equal(value(s, "sealert_weird_total", { ...e1w1, name: "tcp_retransmission" }), 1);
    assert.equal(s.filter((x) => x.labels.name === "bad_udp_length").length, 0); // zeros left out
    assert.equal(value(s, "sealert_alerts_total", { kind: "vpn", variant: "TCP" }), 2);
    assert.equal(value(s, "sealert_alerts_total", { kind: "vpn", variant: "DNS" }), 0);
    assert.equal(value(s, "sealert_alerts_total", { kind: "admin", variant: "SOCKS5 Proxy" }), 1);
    assert.equal(value(s, "sealert_alerts_total", { kind: "udp_accel" }), 1);
    assert.equal(value(s, "sealert_alerts_total", { kind: "nbns" }), 0);
    assert.equal(
      value(s, "sealert_alerts_total", {
        kind: "infrastructure",
        variant: "UDP",
        service: "NAT-T",
      }),
      1,
    );
    assert.equal(
      value(s, "sealert_alerts_total", { kind: "infrastructure", variant: "TCP", service: "DDNS" }),
      0,
    );
    assert.equal(value(s, "sealert_alerts_total", { kind: "server", face: "SSTP" }), 1);
    assert.equal(
      value(s, "sealert_alerts_total", { kind: "server", variant: "UDP", face: "certificate" }),
      1,
    );
    // Every kind is listed from the start, side flows included.
    const kinds = new Set(
      s.filter((x) => x.name === "sealert_alerts_total").map((x) => x.labels.kind),
    );
    assert.deepEqual([...kinds].sort(), [
      "admin",
      "dns_probe",
      "icmp_probe",
      "infrastructure",
      "nbns",
      "server",
      "udp_accel",
      "vpn",
    ]);
    assert.equal(value(s, "sealert_session_ends_total", { kind: "vpn", variant: "TCP" }), 1);
    assert.equal(value(s, "sealert_sink_failures_total", { sink: "json" }), 3);
    assert.equal(value(s, "sealert_sink_failures_total", { sink: "text" }), 0);
    assert.equal(value(s, "sealert_build_info"), 1);
  } finally {
    await server.close();
  }
});

Deno.test("metrics endpoint: [::1] and every address (IPv6 and IPv4)", async () => {
  const v6 = MetricsServer.listen({ hostname: "::1", port: 0 });
  try {
    assert.match(v6.url, /^http:\/\/\[::1\]:\d+\/metrics$/);
    await scrape(v6.url);
  } finally {
    await v6.close();
  }
  const any = MetricsServer.listen({ hostname: "", port: 0 });
  try {
    await scrape(`http://127.0.0.1:${any.port}/metrics`);
    await scrape(`http://[::1]:${any.port}/metrics`);
  } finally {
    await any.close();
  }
});

// ---------------------------------------------------------------------------
// Through the CLI.

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function sealert(args: string[], cwd?: string): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { NO_COLOR: "1", TZ: "UTC" },
    stdin: "null",
    cwd,
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A TCP port free on 127.0.0.1 now. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr;
  l.close();
  return port;
}

Deno.test("--metrics CLI: a bad address or a failed bind is one line, exit 2, no log file", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "sealert-metrics-" });
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const cases: [string, RegExp][] = [
      ["127.0.0.1", /^sealert: Invalid value for --metrics: "127\.0\.0\.1": no port .*--help/],
      ["[::1]:0", /^sealert: Invalid value for --metrics: "\[::1\]:0": port "0"/],
      [
        `127.0.0.1:${busy.addr.port}`,
        new RegExp(
          `^sealert: Cannot serve --metrics on 127\\.0\\.0\\.1:${busy.addr.port}: ` +
            "address already in use$",
        ),
      ],
      // TEST-NET-1: on no interface of this host.
      [
        "192.0.2.1:9617",
        /^sealert: Cannot serve --metrics on 192\.0\.2\.1:9617: address not available/,
      ],
      [
        "nonexistent.invalid:9617",
        /^sealert: Cannot serve --metrics on nonexistent\.invalid:9617: /,
      ],
    ];
    for (const [addr, pattern] of cases) {
      for (const mode of [["--read", SESSION], ["sealert-nodev0"]]) {
        const r = await sealert([...mode, "--json", "alerts.json", "--metrics", addr], dir);
        assert.equal(r.code, 2, `${addr}: ${r.stderr}`);
        const lines = r.stderr.split("\n");
        assert.equal(lines.length, 2, r.stderr);
        assert.match(lines[0], pattern);
        assert.equal(r.stdout, "");
        assert.deepEqual([...Deno.readDirSync(dir)], [], `${addr}: no file created`);
      }
    }
  } finally {
    busy.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "--metrics CLI: a port below 1024 as an unprivileged user is one line, exit 2",
  ignore: skipPrivileged("--metrics: privileged port as nobody"),
  async fn() {
    await using app = await readableCopy();
    const out = await asNobody(app, [
      "--read",
      `${app.dir}/app/main.ts`, // never read: the bind fails first
      "--log",
      "none",
      "--metrics",
      "127.0.0.1:80",
    ]).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.equal(
      stderr,
      "sealert: Cannot serve --metrics on 127.0.0.1:80: permission denied " +
        "(ports below 1024 need root or CAP_NET_BIND_SERVICE)\n",
    );
  },
});

/** The packets of a classic pcap file: count and wire bytes of the records within `limit` bytes. */
function pcapRecords(data: Uint8Array, limit = data.length): { packets: number; bytes: number } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let packets = 0, bytes = 0;
  for (let off = 24; off + 16 <= limit;) {
    const capLen = view.getUint32(off + 8, true);
    if (off + 16 + capLen > limit) break;
    packets++;
    bytes += view.getUint32(off + 12, true);
    off += 16 + capLen;
  }
  return { packets, bytes };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Scrape `url` until `ok` holds for the samples (or fail after `ms`). */
async function scrapeUntil(
  what: string,
  url: string,
  ok: (s: Sample[]) => boolean,
  ms = 30_000,
): Promise<Sample[]> {
  const end = Date.now() + ms;
  let last = "";
  for (;;) {
    try {
      const s = await scrape(url);
      if (ok(s)) return s;
      last = JSON.stringify(s.filter((x) => x.name === "sealert_packets_total"));
    } catch (e) {
      if (!(e instanceof TypeError)) throw e; // not listening yet
      last = e.message;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (${last})`);
    await sleep(100);
  }
}

Deno.test({
  name: "--metrics CLI: offline, served while a FIFO is read; packets as written so far",
  ignore: Deno.build.os === "windows",
  sanitizeResources: false,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "sealert-metrics-" });
    const fifo = `${dir}/capture.pcap`;
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(mk.success);
    const port = freePort();
    const url = `http://127.0.0.1:${port}/metrics`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "--read",
        fifo,
        "--log",
        "none",
        "--no-progress",
        "--metrics",
        `127.0.0.1:${port}`,
      ],
      env: { NO_COLOR: "1", TZ: "UTC" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    try {
      const data = Deno.readFileSync(SESSION);
      const half = Math.floor(data.length / 2);
      const writer = await Deno.open(fifo, { write: true });
      try {
        await writer.write(data.subarray(0, half));
        const first = pcapRecords(data, half);
        assert.ok(first.packets > 10);
        const s1 = await scrapeUntil(
          `${first.packets} packets`,
          url,
          (s) => value(s, "sealert_packets_total", { worker: "0" }) === first.packets,
        );
        assert.equal(value(s1, "sealert_bytes_total", { worker: "0" }), first.bytes);
        // Offline: no interface label, no capture drop counters.
        assert.ok(s1.every((x) => !("interface" in x.labels)));
        assert.ok(!s1.some((x) => x.name === "sealert_kernel_drops_total"));
        await writer.write(data.subarray(half));
        const all = pcapRecords(data);
        const s2 = await scrapeUntil(
          `${all.packets} packets`,
          url,
          (s) => value(s, "sealert_packets_total", { worker: "0" }) === all.packets,
        );
        assert.equal(value(s2, "sealert_bytes_total", { worker: "0" }), all.bytes);
        assert.equal(
          value(s2, "sealert_decoder_ip_packets_total", { worker: "0", version: "4" }),
          all.packets,
        );
        assert.equal(value(s2, "sealert_alerts_total", { kind: "vpn", variant: "TCP" }), 1);
        // --log none, no --json: no sink, no sink series.
        assert.ok(!s2.some((x) => x.name === "sealert_sink_failures_total"));
      } finally {
        writer.close();
      }
      const out = await output;
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.equal(stderr.split("\n")[0], `sealert: metrics at ${url}`);
      // The run is over: the endpoint with it.
      await assert.rejects(() => fetch(url), TypeError);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited already.
      }
      await output.catch(() => {});
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

// ---------------------------------------------------------------------------
// Live, in a network namespace.

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name: "--metrics CLI: live, packets and bytes as sent, drops per worker, the alerts counted",
  ignore: skipPrivileged("--metrics CLI: live"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (inCi) assert.equal(privilegeProblem(), undefined, "CI must run the live metrics test");
    const tag = `${Deno.pid}`;
    const ns = `sealert-met-${tag}`;
    const capture = `vma${tag}`.slice(0, 15), send = `vmb${tag}`.slice(0, 15);
    const dir = Deno.makeTempDirSync({ prefix: "sealert-metrics-" });
    const procs: Proc[] = [];
    const inNs = (cmd: string[]) => {
      const p = new Proc("ip", ["netns", "exec", ns, ...cmd]);
      procs.push(p);
      return p;
    };
    const fetchInNs = async (path: string, method = "GET") => {
      // The endpoint listens in the namespace: curl from inside it.
      const out = await run("ip", [
        "netns",
        "exec",
        ns,
        "curl",
        "-s",
        "-X",
        method,
        "-w",
        "\n%{http_code} %{content_type}",
        `http://127.0.0.1:9617${path}`,
      ]);
      const cut = out.lastIndexOf("\n");
      return { body: out.slice(0, cut), status: out.slice(cut + 1) };
    };
    const scrapeNs = async (): Promise<Sample[]> => {
      const { body, status } = await fetchInNs("/metrics");
      assert.equal(status, "200 text/plain; version=0.0.4; charset=utf-8", body);
      const s = checkExposition(body);
      await promtoolCheck(body);
      return s;
    };
    try {
      await run("ip", ["netns", "add", ns]);
      // No IPv6 on the pair: no router solicitations or MLD reports besides the replay.
      await run("ip", [
        "netns",
        "exec",
        ns,
        "sysctl",
        "-qw",
        "net.ipv6.conf.default.disable_ipv6=1",
      ]);
      await run("ip", ["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
      await run("ip", ["-n", ns, "link", "add", capture, "type", "veth", "peer", "name", send]);
      for (const dev of ["lo", capture, send]) {
        await run("ip", ["-n", ns, "link", "set", dev, "up"]);
      }
      const json = `${dir}/alerts.json`;
      const p = inNs([
        Deno.execPath(),
        "run",
        "-A",
        MAIN,
        capture,
        "--status",
        "0",
        "--log",
        "none",
        "--json",
        json,
        "--metrics",
        "127.0.0.1:9617",
      ]);
      const end = Date.now() + 30_000;
      while (!p.stdout.includes("Starting Capture Packets") && p.code === undefined) {
        if (Date.now() > end) throw new Error(`sealert did not start: ${p.stderr}`);
        await sleep(50);
      }
      assert.equal(p.code, undefined, p.stderr);
      assert.match(p.stderr, /^sealert: metrics at http:\/\/127\.0\.0\.1:9617\/metrics$/m);
      const idle = await scrapeNs();
      const w = { interface: capture, worker: "0" };
      assert.equal(value(idle, "sealert_packets_total", w), 0);
      assert.equal(value(idle, "sealert_alerts_total", { kind: "vpn", variant: "TCP" }), 0);
      assert.equal(
        (await fetchInNs("/")).status.split(" ")[0],
        "404",
      );
      assert.equal((await fetchInNs("/metrics", "POST")).status.split(" ")[0], "405");

      const replay = inNs([Deno.execPath(), "run", "-A", REPLAY, send, SESSION, "2", "0", "0"]);
      assert.equal(await replay.done, 0, replay.stderr);
      const sent = Number(/^sent (\d+)$/m.exec(replay.stdout)?.[1]);
      const once = pcapRecords(Deno.readFileSync(SESSION));
      assert.equal(sent, 2 * once.packets);
      let s: Sample[] = [];
      while (Date.now() < end + 30_000) {
        s = await scrapeNs();
        const done = value(s, "sealert_packets_total", w) >= sent &&
          value(s, "sealert_alerts_total", { kind: "vpn", variant: "TCP" }) >= 2;
        if (done) break;
        await sleep(100);
      }
      assert.equal(value(s, "sealert_packets_total", w), sent);
      assert.equal(value(s, "sealert_bytes_total", w), 2 * once.bytes);
      assert.equal(value(s, "sealert_kernel_drops_total", w), 0);
      assert.equal(value(s, "sealert_interface_drops_total", w), 0);
      assert.equal(value(s, "sealert_decoder_ip_packets_total", { ...w, version: "4" }), sent);
      assert.ok(value(s, "sealert_flows_total", w) >= 2);
      assert.equal(value(s, "sealert_alerts_total", { kind: "vpn", variant: "TCP" }), 2);
      assert.equal(value(s, "sealert_sink_failures_total", { sink: "json" }), 0);
      assert.ok(!s.some((x) => x.labels.sink === "syslog")); // no --syslog: no syslog sink
      p.child.kill("SIGTERM");
      assert.equal(await p.done, 0, p.stderr);
      // The run is over: the endpoint with it.
      assert.match(
        (await fetchInNs("/metrics").catch((e) => ({ status: String(e) }))).status,
        /failed/,
      );
    } finally {
      for (const p of procs) await p.kill();
      await run("ip", ["netns", "del", ns]).catch(() => "");
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
