/**
 * SSH as seen by a passive sensor: {@linkcode SshStreamScanner} follows both
 * directions of a connection through identification lines, KEXINIT and
 * NEWKEYS, then records the packet lengths of the encrypted phase when the
 * negotiated cipher leaves them in clear. The message parsers it uses are
 * re-exported here.
 *
 * @module
 */

import {
  parseSshIdent,
  SSH_MAX_IDENT,
  SSH_MAX_PREFACE,
  type SshIdent,
  SshReason,
} from "./ssh_ident.ts";
import {
  negotiateSsh,
  parseSshKexInit,
  type SshKexInit,
  type SshNegotiated,
} from "./ssh_kexinit.ts";
import { SSH_MAX_CLEAR_PACKET, sshClearHeaderProblem, SshMsg } from "./ssh_packet.ts";

export * from "./ssh_ident.ts";
export * from "./ssh_kexinit.ts";
export * from "./ssh_packet.ts";

/** Largest encrypted packet_length accepted (OpenSSH's limit, 256 KiB). */
export const SSH_MAX_PACKET: number = 256 * 1024;

/** Why a direction's encrypted packet lengths are not recorded. */
export const SshOpaqueReason = {
  /** The cipher encrypts packet_length (ChaCha20-Poly1305, encrypt-and-MAC). */
  CIPHER: "cipher",
  /** NEWKEYS came before both KEXINITs were seen (bytes missed or fed out of order). */
  NO_NEGOTIATION: "no_negotiation",
  /** MAC or cipher unknown, so packets cannot be delimited. */
  UNKNOWN_FRAMING: "unknown_framing",
} as const;

const P_IDENT = 0;
const P_CLEAR = 1;
const P_FRAMED = 2;
const P_OPAQUE = 3;
const P_FAILED = 4;

const LINE_UNKNOWN = 0;
const LINE_PREFACE = 1;
const LINE_IDENT = 2;

/** One direction of an {@linkcode SshStreamScanner}. All fields are read-only for callers. */
export class SshDirection {
  /** How many encrypted packets get their length recorded. */
  readonly capacity: number;
  /** packet_length of encrypted packet i (i < min(count, capacity)), when lengths are in clear. */
  readonly lengths: Uint32Array;
  /** Stream offset of encrypted packet i. */
  readonly starts: Uint32Array;
  /** Encrypted packets delimited so far (beyond `capacity` too). */
  count = 0;
  /** Bytes fed so far. */
  bytes = 0;
  /** The identification line, once parsed. */
  ident: SshIdent | null = null;
  /** This side's KEXINIT, once parsed. */
  kexInit: SshKexInit | null = null;
  /** Unencrypted binary packets seen (KEXINIT, KEX messages, NEWKEYS…). */
  clearPackets = 0;
  /** Stream offset where encryption starts (just after NEWKEYS); -1 before. */
  newKeysOffset: number = -1;
  /** Bytes of tag/MAC after each encrypted packet; -1 until known. */
  trailer: number = -1;
  /** True when encrypted lengths cannot be read (see `opaqueReason`): use segment sizes. */
  lengthsOpaque = false;
  /** A {@linkcode SshOpaqueReason} when `lengthsOpaque`; `""` otherwise. */
  opaqueReason = "";
  /** True when the encrypted framing was lost after `count` packets (bad length). */
  desync = false;
  /** True when the stream is not SSH or the clear phase is malformed (`failReason`). */
  failed = false;
  /** A {@linkcode SshReason} when `failed`. */
  failReason = "";
  /** Stream offset of the failure or desync; -1 otherwise. */
  failOffset: number = -1;

  #owner: SshStreamScanner;
  #allowPreface: boolean;
  #phase = P_IDENT;
  // identification phase
  #line: Uint8Array | null = null;
  #lineLen = 0;
  #lineKind = LINE_UNKNOWN;
  #preface = 0;
  // packet phases
  #hdr = 0;
  #hdrHave = 0;
  #hdrWant = 6;
  #pktStart = 0;
  #bodyLeft = 0;
  #msg = 0;
  #kex: Uint8Array | null = null;
  #kexHave = 0;
  #kexWant = 0; // payload bytes still to copy into #kex
  #block = 0;

  /** Creates one direction (`server` allows lines before the identification line). */
  constructor(owner: SshStreamScanner, server: boolean, capacity: number) {
    this.#owner = owner;
    this.#allowPreface = server;
    this.capacity = capacity;
    this.lengths = new Uint32Array(capacity);
    this.starts = new Uint32Array(capacity);
  }

  /** True once encrypted packets follow (NEWKEYS seen). */
  get encrypted(): boolean {
    return this.newKeysOffset >= 0;
  }

  /** Forgets everything fed (keeps the arrays). */
  reset(): void {
    this.count = 0;
    this.bytes = 0;
    this.ident = null;
    this.kexInit = null;
    this.clearPackets = 0;
    this.newKeysOffset = -1;
    this.trailer = -1;
    this.lengthsOpaque = false;
    this.opaqueReason = "";
    this.desync = false;
    this.failed = false;
    this.failReason = "";
    this.failOffset = -1;
    this.#phase = P_IDENT;
    this.#lineLen = 0;
    this.#lineKind = LINE_UNKNOWN;
    this.#preface = 0;
    this.#hdr = 0;
    this.#hdrHave = 0;
    this.#hdrWant = 6;
    this.#bodyLeft = 0;
    this.#msg = 0;
    this.#kexHave = 0;
    this.#kexWant = 0;
    this.#block = 0;
  }

