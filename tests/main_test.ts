/**
 * main.ts end to end: options, exit codes, one-line errors, offline mode,
 * pcap and pcapng of the same traffic, a capture cut in the middle.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const GOLDEN = fileURLToPath(new URL("../testdata/golden/", import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function sealert(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { NO_COLOR: "1", TZ: "UTC", ...env },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function assertOneLineError(r: Run, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/); // no stack trace
}

Deno.test("main: --help and --version exit 0", async () => {
  const h = await sealert(["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /Usage: sealert/);
  assert.match(h.stdout, /--read FILE/);
  const v = await sealert(["--version"]);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^sealert \d+\.\d+\.\d+/);
});

Deno.test("main: usage errors exit 2 with one line", async () => {
  assertOneLineError(await sealert(["--bogus"]), 2, /^sealert: .*bogus.*--help/);
  assertOneLineError(
    await sealert(["--max-flows", "0", "-r", "x"]),
    2,
    /Invalid value for --max-flows/,
  );
});

Deno.test("main: unreadable inputs exit 1 with one line", async () => {
  assertOneLineError(
    await sealert(["--read", "/nonexistent.pcap", "--log", "none"]),
    1,
    /Cannot open capture file "\/nonexistent.pcap": no such file/,
  );
  const text = await Deno.makeTempFile({ suffix: ".pcap" });
  await Deno.writeTextFile(text, "this is not a capture file\n");
  assertOneLineError(
    await sealert(["--read", text, "--log", "none"]),
    1,
    /not a pcap or pcapng file/,
  );
});

Deno.test("main: missing libpcap exits 2 with an install hint", async () => {
  const r = await sealert(["--list"], { SEALERT_LIBPCAP: "/nonexistent/libpcap.so" });
  assertOneLineError(r, 2, /libpcap/i);
});

Deno.test("main: pcap and pcapng of the same traffic give identical flows and alerts", async () => {
  const args = ["--flows", "-", "--json", "-", "--log", "none", "--quiet"];
  const a = await sealert(["--read", `${GOLDEN}direct_443.pcap`, ...args]);
  const b = await sealert(["--read", `${GOLDEN}direct_443.pcapng`, ...args]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(a.stdout, b.stdout);
  // Golden: committed output of this capture (packet-time fields are stable).
  assert.equal(a.stdout, await Deno.readTextFile(`${GOLDEN}direct_443.expected.jsonl`));
  assert.match(a.stdout, /"event_type":"softether".*"variant":"TCP"/);
});

Deno.test("main: text log line in SoftEther Alert's format, appended", async () => {
  const dir = await Deno.makeTempDir();
  const log = `${dir}/sealert.log`;
  await Deno.writeTextFile(log, "previous line\n");
  const r = await sealert(["--read", `${GOLDEN}direct_443.pcap`, "--log", log]);
  assert.equal(r.code, 0, r.stderr);
  const lines = (await Deno.readTextFile(log)).trimEnd().split("\n");
  assert.equal(lines[0], "previous line");
  assert.equal(lines.length, 2);
  assert.match(
    lines[1],
    /^\[\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\] SoftEther TCP Connection Detected \(client 10\.77\.1\.2:\d+, server 10\.77\.2\.2:443\)$/,
  );
  assert.ok(r.stdout.includes(lines[1]), "the line is echoed on the console");
});

Deno.test("main: a capture cut in the middle is analysed up to the damage, then exit 1", async () => {
  const full = await Deno.readFile(`${GOLDEN}direct_443.pcap`);
  const cut = await Deno.makeTempFile({ suffix: ".pcap" });
  const at = Math.floor(full.length * 0.6);
  await Deno.writeFile(cut, full.subarray(0, at));
  const r = await sealert(["--read", cut, "--json", "-", "--log", "none"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`"${cut.replaceAll("/", "\\/")}".*truncated at byte \\d+`));
  const offset = Number(r.stderr.match(/at byte (\d+)/)![1]);
  assert.ok(offset > 24 && offset <= at, `offset ${offset}`);
  // The alert of the session before the damage is still written.
  assert.match(r.stdout, /"variant":"TCP"/);
  assert.match(r.stderr, /^Packets: +\d+/m);
});

Deno.test("main: --evidence-dir writes the alerted connection's first packets as pcap", async () => {
  const dir = await Deno.makeTempDir();
  const r = await sealert([
    "--read",
    `${GOLDEN}direct_443.pcap`,
    "--log",
    "none",
    "--evidence-dir",
    dir,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const files = [...Deno.readDirSync(dir)].map((e) => e.name);
  assert.equal(files.length, 1);
  assert.match(files[0], /_TCP_10\.77\.1\.2-\d+_10\.77\.2\.2-443\.pcap$/);
  // Read it back with sealert itself: it holds the session's start, so it alerts again.
  const again = await sealert(["--read", `${dir}/${files[0]}`, "--json", "-", "--log", "none"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /"event_type":"softether","kind":"vpn","variant":"TCP"/);
});
