import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { labelled, NEGATIVE_LABELS, TCP_LAB_LABELS } from "../eval/evaluate.ts";
import { concat } from "../helpers/bytes.ts";
import { ipBytes } from "../helpers/frames.ts";
import {
  rawFrame,
  runCaptures,
  seedSession,
  tunnelEvents,
  tunnelPipeline,
  type TunnelRun,
} from "../helpers/tunnel_pipeline.ts";

// --- real captures -------------------------------------------------------------

Deno.test("icmp_vpn.pcap: one VPN over ICMP session, its end record and its DNS probes", async () => {
  const { events, icmp } = await runCaptures(["testdata/lab3/icmp_vpn.pcap"]);
  const mine = tunnelEvents(events);
  assert.deepEqual(
    mine.map((e) => `${e.kind}/${e.variant}${e.phase ? "/end" : ""}`),
    ["vpn/ICMP", "dns_probe/UDP", "dns_probe/UDP", "vpn/ICMP/end"],
  );
  const [alert, , , end] = mine;
  assert.equal(alert.outcome, "established");
  assert.deepEqual(alert.client, { ip: "10.77.1.2", port: 0 });
  assert.deepEqual(alert.server, { ip: "10.77.2.2", port: 0 });
  // The first SoftEther packet: the client's first echo request (verified digest).
  assert.equal(alert.start, 1796526520.861656);
  assert.ok(alert.ts - alert.start! >= 1 && alert.ts - alert.start! < 5);
  assert.equal(alert.connections, 1);
  assert.ok(alert.confidence >= 0.9);
  for (
    const name of [
      "icmp_data_sha1",
      "rudp_both_ways",
      "icmp_information_request_reply",
      "kernel_echo_replies_excluded",
    ]
  ) assert.ok(alert.evidence.includes(name), name);
  assert.match(alert.community_id, /^1:/);
  assert.equal(end.flow_id, alert.flow_id);
  // The last SoftEther packet (the client's ICMP port-unreachable errors after it are not the session's).
  assert.equal(end.ts, 1796526552.412008);
  assert.ok(Math.abs(end.duration! - (end.ts - alert.start!)) < 1e-6);
  assert.equal(end.connections, 2); // two R-UDP connections (ICMP sequence numbers)
  // IP bytes of the ICMP types 0/8/15/16 between the two (tshark: 105,431 / 115,492).
  assert.deepEqual(end.bytes, { toserver: 105431, toclient: 115492 });
  assert.deepEqual(end.side_flows, { udp_accel: 0, dns_probe: 2, icmp_probe: 0, nbns: 0 });
  assert.deepEqual(icmp.stats, { sessions: 1, folded: 1, probes: 0, unattached: 0, overflow: 0 });
  // No other alert: the rejected TCP SYNs are no session.
  assert.equal(events.filter((e) => e.kind === "vpn" && e.phase === undefined).length, 1);
});

Deno.test("dns_vpn.pcap: the ICMP probes of both R-UDP connections are tied to the DNS session", async () => {
  const { events, icmp } = await runCaptures(["testdata/lab3/dns_vpn.pcap"]);
  const session = events.find((e) => e.kind === "vpn" && e.variant === "DNS" && !e.phase)!;
  const probes = events.filter((e) => e.kind === "icmp_probe");
  assert.equal(probes.length, 2);
  for (const p of probes) {
    assert.equal(p.session, session.flow_id);
    assert.equal(p.variant, "ICMP");
    assert.deepEqual(p.client, { ip: "10.77.1.2", port: 0 });
    assert.deepEqual(p.server, { ip: "10.77.2.2", port: 0 });
    assert.ok(p.evidence.includes("client_only"));
  }
  assert.equal(events.filter((e) => e.variant === "ICMP" && e.kind === "vpn").length, 0);
  assert.deepEqual(icmp.stats, { sessions: 0, folded: 0, probes: 2, unattached: 0, overflow: 0 });
});

