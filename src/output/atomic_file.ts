/**
 * Files rewritten whole (the server inventory, the HTML report): written to a
 * temporary file in the same directory, flushed to disk, then renamed over
 * the old one, so a reader never sees a half-written file — it sees the old
 * version or the new one.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { errorReason, writeAllSync } from "./line_file.ts";
import { SinkError } from "./sink.ts";

const encoder = new TextEncoder();

/** The temporary file next to `path` (hidden, named after it and this process). */
function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${Deno.pid}.tmp`);
}

/** Removes `path`, ignoring any error (it may not exist). */
function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Not there, or cannot be removed: nothing more to do.
  }
}

/**
 * Checks at start that `path` can be rewritten: its directory exists and
 * takes a new file, and `path` is not a directory. `what` names the file in
 * the message ("server inventory").
 *
 * @throws {SinkError} `Cannot write <what> "<path>": <reason>`.
 */
export function checkRewritable(path: string, what: string): void {
  const fail = (reason: string) => new SinkError(`Cannot write ${what} "${path}": ${reason}`);
  const dir = dirname(path);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (e) {
    throw fail(
      e instanceof Deno.errors.NotFound
        ? `directory "${dir}" does not exist`
        : `directory "${dir}": ${errorReason(e)}`,
    );
  }
  if (!info.isDirectory) throw fail(`"${dir}" is not a directory`);
  try {
    if (Deno.statSync(path).isDirectory) throw fail("it is a directory");
  } catch (e) {
    if (e instanceof SinkError) throw e;
    // Not there yet: fine.
  }
  const tmp = tempPath(path);
  try {
    Deno.writeFileSync(tmp, new Uint8Array(0));
  } catch (e) {
    throw fail(errorReason(e));
  }
  removeQuietly(tmp);
}

/**
 * Replaces the content of `path` with `text` atomically: a temporary file
 * in the same directory is written, synced and renamed over `path`.
 *
 * @throws {SinkError} `Cannot write <what> "<path>": <reason>`; the old file is
 *   then left as it was and the temporary file removed.
 */
export function writeAtomic(path: string, text: string, what: string): void {
  const tmp = tempPath(path);
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    writeAllSync(file, encoder.encode(text));
    file.syncSync();
    file.close();
    file = undefined;
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      file?.close();
    } catch {
      // Already closed.
    }
    removeQuietly(tmp);
    throw new SinkError(`Cannot write ${what} "${path}": ${errorReason(e)}`);
  }
}
