/**
 * Flood check: can a flood of undecided connections blind the sensor?
 *
 * Builds a capture — streamed to a classic pcap file, never held in memory —
 * of N half-open TCP connections (IPv4, each from its own client address and
 * port to one of 131,072 servers on port 443): a SYN, then one 64-byte
 * client segment holding the start of a TLS ClientHello whose record header
 * announces 512 bytes (an unfinished ClientHello), and no answer from the
 * server, ever. After N/2 connections a real SoftEther session from a lab
 * capture is spliced in: its times are shifted to start there, its own
 * timing is kept, and its packets interleave with the flood's second half
 * (the flood runs at 200,000 packets per second of packet time).
 *
 * The capture then goes through the full pipeline with the defaults of
 * `main.ts --read` (the flow table's and the detector's), and the session
 * must be alerted exactly once, as the untouched lab capture is
 * ({@linkcode detect}): same kind, variant, outcome, client and server.
 *
 * Usage: deno run -A tests/eval/flood.ts [--connections N] [--session FILE]
 * [--keep FILE.pcap] [--max-analyzers N]
 *
 * Prints packets, flows, inspected, evicted, alerts, wall time, peak RSS and
 * heap used; exits 1 unless the session's alert is there, once and right.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { PcapWriter } from "../../src/capture/pcap_writer.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { fold, sum16 } from "./capture_encoder.ts";
import { parseOptions } from "../../src/cli/args.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { SoftEtherTcpDetector } from "../../src/detect/softether_tcp_detector.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { detect } from "./evaluate.ts";

/** The lab session spliced in by default (testdata/lab/direct_443.pcap). */
export const DEFAULT_SESSION: string = fileURLToPath(
  new URL("../../testdata/lab/direct_443.pcap", import.meta.url),
);
/** Flood connections by default. */
export const DEFAULT_CONNECTIONS = 1_000_000;
/** Flood packets per second of packet time by default. */
export const DEFAULT_PACKET_RATE = 200_000;
/** Most flood connections: one client address each, from 100.64.0.0/10. */
export const MAX_CONNECTIONS = 1 << 22;
/** Flood start by default: 2026-01-01 00:00:00 UTC. */
const DEFAULT_START = 1_767_225_600;
/** Payload of a flood connection's data segment. */
const HELLO_BYTES = 64;
/** Record length the flood's TLS record header announces (more than is ever sent). */
const HELLO_RECORD = 512;

/** Options of {@linkcode writeFloodCapture}. */
export interface FloodCaptureOptions {
  /** Output pcap path (created or truncated). */
  out: string;
  /** Half-open flood connections (default {@linkcode DEFAULT_CONNECTIONS}). */
  connections?: number;
  /** Capture holding the session to splice in (default {@linkcode DEFAULT_SESSION}; Ethernet). */
  session?: string;
  /** Flood packets per second of packet time (default {@linkcode DEFAULT_PACKET_RATE}). */
  packetRate?: number;
  /** Flood start, whole seconds since the Unix epoch (default 2026-01-01). */
  start?: number;
  /** Seed of the flood's random bytes (ports, sequence numbers, ClientHello randoms). */
  seed?: number;
}

/** What {@linkcode writeFloodCapture} wrote. */
export interface FloodCapture {
  /** The pcap file. */
  path: string;
  /** Packets written in all. */
  packets: number;
  /** Flood packets (2 per connection). */
  floodPackets: number;
  /** Session packets. */
  sessionPackets: number;
  /** Bytes of the file. */
  bytes: number;
  /** Seconds added to every session packet's time. */
  shift: number;
  /** Packet time of the flood's first packet. */
  start: number;
  /** Packet time of the session's first packet (the flood's midpoint). */
  sessionStart: number;
  /** Packet time of the flood's last packet. */
  floodEnd: number;
}

