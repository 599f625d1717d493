/**
 * A/B comparison of two sealert source trees on the same capture, for
 * checking a proposed hot-path change (copy the tree, edit, compare):
 * child processes alternate A, B, A, B, … (so both see the same machine
 * load); each imports its tree's `src/` and runs the full pipeline over the
 * file (warm-up, then best of `--runs`), like `bench.ts` does. Prints best
 * and median of the per-process bests (wall and CPU) and the speed-up of B
 * over A. On a shared 2-core VM, differences under ~5 % are noise.
 *
 * ```sh
 * deno run -A tests/bench/ab.ts --a /path/to/treeA --b /path/to/treeB \
 *   --file /tmp/sealert-bench/X.pcap [--rounds 6] [--runs 3] [--max-flows 1000000]
 * ```
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const SELF = fileURLToPath(import.meta.url);

interface Result {
  wall: number;
  cpu: number;
  packets: number;
  alerts: number;
}

/** A pipeline and its detector, of either API generation (see {@linkcode childRun}). */
interface Instance {
  p: {
    run(...args: unknown[]): Promise<void>;
    finish(): void;
    packets: number;
  };
  c: { stats: { alerts: number } };
}

/** The detector of trees before the detector set: the TCP detector alone (or the classifier). */
async function older(
  base: string,
  // deno-lint-ignore no-explicit-any
  Pipeline: any,
  maxFlows: number,
): Promise<() => Instance> {
  let make: () => Instance;
  try {
    const { SoftEtherTcpDetector } = await import(`${base}detect/softether_tcp_detector.ts`);
    const { Weirds } = await import(`${base}decode/weirds.ts`);
    make = () => {
      const weirds = new Weirds();
      const c = new SoftEtherTcpDetector(() => {}, { weirds });
      return { c, p: new Pipeline([c], { maxFlows }, weirds) };
    };
  } catch {
    const { SoftEtherClassifier } = await import(`${base}detect/softether_classifier.ts`);
    make = () => {
      const c = new SoftEtherClassifier(() => {});
      return { c, p: new Pipeline(c, { maxFlows }) };
    };
  }
  return make;
}

async function childRun(tree: string, file: string, runs: number, maxFlows: number) {
  const base = `file://${tree.replace(/\/$/, "")}/src/`;
  const { Pipeline } = await import(`${base}pipeline.ts`);
  const { RawPacket } = await import(`${base}capture/raw_packet.ts`);
  const { openCaptureFiles } = await import(`${base}capture/file_source.ts`);
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  // Trees with src/detect/detector_set.ts: all detectors; from 768ffe1 on:
  // Pipeline([detectors], opts, weirds) and SoftEtherTcpDetector(emit, {
  // weirds }); before: Pipeline(classifier, opts) and SoftEtherClassifier(emit).
  let make: () => Instance;
  try {
    // Trees with the detector set (issue 11 on): every detector, as main.ts runs them.
    const { createDetectors } = await import(`${base}detect/detector_set.ts`);
    const { Weirds } = await import(`${base}decode/weirds.ts`);
    make = () => {
      const weirds = new Weirds();
      const set = createDetectors(() => {}, weirds);
      return { c: set.classifier, p: new Pipeline(set.detectors, { maxFlows }, weirds) };
    };
  } catch {
    make = await older(base, Pipeline, maxFlows);
  }
  let best: Result = { wall: Infinity, cpu: Infinity, packets: 0, alerts: 0 };
  for (let r = 0; r <= runs; r++) {
    gc();
    const { p, c } = make();
    const t0 = performance.now(), c0 = cpuUsage();
    const src = await openCaptureFiles([file]);
    try {
      // Trees before the batched pipeline took a RawPacket: run(src, raw, onChunk?).
      if (p.run.length >= 3) await p.run(src, new RawPacket());
      else await p.run(src);
    } finally {
      src.close();
    }
    p.finish();
    const wall = (performance.now() - t0) / 1000, cu = cpuUsage(c0);
    const cpu = (cu.user + cu.system) / 1e6;
    if (r === 0) continue; // warm-up
    best = {
      wall: Math.min(best.wall, wall),
      cpu: Math.min(best.cpu, cpu),
      packets: p.packets,
      alerts: c.stats.alerts,
    };
  }
  console.log(JSON.stringify(best));
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function spawn(tree: string, file: string, runs: number, maxFlows: number): Promise<Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      SELF,
      "--child",
      tree,
      "--file",
      file,
      "--runs",
      String(runs),
      "--max-flows",
      String(maxFlows),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (out.code !== 0 || !line.startsWith("{")) throw new Error(`child for ${tree} failed`);
  return JSON.parse(line);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      child: { type: "string" },
      a: { type: "string" },
      b: { type: "string" },
      file: { type: "string" },
      rounds: { type: "string", default: "6" },
      runs: { type: "string", default: "3" },
      "max-flows": { type: "string", default: "1000000" },
    },
  });
  const runs = Number(values.runs), maxFlows = Number(values["max-flows"]);
  if (values.child !== undefined) {
    await childRun(values.child, values.file!, runs, maxFlows);
    Deno.exit(0);
  }
  if (!values.a || !values.b || !values.file) {
    console.error("usage: ab.ts --a TREE --b TREE --file X.pcap [--rounds 6] [--runs 3]");
    Deno.exit(2);
  }
  const res: Record<"A" | "B", Result[]> = { A: [], B: [] };
  for (let r = 0; r < Number(values.rounds); r++) {
    res.A.push(await spawn(values.a, values.file, runs, maxFlows));
    res.B.push(await spawn(values.b, values.file, runs, maxFlows));
  }
  for (const k of ["A", "B"] as const) {
    const w = res[k].map((x) => x.wall), c = res[k].map((x) => x.cpu);
    const n = res[k][0].packets;
    console.log(
      `${k} ${k === "A" ? values.a : values.b}: wall best ${Math.min(...w).toFixed(3)} s ` +
        `median ${median(w).toFixed(3)} s (${(n / median(w) / 1e6).toFixed(3)} M pkt/s); ` +
        `CPU best ${Math.min(...c).toFixed(3)} s median ${median(c).toFixed(3)} s; ` +
        `alerts ${res[k][0].alerts}`,
    );
  }
  const mw = (k: "A" | "B") => median(res[k].map((x) => x.wall));
  const mc = (k: "A" | "B") => median(res[k].map((x) => x.cpu));
  console.log(
    `B vs A: ${((mw("A") / mw("B") - 1) * 100).toFixed(1)} % faster (wall, median), ` +
      `${((mc("A") / mc("B") - 1) * 100).toFixed(1)} % (CPU, median)`,
  );
}
