/**
 * `deno task fuzz`: in-process mutation fuzzer of sealert, deterministic by
 * seed. Two fuzzers run in worker processes (one per core):
 *
 * - files: mutated capture files (pcap, pcapng, gzip) through
 *   `openCaptureFiles` → `Pipeline` → text, JSON and flow logs; a run must
 *   complete or end in a clean `CaptureFileError`, and the logs must be
 *   whole, well-formed lines without NaN;
 * - packets: rounds of structure-aware mutations of real lab packets through
 *   `Pipeline.run` / `handle`; nothing may escape, no invariant may break.
 *
 * Every input has a time bound (a worker process stuck on one is killed and the
 * input reported as a hang) and a memory bound (the RSS of the worker process
 * running it, sampled).
 * A failure writes a reproducer to tests/fuzz/crashes/; replay it with
 * `deno task fuzz --replay FILE`.
 *
 * ```sh
 * deno task fuzz                                  # full run: 10,000 files, 10,000,000 packets
 * deno task fuzz --seed 7 --files 500 --packets 200000
 * deno task fuzz --replay tests/fuzz/crashes/packets-s1-1234.json
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import {
  type Failure,
  fileReproducer,
  loadCorpus,
  makeFileInput,
  makePacketInput,
  makeParserInput,
  packetReproducer,
  parserReproducer,
  replay,
  type Target,
  writeReproducer,
} from "./engine.ts";
import { minimize } from "./minimize.ts";
import type { WorkerJob, WorkerMessage } from "./worker.ts";

/** Options of a fuzz run. */
export interface FuzzOptions {
  /** Run seed. */
  seed: number;
  /** File inputs to run. */
  files: number;
  /** Packets to feed (at least; whole rounds). */
  packets: number;
  /** Parser inputs to run (each a batch of parser calls). */
  parsers: number;
  /** Worker threads. */
  workers: number;
  /** Per-input time bound, ms. */
  timeLimitMs: number;
  /** RSS bound, bytes. */
  rssLimit: number;
  /** Reproducer directory. */
  crashDir: string;
  /** Most frames per packet round. */
  maxPackets: number;
  /** Print progress lines. */
  verbose: boolean;
  /** V8 old-space limit of each worker process, MiB. */
  heapMiB: number;
}

/** One failure as counted by the run. */
export interface FoundFailure {
  /** Which fuzzer. */
  target: Target;
  /** Input index. */
  index: number;
  /** What happened. */
  failure: Failure;
  /** Reproducer written (not for every repeat of a signature). */
  repro?: string;
}

/** Figures of a run. */
export interface FuzzResult {
  /** File inputs run. */
  files: number;
  /** Packet rounds run. */
  rounds: number;
  /** Packets fed. */
  packets: number;
  /** Parser calls made (parser inputs × their batch). */
  parserCalls: number;
  /** Events emitted over all inputs: how deep the inputs reached. */
  alerts: number;
  /** Those events by kind (session-end records as "end"). */
  kinds: Record<string, number>;
  /** File inputs that ended in a clean capture-file damage error. */
  damaged: number;
  /** Failures that are not known (crashes: exceptions, invariants, bad output, memory). */
  crashes: number;
  /** Inputs over the time bound. */
  hangs: number;
  /** Failures of the known class (issue 10 item 2: packet times beyond a JS Date). */
  known: number;
  /** Every failure. */
  found: FoundFailure[];
  /** Peak RSS seen, bytes. */
  peakRss: number;
  /** Wall time, seconds. */
  wallSeconds: number;
}

const HERE = fileURLToPath(new URL(".", import.meta.url));
const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url));

/** Defaults of the full run. */
export const DEFAULTS: FuzzOptions = {
  seed: 1,
  files: 10_000,
  packets: 10_000_000,
  parsers: 10_000,
  workers: 2,
  timeLimitMs: 2000,
  rssLimit: 1536 * 1024 * 1024,
  crashDir: `${HERE}crashes`,
  maxPackets: 1000,
  verbose: true,
  heapMiB: 512,
};

interface Running {
  child: Deno.ChildProcess;
  finished?: boolean;
  job: WorkerJob;
  current: number; // index being run, -1 none
  started: number;
  done: boolean;
}

