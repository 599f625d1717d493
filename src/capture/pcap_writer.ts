/**
 * Capture file writers: classic pcap ({@linkcode PcapWriter}, µs or ns, either
 * byte order) and pcapng ({@linkcode PcapngWriter}: one section, any number of
 * interfaces with their own link type and `if_tsresol`, Enhanced Packet
 * Blocks). Used for test fixtures and evidence files.
 *
 * Output is buffered and written with synchronous writes; `close()` flushes
 * and is idempotent.
 *
 * ```ts
 * const w = new PcapWriter("out.pcap", { nanosecond: true });
 * w.writeFrame(frame, 1767225600, 123456789);
 * w.close();
 * ```
 *
 * @module
 */

import { type ByteSink, FileSink } from "./byte_sink.ts";
import { CaptureFileError } from "./errors.ts";
import { TickConverter } from "./pcapng_timestamp.ts";
import { LinkType, type RawPacket } from "./raw_packet.ts";

const DEFAULT_WRITE_BUFFER = 1 << 20;

/** Output buffering shared by both writers. */
abstract class CaptureWriter {
  /** Packets written so far. */
  packets = 0;
  /** The write buffer; `buf[0 .. pos)` is not written out yet. */
  protected buf: Uint8Array;
  /** A DataView over `buf`. */
  protected view: DataView;
  /** Bytes buffered. */
  protected pos = 0;
  /** True when the file is written little-endian. */
  protected readonly le: boolean;
  #sink: ByteSink | null;
  #name: string;

  /** Opens `out` (a path is created or truncated) with a write buffer of `bufferSize` bytes. */
  constructor(out: string | ByteSink, bigEndian: boolean, bufferSize: number) {
    this.#sink = typeof out === "string" ? new FileSink(out) : out;
    this.#name = typeof out === "string" ? out : "(memory)";
    this.le = !bigEndian;
    this.buf = new Uint8Array(Math.max(4096, bufferSize));
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes in the buffer (flushing, or growing for a huge record). */
  protected reserve(n: number): void {
    if (this.#sink === null) {
      throw new CaptureFileError(`Capture file "${this.#name}" is closed`, this.#name);
    }
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) {
      this.buf = new Uint8Array(n);
      this.view = new DataView(this.buf.buffer);
    }
  }

  /** Writes the buffered bytes to the file. */
  flush(): void {
    if (this.pos > 0 && this.#sink !== null) {
      this.#sink.write(this.buf.subarray(0, this.pos));
      this.pos = 0;
    }
  }

  /** Flushes and closes the output; safe to call twice. */
  close(): void {
    if (this.#sink === null) return;
    this.flush();
    const sink = this.#sink;
    this.#sink = null;
    sink.close();
  }
}

/** Options of {@linkcode PcapWriter}. */
interface PcapWriterOptions {
  /** Link-layer type written in the file header (default Ethernet). */
  linkType?: number;
  /** Snapshot length; longer frames are truncated (default 262144). */
  snapLen?: number;
  /** Nanosecond timestamps (magic a1b23c4d) instead of microseconds. */
  nanosecond?: boolean;
  /** Write big-endian instead of little-endian. */
  bigEndian?: boolean;
  /** Write buffer size in bytes (default 1 MiB). */
  bufferSize?: number;
}

/** Writer of classic pcap files. */
export class PcapWriter extends CaptureWriter {
  /** Link-layer type of the file. */
  readonly linkType: number;
  /** Snapshot length of the file. */
  readonly snapLen: number;
  /** True for nanosecond timestamps. */
  readonly nanosecond: boolean;

  /** Creates `out` (a path, or a sink) and writes the file header. */
  constructor(out: string | ByteSink, opts: PcapWriterOptions = {}) {
    super(out, opts.bigEndian ?? false, opts.bufferSize ?? DEFAULT_WRITE_BUFFER);
    this.linkType = opts.linkType ?? LinkType.ETHERNET;
    this.snapLen = opts.snapLen ?? 262144;
    this.nanosecond = opts.nanosecond ?? false;
    this.reserve(24);
    const v = this.view;
    const le = this.le;
    v.setUint32(0, this.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, le);
    v.setUint16(4, 2, le);
    v.setUint16(6, 4, le);
    v.setUint32(8, 0, le);
    v.setUint32(12, 0, le);
    v.setUint32(16, this.snapLen, le);
    v.setUint32(20, this.linkType, le);
    this.pos = 24;
  }

  /** Writes the frame of `pkt` (its link type must be the file's). */
  write(pkt: RawPacket): void {
    this.#record(pkt.buf, pkt.offset, pkt.capLen, pkt.tsSec, pkt.tsNsec, pkt.wireLen);
  }

  /** Writes one frame with its timestamp and original length (default: the frame's length). */
  writeFrame(data: Uint8Array, tsSec: number, tsNsec: number, wireLen = data.length): void {
    this.#record(data, 0, data.length, tsSec, tsNsec, wireLen);
  }

  #record(
    src: Uint8Array,
    off: number,
    len: number,
    tsSec: number,
    tsNsec: number,
    wireLen: number,
  ): void {
    const capLen = Math.min(len, this.snapLen);
    this.reserve(16 + capLen);
    const v = this.view;
    const le = this.le;
    const p = this.pos;
    v.setUint32(p, tsSec, le);
    v.setUint32(p + 4, this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000), le);
    v.setUint32(p + 8, capLen, le);
    v.setUint32(p + 12, Math.max(wireLen, len), le);
    this.buf.set(src.subarray(off, off + capLen), p + 16);
    this.pos = p + 16 + capLen;
    this.packets++;
  }
}

