/**
 * TLS record layer: header checks, and {@linkcode TlsRecordScanner}, which
 * follows the record framing of one direction of a TCP stream across segment
 * boundaries without allocating per segment.
 *
 * @module
 */

import { readU16, readU24 } from "./bytes.ts";
import { TlsContentType } from "./tls_registry.ts";

/** Size of a TLS record header: type(1) version(2) length(2). */
const TLS_RECORD_HEADER_LEN = 5;
/** Largest record length accepted: 2^14 plaintext + 2048 expansion (RFC 5246 §6.2.3). */
const TLS_MAX_RECORD_LEN: number = 16384 + 2048;
/** Default cap on the bytes {@linkcode TlsRecordScanner} copies for the first handshake message. */
export const TLS_MAX_CAPTURE = 16384;

/** Reasons for a `"no"` record header, and for a scanner desync. */
const TlsRecordReason = {
  /** Content type outside 20–24. */
  BAD_CONTENT_TYPE: "bad_content_type",
  /** Version outside 0x0300–0x0304. */
  BAD_VERSION: "bad_version",
  /** Length above {@linkcode TLS_MAX_RECORD_LEN}. */
  RECORD_TOO_LONG: "record_too_long",
} as const;

/** Checks the header bytes available at `off` (up to 5); returns "" when valid so far. */
function headerProblem(buf: Uint8Array, off: number, len: number): string {
  if (len >= 1 && (buf[off] < 20 || buf[off] > 24)) return TlsRecordReason.BAD_CONTENT_TYPE;
  if (len >= 2 && buf[off + 1] !== 3) return TlsRecordReason.BAD_VERSION;
  if (len >= 3 && buf[off + 2] > 4) return TlsRecordReason.BAD_VERSION;
  if (len >= 5 && readU16(buf, off + 3) > TLS_MAX_RECORD_LEN) {
    return TlsRecordReason.RECORD_TOO_LONG;
  }
  return "";
}

/** States of the first-handshake-message capture of a {@linkcode TlsRecordScanner}. */
export const HandshakeCapture = {
  /** Capture not armed. */
  OFF: 0,
  /** Armed; the first handshake record has not started yet. */
  WAITING: 1,
  /** Copying the message, which spans segments or records. */
  COLLECTING: 2,
  /**
   * Complete inside the buffer passed to the `feed` call that just returned, at
   * `handshakeOff`/`handshakeLen`; nothing was copied. Valid until the next `feed`.
   */
  IN_FEED: 3,
  /** Complete in the capture buffer (`handshakeOff` 0, `handshakeLen`). */
  CAPTURED: 4,
  /** Longer than the capture limit; the capture buffer holds its first `handshakeLen` bytes. */
  TRUNCATED: 5,
  /** A non-handshake record came first or interrupted it, or the framing desynchronised. */
  ABORTED: 6,
  /** Was `IN_FEED` and another `feed` came: the bytes are gone. */
  EXPIRED: 7,
} as const;

/**
 * Follows TLS records in one direction of a stream. Feed in-order bytes with
 * {@linkcode TlsRecordScanner.feed}; read `count`, and for the first
 * `capacity` records `types`, `lengths` and `starts`. Per segment it only
 * updates numbers; the only allocations are the arrays (constructor) and,
 * when armed with {@linkcode TlsRecordScanner.captureHandshake}, one capture
 * buffer for the first handshake message when that message spans segments or
 * records. {@linkcode TlsRecordScanner.reset} makes it ready for another flow.
 */
export class TlsRecordScanner {
  /** How many records get their type, length and start recorded. */
  readonly capacity: number;
  /** Content type of record i (i < min(count, capacity)). */
  readonly types: number[];
  /** Body length of record i. */
  readonly lengths: number[];
  /** Stream offset of record i's header (bytes from the first byte fed). */
  readonly starts: number[];
  /** Records whose header was seen (all of them, beyond `capacity` too). */
  count = 0;
  /** Bytes fed so far. */
  bytes = 0;
  /** True once a header was invalid; the scanner then ignores further bytes. */
  desync = false;
  /** The {@linkcode TlsRecordReason} of the desync; `""` otherwise. */
  desyncReason = "";
  /** Stream offset of the invalid header; -1 without desync. */
  desyncOffset: number = -1;
  /** A {@linkcode HandshakeCapture} state. */
  handshakeState: number = HandshakeCapture.OFF;
  /** Offset of the first handshake message in the buffer from {@linkcode handshakeBuffer}. */
  handshakeOff = 0;
  /** Length of that message (or of its captured prefix when truncated). */
  handshakeLen = 0;

