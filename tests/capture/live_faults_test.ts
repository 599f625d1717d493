/**
 * Live faults (issue 10, item 9), end to end: sealert runs live as a
 * subprocess inside a network namespace the test creates, capturing on one
 * end of a veth pair while `live_faults_replay.ts` replays the lab's real
 * SoftEther session (testdata/lab/direct_443.pcap) onto the other end
 * through an AF_PACKET socket. No traffic leaves the namespace (it has no
 * route anywhere). Cases:
 *
 * - the capture device is deleted mid-run: one line `capture device "x"
 *   went away: …`, summary, exit 3, every alert before it in the logs;
 * - the log's disk (a 64 KiB tmpfs) fills up: the write error, exit 4, no
 *   truncated line in either log;
 * - the log files are deleted: writing goes on into the deleted files (read
 *   back through /proc), a warning, SIGHUP creates them anew;
 * - SIGTERM, sent again and again during a burst: exit 0, summary, every
 *   alert the summary counts in both logs, whole lines.
 *
 * Root and `ip` needed: skipped with a reason outside CI, never skipped
 * with CI=true. Every test kills what it started by PID, deletes its
 * namespace and unmounts its tmpfs in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { inCi, privilegeProblem, skipPrivileged } from "../ffi/_privilege.ts";
import { Proc } from "../helpers/proc.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;
const REPLAY = `${ROOT}tests/capture/live_faults_replay.ts`;
const SESSION = `${ROOT}testdata/lab/direct_443.pcap`;

/** Client address of copy `i` of the replayed session (see live_faults_replay.ts). */
const client = (i: number) => `10.77.1.${2 + i}`;