/** Runs the fuzzers; resolves to the figures. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const t0 = performance.now();
  const res: FuzzResult = {
    files: 0,
    rounds: 0,
    packets: 0,
    parserCalls: 0,
    alerts: 0,
    kinds: {},
    damaged: 0,
    crashes: 0,
    hangs: 0,
    known: 0,
    found: [],
    peakRss: 0,
    wallSeconds: 0,
  };
  const tmpRoot = Deno.makeTempDirSync({ prefix: "sealert-fuzz-" });
  let lastReport = performance.now();
  const children = new Set<Deno.ChildProcess>();
  const sample = () => {
    let rss = Deno.memoryUsage().rss;
    for (const c of children) rss += childRss(c.pid);
    if (rss > res.peakRss) res.peakRss = rss;
    return rss;
  };
  const record = (f: FoundFailure) => {
    res.found.push(f);
    if (f.failure.known) res.known++;
    else if (f.failure.kind === "hang") res.hangs++;
    else res.crashes++;
    if (opts.verbose && (!f.failure.known || res.known <= 3)) {
      console.error(
        `fuzz: ${f.target} #${f.index}: ${f.failure.known ? "known " : ""}${f.failure.kind}: ` +
          `${f.failure.message}${
            f.repro
              ? `\n  reproducer: ${f.repro}\n  replay: deno task fuzz --replay ${f.repro}`
              : ""
          }`,
      );
    }
  };
  let corpus: Awaited<ReturnType<typeof loadCorpus>> | undefined;
  // An input the main thread gave up on (hang, memory): rebuilt from the seed, written here.
  const rebuild = async (target: Target, index: number, failure: Failure) => {
    corpus ??= await loadCorpus();
    const rep = target === "file"
      ? fileReproducer(opts.seed, index, makeFileInput(corpus, opts.seed, index), failure)
      : target === "parsers"
      ? parserReproducer(opts.seed, index, makeParserInput(corpus, opts.seed, index), failure)
      : packetReproducer(
        opts.seed,
        index,
        makePacketInput(corpus, opts.seed, index, opts.maxPackets),
        failure,
      );
    return writeReproducer(opts.crashDir, rep);
  };

  /** Runs indices [from, to) of `target` over the workers. */
  const phase = (target: Target, from: number, to: number) =>
    new Promise<void>((resolve) => {
      const running: Running[] = [];
      const start = (job: WorkerJob): Running => {
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-read",
            "--allow-write",
            "--allow-env",
            `--v8-flags=--max-old-space-size=${opts.heapMiB}`,
            WORKER,
            JSON.stringify(job),
          ],
          stdin: "null",
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        const r: Running = { child, job, current: -1, started: 0, done: false };
        children.add(child);
        child.status.then(() => children.delete(child));
        const onMessage = (m: WorkerMessage) => {
          if (r.done) return;
          if (m.type === "begin") {
            r.current = m.index;
            r.started = performance.now();
          } else if (m.type === "done") {
            r.current = -1;
            res.alerts += m.alerts;
            for (const [k, n] of Object.entries(m.kinds)) res.kinds[k] = (res.kinds[k] ?? 0) + n;
            if (m.damaged) res.damaged++;
            if (target === "file") res.files++;
            else if (target === "parsers") res.parserCalls += m.packets;
            else res.rounds++, res.packets += m.packets;
            if (m.failure) record({ target, index: m.index, failure: m.failure, repro: m.repro });
          } else r.finished = true;
        };
        (async () => {
          let buf = "";
          for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
            buf += chunk;
            let nl;
            while ((nl = buf.indexOf("\n")) >= 0) {
              onMessage(JSON.parse(buf.slice(0, nl)));
              buf = buf.slice(nl + 1);
            }
          }
          const status = await child.status;
          if (!r.done && !r.finished) {
            record({
              target,
              index: r.current,
              failure: {
                kind: "exception",
                message: `worker process died (exit ${status.code}${
                  status.signal ? `, ${status.signal}` : ""
                })`,
                known: false,
              },
            });
            // Carry on after the input it died on.
            if (r.current >= 0 && r.current + job.step < job.to) {
              running.push(start({ ...job, from: r.current + job.step }));
            }
          }
          r.done = true;
          check();
        })();
        return r;
      };
      // Restarts under way: the phase is not over while one is (its replacement worker is
      // started before the reproducer is rebuilt, so that the killed worker's end does not
      // end the phase early).
      let restarting = 0;
      const restartAfter = async (r: Running, failure: Failure) => {
        const index = r.current;
        restarting++;
        r.done = true;
        try {
          r.child.kill("SIGKILL");
        } catch { /* gone already */ }
        if (target === "file") res.files++;
        else if (target === "packets") res.rounds++;
        if (index + r.job.step < r.job.to) {
          running.push(start({ ...r.job, from: index + r.job.step }));
        }
        try {
          const repro = await rebuild(target, index, failure);
          record({ target, index, failure, repro });
        } finally {
          restarting--;
        }
        check();
      };
      let busy = false;
      const timer = setInterval(async () => {
        if (busy) return;
        busy = true;
        try {
          const now = performance.now();
          const total = sample(); // the figure: this process and its workers
          for (const r of [...running]) {
            // The bound is per input: the worker process running it (this
            // process may host other work, e.g. the test runner's other tests).
            const rss = childRss(r.child.pid);
            if (r.done || r.current < 0) continue;
            if (now - r.started > opts.timeLimitMs * 1.5) {
              await restartAfter(r, {
                kind: "hang",
                message: `no result after ${
                  Math.round(now - r.started)
                } ms (worker process killed)`,
                known: false,
              });
            } else if (rss > opts.rssLimit) {
              await restartAfter(r, {
                kind: "memory",
                message: `RSS ${Math.round(rss / 2 ** 20)} MiB above the limit of ${
                  Math.round(opts.rssLimit / 2 ** 20)
                } MiB`,
                known: false,
              });
            }
          }
          if (opts.verbose && now - lastReport > 10_000) {
            lastReport = now;
            console.error(
              `fuzz: ${
                ((now - t0) / 1000).toFixed(0)
              } s: files ${res.files}, rounds ${res.rounds}, ` +
                `packets ${res.packets}, parser calls ${res.parserCalls}, crashes ${res.crashes}, ` +
                `hangs ${res.hangs}, known ${res.known}, ` +
                `rss ${Math.round(total / 2 ** 20)} MiB`,
            );
          }
        } finally {
          busy = false;
        }
      }, 200);
      const check = () => {
        if (restarting === 0 && running.every((r) => r.done)) {
          clearInterval(timer);
          resolve();
        }
      };
      for (let w = 0; w < opts.workers && from + w < to; w++) {
        running.push(start({
          target,
          seed: opts.seed,
          from: from + w,
          step: opts.workers,
          to,
          crashDir: opts.crashDir,
          tmpDir: `${tmpRoot}/${target}-${from}-${w}`,
          timeLimitMs: opts.timeLimitMs,
          maxPackets: opts.maxPackets,
        }));
      }
      if (running.length === 0) {
        clearInterval(timer);
        resolve();
      }
    });

  try {
    if (opts.files > 0) await phase("file", 0, opts.files);
    // Packet rounds in blocks until the packet count is reached (the blocks, hence the
    // inputs run, depend on the seed only).
    let next = 0;
    while (res.packets < opts.packets) {
      const block = Math.max(
        opts.workers,
        Math.ceil((opts.packets - res.packets) / (opts.maxPackets * 0.5)),
      );
      await phase("packets", next, next + block);
      next += block;
    }
    if (opts.parsers > 0) await phase("parsers", 0, opts.parsers);
  } finally {
    Deno.removeSync(tmpRoot, { recursive: true });
  }
  sample();
  res.wallSeconds = (performance.now() - t0) / 1000;
  return res;
}

