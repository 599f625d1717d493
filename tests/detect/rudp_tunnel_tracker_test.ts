import assert from "node:assert/strict";
import { DecodedPacket, IpProto } from "../../src/decode/packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { RudpTunnelTracker, TunnelPacket } from "../../src/detect/rudp_tunnel_tracker.ts";
import { SessionDirectory } from "../../src/detect/session_directory.ts";
import { FlowTable, refDir, refSlot } from "../../src/flow/flow_table.ts";

const C = 0x0a010002, S = 0x0a020002; // 10.1.0.2, 10.2.0.2

/** A tracker over a real flow table; `pkt` tracks one UDP packet and counts it as `kind`. */
function setup() {
  const events: DetectionEvent[] = [];
  const directory = new SessionDirectory();
  const emit = (ev: DetectionEvent) => {
    directory.observe(ev);
    events.push(ev);
  };
  const table = new FlowTable(new Weirds(), { maxFlows: 16 });
  table.onEnd((slot) => tracker.flowEnd(table, slot));
  const tracker = new RudpTunnelTracker(emit, directory, {
    variant: "DNS",
    probeKind: "dns_probe",
    probeVariant: "UDP",
    sessionEvidence: () => ["s"],
    probeEvidence: () => ["p"],
    sessionConfidence: 0.9,
    probeConfidence: 0.8,
  });
  const p = new DecodedPacket();
  const pkt = (ts: number, fromClient: boolean, kind: number, cport = 40000, key = 0) => {
    p.ts = ts;
    p.ipVersion = 4;
    p.proto = IpProto.UDP;
    p.src[0] = fromClient ? C : S;
    p.dst[0] = fromClient ? S : C;
    p.srcPort = fromClient ? cport : 53;
    p.dstPort = fromClient ? 53 : cport;
    p.ipLen = 100;
    p.payloadLen = 72;
    tracker.sweep(ts);
    const ref = table.track(p);
    const ep = tracker.episode(table, refSlot(ref), key);
    if (ep >= 0) tracker.count(ep, refDir(ref), kind, ts, p.ipLen);
    return ep;
  };
  const seed = (id: number, start: number) =>
    emit({
      ts: start + 0.5,
      kind: "vpn",
      variant: "TCP",
      outcome: "established",
      client: { ip: "10.1.0.2", port: 50000 },
      server: { ip: "10.2.0.2", port: 443 },
      evidence: [],
      confidence: 1,
      flow_id: id,
      community_id: "",
      connections: 1,
      latency: 0,
      start,
    });
  return { events, table, tracker, pkt, seed };
}

Deno.test("tracker: a connection needs 4 tunnel packets each way and the client going on 1 s after the answer", () => {
  const { events, table, tracker, pkt } = setup();
  // 8 exchanges within 0.7 s: not yet.
  for (let i = 0; i < 8; i++) {
    pkt(100 + i * 0.1, true, TunnelPacket.CLIENT);
    pkt(100 + i * 0.1 + 0.01, false, TunnelPacket.SERVER);
  }
  assert.equal(events.length, 0);
  pkt(101.02, true, TunnelPacket.CLIENT); // 1.01 s after the first answer
  assert.equal(events.length, 1);
  assert.equal(events[0].kind, "vpn");
  assert.equal(events[0].start, 100);
  assert.equal(events[0].ts, 101.02);
  table.flush();
  assert.equal(events.length, 2);
  assert.equal(events[1].phase, "end");
  assert.deepEqual(events[1].bytes, { toserver: 900, toclient: 800 });
  assert.equal(tracker.stats.sessions, 1);
});

Deno.test("tracker: an answered connect-race loser is neither a session nor, without a session, reported", () => {
  const { events, table, tracker, pkt } = setup();
  for (let i = 0; i < 6; i++) {
    pkt(100 + i * 0.1, true, TunnelPacket.CLIENT);
    pkt(100 + i * 0.1 + 0.01, false, TunnelPacket.SERVER);
  }
  // The server keeps sending for a while, the client left.
  for (let i = 0; i < 10; i++) pkt(101 + i, false, TunnelPacket.SERVER);
  table.flush(); // the flow ended before any session was known: its probe waits without it
  assert.deepEqual(events, []);
  assert.equal(tracker.stats.unattached, 0);
  tracker.finish();
  assert.deepEqual(events, []);
  assert.equal(tracker.stats.unattached, 1);
});

