/**
 * Buffered byte input for the offline capture readers.
 *
 * A {@linkcode ByteInput} is a window `buf[pos .. end)` over the bytes of a
 * capture file (decompressed, for gzip). The format readers parse records in
 * place at `pos` and advance it; {@linkcode ByteInput.fill} keeps the
 * unconsumed tail (an unfinished record) in front of more input. A record
 * bigger than a buffer gets a buffer of its own (rare, counted in
 * {@linkcode ByteInput.grows}).
 *
 * Plain files and pipes are read ahead (two alternating buffers; the next
 * one is read asynchronously, on Deno's I/O thread, while the current one is
 * analysed); gzip files are decompressed as a stream by `node:zlib`
 * into one buffer. Either way filling is asynchronous.
 *
 * @module
 */

import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { CaptureFileError } from "./errors.ts";

/**
 * Default size of a read (one buffer-full), in bytes: 4 MiB measured best
 * with read-ahead (fewer asynchronous reads than 1 MiB; 8 MiB no faster).
 */
export const DEFAULT_BUFFER_SIZE = 4 << 20;

/** Smallest read buffer accepted, in bytes (smaller requests are raised to it). */
const MIN_BUFFER_SIZE = 4096;

/**
 * Size of the compressed chunks fed to the gzip decompressor, in bytes. The
 * decompressor is pulled (stream back-pressure): it reads compressed input
 * only as its output is consumed, so a pathologically compressible file
 * (deflate expands up to ~1032x) cannot make it claim memory.
 */
const GZIP_READ_CHUNK = 64 * 1024;

/** Size of the decompressor's output chunks, in bytes. */
const GZIP_OUT_CHUNK = 256 * 1024;

/** A buffered, refillable window over the bytes of one capture file. */
export abstract class ByteInput {
  /** The read buffer; valid data is `buf[pos .. end)`. */
  buf: Uint8Array;
  /** A DataView over `buf`, re-created only when the buffer is replaced. */
  view: DataView;
  /** Offset in `buf` of the first unconsumed byte. */
  pos = 0;
  /** Offset in `buf` just past the last valid byte. */
  end = 0;
  /** Offset in the (decompressed) file of `buf[0]`. */
  base = 0;
  /** True once the underlying input is exhausted (or failed). */
  eof = false;
  /** Number of times the buffer had to grow to hold one record. */
  grows = 0;
  /**
   * A read or decompression failure, kept until the bytes buffered before it
   * are consumed (every valid packet before the damage is delivered first).
   */
  failure = "";
  /** The path as given by the user; used in error messages. */
  readonly path: string;
  /** Size of the file on disk in bytes (0 when unknown, e.g. a pipe). */
  readonly size: number;
  /** True when the file is gzip-compressed (offsets are then decompressed offsets). */
  readonly compressed: boolean;

  /** Creates the window with an empty buffer of `bufferSize` bytes. */
  constructor(path: string, size: number, bufferSize: number, compressed: boolean) {
    this.path = path;
    this.size = size;
    this.compressed = compressed;
    this.buf = new Uint8Array(Math.max(MIN_BUFFER_SIZE, bufferSize | 0));
    this.view = new DataView(this.buf.buffer);
  }

  /** Bytes of the file on disk read so far (compressed bytes for gzip). */
  abstract get rawBytesRead(): number;

  /** Releases the file handle; safe to call twice. */
  abstract close(): void;

  /**
   * Keeps the unconsumed tail (bytes from `pos`) in front of more input,
   * with room for `need` bytes from `pos`. Resolves false when the input is
   * exhausted and no byte could be added.
   */
  abstract fill(need?: number): Promise<boolean>;

  /** Fills until at least `n` bytes are buffered from `pos`; false if the input ends first. */
  async ensure(n: number): Promise<boolean> {
    while (this.end - this.pos < n) {
      if (!(await this.fill(n))) return false;
    }
    return true;
  }

  /** Error for a record cut short by the end of the file at stream offset `offset`. */
  truncated(offset: number, detail: string): CaptureFileError {
    return new CaptureFileError(
      `Capture file "${this.path}" is truncated at ${this.#at(offset)} (${detail})`,
      this.path,
      offset,
    );
  }