Deno.test("multi_session4.pcap: each TCP session gets the ICMP probe of its own connect race", async () => {
  const { events } = await runCaptures(["testdata/lab2/multi_session4.pcap"]);
  const alerts = events.filter((e) => e.kind === "vpn" && e.phase === undefined);
  assert.deepEqual(alerts.map((a) => a.variant), ["TCP", "TCP", "TCP", "TCP"]);
  const probes = events.filter((e) => e.kind === "icmp_probe");
  // One ICMP flow (one per address pair) holding four R-UDP attempts.
  assert.deepEqual(probes.map((p) => p.session), alerts.map((a) => a.flow_id));
  assert.equal(new Set(probes.map((p) => p.flow_id)).size, 1);
  for (let i = 0; i < 4; i++) {
    assert.ok(probes[i].start! >= alerts[i].start! && probes[i].start! - alerts[i].start! < 1);
  }
  const ends = events.filter((e) => e.phase === "end");
  assert.deepEqual(ends.map((e) => e.side_flows?.icmp_probe), [1, 1, 1, 1]);
});

Deno.test("every ICMP probe in the SoftEther TCP captures names one of the file's TCP sessions", async () => {
  const labels = labelled("positive", TCP_LAB_LABELS);
  assert.ok(labels.length >= 30);
  let probes = 0;
  for (const l of labels) {
    const { events } = await runCaptures([l.file]);
    const ids = new Set(events.filter((e) => e.kind === "vpn").map((e) => e.flow_id));
    for (const e of events.filter((e) => e.variant === "ICMP")) {
      assert.equal(e.kind, "icmp_probe", l.file);
      assert.ok(ids.has(e.session!), l.file);
      probes++;
    }
  }
  assert.ok(probes >= 20, `${probes} probes`);
});

Deno.test("no ICMP events on the negative captures (lab, lab2, lookalike, lab4)", async () => {
  const labels = labelled("negative", NEGATIVE_LABELS);
  assert.ok(labels.some((l) => l.file.endsWith("neg_ping_patterns.pcap")));
  for (const l of labels) {
    const { events, icmp } = await runCaptures([l.file]);
    assert.deepEqual(events.filter((e) => e.variant === "ICMP"), [], l.file);
    assert.equal(icmp.stats.sessions + icmp.stats.probes + icmp.stats.unattached, 0, l.file);
  }
});

// --- synthetic packets ------------------------------------------------------------

const CLIENT = "10.1.0.2", SERVER = "10.2.0.2";

/** An IPv4 ICMP (or IPv6 ICMPv6) packet: 8-byte header (type, code, checksum 0, id, seq), data. */
function icmpPacket(
  src: string,
  dst: string,
  type: number,
  id: number,
  seq: number,
  data: Uint8Array,
  code = 0,
): Uint8Array {
  const icmp = concat(
    new Uint8Array([type, code, 0, 0, id >> 8, id & 255, seq >> 8, seq & 255]),
    data,
  );
  if (src.includes(":")) {
    const h = new Uint8Array(40);
    h[0] = 0x60;
    h[4] = icmp.length >> 8;
    h[5] = icmp.length & 255;
    h[6] = 58;
    h[7] = 64;
    h.set(ipBytes(src), 8);
    h.set(ipBytes(dst), 24);
    return concat(h, icmp);
  }
  const h = new Uint8Array(20);
  h[0] = 0x45;
  h[2] = (20 + icmp.length) >> 8;
  h[3] = (20 + icmp.length) & 255;
  h[8] = 64;
  h[9] = 1;
  h.set(ipBytes(src), 12);
  h.set(ipBytes(dst), 16);
  return concat(h, icmp);
}

let seed = 1;
function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  return b;
}

/** SoftEther's ICMP data: SHA-1 of the R-UDP packet, then the packet. */
function signed(rudp: Uint8Array): Uint8Array {
  return concat(new Uint8Array(createHash("sha1").update(rudp).digest()), rudp);
}

interface Step {
  t: number;
  from: "c" | "s";
  type: number;
  data: Uint8Array;
  seq?: number;
  src?: string;
  dst?: string;
  capLen?: number;
}

