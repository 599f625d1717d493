/**
 * The fuzz targets: one mutated capture file through the product path
 * (`openCaptureFiles` → `Pipeline` with `SoftEtherTcpDetector` → text, JSON
 * and flow logs in a temporary directory), or one round of mutated packets
 * through `Pipeline.run` from an in-memory source; each returns the
 * failure it found, if any. Also the corpus, the reproducer format and the
 * replay.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { CaptureFileError } from "../../src/capture/errors.ts";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { type PacketSource, RawPacket } from "../../src/capture/raw_packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { SoftEtherTcpDetector } from "../../src/detect/softether_tcp_detector.ts";
import { DedupSink } from "../../src/output/dedup.ts";
import { FlowLog } from "../../src/output/flow_log.ts";
import { formatJsonLine, JsonLinesSink } from "../../src/output/json_log.ts";
import { MultiSink } from "../../src/output/multi_sink.ts";
import { formatAlertLine, TextLogSink } from "../../src/output/text_log.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { buildFile } from "./file_mutators.ts";
import { buildRound, type Frame, parseFrame, type SeedCapture } from "./packet_mutators.ts";
import { Rng } from "./rng.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Lab captures the packet fuzzer replays (every analyzer has traffic in them). */
const PACKET_SEEDS = [
  "lab/direct_443.pcap",
  "lab/http_proxy.pcap",
  "lab/socks4.pcap",
  "lab/socks5.pcap",
  "lab/ssh_forward.pcap",
  "lab/admin.pcap",
  "lab/fail_password.pcap",
  "lab/fail_hub.pcap",
  "lab/encrypt_off.pcap",
  "lab/multi_tcp.pcap",
  "lab/idle.pcap",
  "lab/neg_https_h2.pcap",
  "lab/neg_openvpn_tcp.pcap",
  "lab/neg_socks4_https.pcap",
  "lab/neg_socks5_https.pcap",
  "lab/neg_squid_https.pcap",
  "lab/neg_ssh_interactive.pcap",
  "lab2/hostname_http_proxy.pcap",
  "lab2/long_account_http_proxy.pcap",
  "lab2/multi_session4.pcap",
  "lab2/neg_ssh_websocket.pcap",
  "lookalike/soap_noalpn.pcap",
  "capture/tcp_conversation.pcapng",
];

/** Whole files the file fuzzer also mutates byte-wise (real writers' layouts). */
const RAW_FILE_SEEDS = [
  "capture/tcp_conversation.pcapng",
  "capture/tcp_conversation.pcapng.gz",
  "capture/tcp_conversation_ns_be.pcap",
  "capture/tcp_conversation_us.pcap",
  "golden/direct_443.pcapng",
  "lab/admin.pcap",
  "lab/neg_https_longlived.pcap",
];

/** What a worker needs: seed captures (parsed) and raw seed files. */
export interface Corpus {
  /** Packet seeds (frames up to the cap per capture). */
  captures: SeedCapture[];
  /** Raw files for byte-level file mutation. */
  rawFiles: { name: string; bytes: Uint8Array }[];
}

async function readFrames(path: string, max: number): Promise<Frame[]> {
  const src = await openCaptureFiles([path]);
  const raw = new RawPacket();
  const out: Frame[] = [];
  try {
    do {
      while (out.length < max && src.next(raw)) {
        out.push({
          linkType: raw.linkType,
          data: raw.buf.slice(raw.offset, raw.offset + raw.capLen),
          wireLen: raw.wireLen,
          tsSec: raw.tsSec,
          tsNsec: raw.tsNsec,
        });
      }
    } while (out.length < max && await src.refill());
  } finally {
    src.close();
  }
  return out;
}

/** Loads the corpus: up to `maxFrames` frames of each packet seed. */
export async function loadCorpus(maxFrames = 1500): Promise<Corpus> {
  const captures: SeedCapture[] = [];
  for (const name of PACKET_SEEDS) {
    const frames = await readFrames(`${ROOT}testdata/${name}`, maxFrames);
    captures.push({ name, frames: frames.map((frame) => ({ frame, pkt: parseFrame(frame) })) });
  }
  const rawFiles = RAW_FILE_SEEDS.map((name) => ({
    name,
    bytes: Deno.readFileSync(`${ROOT}testdata/${name}`),
  }));
  return { captures, rawFiles };
}

