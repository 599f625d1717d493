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

async function inspect(file: string) {
  const c = new SoftEtherClassifier(() => {});
  const p = new Pipeline(c);
  const src = await openCaptureFiles([fileURLToPath(new URL(file, import.meta.url))]);
  await p.run(src);
  src.close();
  p.finish();
  return { stats: c.stats, live: c.live };
}

Deno.test("classifier: a download stops being inspected after a few records, not 64 KB", async () => {
  // A real 6 MB HTTPS download (nginx, HTTP/1.1): the server's answer to a
  // short request outgrows any SoftEther set-up message within ~8 KB.
  const { stats, live } = await inspect("../../testdata/lab/neg_https_big.pcap");
  assert.ok(stats.inspected >= 1, JSON.stringify(stats));
  assert.equal(stats.dismissed, stats.inspected, JSON.stringify(stats));
  assert.equal(live, 0);
  assert.ok(
    stats.inspectedBytes < 16_384 * stats.inspected,
    `inspected ${stats.inspectedBytes} B over ${stats.inspected} connections`,
  );
});

Deno.test("classifier: every analyzer is released exactly once (live count back to 0)", async () => {
  for (const f of ["direct_443", "http_proxy", "fail_password", "neg_https_h2", "ssh_forward"]) {
    const { stats, live } = await inspect(`../../testdata/lab/${f}.pcap`);
    assert.equal(live, 0, `${f}: ${JSON.stringify(stats)}`);
  }
});
