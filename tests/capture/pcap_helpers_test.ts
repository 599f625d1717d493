/**
 * Shared helpers of the capture reader/writer tests (this module holds no
 * tests itself): a byte builder for hand-made (and damaged) capture files,
 * temporary files, and a reader that collects every packet of a source.
 *
 * @module
 */

import { CaptureFileError } from "../../src/capture/errors.ts";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { RawPacket } from "../../src/capture/raw_packet.ts";

/** A packet as collected by {@linkcode readAll} (the frame copied out). */
export interface ReadPacket {
  data: number[];
  capLen: number;
  wireLen: number;
  tsSec: number;
  tsNsec: number;
  linkType: number;
  ifIndex: number;
}

/** Everything read from a source: the packets, then the error that stopped it (if any). */
export interface ReadResult {
  packets: ReadPacket[];
  error: CaptureFileError | null;
  bigRecords: number;
}

/** Reads every packet of `paths` with the documented pull loop; collects a CaptureFileError. */
export async function readAll(
  paths: string[],
  opts: Parameters<typeof openCaptureFiles>[1] = {},
): Promise<ReadResult> {
  const src = await openCaptureFiles(paths, opts);
  const pkt = new RawPacket();
  const packets: ReadPacket[] = [];
  let error: CaptureFileError | null = null;
  try {
    do {
      while (src.next(pkt)) {
        packets.push({
          data: Array.from(pkt.buf.subarray(pkt.offset, pkt.offset + pkt.capLen)),
          capLen: pkt.capLen,
          wireLen: pkt.wireLen,
          tsSec: pkt.tsSec,
          tsNsec: pkt.tsNsec,
          linkType: pkt.linkType,
          ifIndex: pkt.ifIndex,
        });
      }
    } while (await src.refill());
  } catch (e) {
    if (!(e instanceof CaptureFileError)) throw e;
    error = e;
  } finally {
    src.close();
  }
  return { packets, error, bigRecords: src.bigRecords };
}

const temporary: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const path of temporary) {
    try {
      Deno.removeSync(path, { recursive: true });
    } catch {
      // already gone
    }
  }
});

/** Writes `bytes` to a new temporary file named `*<suffix>` (removed at exit); returns its path. */
export function tempFile(bytes: Uint8Array, suffix = ".pcap"): string {
  const path = Deno.makeTempFileSync({ prefix: "sealert_cap_", suffix });
  temporary.push(path);
  Deno.writeFileSync(path, bytes);
  return path;
}

/** A new temporary directory (removed at exit with its content). */
export function tempDir(): string {
  const path = Deno.makeTempDirSync({ prefix: "sealert_cap_" });
  temporary.push(path);
  return path;
}

/** A deterministic frame of `len` bytes whose content depends on `seed`. */
export function frame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    f[i] = x >>> 24;
  }
  return f;
}

/** Little helper to assemble binary files field by field in one byte order. */
export class Bytes {
  #out: number[] = [];
  /** Creates the builder; `le` is the byte order of multi-byte fields. */
  constructor(public le = true) {}
  /** Current length. */
  get length(): number {
    return this.#out.length;
  }
  /** Appends one byte. */
  u8(v: number): this {
    this.#out.push(v & 0xff);
    return this;
  }
  /** Appends a 16-bit field. */
  u16(v: number): this {
    return this.le ? this.u8(v).u8(v >>> 8) : this.u8(v >>> 8).u8(v);
  }
  /** Appends a 32-bit field. */
  u32(v: number): this {
    return this.le ? this.u16(v & 0xffff).u16(v >>> 16) : this.u16(v >>> 16).u16(v & 0xffff);
  }
  /** Appends raw bytes. */
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.#out.push(b[i] & 0xff);
    return this;
  }
  /** Appends zero bytes up to a multiple of 4. */
  pad4(): this {
    while (this.#out.length % 4 !== 0) this.#out.push(0);
    return this;
  }
  /** The bytes so far. */
  bytes(): Uint8Array<ArrayBuffer> {
    return Uint8Array.from(this.#out);
  }
}

/** Builds one pcapng block (type, body padded to 4, both total lengths) in byte order `le`. */
export function block(type: number, body: ArrayLike<number>, le = true): Uint8Array {
  const padded = (body.length + 3) & ~3;
  return new Bytes(le).u32(type).u32(12 + padded).raw(body).pad4().u32(12 + padded).bytes();
}

export { concat } from "../helpers/bytes.ts";
