import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { openCaptureFiles } from "../src/capture/file_source.ts";
import { CaptureFileError } from "../src/capture/errors.ts";
import { RawPacket } from "../src/capture/raw_packet.ts";
import { Weirds } from "../src/decode/weirds.ts";
import { SoftEtherTcpDetector } from "../src/detect/softether_tcp_detector.ts";
import { flowRecord } from "../src/flow/flow_record.ts";
import type { DetectionEvent } from "../src/detect/event.ts";
import { Pipeline } from "../src/pipeline.ts";

/** The pipeline's batch size (src/pipeline.ts). */
const BATCH = 64;

const FILE = fileURLToPath(new URL("../testdata/golden/direct_443.pcap", import.meta.url));

/** Runs `file` through a pipeline, batched (`run`) or packet by packet (`handle`). */
async function analyse(file: string, batched: boolean, maxFlows = 1000) {
  const events: DetectionEvent[] = [];
  const flows: unknown[] = [];
  const weirds = new Weirds();
  const p = new Pipeline([new SoftEtherTcpDetector((ev) => events.push(ev), { weirds })], {
    maxFlows,
    onFlowEnd: (t, slot) => flows.push(flowRecord(t, slot)),
  }, weirds);
  const src = await openCaptureFiles([file]);
  let error: unknown;
  try {
    if (batched) await p.run(src);
    else {
      const raw = new RawPacket();
      do while (src.next(raw)) p.handle(raw); while (await src.refill());
    }
  } catch (e) {
    error = e;
  } finally {
    src.close();
  }
  p.finish();
  return { events, flows, packets: p.packets, error };
}

Deno.test("pipeline: batched run gives exactly the per-packet result", async () => {
  for (const maxFlows of [1000, 2]) { // 2: evictions inside batches too
    const a = await analyse(FILE, true, maxFlows);
    const b = await analyse(FILE, false, maxFlows);
    assert.ok(a.packets > BATCH * 4);
    assert.deepEqual(a.events, b.events);
    assert.deepEqual(a.flows, b.flows);
  }
  const a = await analyse(FILE, true);
  assert.equal(a.events.filter((e) => e.phase === undefined).length, 1);
});

Deno.test("pipeline: damage in the middle of a batch — every packet before it is analysed", async () => {
  const bytes = Deno.readFileSync(FILE);
  const v = new DataView(bytes.buffer);
  // Find record 400 (past the alert's packets, not on a batch boundary).
  let pos = 24;
  for (let i = 0; i < 400; i++) pos += 16 + v.getUint32(pos + 8, true);
  v.setUint32(pos + 8, 0x00ffffff, true); // absurd captured length
  const path = Deno.makeTempFileSync({ suffix: ".pcap" });
  try {
    Deno.writeFileSync(path, bytes);
    const r = await analyse(path, true);
    assert.ok(r.error instanceof CaptureFileError, String(r.error));
    assert.match((r.error as Error).message, /is damaged at byte \d+/);
    assert.equal(r.packets, 400);
    assert.equal(r.events.filter((e) => e.phase === undefined).length, 1);
  } finally {
    Deno.removeSync(path);
  }
});