  #hdr = 0; // header bytes gathered so far, packed
  #hdrHave = 0;
  #hdrStart = 0;
  #bodyLeft = 0;
  #curType = 0;
  #capture: Uint8Array | null = null;
  #captureMax = TLS_MAX_CAPTURE;
  #captureTotal = -1; // 4 + message length, once known
  #pre = 0; // first handshake bytes before the message length is known
  #preHave = 0;

  /** Creates a scanner recording the first `capacity` records (default 32). */
  constructor(capacity = 32) {
    this.capacity = capacity;
    this.types = [];
    this.lengths = [];
    this.starts = [];
  }

  /** Forgets everything fed so far; keeps the arrays and any capture buffer. */
  reset(): void {
    this.count = 0;
    this.bytes = 0;
    this.desync = false;
    this.desyncReason = "";
    this.desyncOffset = -1;
    this.handshakeState = HandshakeCapture.OFF;
    this.handshakeOff = 0;
    this.handshakeLen = 0;
    this.#hdr = 0;
    this.#hdrHave = 0;
    this.#hdrStart = 0;
    this.#bodyLeft = 0;
    this.#curType = 0;
    this.#captureTotal = -1;
    this.#pre = 0;
    this.#preHave = 0;
  }

  /**
   * Arms the capture of the first handshake message (the ClientHello on the
   * client side, the ServerHello on the server side), record headers
   * stripped, up to `maxBytes`. Call before that record's header is fed.
   */
  captureHandshake(maxBytes: number = TLS_MAX_CAPTURE): void {
    if (this.handshakeState !== HandshakeCapture.OFF) return;
    this.#captureMax = maxBytes;
    this.handshakeState = HandshakeCapture.WAITING;
  }

  /**
   * The buffer holding the first handshake message at
   * `handshakeOff`/`handshakeLen`: `fed` (the buffer given to the last `feed`)
   * when `IN_FEED`, the capture buffer when `CAPTURED` or `TRUNCATED`, else null.
   */
  handshakeBuffer(fed: Uint8Array): Uint8Array | null {
    const s = this.handshakeState;
    if (s === HandshakeCapture.IN_FEED) return fed;
    if (s === HandshakeCapture.CAPTURED || s === HandshakeCapture.TRUNCATED) return this.#capture;
    return null;
  }

  /** True when the first handshake message is complete (`IN_FEED` or `CAPTURED`). */
  get handshakeReady(): boolean {
    return this.handshakeState === HandshakeCapture.IN_FEED ||
      this.handshakeState === HandshakeCapture.CAPTURED;
  }