/** A failure found by a target. */
export interface Failure {
  /** "exception", "invariant", "output", "hang", "memory". */
  kind: string;
  /** One-line description. */
  message: string;
  /** True for the class known from issue 10 (packet times beyond a JS Date). */
  known: boolean;
}

/** What one input did: the failure, if any, and what it reached. */
export interface Outcome {
  /** The failure found (undefined: none). */
  failure?: Failure;
  /** Alerts (and session ends) the detector emitted. */
  alerts: number;
  /** The input ended in a clean capture-file damage error. */
  damaged: boolean;
}

/** A file input: its file(s) and how they were made. */
export interface FileInput {
  /** The files' bytes (read in order as one stream). */
  files: Uint8Array[];
  /** Mutations applied. */
  mutations: string[];
}

/** Builds file input `index` of the run `seed`. */
export function makeFileInput(corpus: Corpus, seed: number, index: number): FileInput {
  const rng = Rng.forInput(seed, "file", index);
  const log: string[] = [];
  const one = (): Uint8Array => {
    if (rng.chance(0.15)) {
      const raw = rng.pick(corpus.rawFiles);
      log.push(`raw ${raw.name}`);
      let b = raw.bytes;
      if (rng.chance(0.9)) b = mutateRaw(rng, b, log);
      return b;
    }
    const cap = rng.pick(corpus.captures);
    const start = rng.chance(0.7) ? 0 : rng.int(0, Math.max(0, cap.frames.length - 1));
    const n = rng.pick([1, 10, 50, 150, 300]);
    log.push(`frames ${cap.name}[${start}+${n}]`);
    return buildFile(rng, cap.frames.slice(start, start + n).map((f) => f.frame), log);
  };
  const files = [one()];
  if (rng.chance(0.1)) files.push(one());
  return { files, mutations: log };
}

function mutateRaw(rng: Rng, b: Uint8Array, log: string[]): Uint8Array {
  const out = b.slice();
  const n = rng.int(1, 8);
  for (let i = 0; i < n; i++) {
    const at = rng.chance(0.5)
      ? rng.int(0, Math.min(out.length - 1, 200))
      : rng.int(0, out.length - 1);
    out[at] = rng.chance(0.5) ? rng.byte() : out[at] ^ (1 << rng.int(0, 7));
    log.push(`rawbyte@${at}`);
  }
  if (rng.chance(0.3)) {
    const cut = rng.int(0, out.length);
    log.push(`rawcut=${cut}`);
    return out.subarray(0, cut);
  }
  return out;
}

const TEXT_LINE =
  /^\[[+-]?\d{4,6}\/\d\d\/\d\d \d\d:\d\d:\d\d\] SoftEther (TCP |HTTP Proxy |SOCKS4 Proxy |SOCKS5 Proxy |SSH |Admin )?Connection (Attempt )?Detected \(client \S+, server \S+\)$/;
const JSON_TS = /^[+-]?\d{4,6}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

/** Known class of issue 10 item 2 (packet times beyond a JS Date), owned by another engineer. */
function knownTime(message: string): boolean {
  return /NaN|Invalid time value|not a number of seconds|ts without seconds/.test(message);
}

function fail(kind: string, message: string): Failure {
  return { kind, message: message.replace(/\s+/g, " ").slice(0, 400), known: knownTime(message) };
}

