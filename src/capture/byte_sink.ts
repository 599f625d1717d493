/**
 * Destinations for the capture file writers: a file written with
 * synchronous writes, or memory (for tests and in-process fixtures).
 *
 * @module
 */

import { CaptureFileError } from "./errors.ts";

/** Where a capture writer's bytes go. `write` must consume `bytes` before returning. */
export interface ByteSink {
  /** Appends `bytes` (which the caller may overwrite afterwards). */
  write(bytes: Uint8Array): void;
  /** Finishes the output; safe to call twice. */
  close(): void;
}

/** A file created (or truncated) and written with synchronous writes. */
export class FileSink implements ByteSink {
  /** The path as given. */
  readonly path: string;
  #file: Deno.FsFile | null;

  /** Creates or truncates `path`; throws a one-line `CaptureFileError` on failure. */
  constructor(path: string) {
    this.path = path;
    try {
      this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
    } catch (e) {
      let reason: string;
      if (e instanceof Deno.errors.NotFound) reason = "no such directory";
      else if (e instanceof Deno.errors.PermissionDenied) reason = "permission denied";
      else if (e instanceof Deno.errors.NotCapable) {
        reason = "write access not granted (--allow-write)";
      } else if (e instanceof Deno.errors.IsADirectory) reason = "is a directory";
      else reason = e instanceof Error ? e.message : String(e);
      throw new CaptureFileError(`Cannot create capture file "${path}": ${reason}`, path);
    }
  }

  /** Writes all of `bytes`; throws a one-line `CaptureFileError` on failure. */
  write(bytes: Uint8Array): void {
    const file = this.#file;
    if (file === null) {
      throw new CaptureFileError(`Capture file "${this.path}" is closed`, this.path);
    }
    let done = 0;
    try {
      while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
    } catch (e) {
      throw new CaptureFileError(
        `Cannot write capture file "${this.path}": ${e instanceof Error ? e.message : String(e)}`,
        this.path,
      );
    }
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    const file = this.#file;
    this.#file = null;
    file?.close();
  }
}

/** Collects the written bytes in memory. */
export class MemorySink implements ByteSink {
  #chunks: Uint8Array[] = [];
  #length = 0;

  /** Appends a copy of `bytes`. */
  write(bytes: Uint8Array): void {
    this.#chunks.push(bytes.slice());
    this.#length += bytes.length;
  }

  /** Nothing to release. */
  close(): void {}

  /** Everything written so far, as one array. */
  bytes(): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(this.#length);
    let off = 0;
    for (const c of this.#chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}
