/**
 * One TCP connection under inspection: its stream engine (flow layer), the
 * root of its analyzer tree, and the decision the tree reached so far. One
 * instance per inspected connection, released once decided.
 *
 * @module
 */

import type { DecodedPacket } from "../decode/packet.ts";
import type { Weirds } from "../decode/weirds.ts";
import { TcpReassembler } from "../flow/tcp_reassembler.ts";
import type { DetectionEvent, Target, Variant } from "./event.ts";
import { ProtocolSniffer } from "./protocol_sniffer.ts";
import type { ConnectionHost } from "./stream_analyzer.ts";
import { Verdict } from "./verdict.ts";

/** The analyzer that follows the set-up and decides (TLS records, or burst sizes). */
export interface SetupDecider {
  /** Stage of the set-up reached ({@linkcode Stage}). */
  readonly stage: number;
  /** After each packet: decide when the evidence allows. */
  check(ts: number): void;
  /** The connection's decision timer ran out. */
  timer(now: number): void;
  /** The connection ended: decide with what was seen. */
  close(ts: number): void;
  /** Evidence from another connection of the session arrived. */
  reconsider(now: number): void;
  /** One field of each object a packet reaches (prefetch); returned to keep the reads. */
  touch(): number;
}

/** Decision state of one inspected connection (written by its deciding analyzer). */
export class Inspection implements ConnectionHost {
  /** Flow slot (set by the detector before each decision). */
  slot = -1;
  /** Flow number. */
  readonly flowId: number;
  /** The decision so far ({@linkcode Verdict}). */
  verdict: number = Verdict.UNDECIDED;
  /** Packet time by which a pending decision is taken (0 = none). */
  deadline = 0;
  /** True while on the detector's timer list. */
  pending = false;
  /** Stream bytes looked at. */
  inspectedBytes = 0;
  /** True for an extra TCP connection of a session (additional_connect). */
  additional = false;
  /** How the client reached the server. */
  variant: Variant = "TCP";
  /** Destination named by a proxy request. */
  target: Target | undefined;
  /** Signals that fired (filled when deciding). */
  readonly evidence: string[] = [];
  /** True while the set-up matched but the evidence is not yet enough (watching longer). */
  suspect = false;
  /** Combined confidence in [0, 1]. */
  confidence = 0;
  /** The event reported for this connection, once reported. */
  event: DetectionEvent | undefined;
  /** Packet time the set-up ended (the server's welcome, reply or error); 0 before. */
  setupTs = 0;
  /** Packet time of the first FIN or RST (0 while open). */
  closedTs = 0;
  /**
   * True when the flow table's client is in fact the server, told by the
   * first bytes (the sniffer then swaps directions for the analyzers).
   */
  flipped = false;
  /**
   * True when an analyzer found the roles reversed later, from the set-up
   * itself (a stream picked up mid-way); it keeps its own mapping.
   */
  swapped = false;
  /** Round trip sensor → server → sensor from the TCP handshake (0: unknown). */
  readonly rttServer: number;
  /** Whole round trip from the TCP handshake (0: unknown). */
  readonly rtt: number;
  /** Round trip seen in the set-up (watermark end to hello start), seconds; 0 before. */
  setupRtt = 0;
  /** True when the flow's roles came from its handshake (content must not flip them). */
  readonly rolesKnown: boolean;
  /** True when a direction's stream start (its SYN) was not seen: picked up mid-stream. */
  readonly midstream: boolean;
  /**
   * False when the connection's first client bytes were not seen (picked up
   * mid-stream inside TLS): a proxy layer before it cannot be ruled out.
   */
  layerKnown = true;
  /** Supporting evidence from the layers (added to the pattern's base). */
  score = 0;
  /** Names of those signals. */
  readonly layerEvidence: string[] = [];
  /** Evidence from other connections of the session. */
  sessionScore = 0;
  /** Names of those signals. */
  readonly sessionNames: string[] = [];
  /** The analyzer that decides, once the layer is known. */
  decider: SetupDecider | undefined;