function feed(run: TunnelRun, steps: Step[]): void {
  for (const s of steps) {
    const [src, dst] = s.from === "c"
      ? [s.src ?? CLIENT, s.dst ?? SERVER]
      : [s.dst ?? SERVER, s.src ?? CLIENT];
    const ip = icmpPacket(src, dst, s.type, 0x2725, s.seq ?? 0x4097, s.data);
    run.pipeline.handle(rawFrame(s.t, ip, s.capLen === undefined ? undefined : 14 + s.capLen));
  }
}

/**
 * An R-UDP connection over ICMP as the sources build it: the client's
 * connect request as type 0 and 15 plus a random echo request (kernel-echoed
 * by the server), the server answering with 16, then tunnel packets both
 * ways every 0.2 s for `seconds`.
 */
function icmpSession(
  t0: number,
  seconds: number,
  seq = 0x4097,
  opts: { serverEcho?: boolean } = {},
) {
  const steps: Step[] = [];
  const echo = signed(randomBytes(64 + (seq % 64)));
  steps.push({ t: t0, from: "c", type: 8, data: echo, seq });
  steps.push({ t: t0 + 0.0001, from: "s", type: 0, data: echo, seq }); // the kernel's reply
  const connect = signed(randomBytes(39));
  steps.push({ t: t0 + 0.0002, from: "c", type: 0, data: connect, seq });
  steps.push({ t: t0 + 0.0003, from: "c", type: 15, data: connect, seq });
  for (let t = 0.001; t < seconds; t += 0.2) {
    const client = opts.serverEcho ? 0 : 15, server = opts.serverEcho ? 0 : 16;
    steps.push({
      t: t0 + t,
      from: "s",
      type: server,
      data: signed(randomBytes(80 + (t * 50 | 0))),
      seq,
    });
    steps.push({ t: t0 + t + 0.1, from: "c", type: client, data: signed(randomBytes(90)), seq });
  }
  return steps;
}

function alerts(events: DetectionEvent[]): DetectionEvent[] {
  return events.filter((e) => e.kind === "vpn" && e.phase === undefined);
}

Deno.test("synthetic: information request/reply both ways is a session, with its end record", () => {
  const run = tunnelPipeline(false);
  const steps = icmpSession(1000, 3);
  feed(run, steps);
  run.pipeline.finish();
  const [alert, end, ...rest] = run.events;
  assert.equal(rest.length, 0);
  assert.equal(alert.kind, "vpn");
  assert.equal(alert.variant, "ICMP");
  assert.equal(alert.start, 1000);
  assert.deepEqual(alert.client, { ip: CLIENT, port: 0 });
  assert.deepEqual(alert.server, { ip: SERVER, port: 0 });
  assert.equal(end.phase, "end");
  assert.equal(end.connections, 1);
  assert.ok(Math.abs(end.ts - steps[steps.length - 1].t) < 1e-6);
  const bytes = (from: string) =>
    steps.filter((s) => s.from === from).reduce((n, s) => n + 20 + 8 + s.data.length, 0);
  assert.deepEqual(end.bytes, { toserver: bytes("c"), toclient: bytes("s") });
});

Deno.test("synthetic: picked up at the server's packet first, roles still from the ICMP types", () => {
  const run = tunnelPipeline(false);
  feed(run, icmpSession(1000, 3).slice(4)); // starts with the server's type 16
  run.pipeline.finish();
  const a = alerts(run.events);
  assert.equal(a.length, 1);
  assert.deepEqual(a[0].client, { ip: CLIENT, port: 0 });
  assert.deepEqual(a[0].server, { ip: SERVER, port: 0 });
});

Deno.test("synthetic: echo-reply tunnel (type 0 both ways) is a session; kernel replies are not", () => {
  const run = tunnelPipeline(false);
  feed(run, icmpSession(1000, 3, 7, { serverEcho: true }));
  run.pipeline.finish();
  const a = alerts(run.events);
  assert.equal(a.length, 1);
  assert.ok(a[0].evidence.includes("icmp_echo_reply_tunnel"));
  assert.ok(a[0].evidence.includes("kernel_echo_replies_excluded"));
});

