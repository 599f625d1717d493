/**
 * Summarises a V8 `.cpuprofile` (from `deno run --cpu-prof`): the functions
 * with the most self time, with their inclusive time and source position.
 *
 * ```sh
 * deno run -A tests/bench/prof_top.ts /tmp/sealert-bench/prof/X.cpuprofile [--top 30]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

/** One row of the summary. */
export interface ProfileRow {
  /** Function name and source position. */
  name: string;
  /** Self time in ms. */
  self: number;
  /** Inclusive time in ms (recursion counted once per stack). */
  total: number;
}

/** Self and inclusive time per function of a profile, highest self time first. */
export function summarise(p: Profile): { rows: ProfileRow[]; totalMs: number } {
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totalHits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
  const msPerHit = totalHits > 0 ? (p.endTime - p.startTime) / 1000 / totalHits : 0;
  const key = (f: CallFrame) => {
    const file = f.url.replace(/^file:\/\/.*?\/(src|tests|ffi)\//, "$1/");
    return `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const n of p.nodes) {
    const h = n.hitCount ?? 0;
    if (h === 0) continue;
    const k = key(n.callFrame);
    self.set(k, (self.get(k) ?? 0) + h);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const kk = key(byId.get(id)!.callFrame);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + h);
    }
  }
  const rows = [...self].map(([name, h]) => ({
    name,
    self: h * msPerHit,
    total: (total.get(name) ?? 0) * msPerHit,
  }));
  rows.sort((a, b) => b.self - a.self);
  return { rows, totalMs: totalHits * msPerHit };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { top: { type: "string", default: "30" } },
  });
  const p = JSON.parse(Deno.readTextFileSync(positionals[0])) as Profile;
  const { rows, totalMs } = summarise(p);
  console.log(`  total ${totalMs.toFixed(0)} ms sampled`);
  console.log(
    `  ${"self ms".padStart(8)} ${"self %".padStart(7)} ${"total ms".padStart(9)}  function`,
  );
  for (const r of rows.slice(0, Number(values.top))) {
    console.log(
      `  ${r.self.toFixed(0).padStart(8)} ${((100 * r.self) / totalMs).toFixed(1).padStart(6)}% ` +
        `${r.total.toFixed(0).padStart(9)}  ${r.name}`,
    );
  }
}
