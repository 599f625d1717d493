/**
 * Smoke test of a sealert binary (a release build, or `deno run … main.ts`
 * standing in for one): the checks the release workflow runs on every
 * binary its runner can execute.
 *
 *   deno run --allow-read --allow-run --allow-env tests/release/smoke.ts [--no-libpcap] -- CMD...
 *   deno run --allow-read --allow-run --allow-env tests/release/smoke.ts [--no-libpcap] --as-compiled
 *
 * `--as-compiled` checks `deno run main.ts` with exactly the permissions the
 * `compile` task of deno.json bakes into the binaries (where no binary can be
 * built: here, or on a pull request).
 *
 * Checks: `--version` prints deno.json's version; `--help` works; reading
 * testdata/lab/direct_443.pcap prints the SoftEther alert line and a JSON
 * alert; `--list` with `SEALERT_LIBPCAP` pointing at a missing file fails
 * with the one-line "Cannot load" message and exit 2. With `--no-libpcap`
 * (a runner without libpcap/Npcap, e.g. GitHub's Windows runners), plain
 * `--list` must fail the same way, naming Npcap on Windows.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { readCompileTask } from "./compile_all.ts";

/** The capture every smoke run reads (tracked in git, ~400 kB). */
export const SMOKE_CAPTURE = fileURLToPath(
  new URL("../../testdata/lab/direct_443.pcap", import.meta.url),
);

/** The alert line the text log prints for {@linkcode SMOKE_CAPTURE} (SoftEther Alert's format). */
export const SMOKE_ALERT =
  /^\[\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\] SoftEther TCP Connection Detected \(client [\d.]+:\d+, server [\d.]+:443\)$/m;

/** One finished command. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** One check's outcome. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** Runs `cmd` + `args` with no stdin and an extra environment. */
export async function run(
  cmd: readonly string[],
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  const out = await new Deno.Command(cmd[0], {
    args: [...cmd.slice(1), ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** deno.json's "version". */
export async function projectVersion(): Promise<string> {
  const text = await Deno.readTextFile(new URL("../../deno.json", import.meta.url));
  return JSON.parse(text).version;
}

function show(r: Run): string {
  return `exit ${r.code}; stdout: ${r.stdout.trim().slice(0, 400)}; stderr: ${
    r.stderr.trim().slice(0, 400)
  }`;
}

/** True when `r` failed with exit 2 and exactly one `sealert: Cannot load …` line on stderr. */
function missingLibraryError(r: Run, pattern: RegExp): boolean {
  const lines = r.stderr.trim().split(/\r?\n/);
  return r.code === 2 && lines.length === 1 && /^sealert: Cannot load /.test(lines[0]) &&
    pattern.test(lines[0]);
}

/**
 * Runs every smoke check against `cmd` (the binary, or a `deno run` line).
 * `noLibpcap`: the host has no libpcap/Npcap, so plain `--list` must fail
 * cleanly; `os` names the host for the wording check.
 */
export async function smoke(
  cmd: readonly string[],
  opts: { noLibpcap?: boolean; os?: typeof Deno.build.os } = {},
): Promise<Check[]> {
  const os = opts.os ?? Deno.build.os;
  const version = await projectVersion();
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, r: Run) =>
    checks.push({ name, ok, detail: ok ? "" : show(r) });

  const v = await run(cmd, ["--version"]);
  check(
    `--version prints "sealert ${version}"`,
    v.code === 0 && v.stdout.trim() === `sealert ${version}`,
    v,
  );

  const h = await run(cmd, ["--help"]);
  check("--help exits 0 with the usage", h.code === 0 && h.stdout.includes("Usage: sealert"), h);

  const t = await run(cmd, ["--read", SMOKE_CAPTURE, "--log", "-", "--no-progress"]);
  check(
    "--read direct_443.pcap prints the alert line",
    t.code === 0 && SMOKE_ALERT.test(t.stdout),
    t,
  );

  const j = await run(cmd, [
    "--read",
    SMOKE_CAPTURE,
    "--log",
    "none",
    "--json",
    "-",
    "--no-progress",
  ]);
  let json = false;
  try {
    const first = JSON.parse(j.stdout.split("\n").find((l) => l.startsWith("{")) ?? "");
    json = first.event_type === "softether" && first.server?.port === 443;
  } catch {
    json = false;
  }
  check("--read … --json - writes the JSON alert", j.code === 0 && json, j);

  const missing = os === "windows"
    ? "C:\\sealert-missing\\wpcap.dll"
    : "/sealert-missing/libpcap.so";
  const m = await run(cmd, ["--list"], { SEALERT_LIBPCAP: missing });
  check(
    "--list with SEALERT_LIBPCAP=<missing> fails with one line, exit 2",
    missingLibraryError(m, /SEALERT_LIBPCAP=/),
    m,
  );

  if (opts.noLibpcap) {
    const l = await run(cmd, ["--list"]);
    const wording = os === "windows" ? /Npcap \(wpcap\.dll\).*npcap\.com/ : /libpcap/;
    check("--list without libpcap/Npcap: install hint, exit 2", missingLibraryError(l, wording), l);
  }
  return checks;
}

/**
 * The stand-in for a compiled binary: `deno run` of the `compile` task's
 * entry with the task's permission flags (`--include` is compile-only).
 */
export async function compiledStandIn(): Promise<string[]> {
  const task = await readCompileTask();
  const flags: string[] = [];
  for (let i = 0; i < task.flags.length; i++) {
    if (task.flags[i] === "--include") i++;
    else if (!task.flags[i].startsWith("--include=")) flags.push(task.flags[i]);
  }
  const entry = fileURLToPath(new URL(`../../${task.entry}`, import.meta.url));
  return [Deno.execPath(), "run", ...flags, entry];
}

/** Prints the checks; returns the exit code (0 when all passed). */
export function report(checks: Check[]): number {
  for (const c of checks) {
    console.log(`${c.ok ? "ok  " : "FAIL"} ${c.name}${c.ok ? "" : `\n     ${c.detail}`}`);
  }
  const failed = checks.filter((c) => !c.ok).length;
  console.log(`${checks.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  const sep = Deno.args.indexOf("--");
  const own = sep < 0 ? Deno.args : Deno.args.slice(0, sep);
  const cmd = own.includes("--as-compiled")
    ? await compiledStandIn()
    : sep < 0
    ? []
    : Deno.args.slice(sep + 1);
  if (cmd.length === 0) {
    console.error("usage: smoke.ts [--no-libpcap] (--as-compiled | -- CMD [ARGS...])");
    Deno.exit(2);
  }
  const noLibpcap = own.includes("--no-libpcap");
  Deno.exit(report(await smoke(cmd, { noLibpcap })));
}
