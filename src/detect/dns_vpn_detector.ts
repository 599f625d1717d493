/**
 * SoftEther VPN over DNS, and the DNS-shaped probes of the connect race.
 *
 * SoftEther's R-UDP stack in DNS mode (Mayaqua/Network.c, RUDPMainThread,
 * RUDP_PROTOCOL_DNS) talks UDP to the server's port 53 — fixed on both ends
 * (the client's ConnectThreadForOverDnsOrIcmp, the server's DNS listener) —
 * and wraps every R-UDP packet in a DNS message of a fixed layout:
 *
 * - **query** (client → server): random id, flags 0x0100, one question, no
 *   answer or authority record, one additional; the question name is a
 *   single label of 8 lower-case hexadecimal characters (4 random bytes) and
 *   nothing else, QTYPE DNSKEY (48), class IN; the additional record is an
 *   OPT (root name, type 41, UDP size 4096) whose RDATA is the R-UDP packet;
 * - **answer** (server → client): the id of the client's query, flags
 *   0x8180, one question (a new random 8-hex label, DNSKEY, IN), one answer
 *   (a pointer to the question, DNSKEY, IN, a TTL of 12–24 h, RDATA = the
 *   DNSKEY header flags 256, protocol 3, algorithm 8 then the R-UDP packet as
 *   the "public key"), nothing else.
 *
 * A query is taken as SoftEther's when all of that holds structurally (the
 * header counts, the lone 8-hex label, DNSKEY, the OPT record filling the
 * rest of the message with at least the smallest R-UDP packet) and its OPT
 * RDATA is not a chain of EDNS options — a real resolver's OPT carries
 * options (cookie, padding, client subnet) or nothing. An answer, when its
 * DNSKEY record carries flags 256 / protocol 3 / algorithm 8 and an R-UDP
 * packet and ends the message. Ordinary DNS, DNSSEC look-ups (names with a
 * zone, EDNS options), mDNS and LLMNR (other ports) never take this shape.
 * Decisions (session, probe) are the {@linkcode RudpTunnelTracker}'s: one
 * UDP flow is one R-UDP connection.
 *
 * @module
 */

import { type DecodedPacket, IpProto } from "../decode/packet.ts";
import type { Weirds } from "../decode/weirds.ts";
import type { FlowTable } from "../flow/flow_table.ts";
import { DnsMessage, DnsSection, DnsType, isEdnsOptionChain } from "../proto/dns_message.ts";
import type { Detector, EmitFn } from "./detector.ts";
import { RudpTunnelTracker, TunnelPacket, type TunnelTrackerStats } from "./rudp_tunnel_tracker.ts";
import type { SessionDirectory } from "./session_directory.ts";

/** The server's port: fixed by the protocol on both ends. */
const DNS_PORT = 53;
/** Class IN. */
const CLASS_IN = 1;
/** Length of the question name: one 8-character label and the root. */
const LABEL_LEN = 8;
const QNAME_LEN = 1 + LABEL_LEN + 1;
/** Offset of QTYPE in the message (header, name). */
const QTYPE_AT = 12 + QNAME_LEN;
/**
 * Smallest R-UDP packet: a bulk packet of version 2 with no data (12-byte IV,
 * 8-byte sequence number, 1 padding byte, 16-byte MAC); the connect request
 * is 39 bytes, segments at least 77.
 */
const MIN_RUDP = 37;
/** Smallest query: header, question, OPT record header (11), R-UDP packet. */
const MIN_QUERY = QTYPE_AT + 4 + 11 + MIN_RUDP;
/** DNSKEY header SoftEther writes in front of the packet: flags 256, protocol 3, algorithm 8. */
const DNSKEY_HEADER = 0x01000308;

/** Detects VPN over DNS sessions and the DNS-shaped probes of the connect race. */
export class DnsVpnDetector implements Detector {
  /** One bit: the detector keeps state for this flow. */
  readonly markBits = 1;
  /** Position of the bit (set by the pipeline). */
  markShift = 0;
  readonly #tracker: RudpTunnelTracker;
  readonly #msg = new DnsMessage();
  readonly #weirds: Weirds;