  /** Feeds in-order stream bytes `[off, off + len)`. */
  feed(buf: Uint8Array, off: number, len: number): void {
    if (this.handshakeState === HandshakeCapture.IN_FEED) {
      this.handshakeState = HandshakeCapture.EXPIRED;
    }
    if (this.desync) {
      this.bytes += len;
      return;
    }
    const base = this.bytes - off; // stream offset of buf[i] is base + i
    const end = off + len;
    let i = off;
    while (i < end) {
      if (this.#bodyLeft > 0) {
        const n = this.#bodyLeft < end - i ? this.#bodyLeft : end - i;
        if (this.handshakeState === HandshakeCapture.COLLECTING) this.#collect(buf, i, n);
        this.#bodyLeft -= n;
        i += n;
        continue;
      }
      let t: number;
      let length: number;
      let bodyAt: number;
      if (this.#hdrHave === 0 && end - i >= TLS_RECORD_HEADER_LEN) {
        const why = headerProblem(buf, i, TLS_RECORD_HEADER_LEN);
        if (why !== "") return this.#desync(why, base + i, len);
        this.#hdrStart = base + i;
        t = buf[i];
        length = readU16(buf, i + 3);
        i += TLS_RECORD_HEADER_LEN;
        bodyAt = i;
      } else {
        if (this.#hdrHave === 0) this.#hdrStart = base + i;
        while (i < end && this.#hdrHave < TLS_RECORD_HEADER_LEN) {
          this.#hdr = this.#hdr * 256 + buf[i++];
          this.#hdrHave++;
        }
        if (this.#hdrHave < TLS_RECORD_HEADER_LEN) break;
        const h = this.#hdr;
        this.#hdr = 0;
        this.#hdrHave = 0;
        t = Math.floor(h / 2 ** 32);
        const version = Math.floor(h / 65536) % 65536;
        length = h % 65536;
        let why = "";
        if (t < 20 || t > 24) why = TlsRecordReason.BAD_CONTENT_TYPE;
        else if (version < 0x0300 || version > 0x0304) why = TlsRecordReason.BAD_VERSION;
        else if (length > TLS_MAX_RECORD_LEN) why = TlsRecordReason.RECORD_TOO_LONG;
        if (why !== "") return this.#desync(why, this.#hdrStart, len);
        bodyAt = i;
      }
      const k = this.count++;
      if (k < this.capacity) {
        this.types[k] = t;
        this.lengths[k] = length;
        this.starts[k] = this.#hdrStart;
      }
      this.#curType = t;
      this.#bodyLeft = length;
      if (this.handshakeState === HandshakeCapture.WAITING) this.#startCapture(buf, bodyAt, end);
      else if (this.handshakeState === HandshakeCapture.COLLECTING && t !== 22) {
        this.handshakeState = HandshakeCapture.ABORTED;
      }
    }
    this.bytes += len;
  }

  #desync(reason: string, at: number, len: number): void {
    this.desync = true;
    this.desyncReason = reason;
    this.desyncOffset = at;
    this.bytes += len;
    if (this.handshakeState === HandshakeCapture.COLLECTING) {
      this.handshakeState = HandshakeCapture.ABORTED;
    }
  }

  /** A record header just passed while armed: in place when possible, else start copying. */
  #startCapture(buf: Uint8Array, bodyAt: number, end: number): void {
    if (this.#curType !== TlsContentType.HANDSHAKE) {
      this.handshakeState = HandshakeCapture.ABORTED;
      return;
    }
    const length = this.#bodyLeft;
    if (length >= 4 && end - bodyAt >= 4) {
      const total = 4 + readU24(buf, bodyAt + 1);
      if (total <= length && bodyAt + total <= end && total <= this.#captureMax) {
        this.handshakeState = HandshakeCapture.IN_FEED;
        this.handshakeOff = bodyAt;
        this.handshakeLen = total;
        return;
      }
    }
    this.handshakeState = HandshakeCapture.COLLECTING;
    this.handshakeOff = 0;
    this.handshakeLen = 0;
    this.#captureTotal = -1;
    this.#pre = 0;
    this.#preHave = 0;
  }

  /** Copies `n` handshake body bytes at `buf[i]` into the capture. */
  #collect(buf: Uint8Array, i: number, n: number): void {
    if (this.#preHave === 0 && n >= 4) {
      // Nothing gathered yet (the header ended a segment): maybe whole here.
      const total = 4 + readU24(buf, i + 1);
      if (total <= n && total <= this.#captureMax) {
        this.handshakeState = HandshakeCapture.IN_FEED;
        this.handshakeOff = i;
        this.handshakeLen = total;
        return;
      }
    }
    let p = i;
    const stop = i + n;
    while (this.#captureTotal < 0 && p < stop) {
      this.#pre = this.#pre * 256 + buf[p++];
      if (++this.#preHave === 4) {
        this.#captureTotal = 4 + (this.#pre & 0xffffff);
        const size = this.#captureTotal < this.#captureMax ? this.#captureTotal : this.#captureMax;
        if (this.#capture === null || this.#capture.length < size) {
          this.#capture = new Uint8Array(size);
        }
        const c = this.#capture;
        const pre = this.#pre >>> 0;
        c[0] = pre >>> 24;
        c[1] = (pre >>> 16) & 0xff;
        c[2] = (pre >>> 8) & 0xff;
        c[3] = pre & 0xff;
        this.handshakeLen = 4;
      }
    }
    if (this.#captureTotal < 0 || p === stop) {
      this.#finishCapture();
      return;
    }
    const c = this.#capture!;
    const limit = this.#captureTotal < this.#captureMax ? this.#captureTotal : this.#captureMax;
    const take = limit - this.handshakeLen < stop - p ? limit - this.handshakeLen : stop - p;
    let o = this.handshakeLen;
    for (let k = 0; k < take; k++) c[o++] = buf[p + k];
    this.handshakeLen = o;
    this.#finishCapture();
  }

  #finishCapture(): void {
    if (this.#captureTotal < 0) return;
    if (this.handshakeLen === this.#captureTotal) this.handshakeState = HandshakeCapture.CAPTURED;
    else if (this.handshakeLen >= this.#captureMax) {
      this.handshakeState = HandshakeCapture.TRUNCATED;
    }
  }
}
