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

import {
  inRange,
  looksLikeAdminRpc,
  type Range,
  RPC_BIG_REPLY,
  Stage,
  tunnelStartDelay,
} from "./handshake_pattern.ts";
import { SetupMatcher } from "./setup_matcher.ts";
import { MESSAGE_GAP } from "./tls_messages.ts";
import { Verdict } from "./verdict.ts";

/** Bursts smaller than this are treated as interactive noise. */
const NOISE_BYTES = 100;
/** Messages kept per connection for the search. */
const MAX_MESSAGES = 96;
/** Seconds allowed after the welcome for tunnel traffic to show (packet time). */
const SSH_DECISION_WINDOW = 12;
/** Seconds after a short reply before calling it an extra connection (not administration). */
const SHORT_WAIT = 1.0;
/** Tunnel messages required in each direction after the welcome. */
const TUNNEL_MESSAGES = 1;

/** The inner TLS ClientHello, with SSH framing (one or two SSH packets). */
const CLIENT_HELLO: Range = { min: 200, max: 2600 };
/** The inner TLS server flight (ServerHello … Finished, certificate included). */
const SERVER_FLIGHT: Range = { min: 700, max: 12000 };
/** SSH framing of one burst (packet length, padding, MAC or tag, channel header). */
export const SSH_FRAMING = 60;
/** TLS framing of one burst (record headers and AEAD tags of one to three records). */
export const TLS_FRAMING = 40;
/**
 * Detects SoftEther's pattern from burst sizes alone: inside an SSH
 * connection (the forwarded TLS is invisible), and for TLS whose bytes were
 * not captured (a short snaplen cuts the record headers).
 */
export class BurstPatternDetector {
  /** Signals that fired. */
  readonly evidence: string[] = [];
  /** Confidence of the decision. */
  confidence = 0;
  /** Packet time by which the decision is due (0 = none). */
  deadline = 0;

  readonly #framing: number;
  readonly #label: string;
  readonly #startDelay: number;
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

  /**
   * `framing`: bytes of outer framing per burst ({@linkcode SSH_FRAMING} or
   * {@linkcode TLS_FRAMING}); `label` prefixes the evidence names ("ssh",
   * "burst"); `rtt`: the connection's round trip from its TCP handshake (0
   * unknown), which stretches the time the tunnel has to start.
   */
  constructor(framing = SSH_FRAMING, label = "ssh", rtt = 0) {
    this.#framing = framing;
    this.#label = label;
    // Inside SSH the tunnel must start at once (an application forwarded
    // through SSH is the look-alike); TLS cut by the snaplen keeps its other
    // evidence (half-duplex connections carry one direction each).
    this.#startDelay = label === "ssh" ? tunnelStartDelay(rtt) : SSH_DECISION_WINDOW;
  }