Deno.test("synthetic: a corrupted digest, a cut packet or ICMPv6 is never SoftEther", () => {
  // One byte of every digest flipped.
  let run = tunnelPipeline(false);
  feed(
    run,
    icmpSession(1000, 3).map((s) => {
      const d = s.data.slice();
      d[5] ^= 1;
      return { ...s, data: d };
    }),
  );
  run.pipeline.finish();
  assert.deepEqual(run.events, []);
  // One byte of every R-UDP packet flipped.
  run = tunnelPipeline(false);
  feed(
    run,
    icmpSession(1000, 3).map((s) => {
      const d = s.data.slice();
      d[d.length - 1] ^= 0x80;
      return { ...s, data: d };
    }),
  );
  run.pipeline.finish();
  assert.deepEqual(run.events, []);
  // Cut by the snapshot length: counted, not verified.
  run = tunnelPipeline(false);
  feed(run, icmpSession(1000, 3).map((s) => ({ ...s, capLen: 20 + 8 + 30 })));
  run.pipeline.finish();
  assert.deepEqual(run.events, []);
  assert.ok(run.weirds.get("softether_icmp_cut") > 10);
  // The same exchange over ICMPv6 (echo 128/129): SoftEther's ICMP mode is IPv4 only.
  run = tunnelPipeline(false);
  feed(
    run,
    icmpSession(1000, 3).map((s) => ({
      ...s,
      type: s.type === 8 ? 128 : s.type === 15 || (s.type === 0 && s.from === "c") ? 128 : 129,
      src: "fd00::2",
      dst: "fd00::1",
    })),
  );
  run.pipeline.finish();
  assert.deepEqual(run.events, []);
  assert.equal(run.icmp.stats.unattached, 0);
});

Deno.test("synthetic: data too short for a digest and an R-UDP packet, or a non-zero code, is ignored", () => {
  const run = tunnelPipeline(false);
  feed(
    run,
    icmpSession(1000, 3).map((s) => ({ ...s, data: signed(randomBytes(36)) })),
  );
  for (const s of icmpSession(2000, 3)) {
    const ip = icmpPacket(
      s.from === "c" ? CLIENT : SERVER,
      s.from === "c" ? SERVER : CLIENT,
      s.type,
      1,
      2,
      s.data,
      1,
    );
    run.pipeline.handle(rawFrame(s.t, ip));
  }
  run.pipeline.finish();
  assert.deepEqual(run.events, []);
});

Deno.test("synthetic: a client-only attempt during a TCP session is its icmp_probe, once", () => {
  const run = tunnelPipeline(false);
  seedSession(run, CLIENT, SERVER, 77, 999.9, 1000.6);
  const steps = icmpSession(1000, 3).filter((s) => s.from === "c" || s.type === 0);
  feed(run, steps);
  run.pipeline.finish();
  const probes = run.events.filter((e) => e.kind === "icmp_probe");
  assert.equal(probes.length, 1);
  assert.equal(probes[0].session, 77);
  assert.equal(probes[0].start, 1000);
  assert.ok(probes[0].ts >= 1002); // decided once the server stayed silent for 2 s
  assert.deepEqual(probes[0].client, { ip: CLIENT, port: 0 });
  assert.ok(probes[0].evidence.includes("client_only"));
  assert.equal(alerts(run.events).length, 1); // the seeded TCP session only
});

Deno.test("synthetic: a probe waits for a session announced later, within a bound", () => {
  // Announced 6 s after the attempt (the flow has ended by then: late list).
  let run = tunnelPipeline(false, 64);
  const probe = icmpSession(1000, 1).filter((s) => s.from === "c");
  feed(run, probe);
  // Other traffic lets packet time pass.
  for (let t = 1001; t < 1006; t += 0.5) {
    feed(run, [{ t, from: "c", type: 3, data: new Uint8Array(60), src: "10.9.9.9" }]);
  }
  seedSession(run, CLIENT, SERVER, 5, 999.5, 1006);
  feed(run, [{ t: 1006.5, from: "c", type: 3, data: new Uint8Array(60), src: "10.9.9.9" }]);
  run.pipeline.finish();
  let probes = run.events.filter((e) => e.kind === "icmp_probe");
  assert.equal(probes.length, 1);
  assert.equal(probes[0].session, 5);
  // Never announced: nothing reported, counted.
  run = tunnelPipeline(false, 64);
  feed(run, probe);
  for (let t = 1001; t < 1040; t += 1) {
    feed(run, [{ t, from: "c", type: 3, data: new Uint8Array(60), src: "10.9.9.9" }]);
  }
  seedSession(run, CLIENT, SERVER, 6, 1039, 1040); // too late to be the attempt's session
  run.pipeline.finish();
  probes = run.events.filter((e) => e.kind === "icmp_probe");
  assert.equal(probes.length, 0);
  assert.equal(run.icmp.stats.unattached, 1);
});