  #stream: TcpReassembler | undefined;
  #root: ProtocolSniffer | undefined;

  /** Creates the inspection of flow `flowId`; stream starts −1 when the SYN was not seen. */
  constructor(
    flowId: number,
    weirds: Weirds,
    start0: number,
    start1: number,
    rolesKnown: boolean,
    rttServer = 0,
    rtt = 0,
  ) {
    this.flowId = flowId;
    this.rolesKnown = rolesKnown;
    this.midstream = start0 < 0 || start1 < 0;
    this.rttServer = rttServer;
    this.rtt = rtt;
    this.#root = new ProtocolSniffer(this);
    this.#stream = new TcpReassembler(this.#root, weirds, start0, start1);
  }

  /** True when the flow table's roles are the wrong way round (told by content). */
  get reversed(): boolean {
    return this.flipped !== this.swapped;
  }

  /** True once decided. */
  get decided(): boolean {
    return this.verdict !== Verdict.UNDECIDED;
  }

  /** Stage of the set-up reached. */
  get stage(): number {
    return this.decider?.stage ?? 0;
  }

  /** Offer one TCP packet of direction `dir` (flow table's roles). */
  packet(dir: number, p: DecodedPacket): void {
    const s = this.#stream;
    if (s === undefined) return;
    s.packet(dir, p);
    if ((p.tcpFlags & 0x05) !== 0 && this.closedTs === 0) this.closedTs = p.ts; // FIN or RST
    if (this.verdict === Verdict.UNDECIDED) this.decider?.check(p.ts);
  }

  /** The connection ended (or the table let it go): decide with what was seen. */
  close(ts: number): void {
    if (this.verdict !== Verdict.UNDECIDED) return;
    this.#stream?.flush(ts);
    if (this.verdict !== Verdict.UNDECIDED) return;
    if (this.decider !== undefined) this.decider.close(ts);
    else this.verdict = Verdict.NOT_SOFTETHER;
  }

  /** The decision timer ran out. */
  timer(now: number): void {
    if (this.verdict !== Verdict.UNDECIDED) return;
    this.deadline = 0;
    this.#stream?.advance(now);
    if (this.decider !== undefined) this.decider.timer(now);
    else this.verdict = Verdict.NOT_SOFTETHER;
  }

  /** Read one word of each object a packet will touch (prefetch); returns it to keep the reads. */
  touch(): number {
    // The inspection, its stream engine and the deciding leaf (with its
    // scanners): the objects a packet with payload reaches that are not
    // small neighbours of these.
    let x = this.verdict + this.inspectedBytes;
    if (this.#stream !== undefined) x += this.#stream.touch();
    if (this.decider !== undefined) x += this.decider.touch();
    return x;
  }

  /** Drop per-connection buffers once decided. */
  release(): void {
    this.#stream = undefined;
    this.#root = undefined;
    this.decider = undefined;
  }

  // ConnectionHost --------------------------------------------------------

  /** Add one supporting signal. */
  support(name: string, weight: number): void {
    this.score += weight;
    this.layerEvidence.push(name);
  }

  /** How the client reached the server. */
  setVariant(v: Variant): void {
    this.variant = v;
  }

  /** Destination named by a proxy request (the first one named). */
  setTarget(t: Target): void {
    if (this.target === undefined) this.target = { host: t.host, port: t.port };
  }

  /** Not SoftEther. */
  fail(): void {
    if (this.verdict === Verdict.UNDECIDED) this.verdict = Verdict.NOT_SOFTETHER;
  }

  /** Evidence from another connection of the same session (e.g. its extra connections). */
  sessionEvidence(name: string, weight: number, now: number): void {
    if (this.sessionNames.includes(name)) return;
    this.sessionNames.push(name);
    this.sessionScore += weight;
    if (this.suspect && this.verdict === Verdict.UNDECIDED) this.decider?.reconsider(now);
  }
}