  /** `len` more in-order stream bytes of direction `dir` at `ts`. */
  bytes(dir: number, len: number, ts: number): void {
    if (len === 0) return;
    if (dir !== this.#burstDir || ts - this.#burstEnd > MESSAGE_GAP) this.#closeBurst();
    this.#burstDir = dir;
    this.#burstSize += len;
    this.#burstEnd = ts;
  }

  /** Swap the directions of everything recorded (the roles were the other way round). */
  flip(): void {
    for (let i = 0; i < this.#n; i++) this.#dir[i] = 1 - this.#dir[i];
    if (this.#burstDir >= 0) this.#burstDir = 1 - this.#burstDir;
    if (this.#welcomeAt < 0) this.#search();
  }

  /** Check for a decision after each packet. */
  poll(ts: number): number {
    if (this.#welcomeAt < 0) return Verdict.UNDECIDED;
    return this.#tunnelVerdict(ts, false);
  }

  /** Decision timer. */
  timer(ts: number): number {
    this.#closeBurst();
    if (this.#welcomeAt < 0) return Verdict.NOT_SOFTETHER;
    return this.#tunnelVerdict(ts, false);
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
      // Up to two short exchanges may come first: the TLS Finished answered
      // by session tickets, and SoftEther's short request.
      const m = new SetupMatcher(2, true);
      for (let j = i + 2; j < n; j++) {
        m.message(this.#dir[j], Math.max(0, this.#size[j] - this.#framing));
        if (m.stage === Stage.MISMATCH) break;
        if (m.complete) {
          this.#welcomeAt = j;
          this.#welcomeTs = this.#end[j];
          this.#attempt = m.stage === Stage.LOGIN_REFUSED;
          this.#short = m.stage === Stage.SHORT_REPLY;
          this.deadline = this.#welcomeTs + (this.#short ? SHORT_WAIT : SSH_DECISION_WINDOW);
          return;
        }
      }
    }
  }

  #tunnelVerdict(ts: number, final: boolean): number {
    // After the set-up: messages each way, and RPC replies (a server message
    // right after a client one; administration answers some with > 1.7 KB).
    let c = 0, s = 0, rpc = 0, big = 0, own = 0, prev = 1;
    let firstC = Infinity, firstS = Infinity; // first tunnel burst each way
    for (let j = this.#welcomeAt + 1; j < this.#n; j++) {
      const d = this.#dir[j];
      if (d === 0) firstC = Math.min(firstC, this.#end[j]);
      else firstS = Math.min(firstS, this.#end[j]);
      if (d === 0) c++;
      else {
        s++;
        if (prev === 0) {
          rpc++;
          if (this.#size[j] - this.#framing > RPC_BIG_REPLY) big++;
        } else {
          own++; // the server spoke again without a request: not request/response
        }
      }
      prev = d;
    }
    if (this.#burstDir === 0) {
      c++;
      firstC = Math.min(firstC, this.#burstEnd);
    } else if (this.#burstDir === 1) {
      s++;
      firstS = Math.min(firstS, this.#burstEnd);
    }
    if (this.#short && looksLikeAdminRpc(rpc, big)) return this.#verdict(Verdict.ADMIN);
    if (this.#short && final && rpc >= 1) return this.#verdict(Verdict.ADMIN);
    // SoftEther's tunnel starts at once: each side sends its keep-alive (or
    // first frames) right after the welcome, as on the TLS path. An
    // application conversation whose next messages come later on timers is
    // not a tunnel starting.
    const start = this.#welcomeTs + this.#startDelay;
    const started = firstC <= start && firstS <= start;
    const tunnel = c >= TUNNEL_MESSAGES && s >= TUNNEL_MESSAGES && (this.#short || started);
    if (own > 0 && !this.evidence.includes(`${this.#label}_server_independent`)) {
      this.evidence.push(`${this.#label}_server_independent`);
    }
    // A short exchange is an extra VPN connection or administration: give
    // the RPC a moment to show before calling it an extra connection.
    const waitShort = this.#short && !final && ts < this.#welcomeTs + SHORT_WAIT;
    if (tunnel && !waitShort) {
      // A refused-looking answer followed by tunnel traffic was a short welcome.
      this.#attempt = false;
      return this.#verdict(this.#short ? Verdict.ADDITIONAL : Verdict.VPN);
    }
    if (this.#attempt && final && c + s === 0) return this.#verdict(Verdict.ATTEMPT);
    if (final || ts > this.#welcomeTs + SSH_DECISION_WINDOW) return Verdict.NOT_SOFTETHER;
    if (!this.#short && !this.#attempt && ts > start) return Verdict.NOT_SOFTETHER;
    if (this.#short) {
      this.deadline = this.#welcomeTs + (waitShort ? SHORT_WAIT : SSH_DECISION_WINDOW);
    } else if (!this.#attempt) this.deadline = start;
    return Verdict.UNDECIDED;
  }

  #verdict(v: number): number {
    const l = this.#label;
    this.evidence.push(
      `${l}_encapsulated_tls_handshake`,
      this.#attempt
        ? `${l}_inner_sequence(watermark,hello,login,error)`
        : this.#short
        ? `${l}_inner_sequence(watermark,hello,short_request,reply)`
        : `${l}_inner_sequence(watermark,hello,login,welcome)`,
    );
    if (v === Verdict.ADMIN) this.evidence.push(`${l}_rpc_exchange`);
    else if (v !== Verdict.ATTEMPT) this.evidence.push(`${l}_tunnel_both_ways`);
    this.confidence = v === Verdict.ATTEMPT ? 0.65 : 0.8;
    return v;
  }
}
