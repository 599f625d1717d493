/**
 * Turns the TLS record sequence of a connection (both directions, in
 * arrival order) into the application messages under the encryption:
 * handshake records are skipped (TLS 1.2 and 1.3, incl. 1.3's encrypted
 * handshake and its post-handshake NewSessionTickets), consecutive
 * application-data records in one direction form one message, and each
 * record's overhead (header, AEAD tag, TLS 1.3 inner type) is subtracted to
 * estimate the plaintext size.
 *
 * @module
 */

import { TlsContentType } from "../proto/tls_registry.ts";

/**
 * Records of one message are written at once and travel in one flight; a
 * same-direction record arriving after this much idle time (s) starts a new
 * message (e.g. the server's first keep-alive after its welcome).
 */
export const MESSAGE_GAP = 0.08;

/** Largest TLS 1.3 post-handshake record taken for a NewSessionTicket. */
const MAX_TICKET_RECORD = 300;

/** Receives complete application messages. */
export interface MessageSink {
  /** A message of `size` plaintext bytes in direction `dir` ended at `ts` (began at `start`). */
  message(dir: number, size: number, start: number, ts: number, records: number): void;
  /**
   * One application-data record (plaintext estimate), after any message it
   * ended was passed on; `index` is its place in the message being built.
   */
  appRecord?(dir: number, size: number, ts: number, index: number): void;
}

/** Assembles application messages from TLS records. */
export class TlsMessages {
  /** True once the protocol is known to be TLS 1.3 (app data before the client's Finished). */
  tls13 = false;
  /** True once the client's Finished went by: records after it carry application data. */
  handshakeDone = false;
  /** TLS 1.3 NewSessionTicket records seen, and the largest of them. */
  ticketRecords = 0;
  /** Length of the largest NewSessionTicket record. */
  maxTicketRecord = 0;

  #clientCcs = false;
  #serverMessages = 0;
  #curDir = -1;
  #curSize = 0;
  #curStart = 0;
  #curLast = 0;
  #curRecords = 0;

  /**
   * The stream was picked up after the TLS handshake: every record from
   * here is application data (TLS 1.3's overhead assumed; no record is
   * taken for a ticket, those went by before).
   */
  pickUp(): void {
    this.handshakeDone = true;
    this.tls13 = true;
    this.#serverMessages = 1;
  }

  /** Offer one record: direction, content type, record length (excluding the 5-byte header). */
  record(dir: number, type: number, len: number, ts: number, out: MessageSink): void {
    if (!this.handshakeDone) {
      if (dir === 0) {
        if (type === TlsContentType.CHANGE_CIPHER_SPEC) this.#clientCcs = true;
        else if (type === TlsContentType.APPLICATION_DATA) {
          // TLS 1.3: the client's first encrypted record is its Finished.
          this.tls13 = true;
          this.handshakeDone = true;
        } else if (type === TlsContentType.HANDSHAKE && this.#clientCcs) {
          this.handshakeDone = true; // TLS 1.2: encrypted Finished after ChangeCipherSpec
        }
      } else if (type === TlsContentType.APPLICATION_DATA) {
        this.tls13 = true; // TLS 1.3 encrypted server flight
      }
      return;
    }
    if (type !== TlsContentType.APPLICATION_DATA) return;
    if (
      dir === 1 && this.tls13 && this.#serverMessages === 0 && this.#curDir !== 1 &&
      len <= MAX_TICKET_RECORD
    ) {
      this.ticketRecords++; // TLS 1.3 NewSessionTicket
      if (len > this.maxTicketRecord) this.maxTicketRecord = len;
      return;
    }
    const plain = len - (this.tls13 ? 17 : 24);
    if (dir !== this.#curDir || ts - this.#curLast > MESSAGE_GAP) {
      this.flush(out);
      this.#curDir = dir;
      this.#curStart = ts;
      if (dir === 1) this.#serverMessages++;
    }
    out.appRecord?.(dir, plain, ts, this.#curRecords);
    this.#curSize += plain > 0 ? plain : 0;
    this.#curLast = ts;
    this.#curRecords++;
  }

  /** Direction of the message being assembled (-1 when none). */
  get pendingDir(): number {
    return this.#curDir;
  }

  /** Plaintext bytes of the message being assembled so far. */
  get pendingSize(): number {
    return this.#curSize;
  }

  /** Time of the last record of the pending message. */
  get pendingLast(): number {
    return this.#curLast;
  }

  /** End the pending message (direction change, close, or a timer). */
  flush(out: MessageSink): void {
    if (this.#curDir < 0) return;
    out.message(this.#curDir, this.#curSize, this.#curStart, this.#curLast, this.#curRecords);
    this.#curDir = -1;
    this.#curSize = 0;
    this.#curRecords = 0;
  }
}