/** One interface of a {@linkcode PcapngWriter}. */
interface PcapngInterfaceOptions {
  /** Link-layer type (default Ethernet). */
  linkType?: number;
  /** Snapshot length; 0 (the default) means unlimited. Longer frames are truncated. */
  snapLen?: number;
  /**
   * `if_tsresol` byte: 6 = microseconds (the default, then the option is not
   * written), 9 = nanoseconds, 0x80 | k = 2^-k seconds.
   */
  tsresol?: number;
  /** `if_tsoffset` in seconds (default 0, not written). */
  tsoffset?: number;
  /** `if_name` (not written when empty). */
  name?: string;
}

/** Options of {@linkcode PcapngWriter}. */
interface PcapngWriterOptions {
  /** Interfaces described at the start of the section (default one Ethernet, µs). */
  interfaces?: PcapngInterfaceOptions[];
  /** Write the section big-endian instead of little-endian. */
  bigEndian?: boolean;
  /** `shb_userappl` (default "sealert"; empty: not written). */
  userAppl?: string;
  /** Write buffer size in bytes (default 1 MiB). */
  bufferSize?: number;
}

/** Writer of pcapng files (one section). */
export class PcapngWriter extends CaptureWriter {
  #ifaces: { snapLen: number; ticks: TickConverter }[] = [];

  /** Creates `out` (a path, or a sink) and writes the section header and interface descriptions. */
  constructor(out: string | ByteSink, opts: PcapngWriterOptions = {}) {
    super(out, opts.bigEndian ?? false, opts.bufferSize ?? DEFAULT_WRITE_BUFFER);
    const options: [number, Uint8Array][] = [];
    const appl = opts.userAppl ?? "sealert";
    if (appl !== "") options.push([4, new TextEncoder().encode(appl)]);
    const body = this.#options(options);
    const shb = new Uint8Array(16 + body.length);
    const v = new DataView(shb.buffer);
    v.setUint32(0, 0x1a2b3c4d, this.le);
    v.setUint16(4, 1, this.le);
    v.setUint16(6, 0, this.le);
    v.setInt32(8, -1, this.le); // section length unknown
    v.setInt32(12, -1, this.le);
    shb.set(body, 16);
    this.writeBlock(0x0a0d0d0a, shb);
    for (const i of opts.interfaces ?? [{}]) this.addInterface(i);
  }

  /** Number of interfaces described so far. */
  get interfaceCount(): number {
    return this.#ifaces.length;
  }

  /** Writes an Interface Description Block; returns the new interface id. */
  addInterface(opts: PcapngInterfaceOptions = {}): number {
    const snapLen = opts.snapLen ?? 0;
    const tsresol = opts.tsresol ?? 6;
    const tsoffset = opts.tsoffset ?? 0;
    const options: [number, Uint8Array][] = [];
    if (opts.name) options.push([2, new TextEncoder().encode(opts.name)]);
    if (tsresol !== 6) options.push([9, Uint8Array.of(tsresol)]);
    if (tsoffset !== 0) {
      const o = new Uint8Array(8);
      new DataView(o.buffer).setBigInt64(0, BigInt(tsoffset), this.le);
      options.push([14, o]);
    }
    const opt = this.#options(options);
    const body = new Uint8Array(8 + opt.length);
    const v = new DataView(body.buffer);
    v.setUint16(0, opts.linkType ?? LinkType.ETHERNET, this.le);
    v.setUint32(4, snapLen, this.le);
    body.set(opt, 8);
    this.writeBlock(1, body);
    this.#ifaces.push({ snapLen, ticks: new TickConverter(tsresol, tsoffset) });
    return this.#ifaces.length - 1;
  }