/** xorshift32 step (never 0 for a non-zero state). */
function xorshift(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/**
 * Builds the flood's two frames (Ethernet, IPv4, TCP) in place, one
 * connection after the other: only addresses, ports, sequence numbers, the
 * ClientHello's random bytes and the checksums change.
 */
class FloodFrames {
  /** SYN: 14 + 20 + 32 (MSS, window scale, SACK permitted). */
  readonly syn = new Uint8Array(14 + 20 + 32);
  /** PSH/ACK with the unfinished ClientHello. */
  readonly data = new Uint8Array(14 + 20 + 20 + HELLO_BYTES);
  #rnd: number;
  #id = 0;

  constructor(seed: number) {
    this.#rnd = (seed >>> 0) || 0x2545f491;
    for (const f of [this.syn, this.data]) {
      f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]); // dst, src MAC, IPv4
      f.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6], 14); // DF, TTL 64, TCP
      new DataView(f.buffer).setUint16(16, f.length - 14);
    }
    this.syn[46] = 8 << 4; // data offset: 32 bytes
    this.syn[47] = 0x02; // SYN
    this.syn.set([0xfa, 0xf0], 48); // window 64240
    this.syn.set([2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2], 54);
    this.data[46] = 5 << 4;
    this.data[47] = 0x18; // PSH, ACK
    this.data.set([0x01, 0xf6], 48); // window 502
    // TLS record header (handshake, TLS 1.0 record version, 512 bytes) and
    // the ClientHello's start: type 1, length 508, version 3.3, 32 random
    // bytes, a 32-byte session id of which 20 fit.
    const h = [0x16, 0x03, 0x01, HELLO_RECORD >> 8, HELLO_RECORD & 0xff];
    h.push(0x01, 0x00, (HELLO_RECORD - 4) >> 8, (HELLO_RECORD - 4) & 0xff, 0x03, 0x03);
    this.data.set(h, 54);
    this.data[54 + 43] = 32;
  }

  #next(): number {
    return (this.#rnd = xorshift(this.#rnd));
  }

  /** Fills both frames for connection `i`. */
  connection(i: number): void {
    const client = (100 << 24 | 64 << 16) + i; // 100.64.0.0/10
    const r = this.#next();
    const server = (198 << 24 | 18 << 16) + (r & 0x1ffff); // 198.18.0.0/15
    const port = 1024 + (r >>> 17) % 64000;
    const isn = this.#next();
    const ack = this.#next();
    for (const f of [this.syn, this.data]) {
      const v = new DataView(f.buffer);
      v.setUint16(18, this.#id = (this.#id + 1) & 0xffff);
      v.setUint32(26, client >>> 0);
      v.setUint32(30, server >>> 0);
      v.setUint16(34, port);
      v.setUint16(36, 443);
    }
    const sv = new DataView(this.syn.buffer), dv = new DataView(this.data.buffer);
    sv.setUint32(38, isn);
    sv.setUint32(42, 0);
    dv.setUint32(38, (isn + 1) >>> 0);
    dv.setUint32(42, ack);
    for (let o = 54 + 11; o < 54 + 43; o += 4) dv.setUint32(o, this.#next()); // random
    for (let o = 54 + 44; o < 54 + HELLO_BYTES; o += 4) dv.setUint32(o, this.#next()); // session id
    this.#checksums(this.syn);
    this.#checksums(this.data);
  }

  #checksums(f: Uint8Array): void {
    const v = new DataView(f.buffer);
    v.setUint16(24, 0);
    v.setUint16(24, fold(sum16(f, 14, 34, 0)));
    v.setUint16(50, 0);
    const l4 = f.length - 34;
    const acc = sum16(f, 26, 34, 6 + l4); // pseudo-header: addresses, protocol, length
    v.setUint16(50, fold(sum16(f, 34, f.length, acc)));
  }
}

/** Fills `raw` with the next packet of `src`; false at the end of input. */
async function pull(
  src: { next(p: RawPacket): boolean; refill(): Promise<boolean> },
  raw: RawPacket,
) {
  if (src.next(raw)) return true;
  while (await src.refill()) if (src.next(raw)) return true;
  return false;
}

/**
 * Writes the flood capture (see the module documentation) to `opts.out`,
 * streaming: memory use does not grow with the number of connections. The
 * session capture must be Ethernet.
 */
export async function writeFloodCapture(opts: FloodCaptureOptions): Promise<FloodCapture> {
  const n = opts.connections ?? DEFAULT_CONNECTIONS;
  if (!Number.isInteger(n) || n < 2 || n > MAX_CONNECTIONS) {
    throw new RangeError(`connections must be an integer in 2..${MAX_CONNECTIONS}: ${n}`);
  }
  const rate = opts.packetRate ?? DEFAULT_PACKET_RATE;
  const intervalNs = Math.round(1e9 / rate);
  const startSec = opts.start ?? DEFAULT_START;
  const frames = new FloodFrames(opts.seed ?? 1);
  const src = await openCaptureFiles([opts.session ?? DEFAULT_SESSION]);
  const w = new PcapWriter(opts.out, { nanosecond: true });
  const raw = new RawPacket();
  // Times are kept as nanoseconds since the flood's start (exact in a double).
  const midNs = Math.floor(n / 2) * 2 * intervalNs;
  let firstSec = 0, firstNsec = 0, sessionPackets = 0, floodPackets = 0;
  let bytes = 24;
  const write = (f: Uint8Array, offNs: number, wireLen: number) => {
    const sec = startSec + Math.floor(offNs / 1e9);
    w.writeFrame(f, sec, offNs - (sec - startSec) * 1e9, wireLen);
    bytes += 16 + f.length;
  };
  try {
    let have = await pull(src, raw);
    if (have) {
      firstSec = raw.tsSec;
      firstNsec = raw.tsNsec;
    }
    let sOff = 0;
    const place = () => {
      if (raw.linkType !== LinkType.ETHERNET) {
        throw new Error(`the session capture must be Ethernet (link type ${raw.linkType} found)`);
      }
      sOff = midNs + (raw.tsSec - firstSec) * 1e9 + (raw.tsNsec - firstNsec);
    };
    if (have) place();
    for (let i = 0; i < n; i++) {
      frames.connection(i);
      for (let k = 0; k < 2; k++) {
        const off = (2 * i + k) * intervalNs;
        while (have && sOff <= off) {
          write(raw.buf.subarray(raw.offset, raw.offset + raw.capLen), sOff, raw.wireLen);
          sessionPackets++;
          if ((have = await pull(src, raw))) place();
        }
        const f = k === 0 ? frames.syn : frames.data;
        write(f, off, f.length);
        floodPackets++;
      }
    }
    while (have) {
      write(raw.buf.subarray(raw.offset, raw.offset + raw.capLen), sOff, raw.wireLen);
      sessionPackets++;
      if ((have = await pull(src, raw))) place();
    }
  } finally {
    src.close();
    w.close();
  }
  const shift = startSec + midNs / 1e9 - (firstSec + firstNsec / 1e9);
  return {
    path: opts.out,
    packets: floodPackets + sessionPackets,
    floodPackets,
    sessionPackets,
    bytes,
    shift,
    start: startSec,
    sessionStart: startSec + midNs / 1e9,
    floodEnd: startSec + (2 * n - 1) * intervalNs / 1e9,
  };
}

/** Options of {@linkcode runFloodPipeline}. */
export interface FloodRunOptions {
  /** The detector's inspection cap (default: the detector's, 250,000). */
  maxAnalyzers?: number;
}

/** What one pipeline run over a capture gave. */
export interface FloodRun {
  /** Packets processed. */
  packets: number;
  /** Flows created. */
  flows: number;
  /** Flows the flow table evicted because it was full. */
  flowsEvicted: number;
  /** The detector's counters at the end. */
  stats: SoftEtherTcpDetector["stats"];
  /** The `inspection_evicted` weird counter. */
  evictedWeird: number;
  /** Alerts (events without `phase`). */
  alerts: DetectionEvent[];
  /** Session summaries (`phase: "end"`). */
  sessionEnds: number;
  /** Wall seconds of the run (reading, pipeline, finish). */
  wallSeconds: number;
  /** Highest resident set size sampled during the run, bytes. */
  peakRss: number;
  /** V8 heap used at the end of the run (before the pipeline is dropped), bytes. */
  heapUsed: number;
  /** Highest V8 heap used sampled, bytes. */
  peakHeapUsed: number;
  /**
   * V8 heap used after a full GC before the pipeline's end (the live state:
   * flow table's JS side, inspections), bytes; only with `--v8-flags=--expose-gc`.
   */
  heapLive?: number;
}

/**
 * Runs the full pipeline over `path` as `main.ts --read` builds it: the
 * defaults of {@linkcode parseOptions} for the flow table (maximum flows,
 * timeouts) and the detector's own defaults; memory is sampled after every
 * input buffer.
 */
export async function runFloodPipeline(
  path: string,
  opts: FloodRunOptions = {},
): Promise<FloodRun> {
  const cli = parseOptions(["--read", path]);
  const alerts: DetectionEvent[] = [];
  let sessionEnds = 0;
  const weirds = new Weirds();
  const detector = new SoftEtherTcpDetector((ev) => {
    if (ev.phase === "end") sessionEnds++;
    else alerts.push(ev);
  }, opts.maxAnalyzers === undefined ? { weirds } : { weirds, maxAnalyzers: opts.maxAnalyzers });
  const pipeline = new Pipeline([detector], {
    maxFlows: cli.maxFlows,
    timeouts: { active: cli.tcpTimeout, udp: cli.udpTimeout },
  }, weirds);
  let peakRss = 0, peakHeapUsed = 0;
  const sample = () => {
    const m = Deno.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeapUsed) peakHeapUsed = m.heapUsed;
    return m;
  };
  const started = performance.now();
  const src = await openCaptureFiles([path]);
  try {
    await pipeline.run(src, sample);
  } finally {
    src.close();
  }
  // With --v8-flags=--expose-gc: what the live state holds (GC time not counted).
  const gc = (globalThis as { gc?: () => void }).gc;
  let heapLive: number | undefined, gcMs = 0;
  if (gc !== undefined) {
    const t = performance.now();
    gc();
    heapLive = sample().heapUsed;
    gcMs = performance.now() - t;
  }
  pipeline.finish();
  const wallSeconds = (performance.now() - started - gcMs) / 1000;
  const heapUsed = sample().heapUsed;
  return {
    packets: pipeline.packets,
    flows: pipeline.flows.total,
    flowsEvicted: pipeline.flows.evicted,
    stats: { ...detector.stats },
    evictedWeird: weirds.get("inspection_evicted"),
    alerts,
    sessionEnds,
    wallSeconds,
    peakRss,
    heapUsed,
    peakHeapUsed,
    heapLive,
  };
}

