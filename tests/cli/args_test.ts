/**
 * Every bad command line is one `sealert: …` usage line on stderr and exit 2 (issue 10, item 5):
 * the real CLI run as a subprocess on a table of mistakes. Each line reads a file that does not
 * exist, so a mistake the parser let through would show as exit 1 ("Cannot open capture file").
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { HELP, parseOptions } from "../../src/cli/args.ts";
import { UsageError } from "../../src/cli/usage_error.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
const NO_FILE = "/nonexistent/sealert-args-test.pcap";
/** A run that would read NO_FILE if its options were accepted. */
const R = ["--log", "none", "--read", NO_FILE];

/** [command line, a pattern the message must match]. */
const BAD: [string[], RegExp][] = [
  // The examples.
  [[...R, "--syslog", "garbage"], /--syslog.*"garbage"/],
  [[...R, "--syslog", "udp://"], /--syslog.*host/],
  [[...R, "--syslog", "udp://host:99999"], /--syslog.*port.*1 to 65535/],
  [[...R, "--syslog", "http://host:514"], /--syslog.*scheme/],
  [[...R, "--syslog", ""], /--syslog.*empty/],
  [[...R, "--syslog="], /--syslog.*empty/],
  [[...R, "--max-flows", "1.5"], /--max-flows.*whole number.*"1\.5"/],
  [
    [...R, "--max-flows", "-1"],
    /Invalid value for --max-flows: must be a whole number from 1 to 100,000,000, not "-1"/,
  ],
  [
    [...R, "--max-flows=-1"],
    /Invalid value for --max-flows: must be a whole number from 1 to 100,000,000, not "-1"/,
  ],
  [
    [...R, "--dedup", "-5"],
    /Invalid value for --dedup: must be a whole number from 0 to 604,800, not "-5"/,
  ],
  [
    [...R, "--dedup=-5"],
    /Invalid value for --dedup: must be a whole number from 0 to 604,800, not "-5"/,
  ],
  [[...R, "--max-flows", "1e3"], /--max-flows.*"1e3"/],
  [[...R, "--max-flows", "0x10"], /--max-flows.*"0x10"/],
  [[...R, "--max-flows", " 5"], /--max-flows.*" 5"/],
  // Integers: form and range of every integer option.
  [[...R, "--max-flows", "5 "], /--max-flows.*"5 "/],
  [[...R, "--max-flows", "+5"], /--max-flows.*"\+5"/],
  [[...R, "--max-flows", ""], /--max-flows.*""/],
  [[...R, "--max-flows", "0"], /--max-flows.*from 1 to/],
  [[...R, "--max-flows", "100000001"], /--max-flows.*"100000001"/],
  [[...R, "--max-flows", "99999999999999999999999999"], /--max-flows/],
  [[...R, "--max-flows", "Infinity"], /--max-flows/],
  [[...R, "--max-flows", "1\n2"], /--max-flows.*"1\\n2"/],
  [[...R, "--max-flows", "\u0663"], /--max-flows/], // ARABIC-INDIC DIGIT THREE
  [[...R, "--snaplen", "63"], /--snaplen.*64 to 262,144/],
  [[...R, "--snaplen", "262145"], /--snaplen/],
  [[...R, "-s", "-1"], /--snaplen.*"-1"/],
  [[...R, "-s1e3"], /--snaplen.*"1e3"/],
  [[...R, "--buffer-size", "0"], /--buffer-size.*1 to 4,096/],
  [[...R, "--buffer-size", "4097"], /--buffer-size/],
  [[...R, "--tcp-timeout", "0"], /--tcp-timeout/],
  [[...R, "--tcp-timeout", "-0"], /--tcp-timeout.*"-0"/],
  [[...R, "--udp-timeout", "86401"], /--udp-timeout.*1 to 86,400/],
  [[...R, "--status", "-1"], /--status.*0 to 86,400.*"-1"/],
  [[...R, "--status", "1.0"], /--status/],
  [[...R, "--dedup", "604801"], /--dedup/],
  // Missing values, unknown options, values where none is taken.
  [[...R, "--max-flows"], /--max-flows needs a value/],
  [["--log", "none", "-r"], /--read needs a value/],
  [[...R, "--json", "--quiet"], /--json needs a value/],
  [[...R, "--bogus"], /unknown option "--bogus"/i],
  [[...R, "-x"], /unknown option "-x"/i],
  [[...R, "-qx"], /unknown option "-x"/i],
  [[...R, "--help=yes"], /--help takes no value/],
  [[...R, "--quiet=1"], /--quiet takes no value/],
  [[...R, "--bad\u001b[31m"], /unknown option "--bad\\u001b\[31m"/i],
  // Empty values.
  [[...R, "--log", ""], /--log.*empty/],
  [[...R, "--json="], /--json.*empty/],
  [[...R, "--flows", ""], /--flows.*empty/],
  [[...R, "--evidence-dir", ""], /--evidence-dir.*empty/],
  [[...R, "--filter", ""], /--filter.*empty/],
  [[...R, ""], /empty file name/i],
  [[...R, "--servers", ""], /--servers.*empty/],
  [[...R, "--report="], /--report.*empty/],
  // Files rewritten whole are files, not standard output.
  [[...R, "--servers", "-"], /--servers: must be a file path, not "-"/],
  [[...R, "--report=-"], /--report: must be a file path, not "-"/],
  [[...R, "--report"], /--report needs a value/],
  // Syslog URLs.
  [[...R, "--syslog", "tcp://:514"], /--syslog.*host/],
  [[...R, "--syslog", "udp://host:0"], /--syslog.*port/],
  [[...R, "--syslog", "udp://host:"], /--syslog.*port/],
  [[...R, "--syslog", "udp://host:abc"], /--syslog.*port/],
  [[...R, "--syslog", "ftp://host"], /--syslog.*scheme/],
  [[...R, "--syslog", "udp://[::1"], /--syslog/],
  [[...R, "--syslog", "udp://[10.0.0.1]:514"], /--syslog/],
  [[...R, "--syslog", "udp://300.1.1.1"], /--syslog/],
  [[...R, "--syslog", "unix://"], /--syslog.*path/],
  [[...R, "--syslog", "unix:relative.sock"], /--syslog.*path/],
  [[...R, "--syslog", "udp://h\n:514"], /--syslog/],
  // Positionals.
  [["--log", "none", "eth0", ""], /Empty DEVICE-ID/],
];

