/**
 * SoftEther VPN over ICMP, and the ICMP probes of the connect race.
 *
 * SoftEther's R-UDP stack in ICMP mode (Mayaqua/Network.c, RUDPMainThread,
 * RUDP_PROTOCOL_ICMP; only over IPv4: the stack is opened with
 * MAKE_SPECIAL_PORT(IP_PROTO_ICMPV4) and parses an IPv4 header) sends every
 * R-UDP packet as an ICMP message of code 0 whose data after the 8-byte
 * header is **SHA-1(rest) + rest**, and accepts only messages that verify.
 * The types: the client sends its packets as Information Request (15) and,
 * at first, also as Echo Reply (0), plus an Echo Request (8) of 64–127 random
 * bytes every few seconds (to keep NAT mappings; the server's kernel answers
 * it with an Echo Reply carrying the same data); the server answers in the
 * type the client used (Information Reply (16) for 15, Echo Reply for 0). The
 * client keeps one ICMP id (from its process id) and one sequence number per
 * R-UDP connection; the server echoes both — so an R-UDP connection is an id
 * and sequence pair of the flow (its "episode").
 *
 * Only ICMP of those four types with at least 20 + 37 bytes of data (a
 * digest and the smallest R-UDP packet) is hashed, and a flow whose
 * candidates keep failing is sampled. The server kernel's echo replies
 * (identical data to a client echo request of the episode) are not taken for
 * the server speaking. Decisions (session, probe) are the
 * {@linkcode RudpTunnelTracker}'s.
 *
 * @module
 */

import { type DecodedPacket, IpProto } from "../decode/packet.ts";
import type { Weirds } from "../decode/weirds.ts";
import type { FlowTable } from "../flow/flow_table.ts";
import { Sha1 } from "../proto/sha1.ts";
import type { Detector, EmitFn } from "./detector.ts";
import { RudpTunnelTracker, TunnelPacket, type TunnelTrackerStats } from "./rudp_tunnel_tracker.ts";
import type { SessionDirectory } from "./session_directory.ts";
import { slotCapacity } from "./slot_capacity.ts";

/** ICMP types SoftEther's ICMP mode uses. */
const ECHO_REPLY = 0, ECHO_REQUEST = 8, INFO_REQUEST = 15, INFO_REPLY = 16;
/** The digest in front of the data. */
const SHA1_LEN = 20;
/**
 * Smallest R-UDP packet: a bulk packet of version 2 with no data (12-byte IV,
 * 8-byte sequence number, 1 padding byte, 16-byte MAC); the connect request
 * is 39 bytes, segments at least 77.
 */
const MIN_RUDP = 37;
/** Smallest ICMP data of a SoftEther packet. */
const MIN_DATA = SHA1_LEN + MIN_RUDP;
/** A flow whose candidates failed this many times in a row is hashed only every SAMPLE-th time. */
const FAILS_BEFORE_SAMPLING = 8;
const SAMPLE = 16;
/** Client echo requests remembered per episode (their server-kernel replies are recognised). */
const ECHO_RING = 2;

// Episode traits (for the evidence).
const T_INFO = 1, T_ECHO_TUNNEL = 2, T_MIRROR = 4;

/** Detects VPN over ICMP sessions and ICMP probes of the connect race. */
export class IcmpVpnDetector implements Detector {
  /** One bit: the detector looks at this ICMP flow. */
  readonly markBits = 1;
  /** Position of the bit (set by the pipeline). */
  markShift = 0;
  readonly #tracker: RudpTunnelTracker;
  readonly #sha = new Sha1();
  readonly #weirds: Weirds;
  #fails = new Uint8Array(0); // per flow slot: candidates that failed in a row
  #echo = new Uint32Array(0); // per episode: first 4 data bytes of recent client echo requests
  #echoDir = new Uint8Array(0); // per episode ring entry: 0 empty, 1 + direction
  #echoAt = new Uint8Array(0); // per episode: next ring position
  #traits = new Uint8Array(0); // per episode

  /**
   * Creates the detector: `emit` receives its events, `directory` ties the
   * probes to sessions, `weirds` counts candidates cut by the snapshot length.
   */
  constructor(emit: EmitFn, directory: SessionDirectory, weirds: Weirds) {
    this.#weirds = weirds;
    this.#tracker = new RudpTunnelTracker(emit, directory, {
      variant: "ICMP",
      probeKind: "icmp_probe",
      probeVariant: "ICMP",
      sessionConfidence: 0.95,
      probeConfidence: 0.9,
      sessionEvidence: (ep) => {
        const t = this.#traits[ep];
        const ev = ["icmp_data_sha1", "rudp_both_ways"];
        if ((t & T_INFO) !== 0) ev.push("icmp_information_request_reply");
        if ((t & T_ECHO_TUNNEL) !== 0) ev.push("icmp_echo_reply_tunnel");
        if ((t & T_MIRROR) !== 0) ev.push("kernel_echo_replies_excluded");
        return ev;
      },
      probeEvidence: (ep) => {
        const ev = ["icmp_data_sha1", "client_only"];
        if ((this.#traits[ep] & T_INFO) !== 0) ev.push("icmp_information_request");
        return ev;
      },
    });
  }

  /** Sessions, folded connections, probes, probes without a session. */
  get stats(): TunnelTrackerStats {
    return this.#tracker.stats;
  }