  /** Writes the frame of `pkt` as an Enhanced Packet Block on interface `pkt.ifIndex`. */
  write(pkt: RawPacket): void {
    this.#epb(pkt.buf, pkt.offset, pkt.capLen, pkt.tsSec, pkt.tsNsec, pkt.wireLen, pkt.ifIndex);
  }

  /** Writes one frame as an Enhanced Packet Block. */
  writeFrame(
    data: Uint8Array,
    tsSec: number,
    tsNsec: number,
    wireLen = data.length,
    ifIndex = 0,
  ): void {
    this.#epb(data, 0, data.length, tsSec, tsNsec, wireLen, ifIndex);
  }

  /** Writes one frame as a Simple Packet Block (interface 0, no timestamp). */
  writeSimplePacket(data: Uint8Array, wireLen = data.length): void {
    const f = this.#iface(0);
    const capLen = f.snapLen > 0 ? Math.min(data.length, f.snapLen) : data.length;
    const padded = (capLen + 3) & ~3;
    const total = 16 + padded;
    this.reserve(total);
    const v = this.view;
    const p = this.pos;
    v.setUint32(p, 3, this.le);
    v.setUint32(p + 4, total, this.le);
    v.setUint32(p + 8, Math.max(wireLen, data.length), this.le);
    this.buf.set(data.subarray(0, capLen), p + 12);
    this.buf.fill(0, p + 12 + capLen, p + 12 + padded);
    v.setUint32(p + 12 + padded, total, this.le);
    this.pos = p + total;
    this.packets++;
  }

  /** Writes a block of any type; `body` is padded to 4 bytes and framed by the total lengths. */
  writeBlock(type: number, body: Uint8Array): void {
    const padded = (body.length + 3) & ~3;
    const total = 12 + padded;
    this.reserve(total);
    const v = this.view;
    const p = this.pos;
    v.setUint32(p, type, this.le);
    v.setUint32(p + 4, total, this.le);
    this.buf.set(body, p + 8);
    this.buf.fill(0, p + 8 + body.length, p + 8 + padded);
    v.setUint32(p + 8 + padded, total, this.le);
    this.pos = p + total;
  }

  #iface(id: number): { snapLen: number; ticks: TickConverter } {
    const f = this.#ifaces[id];
    if (f === undefined) throw new RangeError(`pcapng writer has no interface ${id}`);
    return f;
  }

  #epb(
    src: Uint8Array,
    off: number,
    len: number,
    tsSec: number,
    tsNsec: number,
    wireLen: number,
    id: number,
  ): void {
    const f = this.#iface(id);
    const capLen = f.snapLen > 0 ? Math.min(len, f.snapLen) : len;
    const padded = (capLen + 3) & ~3;
    const total = 32 + padded;
    this.reserve(total);
    const v = this.view;
    const le = this.le;
    const p = this.pos;
    f.ticks.toTicks(tsSec, tsNsec);
    v.setUint32(p, 6, le);
    v.setUint32(p + 4, total, le);
    v.setUint32(p + 8, id, le);
    v.setUint32(p + 12, f.ticks.ticksHi, le);
    v.setUint32(p + 16, f.ticks.ticksLo, le);
    v.setUint32(p + 20, capLen, le);
    v.setUint32(p + 24, Math.max(wireLen, len), le);
    this.buf.set(src.subarray(off, off + capLen), p + 28);
    this.buf.fill(0, p + 28 + capLen, p + 28 + padded);
    v.setUint32(p + 28 + padded, total, le);
    this.pos = p + total;
    this.packets++;
  }

  /** Encodes options (code, value) followed by opt_endofopt; empty when there are none. */
  #options(options: [number, Uint8Array][]): Uint8Array {
    if (options.length === 0) return new Uint8Array(0);
    let size = 4;
    for (const [, value] of options) size += 4 + ((value.length + 3) & ~3);
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    let o = 0;
    for (const [code, value] of options) {
      v.setUint16(o, code, this.le);
      v.setUint16(o + 2, value.length, this.le);
      out.set(value, o + 4);
      o += 4 + ((value.length + 3) & ~3);
    }
    return out; // the trailing 4 zero bytes are opt_endofopt
  }
}
