import assert from "node:assert/strict";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { labelled, NEGATIVE_LABELS, TCP_LAB_LABELS } from "../eval/evaluate.ts";
import { ipPacket } from "../helpers/frames.ts";
import {
  rawFrame,
  runCaptures,
  seedSession,
  tunnelEvents,
  tunnelPipeline,
  type TunnelRun,
} from "../helpers/tunnel_pipeline.ts";

// --- real captures -------------------------------------------------------------

Deno.test("dns_vpn.pcap: one VPN over DNS session over two UDP flows, its end record", async () => {
  const { events, dns } = await runCaptures(["testdata/lab3/dns_vpn.pcap"]);
  const mine = tunnelEvents(events);
  assert.deepEqual(
    mine.map((e) => `${e.kind}/${e.variant}${e.phase ? "/end" : ""}`),
    ["vpn/DNS", "icmp_probe/ICMP", "icmp_probe/ICMP", "vpn/DNS/end"],
  );
  const alert = mine[0], end = mine[3];
  assert.equal(alert.outcome, "established");
  assert.deepEqual(alert.client, { ip: "10.77.1.2", port: 33559 });
  assert.deepEqual(alert.server, { ip: "10.77.2.2", port: 53 });
  assert.equal(alert.start, 1796526569.557602); // the first DNSKEY-shaped query
  for (
    const name of ["dns_hex8_label", "dnskey_query_opt_payload", "dnskey_answer_payload"]
  ) assert.ok(alert.evidence.includes(name), name);
  assert.equal(end.flow_id, alert.flow_id);
  assert.equal(end.connections, 2); // UDP flows 33559 and 59435: two R-UDP connections
  // IP bytes of both flows (tshark: 98,889 / 114,371).
  assert.deepEqual(end.bytes, { toserver: 98889, toclient: 114371 });
  assert.deepEqual(end.side_flows, { udp_accel: 0, dns_probe: 0, icmp_probe: 2, nbns: 0 });
  assert.deepEqual(dns.stats, { sessions: 1, folded: 1, probes: 0, unattached: 0, overflow: 0 });
  assert.equal(events.filter((e) => e.kind === "vpn" && e.phase === undefined).length, 1);
});

Deno.test("icmp_vpn.pcap: the DNS-shaped queries of both connect races are dns_probes of the ICMP session", async () => {
  const { events } = await runCaptures(["testdata/lab3/icmp_vpn.pcap"]);
  const session = events.find((e) => e.kind === "vpn" && e.variant === "ICMP" && !e.phase)!;
  const probes = events.filter((e) => e.kind === "dns_probe");
  assert.deepEqual(probes.map((p) => p.client.port).sort(), [38604, 56894]);
  for (const p of probes) {
    assert.equal(p.session, session.flow_id);
    assert.equal(p.variant, "UDP");
    assert.deepEqual(p.server, { ip: "10.77.2.2", port: 53 });
    assert.equal(p.client.ip, "10.77.1.2");
  }
  assert.equal(events.filter((e) => e.variant === "DNS").length, 0);
});

Deno.test("multi_session4.pcap: each TCP session gets the DNS probe of its own connect race", async () => {
  const { events } = await runCaptures(["testdata/lab2/multi_session4.pcap"]);
  const alerts = events.filter((e) => e.kind === "vpn" && e.phase === undefined);
  assert.equal(alerts.length, 4);
  const probes = events.filter((e) => e.kind === "dns_probe");
  assert.deepEqual(probes.map((p) => p.session), alerts.map((a) => a.flow_id));
  assert.equal(new Set(probes.map((p) => p.client.port)).size, 4);
  const ends = events.filter((e) => e.phase === "end");
  assert.deepEqual(ends.map((e) => e.side_flows?.dns_probe), [1, 1, 1, 1]);
});