interface Run {
  args: string[];
  code: number;
  stderr: string;
}

async function sealert(args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { NO_COLOR: "1", TZ: "UTC" },
    stdin: "null",
    stdout: "null",
  }).output();
  return { args, code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("CLI: every bad command line is one 'sealert: …' line and exit 2", async () => {
  assert.ok(BAD.length >= 40);
  const runs: Run[] = [];
  for (let i = 0; i < BAD.length; i += 8) {
    runs.push(...await Promise.all(BAD.slice(i, i + 8).map(([args]) => sealert(args))));
  }
  const failures: string[] = [];
  runs.forEach((r, i) => {
    const pattern = BAD[i][1];
    const lines = r.stderr.split("\n");
    const problems = [
      r.code !== 2 && `exit ${r.code}`,
      (lines.length !== 2 || lines[1] !== "") && "not exactly one line",
      !lines[0].startsWith("sealert: ") && "no 'sealert: ' prefix",
      /Internal error|argument is ambiguous|\bat .*\.ts:\d+/.test(r.stderr) && "internal error",
      !lines[0].endsWith(`Try "sealert --help".`) && "no --help hint",
      !pattern.test(lines[0]) && `does not match ${pattern}`,
    ].filter((p) => p !== false);
    if (problems.length > 0) {
      failures.push(`${JSON.stringify(r.args)}: ${problems.join(", ")}\n  ${r.stderr.trim()}`);
    }
  });
  assert.deepEqual(failures, []);
});

Deno.test("parseOptions: defaults", () => {
  const o = parseOptions([]);
  assert.deepEqual(
    [o.snaplen, o.bufferMiB, o.maxFlows, o.tcpTimeout, o.udpTimeout, o.statusInterval],
    [65535, 64, 1_000_000, 3600, 120, 60],
  );
  assert.equal(o.dedupSeconds, 300);
  assert.equal(o.log, "sealert.log");
  assert.deepEqual([o.help, o.version, o.list, o.quiet], [false, false, false, false]);
  assert.deepEqual([o.promisc, o.progress], [true, true]);
  assert.deepEqual(o.read, []);
  assert.equal(o.device, undefined);
  assert.equal(o.syslog, undefined);
});

Deno.test("parseOptions: values after a space or '=', short forms, bundles, '--'", () => {
  const o = parseOptions([
    "--max-flows=5000",
    "--snaplen",
    "64",
    "-qD",
    "--buffer-size=4096",
    "--log",
    "-",
    "-j-",
    "--flows=-",
    "--tcp-timeout",
    "604800",
    "--udp-timeout=1",
    "--status",
    "0",
    "--dedup",
    "007",
    "--no-promisc",
    "--no-progress",
    "-f",
    "tcp port 443",
    "--syslog",
    "udp://[2001:db8::1]:5514",
    "--evidence-dir=ev",
    "eth0",
  ]);
  assert.deepEqual(
    [o.maxFlows, o.snaplen, o.bufferMiB, o.tcpTimeout, o.udpTimeout, o.statusInterval],
    [5000, 64, 4096, 604800, 1, 0],
  );
  assert.equal(o.dedupSeconds, 7);
  assert.deepEqual([o.quiet, o.list, o.promisc, o.progress], [true, true, false, false]);
  assert.deepEqual([o.log, o.json, o.flows], ["-", "-", "-"]);
  assert.equal(o.filter, "tcp port 443");
  assert.equal(o.syslog, "udp://[2001:db8::1]:5514");
  assert.equal(o.evidenceDir, "ev");
  assert.equal(o.device, "eth0");
  assert.equal(parseOptions(["-s262144"]).snaplen, 262144);
  assert.equal(parseOptions(["--max-flows", "100000000"]).maxFlows, 100_000_000);
  // After "--" everything is a file, even what looks like an option.
  assert.deepEqual(parseOptions(["-r", "a.pcap", "--", "-b.pcap", "--c"]).read, [
    "a.pcap",
    "-b.pcap",
    "--c",
  ]);
});

Deno.test("parseOptions: --read files in order, repeated or listed; the last single value counts", () => {
  assert.deepEqual(parseOptions(["-r", "a", "b", "--read=c", "-rd"]).read, ["a", "c", "d", "b"]);
  const o = parseOptions(["--log", "x", "--log", "y", "--max-flows", "1", "--max-flows", "2"]);
  assert.equal(o.log, "y");
  assert.equal(o.maxFlows, 2);
  assert.equal(parseOptions(["-r", "a"]).device, undefined);
});

Deno.test("parseOptions: the syslog URL forms of --help are accepted", () => {
  for (
    const url of [
      "udp://host:514",
      "udp://10.0.0.1",
      "tcp://log.example.com:601",
      "unix:///dev/log",
    ]
  ) {
    assert.equal(parseOptions(["--syslog", url]).syslog, url);
  }
});

/** The message of the UsageError `parseOptions(argv)` throws. */
function usage(argv: string[]): string {
  try {
    parseOptions(argv);
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    assert.equal(e.exitCode, 2);
    return e.message;
  }
  assert.fail(`accepted: ${JSON.stringify(argv)}`);
}

Deno.test("parseOptions: integers are decimal digits in the stated range", () => {
  const ranges: [string, number, number][] = [
    ["--snaplen", 64, 262144],
    ["--buffer-size", 1, 4096],
    ["--max-flows", 1, 100_000_000],
    ["--tcp-timeout", 1, 604800],
    ["--udp-timeout", 1, 86400],
    ["--status", 0, 86400],
    ["--dedup", 0, 604800],
  ];
  for (const [opt, min, max] of ranges) {
    parseOptions([opt, String(min)]);
    parseOptions([`${opt}=${max}`]);
    const grouped = (n: number) => n.toLocaleString("en-US");
    const expected = `Invalid value for ${opt}: must be a whole number from ${grouped(min)} to ${
      grouped(max)
    }, not `;
    for (
      const bad of [
        String(min - 1),
        String(max + 1),
        "-1",
        "1.5",
        "1e3",
        "0x10",
        " 5",
        "5 ",
        "+5",
        "",
        "5s",
        "Infinity",
        "NaN",
        "\u0663",
        "9".repeat(400),
      ]
    ) {
      if (bad === "-1" && min === 0) continue; // min - 1 already
      const shown = bad.length > 60 ? `"${bad.slice(0, 60)}…"` : JSON.stringify(bad);
      assert.equal(usage([opt, bad]), expected + shown, `${opt} ${bad}`);
      assert.equal(usage([`${opt}=${bad}`]), expected + shown, `${opt}=${bad}`);
    }
  }
  assert.equal(
    usage(["-s", "-1"]),
    'Invalid value for --snaplen: must be a whole number from 64 to 262,144, not "-1"',
  );
});

Deno.test("parseOptions: unknown options, missing and empty values, flags with values", () => {
  assert.equal(usage(["--bogus"]), 'Unknown option "--bogus"');
  assert.equal(usage(["--bogus=1"]), 'Unknown option "--bogus"');
  assert.equal(usage(["-qz"]), 'Unknown option "-z"');
  assert.equal(usage(["-1"]), 'Unknown option "-1"');
  assert.equal(usage(["--max-flows"]), "--max-flows needs a value");
  assert.equal(usage(["-r"]), "--read needs a value");
  assert.equal(
    usage(["--json", "-q"]),
    '--json needs a value, got the option "-q" (write --json=VALUE)',
  );
  assert.equal(usage(["--quiet=yes"]), '--quiet takes no value, not "yes"');
  assert.equal(usage(["--no-promisc="]), '--no-promisc takes no value, not ""');
  for (const opt of ["--log", "--json", "--flows", "--syslog", "--evidence-dir", "--filter"]) {
    assert.equal(usage([opt, ""]), `Invalid value for ${opt}: must not be empty`);
    assert.equal(usage([`${opt}=`]), `Invalid value for ${opt}: must not be empty`);
  }
  assert.equal(usage(["--read", ""]), "Invalid value for --read: must not be empty");
  assert.equal(usage(["-r", "a", ""]), "Empty file name");
  assert.equal(usage([""]), "Empty DEVICE-ID");
  assert.equal(usage(["eth0", ""]), "Empty DEVICE-ID");
});

Deno.test("parseOptions: several devices (live capture on each), the first also as device", () => {
  const o = parseOptions(["eth1", "--quiet", "eth2", "3"]);
  assert.deepEqual(o.devices, ["eth1", "eth2", "3"]);
  assert.equal(o.device, "eth1");
  assert.deepEqual(parseOptions([]).devices, []);
  assert.deepEqual(parseOptions(["-r", "a", "b"]).devices, []);
});

Deno.test("parseOptions: a bad syslog URL says what is wrong", () => {
  const cases: [string, RegExp][] = [
    ["garbage", /not a URL/],
    ["udp://", /no host/],
    ["tcp://:514", /no host/],
    ["udp://host:99999", /port 99999 is not from 1 to 65535/],
    ["udp://host:0", /port 0 is not from 1 to 65535/],
    ["udp://host:", /no port/],
    ["udp://host:5x", /port "5x"/],
    ["http://host:514", /scheme "http" is not udp, tcp or unix/],
    ["udp:host", /expected udp:\/\/HOST\[:PORT\]/],
    ["udp://host/x", /only HOST\[:PORT\]/],
    ["udp://user@host", /only HOST\[:PORT\]/],
    ["udp://2001:db8::1", /brackets/],
    ["udp://[::1", /no closing \]/],
    ["udp://[::g]:514", /not an IPv6 address/],
    ["udp://[::1]x", /expected udp:\/\/HOST/],
    ["udp://256.1.1.1", /not an IPv4 address/],
    ["udp://.host", /not a host name/],
    ["unix://", /absolute/],
    ["unix:rel.sock", /absolute/],
  ];
  for (const [url, why] of cases) {
    const m = usage(["--syslog", url]);
    assert.ok(m.startsWith(`Invalid value for --syslog: ${JSON.stringify(url)}: `), m);
    assert.match(m, why, url);
  }
});

