/**
 * Worker of `evasion_eval.ts --jobs N`: evaluates one labelled capture per
 * message (`{ label, transforms, seed, tmpDir }`) and answers
 * `{ result }` or `{ error }`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import type { Label } from "./evaluate.ts";
import { evaluateFile } from "./evasion_eval.ts";

self.onmessage = async (
  e: MessageEvent<{ label: Label; transforms: string[]; seed: number; tmpDir: string }>,
) => {
  try {
    const { label, transforms, seed, tmpDir } = e.data;
    self.postMessage({ result: await evaluateFile(label, transforms, seed, tmpDir) });
  } catch (err) {
    self.postMessage({ error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
};
