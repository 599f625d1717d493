/**
 * Offline mode: read capture files in order as one stream through the
 * pipeline. A file that cannot be opened is reported and left out; a damaged
 * file is analysed up to the damage, reported, and reading goes on with the
 * next file. Outputs are opened only once a file could be opened, so a run
 * that reads nothing creates no log file.
 *
 * @module
 */

import { CaptureFileError } from "../capture/errors.ts";
import { openCaptureFiles } from "../capture/file_source.ts";
import type { SoftEtherTcpDetector } from "../detect/softether_tcp_detector.ts";
import type { Pipeline } from "../pipeline.ts";
import { fileSummary, summary } from "./summary.ts";
import { ProgressBar } from "./progress.ts";

/** What an offline run analyses with: built once the input is open. */
interface OfflineRun {
  /** The pipeline packets go through. */
  pipeline: Pipeline;
  /** The detector, for its counters. */
  classifier: SoftEtherTcpDetector;
}

/** Result of an offline run. */
interface OfflineResult {
  /** 0, or 1 when a file was damaged or could not be opened. */
  exitCode: number;
  /** The files that were damaged or could not be opened, in the order found. */
  problems: CaptureFileError[];
}

/**
 * Run over `paths`. `start` builds the pipeline (and opens the outputs) once
 * a file could be opened; it is never called when none can be. Each problem
 * is printed on stderr when found ("sealert: Capture file … is damaged at
 * byte N …"); the summary, unless `quiet`, ends with the files' fate.
 */
export async function runOffline(
  paths: string[],
  opts: { quiet: boolean; progress: boolean },
  start: () => OfflineRun,
): Promise<OfflineResult> {
  const started = performance.now();
  const problems: CaptureFileError[] = [];
  let bar: ProgressBar | undefined;
  const report = (e: CaptureFileError) => {
    problems.push(e);
    bar?.done();
    console.error(`sealert: ${e.message}`);
  };
  const src = await openCaptureFiles(paths, { onUnreadable: report });
  let run: OfflineRun;
  try {
    if (src.paths.length === 0) return { exitCode: 1, problems };
    run = start();
    bar = opts.progress ? ProgressBar.forStderr(src.totalBytes) : undefined;
    const { pipeline, classifier } = run;
    for (;;) {
      try {
        await pipeline.run(src, () => bar?.update(src.bytesRead, pipeline, classifier));
        break;
      } catch (e) {
        if (!(e instanceof CaptureFileError)) throw e;
        report(e);
        src.skipFile(); // go on with the next file
      }
    }
  } finally {
    src.close();
    bar?.done();
  }
  run.pipeline.finish();
  if (!opts.quiet) {
    const seconds = (performance.now() - started) / 1000;
    const lines = [summary(run.pipeline, run.classifier, seconds)];
    lines.push(...fileSummary(paths.length, src.filesDone, problems));
    console.error(lines.join("\n"));
  }
  return { exitCode: problems.length > 0 ? 1 : 0, problems };
}
