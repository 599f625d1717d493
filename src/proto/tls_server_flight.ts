/**
 * Follows the server's first TLS flight (RFC 5246 §7.3, RFC 8446 §4) in
 * one direction of a stream: record framing, handshake messages gathered
 * across records and segments, the ServerHello's version and cipher suite,
 * and the first certificate of a TLS ≤ 1.2 Certificate message. It stops at
 * the ServerHelloDone, at a TLS 1.3 ServerHello (everything after it is
 * encrypted), at the first non-handshake record, or when the flight outgrows
 * its buffer. Feeding allocates nothing once the buffer exists (one per
 * instance, created at the first handshake byte).
 *
 * @module
 */

import { readU16, readU24 } from "./bytes.ts";
import { TlsContentType, TlsExtension, TlsHandshakeType } from "./tls_registry.ts";

/** States of a {@linkcode TlsServerFlight}. */
export const FlightState = {
  /** No complete ServerHello yet. */
  WAITING: 0,
  /** ServerHello parsed (TLS ≤ 1.2); the Certificate has not come yet. */
  HELLO: 1,
  /** The first certificate is complete at `certOff`/`certLen` of {@linkcode TlsServerFlight.buffer}. */
  CERTIFICATE: 2,
  /** The flight ended (ServerHelloDone, or another record type) without a certificate. */
  NO_CERTIFICATE: 3,
  /** TLS 1.3 (or a HelloRetryRequest): the certificate is encrypted. */
  TLS13: 4,
  /** Not TLS, or a malformed flight. */
  NOT_TLS: 5,
  /** The flight outgrew the buffer before its certificate was complete. */
  TOO_LONG: 6,
} as const;

/** Bytes of handshake messages kept per flight (a certificate chain beyond it is cut). */
const FLIGHT_MAX_BYTES = 16384;

const CERTIFICATE = 11;
const SERVER_HELLO_DONE = 14;
const TLS13 = 0x0304;

/**
 * The server's first flight of one TLS connection. Feed the server→client
 * stream bytes in order with {@linkcode TlsServerFlight.feed}; read `state`
 * after each call. {@linkcode TlsServerFlight.reset} readies it for another
 * connection (the buffer is kept).
 */
export class TlsServerFlight {
  /** A {@linkcode FlightState}. */
  state: number = FlightState.WAITING;
  /** Negotiated version (ServerHello's, or supported_versions' for TLS 1.3); 0 before. */
  version = 0;
  /** Negotiated cipher suite; −1 before the ServerHello. */
  cipherSuite = -1;
  /** Offset of the first certificate's DER in {@linkcode buffer} (state CERTIFICATE). */
  certOff = 0;
  /** Length of that certificate. */
  certLen = 0;
  /** Stream bytes fed. */
  fed = 0;

  #hs: Uint8Array | null = null; // handshake message bytes, record headers stripped
  #hsLen = 0;
  #parsed = 0; // messages before this offset are done
  #hdr = 0; // record header bytes gathered (packed)
  #hdrHave = 0;
  #bodyLeft = 0; // bytes left of the current record's body
  #bodyType = 0;

  /** True once the flight needs no more bytes (decided either way). */
  get done(): boolean {
    return this.state >= FlightState.CERTIFICATE;
  }

  /** The buffer holding the certificate at `certOff`/`certLen`. */
  get buffer(): Uint8Array {
    return this.#hs ?? EMPTY;
  }

  /** Forget everything fed; keeps the buffer. */
  reset(): void {
    this.state = FlightState.WAITING;
    this.version = 0;
    this.cipherSuite = -1;
    this.certOff = this.certLen = this.fed = 0;
    this.#hsLen = this.#parsed = 0;
    this.#hdr =
      this.#hdrHave =
      this.#bodyLeft =
      this.#bodyType =
        0;
  }

