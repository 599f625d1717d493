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