Deno.test("tracker: an answered loser with a TCP session is its probe, decided at the flow's end", () => {
  const { events, table, pkt, seed } = setup();
  seed(7, 99.9);
  for (let i = 0; i < 3; i++) {
    pkt(100 + i * 0.2, true, TunnelPacket.CLIENT);
    pkt(100 + i * 0.2 + 0.01, false, TunnelPacket.SERVER);
  }
  pkt(105, false, TunnelPacket.SERVER);
  assert.equal(events.length, 1); // waiting: answered episodes may still become connections
  table.flush();
  assert.deepEqual(events.slice(1).map((e) => [e.kind, e.session]), [["dns_probe", 7]]);
});

Deno.test("tracker: an episode the server answers while the pair's tunnel session lives is one of its connections", () => {
  const { events, table, tracker, pkt } = setup();
  for (let i = 0; i < 12; i++) {
    pkt(100 + i * 0.1, true, TunnelPacket.CLIENT, 40000);
    pkt(100 + i * 0.1 + 0.01, false, TunnelPacket.SERVER, 40000);
  }
  // A short second connection (another flow): 2 exchanges only.
  pkt(102, true, TunnelPacket.CLIENT, 40001);
  pkt(102.01, false, TunnelPacket.SERVER, 40001);
  pkt(104.5, true, TunnelPacket.CLIENT, 40000); // time passes: decided 2 s after its start
  table.flush();
  assert.deepEqual(events.map((e) => e.phase ?? e.kind), ["vpn", "end"]);
  assert.equal(events[1].connections, 2);
  assert.equal(tracker.stats.folded, 1);
});

Deno.test("tracker: episodes per flow are bounded", () => {
  const { tracker, pkt } = setup();
  for (let k = 0; k < 40; k++) pkt(100 + k * 0.01, true, TunnelPacket.CLIENT, 40000, k);
  assert.equal(tracker.stats.overflow, 8);
  assert.equal(pkt(101, true, TunnelPacket.CLIENT, 40000, 3) >= 0, true); // known ones still count
});

Deno.test("tracker: server-only packets (roles unknown) are never a probe", () => {
  const { events, table, pkt, seed } = setup();
  seed(3, 99.9);
  for (let i = 0; i < 10; i++) pkt(100 + i, false, TunnelPacket.EITHER);
  table.flush();
  assert.equal(events.length, 1);
});

// Fuzz regression (tests/fuzz/regressions/packets-s20261126-868.json): the client's first
// packet did not tell its role (EITHER), the server's next one did. Its probe started then,
// not at Infinity; and without a session, its wait for one was bounded (a probe waiting
// since Infinity never expired: the late list grew for the run).
Deno.test("tracker: a client whose first packet did not tell its role starts its probe there", () => {
  const { events, table, pkt, seed } = setup();
  seed(5, 99.9);
  pkt(100, true, TunnelPacket.EITHER);
  pkt(100.01, false, TunnelPacket.SERVER);
  table.flush();
  assert.deepEqual(events.slice(1).map((e) => [e.kind, e.session, e.start]), [
    ["dns_probe", 5, 100],
  ]);
});

Deno.test("tracker: such a probe without a session stops waiting for one", () => {
  const { events, table, tracker, pkt } = setup();
  pkt(100, true, TunnelPacket.EITHER);
  pkt(100.01, false, TunnelPacket.SERVER);
  table.flush(); // the flow ends before any session: the probe waits for one
  tracker.sweep(100.5);
  assert.equal(tracker.stats.unattached, 0);
  tracker.sweep(131); // 30 s after its first packet
  assert.equal(tracker.stats.unattached, 1);
  assert.equal(events.length, 0);
});

// Fuzz regression (tests/fuzz/regressions/packets-s5-4207.json): the client sent packets of
// the server's kind (ICMP 16 both ways); its first one started the probe.
Deno.test("tracker: a client sending the server's kind of packet starts its probe there", () => {
  const { events, table, pkt, seed } = setup();
  seed(6, 99.9);
  pkt(100, false, TunnelPacket.SERVER); // the server's: the client is the other side
  pkt(100.01, true, TunnelPacket.SERVER); // the client's, of the server's kind
  table.flush();
  assert.deepEqual(events.slice(1).map((e) => [e.kind, e.session, e.start]), [
    ["dns_probe", 6, 100.01],
  ]);
});
