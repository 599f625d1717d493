/**
 * Live mode (being wired to the libpcap binding).
 *
 * @module
 */
import type { Options } from "./args.ts";
import type { Pipeline } from "../pipeline.ts";
import type { SoftEtherClassifier } from "../detect/softether_classifier.ts";
import type { MultiSink } from "../output/multi_sink.ts";

/** Device list text. */
export function listDevicesText(): string {
  return "";
}

/** Live capture. */
export function runLive(
  _o: Options,
  _p: Pipeline,
  _c: SoftEtherClassifier,
  _s: MultiSink,
): Promise<number> {
  return Promise.resolve(2);
}