  /**
   * Creates the detector: `emit` receives its events, `directory` ties the
   * probes to sessions, `weirds` counts candidates cut by the snapshot length.
   */
  constructor(emit: EmitFn, directory: SessionDirectory, weirds: Weirds) {
    this.#weirds = weirds;
    this.#tracker = new RudpTunnelTracker(emit, directory, {
      variant: "DNS",
      probeKind: "dns_probe",
      probeVariant: "UDP",
      sessionConfidence: 0.9,
      probeConfidence: 0.85,
      sessionEvidence: () => [
        "dns_hex8_label",
        "dnskey_query_opt_payload",
        "dnskey_answer_payload",
        "rudp_both_ways",
      ],
      probeEvidence: () => ["dns_hex8_label", "dnskey_query_opt_payload", "client_only"],
    });
  }

  /** Sessions, folded connections, probes, probes without a session. */
  get stats(): TunnelTrackerStats {
    return this.#tracker.stats;
  }

  /** See {@linkcode Detector.onPacket}. */
  onPacket(table: FlowTable, slot: number, dir: number, p: DecodedPacket): void {
    this.#tracker.sweep(p.ts);
    if (p.proto !== IpProto.UDP) return;
    const toServer = p.dstPort === DNS_PORT, fromServer = p.srcPort === DNS_PORT;
    if ((!toServer && !fromServer) || p.payloadLen < MIN_QUERY) return;
    // The fixed part of both shapes: one question of one 8-character label, DNSKEY, IN.
    const b = p.buf, o = p.payloadOffset;
    if (p.payloadCapLen < QTYPE_AT + 4) return;
    if (
      b[o + 4] !== 0 || b[o + 5] !== 1 || b[o + 12] !== LABEL_LEN ||
      b[o + 12 + 1 + LABEL_LEN] !== 0 ||
      b[o + QTYPE_AT] !== 0 || b[o + QTYPE_AT + 1] !== DnsType.DNSKEY ||
      b[o + QTYPE_AT + 2] !== 0 || b[o + QTYPE_AT + 3] !== CLASS_IN || !hex8(b, o + 13)
    ) return;
    if (p.payloadCapLen < p.payloadLen) {
      this.#weirds.add("softether_dns_cut");
      return;
    }
    const response = (b[o + 2] & 0x80) !== 0;
    let kind: number;
    if (!response && toServer && this.#isQuery(b, o, p.payloadLen)) kind = TunnelPacket.CLIENT;
    else if (response && fromServer && this.#isAnswer(b, o, p.payloadLen)) {
      kind = TunnelPacket.SERVER;
    } else return;
    const ep = this.#tracker.episode(table, slot, 0);
    if (ep < 0) return;
    table.setMark(slot, table.mark(slot) | (1 << this.markShift));
    this.#tracker.count(ep, dir, kind, p.ts, p.ipLen);
  }

  /** SoftEther's query: header counts, the bare label, one OPT record whose RDATA is not EDNS options. */
  #isQuery(b: Uint8Array, o: number, len: number): boolean {
    const m = this.#msg;
    if (!m.parse(b, o, len)) return false;
    if ((m.flags & 0xfe0f) !== 0) return false; // QR, opcode, AA, TC, RCODE all 0
    if (m.anCount !== 0 || m.nsCount !== 0 || m.arCount !== 1) return false;
    if (m.qLabels !== 1 || m.qNameEnd !== o + 12 + QNAME_LEN) return false;
    if (!m.nextRecord() || m.rrSection !== DnsSection.ADDITIONAL || m.rrType !== DnsType.OPT) {
      return false;
    }
    return b[m.rrNameOffset] === 0 && m.rrDataOffset + m.rrDataLength === o + len &&
      m.rrDataLength >= MIN_RUDP && !isEdnsOptionChain(b, m.rrDataOffset, m.rrDataLength);
  }

  /** SoftEther's answer: one DNSKEY record (256/3/8) carrying a packet, ending the message. */
  #isAnswer(b: Uint8Array, o: number, len: number): boolean {
    const m = this.#msg;
    if (!m.parse(b, o, len)) return false;
    if ((m.flags & 0xf80f) !== 0x8000) return false; // a response, standard query, no error
    if (m.anCount !== 1 || m.nsCount !== 0 || m.arCount !== 0) return false;
    if (m.qLabels !== 1 || m.qNameEnd !== o + 12 + QNAME_LEN) return false;
    if (!m.nextRecord() || m.rrType !== DnsType.DNSKEY || m.rrClass !== CLASS_IN) return false;
    const d = m.rrDataOffset;
    return m.rrDataLength >= 4 + MIN_RUDP && d + m.rrDataLength === o + len &&
      ((b[d] << 24) | (b[d + 1] << 16) | (b[d + 2] << 8) | b[d + 3]) === DNSKEY_HEADER;
  }

  /** See {@linkcode Detector.onFlowEnd}. */
  onFlowEnd(table: FlowTable, slot: number, _reason: number): void {
    if ((table.mark(slot) & (1 << this.markShift)) === 0) return;
    this.#tracker.flowEnd(table, slot);
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
}

/** True when `b[at .. at + 8)` are lower-case hexadecimal digits (SoftEther's random label). */
function hex8(b: Uint8Array, at: number): boolean {
  for (let i = at; i < at + LABEL_LEN; i++) {
    const c = b[i];
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}
