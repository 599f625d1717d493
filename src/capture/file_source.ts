/**
 * Offline capture source: several pcap / pcapng files (each optionally
 * gzip-compressed) read in order as one packet stream.
 *
 * The format is detected from the magic number, never from the file name.
 * Reading follows the {@linkcode PacketSource} contract: `next` parses
 * records in place in one reused buffer (no allocation per packet) and
 * `refill` moves on to the next buffer-full (read ahead for plain files,
 * decompressed for gzip); a packet's bytes stay valid until then.
 *
 * ```ts
 * const src = await openCaptureFiles(["a.pcap", "b.pcapng.gz"]);
 * const pkt = new RawPacket();
 * try {
 *   do { while (src.next(pkt)) handle(pkt); } while (await src.refill());
 * } finally {
 *   src.close();
 * }
 * ```
 *
 * @module
 */

import {
  type ByteInput,
  cannotOpen,
  DEFAULT_BUFFER_SIZE,
  isGzip,
  openByteInput,
  peekFile,
  statCaptureFile,
} from "./byte_input.ts";
import { type CaptureFormat, type FormatReader, sniffFormat } from "./file_format.ts";
import { CaptureFileError } from "./errors.ts";
import { PCAP_FILE_HEADER_LEN, PcapReader } from "./pcap_reader.ts";
import { PcapngReader } from "./pcapng_reader.ts";
import type { PacketSource, RawPacket } from "./raw_packet.ts";

/** Options of {@linkcode openCaptureFiles}. */
interface OpenCaptureOptions {
  /** Bytes per read of a plain file (default 4 MiB); gzip input is decompressed in buffers of this size. */
  bufferSize?: number;
  /**
   * Called with each file that cannot be opened (missing, unreadable, not a
   * capture file) instead of throwing; that file is left out and the others
   * are read. With it, no file is opened before the first `refill`, so a
   * damaged first file is reported by `refill` like any other.
   */
  onUnreadable?: (e: CaptureFileError) => void;
}

/** A snapshot of a {@linkcode FileSource}'s counters. */
interface FileSourceStats {
  /** Packets delivered so far. */
  packets: number;
  /** Captured bytes delivered so far. */
  bytes: number;
  /** Files read to their end. */
  filesDone: number;
  /** Number of files given. */
  fileCount: number;
  /** Path of the file being read ("" before the first and after the last). */
  currentFile: string;
  /** Bytes read from disk so far, over all files (compressed bytes for gzip files). */
  bytesRead: number;
  /** Total size on disk of all files (pipes count 0). */
  totalBytes: number;
  /** Records that did not fit the read buffer, which had to grow. */
  bigRecords: number;
}

const EMPTY_READER: FormatReader = {
  format: "pcap",
  need: 0,
  packets: 0,
  bytes: 0,
  next: () => false,
  truncation: () => {
    throw new Error("no file open");
  },
};

/** A {@linkcode PacketSource} over capture files read in order as one stream. */
class FileSource implements PacketSource {
  /** The files, in reading order. */
  readonly paths: readonly string[];
  /** Total size on disk of all files (pipes count 0). */
  readonly totalBytes: number;
  #bufferSize: number;
  #index = -1;
  #inp: ByteInput | null = null;
  #reader: FormatReader = EMPTY_READER;
  #closed = false;
  #donePackets = 0;
  #doneBytes = 0;
  #doneRead = 0;
  #doneGrows = 0;
  #filesDone = 0;

  /** Use {@linkcode openCaptureFiles}. */
  constructor(paths: readonly string[], totalBytes: number, opts: OpenCaptureOptions = {}) {
    this.paths = paths;
    this.totalBytes = totalBytes;
    this.#bufferSize = opts.bufferSize ?? DEFAULT_BUFFER_SIZE;
  }

  /** Fills `pkt` with the next buffered packet; false when more must be fetched. */
  next(pkt: RawPacket): boolean {
    return this.#reader.next(pkt);
  }

