/**
 * Long run (`deno task bench:long`): the lab captures (testdata/lab, lab2,
 * lookalike) replayed many times through ONE process and ONE pipeline, wired
 * as main.ts wires it (SoftEtherTcpDetector → the real text and JSON sinks,
 * written to a temporary directory), the way a sensor runs for months:
 *
 * - every replay ("pass") plays all files one after the other, each file
 *   starting 4,000 s of packet time after the previous one ended (more than
 *   the longest flow timeout, 3,600 s), so every flow ends by timeout;
 * - every pass moves the IPv4 addresses to another /16 (the first two
 *   octets XOR a per-pass mask; IPv6: bytes 2-3), the same within a pass so
 *   sessions stay intact, and its times forward;
 * - heap used and RSS are printed at the start (after the first pass), the
 *   middle and the end, each after a forced GC (`--v8-flags=--expose-gc`);
 * - the alerts per (kind, variant, outcome, phase) must be exactly
 *   replays × those of one pass in a fresh pipeline, in the counts and in the
 *   lines of the text and JSON logs;
 * - memory must be flat: end ≤ middle + 10 % for heap used and for RSS
 *   (plus 2 MiB for heap, 8 MiB for RSS: noise of a small process).
 *
 * Usage: deno run -A --v8-flags=--expose-gc tests/bench/long_run.ts
 *          [--replays N (default 2000)] [--json]
 * Exit code 0 when the counts are exact and memory is flat, else 1.
 *
 * @module
 */

import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { LinkType, type PacketSource, RawPacket } from "../../src/capture/raw_packet.ts";
import { parseOptions } from "../../src/cli/args.ts";
import { openSinks } from "../../src/cli/sinks.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { SoftEtherTcpDetector } from "../../src/detect/softether_tcp_detector.ts";
import { Pipeline } from "../../src/pipeline.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** The capture sets replayed (every .pcap of each, in name order). */
const SETS = ["testdata/lab", "testdata/lab2", "testdata/lookalike"];
/** Packet time between the end of one file and the start of the next (s). */
const FILE_GAP = 4000;
/** Packets handed out per refill of the replay source. */
const CHUNK = 4096;

/** Every frame of the capture sets, in one buffer, with what a pass rewrites. */
interface Captures {
  buf: Uint8Array;
  offset: Uint32Array;
  capLen: Uint32Array;
  wireLen: Uint32Array;
  linkType: Uint16Array;
  /** Packet time relative to the start of the pass (s, fractional). */
  rel: Float64Array;
  /** Offset in `buf` of the IP source address, -1 when not IP. */
  srcAt: Int32Array;
  /** Offset in `buf` of the IP destination address, -1 when not IP. */
  dstAt: Int32Array;
  /** IP version of the packet (4, 6; 0 when not IP). */
  ipv: Uint8Array;
  /** Packet count. */
  n: number;
  /** Files read. */
  files: number;
  /** Bytes of frames in one pass. */
  bytes: number;
  /** Packet time one pass spans, gaps included (s). */
  span: number;
}

/** Where the IP header starts in a frame of `linkType` (-1: not IP), and its version. */
function ipStart(b: Uint8Array, at: number, len: number, linkType: number): number {
  let p: number, type: number;
  switch (linkType) {
    case LinkType.ETHERNET:
      p = at + 12;
      type = (b[p] << 8) | b[p + 1];
      p += 2;
      while ((type === 0x8100 || type === 0x88a8) && p + 4 <= at + len) {
        type = (b[p + 2] << 8) | b[p + 3];
        p += 4;
      }
      break;
    case LinkType.LINUX_SLL:
      type = (b[at + 14] << 8) | b[at + 15];
      p = at + 16;
      break;
    case LinkType.LINUX_SLL2:
      type = (b[at] << 8) | b[at + 1];
      p = at + 20;
      break;
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return at;
    case LinkType.NULL:
    case LinkType.LOOP:
      return at + 4;
    default:
      return -1;
  }
  return type === 0x0800 || type === 0x86dd ? p : -1;
}

