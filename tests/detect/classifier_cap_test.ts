/**
 * The inspection cap (maxAnalyzers) under a flood: at the cap the oldest
 * least promising undecided connection is let go (`stats.evicted`), so
 * connections that never decide cannot keep a later real SoftEther session
 * from being inspected and alerted. Also: downloads stop being inspected
 * early, and every inspection is released exactly once.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { SoftEtherTcpDetector } from "../../src/detect/softether_tcp_detector.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { clientHelloRecord, type Rng } from "../bench/tls_templates.ts";
import { ethernet, ipPacket } from "../helpers/frames.ts";

const FILE = fileURLToPath(new URL("../../testdata/lab/direct_443.pcap", import.meta.url));

/** One packet of the merged input: a copied frame and its time. */
interface Frame {
  ts: number;
  bytes: Uint8Array;
  link: number;
}

async function readFrames(file: string): Promise<Frame[]> {
  const src = await openCaptureFiles([file]);
  const raw = new RawPacket();
  const out: Frame[] = [];
  do {
    while (src.next(raw)) {
      out.push({
        ts: raw.tsSec + raw.tsNsec / 1e9,
        bytes: raw.buf.slice(raw.offset, raw.offset + raw.capLen),
        link: raw.linkType,
      });
    }
  } while (await src.refill());
  src.close();
  return out;
}

function rng(seed: number): Rng {
  let s = seed;
  return { u32: () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) };
}

/**
 * A half-open TLS-looking connection to the lab's server: handshake, a
 * browser-like ClientHello, then silence (no server answer, no close) —
 * it never decides.
 */
function halfOpenTls(i: number, ts: number, r: Rng): Frame[] {
  const c = { src: `10.99.${i >> 8 & 255}.${i & 255}`, dst: "10.77.2.2", sport: 40000, dport: 443 };
  const s = { src: c.dst, dst: c.src, sport: c.dport, dport: c.sport };
  const hello = clientHelloRecord(r, `www${i}.example.com`);
  const f = (spec: Parameters<typeof ipPacket>[0], dt: number): Frame => ({
    ts: ts + dt,
    bytes: ethernet(ipPacket(spec)),
    link: LinkType.ETHERNET,
  });
  return [
    f({ ...c, flags: 0x02, seq: 1000 }, 0),
    f({ ...s, flags: 0x12, seq: 9000, ack: 1001 }, 0.0001),
    f({ ...c, flags: 0x10, seq: 1001, ack: 9001 }, 0.0002),
    f({ ...c, flags: 0x18, seq: 1001, ack: 9001, payload: hello }, 0.0003),
  ];
}

/**
 * The lab session with `before` flood connections opened in the second
 * before it, and one more after every `every` of its packets from its
 * packet `from` on.
 */
async function flooded(before: number, every: number, from = 0): Promise<Frame[]> {
  const lab = await readFrames(FILE);
  const r = rng(99);
  const out: Frame[] = [];
  let n = 0;
  const t0 = lab[0].ts - 1;
  for (; n < before; n++) out.push(...halfOpenTls(n, t0 + n / before / 2, r));
  lab.forEach((p, k) => {
    out.push(p);
    if (every > 0 && k >= from && k % every === every - 1) out.push(...halfOpenTls(n++, p.ts, r));
  });
  out.sort((a, b) => a.ts - b.ts); // stable: a flood packet stays after its lab packet
  return out;
}

/** Runs `frames` through a pipeline; checks the cap after every packet. */
function run(frames: Frame[], maxAnalyzers: number) {
  const events: DetectionEvent[] = [];
  const weirds = new Weirds();
  const c = new SoftEtherTcpDetector((ev) => events.push(ev), { weirds, maxAnalyzers });
  const p = new Pipeline([c], { maxFlows: 100_000 }, weirds);
  const raw = new RawPacket();
  let maxLive = 0;
  for (const f of frames) {
    raw.buf = f.bytes;
    raw.offset = 0;
    raw.capLen = raw.wireLen = f.bytes.length;
    raw.tsSec = Math.floor(f.ts);
    raw.tsNsec = Math.round((f.ts - raw.tsSec) * 1e9);
    raw.linkType = f.link;
    p.handle(raw);
    maxLive = Math.max(maxLive, c.live);
  }
  const liveBeforeEnd = c.live;
  p.finish();
  const alerts = events.filter((e) => e.phase !== "end");
  return { alerts, stats: c.stats, maxLive, liveBeforeEnd, live: c.live, weirds };
}

