/**
 * OpenVPN packets (OpenVPN's ssl_pkt.h / reliable.c; SoftEther's
 * Proto_OpenVPN.c OvsParsePacket): the opcode and key id byte, and for
 * control packets in the plain layout (no tls-auth / tls-crypt wrapping) the
 * sender's session id, the acknowledgement array with the peer's session id,
 * the message packet id and the payload (a piece of the control channel's
 * TLS stream). Over TCP each packet is preceded by a 16-bit big-endian length
 * ({@linkcode OpenVpnTcpFramer}). Nothing here allocates per packet.
 *
 * @module
 */

import { readU16 } from "./bytes.ts";
import type { ParseStatus } from "./parse_status.ts";

/** OpenVPN opcodes (the high five bits of a packet's first byte). */
export const OpenVpnOpcode = {
  /** Key method 1 client reset (obsolete). */
  HARD_RESET_CLIENT_V1: 1,
  /** Key method 1 server reset (obsolete). */
  HARD_RESET_SERVER_V1: 2,
  /** Renegotiation of a key id. */
  SOFT_RESET_V1: 3,
  /** Control channel TLS data. */
  CONTROL_V1: 4,
  /** Acknowledgements only. */
  ACK_V1: 5,
  /** Data channel, no peer id. */
  DATA_V1: 6,
  /** Client's first packet (key method 2). */
  HARD_RESET_CLIENT_V2: 7,
  /** Server's answer to it. */
  HARD_RESET_SERVER_V2: 8,
  /** Data channel with a 24-bit peer id (OpenVPN ≥ 2.3.7 servers push one). */
  DATA_V2: 9,
  /** Client reset with a tls-crypt-v2 wrapped key. */
  HARD_RESET_CLIENT_V3: 10,
  /** Control packet carrying a tls-crypt-v2 wrapped key. */
  CONTROL_WKC_V1: 11,
} as const;

/** Acknowledgements kept per packet (OpenVPN's RELIABLE_ACK_SIZE). */
const OPENVPN_MAX_ACKS = 8;

/** Reasons for a `"no"` result of {@linkcode OpenVpnPacket.parse}. */
const OpenVpnReason = {
  /** Empty packet. */
  EMPTY: "empty",
  /** Opcode 0 or above the known range. */
  BAD_OPCODE: "bad_opcode",
  /** The packet ends inside its header. */
  TRUNCATED: "truncated",
  /** More acknowledgements than OpenVPN ever sends in the plain layout. */
  TOO_MANY_ACKS: "too_many_acks",
} as const;

/**
 * One OpenVPN packet read in place. Reuse the instance: {@linkcode parse}
 * overwrites every field. Session ids are kept as two 32-bit halves.
 */
export class OpenVpnPacket {
  /** `"ok"` when the packet parsed in the plain layout. */
  status: ParseStatus = "no";
  /** For `"no"`: a reason; `""` otherwise. */
  reason = "";
  /** An {@linkcode OpenVpnOpcode} value. */
  opcode = 0;
  /** Key id (low three bits of the first byte). */
  keyId = 0;
  /** Sender's session id, high 32 bits (control packets). */
  sessionHi = 0;
  /** Sender's session id, low 32 bits. */
  sessionLo = 0;
  /** Number of acknowledged packet ids. */
  ackCount = 0;
  /** The acknowledged packet ids (first {@linkcode OPENVPN_MAX_ACKS}). */
  readonly acks = new Uint32Array(OPENVPN_MAX_ACKS);
  /** Peer's session id (present when `ackCount` > 0), high 32 bits. */
  remoteHi = 0;
  /** Peer's session id, low 32 bits. */
  remoteLo = 0;
  /** Message packet id (control packets other than ACK_V1); −1 when absent. */
  packetId = -1;
  /** Offset of the payload in the buffer given to `parse`. */
  payloadOff = 0;
  /** Payload length (control: the TLS bytes; data: everything after the opcode byte). */
  payloadLen = 0;

  /** True for the data channel opcodes (no control header). */
  get isData(): boolean {
    return this.opcode === OpenVpnOpcode.DATA_V1 || this.opcode === OpenVpnOpcode.DATA_V2;
  }