  /** Feed in-order server→client stream bytes `buf[off, off + len)`. */
  feed(buf: Uint8Array, off: number, len: number): void {
    this.fed += len;
    const end = off + len;
    let i = off;
    while (i < end && !this.done) {
      if (this.#bodyLeft > 0) {
        const n = this.#bodyLeft < end - i ? this.#bodyLeft : end - i;
        this.#bodyLeft -= n;
        if (this.#bodyType === TlsContentType.HANDSHAKE) {
          this.#append(buf, i, n);
          this.#messages();
        }
        i += n;
        continue;
      }
      // Record header, possibly split across calls.
      while (i < end && this.#hdrHave < 5) {
        this.#hdr = this.#hdr * 256 + buf[i++];
        this.#hdrHave++;
      }
      if (this.#hdrHave < 5) break;
      const h = this.#hdr;
      this.#hdr = this.#hdrHave = 0;
      const type = Math.floor(h / 2 ** 32);
      const major = Math.floor(h / 2 ** 24) % 256;
      const length = h % 65536;
      if (type < 20 || type > 24 || major !== 3 || length > 16384 + 2048) {
        this.state = FlightState.NOT_TLS;
        return;
      }
      if (type !== TlsContentType.HANDSHAKE) {
        // ChangeCipherSpec, alert or data: the plaintext flight is over.
        this.state = this.state === FlightState.WAITING
          ? FlightState.NOT_TLS
          : FlightState.NO_CERTIFICATE;
        return;
      }
      this.#bodyType = type;
      this.#bodyLeft = length;
      if (length === 0) {
        this.state = FlightState.NOT_TLS; // RFC 5246 §6.2.1: no empty handshake fragments
        return;
      }
    }
  }

  #append(buf: Uint8Array, off: number, n: number): void {
    if (this.#hs === null) this.#hs = new Uint8Array(FLIGHT_MAX_BYTES);
    const room = FLIGHT_MAX_BYTES - this.#hsLen;
    const k = n < room ? n : room;
    const hs = this.#hs, at = this.#hsLen;
    for (let j = 0; j < k; j++) hs[at + j] = buf[off + j];
    this.#hsLen += k;
  }

  /** Parse the complete messages gathered so far. */
  #messages(): void {
    const hs = this.#hs!;
    while (!this.done) {
      const p = this.#parsed;
      if (this.#hsLen - p < 4) break;
      const type = hs[p];
      const mlen = readU24(hs, p + 1);
      if (p + 4 + mlen > this.#hsLen) {
        this.#incomplete(type, p, mlen);
        break;
      }
      this.#message(type, p + 4, mlen);
      this.#parsed = p + 4 + mlen;
    }
  }

  /**
   * The message at `p` is not complete yet. A certificate is read as soon as
   * its first entry is (a long chain may never fit); a message that cannot
   * fit the buffer ends the flight.
   */
  #incomplete(type: number, p: number, mlen: number): void {
    const hs = this.#hs!;
    const avail = this.#hsLen - p - 4;
    if (type === CERTIFICATE && this.state === FlightState.HELLO) {
      if (avail >= 6 && 6 + readU24(hs, p + 7) <= avail) this.#certificate(p + 4, avail);
      else if (this.#hsLen === FLIGHT_MAX_BYTES) this.state = FlightState.TOO_LONG;
      return;
    }
    if (p + 4 + mlen > FLIGHT_MAX_BYTES) this.state = FlightState.TOO_LONG;
  }

  #message(type: number, off: number, len: number): void {
    if (this.state === FlightState.WAITING) {
      if (type !== TlsHandshakeType.SERVER_HELLO) {
        this.state = FlightState.NOT_TLS;
        return;
      }
      this.#serverHello(off, len);
      return;
    }
    if (type === CERTIFICATE) this.#certificate(off, len);
    else if (type === SERVER_HELLO_DONE) this.state = FlightState.NO_CERTIFICATE;
  }

