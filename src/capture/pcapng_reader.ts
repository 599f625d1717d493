/**
 * pcapng block reader.
 *
 * Understands Section Header Blocks in either byte order (several sections
 * per file, each with its own interfaces), Interface Description Blocks
 * (link type, snapshot length, `if_tsresol` in its power-of-10 and power-of-2
 * forms, `if_tsoffset`, `if_fcslen`, `if_name`), Enhanced Packet Blocks,
 * Simple Packet Blocks (interface 0; captured length from the block and the
 * snapshot length) and the obsolete Packet Block. Every other block (name
 * resolution, statistics, decryption secrets, custom, ...) is skipped by its
 * length.
 *
 * Packet blocks are parsed in place: one DataView per buffer, no allocation
 * per packet.
 *
 * @module
 */

import type { ByteInput } from "./byte_input.ts";
import type { CaptureFileError } from "./errors.ts";
import { capLenLimit, type FormatReader, MAX_BLOCK_LEN, PCAPNG_SHB } from "./file_format.ts";
import {
  MAX_PACKET_SEC,
  MIN_PACKET_SEC,
  packetTimeProblem,
  TickConverter,
} from "./pcapng_timestamp.ts";
import type { RawPacket } from "./raw_packet.ts";

const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** One interface of the current section, from its Interface Description Block. */
class PcapngInterface {
  /** Link-layer type. */
  readonly linkType: number;
  /** Snapshot length (0: unlimited). */
  readonly snapLen: number;
  /** Largest captured length accepted before declaring the file damaged. */
  readonly maxCapLen: number;
  /** FCS length in bytes from `if_fcslen` (-1 when absent). */
  readonly fcsLen: number;
  /** Interface name from `if_name` ("" when absent). */
  readonly name: string;
  /** Timestamp converter for this interface's `if_tsresol` / `if_tsoffset`. */
  readonly ticks: TickConverter;

  /** Creates the description. */
  constructor(
    linkType: number,
    snapLen: number,
    ticks = new TickConverter(),
    fcsLen = -1,
    name = "",
  ) {
    this.linkType = linkType;
    this.snapLen = snapLen;
    this.maxCapLen = capLenLimit(snapLen);
    this.ticks = ticks;
    this.fcsLen = fcsLen;
    this.name = name;
  }
}

const CONTINUE = 0;
const PACKET = 1;
const NEED_MORE = 2;

/** Reader of the blocks of one pcapng file. */
export class PcapngReader implements FormatReader {
  /** The file format. */
  readonly format = "pcapng" as const;
  /** Bytes needed from the input position to complete the current block. */
  need = 0;
  /** Packets delivered from this file. */
  packets = 0;
  /** Captured bytes delivered from this file. */
  bytes = 0;
  /** Section Header Blocks seen so far. */
  sections = 0;
  /** Blocks skipped because sealert does not need them. */
  skippedBlocks = 0;
  #inp: ByteInput;
  #le = true;
  #ifaces: PcapngInterface[] = [];
  #lastSec = 0;
  #lastNsec = 0;

  /** Creates the reader; the input position must be at the file's first Section Header Block. */
  constructor(inp: ByteInput) {
    this.#inp = inp;
  }

  /** Interfaces of the current section, by interface id. */
  get interfaces(): readonly PcapngInterface[] {
    return this.#ifaces;
  }

  /** True when the current section is little-endian. */
  get littleEndian(): boolean {
    return this.#le;
  }

  /** Fills `pkt` with the next complete buffered packet; false when more input is needed. */
  next(pkt: RawPacket): boolean {
    const inp = this.#inp;
    for (;;) {
      const p = inp.pos;
      const avail = inp.end - p;
      if (avail < 12) {
        this.need = 12;
        return false;
      }
      const v = inp.view;
      const le = this.#le;
      const type = v.getUint32(p, le);
      const len = v.getUint32(p + 4, le);
      if (type === 6) {
        // Enhanced Packet Block: the hot path.
        if (len < 32 || (len & 3) !== 0 || len > MAX_BLOCK_LEN) throw this.#badLength(p, type, len);
        if (len > avail) {
          if (avail >= 28) this.#checkPacketHead(p, len, v.getUint32(p + 8, le));
          this.need = len;
          return false;
        }
        const trailer = v.getUint32(p + len - 4, le);
        if (trailer !== len) throw this.#mismatch(p, len, trailer);
        const id = v.getUint32(p + 8, le);
        const ifaces = this.#ifaces;
        if (id >= ifaces.length) throw this.#unknownInterface(p, id);
        const f = ifaces[id];
        const capLen = v.getUint32(p + 20, le);
        if (capLen > len - 32 || capLen > f.maxCapLen) throw this.#badCapLen(p, len, capLen, f);
        const wireLen = v.getUint32(p + 24, le);
        f.ticks.convert(v.getUint32(p + 12, le), v.getUint32(p + 16, le), pkt);
        if (pkt.tsSec < MIN_PACKET_SEC || pkt.tsSec > MAX_PACKET_SEC) throw this.#badTime(p, pkt);
        this.#lastSec = pkt.tsSec;
        this.#lastNsec = pkt.tsNsec;
        pkt.buf = inp.buf;
        pkt.offset = p + 28;
        pkt.capLen = capLen;
        pkt.wireLen = wireLen < capLen ? capLen : wireLen;
        pkt.linkType = f.linkType;
        pkt.ifIndex = id;
        inp.pos = p + len;
        this.packets++;
        this.bytes += capLen;
        return true;
      }
      const r = this.#otherBlock(pkt, p, type, len, avail);
      if (r !== CONTINUE) return r === PACKET;
    }
  }

