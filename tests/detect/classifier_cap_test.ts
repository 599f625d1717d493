import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { SoftEtherClassifier } from "../../src/detect/softether_classifier.ts";
import { Pipeline } from "../../src/pipeline.ts";

const FILE = fileURLToPath(new URL("../../testdata/lab/direct_443.pcap", import.meta.url));

async function run(maxAnalyzers: number) {
  let alerts = 0;
  const c = new SoftEtherClassifier((ev) => {
    if (ev.phase !== "end") alerts++;
  }, maxAnalyzers);
  const p = new Pipeline(c);
  const src = await openCaptureFiles([FILE]);
  await p.run(src);
  src.close();
  p.finish();
  return { alerts, stats: c.stats };
}

Deno.test("classifier: the analyzer memory cap is counted, never exceeded", async () => {
  const capped = await run(0);
  assert.equal(capped.alerts, 0);
  assert.ok(capped.stats.capped >= 2, JSON.stringify(capped.stats));
  assert.equal(capped.stats.inspected, 0);
  const normal = await run(1000);
  assert.equal(normal.alerts, 1);
  assert.equal(normal.stats.capped, 0);
});
