/**
 * Offline mode: read capture files in order as one stream through the
 * pipeline. A damaged file: everything before the damage is analysed, the
 * flows are ended and their alerts written, then the error is reported.
 *
 * @module
 */

import { CaptureFileError } from "../capture/errors.ts";
import { openCaptureFiles } from "../capture/file_source.ts";
import type { SoftEtherTcpDetector } from "../detect/softether_tcp_detector.ts";
import type { Pipeline } from "../pipeline.ts";
import { summary } from "./summary.ts";
import { ProgressBar } from "./progress.ts";

/** Result of an offline run. */
interface OfflineResult {
  /** Process exit code: 0, or 1 when a file was damaged. */
  exitCode: number;
  /** The damage, when there was one. */
  error?: CaptureFileError;
}

/** Run the pipeline over `paths`; prints the summary on stderr unless `quiet`. */
export async function runOffline(
  paths: string[],
  pipeline: Pipeline,
  classifier: SoftEtherTcpDetector,
  opts: { quiet: boolean; progress: boolean },
): Promise<OfflineResult> {
  const started = performance.now();
  const src = await openCaptureFiles(paths);
  const bar = opts.progress ? ProgressBar.forStderr(src.totalBytes) : undefined;
  let error: CaptureFileError | undefined;
  try {
    await pipeline.run(src, () => bar?.update(src.bytesRead, pipeline, classifier));
  } catch (e) {
    if (!(e instanceof CaptureFileError)) throw e;
    error = e;
  } finally {
    src.close();
    bar?.done();
  }
  pipeline.finish();
  if (!opts.quiet) {
    console.error(summary(pipeline, classifier, (performance.now() - started) / 1000));
  }
  return error === undefined ? { exitCode: 0 } : { exitCode: 1, error };
}
