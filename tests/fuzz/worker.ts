/**
 * Fuzz worker process: runs the inputs `from, from + step, …` below `to` of
 * one target (the job is its JSON argument), telling the parent on stdout
 * (one JSON message a line) when each begins — so that the parent can spot
 * a hang and kill the process (a Deno Worker stuck in a loop cannot be
 * terminated) — and what each found. Reproducers of failures are written
 * here, where the input is at hand.
 *
 * @module
 */

import {
  type Corpus,
  type Failure,
  fileReproducer,
  loadCorpus,
  makeFileInput,
  makePacketInput,
  makeParserInput,
  packetReproducer,
  parserReproducer,
  runFileInput,
  runPacketInput,
  runParserInput,
  type Target,
  writeReproducer,
} from "./engine.ts";

/** The job a worker is given. */
export interface WorkerJob {
  /** Which fuzzer. */
  target: Target;
  /** Run seed. */
  seed: number;
  /** First input index. */
  from: number;
  /** Index stride (the number of workers). */
  step: number;
  /** End of the index range (exclusive). */
  to: number;
  /** Where reproducers go. */
  crashDir: string;
  /** Scratch directory of this worker (file target). */
  tmpDir: string;
  /** Per-input time bound in ms (an input slower than this is reported as a hang). */
  timeLimitMs: number;
  /** Most frames per packet round. */
  maxPackets: number;
}

/** Messages a worker posts. */
export type WorkerMessage =
  | { type: "begin"; index: number }
  | {
    type: "done";
    index: number;
    packets: number;
    alerts: number;
    kinds: Record<string, number>;
    damaged: boolean;
    failure?: Failure;
    repro?: string;
  }
  | { type: "finished" };

let corpus: Corpus | undefined;
const written = new Map<string, number>();

/** Numbers stripped: one signature per kind of failure. */
function signature(f: Failure): string {
  return `${f.kind}:${f.message.replace(/\d+/g, "#").slice(0, 120)}`;
}

const out = new TextEncoder();

function post(m: WorkerMessage): void {
  const b = out.encode(JSON.stringify(m) + "\n");
  let off = 0;
  while (off < b.length) off += Deno.stdout.writeSync(b.subarray(off));
}

async function run(job: WorkerJob): Promise<void> {
  corpus ??= await loadCorpus();
  Deno.mkdirSync(job.tmpDir, { recursive: true });
  for (let i = job.from; i < job.to; i += job.step) {
    post({ type: "begin", index: i } satisfies WorkerMessage);
    let t0 = performance.now();
    let failure: Failure | undefined;
    let packets = 0, alerts = 0, damaged = false;
    let kinds: Record<string, number> = {};
    let repro: string | undefined;
    if (job.target === "file") {
      const input = makeFileInput(corpus, job.seed, i);
      t0 = performance.now(); // the bound is the product's time, not the mutators'
      ({ failure, alerts, kinds, damaged } = await runFileInput(input, job.tmpDir));
      const ms = performance.now() - t0;
      if (failure === undefined && ms > job.timeLimitMs) {
        failure = { kind: "hang", message: `input took ${Math.round(ms)} ms`, known: false };
      }
      if (failure !== undefined && keep(failure)) {
        repro = writeReproducer(job.crashDir, fileReproducer(job.seed, i, input, failure));
      }
    } else if (job.target === "parsers") {
      const input = makeParserInput(corpus, job.seed, i);
      t0 = performance.now();
      packets = input.cases.length;
      const out = runParserInput(input);
      failure = out.failure;
      const ms = performance.now() - t0;
      if (failure === undefined && ms > job.timeLimitMs) {
        failure = { kind: "hang", message: `parser batch took ${Math.round(ms)} ms`, known: false };
      }
      if (failure !== undefined && keep(failure)) {
        repro = writeReproducer(
          job.crashDir,
          parserReproducer(job.seed, i, input, failure, out.failedCase),
        );
      }
    } else {
      const input = makePacketInput(corpus, job.seed, i, job.maxPackets);
      t0 = performance.now();
      packets = input.frames.length;
      ({ failure, alerts, kinds } = await runPacketInput(input));
      const ms = performance.now() - t0;
      if (failure === undefined && ms > job.timeLimitMs) {
        failure = { kind: "hang", message: `round took ${Math.round(ms)} ms`, known: false };
      }
      if (failure !== undefined && keep(failure)) {
        repro = writeReproducer(job.crashDir, packetReproducer(job.seed, i, input, failure));
      }
    }
    post(
      {
        type: "done",
        index: i,
        packets,
        alerts,
        kinds,
        damaged,
        failure,
        repro,
      } satisfies WorkerMessage,
    );
  }
  post({ type: "finished" } satisfies WorkerMessage);
}

/** Reproducers: the first 3 of each signature (1 of the known class) per worker. */
function keep(f: Failure): boolean {
  const sig = signature(f);
  const n = written.get(sig) ?? 0;
  written.set(sig, n + 1);
  return n < (f.known ? 1 : 3);
}

if (import.meta.main) {
  try {
    await run(JSON.parse(Deno.args[0]) as WorkerJob);
  } catch (err) {
    console.error(`fuzz worker: ${(err as Error)?.stack ?? err}`);
    Deno.exit(3);
  }
}
