/**
 * An append-only line file shared by the text and JSON log sinks: opened with
 * O_APPEND (never truncated, created if missing), one write call per whole
 * line, reopenable for logrotate. The path "-" means standard output.
 *
 * @module
 */

import { SinkError } from "./sink.ts";

const encoder = new TextEncoder();

/** Something with a synchronous `write`, like `Deno.FsFile` or `Deno.stdout`. */
interface SyncWriter {
  /** Writes some of `p`, returning how many bytes were written. */
  writeSync(p: Uint8Array): number;
}

/**
 * Turns a Deno or Node error into a short reason for a one-line message:
 * "Is a directory (os error 21): open '/x'" becomes "Is a directory".
 */
export function errorReason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const reason = text
    .replace(/\r?\n[\s\S]*$/, "")
    .replace(/: \w+ '[^']*'$/, "")
    .replace(/ \(os error \d+\)/, "")
    .trim();
  return reason === "" ? (err instanceof Error ? err.name : "unknown error") : reason;
}

/** Writes all of `bytes`, looping on partial writes. */
export function writeAllSync(w: SyncWriter, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    const n = w.writeSync(bytes.subarray(off));
    if (n <= 0) throw new Error("write returned 0 bytes");
    off += n;
  }
}

/** An append-only log file (or standard output for "-"), written one whole line at a time. */
export class LineFile {
  /** Path as given; "-" for standard output. */
  readonly path: string;
  #file: Deno.FsFile | null = null;
  #closed = false;

  /**
   * Opens `path` for appending, creating it if missing.
   *
   * @throws {SinkError} "Cannot open log file …" when it cannot be opened.
   */
  constructor(path: string) {
    this.path = path;
    if (path !== "-") this.#file = this.#open();
  }

  /** Whether this writes to standard output (path "-"). */
  get isStdout(): boolean {
    return this.path === "-";
  }

  #open(): Deno.FsFile {
    try {
      return Deno.openSync(this.path, { append: true, create: true });
    } catch (err) {
      throw new SinkError(`Cannot open log file "${this.path}": ${errorReason(err)}`);
    }
  }

  /**
   * Appends `line` plus "\n" with a single write call (looping only if the
   * kernel accepts part of it). Reopens the file first if an earlier
   * `reopen` failed.
   *
   * @throws {SinkError} "Cannot write to log file …" on any failure.
   */
  writeLine(line: string): void {
    if (this.#closed) throw new SinkError(`Cannot write to log file "${this.path}": closed`);
    const bytes = encoder.encode(line + "\n");
    if (this.isStdout) {
      try {
        writeAllSync(Deno.stdout, bytes);
      } catch (err) {
        throw new SinkError(`Cannot write to log file "-": ${errorReason(err)}`);
      }
      return;
    }
    this.#file ??= this.#open();
    const file = this.#file;
    let off = 0;
    try {
      while (off < bytes.length) {
        const n = file.writeSync(bytes.subarray(off));
        if (n <= 0) throw new Error("write returned 0 bytes");
        off += n;
      }
    } catch (err) {
      // Disk full mid-line: take the part written back, never leave a cut line.
      if (off > 0) {
        try {
          file.truncateSync(file.statSync().size - off);
        } catch {
          // Cannot take it back; the error below still says the write failed.
        }
      }
      throw new SinkError(`Cannot write to log file "${this.path}": ${errorReason(err)}`);
    }
  }

  /**
   * Closes and reopens the same path (after logrotate renamed the file).
   * If opening fails the error is thrown and the next `writeLine` retries.
   *
   * @throws {SinkError} "Cannot open log file …".
   */
  reopen(): void {
    if (this.#closed || this.isStdout) return;
    this.#release();
    this.#file = this.#open();
  }

  /** Closes the file (standard output stays open); safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
  }

  #release(): void {
    const f = this.#file;
    this.#file = null;
    if (f === null) return;
    try {
      f.close();
    } catch {
      // Already closed or invalid: nothing left to release.
    }
  }
}