  /** Error describing the partial block left at the end of the input. */
  truncation(): CaptureFileError {
    const inp = this.#inp;
    const p = inp.pos;
    if (inp.end - p < 8) return inp.truncated(inp.base + p, "block header cut short");
    const type = inp.view.getUint32(p, this.#le);
    return inp.truncated(inp.base + p, `${blockName(type)} cut short`);
  }

  /** Handles every block but the EPB; returns CONTINUE, PACKET or NEED_MORE. */
  #otherBlock(pkt: RawPacket, p: number, type: number, len: number, avail: number): number {
    const inp = this.#inp;
    const v = inp.view;
    if (type === PCAPNG_SHB) return this.#sectionHeader(p, avail);
    const le = this.#le;
    const min = type === 2 ? 32 : type === 3 ? 16 : type === 1 ? 20 : 12;
    if (len < min || (len & 3) !== 0 || len > MAX_BLOCK_LEN) throw this.#badLength(p, type, len);
    if (len > avail) {
      if (type === 2 && avail >= 28) this.#checkPacketHead(p, len, v.getUint16(p + 8, le));
      this.need = len;
      return NEED_MORE;
    }
    const trailer = v.getUint32(p + len - 4, le);
    if (trailer !== len) throw this.#mismatch(p, len, trailer);
    if (type === 1) {
      this.#ifaces.push(this.#interfaceDescription(p, len));
    } else if (type === 3) {
      // Simple Packet Block: interface 0, no timestamp (the previous packet's is kept).
      if (this.#ifaces.length === 0) {
        throw inp.damaged(inp.base + p, "simple packet block before any interface description");
      }
      const f = this.#ifaces[0];
      const wireLen = v.getUint32(p + 8, le);
      let capLen = len - 16 < wireLen ? len - 16 : wireLen;
      if (f.snapLen > 0 && f.snapLen < capLen) capLen = f.snapLen;
      if (capLen > f.maxCapLen) throw this.#badCapLen(p, len, capLen, f);
      return this.#deliver(pkt, p, 12, capLen, wireLen, 0, f);
    } else if (type === 2) {
      const id = v.getUint16(p + 8, le);
      if (id >= this.#ifaces.length) throw this.#unknownInterface(p, id);
      const f = this.#ifaces[id];
      const capLen = v.getUint32(p + 20, le);
      if (capLen > len - 32 || capLen > f.maxCapLen) throw this.#badCapLen(p, len, capLen, f);
      f.ticks.convert(v.getUint32(p + 12, le), v.getUint32(p + 16, le), pkt);
      if (pkt.tsSec < MIN_PACKET_SEC || pkt.tsSec > MAX_PACKET_SEC) throw this.#badTime(p, pkt);
      this.#lastSec = pkt.tsSec;
      this.#lastNsec = pkt.tsNsec;
      return this.#deliver(pkt, p, 28, capLen, v.getUint32(p + 24, le), id, f);
    } else {
      this.skippedBlocks++;
    }
    inp.pos = p + len;
    return CONTINUE;
  }

  #deliver(
    pkt: RawPacket,
    p: number,
    dataOff: number,
    capLen: number,
    wireLen: number,
    id: number,
    f: PcapngInterface,
  ): number {
    const inp = this.#inp;
    pkt.buf = inp.buf;
    pkt.offset = p + dataOff;
    pkt.capLen = capLen;
    pkt.wireLen = wireLen < capLen ? capLen : wireLen;
    pkt.tsSec = this.#lastSec;
    pkt.tsNsec = this.#lastNsec;
    pkt.linkType = f.linkType;
    pkt.ifIndex = id;
    inp.pos = p + inp.view.getUint32(p + 4, this.#le);
    this.packets++;
    this.bytes += capLen;
    return PACKET;
  }

  #sectionHeader(p: number, avail: number): number {
    const inp = this.#inp;
    const v = inp.view;
    const bom = v.getUint32(p + 8, true);
    let le: boolean;
    if (bom === BYTE_ORDER_MAGIC) le = true;
    else if (bom === 0x4d3c2b1a) le = false;
    else {
      throw inp.damaged(
        inp.base + p,
        `section header has an unknown byte-order magic 0x${bom.toString(16).padStart(8, "0")}`,
      );
    }
    const len = v.getUint32(p + 4, le);
    if (len < 28 || (len & 3) !== 0 || len > MAX_BLOCK_LEN) {
      throw this.#badLength(p, PCAPNG_SHB, len);
    }
    if (len > avail) {
      this.need = len;
      return NEED_MORE;
    }
    const trailer = v.getUint32(p + len - 4, le);
    if (trailer !== len) throw this.#mismatch(p, len, trailer);
    const major = v.getUint16(p + 12, le);
    if (major !== 1) {
      throw inp.damaged(
        inp.base + p,
        `unsupported pcapng version ${major}.${v.getUint16(p + 14, le)}`,
      );
    }
    this.#le = le;
    this.#ifaces = [];
    this.sections++;
    inp.pos = p + len;
    return CONTINUE;
  }