Deno.test("synthetic: two R-UDP connections (sequence numbers) of one flow are one session", () => {
  const run = tunnelPipeline(false);
  feed(
    run,
    [...icmpSession(1000, 3, 100), ...icmpSession(1001.5, 3, 200)].sort((a, b) => a.t - b.t),
  );
  run.pipeline.finish();
  assert.equal(alerts(run.events).length, 1);
  const end = run.events.find((e) => e.phase === "end")!;
  assert.equal(end.connections, 2);
  assert.equal(run.icmp.stats.folded, 1);
});

Deno.test("synthetic: ordinary pings before the tunnel do not hide it (sampling recovers)", () => {
  const run = tunnelPipeline(false);
  const pings: Step[] = [];
  for (let i = 0; i < 100; i++) {
    const data = randomBytes(100);
    pings.push({ t: 990 + i * 0.05, from: "c", type: 8, data, seq: i });
    pings.push({ t: 990 + i * 0.05 + 0.001, from: "s", type: 0, data, seq: i });
  }
  feed(run, [...pings, ...icmpSession(1000, 5)]);
  run.pipeline.finish();
  assert.equal(alerts(run.events).length, 1);
});

Deno.test("synthetic: the server kernel's echo replies never count as the server speaking", () => {
  // The client's echo requests every 0.3 s (each answered by the kernel with
  // the same data) and its type 15 packets for 6 s; SoftEther itself never answers.
  const steps: Step[] = [];
  for (let t = 0; t < 6; t += 0.3) {
    const echo = signed(randomBytes(70));
    steps.push({ t: 1000 + t, from: "c", type: 8, data: echo });
    steps.push({ t: 1000 + t + 0.0005, from: "s", type: 0, data: echo });
    steps.push({ t: 1000 + t + 0.001, from: "c", type: 15, data: signed(randomBytes(60)) });
  }
  let run = tunnelPipeline(false);
  feed(run, steps);
  run.pipeline.finish();
  assert.deepEqual(run.events, []);
  // With a session of the pair: one probe, decided 2 s after the first packet
  // (unanswered), not at the flow's end.
  run = tunnelPipeline(false);
  seedSession(run, CLIENT, SERVER, 9, 999.8);
  feed(run, steps);
  run.pipeline.finish();
  const probes = run.events.filter((e) => e.kind === "icmp_probe");
  assert.equal(probes.length, 1);
  assert.ok(probes[0].ts >= 1002 && probes[0].ts < 1003, `${probes[0].ts}`);
  assert.equal(alerts(run.events).length, 1);
});

Deno.test("one ICMP flow across two captures: the session ends with its own packets, later probes are apart", async () => {
  // icmp_vpn then dns_vpn as one stream: the pair's ICMP flow outlives the
  // ICMP session and carries the DNS session's ICMP probes.
  const { events } = await runCaptures([
    "testdata/lab3/icmp_vpn.pcap",
    "testdata/lab3/dns_vpn.pcap",
  ]);
  const icmpEnd = events.find((e) => e.phase === "end" && e.variant === "ICMP")!;
  assert.equal(icmpEnd.ts, 1796526552.412008);
  assert.deepEqual(icmpEnd.bytes, { toserver: 105431, toclient: 115492 });
  const dnsAlert = events.find((e) => e.kind === "vpn" && e.variant === "DNS" && !e.phase)!;
  const probes = events.filter((e) => e.kind === "icmp_probe");
  assert.equal(probes.length, 2);
  for (const p of probes) assert.equal(p.session, dnsAlert.flow_id);
  assert.equal(probes[0].flow_id, icmpEnd.flow_id);
});
