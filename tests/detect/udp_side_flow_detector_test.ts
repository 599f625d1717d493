import assert from "node:assert/strict";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { SessionDirectory } from "../../src/detect/session_directory.ts";
import { SoftEtherTcpDetector } from "../../src/detect/softether_tcp_detector.ts";
import { UdpSideFlowDetector } from "../../src/detect/udp_side_flow_detector.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { ethernet, ipPacket } from "../helpers/frames.ts";
import { labelled, NEGATIVE_LABELS } from "../eval/evaluate.ts";

/** Runs the TCP detector and the side-flow detector over `files`; every event passes the directory first. */
async function run(files: string[], withTcp = true): Promise<DetectionEvent[]> {
  const events: DetectionEvent[] = [];
  const dir = new SessionDirectory();
  const emit = (ev: DetectionEvent) => {
    dir.observe(ev);
    events.push(ev);
  };
  const weirds = new Weirds();
  const side = new UdpSideFlowDetector(emit, dir);
  const detectors = withTcp ? [new SoftEtherTcpDetector(emit, { weirds }), side] : [side];
  const p = new Pipeline(detectors, { maxFlows: 10_000 }, weirds);
  const src = await openCaptureFiles(files);
  try {
    await p.run(src);
  } finally {
    src.close();
  }
  p.finish();
  return events;
}

Deno.test("UDP acceleration of four sessions is tied to the right session each", async () => {
  const evs = await run(["testdata/lab2/multi_session4.pcap"]);
  const alerts = evs.filter((e) => e.kind === "vpn" && e.phase === undefined);
  const accel = evs.filter((e) => e.kind === "udp_accel");
  assert.equal(alerts.length, 4);
  assert.equal(accel.length, 4);
  // Each session's acceleration flow starts after it and before the next one.
  const starts = alerts.map((a) => a.start!);
  for (const a of accel) {
    const i = alerts.findIndex((s) => s.flow_id === a.session);
    assert.ok(i >= 0, `side flow ${a.flow_id} names no alert`);
    assert.ok(a.start! >= starts[i] && (i === 3 || a.start! < starts[i + 1]));
    assert.equal(a.client.ip, "10.77.1.2");
    assert.equal(a.server.ip, "10.77.2.2");
    assert.equal(a.variant, "UDP");
    assert.ok(a.evidence.includes("keepalive_padding"));
  }
  assert.deepEqual(new Set(accel.map((a) => a.session)).size, 4);
  const ends = evs.filter((e) => e.phase === "end");
  assert.deepEqual(ends.map((e) => e.side_flows?.udp_accel), [1, 1, 1, 1]);
});

Deno.test("plaintext-mode UDP acceleration (no padding) is recognised by its header", async () => {
  const evs = await run(["testdata/lab/encrypt_off.pcap"]);
  const accel = evs.filter((e) => e.kind === "udp_accel");
  assert.equal(accel.length, 1);
  assert.ok(accel[0].evidence.includes("keepalive_plaintext_header"));
  assert.equal(accel[0].client.port !== 40000, true); // the server side holds 40000
  assert.equal(accel[0].server.port, 40000);
});

Deno.test("acceleration that leaves an SSH-forwarded session goes to the real server", async () => {
  // The sensor sees SSH to the jump host 10.77.3.2; the client's UDP
  // acceleration goes straight to the VPN server the tunnel hides.
  const evs = await run(["testdata/lab/ssh_forward_lanaddr.pcap"]);
  const alert = evs.find((e) => e.kind === "vpn" && e.phase === undefined)!;
  assert.equal(alert.variant, "SSH");
  const accel = evs.filter((e) => e.kind === "udp_accel");
  assert.equal(accel.length, 1);
  assert.equal(accel[0].session, alert.flow_id);
  assert.equal(accel[0].server.ip, "10.77.2.2");
  assert.ok(accel[0].evidence.includes("session_client_only"));
});

Deno.test("UDP flows without a detected session are never reported", async () => {
  const evs = await run(["testdata/lab2/multi_session4.pcap"], false);
  assert.equal(evs.length, 0);
});

Deno.test("no side flows on the look-alike captures", async () => {
  const labels = labelled("negative", NEGATIVE_LABELS);
  assert.ok(labels.length >= 20);
  for (const l of labels) {
    const evs = await run([l.file]);
    assert.deepEqual(evs.filter((e) => e.session !== undefined).map((e) => e.kind), [], l.file);
  }
});

// --- synthetic flows between a known session's addresses ---------------------

const CLIENT = "10.1.0.2", SERVER = "10.2.0.2";

function frame(
  ts: number,
  src: string,
  dst: string,
  sport: number,
  dport: number,
  payload: Uint8Array,
) {
  const bytes = ethernet(ipPacket({ src, dst, sport, dport, proto: 17, payload }));
  const r = new RawPacket();
  r.buf = bytes;
  r.offset = 0;
  r.capLen = r.wireLen = bytes.length;
  r.linkType = LinkType.ETHERNET;
  r.tsSec = Math.floor(ts);
  r.tsNsec = Math.round((ts - Math.floor(ts)) * 1e9);
  return r;
}

