/**
 * main.ts end to end under faults: several capture files of which one is
 * damaged or missing, outputs that cannot deliver (syslog target down or
 * unknown, a full disk, a closed or broken standard output), and the exit
 * codes: 0 ok, 1 damaged input, 2 usage/environment, 4 alerts lost.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const GOLDEN = fileURLToPath(new URL("../testdata/golden/", import.meta.url));
const PCAP = `${GOLDEN}direct_443.pcap`;
const PCAPNG = `${GOLDEN}direct_443.pcapng`;
const LINUX = Deno.build.os === "linux";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs sealert (through `shell` when given: `sh -c shell sealert args…`). */
async function sealert(args: string[], opts: { cwd?: string; shell?: string } = {}): Promise<Run> {
  const argv = ["run", "-A", MAIN, ...args];
  const cmd = opts.shell === undefined
    ? new Deno.Command(Deno.execPath(), {
      args: argv,
      cwd: opts.cwd,
      stdin: "null",
      env: { TZ: "UTC" },
    })
    : new Deno.Command("bash", {
      args: ["-c", opts.shell, Deno.execPath(), ...argv],
      cwd: opts.cwd,
      stdin: "null",
      env: { TZ: "UTC" },
    });
  const out = await cmd.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A copy of the golden pcap with its first record's length made absurd. */
async function damagedCopy(dir: string): Promise<string> {
  const bytes = await Deno.readFile(PCAP);
  new DataView(bytes.buffer).setUint32(24 + 8, 0x00ffffff, true);
  const path = `${dir}/damaged.pcap`;
  await Deno.writeFile(path, bytes);
  return path;
}

function jsonAlerts(stdout: string): number {
  return stdout.split("\n").filter((l) =>
    l.includes('"event_type":"softether"') && l.includes('"kind":"vpn"')
  ).length;
}

Deno.test("faults: a damaged file in the middle is reported and the next file is still read", async () => {
  const dir = await Deno.makeTempDir();
  const damaged = await damagedCopy(dir);
  // The same session twice, in two files around the damaged one: the dedup
  // window is off so that each file's alert is written.
  const r = await sealert([
    "--read",
    PCAP,
    damaged,
    PCAPNG,
    "--json",
    "-",
    "--log",
    "none",
    "--dedup",
    "0",
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Capture file ".*damaged\.pcap" is damaged at byte 24 /);
  assert.match(r.stderr, /^Files: +3 given, 2 read to the end, 1 damaged, 0 not opened$/m);
  assert.match(r.stderr, /^Damaged: +".*damaged\.pcap" at byte 24$/m);
  // direct_443.pcapng (after the damaged file) was read: its packets count.
  assert.match(r.stderr, /^Packets: +850 /m);
});

Deno.test("faults: a missing file among several is reported, the others read, exit 1", async () => {
  const dir = await Deno.makeTempDir();
  const r = await sealert(["--read", `${dir}/missing.pcap`, PCAP, "--json", "-", "--log", "none"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^sealert: Cannot open capture file ".*missing\.pcap": no such file$/m);
  assert.match(r.stderr, /^Not read: ".*missing\.pcap": no such file$/m);
  assert.equal(jsonAlerts(r.stdout), 1);
});

Deno.test("faults: a run that fails before reading creates no log file", async () => {
  const dir = await Deno.makeTempDir();
  const r = await sealert(["--read", "missing.pcap", "--json", "out.json"], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), []);
});

Deno.test("faults: a TCP syslog target that is down: alerts lost, counted, exit 4", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close(); // nothing listens there any more
  const r = await sealert(["--read", PCAP, "--log", "none", "--syslog", `tcp://127.0.0.1:${port}`]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^sealert: syslog tcp://127\\.0\\.0\\.1:${port}: 1 alert lost \\(.*ECONNREFUSED`,
      "m",
    ),
  );
});

Deno.test("faults: an unknown syslog host: alerts lost, exit 4", async () => {
  const r = await sealert([
    "--read",
    PCAP,
    "--log",
    "none",
    "--syslog",
    "udp://no-such-host.invalid",
  ]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /^sealert: syslog udp:\/\/no-such-host\.invalid:514: 1 alert lost \(/m);
});

Deno.test("faults: syslog to listening UDP and TCP servers delivers, exit 0", async () => {
  const udp = dgram.createSocket("udp4");
  const got: string[] = [];
  udp.on("message", (m) => got.push(m.toString()));
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received = (async () => {
    const conn = await tcp.accept();
    const chunks: Uint8Array[] = [];
    for await (const c of conn.readable) chunks.push(c);
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  })();
  try {
    const u = await sealert([
      "--read",
      PCAP,
      "--log",
      "none",
      "--syslog",
      `udp://127.0.0.1:${udp.address().port}`,
    ]);
    assert.equal(u.code, 0, u.stderr);
    const t = await sealert([
      "--read",
      PCAP,
      "--log",
      "none",
      "--syslog",
      `tcp://127.0.0.1:${tcp.addr.port}`,
    ]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(await received, /SoftEther TCP Connection Detected/);
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got.length, 1);
  } finally {
    udp.close();
    tcp.close();
  }
});

Deno.test({
  name: "faults: a log file that cannot be written (full disk): alerts lost, exit 4",
  ignore: !LINUX,
  async fn() {
    const r = await sealert(["--read", PCAP, "--log", "/dev/full", "--quiet"]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(
      r.stderr,
      /^sealert: text log "\/dev\/full": 1 alert lost \(No space left on device\)$/m,
    );
  },
});

Deno.test({
  name: "faults: --log - or --json - with standard output closed: exit 2, nothing read",
  ignore: !LINUX,
  async fn() {
    for (const out of [["--log", "-"], ["--json", "-", "--log", "none"]]) {
      const r = await sealert(["--read", PCAP, ...out], { shell: '"$0" "$@" >&-' });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^sealert: Standard output is closed: cannot write --(log|json) -$/m);
      assert.doesNotMatch(r.stderr, /^Packets:/m);
    }
  },
});

Deno.test({
  name: "faults: --json - into a pipe nobody reads: alerts lost, exit 4",
  ignore: !LINUX,
  async fn() {
    const r = await sealert(["--read", PCAP, "--json", "-", "--log", "none", "-q"], {
      shell: 'set -o pipefail; "$0" "$@" | true',
    });
    assert.equal(r.code, 4, r.stderr);
    assert.match(
      r.stderr,
      // The side flows of the session (UDP acceleration, connect-race probes) are JSON records too.
      /^sealert: JSON log \(standard output\): 1 alert, [1-9]\d* side-flow records?, 1 session-end record lost \(Broken pipe\)$/m,
    );
  },
});
