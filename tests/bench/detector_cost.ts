/**
 * What each detector costs: the same capture through the TCP classifier
 * alone, the classifier plus one other detector, and the whole set (as
 * main.ts runs it); a warm-up round, then `--rounds` timed rounds (best
 * wall time of each subset printed, and its cost over the classifier alone).
 *
 * Usage: deno run -A tests/bench/detector_cost.ts FILE.pcap [--rounds 3]
 *
 * @module
 */

import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import type { Detector } from "../../src/detect/detector.ts";
import { createDetectors } from "../../src/detect/detector_set.ts";
import { Pipeline } from "../../src/pipeline.ts";

const args = [...Deno.args];
const at = args.indexOf("--rounds");
const rounds = at >= 0 ? Number(args.splice(at, 2)[1]) : 3;
const file = args[0];
if (file === undefined) {
  console.error("usage: detector_cost.ts FILE.pcap [--rounds N]");
  Deno.exit(2);
}

type Name = "classifier" | "udpSide" | "icmpVpn" | "dnsVpn" | "infrastructure" | "faces";
const others: Name[] = ["udpSide", "icmpVpn", "dnsVpn", "infrastructure", "faces"];
const subsets: Name[][] = [
  ["classifier"],
  ...others.map((n): Name[] => ["classifier", n]),
  ["classifier", ...others],
];

const best = new Map<string, number>();
for (let round = 0; round <= rounds; round++) {
  for (const sub of subsets) {
    const weirds = new Weirds();
    const set = createDetectors(() => {}, weirds);
    const detectors: Detector[] = sub.map((n) => set[n]);
    const p = new Pipeline(detectors, { maxFlows: 1_000_000 }, weirds);
    const src = await openCaptureFiles([file]);
    const t0 = performance.now();
    try {
      await p.run(src);
      p.finish();
    } finally {
      src.close();
    }
    const s = (performance.now() - t0) / 1000;
    const key = sub.join(" + ");
    if (round > 0) best.set(key, Math.min(best.get(key) ?? Infinity, s));
  }
}
const base = best.get("classifier")!;
for (const [key, s] of best) {
  const extra = key === "classifier" ? "" : `  (+${((s / base - 1) * 100).toFixed(1)} %)`;
  console.log(`${key.padEnd(64)} ${s.toFixed(3)} s${extra}`);
}
