/**
 * The `compile` and `compile:all` tasks: the permissions baked into the
 * release binaries (no more than sealert uses), the Worker module included,
 * type checking kept, one command per target, and `deno compile` itself
 * getting as far as the runtime download.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  binaryPath,
  compileArgs,
  parseCompileTask,
  readCompileTask,
  TARGETS,
} from "./compile_all.ts";
import { exec, repoPath, ROOT } from "./_tools.ts";

const denoJson = JSON.parse(await Deno.readTextFile(repoPath("deno.json")));

/**
 * The permissions, and why each is there:
 * - ffi: libpcap/Npcap (live capture, `--list`), libc memcpy/poll, Unix
 *   datagram syslog; unscoped because a path-scoped --allow-ffi breaks reading
 *   packet memory (ffi/libpcap.ts).
 * - read: capture files (--read), any path. write: alert/flow logs, evidence
 *   pcaps, any path.
 * - env: SEALERT_LIBPCAP, SystemRoot/SYSTEMROOT/windir (Npcap directory),
 *   SEALERT_DEBUG; unscoped: a refused read in an unexpected place (node:
 *   compatibility code) would be an error, not a default.
 * - sys=hostname: the HOSTNAME field of syslog messages (Deno.hostname), only.
 * - net: --syslog udp://… and tcp://… (node:dgram, node:net), targets chosen
 *   at run time.
 * Not: run, import, all; with --allow-ffi a sandbox is no security boundary
 * anyway, so these flags state intent and catch accidents.
 */
const EXPECTED_PERMISSIONS = [
  "--allow-ffi",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys=hostname",
  "--allow-net",
];

/** Every module started as a Worker with `new Worker(new URL("…", import.meta.url))`. */
async function workerModules(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path, `${rel}${e.name}/`);
      else if (e.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(path);
        for (
          const m of text.matchAll(/new Worker\(\s*new URL\(\s*"([^"]+)",\s*import\.meta\.url/g)
        ) {
          found.push(new URL(m[1], `file:///${rel}${e.name}`).pathname.slice(1));
        }
      }
    }
  };
  await walk(repoPath("src"), "src/");
  await walk(repoPath("ffi"), "ffi/");
  return [...new Set(found)].sort(); // a worker started from several modules counts once
}

Deno.test("compile task: the least permissions, the worker included, type-checked", async () => {
  const line: string = denoJson.tasks.compile;
  const task = parseCompileTask(line);
  assert.equal(task.entry, "main.ts");
  assert.equal(task.output, "dist/sealert");
  const permissions = task.flags.filter((f) => f.startsWith("--allow") || f === "-A");
  assert.deepEqual(permissions.sort(), [...EXPECTED_PERMISSIONS].sort());
  for (const banned of ["--no-check", "-A", "--allow-all", "--allow-run", "--allow-import"]) {
    assert.ok(!line.split(/\s+/).includes(banned), `${banned} in: ${line}`);
  }
  // Workers are not found by deno compile's module graph: each needs --include.
  const workers = await workerModules();
  assert.ok(workers.includes("src/capture/live_worker.ts"), workers.join(", "));
  const included = task.flags.flatMap((f, i) => (task.flags[i - 1] === "--include" ? [f] : []));
  assert.deepEqual(included.sort(), workers);
  for (const w of workers) await Deno.stat(repoPath(w));
});

