import assert from "node:assert/strict";
import { Fold, SessionTracker } from "../../src/detect/session_tracker.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";

function ev(ts: number, over: Partial<DetectionEvent> = {}): DetectionEvent {
  return {
    ts,
    kind: "vpn",
    variant: "TCP",
    outcome: "established",
    client: { ip: "10.0.0.1", port: 40000 + ts },
    server: { ip: "10.0.0.2", port: 443 },
    evidence: [],
    confidence: 0.8,
    flow_id: ts,
    community_id: "",
    connections: 1,
    latency: 0.1,
    ...over,
  };
}

Deno.test("sessions: extra connections fold into the reported session", () => {
  const t = new SessionTracker();
  const main = ev(1);
  assert.equal(t.connection(main, false), Fold.NEW);
  assert.equal(t.connection(ev(2), true), Fold.FOLDED);
  assert.equal(t.connection(ev(3), true), Fold.FOLDED);
  assert.equal(main.connections, 3);
  // A second login while the first session lives is another session.
  assert.equal(t.connection(ev(4), false), Fold.NEW);
});

Deno.test("sessions: retries of a failed login are one attempt; later ones a new line", () => {
  const t = new SessionTracker();
  const a = ev(10, { outcome: "attempt" });
  assert.equal(t.connection(a, false), Fold.NEW);
  t.ended(a, 10.1);
  assert.equal(t.connection(ev(15, { outcome: "attempt" }), false), Fold.FOLDED);
  t.ended(a, 15.1);
  assert.equal(t.connection(ev(1000, { outcome: "attempt" }), false), Fold.NEW);
});

Deno.test("sessions: an extra connection with no session seen is reported", () => {
  const t = new SessionTracker();
  assert.equal(t.connection(ev(1), true), Fold.NEW);
});

Deno.test("sessions: a connection picked up mid-stream is held until its session shows the layer", () => {
  const started: DetectionEvent[] = [];
  const t = new SessionTracker(() => {}, (e) => started.push(e));
  // The main connection's CONNECT went by before the capture: variant unknown.
  const main = ev(1);
  assert.equal(t.hold(main, false, 4), Fold.HELD);
  assert.equal(t.nextDue, 4);
  // Its extra connection shows the proxy: the held one starts the session with it first.
  const extra = ev(2, { variant: "HTTP Proxy", target: { host: "10.0.0.9", port: 443 } });
  assert.equal(t.connection(extra, true), Fold.FOLDED);
  assert.deepEqual(started, [main]);
  assert.equal(main.variant, "HTTP Proxy");
  assert.deepEqual(main.target, { host: "10.0.0.9", port: 443 });
  assert.equal(main.connections, 2);
  assert.equal(t.nextDue, Infinity);
});

Deno.test("sessions: a held connection goes out as it is when its time is up, or joins an orphan", () => {
  const started: DetectionEvent[] = [];
  const t = new SessionTracker(() => {}, (e) => started.push(e));
  const a = ev(1);
  assert.equal(t.hold(a, false, 4), Fold.HELD);
  t.release(3.9);
  assert.deepEqual(started, []);
  t.release(4);
  assert.deepEqual(started, [a]);
  assert.equal(a.variant, "TCP");
  // An extra connection seen first started an (orphan) session: the main one joins it.
  const u = new SessionTracker();
  const extra = ev(10, { variant: "SOCKS5 Proxy" });
  assert.equal(u.connection(extra, true), Fold.NEW);
  const main = ev(11);
  assert.equal(u.hold(main, false, 20), Fold.FOLDED);
  assert.equal(main.variant, "SOCKS5 Proxy");
});