/** Resident set of process `pid` in bytes (Linux /proc; 0 elsewhere or when gone). */
function childRss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Event kinds in the order the figures list them. */
const KIND_ORDER = [
  "vpn",
  "admin",
  "end",
  "udp_accel",
  "dns_probe",
  "icmp_probe",
  "nbns",
  "infrastructure",
  "server",
];

/** The end-of-run figures as text. */
export function figures(r: FuzzResult): string {
  return [
    `files:    ${r.files} (${r.damaged} ended in a capture-file damage error)`,
    `packets:  ${r.packets} (${r.rounds} rounds)`,
    `parsers:  ${r.parserCalls} calls (DER, DNS, Pack, OpenVPN packet and framer, TLS flight, SNI, HTTP, SHA-1)`,
    `events:   ${r.alerts} (emitted by the detectors over all inputs: ${
      KIND_ORDER.filter((k) => r.kinds[k] !== undefined).map((k) => `${k} ${r.kinds[k]}`)
        .join(", ")
    })`,
    `crashes:  ${r.crashes}`,
    `hangs:    ${r.hangs}`,
    `known:    ${r.known} (NaN dates in a log: the packet-time class of issue 10, refused as damage since)`,
    `peak RSS: ${Math.round(r.peakRss / 2 ** 20)} MiB`,
    `wall:     ${r.wallSeconds.toFixed(1)} s`,
  ].join("\n");
}

