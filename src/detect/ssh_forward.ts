/**
 * SoftEther carried through an SSH port forward (`ssh -L`). The sensor sees
 * only SSH, but the forwarded TLS + SoftEther exchange survives in the sizes,
 * directions and order of the SSH connection's bursts (the "encapsulated TLS
 * handshake" idea of Xue et al., 2024): a ClientHello-sized burst, the TLS
 * server flight, then SoftEther's watermark / hello / login / welcome
 * alternation, then tunnel traffic flowing both ways. TLS ciphertext does
 * not compress, so `ssh -C` keeps the sizes; SSH framing adds a few dozen
 * bytes per packet, which the ranges allow for.
 *
 * Bursts below {@linkcode NOISE_BYTES} (keystrokes and echoes of a shell
 * multiplexed in the same connection, window adjustments) are ignored, and
 * same-direction bursts around them merge.
 *
 * @module
 */

import { advance, inRange, type Range, SIZES, Stage } from "./handshake_pattern.ts";
import { MESSAGE_GAP } from "./tls_messages.ts";
import { Verdict } from "./verdict.ts";

/** Bursts smaller than this are treated as interactive noise. */
export const NOISE_BYTES = 100;
/** Messages kept per connection for the search. */
const MAX_MESSAGES = 96;
/** Seconds allowed after the welcome for tunnel traffic to show (packet time). */
export const SSH_DECISION_WINDOW = 12;
/** Tunnel messages required in each direction after the welcome. */
const TUNNEL_MESSAGES = 1;

/** The inner TLS ClientHello, with SSH framing (one or two SSH packets). */
const CLIENT_HELLO: Range = { min: 200, max: 2600 };
/** The inner TLS server flight (ServerHello … Finished, certificate included). */
const SERVER_FLIGHT: Range = { min: 700, max: 12000 };
/** SSH framing of one burst (packet length, padding, MAC or tag, channel header). */
const SSH_FRAMING = 60;
/** TLS 1.3 session tickets that may ride with the hello. */
const TICKETS = 300;

/** The hello may carry the TLS 1.3 session tickets in the same burst. */
function helloAllowance(stage: number, size: number): number {
  return stage === Stage.WATERMARK && size > SIZES.hello.max ? size - TICKETS : size;
}

/** Detects SoftEther's pattern inside one SSH connection. */
export class SshForwardDetector {
  /** Signals that fired. */
  readonly evidence: string[] = [];
  /** Confidence of the decision. */
  confidence = 0;
  /** Packet time by which the decision is due (0 = none). */
  deadline = 0;

  readonly #dir = new Int8Array(MAX_MESSAGES);
  readonly #size = new Float64Array(MAX_MESSAGES);
  readonly #end = new Float64Array(MAX_MESSAGES);
  #n = 0;
  #burstDir = -1;
  #burstSize = 0;
  #burstEnd = 0;
  #mergeNext = false;
  #welcomeAt = -1; // message index of the welcome, once matched
  #welcomeTs = 0;

  /** Packet time of the inner welcome (end of the set-up); 0 before. */
  get setupTs(): number {
    return this.#welcomeTs;
  }
  #attempt = false;
  #short = false;

