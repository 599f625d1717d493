import assert from "node:assert/strict";
import { Weirds } from "../../src/decode/weirds.ts";
import { createDetectors } from "../../src/detect/detector_set.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { formatAlertLine } from "../../src/output/text_log.ts";
import { EventChecker, TEXT_LINE } from "./event_checks.ts";

function ev(over: Partial<DetectionEvent>): DetectionEvent {
  return {
    ts: 1_700_000_000.5,
    kind: "vpn",
    variant: "TCP",
    outcome: "established",
    client: { ip: "10.0.0.1", port: 40000 },
    server: { ip: "10.0.0.2", port: 443 },
    evidence: ["x"],
    confidence: 0.9,
    flow_id: 1,
    community_id: "1:abc",
    connections: 1,
    latency: 0.1,
    ...over,
  };
}

const end = (over: Partial<DetectionEvent> = {}) =>
  ev({ phase: "end", duration: 3, bytes: { toserver: 10, toclient: 20 }, ...over });

const set = () => createDetectors(() => {}, new Weirds());

Deno.test("event checks: a session's alert, then its end record, pass", () => {
  const c = new EventChecker();
  assert.equal(c.check(ev({})), undefined);
  assert.equal(c.final(set(), false), undefined);
  assert.equal(c.check(end()), undefined);
  assert.equal(c.final(set(), true), undefined);
  assert.deepEqual(c.kinds, { vpn: 1, end: 1 });
});

Deno.test("event checks: end records before their alert, twice, or missing after finish", () => {
  const a = new EventChecker();
  assert.match(a.check(end())!, /before \(or without\) its alert/);
  const b = new EventChecker();
  b.check(ev({}));
  b.check(end());
  assert.match(b.check(end())!, /second end record of vpn\|1/);
  const c = new EventChecker();
  c.check(ev({ kind: "admin", variant: "TCP", flow_id: 9 }));
  assert.equal(c.final(set(), false), undefined);
  assert.match(c.final(set(), true)!, /session admin\|9: 1 alert\(s\), 0 end record/);
});

Deno.test("event checks: a side flow names an earlier session alert", () => {
  const c = new EventChecker();
  const side = ev({ kind: "udp_accel", variant: "UDP", flow_id: 5, session: 1 });
  assert.match(c.check(side)!, /names session 1, not an earlier alert/);
  assert.match(c.check(ev({ kind: "icmp_probe", variant: "ICMP" }))!, /without a session/);
  c.check(ev({}));
  assert.equal(c.check(side), undefined);
  assert.match(c.check(ev({ session: 1, flow_id: 3 }))!, /session alert carrying session/);
});

Deno.test("event checks: the detectors' counters must agree with the events seen", () => {
  const c = new EventChecker();
  c.check(ev({}));
  c.check(ev({ kind: "udp_accel", variant: "UDP", flow_id: 5, session: 1 }));
  // The set's UDP side-flow detector emitted nothing: its counter says 0.
  assert.match(c.final(set(), false)!, /UDP side flows: 0 acceleration, 0 NetBIOS; events 1, 0/);
  const d = new EventChecker();
  d.check(ev({ kind: "server", variant: "TCP", face: "certificate", name: "vpn" }));
  assert.match(d.final(set(), false)!, /server faces reported 0, events 1/);
  const e = new EventChecker();
  e.check(ev({ kind: "vpn", variant: "ICMP", client: { ip: "10.0.0.1", port: 0 } }));
  assert.match(e.final(set(), false)!, /ICMP tracker: 0 sessions, 0 probes; events 1, 0/);
});

Deno.test("event checks: numbers and formats", () => {
  const c = new EventChecker();
  assert.match(c.check(ev({ confidence: NaN }))!, /confidence NaN/);
  assert.match(c.check(ev({ ts: Infinity }))!, /non-finite ts/);
  assert.match(c.check(ev({ start: Infinity }))!, /start Infinity/);
  assert.match(c.check(ev({ evidence: [] }))!, /evidence \[\]/);
  assert.match(c.check(ev({ connections: 0 }))!, /connections 0/);
  assert.match(c.check(ev({ kind: "infrastructure", variant: "UDP" }))!, /without a service/);
  // Wire text may spell anything: NaN, a line break (replaced), "undefined".
  const named = ev({
    kind: "infrastructure",
    variant: "UDP",
    service: "DDNS",
    name: "NaN.undefined\nnull",
    flow_id: 2,
  });
  assert.equal(c.check(named), undefined);
  assert.match(c.check(end({ flow_id: 1, duration: NaN }))!, /before \(or without\)/);
  c.check(ev({ flow_id: 7 }));
  assert.match(c.check(end({ flow_id: 7, duration: -1 }))!, /duration -1/);
});

Deno.test("event checks: the text line of every kind matches its format", () => {
  const lines = [
    ev({}),
    ev({ kind: "admin", outcome: "attempt" }),
    ev({ variant: "ICMP", client: { ip: "10.0.0.1", port: 0 }, server: { ip: "::1", port: 0 } }),
    ev({ variant: "DNS", server: { ip: "2001:db8::1", port: 53 } }),
    ev({ kind: "infrastructure", variant: "UDP", service: "NAT-T" }),
    ev({ kind: "infrastructure", variant: "TCP", service: "VPN Azure", name: "a (b) c" }),
    ev({ kind: "server", variant: "UDP", face: "OpenVPN" }),
    ev({ kind: "server", variant: "TCP", face: "SSTP", name: "vpn.lab" }),
  ].map((e) => formatAlertLine(e, 0));
  for (const line of lines) assert.match(line, TEXT_LINE);
  assert.doesNotMatch("[2023/11/14 22:13:20] SoftEther Bogus Detected (x)", TEXT_LINE);
});

Deno.test("event checks: what is reported once is reported once", () => {
  const c = new EventChecker();
  c.check(ev({}));
  assert.match(c.check(ev({}))!, /second session alert of vpn\|1/);
  const side = ev({ kind: "nbns", variant: "UDP", flow_id: 4, session: 1 });
  assert.equal(c.check(side), undefined);
  assert.match(c.check(side)!, /second nbns event of flow 4/);
  const infra = ev({ kind: "infrastructure", variant: "UDP", service: "NAT-T", flow_id: 8 });
  assert.equal(c.check(infra), undefined);
  assert.equal(c.check({ ...infra, service: "DDNS" }), undefined);
  assert.match(c.check({ ...infra, flow_id: 9 })!, /second NAT-T contact of host 10\.0\.0\.1/);
  const face = ev({ kind: "server", variant: "TCP", face: "certificate", flow_id: 11 });
  assert.equal(c.check(face), undefined);
  assert.equal(c.check({ ...face, server: { ip: "10.0.0.2", port: 992 } }), undefined);
  assert.match(
    c.check({ ...face, flow_id: 12 })!,
    /second certificate face of server 10\.0\.0\.2 port 443/,
  );
});