  /** Feeds in-order bytes of this direction. */
  feed(buf: Uint8Array, off: number, len: number): void {
    const base = this.bytes - off;
    const end = off + len;
    let i = off;
    while (i < end) {
      switch (this.#phase) {
        case P_IDENT:
          i = this.#identBytes(buf, i, end, base);
          break;
        case P_CLEAR:
        case P_FRAMED:
          i = this.#packetBytes(buf, i, end, base);
          break;
        default:
          i = end;
      }
    }
    this.bytes += len;
  }

  #fail(reason: string, at: number): number {
    this.failed = true;
    this.failReason = reason;
    this.failOffset = at;
    this.#phase = P_FAILED;
    return Number.MAX_SAFE_INTEGER;
  }

  /** Identification phase; returns the next index to process. */
  #identBytes(buf: Uint8Array, i: number, end: number, base: number): number {
    if (this.#lineKind === LINE_UNKNOWN && this.#lineLen === 0) {
      // Fast path: a whole identification line in this segment is parsed in place.
      const r = parseSshIdent(buf, i, end - i, false);
      if (r.status === "ok") return this.#identDone(r, i + r.consumed);
    }
    const want = "SSH-";
    for (; i < end; i++) {
      const c = buf[i];
      if (this.#lineKind === LINE_UNKNOWN) {
        if (c === want.charCodeAt(this.#lineLen)) {
          if (this.#line === null) this.#line = new Uint8Array(SSH_MAX_IDENT);
          this.#line[this.#lineLen++] = c;
          if (this.#lineLen === 4) this.#lineKind = LINE_IDENT;
          continue;
        }
        if (!this.#allowPreface) return this.#fail(SshReason.NOT_SSH, base + i);
        this.#lineKind = LINE_PREFACE;
        this.#preface += this.#lineLen;
        this.#lineLen = 0;
      }
      if (this.#lineKind === LINE_PREFACE) {
        if (c < 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) {
          return this.#fail(SshReason.NOT_SSH, base + i);
        }
        if (++this.#preface > SSH_MAX_PREFACE) {
          return this.#fail(SshReason.PREFACE_TOO_LONG, base + i);
        }
        if (c === 0x0a) this.#lineKind = LINE_UNKNOWN;
        continue;
      }
      if (this.#lineLen >= SSH_MAX_IDENT) return this.#fail(SshReason.IDENT_TOO_LONG, base + i);
      this.#line![this.#lineLen++] = c;
      if (c === 0x0a) {
        const r = parseSshIdent(this.#line!, 0, this.#lineLen, false);
        if (r.status !== "ok") return this.#fail(r.reason || SshReason.BAD_IDENT, base + i);
        return this.#identDone(r, i + 1);
      }
    }
    return i;
  }

  #identDone(r: SshIdent, next: number): number {
    this.ident = r;
    this.#lineLen = 0;
    this.#lineKind = LINE_UNKNOWN;
    this.#phase = P_CLEAR;
    this.#hdrWant = 6;
    return next;
  }

  /** Packet phases; returns the next index to process. */
  #packetBytes(buf: Uint8Array, i: number, end: number, base: number): number {
    if (this.#bodyLeft > 0) {
      const n = this.#bodyLeft < end - i ? this.#bodyLeft : end - i;
      if (this.#kexWant > 0) this.#copyKex(buf, i, n);
      this.#bodyLeft -= n;
      i += n;
      if (this.#bodyLeft === 0) this.#packetDone(base + i);
      return i;
    }
    const want = this.#hdrWant;
    if (this.#hdrHave === 0) this.#pktStart = base + i;
    let h: number;
    let at = i;
    if (this.#hdrHave === 0 && end - i >= want) {
      h = 0;
      for (let k = 0; k < want; k++) h = h * 256 + buf[i + k];
      at = i + want;
    } else {
      while (at < end && this.#hdrHave < want) {
        this.#hdr = this.#hdr * 256 + buf[at++];
        this.#hdrHave++;
      }
      if (this.#hdrHave < want) return at;
      h = this.#hdr;
      this.#hdr = 0;
      this.#hdrHave = 0;
    }
    if (this.#phase === P_CLEAR) return this.#clearHeader(buf, h, at, end);
    // Encrypted, packet_length in clear.
    const length = h;
    if (length < 5 || length > SSH_MAX_PACKET || (this.#block > 0 && length % this.#block !== 0)) {
      this.desync = true;
      this.failOffset = this.#pktStart;
      this.#phase = P_OPAQUE;
      return end;
    }
    const k = this.count++;
    if (k < this.capacity) {
      this.lengths[k] = length;
      this.starts[k] = this.#pktStart;
    }
    this.#bodyLeft = length + this.trailer;
    return at;
  }

  /** Header of an unencrypted packet: u32 length, padding length, message number. */
  #clearHeader(buf: Uint8Array, h: number, at: number, end: number): number {
    const length = Math.floor(h / 65536);
    const pad = Math.floor(h / 256) % 256;
    this.#msg = h % 256;
    const why = sshClearHeaderProblem(length, pad, 5);
    if (why !== "") return this.#fail(why, this.#pktStart);
    this.clearPackets++;
    this.#bodyLeft = length - 2;
    this.#kexWant = 0;
    if (this.#msg === SshMsg.KEXINIT && this.kexInit === null) {
      const payload = length - pad - 1;
      const msgAt = at - 1;
      if (end - msgAt >= payload) {
        this.#takeKex(parseSshKexInit(buf, msgAt, payload));
      } else {
        if (this.#kex === null || this.#kex.length < payload) {
          this.#kex = new Uint8Array(
            payload < SSH_MAX_CLEAR_PACKET ? payload : SSH_MAX_CLEAR_PACKET,
          );
        }
        this.#kex[0] = this.#msg;
        this.#kexHave = 1;
        this.#kexWant = payload - 1;
      }
    }
    if (this.#bodyLeft === 0) this.#packetDone(this.#pktStart + 4 + length);
    return at;
  }

  #copyKex(buf: Uint8Array, i: number, n: number): void {
    const k = this.#kex!;
    const take = n < this.#kexWant ? n : this.#kexWant;
    let o = this.#kexHave;
    for (let j = 0; j < take; j++) k[o++] = buf[i + j];
    this.#kexHave = o;
    this.#kexWant -= take;
    if (this.#kexWant === 0) this.#takeKex(parseSshKexInit(k, 0, this.#kexHave));
  }

  #takeKex(r: SshKexInit): void {
    this.#kexWant = 0;
    if (r.status !== "ok") {
      this.#fail(SshReason.BAD_KEXINIT, this.#pktStart);
      return;
    }
    this.kexInit = r;
    this.#owner._kexInitSeen();
  }

  /** The body of the current packet has been fully consumed. */
  #packetDone(next: number): void {
    if (this.#phase === P_CLEAR && this.#msg === SshMsg.NEWKEYS) {
      this.newKeysOffset = next;
      const n = this.#owner.negotiated;
      if (n === null) return this.#opaque(SshOpaqueReason.NO_NEGOTIATION);
      const f = this === this.#owner.client ? n.framingC2S : n.framingS2C;
      if (f.trailer < 0 && f.lengthInClear) return this.#opaque(SshOpaqueReason.UNKNOWN_FRAMING);
      this.trailer = f.trailer;
      if (!f.lengthInClear) {
        return this.#opaque(
          f.trailer < 0 ? SshOpaqueReason.UNKNOWN_FRAMING : SshOpaqueReason.CIPHER,
        );
      }
      this.#block = f.block;
      this.#phase = P_FRAMED;
      this.#hdrWant = 4;
    }
  }

  #opaque(reason: string): void {
    this.lengthsOpaque = true;
    this.opaqueReason = reason;
    this.#phase = P_OPAQUE;
  }
}

/**
 * Follows an SSH connection from both sides' in-order bytes: identification
 * lines, both KEXINITs (then `negotiated`), NEWKEYS per direction, and after
 * it the encrypted packet lengths (first `capacity` per direction) when the
 * negotiated cipher leaves them in clear (AES-GCM, `-etm` MACs). Otherwise a
 * direction sets `lengthsOpaque` and the caller falls back to segment sizes.
 * Per segment it only updates numbers; a KEXINIT split across segments is
 * copied once into a buffer allocated on first need.
 */
export class SshStreamScanner {
  /** Client-to-server direction. */
  readonly client: SshDirection;
  /** Server-to-client direction. */
  readonly server: SshDirection;
  /** Negotiated algorithms, once both KEXINITs are parsed. */
  negotiated: SshNegotiated | null = null;

  /** Creates a scanner recording up to `capacity` encrypted packet lengths per direction. */
  constructor(capacity = 32) {
    this.client = new SshDirection(this, false, capacity);
    this.server = new SshDirection(this, true, capacity);
  }

  /** Feeds in-order client-to-server bytes. */
  feedClient(buf: Uint8Array, off: number, len: number): void {
    this.client.feed(buf, off, len);
  }

  /** Feeds in-order server-to-client bytes. */
  feedServer(buf: Uint8Array, off: number, len: number): void {
    this.server.feed(buf, off, len);
  }

  /** True when either direction is not SSH or is malformed before encryption. */
  get failed(): boolean {
    return this.client.failed || this.server.failed;
  }

  /** Forgets both directions (keeps their arrays). */
  reset(): void {
    this.client.reset();
    this.server.reset();
    this.negotiated = null;
  }

  /** Called by a direction when its KEXINIT is parsed. @internal */
  _kexInitSeen(): void {
    const c = this.client.kexInit;
    const s = this.server.kexInit;
    if (c !== null && s !== null && this.negotiated === null) this.negotiated = negotiateSsh(c, s);
  }
}
