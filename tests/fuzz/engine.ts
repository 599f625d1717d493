/**
 * The fuzz targets: one mutated capture file through the product path
 * (`openCaptureFiles` → `Pipeline` with the whole detector set of
 * `createDetectors` → text, JSON and flow logs in a temporary directory), or
 * one round of mutated packets through `Pipeline.run` from an in-memory
 * source with the same detector set; each returns the failure it found, if
 * any, and the events it reached by kind. Every event is checked as it is
 * emitted and the detectors' bookkeeping at the end (`event_checks.ts`).
 * Also the corpus, the reproducer format and the replay.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { CaptureFileError } from "../../src/capture/errors.ts";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { type PacketSource, RawPacket } from "../../src/capture/raw_packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import { createDetectors, type DetectorSet } from "../../src/detect/detector_set.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { DedupSink } from "../../src/output/dedup.ts";
import { FlowLog } from "../../src/output/flow_log.ts";
import { JsonLinesSink } from "../../src/output/json_log.ts";
import { MultiSink } from "../../src/output/multi_sink.ts";
import { TextLogSink } from "../../src/output/text_log.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { buildFile } from "./file_mutators.ts";
import { EventChecker, JSON_TS, TEXT_LINE } from "./event_checks.ts";
import { buildRound, type Frame, parseFrame, type SeedCapture } from "./packet_mutators.ts";
import {
  checkParserCase,
  makeParserCase,
  type ParserCase,
  type ParserSeeds,
  parserSeeds,
} from "./parser_target.ts";
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

/**
 * Directories whose labelled captures (every `.pcap` a `*.tsv` label file of
 * theirs names) are packet seeds too: the footprints of the detector set
 * (VPN over ICMP / DNS, infrastructure contacts, OpenVPN / SSTP / certificate
 * faces) and their look-alikes.
 */
const LABELLED_SEED_DIRS = ["lab3", "lab4"];

/** The labelled captures of `LABELLED_SEED_DIRS`, sorted, each once. */
function labelledSeeds(): string[] {
  const names = new Set<string>();
  for (const dir of LABELLED_SEED_DIRS) {
    const base = `${ROOT}testdata/${dir}`;
    for (const e of [...Deno.readDirSync(base)].map((e) => e.name).sort()) {
      if (!e.endsWith(".tsv")) continue;
      for (const line of Deno.readTextFileSync(`${base}/${e}`).split("\n").slice(1)) {
        const file = line.split("\t")[0];
        if (!file.endsWith(".pcap")) continue;
        try {
          if (Deno.statSync(`${base}/${file}`).isFile) names.add(`${dir}/${file}`);
        } catch { /* labelled but not recorded (yet) */ }
      }
    }
  }
  return [...names].sort();
}

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
  /** Payloads of each parser of the parser target. */
  parsers: ParserSeeds;
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
  for (const name of [...PACKET_SEEDS, ...labelledSeeds()]) {
    const frames = await readFrames(`${ROOT}testdata/${name}`, maxFrames);
    captures.push({ name, frames: frames.map((frame) => ({ frame, pkt: parseFrame(frame) })) });
  }
  const rawFiles = RAW_FILE_SEEDS.map((name) => ({
    name,
    bytes: Deno.readFileSync(`${ROOT}testdata/${name}`),
  }));
  return { captures, rawFiles, parsers: parserSeeds(captures) };
}

/** A failure found by a target. */
export interface Failure {
  /** "exception", "invariant", "output", "hang", "memory". */
  kind: string;
  /** One-line description. */
  message: string;
  /** True for a known class owned elsewhere (see `knownClass`). */
  known: boolean;
}