/** Client, server, kind, variant and outcome of an alert, as text. */
export function alertKey(ev: DetectionEvent): string {
  return `${ev.kind} ${ev.variant} ${ev.outcome} ${ev.client.ip}:${ev.client.port} -> ` +
    `${ev.server.ip}:${ev.server.port}`;
}

/**
 * Problems (empty: none) of the flood run's alerts against the untouched
 * capture's: each expected alert must be there exactly once, nothing else.
 */
export function judgeAlerts(expected: DetectionEvent[], got: DetectionEvent[]): string[] {
  const problems: string[] = [];
  if (expected.length === 0) problems.push("the session capture alone gives no alert");
  const left = got.map(alertKey);
  for (const ev of expected) {
    const k = alertKey(ev);
    const i = left.indexOf(k);
    if (i < 0) problems.push(`missed: ${k}`);
    else left.splice(i, 1);
  }
  for (const k of left) problems.push(`unexpected or repeated: ${k}`);
  return problems;
}

/** Options of {@linkcode flood}. */
export interface FloodOptions extends FloodRunOptions {
  /** Half-open flood connections (default {@linkcode DEFAULT_CONNECTIONS}). */
  connections?: number;
  /** Session capture (default {@linkcode DEFAULT_SESSION}). */
  session?: string;
  /** Keep the generated capture at this path (default: a temporary file, removed). */
  keep?: string;
}