  #interfaceDescription(p: number, len: number): PcapngInterface {
    const inp = this.#inp;
    const v = inp.view;
    const le = this.#le;
    const linkType = v.getUint16(p + 8, le);
    const snapLen = v.getUint32(p + 12, le);
    let tsresol = 6;
    let tsoffset = 0;
    let fcsLen = -1;
    let name = "";
    const end = p + len - 4;
    let o = p + 16;
    while (o + 4 <= end) {
      const code = v.getUint16(o, le);
      const olen = v.getUint16(o + 2, le);
      if (code === 0) break; // opt_endofopt
      const value = o + 4;
      if (value + olen > end) {
        throw inp.damaged(inp.base + p, `interface description option ${code} overruns the block`);
      }
      if (code === 9 && olen >= 1) tsresol = inp.buf[value];
      else if (code === 14 && olen >= 8) tsoffset = Number(v.getBigInt64(value, le));
      else if (code === 13 && olen >= 1) fcsLen = inp.buf[value];
      else if (code === 2) name = new TextDecoder().decode(inp.buf.subarray(value, value + olen));
      o = value + ((olen + 3) & ~3);
    }
    return new PcapngInterface(
      linkType,
      snapLen,
      new TickConverter(tsresol, tsoffset),
      fcsLen,
      name,
    );
  }

  /** Early sanity check of a packet block that is not fully buffered yet. */
  #checkPacketHead(p: number, len: number, id: number): void {
    if (id >= this.#ifaces.length) throw this.#unknownInterface(p, id);
    const f = this.#ifaces[id];
    const capLen = this.#inp.view.getUint32(p + 20, this.#le);
    if (capLen > len - 32 || capLen > f.maxCapLen) throw this.#badCapLen(p, len, capLen, f);
  }

  #badLength(p: number, type: number, len: number): CaptureFileError {
    let why: string;
    if ((len & 3) !== 0) why = "is not a multiple of 4";
    else if (len > MAX_BLOCK_LEN) why = "is too large";
    else why = "is too small";
    return this.#inp.damaged(this.#inp.base + p, `${blockName(type)} total length ${len} ${why}`);
  }

  #mismatch(p: number, len: number, trailer: number): CaptureFileError {
    return this.#inp.damaged(
      this.#inp.base + p,
      `block total length ${len} does not match its trailing copy ${trailer}`,
    );
  }

  #unknownInterface(p: number, id: number): CaptureFileError {
    return this.#inp.damaged(
      this.#inp.base + p,
      `packet block references unknown interface ${id}; the section describes ${this.#ifaces.length}`,
    );
  }

  #badTime(p: number, pkt: RawPacket): CaptureFileError {
    return this.#inp.damaged(this.#inp.base + p, packetTimeProblem(pkt.tsSec));
  }

  #badCapLen(p: number, len: number, capLen: number, f: PcapngInterface): CaptureFileError {
    const detail = capLen > f.maxCapLen
      ? `packet block claims ${capLen} captured bytes, limit ${f.maxCapLen}`
      : `packet block claims ${capLen} captured bytes in a ${len}-byte block`;
    return this.#inp.damaged(this.#inp.base + p, detail);
  }
}

function blockName(type: number): string {
  switch (type) {
    case PCAPNG_SHB:
      return "section header block";
    case 1:
      return "interface description block";
    case 2:
      return "packet block";
    case 3:
      return "simple packet block";
    case 6:
      return "enhanced packet block";
    default:
      return `block of type 0x${type.toString(16)}`;
  }
}
