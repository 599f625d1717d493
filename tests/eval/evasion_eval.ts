/**
 * Evasion evaluation: every labelled capture (the labels files `deno task
 * eval` reads) is run through the full pipeline untouched and after each
 * transform of `evasion.ts`; a positive capture must give exactly the alerts
 * of the untouched capture (kind, variant, outcome, client address, server
 * address and port, and as many — IPv6 addresses mapped back), a negative
 * capture none. The untouched run is also checked against its label (row
 * `untouched`).
 *
 * Usage: deno run --allow-read --allow-write tests/eval/evasion_eval.ts
 *          [--only T1,T2] [--files SUBSTRING] [--jobs N] [--seed N] [labels.tsv ...]
 *
 * Prints a Markdown table (one row per transform: positives ok / total,
 * negatives ok / total), then the failures; exits 1 if anything failed.
 * Transformed captures are written to a temporary directory and removed.
 *
 * @module
 */

import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { readCapture } from "./capture_packets.ts";
import { detect, judge, type Label, readLabels } from "./evaluate.ts";
import { EVASIONS, unmapIpv6Text, writeEvasion } from "./evasion.ts";

/** The labels files of `deno task eval`. */
export const DEFAULT_LABEL_FILES: readonly string[] = [
  "../../testdata/lab/labels.tsv",
  "../../testdata/lab2/labels.tsv",
  "../../testdata/lookalike/labels.tsv",
].map((p) => fileURLToPath(new URL(p, import.meta.url)));

/** Name of the row comparing the untouched captures with their labels. */
export const UNTOUCHED = "untouched";

/** Options of {@linkcode evaluateEvasion}. */
export interface EvasionEvalOptions {
  /** Labels files (default {@linkcode DEFAULT_LABEL_FILES}). */
  labelFiles?: readonly string[];
  /** Transforms to run (default all). */
  only?: readonly string[];
  /** Only captures whose path contains this. */
  files?: string;
  /** Captures evaluated at once, each in a Worker when > 1 (default 1). */
  jobs?: number;
  /** Seed of the transforms (default 1). */
  seed?: number;
}

/** Result of one capture under one transform. */
export interface TransformOutcome {
  /** Transform name ({@linkcode UNTOUCHED} for the label check). */
  transform: string;
  /** Expected alerts, as sorted {@linkcode alertKey}s. */
  expected: string[];
  /** Alerts raised, as sorted {@linkcode alertKey}s. */
  got: string[];
  /** True when they match. */
  ok: boolean;
}

/** Everything found on one capture. */
export interface FileOutcome {
  /** The capture's label. */
  label: Label;
  /** One entry per transform, the untouched check first. */
  outcomes: TransformOutcome[];
}

/** One row of the table. */
export interface EvasionRow {
  /** Transform name. */
  transform: string;
  /** Positive (and admin) captures that passed. */
  positivesOk: number;
  /** Positive (and admin) captures run. */
  positives: number;
  /** Negative captures that passed. */
  negativesOk: number;
  /** Negative captures run. */
  negatives: number;
}

/** The whole evaluation. */
export interface EvasionReport {
  /** Per capture. */
  files: FileOutcome[];
  /** Per transform. */
  rows: EvasionRow[];
  /** The table and the failure list, in Markdown. */
  text: string;
  /** True when nothing failed. */
  ok: boolean;
}

/** The comparable form of an alert: kind, variant, outcome, client, server (IPv6 mapped back). */
export function alertKey(ev: DetectionEvent): string {
  const client = unmapIpv6Text(ev.client.ip);
  const server = unmapIpv6Text(ev.server.ip);
  const host = server.includes(":") ? `[${server}]` : server;
  return `${ev.kind} ${ev.variant} ${ev.outcome} ${client} -> ${host}:${ev.server.port}`;
}

function keys(events: DetectionEvent[]): string[] {
  return events.map(alertKey).sort();
}

/** Runs the untouched capture and each transform of `transforms` on one labelled capture. */
export async function evaluateFile(
  label: Label,
  transforms: readonly string[],
  seed: number,
  tmpDir: string,
): Promise<FileOutcome> {
  const negative = label.label === "negative";
  const events = await detect(label.file);
  const baseline = keys(events);
  const check = judge(label, events);
  const outcomes: TransformOutcome[] = [{
    transform: UNTOUCHED,
    expected: check.problems.length === 0 ? baseline : [
      `(label: ${label.label} ${label.variant} ${label.outcome} ${label.client} -> ${label.server} x${
        Math.max(1, label.sessions)
      })`,
    ],
    got: baseline,
    ok: check.problems.length === 0,
  }];
  const expected = negative ? [] : baseline;
  const packets = transforms.length > 0 ? await readCapture(label.file) : [];
  for (const t of transforms) {
    const out = join(tmpDir, `${basename(label.file)}.${t}.pcap`);
    let got: string[];
    try {
      writeEvasion(packets, out, t, seed);
      got = keys(await detect(out));
    } catch (e) {
      got = [`error: ${e instanceof Error ? e.message : String(e)}`];
    } finally {
      await Deno.remove(out).catch(() => {});
    }
    const ok = got.length === expected.length && got.every((g, i) => g === expected[i]);
    outcomes.push({ transform: t, expected, got, ok });
  }
  return { label, outcomes };
}