Deno.test("every DNS probe in the SoftEther TCP captures names one of the file's TCP sessions", async () => {
  const labels = labelled("positive", TCP_LAB_LABELS);
  let probes = 0;
  for (const l of labels) {
    const { events } = await runCaptures([l.file]);
    const ids = new Set(events.filter((e) => e.kind === "vpn").map((e) => e.flow_id));
    for (const e of events.filter((e) => e.kind === "dns_probe" || e.variant === "DNS")) {
      assert.equal(e.kind, "dns_probe", l.file);
      assert.ok(ids.has(e.session!), l.file);
      probes++;
    }
  }
  assert.ok(probes >= 20, `${probes} probes`);
});

Deno.test("no DNS events on the negative captures (DNSSEC look-ups, DDNS, NBNS, lab negatives)", async () => {
  const labels = labelled("negative", NEGATIVE_LABELS);
  assert.ok(labels.some((l) => l.file.endsWith("neg_dns_dnssec.pcap")));
  for (const l of labels) {
    const { events, dns } = await runCaptures([l.file]);
    assert.deepEqual(
      events.filter((e) => e.kind === "dns_probe" || e.variant === "DNS"),
      [],
      l.file,
    );
    assert.equal(dns.stats.sessions + dns.stats.probes + dns.stats.unattached, 0, l.file);
  }
});

// --- synthetic messages -----------------------------------------------------------

const CLIENT = "10.1.0.2", SERVER = "10.2.0.2";

let seed = 3;
function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  return b;
}

function u16(n: number): number[] {
  return [n >> 8, n & 255];
}

function hexLabel(): number[] {
  return [...randomBytes(4)].flatMap((x) => [...x.toString(16).padStart(2, "0")])
    .map((c) => c.charCodeAt(0));
}

/** Fields that differ from SoftEther's layout (to build look-alikes). */
interface Shape {
  flags?: number;
  label?: number[]; // the question name's labels in wire form, without the root byte
  qtype?: number;
  optRdata?: Uint8Array; // the OPT RDATA (query)
  dnskeyHeader?: number[]; // flags/protocol/algorithm (answer)
}

/** SoftEther's query (RUDPMainThread, client side) carrying `rudp`. */
function query(id: number, rudp: Uint8Array, s: Shape = {}): Uint8Array {
  const rdata = s.optRdata ?? rudp;
  return new Uint8Array([
    ...u16(id),
    ...u16(s.flags ?? 0x0100),
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    1,
    ...(s.label ?? [8, ...hexLabel()]),
    0,
    ...u16(s.qtype ?? 48),
    0,
    1,
    0, // OPT: root name
    0,
    41,
    0x10,
    0x00, // UDP size 4096
    0,
    0,
    0x80,
    0, // TTL
    ...u16(rdata.length),
    ...rdata,
  ]);
}

/** SoftEther's answer (RUDPMainThread, server side) carrying `rudp`. */
function answer(id: number, rudp: Uint8Array, s: Shape = {}): Uint8Array {
  return new Uint8Array([
    ...u16(id),
    ...u16(s.flags ?? 0x8180),
    0,
    1,
    0,
    1,
    0,
    0,
    0,
    0,
    ...(s.label ?? [8, ...hexLabel()]),
    0,
    ...u16(s.qtype ?? 48),
    0,
    1,
    0xc0,
    0x0c,
    0,
    48,
    0,
    1,
    0,
    0,
    0xa4,
    0x5b,
    ...u16(rudp.length + 4),
    ...(s.dnskeyHeader ?? [0x01, 0x00, 0x03, 0x08]),
    ...rudp,
  ]);
}

interface Msg {
  t: number;
  from: "c" | "s";
  payload: Uint8Array;
  cport?: number;
  sport?: number;
  client?: string;
  server?: string;
  capLen?: number;
}

function feed(run: TunnelRun, msgs: Msg[]): void {
  for (const m of msgs) {
    const c = m.client ?? CLIENT, s = m.server ?? SERVER;
    const cp = m.cport ?? 40000, sp = m.sport ?? 53;
    const ip = m.from === "c"
      ? ipPacket({ src: c, dst: s, sport: cp, dport: sp, proto: 17, payload: m.payload })
      : ipPacket({ src: s, dst: c, sport: sp, dport: cp, proto: 17, payload: m.payload });
    run.pipeline.handle(rawFrame(m.t, ip, m.capLen === undefined ? undefined : 14 + m.capLen));
  }
}