  /**
   * Fetches more input, moving on to the next file at the end of one;
   * resolves false at the end of the last file. Throws a
   * `CaptureFileError` (file and byte offset) on damage or truncation, after
   * every packet before it has been delivered; it keeps throwing until
   * {@linkcode FileSource.skipFile} moves on (or the caller stops). A file
   * that cannot be opened is skipped once reported.
   */
  async refill(): Promise<boolean> {
    const inp = this.#inp;
    if (inp === null) {
      if (this.#closed || this.#index + 1 >= this.paths.length) return false;
      await this.#openNext();
      return true;
    }
    const reader = this.#reader;
    const need = reader.need;
    reader.need = 0;
    if (await inp.fill(need)) return true;
    if (inp.end > inp.pos) {
      throw inp.failure ? inp.failed(inp.base + inp.pos) : reader.truncation();
    }
    if (inp.failure) throw inp.failed(inp.base + inp.pos);
    this.#finishFile();
    if (this.#index + 1 >= this.paths.length) {
      this.#index = this.paths.length;
      return false;
    }
    await this.#openNext();
    return true;
  }

  /** Releases the open file; safe to call twice. Later calls to `next`/`refill` report the end. */
  close(): void {
    this.#closed = true;
    this.skipFile();
  }

  /** Packets delivered so far. */
  get packets(): number {
    return this.#donePackets + this.#reader.packets;
  }

  /** Captured bytes delivered so far. */
  get bytes(): number {
    return this.#doneBytes + this.#reader.bytes;
  }

  /** Files read to their end. */
  get filesDone(): number {
    return this.#filesDone;
  }

  /** Path of the file being read ("" before the first and after the last). */
  get currentFile(): string {
    return this.#inp === null ? "" : this.#inp.path;
  }

  /** Format of the file being read (null when none is open). */
  get currentFormat(): CaptureFormat | null {
    return this.#inp === null ? null : this.#reader.format;
  }

  /** True when the file being read is gzip-compressed. */
  get currentCompressed(): boolean {
    return this.#inp?.compressed ?? false;
  }

  /**
   * The format reader of the file being read (a `PcapReader` or a
   * `PcapngReader`, for file details such as link types), or null.
   */
  get currentReader(): PcapReader | PcapngReader | null {
    return this.#inp === null ? null : this.#reader as PcapReader | PcapngReader;
  }

  /** Bytes read from disk so far, over all files (compressed bytes for gzip files). */
  get bytesRead(): number {
    return this.#doneRead + (this.#inp?.rawBytesRead ?? 0);
  }

  /** Records that did not fit the read buffer, which had to grow. */
  get bigRecords(): number {
    return this.#doneGrows + (this.#inp?.grows ?? 0);
  }

  /** A snapshot of the counters. */
  stats(): FileSourceStats {
    return {
      packets: this.packets,
      bytes: this.bytes,
      filesDone: this.filesDone,
      fileCount: this.paths.length,
      currentFile: this.currentFile,
      bytesRead: this.bytesRead,
      totalBytes: this.totalBytes,
      bigRecords: this.bigRecords,
    };
  }

  /**
   * Abandons the file being read (typically after a `CaptureFileError` about
   * damage in it) so that the next `refill` continues with the following
   * file. Its packets stay counted; it does not count as done. A file that
   * failed to open is abandoned already, and this does nothing.
   */
  skipFile(): void {
    const inp = this.#inp;
    if (inp === null) return;
    this.#donePackets += this.#reader.packets;
    this.#doneBytes += this.#reader.bytes;
    this.#doneRead += inp.rawBytesRead;
    this.#doneGrows += inp.grows;
    this.#reader = EMPTY_READER;
    this.#inp = null;
    inp.close();
  }

  /** Opens file `#index + 1` and reads its file header; on failure the file is abandoned. */
  async #openNext(): Promise<void> {
    const index = ++this.#index;
    const path = this.paths[index];
    const inp = openByteInput(path, this.#bufferSize);
    try {
      this.#reader = await readFileHeader(inp);
      this.#inp = inp;
    } catch (e) {
      inp.close();
      throw e;
    }
  }

  #finishFile(): void {
    if (this.#inp === null) return;
    this.skipFile();
    this.#filesDone++;
  }
}

/** Detects the format of a freshly opened input and reads its file header. */
async function readFileHeader(inp: ByteInput): Promise<FormatReader> {
  let magic = -1;
  if (await inp.ensure(4)) magic = inp.view.getUint32(inp.pos, false);
  const format = magic < 0 ? null : sniffFormat(magic);
  if (format === null) {
    if (inp.failure) throw inp.failed(0);
    throw cannotOpen(inp.path, "not a pcap or pcapng file");
  }
  if (format === "pcapng") return new PcapngReader(inp);
  if (!(await inp.ensure(PCAP_FILE_HEADER_LEN))) {
    throw inp.failure ? inp.failed(0) : inp.truncated(0, "file header cut short");
  }
  return new PcapReader(inp);
}

/**
 * Checks that `path` exists, is readable and (a regular file) starts with a
 * pcap, pcapng or gzip magic number; returns its size (0 for a pipe).
 */
function checkCaptureFile(path: string): number {
  const size = statCaptureFile(path);
  if (size < 0) return 0; // a pipe: checked when its turn comes
  if (size === 0) throw cannotOpen(path, "not a pcap or pcapng file");
  const head = peekFile(path, 4);
  if (isGzip(head)) return size;
  const magic = head.length < 4
    ? -1
    : ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  if (magic < 0 || sniffFormat(magic) === null) {
    throw cannotOpen(path, "not a pcap or pcapng file");
  }
  return size;
}

/**
 * Opens capture files to be read in order as one packet stream.
 *
 * Every file is checked up front (exists, readable, and for regular files a
 * pcap, pcapng or gzip magic number), so a mistyped last argument fails
 * before hours of reading; the first file's header is then read. Throws a
 * one-line `CaptureFileError`, e.g.
 * `Cannot open capture file "x.pcap": not a pcap or pcapng file` — or, with
 * `onUnreadable`, reports such a file there and leaves it out.
 */
export async function openCaptureFiles(
  paths: readonly string[],
  opts: OpenCaptureOptions = {},
): Promise<FileSource> {
  let total = 0;
  const readable: string[] = [];
  for (const path of paths) {
    try {
      total += checkCaptureFile(path);
      readable.push(path);
    } catch (e) {
      if (opts.onUnreadable === undefined || !(e instanceof CaptureFileError)) throw e;
      opts.onUnreadable(e);
    }
  }
  const src = new FileSource(readable, total, opts);
  if (readable.length > 0 && opts.onUnreadable === undefined) {
    try {
      await src.refill();
    } catch (e) {
      src.close();
      throw e;
    }
  }
  return src;
}