  /** Error for a damaged record starting at stream offset `offset`. */
  damaged(offset: number, detail: string): CaptureFileError {
    return new CaptureFileError(
      `Capture file "${this.path}" is damaged at ${this.#at(offset)} (${detail})`,
      this.path,
      offset,
    );
  }

  /** Error for the pending read/decompression failure at stream offset `offset`. */
  failed(offset: number): CaptureFileError {
    return this.damaged(offset, this.failure);
  }

  #at(offset: number): string {
    return `${this.compressed ? "decompressed byte" : "byte"} ${offset}`;
  }
}

/**
 * Bytes of an unfinished record carried over to the front of the next buffer
 * (larger records move to a buffer of their own, counted in `grows`).
 */
const CARRY_MAX = 128 * 1024;

/**
 * A plain (uncompressed) file or pipe, read ahead: while the packets of one
 * buffer are analysed, the next buffer-full is being read by an
 * asynchronous read, which Deno performs on another thread — the kernel's
 * copy out of the page cache overlaps the analysis instead of preceding it.
 * Two buffers alternate; each starts with a carry area where the unfinished
 * record at the end of the previous buffer is copied, so every record is
 * parsed in place in one buffer.
 */
class PlainByteInput extends ByteInput {
  #file: Deno.FsFile | null;
  #read: number;
  readonly #chunk: number;
  #spare: Uint8Array;
  #ahead: Promise<number | null> | null = null; // read in flight into #spare

  constructor(path: string, size: number, bufferSize: number, file: Deno.FsFile, head: Uint8Array) {
    const chunk = Math.max(MIN_BUFFER_SIZE, bufferSize | 0);
    super(path, size, CARRY_MAX + chunk, false);
    this.#chunk = chunk;
    this.#spare = new Uint8Array(CARRY_MAX + chunk);
    this.#file = file;
    // The stream starts at the end of the carry area (base: offset of buf[0]).
    this.buf.set(head, CARRY_MAX);
    this.pos = CARRY_MAX;
    this.end = CARRY_MAX + head.length;
    this.base = -CARRY_MAX;
    this.#read = head.length;
  }

  get rawBytesRead(): number {
    return this.#read;
  }

  /**
   * Takes the buffer-full read ahead (reading it now the first time), puts
   * the unconsumed tail in front of it, reads on synchronously only when one
   * record needs more than that, and starts reading the next buffer-full.
   */
  override async fill(need = 0): Promise<boolean> {
    if (this.eof) return false;
    if (this.#ahead === null) this.#readAhead();
    let n: number | null;
    try {
      n = await this.#ahead;
    } catch (e) {
      n = this.#failed(e);
    }
    this.#ahead = null;
    if (n === null) {
      this.eof = true;
      return false;
    }
    this.#read += n;
    const tail = this.end - this.pos;
    const fresh = this.#spare;
    const normal = CARRY_MAX + this.#chunk;
    if (tail <= CARRY_MAX) {
      fresh.set(this.buf.subarray(this.pos, this.end), CARRY_MAX - tail);
      const old = this.buf;
      this.base += this.pos - (CARRY_MAX - tail);
      this.#use(fresh, CARRY_MAX - tail, CARRY_MAX + n);
      this.#spare = old.length === normal ? old : new Uint8Array(normal);
    } else {
      // A record larger than the carry area: a buffer of its own.
      const big = new Uint8Array(tail + n + this.#chunk);
      big.set(this.buf.subarray(this.pos, this.end));
      big.set(fresh.subarray(CARRY_MAX, CARRY_MAX + n), tail);
      this.base += this.pos;
      this.#use(big, 0, tail + n);
      this.grows++;
    }
    // One record longer than a buffer-full: read on, synchronously, into this buffer.
    while (this.end - this.pos < need && !this.eof) this.#readNow(need);
    if (!this.eof) this.#readAhead();
    return true;
  }

  /** A read failed: keep the reason (reported once the bytes before it are consumed); no bytes. */
  #failed(e: unknown): null {
    this.failure = `read error: ${(e as Error).message}`;
    return null;
  }

  #use(buf: Uint8Array, pos: number, end: number): void {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
    this.end = end;
  }