/** Evaluates the captures with at most `jobs` Workers (in this thread when `jobs` is 1). */
async function runFiles(
  labels: Label[],
  transforms: readonly string[],
  seed: number,
  jobs: number,
  tmpDir: string,
): Promise<FileOutcome[]> {
  const out: FileOutcome[] = new Array(labels.length);
  if (jobs <= 1) {
    for (let i = 0; i < labels.length; i++) {
      out[i] = await evaluateFile(labels[i], transforms, seed, tmpDir);
    }
    return out;
  }
  let next = 0;
  const worker = async () => {
    const w = new Worker(new URL("./evasion_worker.ts", import.meta.url), { type: "module" });
    try {
      while (next < labels.length) {
        const i = next++;
        out[i] = await new Promise<FileOutcome>((resolve, reject) => {
          w.onmessage = (e: MessageEvent<{ result?: FileOutcome; error?: string }>) =>
            e.data.error !== undefined ? reject(new Error(e.data.error)) : resolve(e.data.result!);
          w.onerror = (e) => {
            e.preventDefault();
            reject(new Error(e.message));
          };
          w.postMessage({ label: labels[i], transforms, seed, tmpDir });
        });
      }
    } finally {
      w.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, labels.length) }, worker));
  return out;
}

/** Builds the Markdown table and failure list. */
export function report(files: FileOutcome[], transforms: readonly string[]): EvasionReport {
  const rows: EvasionRow[] = [UNTOUCHED, ...transforms].map((transform) => ({
    transform,
    positivesOk: 0,
    positives: 0,
    negativesOk: 0,
    negatives: 0,
  }));
  const failures: string[] = [];
  for (const f of files) {
    const negative = f.label.label === "negative";
    for (const o of f.outcomes) {
      const row = rows.find((r) => r.transform === o.transform)!;
      if (negative) {
        row.negatives++;
        if (o.ok) row.negativesOk++;
      } else {
        row.positives++;
        if (o.ok) row.positivesOk++;
      }
      if (!o.ok) {
        const list = (a: string[]) => (a.length === 0 ? "none" : a.join("; "));
        failures.push(
          `- ${relative(Deno.cwd(), f.label.file)} — ${o.transform}: expected ${
            list(o.expected)
          }; got ${list(o.got)}`,
        );
      }
    }
  }
  const lines = [
    "| transform | positives ok / total | negatives ok / total |",
    "|---|---|---|",
    ...rows.map((r) =>
      `| ${r.transform} | ${r.positivesOk} / ${r.positives} | ${r.negativesOk} / ${r.negatives} |`
    ),
  ];
  const ok = failures.length === 0;
  lines.push("", ok ? "No failures." : `Failures (${failures.length}):`, ...failures);
  return { files, rows, text: lines.join("\n"), ok };
}

/** Runs the whole evasion evaluation. */
export async function evaluateEvasion(opts: EvasionEvalOptions = {}): Promise<EvasionReport> {
  const transforms = opts.only ?? EVASIONS.map((e) => e.name);
  for (const t of transforms) {
    if (!EVASIONS.some((e) => e.name === t)) throw new Error(`unknown transform "${t}"`);
  }
  const labels = (opts.labelFiles ?? DEFAULT_LABEL_FILES).flatMap(readLabels)
    .filter((l) => opts.files === undefined || l.file.includes(opts.files));
  const tmpDir = await Deno.makeTempDir({ prefix: "sealert_evasion_" });
  try {
    const files = await runFiles(labels, transforms, opts.seed ?? 1, opts.jobs ?? 1, tmpDir);
    return report(files, transforms);
  } finally {
    await Deno.remove(tmpDir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      only: { type: "string" },
      files: { type: "string" },
      jobs: { type: "string" },
      seed: { type: "string" },
    },
  });
  const started = performance.now();
  const r = await evaluateEvasion({
    labelFiles: positionals.length > 0 ? positionals : undefined,
    only: values.only?.split(",").map((s) => s.trim()).filter((s) => s !== ""),
    files: values.files,
    jobs: values.jobs === undefined ? undefined : Number(values.jobs),
    seed: values.seed === undefined ? undefined : Number(values.seed),
  });
  console.log(r.text);
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
  Deno.exit(r.ok ? 0 : 1);
}