/** Checks the text, JSON and flow logs a run wrote. */
function checkLogs(text: string, json: string, flows: string): Failure | undefined {
  for (const [name, body] of [["text", text], ["json", json], ["flow", flows]]) {
    if (body.length > 0 && !body.endsWith("\n")) {
      return fail("output", `${name} log: last line cut`);
    }
  }
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.includes("NaN")) return fail("output", `text log: NaN: ${line}`);
    if (!TEXT_LINE.test(line)) return fail("output", `text log: malformed line: ${line}`);
  }
  for (const line of json.split("\n")) {
    if (line === "") continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch {
      return fail("output", `json log: not JSON: ${line}`);
    }
    if (typeof rec.ts !== "string" || !JSON_TS.test(rec.ts)) {
      return fail("output", `json log: bad ts (ts without seconds / NaN?): ${String(rec.ts)}`);
    }
  }
  for (const line of flows.split("\n")) {
    if (line === "") continue;
    try {
      JSON.parse(line);
    } catch {
      return fail("output", `flow log: not JSON: ${line}`);
    }
  }
  return undefined;
}

/** A failure-checking wrapper around the detector's invariants. */
function checkInvariants(
  p: Pipeline,
  d: SoftEtherTcpDetector,
  ended: boolean,
): Failure | undefined {
  if (d.live < 0) return fail("invariant", `detector live count negative: ${d.live}`);
  if (d.stats.errors > 0) {
    return fail("invariant", `analyzer threw (detector errors ${d.stats.errors})`);
  }
  if (p.flows.active < 0 || p.flows.active > p.flows.maxFlows) {
    return fail("invariant", `flow count out of range: ${p.flows.active}`);
  }
  const df = p.defrag;
  if (df !== undefined && (df.heldBytes < 0 || df.inProgress < 0)) {
    return fail(
      "invariant",
      `defrag counters negative: ${df.heldBytes} bytes, ${df.inProgress} datagrams`,
    );
  }
  if (ended && d.live !== 0) return fail("invariant", `inspections left after finish: ${d.live}`);
  if (ended && p.flows.active !== 0) {
    return fail("invariant", `flows left after finish: ${p.flows.active}`);
  }
  return undefined;
}

/** Runs one file input through the product path in `dir`; resolves to the failure, if any. */
export async function runFileInput(input: FileInput, dir: string): Promise<Outcome> {
  const paths = input.files.map((b, i) => {
    const path = `${dir}/in${i}.cap`;
    Deno.writeFileSync(path, b);
    return path;
  });
  const textPath = `${dir}/sealert.log`,
    jsonPath = `${dir}/alerts.json`,
    flowPath = `${dir}/flows.json`;
  for (const p of [textPath, jsonPath, flowPath]) {
    try {
      Deno.removeSync(p);
    } catch { /* not there */ }
  }
  let failure: Failure | undefined;
  let alerts = 0, damaged = false;
  const sinks = new MultiSink([
    new TextLogSink({ path: textPath, quiet: true }),
    new DedupSink(new JsonLinesSink(jsonPath), { windowSeconds: 300 }),
  ], { onError: (e) => failure ??= fail("exception", `sink: ${e.name}: ${e.message}`) });
  const flowLog = new FlowLog(flowPath);
  const weirds = new Weirds();
  const det = new SoftEtherTcpDetector((ev) => {
    alerts++;
    sinks.write(ev);
  }, { weirds });
  const pipeline = new Pipeline([det], {
    maxFlows: 4096,
    onFlowEnd: (table, slot) => flowLog.write(table, slot),
  }, weirds);
  try {
    let src;
    try {
      src = await openCaptureFiles(paths, { bufferSize: 64 * 1024 });
    } catch (e) {
      if (e instanceof CaptureFileError) return { failure: checkDamage(e), alerts, damaged: true };
      throw e;
    }
    try {
      await pipeline.run(src, () => failure ??= checkInvariants(pipeline, det, false));
    } catch (e) {
      if (!(e instanceof CaptureFileError)) throw e;
      damaged = true;
      failure ??= checkDamage(e);
    } finally {
      src.close();
    }
    pipeline.finish();
    failure ??= checkInvariants(pipeline, det, true);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    failure ??= fail("exception", `${err.name}: ${err.message} ${topFrame(err)}`);
  } finally {
    sinks.close();
    flowLog.close();
  }
  failure ??= checkLogs(
    Deno.readTextFileSync(textPath),
    Deno.readTextFileSync(jsonPath),
    Deno.readTextFileSync(flowPath),
  );
  return { failure, alerts, damaged };
}

