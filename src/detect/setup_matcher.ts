/**
 * Follows SoftEther's set-up alternation (handshake_pattern.ts) over a
 * sequence of complete messages — one matcher shared by the TLS path
 * (messages assembled from TLS records) and the size paths (bursts inside
 * SSH, TLS whose records a short snaplen cut away).
 *
 * Rules on top of {@linkcode advance}: a message split by a pause arrives as
 * two same-direction messages and is joined; up to `preambles` short
 * request/answer exchanges may precede the watermark (TLS Finished answered
 * by tickets, SoftEther's short request); a short answer to a login may be
 * continued once (a welcome split by a pause); on the size paths TLS 1.3
 * tickets may come on their own, or ride with the hello.
 *
 * @module
 */

import { advance, SETUP_MESSAGE_MAX, SIZES, Stage } from "./handshake_pattern.ts";

/** TLS 1.3 session tickets that may ride with the hello in one burst. */
const TICKETS = 300;

/** Matches the set-up alternation over complete messages. */
export class SetupMatcher {
  /** Stage reached ({@linkcode Stage}). */
  stage: number = Stage.NONE;
  readonly #preambles: number;
  readonly #sizes: boolean;
  #prevStage: number = Stage.NONE;
  #lastDir = -1;
  #lastSize = 0;
  #preamble = 0;
  #refusedJoined = false;

  /**
   * `preambles`: short exchanges allowed before the watermark; `sizes`: the
   * messages are burst sizes (tickets may stand alone or ride with the hello).
   */
  constructor(preambles = 1, sizes = false) {
    this.#preambles = preambles;
    this.#sizes = sizes;
  }

  /** Direction of the last set-up message (−1 before). */
  get lastDir(): number {
    return this.#lastDir;
  }

  /** Size of the last set-up message (its joined parts included). */
  get lastSize(): number {
    return this.#lastSize;
  }

  /** True once the set-up ended (welcome, short reply or refusal). */
  get complete(): boolean {
    const st = this.stage;
    return st === Stage.WELCOME || st === Stage.SHORT_REPLY || st === Stage.LOGIN_REFUSED;
  }

  #advance(stage: number, dir: number, size: number): number {
    if (this.#sizes && stage === Stage.WATERMARK && size > SIZES.hello.max) size -= TICKETS;
    return advance(stage, dir, size);
  }

  /**
   * One complete message; returns true when it was part of the set-up, false
   * when it is tunnel traffic after the set-up (or the match already failed).
   */
  message(dir: number, size: number): boolean {
    const st = this.stage;
    if (st === Stage.MISMATCH || st === Stage.WELCOME || st === Stage.SHORT_REPLY) return false;
    if (st === Stage.LOGIN_REFUSED) {
      // More from the server after a short answer to a login: a welcome
      // split by a pause? Re-evaluate the joined answer once.
      if (dir !== 1 || this.#refusedJoined) return false;
      this.#refusedJoined = true;
      this.#lastSize += size;
      if (this.#advance(this.#prevStage, dir, this.#lastSize) !== Stage.WELCOME) return false;
      this.stage = Stage.WELCOME;
      return true;
    }
    if (dir === this.#lastDir && st !== Stage.NONE) {
      this.#lastSize += size;
      this.stage = this.#advance(this.#prevStage, dir, this.#lastSize);
      return true;
    }
    if (st === Stage.NONE) {
      const p = this.#preamble;
      if (p < 2 * this.#preambles && p % 2 === 0 && dir === 0 && size < SIZES.watermark.min) {
        this.#preamble++; // a short request may precede the watermark …
        this.#lastDir = -1;
        return true;
      }
      if (p % 2 === 1 && dir === 1) {
        // … and its answer (a set-up-sized message too).
        if (size > SETUP_MESSAGE_MAX) this.stage = Stage.MISMATCH;
        this.#preamble++;
        return true;
      }
    }
    if (this.#sizes && st === Stage.WATERMARK && dir === 1 && size < SIZES.hello.min) {
      return true; // TLS 1.3 tickets on their own before the hello
    }
    this.#prevStage = st;
    this.#lastDir = dir;
    this.#lastSize = size;
    this.stage = this.#advance(st, dir, size);
    return true;
  }
}