  /**
   * Reads the packet at `buf[off, off + len)` in the plain layout. Data
   * packets only get their opcode and key id. Never throws.
   */
  parse(buf: Uint8Array, off: number, len: number): ParseStatus {
    this.status = "no";
    this.reason = "";
    this.sessionHi =
      this.sessionLo =
      this.ackCount =
      this.remoteHi =
      this.remoteLo =
        0;
    this.packetId = -1;
    this.payloadOff = off;
    this.payloadLen = 0;
    if (len < 1 || off + len > buf.length) return this.#no(OpenVpnReason.EMPTY);
    const b = buf[off];
    this.opcode = b >>> 3;
    this.keyId = b & 7;
    if (this.opcode < 1 || this.opcode > OpenVpnOpcode.CONTROL_WKC_V1) {
      return this.#no(OpenVpnReason.BAD_OPCODE);
    }
    const end = off + len;
    let p = off + 1;
    if (this.isData) {
      this.payloadOff = p;
      this.payloadLen = end - p;
      this.status = "ok";
      return "ok";
    }
    if (p + 9 > end) return this.#no(OpenVpnReason.TRUNCATED);
    this.sessionHi = readU32(buf, p);
    this.sessionLo = readU32(buf, p + 4);
    p += 8;
    const n = buf[p++];
    if (n > OPENVPN_MAX_ACKS) return this.#no(OpenVpnReason.TOO_MANY_ACKS);
    this.ackCount = n;
    if (n > 0) {
      if (p + 4 * n + 8 > end) return this.#no(OpenVpnReason.TRUNCATED);
      for (let i = 0; i < n; i++) this.acks[i] = readU32(buf, p + 4 * i);
      p += 4 * n;
      this.remoteHi = readU32(buf, p);
      this.remoteLo = readU32(buf, p + 4);
      p += 8;
    }
    if (this.opcode !== OpenVpnOpcode.ACK_V1) {
      if (p + 4 > end) return this.#no(OpenVpnReason.TRUNCATED);
      this.packetId = readU32(buf, p);
      p += 4;
    }
    this.payloadOff = p;
    this.payloadLen = end - p;
    this.status = "ok";
    return "ok";
  }

  #no(reason: string): ParseStatus {
    this.status = "no";
    this.reason = reason;
    return "no";
  }
}

/** Receives the packets an {@linkcode OpenVpnTcpFramer} cuts out of a stream. */
export interface OpenVpnPacketSink {
  /**
   * One packet: `len` bytes at `buf[off]` are available (valid during the
   * call only); `full` is its length on the wire (more than `len` when it
   * outgrew the framer's buffer).
   */
  packet(buf: Uint8Array, off: number, len: number, full: number): void;
}

/**
 * Cuts one direction of an OpenVPN-over-TCP stream into packets (16-bit
 * big-endian length, then the packet). A packet inside one fed region is
 * handed over in place; one spanning regions is gathered into the framer's
 * buffer (at most `capacity` bytes of it; the rest is counted, not kept).
 * A zero length desynchronises the framer for good (`desync`).
 */
export class OpenVpnTcpFramer {
  /** True once the framing broke (a zero length). */
  desync = false;
  /** Packets delivered. */
  packets = 0;
  readonly #sink: OpenVpnPacketSink;
  readonly #buf: Uint8Array;
  #lenHave = 0; // length bytes gathered (0-2)
  #lenHi = 0;
  #want = 0; // length of the packet being gathered
  #have = 0; // its bytes seen so far

  /** Creates a framer delivering to `sink`, gathering split packets up to `capacity` bytes. */
  constructor(sink: OpenVpnPacketSink, capacity = 2048) {
    this.#sink = sink;
    this.#buf = new Uint8Array(capacity);
  }

  /** Forget the stream fed so far (the framer is reused for another connection). */
  reset(): void {
    this.desync = false;
    this.packets = 0;
    this.#lenHave =
      this.#lenHi =
      this.#want =
      this.#have =
        0;
  }

  /** Feed in-order stream bytes `buf[off, off + len)`. */
  feed(buf: Uint8Array, off: number, len: number): void {
    const end = off + len;
    let i = off;
    while (i < end && !this.desync) {
      if (this.#want === 0) {
        if (this.#lenHave === 0 && end - i >= 2) {
          const n = readU16(buf, i);
          i += 2;
          if (!this.#start(n)) return;
          if (end - i >= n) {
            this.packets++;
            this.#want = 0;
            this.#sink.packet(buf, i, n, n);
            i += n;
          }
          continue;
        }
        if (this.#lenHave === 0) {
          this.#lenHi = buf[i++];
          this.#lenHave = 1;
          continue;
        }
        const n = this.#lenHi * 256 + buf[i++];
        this.#lenHave = 0;
        if (!this.#start(n)) return;
        continue;
      }
      // Gathering a packet that spans fed regions.
      const k = Math.min(this.#want - this.#have, end - i);
      const cap = this.#buf.length;
      for (let j = 0; j < k && this.#have + j < cap; j++) this.#buf[this.#have + j] = buf[i + j];
      this.#have += k;
      i += k;
      if (this.#have === this.#want) {
        const n = this.#want;
        this.#want = 0;
        this.packets++;
        this.#sink.packet(this.#buf, 0, Math.min(n, cap), n);
      }
    }
  }

  #start(n: number): boolean {
    if (n === 0) {
      this.desync = true;
      return false;
    }
    this.#want = n;
    this.#have = 0;
    return true;
  }
}

function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}
