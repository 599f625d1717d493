/**
 * `deno task compile:all`: builds the release binaries with `deno compile`,
 * one per target, into `dist/sealert-<target>[.exe]`.
 *
 * The permission, include and entry flags are not repeated here: they are
 * read from the `compile` task of deno.json (the single place they live), so
 * `deno task compile` and every release binary get exactly the same baked-in
 * permissions.
 *
 * Usage (from the repository root):
 *
 *   deno task compile:all                             # all five targets
 *   deno task compile:all x86_64-pc-windows-msvc      # some targets
 *   deno task compile:all --dry-run                   # print the commands only
 *
 * `deno compile` downloads Deno's runtime for each target (denort, from
 * dl.deno.land) the first time: building needs that host to be reachable.
 *
 * @module
 */

/** The release targets (Deno's `--target` names), in release order. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-pc-windows-msvc",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
] as const;

/** One release target. */
export type Target = typeof TARGETS[number];

/** What the `compile` task line says, taken apart. */
export interface CompileTask {
  /** Flags between `deno compile` and the output/entry (permissions, `--include`…). */
  flags: string[];
  /** The `--output` path of the current-platform build (e.g. `dist/sealert`). */
  output: string;
  /** The entry module (e.g. `main.ts`). */
  entry: string;
}

/**
 * Parses a `deno compile … --output PATH ENTRY` task line (plain words, no
 * shell quoting: the task is kept that simple on purpose).
 */
export function parseCompileTask(line: string): CompileTask {
  const words = line.trim().split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "compile") {
    throw new Error(`the compile task must start with "deno compile": ${line}`);
  }
  const rest = words.slice(2);
  const entry = rest.pop();
  if (entry === undefined || entry.startsWith("-")) {
    throw new Error(`the compile task must end with the entry module: ${line}`);
  }
  const flags: string[] = [];
  let output: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i];
    if (w === "--output" || w === "-o") output = rest[++i];
    else if (w.startsWith("--output=")) output = w.slice("--output=".length);
    else if (w === "--target" || w.startsWith("--target=")) {
      throw new Error(`the compile task must not name a --target: ${line}`);
    } else flags.push(w);
  }
  if (output === undefined) throw new Error(`the compile task needs --output: ${line}`);
  return { flags, output, entry };
}

/** The file name of `target`'s binary, next to the `compile` task's output. */
export function binaryPath(task: CompileTask, target: string): string {
  return `${task.output}-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/** The `deno` arguments that build `target`. */
export function compileArgs(task: CompileTask, target: string): string[] {
  return [
    "compile",
    ...task.flags,
    "--target",
    target,
    "--output",
    binaryPath(task, target),
    task.entry,
  ];
}

/** Reads deno.json (next to this repository's root) and parses its `compile` task. */
export async function readCompileTask(
  denoJson: URL = new URL("../../deno.json", import.meta.url),
): Promise<CompileTask> {
  const config = JSON.parse(await Deno.readTextFile(denoJson));
  const line = config?.tasks?.compile;
  if (typeof line !== "string") throw new Error(`no "compile" task in ${denoJson.pathname}`);
  return parseCompileTask(line);
}

async function main(args: string[]): Promise<number> {
  const dryRun = args.includes("--dry-run");
  const wanted = args.filter((a) => !a.startsWith("--"));
  const unknown = wanted.filter((t) => !(TARGETS as readonly string[]).includes(t));
  if (unknown.length > 0) {
    console.error(
      `compile:all: unknown target ${unknown.join(", ")} (known: ${TARGETS.join(", ")})`,
    );
    return 2;
  }
  const targets = wanted.length > 0 ? wanted : [...TARGETS];
  const task = await readCompileTask();
  for (const target of targets) {
    const args = compileArgs(task, target);
    console.error(`$ deno ${args.join(" ")}`);
    if (dryRun) continue;
    const { code } = await new Deno.Command(Deno.execPath(), { args }).spawn().status;
    if (code !== 0) {
      console.error(`compile:all: ${target} failed (exit ${code})`);
      return code;
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