  /** One packet's payload size (in-order, not retransmitted). */
  packet(dir: number, len: number, _flags: number, ts: number): void {
    if (len === 0) return;
    if (dir !== this.#burstDir || ts - this.#burstEnd > MESSAGE_GAP) this.#closeBurst();
    this.#burstDir = dir;
    this.#burstSize += len;
    this.#burstEnd = ts;
  }

  /** Check for a decision after each packet. */
  poll(ts: number): number {
    if (this.#welcomeAt < 0) return Verdict.UNDECIDED;
    return this.#tunnelVerdict(ts, false);
  }

  /** Decision timer. */
  timer(ts: number): number {
    this.#closeBurst();
    return this.#tunnelVerdict(ts, true);
  }

  /** Connection end. */
  close(ts: number): number {
    this.#closeBurst();
    if (this.#welcomeAt < 0) return Verdict.NOT_SOFTETHER;
    const v = this.#tunnelVerdict(ts, true);
    return v === Verdict.UNDECIDED ? Verdict.NOT_SOFTETHER : v;
  }

  #closeBurst(): void {
    if (this.#burstDir < 0) return;
    const d = this.#burstDir, size = this.#burstSize, end = this.#burstEnd;
    this.#burstDir = -1;
    this.#burstSize = 0;
    if (size < NOISE_BYTES) {
      this.#mergeNext = true; // same-direction bursts around noise are one message
      return;
    }
    if (this.#n > 0 && this.#dir[this.#n - 1] === d && this.#mergeNext) {
      this.#size[this.#n - 1] += size; // merge across ignored noise
      this.#end[this.#n - 1] = end;
    } else if (this.#n < MAX_MESSAGES) {
      this.#dir[this.#n] = d;
      this.#size[this.#n] = size;
      this.#end[this.#n] = end;
      this.#n++;
    }
    this.#mergeNext = false;
    if (this.#welcomeAt < 0) this.#search();
  }

  /** Look for ClientHello, server flight and the set-up alternation ending in the newest message. */
  #search(): void {
    const n = this.#n;
    for (let i = 0; i + 5 < n; i++) {
      if (this.#dir[i] !== 0 || !inRange(this.#size[i], CLIENT_HELLO)) continue;
      if (this.#dir[i + 1] !== 1 || !inRange(this.#size[i + 1], SERVER_FLIGHT)) continue;
      let st: number = Stage.NONE, prevSt: number = Stage.NONE;
      let lastDir = -1, acc = 0, pre = 0;
      for (let j = i + 2; j < n; j++) {
        const d = this.#dir[j];
        const sz = Math.max(0, this.#size[j] - SSH_FRAMING);
        // TLS 1.3 session tickets may come on their own before the hello.
        if (st === Stage.WATERMARK && d === 1 && sz < SIZES.hello.min) continue;
        if (d === lastDir && st !== Stage.NONE) {
          // One message split by a pause: join and re-evaluate.
          acc += sz;
          st = advance(prevSt, d, helloAllowance(prevSt, acc));
        } else {
          // Up to two short exchanges may come first: the TLS Finished
          // answered by session tickets, and SoftEther's short request.
          if (
            st === Stage.NONE && pre < 4 && pre % 2 === 0 && d === 0 && sz < SIZES.watermark.min
          ) {
            pre++;
            continue;
          }
          if (st === Stage.NONE && pre % 2 === 1 && d === 1) {
            pre++;
            continue;
          }
          prevSt = st;
          lastDir = d;
          acc = sz;
          st = advance(st, d, helloAllowance(st, sz));
        }
        if (st === Stage.MISMATCH) break;
        if (st === Stage.WELCOME || st === Stage.SHORT_REPLY || st === Stage.LOGIN_REFUSED) {
          this.#welcomeAt = j;
          this.#welcomeTs = this.#end[j];
          this.#attempt = st === Stage.LOGIN_REFUSED;
          this.#short = st === Stage.SHORT_REPLY;
          this.deadline = this.#welcomeTs + SSH_DECISION_WINDOW;
          return;
        }
      }
    }
  }

  #tunnelVerdict(ts: number, final: boolean): number {
    let c = 0, s = 0;
    for (let j = this.#welcomeAt + 1; j < this.#n; j++) {
      if (this.#dir[j] === 0) c++;
      else s++;
    }
    if (this.#burstDir === 0) c++;
    else if (this.#burstDir === 1) s++;
    const tunnel = c >= TUNNEL_MESSAGES && s >= TUNNEL_MESSAGES;
    if (tunnel && !this.#attempt) {
      return this.#verdict(this.#short ? Verdict.ADDITIONAL : Verdict.VPN);
    }
    if (this.#attempt && final && c + s === 0) return this.#verdict(Verdict.ATTEMPT);
    if (final || ts > this.#welcomeTs + SSH_DECISION_WINDOW) return Verdict.NOT_SOFTETHER;
    return Verdict.UNDECIDED;
  }

  #verdict(v: number): number {
    this.evidence.push(
      "ssh_encapsulated_tls_handshake",
      this.#attempt
        ? "ssh_inner_sequence(watermark,hello,login,error)"
        : this.#short
        ? "ssh_inner_sequence(watermark,hello,short_request,reply)"
        : "ssh_inner_sequence(watermark,hello,login,welcome)",
    );
    if (v !== Verdict.ATTEMPT) this.evidence.push("ssh_tunnel_both_ways");
    this.confidence = v === Verdict.ATTEMPT ? 0.65 : 0.8;
    return v;
  }
}