function sessionPipeline(): { p: Pipeline; events: DetectionEvent[] } {
  const events: DetectionEvent[] = [];
  const dir = new SessionDirectory();
  const emit = (ev: DetectionEvent) => {
    dir.observe(ev);
    events.push(ev);
  };
  emit({
    ts: 1000.5,
    kind: "vpn",
    variant: "TCP",
    outcome: "established",
    client: { ip: CLIENT, port: 50000 },
    server: { ip: SERVER, port: 443 },
    evidence: [],
    confidence: 1,
    flow_id: 1,
    community_id: "",
    connections: 1,
    latency: 0,
    start: 1000,
  });
  events.length = 0;
  return { p: new Pipeline([new UdpSideFlowDetector(emit, dir)], { maxFlows: 64 }), events };
}

Deno.test("a fixed-size heartbeat between the session's addresses is not acceleration", () => {
  const { p, events } = sessionPipeline();
  for (let i = 0; i < 20; i++) {
    const t = 1001 + i * 0.8;
    p.handle(frame(t, CLIENT, SERVER, 41000, 7000, new Uint8Array(60).fill(i)));
    p.handle(frame(t + 0.01, SERVER, CLIENT, 7000, 41000, new Uint8Array(60).fill(i)));
  }
  p.finish();
  assert.deepEqual(events, []);
});

Deno.test("padded keep-alives both ways at 0.5-3 s are acceleration, whatever the ports", () => {
  const { p, events } = sessionPipeline();
  for (let i = 0; i < 4; i++) {
    const t = 1001 + i * 0.9;
    p.handle(frame(t, SERVER, CLIENT, 3333, 4444, new Uint8Array(51 + (i * 7) % 32)));
    p.handle(frame(t + 0.02, CLIENT, SERVER, 4444, 3333, new Uint8Array(51 + (i * 11) % 32)));
  }
  p.finish();
  assert.equal(events.length, 1);
  const ev = events[0];
  assert.equal(ev.kind, "udp_accel");
  assert.equal(ev.session, 1);
  // The server sent first: the event still names the session's client as client.
  assert.deepEqual(ev.client, { ip: CLIENT, port: 4444 });
  assert.deepEqual(ev.server, { ip: SERVER, port: 3333 });
});

Deno.test("keep-alives sent in a burst (no 0.3-4 s gaps) are not acceleration", () => {
  const { p, events } = sessionPipeline();
  for (let i = 0; i < 10; i++) {
    const t = 1001 + i * 0.01;
    p.handle(frame(t, CLIENT, SERVER, 4444, 3333, new Uint8Array(51 + i)));
    p.handle(frame(t + 0.001, SERVER, CLIENT, 3333, 4444, new Uint8Array(60 + i)));
  }
  p.finish();
  assert.deepEqual(events, []);
});

function nbnsQuery(name = "FRED"): Uint8Array {
  const q = new Uint8Array(12 + 34 + 4);
  q[0] = 0x12;
  q[1] = 0x34;
  q[2] = 0x01; // RD
  q[5] = 1; // QDCOUNT
  q[12] = 32;
  const padded = name.padEnd(15, " ") + "\0";
  for (let i = 0; i < 16; i++) {
    const c = padded.charCodeAt(i);
    q[13 + 2 * i] = 0x41 + (c >> 4);
    q[14 + 2 * i] = 0x41 + (c & 15);
  }
  q[45] = 0;
  q[47] = 0x20; // NB
  q[49] = 1; // IN
  return q;
}

Deno.test("a NetBIOS name query between the session's addresses is an nbns side flow", () => {
  const { p, events } = sessionPipeline();
  p.handle(frame(1002, CLIENT, SERVER, 137, 137, nbnsQuery()));
  p.finish();
  assert.equal(events.length, 1);
  assert.equal(events[0].kind, "nbns");
  assert.equal(events[0].session, 1);
});

Deno.test("NetBIOS queries: malformed names, responses and other hosts are not side flows", () => {
  const { p, events } = sessionPipeline();
  const bad = nbnsQuery();
  bad[20] = 0x5a; // 'Z' is no first-level encoding
  p.handle(frame(1002, CLIENT, SERVER, 137, 137, bad));
  const response = nbnsQuery();
  response[2] = 0x85; // QR = 1
  p.handle(frame(1003, SERVER, CLIENT, 138, 137, response));
  p.handle(frame(1004, CLIENT, "10.2.0.3", 137, 137, nbnsQuery()));
  p.handle(frame(1005, CLIENT, SERVER, 137, 137, nbnsQuery().subarray(0, 40)));
  p.finish();
  assert.deepEqual(events, []);
});

Deno.test("a flow that started long before the session is not its side flow", () => {
  const { p, events } = sessionPipeline();
  // First packet 10 s before the session's start (1000): an older conversation.
  p.handle(frame(990, CLIENT, SERVER, 4444, 3333, new Uint8Array(51)));
  for (let i = 0; i < 4; i++) {
    const t = 1001 + i * 0.9;
    p.handle(frame(t, SERVER, CLIENT, 3333, 4444, new Uint8Array(51 + i)));
    p.handle(frame(t + 0.02, CLIENT, SERVER, 4444, 3333, new Uint8Array(60 + i)));
  }
  p.finish();
  assert.deepEqual(events, []);
});