/** Outcome of {@linkcode flood}. */
export interface FloodReport {
  /** The generated capture. */
  capture: FloodCapture;
  /** Wall seconds spent writing it. */
  generateSeconds: number;
  /** The pipeline run. */
  run: FloodRun;
  /** Alerts of the untouched session capture. */
  expected: DetectionEvent[];
  /** Problems with the alerts (empty: the session was alerted once, rightly). */
  problems: string[];
}

/** Builds the flood capture, runs the pipeline over it and judges the alerts. */
export async function flood(opts: FloodOptions = {}): Promise<FloodReport> {
  const session = opts.session ?? DEFAULT_SESSION;
  const expected = await detect(session);
  const out = opts.keep ?? await Deno.makeTempFile({ prefix: "sealert_flood_", suffix: ".pcap" });
  try {
    const t0 = performance.now();
    const capture = await writeFloodCapture({ out, connections: opts.connections, session });
    const generateSeconds = (performance.now() - t0) / 1000;
    const run = await runFloodPipeline(out, opts);
    return { capture, generateSeconds, run, expected, problems: judgeAlerts(expected, run.alerts) };
  } finally {
    if (opts.keep === undefined) await Deno.remove(out).catch(() => {});
  }
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(0)} MiB`;
}

/** The report printed by the command line. */
export function formatReport(r: FloodReport, maxAnalyzers: number): string {
  const c = r.capture, run = r.run, s = run.stats;
  const lines = [
    `capture     ${count(c.floodPackets / 2)} half-open connections over ${
      (c.floodEnd - c.start).toFixed(2)
    } s, ${count(c.sessionPackets)} session packets from ${
      (c.sessionStart - c.start).toFixed(2)
    } s on; ${mib(c.bytes)}, written in ${r.generateSeconds.toFixed(1)} s`,
    `packets     ${count(run.packets)}`,
    `flows       ${count(run.flows)} (flow table evicted ${count(run.flowsEvicted)})`,
    `inspected   ${count(s.inspected)} (cap ${count(maxAnalyzers)})`,
    `evicted     ${count(s.evicted)} (dismissed ${count(s.dismissed)})`,
    `alerts      ${count(run.alerts.length)} (session ends ${run.sessionEnds})`,
    `wall time   ${run.wallSeconds.toFixed(1)} s (${
      count(Math.round(run.packets / run.wallSeconds))
    } packets/s)`,
    `peak RSS    ${mib(run.peakRss)}`,
    `heap used   ${mib(run.heapUsed)} at the end, ${
      mib(run.peakHeapUsed)
    } at most (garbage included)${
      run.heapLive === undefined ? "" : `; ${mib(run.heapLive)} live after a GC before the end`
    }`,
  ];
  for (const ev of run.alerts) {
    const ref = r.expected.find((e) => alertKey(e) === alertKey(ev));
    const delay = ref === undefined
      ? ""
      : `, decided ${
        ((ev.ts - c.shift - ref.ts) * 1000).toFixed(3)
      } ms later than in the untouched capture`;
    lines.push(`alert       ${alertKey(ev)} (latency ${ev.latency.toFixed(3)} s${delay})`);
  }
  lines.push(r.problems.length === 0 ? "OK" : `FAILED: ${r.problems.join("; ")}`);
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      connections: { type: "string" },
      session: { type: "string" },
      keep: { type: "string" },
      "max-analyzers": { type: "string" },
    },
  });
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const x = Number(v.replaceAll("_", ""));
    if (!Number.isInteger(x) || x < 1) {
      console.error(`flood: --${name} must be a positive integer: ${v}`);
      Deno.exit(2);
    }
    return x;
  };
  const maxAnalyzers = int("max-analyzers", values["max-analyzers"]);
  const report = await flood({
    connections: int("connections", values.connections),
    session: values.session,
    keep: values.keep,
    maxAnalyzers,
  });
  console.log(formatReport(report, maxAnalyzers ?? 250_000));
  Deno.exit(report.problems.length === 0 ? 0 : 1);
}
