/**
 * Fuzz worker: runs the inputs `from, from + step, …` below `to` of one
 * target, telling the main thread when each begins (so that it can spot a
 * hang and terminate the worker) and what each found. Reproducers of
 * failures are written here, where the input is at hand.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import {
  type Corpus,
  type Failure,
  fileReproducer,
  loadCorpus,
  makeFileInput,
  makePacketInput,
  packetReproducer,
  runFileInput,
  runPacketInput,
  writeReproducer,
} from "./engine.ts";

/** The job a worker is given. */
export interface WorkerJob {
  /** Which fuzzer. */
  target: "file" | "packets";
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

async function run(job: WorkerJob): Promise<void> {
  corpus ??= await loadCorpus();
  Deno.mkdirSync(job.tmpDir, { recursive: true });
  for (let i = job.from; i < job.to; i += job.step) {
    self.postMessage({ type: "begin", index: i } satisfies WorkerMessage);
    const t0 = performance.now();
    let failure: Failure | undefined;
    let packets = 0, alerts = 0, damaged = false;
    let repro: string | undefined;
    if (job.target === "file") {
      const input = makeFileInput(corpus, job.seed, i);
      ({ failure, alerts, damaged } = await runFileInput(input, job.tmpDir));
      const ms = performance.now() - t0;
      if (failure === undefined && ms > job.timeLimitMs) {
        failure = { kind: "hang", message: `input took ${Math.round(ms)} ms`, known: false };
      }
      if (failure !== undefined && keep(failure)) {
        repro = writeReproducer(job.crashDir, fileReproducer(job.seed, i, input, failure));
      }
    } else {
      const input = makePacketInput(corpus, job.seed, i, job.maxPackets);
      packets = input.frames.length;
      ({ failure, alerts } = await runPacketInput(input));
      const ms = performance.now() - t0;
      if (failure === undefined && ms > job.timeLimitMs) {
        failure = { kind: "hang", message: `round took ${Math.round(ms)} ms`, known: false };
      }
      if (failure !== undefined && keep(failure)) {
        repro = writeReproducer(job.crashDir, packetReproducer(job.seed, i, input, failure));
      }
    }
    self.postMessage(
      { type: "done", index: i, packets, alerts, damaged, failure, repro } satisfies WorkerMessage,
    );
  }
  self.postMessage({ type: "finished" } satisfies WorkerMessage);
}

/** Reproducers: the first 3 of each signature (1 of the known class) per worker. */
function keep(f: Failure): boolean {
  const sig = signature(f);
  const n = written.get(sig) ?? 0;
  written.set(sig, n + 1);
  return n < (f.known ? 1 : 3);
}

self.onmessage = (e: MessageEvent<WorkerJob>) => {
  run(e.data).catch((err) => {
    console.error(`fuzz worker: ${err?.stack ?? err}`);
    self.close();
  });
};