/** Read every capture of {@linkcode SETS} into memory. */
async function loadCaptures(): Promise<Captures> {
  const paths: string[] = [];
  for (const set of SETS) {
    const names = [...Deno.readDirSync(`${ROOT}${set}`)]
      .filter((e) => e.isFile && /\.pcap(ng)?(\.gz)?$/.test(e.name)).map((e) => e.name).sort();
    for (const name of names) paths.push(`${ROOT}${set}/${name}`);
  }
  const chunks: Uint8Array[] = [];
  const meta: number[][] = [[], [], [], [], [], [], [], []]; // off cap wire link rel src dst ipv
  let total = 0, start = 0;
  for (const path of paths) {
    const src = await openCaptureFiles([path]);
    const raw = new RawPacket();
    let first = -1, last = 0;
    try {
      do {
        while (src.next(raw)) {
          const t = raw.tsSec + raw.tsNsec / 1e9;
          if (first < 0) first = t;
          last = Math.max(last, t);
          const frame = raw.buf.slice(raw.offset, raw.offset + raw.capLen);
          const ip = ipStart(frame, 0, frame.length, raw.linkType);
          let s = -1, d = -1, v = 0;
          if (ip >= 0 && ip < frame.length) {
            v = frame[ip] >> 4;
            if (v === 4 && ip + 20 <= frame.length) [s, d] = [total + ip + 12, total + ip + 16];
            else if (v === 6 && ip + 40 <= frame.length) [s, d] = [total + ip + 8, total + ip + 24];
            else v = 0;
          }
          meta[0].push(total);
          meta[1].push(raw.capLen);
          meta[2].push(raw.wireLen);
          meta[3].push(raw.linkType);
          meta[4].push(start + (t - first));
          meta[5].push(s);
          meta[6].push(d);
          meta[7].push(v);
          chunks.push(frame);
          total += frame.length;
        }
      } while (await src.refill());
    } finally {
      src.close();
    }
    start += (first < 0 ? 0 : last - first) + FILE_GAP;
  }
  const buf = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    buf.set(c, at);
    at += c.length;
  }
  return {
    buf,
    offset: Uint32Array.from(meta[0]),
    capLen: Uint32Array.from(meta[1]),
    wireLen: Uint32Array.from(meta[2]),
    linkType: Uint16Array.from(meta[3]),
    rel: Float64Array.from(meta[4]),
    srcAt: Int32Array.from(meta[5]),
    dstAt: Int32Array.from(meta[6]),
    ipv: Uint8Array.from(meta[7]),
    n: meta[0].length,
    files: paths.length,
    bytes: total,
    span: start,
  };
}

/**
 * The address mask of pass `k`: XOR into the first two bytes of every IPv4
 * address (a different /16 for 1,024 passes in a row, first octet changed in
 * its two low bits only: unicast stays unicast, 10/8 stays in 8/6) or into
 * bytes 2-3 of every IPv6 address. Pass 0 keeps the addresses.
 */
function passMask(k: number): number {
  const m = k % 1024;
  return ((m >> 8) << 8) | (m & 0xff);
}

/** Move the addresses of the buffer from pass mask `from` to pass mask `to`. */
function remap(c: Captures, from: number, to: number): void {
  const x = from ^ to, hi = x >> 8, lo = x & 0xff;
  if (x === 0) return;
  const b = c.buf;
  for (let i = 0; i < c.n; i++) {
    const s = c.srcAt[i];
    if (s < 0) continue;
    const d = c.dstAt[i];
    const k = c.ipv[i] === 6 ? 2 : 0;
    b[s + k] ^= hi;
    b[s + k + 1] ^= lo;
    b[d + k] ^= hi;
    b[d + k + 1] ^= lo;
  }
}