let serial = 0;

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${text}`);
  return text;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** A namespace with a veth pair: sealert captures on `capture`, the replay sends on `send`. */
interface Lab {
  ns: string;
  capture: string;
  send: string;
  dir: string;
  procs: Proc[];
  /** Starts sealert live on `capture` with `args`; resolves once it captures. */
  sealert(args: string[]): Promise<Proc>;
  /** Replays `loops` copies of the session from copy `first` (gaps cut to `gapMs`). */
  replay(loops: number, first?: number, gapMs?: number): Proc;
}

/** Starts sealert with a text and a JSON log in the lab's directory. */
async function logging(lab: Lab): Promise<{ json: string; log: string; sealert: Proc }> {
  const json = `${lab.dir}/alerts.json`;
  const log = `${lab.dir}/sealert.log`;
  return { json, log, sealert: await lab.sealert(["--log", log, "--json", json]) };
}

async function withLab(fn: (lab: Lab) => Promise<void>): Promise<void> {
  if (inCi) assert.equal(privilegeProblem(), undefined, "CI must run the live fault tests");
  const n = serial++;
  const ns = `sealert-f-${Deno.pid}-${n}`;
  const capture = `vfa${Deno.pid}${n}`.slice(0, 15);
  const send = `vfb${Deno.pid}${n}`.slice(0, 15);
  const dir = await Deno.makeTempDir({ prefix: "sealert-faults-" });
  const procs: Proc[] = [];
  const inNs = (cmd: string[]) => new Proc("ip", ["netns", "exec", ns, ...cmd]);
  const lab: Lab = {
    ns,
    capture,
    send,
    dir,
    procs,
    async sealert(args) {
      const p = inNs([Deno.execPath(), "run", "-A", MAIN, capture, "--status", "0", ...args]);
      procs.push(p);
      await waitFor(
        `sealert to start (stderr: ${p.stderr})`,
        () => p.stdout.includes("Starting Capture Packets") || p.code !== undefined,
      );
      assert.equal(p.code, undefined, `sealert exited: ${p.stderr}`);
      return p;
    },
    replay(loops, first = 0, gapMs = 0) {
      const p = inNs([
        Deno.execPath(),
        "run",
        "-A",
        REPLAY,
        send,
        SESSION,
        String(loops),
        String(gapMs),
        String(first),
      ]);
      procs.push(p);
      return p;
    },
  };
  try {
    await run("ip", ["netns", "add", ns]);
    await run("ip", ["-n", ns, "link", "add", capture, "type", "veth", "peer", "name", send]);
    for (const dev of ["lo", capture, send]) await run("ip", ["-n", ns, "link", "set", dev, "up"]);
    await fn(lab);
  } finally {
    for (const p of procs) await p.kill();
    await run("ip", ["netns", "del", ns]).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Alert JSON lines of `text`: every line whole and valid, the file ending in "\n". */
function jsonLines(text: string): Array<Record<string, unknown>> {
  if (text === "") return [];
  assert.ok(text.endsWith("\n"), `last JSON line cut: ${JSON.stringify(text.slice(-80))}`);
  return text.slice(0, -1).split("\n").map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      throw new assert.AssertionError({ message: `not a whole JSON line: ${line}` });
    }
  });
}

const TEXT_LINE =
  /^\[\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\] SoftEther TCP Connection Detected \(client 10\.77\.\d+\.\d+:51348, server 10\.77\.2\.2:443\)$/;

/** Text log lines of `text`: every line whole and in the SoftEther Alert format. */
function textLines(text: string): string[] {
  if (text === "") return [];
  assert.ok(text.endsWith("\n"), `last text line cut: ${JSON.stringify(text.slice(-80))}`);
  const lines = text.slice(0, -1).split("\n");
  for (const line of lines) assert.match(line, TEXT_LINE);
  return lines;
}

/** Session alerts (side-flow records of the sessions are "softether" events too). */
const alerts = (lines: Array<Record<string, unknown>>) =>
  lines.filter((l) => l.event_type === "softether" && l.kind === "vpn");
const clientIp = (l: Record<string, unknown>) => (l.client as { ip: string }).ip;

/** The "Alerts:" count of the summary on stderr. */
function summaryAlerts(stderr: string): number {
  const m = stderr.match(/^Alerts: +(\d+) /m);
  assert.ok(m, `no summary in stderr:\n${stderr}`);
  return Number(m[1]);
}

Deno.test({
  name: "live fault: the capture device goes away → one line, summary, exit 3, nothing lost",
  ignore: skipPrivileged("live fault: the capture device goes away"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLab(async (lab) => {
      const { json, log, sealert } = await logging(lab);
      assert.equal(await lab.replay(3).exit(), 0);
      await waitFor("3 alerts", () => alerts(jsonLines(readText(json))).length === 3);
      await run("ip", ["-n", lab.ns, "link", "del", lab.capture]);
      const code = await sealert.exit();
      const err = sealert.stderr;
      assert.match(
        err,
        new RegExp(`^sealert: capture device "${lab.capture}" went away: \\S.*$`, "m"),
      );
      assert.equal(code, 3, err);
      assert.equal(summaryAlerts(err), 3);
      // Every alert and its session end (decided at the stop) is in the logs, whole.
      const lines = jsonLines(readText(json));
      assert.deepEqual(alerts(lines).map(clientIp), [0, 1, 2].map(client));
      assert.equal(lines.filter((l) => l.event_type === "softether_session_end").length, 3);
      assert.equal(textLines(readText(log)).length, 3);
    });
  },
});

Deno.test({
  name: "live fault: the log's disk is full → the write error, exit 4, no truncated line",
  ignore: skipPrivileged("live fault: the log's disk is full"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLab(async (lab) => {
      const disk = `${lab.dir}/disk`;
      await Deno.mkdir(disk);
      await run("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", disk]);
      try {
        // 14 of the 16 pages taken: one page for each log, then the disk is full.
        Deno.writeFileSync(`${disk}/filler`, new Uint8Array(14 * 4096));
        const json = `${disk}/alerts.json`;
        const log = `${disk}/sealert.log`;
        const sealert = await lab.sealert(["--log", log, "--json", json]);
        const replay = lab.replay(20);
        // Today's sealert never stops on its own: give it the time, then stop it.
        const code = await sealert.exit(15_000).catch(async () => {
          sealert.signal("SIGTERM");
          return await sealert.exit();
        });
        await replay.kill();
        const err = sealert.stderr;
        assert.match(
          err,
          /^sealert: Cannot write to log file ".*alerts\.json": No space left on device$/m,
        );
        assert.match(
          err,
          /^sealert: alerts could not be written \(\d+ failed writes?\): stopping$/m,
        );
        assert.equal(code, 4, err);
        summaryAlerts(err);
        // Whatever was written is whole lines (a partial write is taken back).
        const lines = jsonLines(readText(json));
        assert.ok(lines.length >= 3, `${lines.length} JSON lines`);
        assert.ok(textLines(readText(log)).length >= alerts(lines).length);
      } finally {
        await run("umount", [disk]).catch(() => run("umount", ["-l", disk]));
      }
    });
  },
});

/** Path of the open file `/proc/<pid>/fd/N` that was `path` and is now deleted. */
function deletedFd(pid: number, path: string): string | undefined {
  for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
    const fd = `/proc/${pid}/fd/${entry.name}`;
    try {
      if (Deno.readLinkSync(fd) === `${path} (deleted)`) return fd;
    } catch {
      // closed meanwhile
    }
  }
  return undefined;
}

Deno.test({
  name: "live fault: log files deleted → still written (unlinked), warning, SIGHUP recreates",
  ignore: skipPrivileged("live fault: log files deleted"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLab(async (lab) => {
      const { json, log, sealert } = await logging(lab);
      const pid = sealert.child.pid;
      assert.equal(await lab.replay(1, 0).exit(), 0);
      await waitFor("copy 0's alert", () => alerts(jsonLines(readText(json))).length === 1);
      await Deno.remove(json);
      await Deno.remove(log);
      const oldJson = deletedFd(pid, json);
      const oldLog = deletedFd(pid, log);
      assert.ok(oldJson !== undefined && oldLog !== undefined, "sealert keeps the deleted files");
      // Alerts go on into the deleted files…
      assert.equal(await lab.replay(1, 1).exit(), 0);
      await waitFor("copy 1's alert in the deleted file", () => {
        return alerts(jsonLines(readText(oldJson))).length === 2;
      });
      assert.deepEqual(alerts(jsonLines(readText(oldJson))).map(clientIp), [client(0), client(1)]);
      assert.equal(textLines(readText(oldLog)).length, 2);
      // …and a warning says so.
      await waitFor(
        `the deletion warning (stderr: ${sealert.stderr})`,
        () => sealert.stderr.includes(`sealert: warning: log file "${json}" was deleted`),
      );
      assert.match(sealert.stderr, new RegExp(`warning: log file "${log}" was deleted`));
      // SIGHUP creates them anew.
      assert.ok(sealert.signal("SIGHUP"));
      await waitFor("the reopen", () => sealert.stderr.includes("sealert: log files reopened"));
      assert.equal(await lab.replay(1, 2).exit(), 0);
      await waitFor(
        "copy 2's alert in the new file",
        () => alerts(jsonLines(readText(json))).length === 1,
      );
      assert.ok(sealert.signal("SIGTERM"));
      assert.equal(await sealert.exit(), 0, sealert.stderr);
      assert.deepEqual(alerts(jsonLines(readText(json))).map(clientIp), [client(2)]);
      assert.deepEqual(textLines(readText(log)).length, 1);
      assert.match(readText(log), new RegExp(`client ${client(2).replaceAll(".", "\\.")}:`));
      assert.equal(summaryAlerts(sealert.stderr), 3);
    });
  },
});

Deno.test({
  name: "live fault: SIGTERM (again and again) during a burst → exit 0, summary, every alert whole",
  ignore: skipPrivileged("live fault: SIGTERM during a burst"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLab(async (lab) => {
      const { json, log, sealert } = await logging(lab);
      const burst = lab.replay(5000);
      await waitFor("the burst under way", () => readText(log).split("\n").length > 100);
      // A supervisor or an impatient operator: SIGTERM every 5 ms until it exits.
      for (let i = 0; i < 400 && sealert.signal("SIGTERM"); i++) await sleep(5);
      const code = await sealert.exit();
      await burst.kill();
      const err = sealert.stderr;
      assert.equal(code, 0, err);
      assert.equal(burst.code === 0, false, "the burst was still running at the signal");
      const n = summaryAlerts(err);
      assert.ok(n > 100, `${n} alerts`);
      const lines = jsonLines(readText(json));
      assert.equal(alerts(lines).length, n);
      assert.equal(lines.filter((l) => l.event_type === "softether_session_end").length, n);
      assert.equal(textLines(readText(log)).length, n);
    });
  },
});
