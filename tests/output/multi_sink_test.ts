import assert from "node:assert/strict";
import type { DetectionEvent } from "../../src/detect/event.ts";
import type { AlertSink } from "../../src/output/sink.ts";
import { SinkError } from "../../src/output/sink.ts";
import { MultiSink } from "../../src/output/multi_sink.ts";
import { sampleEvent } from "./_event.ts";

/** A sink that records calls and can be told to fail. */
class Probe implements AlertSink {
  calls: string[] = [];
  constructor(readonly name: string, readonly failing = false) {}
  #do(what: string): void {
    this.calls.push(what);
    if (this.failing) throw new SinkError(`${this.name} ${what} failed`);
  }
  write(_ev: DetectionEvent): void {
    this.#do("write");
  }
  flush(): void {
    this.#do("flush");
  }
  reopen(): void {
    this.#do("reopen");
  }
  close(): void {
    this.#do("close");
  }
}

Deno.test("MultiSink writes to every sink", () => {
  const a = new Probe("a"), b = new Probe("b");
  const m = new MultiSink([a, b]);
  m.write(sampleEvent());
  m.flush();
  m.reopen();
  m.close();
  for (const p of [a, b]) assert.deepEqual(p.calls, ["write", "flush", "reopen", "close"]);
  assert.deepEqual(m.sinks, [a, b]);
});

Deno.test("MultiSink: one failing sink does not stop the others; its error is rethrown", () => {
  const a = new Probe("a", true), b = new Probe("b");
  const m = new MultiSink([a, b]);
  assert.throws(() => m.write(sampleEvent()), (e: unknown) => {
    assert.ok(e instanceof SinkError);
    assert.equal(e.name, "SinkError");
    assert.equal(e.message, "a write failed");
    return true;
  });
  assert.deepEqual(b.calls, ["write"]);
});

Deno.test("MultiSink: several failures become one MultiSinkError", () => {
  const a = new Probe("a", true), b = new Probe("b"), c = new Probe("c", true);
  const m = new MultiSink([a, b, c]);
  assert.throws(() => m.close(), (e: unknown) => {
    assert.ok(e instanceof SinkError);
    assert.equal(e.name, "MultiSinkError");
    assert.equal(e.message, "a close failed; c close failed");
    assert.equal((e as SinkError & { errors: Error[] }).errors.length, 2);
    return true;
  });
  assert.deepEqual([a.calls, b.calls, c.calls], [["close"], ["close"], ["close"]]);
});

Deno.test("MultiSink with onError reports instead of throwing", () => {
  const a = new Probe("a", true), b = new Probe("b");
  const seen: [string, AlertSink][] = [];
  const m = new MultiSink([a, b], { onError: (e, s) => seen.push([e.message, s]) });
  m.write(sampleEvent());
  assert.deepEqual(seen, [["a write failed", a]]);
  assert.deepEqual(b.calls, ["write"]);
});

Deno.test("MultiSink wraps non-Error throws", () => {
  const bad: AlertSink = {
    write() {
      throw "text";
    },
    flush() {},
    reopen() {},
    close() {},
  };
  assert.throws(() => new MultiSink([bad]).write(sampleEvent()), new SinkError("text"));
});

Deno.test("MultiSink counts failed writes per sink: alerts, side flows, session-end records", () => {
  const ok = new Probe("ok");
  const bad = new Probe("bad", true);
  const m = new MultiSink([ok, bad], { onError: () => {} });
  m.write(sampleEvent());
  m.write(sampleEvent());
  m.write(sampleEvent({ kind: "udp_accel", variant: "UDP", session: 1 }));
  m.write(sampleEvent({ kind: "server", face: "OpenVPN" })); // has a log line: an alert
  m.write(sampleEvent({ phase: "end" }));
  m.flush(); // not a write: not counted
  assert.deepEqual(m.lost(ok), { alerts: 0, records: 0, sideFlows: 0, lastError: undefined });
  const l = m.lost(bad);
  assert.deepEqual(
    [l.alerts, l.sideFlows, l.records, l.lastError?.message],
    [3, 1, 1, "bad write failed"],
  );
});