  #readAhead(): void {
    const file = this.#file;
    if (file === null) {
      this.#ahead = Promise.resolve(null);
      return;
    }
    const p = file.read(this.#spare.subarray(CARRY_MAX, CARRY_MAX + this.#chunk));
    p.catch(() => {}); // a read cut short by close() is never awaited
    this.#ahead = p;
  }

  #readNow(need: number): void {
    const file = this.#file;
    if (file === null) {
      this.eof = true;
      return;
    }
    if (this.end === this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.pos + need));
      bigger.set(this.buf.subarray(0, this.end));
      this.#use(bigger, this.pos, this.end);
      this.grows++;
    }
    let n: number | null;
    try {
      n = file.readSync(this.buf.subarray(this.end));
    } catch (e) {
      n = this.#failed(e);
    }
    if (n === null) {
      this.eof = true;
      return;
    }
    this.end += n;
    this.#read += n;
  }

  close(): void {
    const file = this.#file;
    this.#file = null;
    this.eof = true;
    if (file !== null) {
      try {
        file.close();
      } catch {
        // already closed
      }
    }
  }
}

/**
 * A gzip file, decompressed as a stream by `node:zlib` (measured 1.5 x the
 * speed of `DecompressionStream` here); concatenated gzip members are one
 * stream, as gzip(1) reads them.
 */
class GzipByteInput extends ByteInput {
  #file: Deno.FsFile | null;
  #chunks: AsyncIterator<Uint8Array>;
  #source: Readable;
  #pending: Uint8Array | null = null;
  #pendingOff = 0;
  #read: number;

  constructor(
    path: string,
    size: number,
    bufferSize: number,
    file: Deno.FsFile,
    head: Uint8Array<ArrayBuffer>,
  ) {
    super(path, size, bufferSize, true);
    this.#file = file;
    this.#read = head.length;
    let first: Uint8Array | null = head;
    // Compressed bytes are read on demand, one chunk per request of the decompressor.
    this.#source = new Readable({
      highWaterMark: 0,
      read: () => {
        if (first !== null) {
          this.#source.push(first);
          first = null;
          return;
        }
        const f = this.#file;
        const chunk = new Uint8Array(GZIP_READ_CHUNK);
        let n: number | null = null;
        try {
          n = f === null ? null : f.readSync(chunk);
        } catch (e) {
          this.#source.destroy(e as Error);
          return;
        }
        if (n === null) {
          this.#source.push(null);
          return;
        }
        this.#read += n;
        this.#source.push(chunk.subarray(0, n));
      },
    });
    const gunzip = createGunzip({ chunkSize: GZIP_OUT_CHUNK });
    this.#source.on("error", (e) => gunzip.destroy(e));
    this.#chunks = this.#source.pipe(gunzip)[Symbol.asyncIterator]();
  }

  get rawBytesRead(): number {
    return this.#read;
  }

  /**
   * Moves the unconsumed tail to the front, grows the buffer when `need`
   * (bytes wanted from `pos`) exceeds it, and reads more input.
   * Resolves false when the input is exhausted and no byte could be added.
   */
  override async fill(need = 0): Promise<boolean> {
    const tail = this.end - this.pos;
    if (this.pos > 0) {
      if (tail > 0) this.buf.copyWithin(0, this.pos, this.end);
      this.base += this.pos;
      this.pos = 0;
      this.end = tail;
    }
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.buf.subarray(0, tail));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
      this.grows++;
    }
    if (this.eof) return false;
    if (this.end === this.buf.length) return true; // full already: nothing to add
    const before = this.end;
    await this.#readMore();
    return this.end > before;
  }

  /** Appends decompressed input at `end` until the buffer is full or the input ends. */
  async #readMore(): Promise<void> {
    const buf = this.buf;
    while (this.end < buf.length) {
      let chunk = this.#pending;
      if (chunk === null) {
        let result: IteratorResult<Uint8Array>;
        try {
          result = await this.#chunks.next();
        } catch (e) {
          this.failure = describeGzipError(e);
          this.eof = true;
          return;
        }
        if (result.done) {
          this.eof = true;
          return;
        }
        chunk = result.value;
        this.#pending = chunk;
        this.#pendingOff = 0;
      }
      const off = this.#pendingOff;
      const n = Math.min(chunk.length - off, buf.length - this.end);
      buf.set(
        n === chunk.length - off && off === 0 ? chunk : chunk.subarray(off, off + n),
        this.end,
      );
      this.end += n;
      if (off + n === chunk.length) this.#pending = null;
      else this.#pendingOff = off + n;
    }
  }

  close(): void {
    const file = this.#file;
    this.#file = null;
    this.eof = true;
    this.#pending = null;
    this.#source.destroy();
    this.#chunks.return?.().catch(() => {});
    if (file !== null) {
      try {
        file.close();
      } catch {
        // already closed
      }
    }
  }
}