/** What one input did: the failure, if any, and what it reached. */
export interface Outcome {
  /** The failure found (undefined: none). */
  failure?: Failure;
  /** Events (alerts, side flows, session ends, …) the detectors emitted. */
  alerts: number;
  /** Those events by kind (session-end records as "end"). */
  kinds: Record<string, number>;
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

/** Known class, owned elsewhere: issue 10 item 2 (packet times beyond a JS Date). */
function knownClass(message: string): boolean {
  return /NaN|Invalid time value|not a number of seconds|ts without seconds/.test(message);
}

function fail(kind: string, message: string): Failure {
  return { kind, message: message.replace(/\s+/g, " ").slice(0, 400), known: knownClass(message) };
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
    // A name off the wire (last field) may spell anything: NaN is looked for before it.
    if (line.replace(/, name .*\)$/, ")").includes("NaN")) {
      return fail("output", `text log: NaN: ${line}`);
    }
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

/**
 * The invariants of the pipeline and of every detector of the set (the
 * classifier's counters here, the others' against the events seen in
 * `checker`).
 */
function checkInvariants(
  p: Pipeline,
  set: DetectorSet,
  checker: EventChecker,
  ended: boolean,
): Failure | undefined {
  const d = set.classifier;
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
  const other = checker.final(set, ended);
  return other === undefined ? undefined : fail("invariant", other);
}

/** What a run's emit does besides: counts and checks every event. */
function watcher(then?: (ev: DetectionEvent) => void) {
  const checker = new EventChecker();
  const w = {
    checker,
    alerts: 0,
    failure: undefined as Failure | undefined,
    emit: (ev: DetectionEvent) => {
      w.alerts++;
      try {
        const problem = checker.check(ev);
        if (problem !== undefined) w.failure ??= fail("output", problem);
      } catch (e) {
        w.failure ??= fail("exception", `checking an event: ${(e as Error).message}`);
      }
      then?.(ev);
    },
  };
  return w;
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
  let damaged = false;
  const sinks = new MultiSink([
    new TextLogSink({ path: textPath, quiet: true }),
    new DedupSink(new JsonLinesSink(jsonPath), { windowSeconds: 300 }),
  ], { onError: (e) => failure ??= fail("exception", `sink: ${e.name}: ${e.message}`) });
  const flowLog = new FlowLog(flowPath);
  const weirds = new Weirds();
  const w = watcher((ev) => sinks.write(ev));
  const set = createDetectors(w.emit, weirds);
  const pipeline = new Pipeline(set.detectors, {
    maxFlows: 4096,
    onFlowEnd: (table, slot) => flowLog.write(table, slot),
  }, weirds);
  const invariants = (ended: boolean) => checkInvariants(pipeline, set, w.checker, ended);
  try {
    let src;
    try {
      src = await openCaptureFiles(paths, { bufferSize: 64 * 1024 });
    } catch (e) {
      if (e instanceof CaptureFileError) {
        return { failure: checkDamage(e), alerts: 0, kinds: {}, damaged: true };
      }
      throw e;
    }
    try {
      await pipeline.run(src, () => failure ??= w.failure ?? invariants(false));
    } catch (e) {
      if (!(e instanceof CaptureFileError)) throw e;
      damaged = true;
      failure ??= checkDamage(e);
    } finally {
      src.close();
    }
    pipeline.finish();
    failure ??= w.failure ?? invariants(true);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    failure ??= fail("exception", `${err.name}: ${err.message} ${topFrame(err)}`);
  } finally {
    sinks.close();
    flowLog.close();
  }
  failure ??= w.failure ?? checkLogs(
    Deno.readTextFileSync(textPath),
    Deno.readTextFileSync(jsonPath),
    Deno.readTextFileSync(flowPath),
  );
  return { failure, alerts: w.alerts, kinds: w.checker.kinds, damaged };
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

/** Runs one packet round through the pipeline; resolves to the failure, if any. */
export async function runPacketInput(input: PacketInput): Promise<Outcome> {
  const rng = new Rng(input.feedSeed, "feed");
  const weirds = new Weirds();
  let failure: Failure | undefined;
  const w = watcher();
  const set = createDetectors(w.emit, weirds, { maxAnalyzers: rng.pick([2, 64, 1024]) });
  const det = set.classifier;
  const pipeline = new Pipeline(set.detectors, {
    maxFlows: rng.pick([8, 256, 4096]),
    defrag: rng.chance(0.3) ? { maxDatagrams: 4, maxMemory: 70 * 1024 } : undefined,
  }, weirds);
  const invariants = (ended: boolean) => checkInvariants(pipeline, set, w.checker, ended);
  // Live mode's clock: packet time passing without packets (timers, probe decisions).
  const clock = new Rng(input.feedSeed, "tick");
  const tick = () => {
    if (clock.chance(0.3)) {
      pipeline.tick(pipeline.flows.now + clock.pick([0, 0.2, 1, 2.5, 6, 31, 400]));
    }
  };
  try {
    if (rng.chance(0.1)) {
      const raw = new RawPacket();
      const src = new MemorySource(input.frames, rng);
      do {
        while (src.next(raw)) {
          pipeline.handle(raw);
          if (det.live < 0 || set.faces.live < 0) failure ??= invariants(false);
        }
        tick();
      } while (await src.refill());
    } else {
      await pipeline.run(
        new MemorySource(input.frames, rng),
        () => {
          tick();
          failure ??= w.failure ?? invariants(false);
        },
      );
    }
    failure ??= w.failure ?? invariants(false);
    pipeline.finish();
    failure ??= w.failure ?? invariants(true);
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
  return { failure, alerts: w.alerts, kinds: w.checker.kinds, damaged: false };
}

// ---- parsers ----

/** Parser calls per parser input. */
export const PARSER_BATCH = 200;

/** A parser input: a batch of parser calls. */
export interface ParserInput {
  /** The calls. */
  cases: ParserCase[];
}

/** Builds parser input `index` of the run `seed`. */
export function makeParserInput(corpus: Corpus, seed: number, index: number): ParserInput {
  const rng = Rng.forInput(seed, "parsers", index);
  const cases: ParserCase[] = [];
  for (let i = 0; i < PARSER_BATCH; i++) cases.push(makeParserCase(rng, corpus.parsers));
  return { cases };
}

/** Runs a parser input; the failure, if any, names its case (`failedCase`). */
export function runParserInput(input: ParserInput): Outcome & { failedCase?: number } {
  for (let i = 0; i < input.cases.length; i++) {
    const c = input.cases[i];
    let problem: Failure | undefined;
    try {
      const p = checkParserCase(c);
      if (p !== undefined) problem = fail("invariant", `${c.parser}: ${p}`);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      problem = fail("exception", `${c.parser}: ${err.name}: ${err.message} ${topFrame(err)}`);
    }
    if (problem !== undefined) {
      return { failure: problem, alerts: 0, kinds: {}, damaged: false, failedCase: i };
    }
  }
  return { alerts: 0, kinds: {}, damaged: false };
}

// ---- reproducers ----

/** A fuzz target. */
export type Target = "file" | "packets" | "parsers";

/** A reproducer as written to tests/fuzz/crashes/ (JSON). */
export interface Reproducer {
  /** "file", "packets" or "parsers". */
  target: Target;
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
  /** Parser target: the calls (a failure's own call only, when known). */
  cases?: {
    parser: string;
    data: string;
    off: number;
    len: number;
    cuts: number[];
    mutations: string[];
  }[];
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

/** The reproducer of a parser input (only case `only` when given). */
export function parserReproducer(
  seed: number,
  index: number,
  input: ParserInput,
  failure: Failure,
  only?: number,
): Reproducer {
  const cases = only === undefined ? input.cases : [input.cases[only]];
  return {
    target: "parsers",
    seed,
    index,
    failure,
    mutations: cases.flatMap((c) => c.mutations),
    cases: cases.map((c) => ({
      parser: c.parser,
      data: b64(c.data),
      off: c.off,
      len: c.len,
      cuts: c.cuts,
      mutations: c.mutations,
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
  if (rep.target === "parsers") {
    return runParserInput({ cases: rep.cases!.map((c) => ({ ...c, data: unb64(c.data) })) });
  }
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