Deno.test("compile:all: one deno compile per target, the compile task's flags, dist/sealert-<target>", async () => {
  assert.deepEqual([...TARGETS], [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-pc-windows-msvc",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
  ]);
  const task = await readCompileTask();
  assert.equal(
    binaryPath(task, "x86_64-pc-windows-msvc"),
    "dist/sealert-x86_64-pc-windows-msvc.exe",
  );
  assert.equal(binaryPath(task, "aarch64-apple-darwin"), "dist/sealert-aarch64-apple-darwin");
  assert.deepEqual(compileArgs(task, "x86_64-unknown-linux-gnu"), [
    "compile",
    ...task.flags,
    "--target",
    "x86_64-unknown-linux-gnu",
    "--output",
    "dist/sealert-x86_64-unknown-linux-gnu",
    "main.ts",
  ]);

  const dry = await exec(Deno.execPath(), ["task", "compile:all", "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  const commands = dry.stderr.split("\n").filter((l) => l.startsWith("$ deno compile "));
  assert.deepEqual(
    commands,
    TARGETS.map((t) => `$ deno ${compileArgs(task, t).join(" ")}`),
  );

  const one = await exec(Deno.execPath(), [
    "task",
    "compile:all",
    "--dry-run",
    "aarch64-apple-darwin",
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.stderr.split("\n").filter((l) => l.startsWith("$ deno compile ")).length, 1);

  const bad = await exec(Deno.execPath(), ["task", "compile:all", "--dry-run", "riscv64-linux"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown target riscv64-linux/);
});

Deno.test("parseCompileTask: refuses lines compile:all could not extend", () => {
  assert.throws(() => parseCompileTask("deno run main.ts"), /must start with "deno compile"/);
  assert.throws(() => parseCompileTask("deno compile --allow-ffi main.ts"), /needs --output/);
  assert.throws(
    () => parseCompileTask("deno compile --target x86_64-apple-darwin -o dist/x main.ts"),
    /must not name a --target/,
  );
  assert.throws(() => parseCompileTask("deno compile -o dist/x --allow-ffi"), /entry module/);
  assert.deepEqual(parseCompileTask("deno compile --allow-ffi -o dist/x main.ts"), {
    flags: ["--allow-ffi"],
    output: "dist/x",
    entry: "main.ts",
  });
});

Deno.test("deno compile: gets as far as the runtime download; the worker module is embedded", async () => {
  const task = await readCompileTask();
  const dir = await Deno.makeTempDir({ prefix: "sealert-compile-" });
  try {
    // 1. The real task, as a user runs it: it must fail (if at all) only where
    //    it downloads Deno's runtime (denort) for the target.
    const out = `${dir}/sealert${Deno.build.os === "windows" ? ".exe" : ""}`;
    const r = await exec(Deno.execPath(), ["compile", ...task.flags, "--output", out, task.entry]);
    const text = r.stderr; // NO_COLOR=1: no escapes;
    if (r.code !== 0) {
      assert.match(text, /Compile .*main\.ts/, text);
      assert.match(text, /Download https:\/\/dl\.deno\.land\/release\/v[\d.]+\/denort-/, text);
      assert.match(text, /Setting up base binary/, text);
      assert.doesNotMatch(text, /TS\d{4}|error: Module not found/, text);
      console.log(`deno compile stopped at the runtime download (no access here):\n${text}`);
    } else {
      const v = await exec(out, ["--version"]);
      assert.equal(v.stdout.trim(), `sealert ${denoJson.version}`);
    }

    // 2. The embedding, without the download: DENORT_BIN (used by Deno's own
    //    tests) names a local base binary. The deno binary itself stands in: the
    //    result is not a working sealert, but it carries the embedded modules,
    //    which must include each Worker module (found by its source text).
    const stub = `${dir}/embed-check`;
    const e = await exec(
      Deno.execPath(),
      ["compile", ...task.flags, "--output", stub, task.entry],
      { env: { DENORT_BIN: Deno.execPath() } },
    );
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stderr, /Embedded Files/, e.stderr);
    const binary = Buffer.from(await Deno.readFile(stub));
    for (const worker of await workerModules()) {
      const source = await Deno.readTextFile(repoPath(worker));
      const needle = source.split("\n").find((l) => /^ \* \S.{30,}$/.test(l));
      assert.ok(needle, `no doc comment line in ${worker} to look for`);
      assert.ok(binary.indexOf(needle) >= 0, `${worker} is not embedded in the compiled binary`);
    }

    // 3. The check above can fail: without --include the worker is missing.
    const flagsWithoutInclude = task.flags.filter((f, i) =>
      f !== "--include" && task.flags[i - 1] !== "--include"
    );
    const bare = `${dir}/embed-check-bare`;
    const b = await exec(
      Deno.execPath(),
      ["compile", ...flagsWithoutInclude, "--output", bare, task.entry],
      { env: { DENORT_BIN: Deno.execPath() } },
    );
    assert.equal(b.code, 0, b.stderr);
    const worker = await Deno.readTextFile(repoPath("src/capture/live_worker.ts"));
    const needle = worker.split("\n").find((l) => /^ \* \S.{30,}$/.test(l))!;
    assert.equal(Buffer.from(await Deno.readFile(bare)).indexOf(needle), -1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile output goes to dist/, which git ignores", async () => {
  const gitignore = await Deno.readTextFile(`${ROOT}/.gitignore`);
  assert.ok(gitignore.split("\n").some((l) => l.trim() === "/dist/" || l.trim() === "dist/"));
});