/** One pass over the in-memory captures, times moved to start at `base`. */
class ReplaySource implements PacketSource {
  #i = 0;
  #end = 0;
  readonly #c: Captures;
  readonly #base: number;
  constructor(c: Captures, base: number) {
    this.#c = c;
    this.#base = base;
    this.#end = Math.min(CHUNK, c.n);
  }
  next(pkt: RawPacket): boolean {
    if (this.#i >= this.#end) return false;
    const c = this.#c, i = this.#i++;
    pkt.buf = c.buf;
    pkt.offset = c.offset[i];
    pkt.capLen = c.capLen[i];
    pkt.wireLen = c.wireLen[i];
    pkt.linkType = c.linkType[i];
    pkt.ifIndex = 0;
    const t = this.#base + c.rel[i];
    const sec = Math.floor(t);
    pkt.tsSec = sec;
    pkt.tsNsec = Math.min(999_999_999, Math.round((t - sec) * 1e9));
    return true;
  }
  refill(): Promise<boolean> {
    if (this.#end >= this.#c.n) return Promise.resolve(false);
    this.#end = Math.min(this.#end + CHUNK, this.#c.n);
    return Promise.resolve(true);
  }
  close(): void {}
}

/** A sensor as main.ts wires it, with real text and JSON logs in `dir`. */
function sensor(dir: string) {
  const opts = parseOptions([
    "--read",
    "replay",
    "--log",
    `${dir}/sealert.log`,
    "--json",
    `${dir}/alerts.json`,
    "--quiet",
  ]);
  let sinkErrors = 0;
  const sinks = openSinks(opts, () => sinkErrors++);
  const counts = new Map<string, number>();
  const weirds = new Weirds();
  const classifier = new SoftEtherTcpDetector((ev: DetectionEvent) => {
    const key = `${ev.kind} ${ev.variant} ${ev.outcome}${ev.phase ? ` (${ev.phase})` : ""}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    sinks.all.write(ev);
  }, { weirds });
  const pipeline = new Pipeline([classifier], {
    maxFlows: opts.maxFlows,
    timeouts: { active: opts.tcpTimeout, udp: opts.udpTimeout },
  }, weirds);
  return {
    pipeline,
    counts,
    get sinkErrors() {
      return sinkErrors;
    },
    async close() {
      sinks.all.close();
      await sinks.drain();
    },
  };
}

function lines(path: string): number {
  try {
    const t = Deno.readTextFileSync(path);
    return t === "" ? 0 : t.trimEnd().split("\n").length;
  } catch {
    return 0;
  }
}

/** Memory after a forced GC (when `gc` is exposed). */
interface Memory {
  /** V8 heap used (bytes). */
  heapUsed: number;
  /** Resident set size (bytes). */
  rss: number;
}

function memory(): Memory {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) { for (let i = 0; i < 3; i++) gc(); }
  const m = Deno.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

/** Figures of a long run. */
export interface LongRunResult {
  /** Passes replayed through the one pipeline. */
  replays: number;
  /** Capture files per pass. */
  files: number;
  /** Packets per pass. */
  packetsPerPass: number;
  /** Packets handed to the pipeline in all. */
  packets: number;
  /** Frame bytes in all. */
  bytes: number;
  /** Flows the long-running table created, and those ended by idle timeout. */
  flows: { total: number; timedOut: number };
  /** Wall time of the replays (s). */
  seconds: number;
  /** Packet time the run spans (days). */
  packetDays: number;
  /** Memory after pass 1, at the middle and at the end (after forced GC). */
  start: Memory;
  /** Memory after half of the passes. */
  middle: Memory;
  /** Memory after the last pass. */
  end: Memory;
  /** Whether a GC could be forced (`--v8-flags=--expose-gc`). */
  gcForced: boolean;
  /** Alerts of one pass in a fresh pipeline, per kind/variant/outcome. */
  perPass: Record<string, number>;
  /** Alerts of the long run, same keys. */
  total: Record<string, number>;
  /** Lines of the text and JSON logs: one pass, long run. */
  logLines: { passText: number; passJson: number; text: number; json: number };
  /** Problems found (empty: counts exact and memory flat). */
  problems: string[];
}

/**
 * Replay the lab captures `replays` times through one pipeline (see the
 * module comment); logs go to a temporary directory removed afterwards.
 * `progress` is called after each pass.
 */
export async function longRun(
  replays: number,
  progress?: (pass: number) => void,
): Promise<LongRunResult> {
  const c = await loadCaptures();
  const dir = await Deno.makeTempDir({ prefix: "sealert-long-" });
  try {
    // One pass in a fresh pipeline: the reference.
    await Deno.mkdir(`${dir}/p`);
    const ref = sensor(`${dir}/p`);
    const t0 = 1_800_000_000; // 2027-01-15
    await ref.pipeline.run(new ReplaySource(c, t0));
    ref.pipeline.finish();
    await ref.close();

    await Deno.mkdir(`${dir}/long`);
    const s = sensor(`${dir}/long`);
    const period = c.span + FILE_GAP;
    let mask = 0;
    let start: Memory = memory(), middle: Memory = start;
    const began = performance.now();
    for (let k = 0; k < replays; k++) {
      const m = passMask(k);
      remap(c, mask, m);
      mask = m;
      await s.pipeline.run(new ReplaySource(c, t0 + k * period));
      if (k === 0) start = memory();
      if (k === Math.floor(replays / 2) - 1) middle = memory();
      progress?.(k + 1);
    }
    const end = memory();
    const seconds = (performance.now() - began) / 1000;
    const flows = { total: s.pipeline.flows.total, timedOut: s.pipeline.flows.timedOut };
    s.pipeline.finish();
    await s.close();
    remap(c, mask, 0);

    const perPass = Object.fromEntries([...ref.counts].sort());
    const total = Object.fromEntries([...s.counts].sort());
    const logLines = {
      passText: lines(`${dir}/p/sealert.log`),
      passJson: lines(`${dir}/p/alerts.json`),
      text: lines(`${dir}/long/sealert.log`),
      json: lines(`${dir}/long/alerts.json`),
    };
    const problems: string[] = [];
    const keys = new Set([...Object.keys(perPass), ...Object.keys(total)]);
    for (const key of keys) {
      const want = (perPass[key] ?? 0) * replays, got = total[key] ?? 0;
      if (got !== want) problems.push(`${key}: ${got} alerts, want ${want}`);
    }
    if (Object.keys(perPass).length === 0) problems.push("no alerts in one pass");
    if (logLines.text !== logLines.passText * replays) {
      problems.push(`text log: ${logLines.text} lines, want ${logLines.passText * replays}`);
    }
    if (logLines.json !== logLines.passJson * replays) {
      problems.push(`JSON log: ${logLines.json} lines, want ${logLines.passJson * replays}`);
    }
    if (ref.sinkErrors + s.sinkErrors > 0) problems.push("sink write errors");
    const MiB = 1 << 20;
    if (end.heapUsed > middle.heapUsed * 1.1 + 2 * MiB) {
      problems.push(`heap grew: middle ${mib(middle.heapUsed)}, end ${mib(end.heapUsed)}`);
    }
    if (end.rss > middle.rss * 1.1 + 8 * MiB) {
      problems.push(`RSS grew: middle ${mib(middle.rss)}, end ${mib(end.rss)}`);
    }
    return {
      replays,
      files: c.files,
      packetsPerPass: c.n,
      packets: s.pipeline.packets,
      bytes: c.bytes * replays,
      flows,
      seconds,
      packetDays: (replays * period) / 86400,
      start,
      middle,
      end,
      gcForced: typeof (globalThis as { gc?: unknown }).gc === "function",
      perPass,
      total,
      logLines,
      problems,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** The report printed by `deno task bench:long`. */
export function report(r: LongRunResult): string {
  const out = [
    `long run: ${r.replays} replays × ${r.files} files (${r.packetsPerPass} packets) = ` +
    `${r.packets} packets, ${(r.bytes / 1e9).toFixed(2)} GB, ${r.packetDays.toFixed(0)} days ` +
    `of packet time, in ${r.seconds.toFixed(1)} s (${
      (r.packets / r.seconds / 1e6).toFixed(2)
    } Mpps)`,
    `flows: ${r.flows.total} created, ${r.flows.timedOut} ended by idle timeout during the run`,
    `memory after forced GC${r.gcForced ? "" : " (NOT forced: run with --v8-flags=--expose-gc)"}:`,
  ];
  for (const [name, m] of [["start", r.start], ["middle", r.middle], ["end", r.end]] as const) {
    out.push(`  ${name.padEnd(6)} heap used ${mib(m.heapUsed).padStart(10)}   RSS ${mib(m.rss)}`);
  }
  out.push("alerts (one pass → long run):");
  for (const [key, n] of Object.entries(r.perPass)) {
    out.push(`  ${key.padEnd(42)} ${String(n).padStart(4)} × ${r.replays} = ${r.total[key] ?? 0}`);
  }
  const l = r.logLines;
  out.push(
    `log lines: text ${l.passText} × ${r.replays} = ${l.text}, JSON ${l.passJson} × ` +
      `${r.replays} = ${l.json}`,
  );
  out.push(r.problems.length === 0 ? "OK: counts exact, memory flat" : r.problems.join("\n"));
  return out.join("\n");
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--replays");
  const replays = i >= 0 ? Number(Deno.args[i + 1]) : 2000;
  const json = Deno.args.includes("--json");
  const r = await longRun(replays, (k) => {
    if (!json && (k % 100 === 0)) console.error(`pass ${k}/${replays}`);
  });
  console.log(json ? JSON.stringify(r) : report(r));
  Deno.exit(r.problems.length === 0 ? 0 : 1);
}