Deno.test("classifier: a flood of undecided connections does not hide a later SoftEther session", async () => {
  const MAX = 8, BEFORE = 300;
  const r = run(await flooded(BEFORE, 4), MAX);
  const s = JSON.stringify(r.stats);
  assert.equal(r.alerts.length, 1, s);
  assert.equal(r.alerts[0].server.port, 443);
  assert.equal(r.alerts[0].client.ip, "10.77.1.2");
  // Every flood connection was inspected, the cap made room for each newcomer.
  const floods = r.stats.inspected - 2; // the session's two connections
  assert.ok(floods >= BEFORE + 100, s);
  assert.ok(r.stats.evicted >= floods + 2 - MAX - 1, s);
  assert.equal(r.weirds.get("inspection_evicted"), r.stats.evicted);
  // The cap is a memory bound: never exceeded; every inspection released once.
  assert.ok(r.maxLive <= MAX, `live ${r.maxLive} > ${MAX}`);
  assert.equal(r.liveBeforeEnd, MAX);
  assert.equal(r.live, 0, s);
});

Deno.test("classifier: the same flood without a cap to hit evicts nothing", async () => {
  const r = run(await flooded(300, 4), 100_000);
  assert.equal(r.alerts.length, 1);
  assert.equal(r.stats.evicted, 0);
  assert.equal(r.live, 0);
});

Deno.test("classifier: a session past its first set-up message is not the one let go", async () => {
  // Once the watermark is in (the capture's packets 34-35), a newcomer after
  // every packet: the session soon is the oldest inspection, and only the
  // preference for letting go of connections that show nothing of the set-up
  // keeps it.
  const MAX = 4;
  const r = run(await flooded(50, 1, 36), MAX);
  assert.equal(r.alerts.length, 1, JSON.stringify(r.stats));
  assert.ok(r.stats.evicted > 400, JSON.stringify(r.stats));
  assert.ok(r.maxLive <= MAX);
  assert.equal(r.live, 0);
});

async function inspect(file: string) {
  const weirds = new Weirds();
  const c = new SoftEtherTcpDetector(() => {}, { weirds });
  const p = new Pipeline([c], {}, weirds);
  const src = await openCaptureFiles([fileURLToPath(new URL(file, import.meta.url))]);
  await p.run(src);
  src.close();
  p.finish();
  return { stats: c.stats, live: c.live };
}

Deno.test("classifier: a download stops being inspected after a few records, not 64 KB", async () => {
  // A real 6 MB HTTPS download (nginx, HTTP/1.1): the server's answer to a
  // short request outgrows any SoftEther set-up message within ~8 KB.
  const { stats, live } = await inspect("../../testdata/lab/neg_https_big.pcap");
  assert.ok(stats.inspected >= 1, JSON.stringify(stats));
  assert.equal(stats.dismissed, stats.inspected, JSON.stringify(stats));
  assert.equal(live, 0);
  assert.ok(
    stats.inspectedBytes < 16_384 * stats.inspected,
    `inspected ${stats.inspectedBytes} B over ${stats.inspected} connections`,
  );
});

Deno.test("classifier: every analyzer is released exactly once (live count back to 0)", async () => {
  for (const f of ["direct_443", "http_proxy", "fail_password", "neg_https_h2", "ssh_forward"]) {
    const { stats, live } = await inspect(`../../testdata/lab/${f}.pcap`);
    assert.equal(live, 0, `${f}: ${JSON.stringify(stats)}`);
    assert.equal(stats.evicted, 0, f);
  }
});