/** An R-UDP connection over DNS: connect request, then packets both ways every 0.2 s. */
function dnsSession(
  t0: number,
  seconds: number,
  shape: { q?: Shape; a?: Shape } = {},
  cport = 40000,
): Msg[] {
  const msgs: Msg[] = [{ t: t0, from: "c", payload: query(1, randomBytes(39), shape.q), cport }];
  for (let t = 0.001; t < seconds; t += 0.2) {
    const id = (t * 1000) & 0xffff;
    msgs.push({ t: t0 + t, from: "s", payload: answer(id, randomBytes(120), shape.a), cport });
    msgs.push({
      t: t0 + t + 0.1,
      from: "c",
      payload: query(id + 1, randomBytes(90), shape.q),
      cport,
    });
  }
  return msgs;
}

function alerts(events: DetectionEvent[]): DetectionEvent[] {
  return events.filter((e) => e.kind === "vpn" && e.phase === undefined);
}

Deno.test("synthetic: SoftEther's query and answer layout both ways is a session", () => {
  const run = tunnelPipeline(false);
  const msgs = dnsSession(1000, 3);
  feed(run, msgs);
  run.pipeline.finish();
  const [alert, end, ...rest] = run.events;
  assert.equal(rest.length, 0);
  assert.equal(alert.variant, "DNS");
  assert.deepEqual(alert.client, { ip: CLIENT, port: 40000 });
  assert.deepEqual(alert.server, { ip: SERVER, port: 53 });
  assert.equal(alert.start, 1000);
  assert.equal(end.phase, "end");
  assert.equal(end.connections, 1);
  const bytes = (from: string) =>
    msgs.filter((m) => m.from === from).reduce((n, m) => n + 20 + 8 + m.payload.length, 0);
  assert.deepEqual(end.bytes, { toserver: bytes("c"), toclient: bytes("s") });
});

Deno.test("synthetic: over IPv6 too", () => {
  const run = tunnelPipeline(false);
  feed(run, dnsSession(1000, 3).map((m) => ({ ...m, client: "fd00::2", server: "fd00::1" })));
  run.pipeline.finish();
  const a = alerts(run.events);
  assert.equal(a.length, 1);
  assert.deepEqual(a[0].client, { ip: "fd00::2", port: 40000 });
  assert.deepEqual(a[0].server, { ip: "fd00::1", port: 53 });
});

Deno.test("synthetic: a second UDP flow during the live session is folded in; after it, a new session", () => {
  const run = tunnelPipeline(false);
  feed(
    run,
    [...dnsSession(1000, 3, {}, 40000), ...dnsSession(1001, 3, {}, 40001)].sort((a, b) =>
      a.t - b.t
    ),
  );
  run.pipeline.finish();
  assert.equal(alerts(run.events).length, 1);
  const end = run.events.find((e) => e.phase === "end")!;
  assert.equal(end.connections, 2);
  assert.equal(run.dns.stats.folded, 1);
  // Flows far apart (the first ended by idle timeout): two sessions.
  const later = tunnelPipeline(false);
  feed(later, [...dnsSession(1000, 3, {}, 40000), ...dnsSession(1300, 3, {}, 40001)]);
  later.pipeline.finish();
  assert.equal(alerts(later.events).length, 2);
});

Deno.test("synthetic: queries without answers during a TCP session are its dns_probe", () => {
  const run = tunnelPipeline(false);
  seedSession(run, CLIENT, SERVER, 42, 999.9);
  feed(run, dnsSession(1000, 4).filter((m) => m.from === "c"));
  run.pipeline.finish();
  const probes = run.events.filter((e) => e.kind === "dns_probe");
  assert.equal(probes.length, 1);
  assert.equal(probes[0].session, 42);
  assert.equal(probes[0].variant, "UDP");
  assert.deepEqual(probes[0].server, { ip: SERVER, port: 53 });
  assert.ok(probes[0].ts >= 1002 && probes[0].ts < 1003);
  // Without a session: nothing.
  const alone = tunnelPipeline(false);
  feed(alone, dnsSession(1000, 4).filter((m) => m.from === "c"));
  alone.pipeline.finish();
  assert.deepEqual(alone.events, []);
  assert.equal(alone.dns.stats.unattached, 1);
});