  /** See {@linkcode Detector.onPacket}. */
  onPacket(table: FlowTable, slot: number, dir: number, p: DecodedPacket): void {
    this.#tracker.sweep(p.ts);
    if (p.proto !== IpProto.ICMP || p.icmpCode !== 0 || p.payloadLen < MIN_DATA) return;
    const type = p.icmpType;
    if (
      type !== ECHO_REPLY && type !== ECHO_REQUEST && type !== INFO_REQUEST && type !== INFO_REPLY
    ) {
      return;
    }
    if (p.payloadCapLen < p.payloadLen) {
      this.#weirds.add("softether_icmp_cut");
      return;
    }
    if (slot >= this.#fails.length) {
      const f = new Uint8Array(slotCapacity(slot, table.maxFlows));
      f.set(this.#fails);
      this.#fails = f;
    }
    const bit = 1 << this.markShift;
    if ((table.mark(slot) & bit) === 0) {
      table.setMark(slot, table.mark(slot) | bit);
      this.#fails[slot] = 0;
    }
    const fails = this.#fails[slot];
    if (fails >= FAILS_BEFORE_SAMPLING) {
      this.#fails[slot] = fails === 255 ? FAILS_BEFORE_SAMPLING : fails + 1;
      if (fails % SAMPLE !== 0) return;
    }
    const b = p.buf, o = p.payloadOffset, len = p.payloadLen;
    if (!this.#sha.matches(b, o + SHA1_LEN, len - SHA1_LEN, b, o)) {
      if (fails < FAILS_BEFORE_SAMPLING) this.#fails[slot] = fails + 1;
      return;
    }
    this.#fails[slot] = 0;
    // The episode: the ICMP id and sequence number (the 4 bytes before the data).
    const key = ((b[o - 4] << 24) | (b[o - 3] << 16) | (b[o - 2] << 8) | b[o - 1]) >>> 0;
    const ep = this.#tracker.episode(table, slot, key);
    if (ep < 0) return;
    if (this.#traits.length < this.#tracker.capacity) this.#grow(this.#tracker.capacity);
    if (this.#tracker.fresh) {
      this.#traits[ep] = 0;
      this.#echoAt[ep] = 0;
      for (let k = 0; k < ECHO_RING; k++) this.#echoDir[ep * ECHO_RING + k] = 0;
    }
    const head = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    let kind: number;
    if (type === ECHO_REQUEST) {
      const at = ep * ECHO_RING + this.#echoAt[ep];
      this.#echo[at] = head;
      this.#echoDir[at] = 1 + dir;
      this.#echoAt[ep] = (this.#echoAt[ep] + 1) % ECHO_RING;
      kind = TunnelPacket.CLIENT_OTHER;
    } else if (type === INFO_REQUEST) {
      this.#traits[ep] |= T_INFO;
      this.#tracker.setIcmpType(ep, INFO_REQUEST);
      kind = TunnelPacket.CLIENT;
    } else if (type === INFO_REPLY) {
      this.#traits[ep] |= T_INFO;
      kind = TunnelPacket.SERVER;
    } else {
      if (this.#mirrors(ep, dir, head)) {
        this.#traits[ep] |= T_MIRROR;
        this.#tracker.count(ep, dir, TunnelPacket.ECHOED, p.ts, p.ipLen);
        return;
      }
      this.#traits[ep] |= T_ECHO_TUNNEL;
      kind = !this.#tracker.clientKnown(ep)
        ? TunnelPacket.EITHER
        : this.#tracker.clientDir(ep) === dir
        ? TunnelPacket.CLIENT
        : TunnelPacket.SERVER;
    }
    this.#tracker.count(ep, dir, kind, p.ts, p.ipLen);
  }

  /** True when an echo reply sent in `dir` carries the data of a client echo request of `ep`. */
  #mirrors(ep: number, dir: number, head: number): boolean {
    for (let k = 0; k < ECHO_RING; k++) {
      const at = ep * ECHO_RING + k;
      const d = this.#echoDir[at];
      if (d !== 0 && d !== 1 + dir && this.#echo[at] === head) return true;
    }
    return false;
  }

  /** See {@linkcode Detector.onFlowEnd}. */
  onFlowEnd(table: FlowTable, slot: number, _reason: number): void {
    if ((table.mark(slot) & (1 << this.markShift)) === 0) return;
    this.#tracker.flowEnd(table, slot);
    this.#fails[slot] = 0;
  }

  /** See {@linkcode Detector.tick}. */
  tick(now: number): void {
    this.#tracker.sweep(now);
  }

  /** See {@linkcode Detector.finish}. */
  finish(): void {
    this.#tracker.finish();
  }

  /** See {@linkcode Detector.inspecting}. */
  inspecting(table: FlowTable, slot: number): boolean {
    return (table.mark(slot) & (1 << this.markShift)) !== 0 && this.#tracker.undecided(slot);
  }

  /** Per-episode arrays follow the tracker's pool (new episodes start cleared). */
  #grow(cap: number): void {
    const echo = new Uint32Array(cap * ECHO_RING), echoDir = new Uint8Array(cap * ECHO_RING);
    const echoAt = new Uint8Array(cap), traits = new Uint8Array(cap);
    echo.set(this.#echo);
    echoDir.set(this.#echoDir);
    echoAt.set(this.#echoAt);
    traits.set(this.#traits);
    this.#echo = echo;
    this.#echoDir = echoDir;
    this.#echoAt = echoAt;
    this.#traits = traits;
  }
}