function describeGzipError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (msg.includes("unexpected end of file")) return "gzip data is cut short or corrupt";
  if (e instanceof Error && !("code" in e && String(e.code).startsWith("Z_"))) {
    return `read error: ${msg}`;
  }
  return `gzip data is corrupt: ${msg}`;
}

/** One-line "cannot open" error for `path` with the given reason. */
export function cannotOpen(path: string, reason: string): CaptureFileError {
  return new CaptureFileError(`Cannot open capture file "${path}": ${reason}`, path);
}

/** Maps a Deno file-system error to a one-line "cannot open" error. */
function openError(path: string, e: unknown): CaptureFileError {
  if (e instanceof CaptureFileError) return e;
  let reason: string;
  if (e instanceof Deno.errors.NotFound) reason = "no such file";
  else if (e instanceof Deno.errors.PermissionDenied) reason = "permission denied";
  else if (e instanceof Deno.errors.NotCapable) reason = "read access not granted (--allow-read)";
  else if (e instanceof Deno.errors.IsADirectory) reason = "is a directory";
  else reason = e instanceof Error ? e.message : String(e);
  return cannotOpen(path, reason);
}

/** Reads up to `n` bytes from the start of `file` (fewer only at end of file). */
function readHead(file: Deno.FsFile, n: number): Uint8Array<ArrayBuffer> {
  const head = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = file.readSync(head.subarray(got));
    if (r === null) break;
    got += r;
  }
  return got === n ? head : head.subarray(0, got);
}

/**
 * Checks that `path` names something readable that is not a directory and
 * returns its size on disk, or -1 when it is not a regular file (a pipe, a
 * character device) and has no known size. Throws a "cannot open" error.
 */
export function statCaptureFile(path: string): number {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (e) {
    throw openError(path, e);
  }
  if (info.isDirectory) throw cannotOpen(path, "is a directory");
  return info.isFile ? info.size : -1;
}

/**
 * Reads the first bytes of a regular file: its leading bytes (up to `n`),
 * without keeping it open. Throws a "cannot open" error.
 */
export function peekFile(path: string, n: number): Uint8Array {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    throw openError(path, e);
  }
  try {
    return readHead(file, n);
  } catch (e) {
    throw openError(path, e);
  } finally {
    file.close();
  }
}

/** True when `head` starts with the gzip magic 1f 8b. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * Opens `path` as a {@linkcode ByteInput}: gzip files (detected by their
 * magic, not their name) are decompressed on the fly. Throws a one-line
 * {@linkcode CaptureFileError} when the file cannot be opened.
 */
export function openByteInput(path: string, bufferSize = DEFAULT_BUFFER_SIZE): ByteInput {
  const size = Math.max(0, statCaptureFile(path));
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    throw openError(path, e);
  }
  try {
    const head = readHead(file, 2);
    if (isGzip(head)) return new GzipByteInput(path, size, bufferSize, file, head);
    return new PlainByteInput(path, size, bufferSize, file, head);
  } catch (e) {
    file.close();
    throw openError(path, e);
  }
}