Deno.test("synthetic: DNSSEC-like look-alikes never match", () => {
  const cookie = new Uint8Array([
    0,
    10,
    0,
    24,
    ...randomBytes(24),
    0,
    12,
    0,
    20,
    ...new Uint8Array(20),
  ]);
  const cases: [string, { q?: Shape; a?: Shape }][] = [
    ["OPT with EDNS options (cookie + padding)", { q: { optRdata: cookie } }],
    ["OPT with no RDATA", { q: { optRdata: new Uint8Array(0) } }],
    ["OPT RDATA shorter than an R-UDP packet", { q: { optRdata: randomBytes(30) } }],
    ["name with a zone", { q: { label: [8, ...hexLabel(), 3, 0x6c, 0x61, 0x62] } }],
    ["upper-case hex", { q: { label: [8, ...hexLabel().map((c) => c >= 0x61 ? c - 32 : c)] } }],
    ["9 characters", { q: { label: [9, ...hexLabel(), 0x30] } }],
    ["not hex", { q: { label: [8, ...new TextEncoder().encode("deadbeeg")] } }],
    ["QTYPE A", { q: { qtype: 1 } }],
    ["a response flag on the query", { q: { flags: 0x8100 } }],
    ["answer DNSKEY 257/3/13 (a real KSK)", { a: { dnskeyHeader: [0x01, 0x01, 0x03, 0x0d] } }],
    ["answer NXDOMAIN", { a: { flags: 0x8183 } }],
  ];
  for (const [what, shape] of cases) {
    const run = tunnelPipeline(false);
    seedSession(run, CLIENT, SERVER, 1, 999.9);
    feed(run, dnsSession(1000, 3, shape));
    run.pipeline.finish();
    const mine = tunnelEvents(run.events);
    if (shape.a !== undefined) {
      // The queries are SoftEther's, the answers not: a probe at most, never a session.
      assert.deepEqual(mine.map((e) => e.kind), ["dns_probe"], what);
    } else assert.deepEqual(mine, [], what);
  }
});

Deno.test("synthetic: other ports (mDNS, LLMNR, a high port) are not VPN over DNS", () => {
  for (const port of [5353, 5355, 5300]) {
    const run = tunnelPipeline(false);
    seedSession(run, CLIENT, SERVER, 1, 999.9);
    feed(run, dnsSession(1000, 3).map((m) => ({ ...m, sport: port })));
    run.pipeline.finish();
    assert.deepEqual(tunnelEvents(run.events), [], `port ${port}`);
  }
});

Deno.test("synthetic: cut, malformed and looping messages never throw nor match", () => {
  const run = tunnelPipeline(false);
  // Cut by the snapshot length: counted.
  feed(run, dnsSession(1000, 3).map((m) => ({ ...m, capLen: 20 + 8 + 40 })));
  assert.ok(run.weirds.get("softether_dns_cut") > 10);
  // An answer whose record name is a compression loop, and one whose RDLEN runs past the end.
  const looping = answer(5, randomBytes(60));
  looping[26] = 0xc0;
  looping[27] = 26;
  const long = answer(6, randomBytes(60));
  long[37] = 0xff;
  // Truncated messages of every length.
  const q = query(7, randomBytes(60));
  const msgs: Msg[] = [
    { t: 2000, from: "s", payload: looping },
    { t: 2000.1, from: "s", payload: long },
  ];
  for (let n = 0; n < q.length; n++) {
    msgs.push({ t: 2001 + n * 0.001, from: "c", payload: q.slice(0, n) });
  }
  feed(run, msgs);
  run.pipeline.finish();
  assert.deepEqual(run.events, []);
});
