/**
 * `--servers` and `--report` through the real CLI: offline the files are
 * written at exit and the table follows the summary (not with --quiet); a
 * directory that does not exist or takes no file is one `sealert: …` line
 * and exit 2 before any log file is created; a failed rewrite is one line
 * (once); live, SIGUSR1 prints the status line and the table and rewrites
 * both files, and the exit writes them once more with the sessions ended.
 *
 * The live case needs root and `ip` (a network namespace with a veth pair,
 * the lab's direct_443 session replayed onto it): skipped with a reason
 * outside CI, never skipped with CI=true.
 */
import assert from "node:assert/strict";
import { InventoryOutputs } from "../../src/cli/inventory_outputs.ts";
import { asNobody, readableCopy } from "../helpers/as_nobody.ts";
import { inCi, privilegeProblem, skipPrivileged } from "../ffi/_privilege.ts";
import { sampleEvent } from "../output/_event.ts";
import { Proc } from "../helpers/proc.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;
const SESSION = `${ROOT}testdata/lab/direct_443.pcap`;
const REPLAY = `${ROOT}tests/capture/live_faults_replay.ts`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function sealert(args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { NO_COLOR: "1", TZ: "UTC" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function jsonLines(path: string): Record<string, unknown>[] {
  const text = Deno.readTextFileSync(path);
  assert.ok(text.endsWith("\n"));
  return text.slice(0, -1).split("\n").map((l) => JSON.parse(l));
}

Deno.test("inventory CLI: offline, the files at exit and the table after the summary", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "sealert-inv-" });
  try {
    const args = [
      "--read",
      SESSION,
      `${ROOT}testdata/lab/http_proxy.pcap`,
      "--log",
      "none",
      "--no-progress",
      "--servers",
      `${dir}/servers.jsonl`,
      "--report",
      `${dir}/report.html`,
    ];
    const r = await sealert(args);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    const alerts = lines.findIndex((l) => l.startsWith("Alerts:"));
    const table = lines.indexOf("SoftEther servers: 1");
    assert.ok(alerts >= 0 && table > alerts, r.stderr);
    assert.match(lines[table + 1], /^SERVER +PORTS +FACES +VARIANTS +SESSIONS/);
    assert.match(
      lines[table + 2],
      /^10\.77\.2\.2 +443 +SoftEther +TCP,HTTP Proxy +2 +0 +0 +1 +\d+\.\d kB +\d+\.\d kB +2026\/11\/26 06:42:53 +2026\/11\/26 06:49:06 +10\.77\.3\.2:3128$/,
    );
    assert.equal(lines.length, table + 3);
    const [server] = jsonLines(`${dir}/servers.jsonl`);
    assert.equal(server.server, "10.77.2.2");
    assert.deepEqual(server.sessions, { established: 2, attempt: 0, active: 0 });
    assert.deepEqual(server.via, ["10.77.3.2:3128"]);
    const html = Deno.readTextFileSync(`${dir}/report.html`);
    assert.match(html, /<tr class="server" data-host="10\.77\.2\.2">/);
    // Nothing left behind but the two files.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "report.html",
      "servers.jsonl",
    ]);
    // --quiet: the files, no summary, no table.
    Deno.removeSync(`${dir}/servers.jsonl`);
    const q = await sealert([...args, "--quiet"]);
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.stderr, "");
    assert.equal(jsonLines(`${dir}/servers.jsonl`).length, 1);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("inventory CLI: a directory that does not exist is one line, exit 2, no log created", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "sealert-inv-" });
  try {
    for (const [option, what] of [["--servers", "server inventory"], ["--report", "report"]]) {
      const r = await sealert([
        "--read",
        SESSION,
        "--log",
        `${dir}/sealert.log`,
        option,
        `${dir}/missing/out`,
      ]);
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr,
        `sealert: Cannot write ${what} "${dir}/missing/out": directory "${dir}/missing" does not exist\n`,
      );
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "inventory CLI: a directory that takes no new file is one line, exit 2",
  ignore: Deno.build.os === "windows",
  async fn() {
    if (Deno.uid() === 0) {
      // Root writes anywhere: run as nobody against a directory only root may write.
      await using app = await readableCopy();
      // The checkout may be readable by root only: nobody reads its own copy of the capture.
      const capture = `${app.dir}/session.pcap`;
      Deno.copyFileSync(SESSION, capture);
      Deno.chmodSync(capture, 0o644);
      const out = await asNobody(app, [
        "--read",
        capture,
        "--log",
        "none",
        "--servers",
        `${app.dir}/servers.jsonl`,
      ]).output();
      const err = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 2, err);
      assert.equal(
        err,
        `sealert: Cannot write server inventory "${app.dir}/servers.jsonl": Permission denied\n`,
      );
      return;
    }
    const dir = Deno.makeTempDirSync({ prefix: "sealert-inv-" });
    try {
      Deno.chmodSync(dir, 0o500);
      const r = await sealert(["--read", SESSION, "--log", "none", "--servers", `${dir}/s.jsonl`]);
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr,
        `sealert: Cannot write server inventory "${dir}/s.jsonl": Permission denied\n`,
      );
    } finally {
      Deno.chmodSync(dir, 0o700);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("inventory: a failed rewrite is one line (once) and false; the next one recovers", () => {
  const dir = Deno.makeTempDirSync({ prefix: "sealert-inv-" });
  const printed: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => printed.push(a.join(" "));
  try {
    // The directory exists at start (checked), then goes away.
    Deno.mkdirSync(`${dir}/sub`);
    const out = new InventoryOutputs({ servers: `${dir}/sub/s.jsonl`, report: undefined });
    out.observe(sampleEvent());
    assert.equal(out.save(), true);
    assert.equal(jsonLines(`${dir}/sub/s.jsonl`).length, 1);
    Deno.removeSync(`${dir}/sub`, { recursive: true });
    assert.equal(out.save(), false);
    assert.equal(out.save(), false);
    assert.equal(printed.length, 1);
    assert.match(
      printed[0],
      new RegExp(`^sealert: Cannot write server inventory "${dir}/sub/s\\.jsonl": `),
    );
    Deno.mkdirSync(`${dir}/sub`);
    assert.equal(out.save(), true);
  } finally {
    console.error = error;
    Deno.removeSync(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// Live: SIGUSR1 and the exit.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

Deno.test({
  name: "inventory CLI: live, SIGUSR1 rewrites the files and prints the table; the exit once more",
  ignore: skipPrivileged("inventory CLI: live SIGUSR1"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (inCi) assert.equal(privilegeProblem(), undefined, "CI must run the live inventory test");
    const tag = `${Deno.pid}`;
    const ns = `sealert-inv-${tag}`;
    const capture = `via${tag}`.slice(0, 15), send = `vib${tag}`.slice(0, 15);
    const dir = Deno.makeTempDirSync({ prefix: "sealert-inv-" });
    const procs: Proc[] = [];
    const inNs = (cmd: string[]) => {
      const p = new Proc("ip", ["netns", "exec", ns, ...cmd]);
      procs.push(p);
      return p;
    };
    try {
      await run("ip", ["netns", "add", ns]);
      await run("ip", ["-n", ns, "link", "add", capture, "type", "veth", "peer", "name", send]);
      for (const dev of ["lo", capture, send]) {
        await run("ip", ["-n", ns, "link", "set", dev, "up"]);
      }
      const servers = `${dir}/servers.jsonl`, report = `${dir}/report.html`;
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
        "--servers",
        servers,
        "--report",
        report,
      ]);
      await waitFor(
        `sealert to start (${p.stderr})`,
        () => p.stdout.includes("Starting Capture Packets") || p.code !== undefined,
      );
      assert.equal(p.code, undefined, p.stderr);
      const replay = inNs([Deno.execPath(), "run", "-A", REPLAY, send, SESSION, "2", "0", "0"]);
      assert.equal(await replay.done, 0, replay.stderr);
      await waitFor(
        "2 alerts",
        () => (readText(json).match(/"event_type":"softether"/g) ?? []).length === 2,
      );
      assert.equal(readText(servers), ""); // not yet: every 60 s, on SIGUSR1, at exit
      p.signal("SIGUSR1");
      await waitFor("the table", () => /^10\.77\.2\.2 /m.test(p.stderr));
      assert.match(p.stderr, /^sealert: \d+ packets \(.*\), \d+ flows .*2 alerts/m);
      assert.match(p.stderr, /^SoftEther servers: 1$/m);
      const now = jsonLines(servers);
      assert.equal(now.length, 1);
      assert.equal(now[0].server, "10.77.2.2");
      assert.equal(now[0].clients, 2);
      assert.equal((now[0].sessions as { established: number }).established, 2);
      assert.match(readText(report), /<tr class="server" data-host="10\.77\.2\.2">/);
      p.signal("SIGTERM");
      assert.equal(await p.done, 0, p.stderr);
      const [last] = jsonLines(servers);
      assert.deepEqual(last.sessions, { established: 2, attempt: 0, active: 0 });
      const bytes = last.bytes as { toserver: number; toclient: number };
      assert.ok(bytes.toserver > 10_000 && bytes.toclient > 100_000, JSON.stringify(bytes));
      // Live, the table is printed on SIGUSR1 only: once.
      assert.equal(p.stderr.match(/^SoftEther servers: /gm)?.length, 1);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
        "alerts.json",
        "report.html",
        "servers.jsonl",
      ]);
    } finally {
      for (const p of procs) await p.kill();
      await run("ip", ["netns", "del", ns]).catch(() => {});
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