const USAGE =
  `Usage: deno task fuzz [--seed N] [--files N] [--packets N] [--parsers N] [--workers N]
                      [--time-limit SECONDS] [--rss-limit MIB] [--max-round N]
                      [--crash-dir DIR] [--strict]
       deno task fuzz --replay FILE
       deno task fuzz --minimize FILE [OUT]   (a packet-round reproducer: fewer frames)
Exit code 1 when a crash or hang was found (--strict: the known class too).`;

async function main(args: string[]): Promise<number> {
  const opts = { ...DEFAULTS };
  let strict = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const num = () => {
      const v = args[++i];
      if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) throw new Error(`${a} needs a number`);
      return Number(v);
    };
    if (a === "--replay") {
      const path = args[++i];
      if (path === undefined) throw new Error("--replay needs a FILE");
      const dir = Deno.makeTempDirSync({ prefix: "sealert-replay-" });
      try {
        const t = performance.now();
        const { failure: f } = await replay(path, dir);
        const ms = Math.round(performance.now() - t);
        const rep = JSON.parse(Deno.readTextFileSync(path));
        console.log(`recorded: ${rep.failure.kind}: ${rep.failure.message}`);
        console.log(
          `mutations: ${rep.mutations.slice(0, 20).join(" | ")}${
            rep.mutations.length > 20 ? " …" : ""
          }`,
        );
        console.log(
          f
            ? `now:      ${f.known ? "known " : ""}${f.kind}: ${f.message} (${ms} ms)`
            : `now:      passes (${ms} ms)`,
        );
        return f ? 1 : 0;
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    } else if (a === "--minimize") {
      const path = args[++i];
      if (path === undefined) throw new Error("--minimize needs a FILE");
      const out = args[i + 1]?.startsWith("--") === false ? args[++i] : path;
      const rep = await minimize(path, (s) => console.error(s));
      Deno.writeTextFileSync(out, JSON.stringify(rep, null, 1) + "\n");
      console.log(`minimized: ${rep.frames?.length ?? 0} frames written to ${out}`);
      return 0;
    } else if (a === "--seed") opts.seed = num();
    else if (a === "--files") opts.files = num();
    else if (a === "--packets") opts.packets = num();
    else if (a === "--parsers") opts.parsers = num();
    else if (a === "--workers") opts.workers = Math.max(1, num());
    else if (a === "--time-limit") opts.timeLimitMs = num() * 1000;
    else if (a === "--rss-limit") opts.rssLimit = num() * 2 ** 20;
    else if (a === "--max-round") opts.maxPackets = Math.max(1, num());
    else if (a === "--crash-dir") opts.crashDir = args[++i];
    else if (a === "--strict") strict = true;
    else if (a === "-h" || a === "--help") {
      console.log(USAGE);
      return 0;
    } else {
      console.error(`fuzz: unknown argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  console.error(
    `fuzz: seed ${opts.seed}, ${opts.files} files, ${opts.packets} packets, ` +
      `${opts.parsers} parser batches, ${opts.workers} workers, ` +
      `time bound ${opts.timeLimitMs} ms per input, RSS bound ${
        Math.round(opts.rssLimit / 2 ** 20)
      } MiB`,
  );
  const r = await runFuzz(opts);
  console.log(figures(r));
  return r.crashes + r.hangs + (strict ? r.known : 0) > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