function topFrame(e: Error): string {
  const line = (e.stack ?? "").split("\n").find((l) => l.includes("/src/"));
  return line ? `at ${line.trim().replace(/^at /, "").replace(/^.*\/src\//, "src/")}` : "";
}

function checkDamage(e: CaptureFileError): Failure | undefined {
  if (e.message.includes("\n")) {
    return fail("output", `capture error message has several lines: ${e.message}`);
  }
  if (!Number.isSafeInteger(e.offset) || e.offset < -1) {
    return fail("output", `capture error with a bad offset ${e.offset}: ${e.message}`);
  }
  if (/NaN|undefined|\[object/.test(e.message)) {
    return fail("output", `capture error message: ${e.message}`);
  }
  return undefined;
}

/** An in-memory packet source delivering frames in chunks of random sizes (refill boundaries). */
class MemorySource implements PacketSource {
  readonly #frames: Frame[];
  readonly #bounds: number[];
  #i = 0;
  #chunk = 0;

  constructor(frames: Frame[], rng: Rng) {
    this.#frames = frames;
    this.#bounds = [];
    let at = 0;
    while (at < frames.length) {
      at += rng.pick([1, 7, 64, 65, 200, 1000]);
      this.#bounds.push(Math.min(at, frames.length));
    }
  }

  next(pkt: RawPacket): boolean {
    if (this.#i >= (this.#bounds[this.#chunk] ?? 0)) return false;
    const f = this.#frames[this.#i++];
    pkt.buf = f.data;
    pkt.offset = 0;
    pkt.capLen = f.data.length;
    pkt.wireLen = f.wireLen;
    pkt.tsSec = f.tsSec;
    pkt.tsNsec = f.tsNsec;
    pkt.linkType = f.linkType;
    pkt.ifIndex = 0;
    return true;
  }

  refill(): Promise<boolean> {
    this.#chunk++;
    return Promise.resolve(this.#chunk < this.#bounds.length);
  }

  close(): void {}
}

/** A packet round: frames and how they were made. */
export interface PacketInput {
  /** Frames in order. */
  frames: Frame[];
  /** Mutations applied. */
  mutations: string[];
  /** Seed of the chunking and of the run/handle choice. */
  feedSeed: number;
}

/** Builds packet round `index` of the run `seed`. */
export function makePacketInput(
  corpus: Corpus,
  seed: number,
  index: number,
  maxPackets = 1000,
): PacketInput {
  const rng = Rng.forInput(seed, "packets", index);
  const r = buildRound(rng, corpus.captures, maxPackets);
  return { frames: r.frames, mutations: r.mutations, feedSeed: rng.u32() };
}

function checkEvent(ev: DetectionEvent): Failure | undefined {
  if (!Number.isFinite(ev.ts)) return fail("output", `event with non-finite ts ${ev.ts}`);
  if (ev.phase === "end") return undefined;
  const line = formatAlertLine(ev, 0);
  if (line.includes("NaN") || !TEXT_LINE.test(line)) return fail("output", `alert line: ${line}`);
  const json = formatJsonLine(ev);
  JSON.parse(json);
  return undefined;
}

/** Runs one packet round through the pipeline; resolves to the failure, if any. */
export async function runPacketInput(input: PacketInput): Promise<Outcome> {
  const rng = new Rng(input.feedSeed, "feed");
  const weirds = new Weirds();
  let failure: Failure | undefined;
  let alerts = 0;
  const det = new SoftEtherTcpDetector((ev) => {
    alerts++;
    try {
      failure ??= checkEvent(ev);
    } catch (e) {
      failure ??= fail("exception", `formatting an alert: ${(e as Error).message}`);
    }
  }, { weirds, maxAnalyzers: rng.pick([2, 64, 1024]) });
  const pipeline = new Pipeline([det], {
    maxFlows: rng.pick([8, 256, 4096]),
    defrag: rng.chance(0.3) ? { maxDatagrams: 4, maxMemory: 70 * 1024 } : undefined,
  }, weirds);
  try {
    if (rng.chance(0.1)) {
      const raw = new RawPacket();
      const src = new MemorySource(input.frames, rng);
      do {
        while (src.next(raw)) {
          pipeline.handle(raw);
          if (det.live < 0) failure ??= checkInvariants(pipeline, det, false);
        }
      } while (await src.refill());
    } else {
      await pipeline.run(
        new MemorySource(input.frames, rng),
        () => failure ??= checkInvariants(pipeline, det, false),
      );
    }
    failure ??= checkInvariants(pipeline, det, false);
    pipeline.finish();
    failure ??= checkInvariants(pipeline, det, true);
    if (pipeline.packets !== input.frames.length) {
      failure ??= fail(
        "invariant",
        `pipeline counted ${pipeline.packets} of ${input.frames.length} packets`,
      );
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    failure ??= fail("exception", `${err.name}: ${err.message} ${topFrame(err)}`);
  }
  return { failure, alerts, damaged: false };
}

// ---- reproducers ----

/** A reproducer as written to tests/fuzz/crashes/ (JSON). */
export interface Reproducer {
  /** "file" or "packets". */
  target: "file" | "packets";
  /** Run seed and input index (the input can also be rebuilt from them). */
  seed: number;
  /** Input index. */
  index: number;
  /** The failure found. */
  failure: Failure;
  /** Mutations applied. */
  mutations: string[];
  /** File target: the files, base64. */
  files?: string[];
  /** Packet target: the frames. */
  frames?: { link: number; wire: number; sec: number; nsec: number; data: string }[];
  /** Packet target: seed of the feeding (chunk sizes, handle vs run, table sizes). */
  feedSeed?: number;
  /** A committed regression whose fix is pending elsewhere: where and what. */
  open?: string;
}

function b64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function unb64(s: string): Uint8Array {
  const t = atob(s);
  const b = new Uint8Array(t.length);
  for (let i = 0; i < t.length; i++) b[i] = t.charCodeAt(i);
  return b;
}

/** The reproducer of a file input. */
export function fileReproducer(
  seed: number,
  index: number,
  input: FileInput,
  failure: Failure,
): Reproducer {
  return {
    target: "file",
    seed,
    index,
    failure,
    mutations: input.mutations,
    files: input.files.map(b64),
  };
}

/** The reproducer of a packet round. */
export function packetReproducer(
  seed: number,
  index: number,
  input: PacketInput,
  failure: Failure,
): Reproducer {
  return {
    target: "packets",
    seed,
    index,
    failure,
    mutations: input.mutations,
    feedSeed: input.feedSeed,
    frames: input.frames.map((f) => ({
      link: f.linkType,
      wire: f.wireLen,
      sec: f.tsSec,
      nsec: f.tsNsec,
      data: b64(f.data),
    })),
  };
}

/** Writes `rep` to `dir`; returns the path. */
export function writeReproducer(dir: string, rep: Reproducer): string {
  Deno.mkdirSync(dir, { recursive: true });
  const path = `${dir}/${rep.target}-s${rep.seed}-${rep.index}.json`;
  Deno.writeTextFileSync(path, JSON.stringify(rep, null, 1) + "\n");
  return path;
}

/** Replays a reproducer file; resolves to the failure it shows now (undefined: fixed). */
export async function replay(path: string, dir: string): Promise<Outcome> {
  const rep = JSON.parse(Deno.readTextFileSync(path)) as Reproducer;
  if (rep.target === "file") {
    return await runFileInput({ files: rep.files!.map(unb64), mutations: rep.mutations }, dir);
  }
  const frames: Frame[] = rep.frames!.map((f) => ({
    linkType: f.link,
    wireLen: f.wire,
    tsSec: f.sec,
    tsNsec: f.nsec,
    data: unb64(f.data),
  }));
  return await runPacketInput({ frames, mutations: rep.mutations, feedSeed: rep.feedSeed! });
}
