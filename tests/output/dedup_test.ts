import assert from "node:assert/strict";
import { DedupSink } from "../../src/output/dedup.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import type { AlertSink } from "../../src/output/sink.ts";
import { SinkError } from "../../src/output/sink.ts";
import { sampleEvent } from "./_event.ts";

/** A sink that remembers what it got. */
class Recorder implements AlertSink {
  events: DetectionEvent[] = [];
  calls: string[] = [];
  fail = false;
  write(ev: DetectionEvent): void {
    this.events.push(ev);
    if (this.fail) throw new SinkError("boom");
  }
  flush(): void {
    this.calls.push("flush");
  }
  reopen(): void {
    this.calls.push("reopen");
  }
  close(): void {
    this.calls.push("close");
  }
}

const T0 = 1_800_000_000;

Deno.test("DedupSink suppresses repeats within the window (packet time)", () => {
  const rec = new Recorder();
  const d = new DedupSink(rec);
  assert.equal(d.windowSeconds, 300);
  d.write(sampleEvent({ ts: T0 }));
  d.write(sampleEvent({ ts: T0 + 10, client: { ip: "192.168.126.229", port: 2000 } })); // reconnect
  d.write(sampleEvent({ ts: T0 + 299.9 }));
  assert.equal(rec.events.length, 1);
  assert.equal(d.suppressed, 2);
  d.write(sampleEvent({ ts: T0 + 300 })); // window counts from the last one passed on
  d.write(sampleEvent({ ts: T0 + 400 }));
  d.write(sampleEvent({ ts: T0 + 600 }));
  assert.deepEqual(rec.events.map((e) => e.ts), [T0, T0 + 300, T0 + 600]);
  assert.equal(d.suppressed, 3);
});

Deno.test("DedupSink: any differing key field passes", () => {
  const rec = new Recorder();
  const d = new DedupSink(rec, { windowSeconds: 60 });
  const base = sampleEvent({ ts: T0 });
  d.write(base);
  d.write({ ...base, kind: "admin" });
  d.write({ ...base, variant: "SSH" });
  d.write({ ...base, outcome: "attempt" });
  d.write({ ...base, client: { ip: "192.168.126.230", port: 1027 } });
  d.write({ ...base, server: { ip: "61.197.235.211", port: 7777 } });
  d.write({ ...base, server: { ip: "61.197.235.210", port: 443 } });
  d.write({ ...base, flow_id: 99, confidence: 0.5 }); // same key
  assert.equal(rec.events.length, 7);
  assert.equal(d.suppressed, 1);
  assert.equal(d.tracked, 7);
});

Deno.test("DedupSink: time going backwards counts by distance", () => {
  const rec = new Recorder();
  const d = new DedupSink(rec, { windowSeconds: 100 });
  d.write(sampleEvent({ ts: T0 }));
  d.write(sampleEvent({ ts: T0 - 50 }));
  d.write(sampleEvent({ ts: T0 - 1000 }));
  assert.deepEqual(rec.events.map((e) => e.ts), [T0, T0 - 1000]);
});

Deno.test("DedupSink: window 0 passes everything; bad window rejected", () => {
  const rec = new Recorder();
  const d = new DedupSink(rec, { windowSeconds: 0 });
  d.write(sampleEvent());
  d.write(sampleEvent());
  assert.equal(rec.events.length, 2);
  assert.throws(() => new DedupSink(rec, { windowSeconds: -1 }), RangeError);
  assert.throws(() => new DedupSink(rec, { windowSeconds: NaN }), RangeError);
});

Deno.test("DedupSink forgets expired keys", () => {
  const rec = new Recorder();
  const d = new DedupSink(rec, { windowSeconds: 10 });
  for (let i = 0; i < 3000; i++) {
    d.write(sampleEvent({ ts: T0 + i, client: { ip: `10.0.${i >> 8}.${i & 255}`, port: 1 } }));
  }
  assert.equal(rec.events.length, 3000);
  assert.ok(d.tracked < 1100, `tracked ${d.tracked}`);
});

Deno.test("DedupSink passes errors and lifecycle calls through", () => {
  const rec = new Recorder();
  rec.fail = true;
  const d = new DedupSink(rec);
  assert.throws(() => d.write(sampleEvent()), SinkError);
  d.write(sampleEvent()); // counted as seen despite the failure
  assert.equal(d.suppressed, 1);
  d.flush();
  d.reopen();
  d.close();
  assert.deepEqual(rec.calls, ["flush", "reopen", "close"]);
  assert.equal(d.inner, rec);
});

Deno.test("DedupSink: a session summary follows its alert, passed or suppressed", () => {
  const rec = new Recorder();
  const d = new DedupSink(rec);
  d.write(sampleEvent({ ts: T0 + 0.1, flow_id: 1 }));
  d.write(sampleEvent({ ts: T0 + 0.3, flow_id: 2 })); // repeat: suppressed
  // Summaries carry ts = end and duration = end - alert time (float arithmetic).
  d.write(sampleEvent({ ts: T0 + 7.3, flow_id: 1, phase: "end", duration: 7.3 - 0.1 }));
  d.write(sampleEvent({ ts: T0 + 9.9, flow_id: 2, phase: "end", duration: 9.6 }));
  assert.deepEqual(rec.events.map((e) => [e.flow_id, e.phase ?? "alert"]), [
    [1, "alert"],
    [1, "end"],
  ]);
});