Deno.test("parseOptions: user text in a message is quoted on one line, escaped, cut", () => {
  assert.equal(
    usage(["--max-flows", '1\n2\u0085\u2028\x1b"\\']),
    "Invalid value for --max-flows: must be a whole number from 1 to 100,000,000, not " +
      '"1\\n2\\u0085\\u2028\\u001b\\"\\\\"',
  );
  const m = usage([`--${"x".repeat(200)}`]);
  assert.equal(m, `Unknown option "--${"x".repeat(58)}…"`);
});

Deno.test("--help states every integer option's range", () => {
  for (
    const range of ["64–262,144", "1–4,096", "1–100,000,000", "1–604,800", "1–86,400", "0–86,400"]
  ) {
    assert.ok(HELP.includes(range), range);
  }
  assert.match(HELP, /--dedup SECONDS[^\n]*\n[^\n]*0–604,800/);
  assert.match(HELP, /PORT 1–65,535/);
});

Deno.test("parseOptions: --servers and --report take a path, offline and live", () => {
  const none = parseOptions([]);
  assert.deepEqual([none.servers, none.report], [undefined, undefined]);
  const live = parseOptions([
    "--servers",
    "/var/lib/sealert/servers.jsonl",
    "--report=r.html",
    "eth0",
  ]);
  assert.deepEqual([live.servers, live.report, live.device], [
    "/var/lib/sealert/servers.jsonl",
    "r.html",
    "eth0",
  ]);
  const offline = parseOptions(["-r", "a.pcap", "--report", "x/y.html", "--servers=s"]);
  assert.deepEqual([offline.servers, offline.report, offline.read], ["s", "x/y.html", ["a.pcap"]]);
  assert.match(HELP, /--servers PATH +server inventory, JSON Lines/);
  assert.match(HELP, /--report FILE +HTML report/);
});