  #serverHello(off: number, len: number): void {
    const hs = this.#hs!;
    const end = off + len;
    // legacy_version(2) random(32) session_id(1+n) cipher_suite(2) compression(1)
    if (len < 38) return this.#notTls();
    const legacy = readU16(hs, off);
    if (hs[off] !== 3) return this.#notTls();
    let p = off + 34;
    const sid = hs[p];
    if (sid > 32) return this.#notTls();
    p += 1 + sid;
    if (p + 3 > end) return this.#notTls();
    this.cipherSuite = readU16(hs, p);
    p += 3;
    this.version = legacy;
    if (p + 2 <= end) {
      const extEnd = p + 2 + readU16(hs, p);
      if (extEnd > end) return this.#notTls();
      p += 2;
      while (p + 4 <= extEnd) {
        const t = readU16(hs, p), l = readU16(hs, p + 2);
        if (p + 4 + l > extEnd) return this.#notTls();
        if (t === TlsExtension.SUPPORTED_VERSIONS && l === 2) this.version = readU16(hs, p + 4);
        p += 4 + l;
      }
    }
    this.state = this.version >= TLS13 ? FlightState.TLS13 : FlightState.HELLO;
  }

  /** TLS ≤ 1.2 Certificate: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>. */
  #certificate(off: number, len: number): void {
    const hs = this.#hs!;
    if (len < 3) return this.#notTls();
    const listLen = readU24(hs, off);
    if (listLen === 0) {
      this.state = FlightState.NO_CERTIFICATE;
      return;
    }
    if (listLen < 3 || len < 6) return this.#notTls();
    const certLen = readU24(hs, off + 3);
    if (certLen === 0 || certLen + 3 > listLen || off + 6 + certLen > off + len) {
      // Cut by the buffer (TOO_LONG path) or malformed.
      return this.#notTls();
    }
    this.certOff = off + 6;
    this.certLen = certLen;
    this.state = FlightState.CERTIFICATE;
  }

  #notTls(): void {
    this.state = FlightState.NOT_TLS;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * True when `buf[off .. off + len)`, the first bytes of a server's stream,
 * open with a handshake record whose first message is a complete ServerHello
 * choosing TLS 1.3 (supported_versions; a HelloRetryRequest too): the
 * verdict {@linkcode TlsServerFlight} reaches (state TLS13) for the same
 * bytes, taken from one segment without copying. False when the bytes say
 * anything else, or not enough (feed the flight then). Never throws.
 */
export function opensWithTls13Hello(buf: Uint8Array, off: number, len: number): boolean {
  const end = Math.min(off + len, buf.length);
  if (off < 0 || end - off < 9 || buf[off] !== TlsContentType.HANDSHAKE || buf[off + 1] !== 3) {
    return false;
  }
  const recLen = readU16(buf, off + 3);
  if (recLen === 0 || recLen > 16384 + 2048) return false;
  if (buf[off + 5] !== TlsHandshakeType.SERVER_HELLO) return false;
  const mlen = readU24(buf, off + 6);
  const m = off + 9, mEnd = m + mlen;
  // The message within the first record and within the bytes at hand.
  if (4 + mlen > recLen || mEnd > end || mlen < 38 || buf[m] !== 3) return false;
  let p = m + 34;
  const sid = buf[p];
  if (sid > 32) return false;
  p += 1 + sid;
  if (p + 3 > mEnd) return false;
  p += 3;
  let version = readU16(buf, m);
  if (p + 2 <= mEnd) {
    const extEnd = p + 2 + readU16(buf, p);
    if (extEnd > mEnd) return false;
    p += 2;
    while (p + 4 <= extEnd) {
      const t = readU16(buf, p), l = readU16(buf, p + 2);
      if (p + 4 + l > extEnd) return false;
      if (t === TlsExtension.SUPPORTED_VERSIONS && l === 2) version = readU16(buf, p + 4);
      p += 4 + l;
    }
  }
  return version >= TLS13;
}
