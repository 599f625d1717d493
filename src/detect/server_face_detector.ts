/**
 * Finds SoftEther VPN servers by their other faces: the OpenVPN server
 * SoftEther implements itself (Proto_OpenVPN.c; UDP and its own TCP
 * listeners), its SSTP listener, and the self-signed certificate every
 * SoftEther server generates at its first start (SiGenerateDefaultCertEx →
 * NewRootX509), which any TLS ≤ 1.2 handshake shows in clear — SoftEther's
 * own sessions too.
 *
 * Only connections whose first client payload is a TLS ClientHello, or an
 * OpenVPN client reset in the plain layout SoftEther's OpenVPN server takes,
 * are inspected: at most `maxInspections` at once (the oldest makes room,
 * counted as `face_inspection_evicted`), each until its decision, the end of
 * the server's first TLS flight, or a few dozen packets. Other flows cost one
 * mark check per packet and allocate nothing.
 *
 * Signals, from SoftEther's sources:
 * - Certificate (Encrypt.c NewRootX509): v3, serial 0, subject = issuer =
 *   CN, O, OU, C in that order with CN = O = OU (the host name, or the name
 *   given to ServerCertRegenerate) and C = US; exactly the extensions
 *   basicConstraints (critical, CA:TRUE), keyUsage (digitalSignature,
 *   nonRepudiation, keyEncipherment, dataEncipherment, keyCertSign, cRLSign)
 *   and extendedKeyUsage with its nine purposes in order; a UTCTime validity
 *   of whole days whose end falls in the last day before 1 January 2038
 *   (GetDaysUntil2038: 31 December 2037 at the creation's time of day), or
 *   before 30 December 2049 for certificates made from 2030 on.
 * - OpenVPN (Proto_OpenVPN.c): control packets in the plain layout only (no
 *   tls-auth / tls-crypt); the server's reset carries no payload and
 *   acknowledges the client's; every acknowledgement is sent once, at most
 *   four per packet (OPENVPN_MAX_NUMACK), where OpenVPN 2.6 repeats recent
 *   ones; the server's TLS bytes go out in control payloads of exactly 1,200
 *   bytes (OPENVPN_CONTROL_PACKET_MAX_DATASIZE) whatever the acknowledgements;
 *   the data channel is P_DATA_V1 only (no peer id), where OpenVPN ≥ 2.3.7
 *   servers use P_DATA_V2. Over TCP SoftEther's listener hands a stream to
 *   its OpenVPN server only when it starts with the length 14 of a plain
 *   client reset (OvsIsPacketForMe).
 * - SSTP: after a handshake showing the certificate, the client's first
 *   application-data record has exactly the size of an MS-SSTP
 *   SSTP_DUPLEX_POST request (request line, Host, Content-Length,
 *   SSTPCORRELATIONID and nothing else, as Windows sends it; Host is the SNI,
 *   or without one the server's address literal, with or without ":port").
 *   The request itself is encrypted: this is a size match, reported as the
 *   face of an event the certificate already decided.
 *
 * @module
 */

import { IpProto, TcpFlag } from "../decode/packet.ts";
import type { DecodedPacket } from "../decode/packet.ts";
import type { Weirds } from "../decode/weirds.ts";
import type { FlowTable } from "../flow/flow_table.ts";
import { type StreamConsumer, TcpReassembler } from "../flow/tcp_reassembler.ts";
import { latin1, readU16, readU24, utf8Escaped } from "../proto/bytes.ts";
import { isIpLiteral } from "../proto/ip_literal.ts";
import {
  OpenVpnOpcode,
  OpenVpnPacket,
  type OpenVpnPacketSink,
  OpenVpnTcpFramer,
} from "../proto/openvpn_packet.ts";
import { parseClientHello } from "../proto/tls_client_hello.ts";
import { TlsRecordScanner } from "../proto/tls_record.ts";
import { FlightState, opensWithTls13Hello, TlsServerFlight } from "../proto/tls_server_flight.ts";
import { findSni } from "../proto/tls_sni.ts";
import { NameAttr, X509Certificate, X509Ext } from "../proto/x509_cert.ts";
import type { Detector, EmitFn } from "./detector.ts";
import type { DetectionEvent, ServerFace } from "./event.ts";
import { flowEvent } from "./flow_event.ts";
import { slotCapacity } from "./slot_capacity.ts";

/** Connections inspected at once by default. */
const DEFAULT_MAX_INSPECTIONS = 512;
/** Reported (server address, port, face) keys remembered for de-duplication. */
const DEDUP_MAX = 4096;
/** Stream bytes per direction looked at before giving up. */
const MAX_STREAM_BYTES = 20 * 1024;
/** OpenVPN packets looked at before giving up (the control phase is a dozen). */
const MAX_OPENVPN_PACKETS = 64;
/** Seconds after the certificate to wait for the client's first data record (SSTP or not). */
const FACE_WAIT = 5;

/** SoftEther's OPENVPN_CONTROL_PACKET_MAX_DATASIZE. */
const SE_OPENVPN_CHUNK = 1200;
/** SoftEther's OPENVPN_MAX_NUMACK. */
const SE_OPENVPN_MAX_ACKS = 4;
/** Control packet ids whose sends and acknowledgements are counted. */
const TRACKED_IDS = 64;
/** Server control packets held out of order (UDP reordering). */
const HELD_MAX = 4;

/** Bytes of an MS-SSTP SSTP_DUPLEX_POST request besides the host name ([MS-SSTP] 2.2.2, 4.1). */
const SSTP_REQUEST_FIXED =
  ("SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n" +
    "Host: \r\n" +
    "Content-Length: 18446744073709551615\r\n" +
    "SSTPCORRELATIONID: {00000000-0000-0000-0000-000000000000}\r\n" +
    "\r\n").length;

/** Confidence of a certificate match (eleven fields fixed by NewRootX509 at once). */
const CONF_CERTIFICATE = 0.95;
/** Confidence of the OpenVPN behaviour alone (reset, 1,200-byte chunks, single acks, P_DATA_V1). */
const CONF_OPENVPN_BEHAVIOUR = 0.8;

// Per-slot states (valid while this detector's mark bit is set).
const ST_NONE = 0;
const ST_INSPECT = 1;
const ST_DONE = 2;
/**
 * A TLS connection whose ClientHello came whole in one segment, not followed
 * yet (no connection object): the server's first bytes decide whether a
 * certificate can follow. `ST_HELLO + serverDir`.
 */
const ST_HELLO = 3;

// Connection kinds.
const K_TLS = 1;
const K_OVPN_UDP = 2;
const K_OVPN_TCP = 3;

// Verdicts of a connection.
const V_PENDING = 0;
const V_REPORT = 1;
const V_GIVE_UP = 2;

const TLS_APPLICATION_DATA = 23;
const DAY = 86400;
// GetDaysUntil2038Ex's targets, and the day before each.
const END_2038 = Date.UTC(2038, 0, 1) / 1000;
const END_2049 = Date.UTC(2049, 11, 30) / 1000;

/** Work counters of a {@linkcode ServerFaceDetector}. */
interface ServerFaceStats {
  /** Connections inspected. */
  inspected: number;
  /** Events emitted. */
  reported: number;
  /** Decisions not reported again (same server, port and face). */
  repeated: number;
  /** Inspections let go to make room. */
  evicted: number;
  /** Parser errors caught (the connection was let go). */
  errors: number;
}

/** Options of {@linkcode ServerFaceDetector}. */
interface ServerFaceOptions {
  /** Connections inspected at once (default 512). */
  maxInspections?: number;
}

const pkt = new OpenVpnPacket();
const cert = new X509Certificate();

/**
 * The X.509 fields NewRootX509 fixes for SoftEther's self-generated server
 * certificate (see the module doc); true when all of them hold.
 */
function isSoftEtherDefaultCert(c: X509Certificate, buf: Uint8Array): boolean {
  if (c.status !== "ok" || c.version !== 3 || !c.serialIsZero(buf) || !c.selfIssued(buf)) {
    return false;
  }
  const s = c.subject;
  if (s.count !== 4 || s.rdnCount !== 4) return false;
  if (
    s.attrs[0] !== NameAttr.CN || s.attrs[1] !== NameAttr.O || s.attrs[2] !== NameAttr.OU ||
    s.attrs[3] !== NameAttr.C
  ) return false;
  if (s.valueLen[0] === 0 || !sameValue(buf, s, 0, 1) || !sameValue(buf, s, 0, 2)) return false;
  if (s.valueLen[3] !== 2 || buf[s.valueOff[3]] !== 0x55 || buf[s.valueOff[3] + 1] !== 0x53) {
    return false; // "US"
  }
  if (
    c.extCount !== 3 || c.extensions[0] !== X509Ext.BASIC_CONSTRAINTS || c.extCritical[0] !== 1 ||
    c.extensions[1] !== X509Ext.KEY_USAGE || c.extCritical[1] !== 0 ||
    c.extensions[2] !== X509Ext.EXT_KEY_USAGE || c.extCritical[2] !== 0
  ) return false;
  if (!c.basicCa || c.basicPathLen || c.keyUsage !== 0xf600) return false;
  if (c.ekuCount !== 9) return false;
  for (let i = 0; i < 9; i++) if (c.ekus[i] !== i + 1) return false;
  const span = c.notAfter - c.notBefore;
  if (!c.utcTimes || span <= 0 || span % DAY !== 0) return false;
  return (c.notAfter > END_2038 - DAY && c.notAfter <= END_2038) ||
    (c.notAfter > END_2049 - DAY && c.notAfter <= END_2049);
}

function sameValue(
  buf: Uint8Array,
  n: X509Certificate["subject"],
  a: number,
  b: number,
): boolean {
  const len = n.valueLen[a];
  if (len !== n.valueLen[b]) return false;
  for (let i = 0; i < len; i++) if (buf[n.valueOff[a] + i] !== buf[n.valueOff[b] + i]) return false;
  return true;
}

/**
 * True when a client record of `recordLen` bytes can carry exactly an MS-SSTP
 * request whose Host is `hostLen` bytes long, given the cipher suite's record
 * overhead (AEAD: exact; CBC: IV, MAC and padding leave a window).
 */
function sstpSized(recordLen: number, cipherSuite: number, hostLen: number): boolean {
  const want = SSTP_REQUEST_FIXED + hostLen;
  if (
    (cipherSuite >= 0x009c && cipherSuite <= 0x00a7) ||
    (cipherSuite >= 0xc02b && cipherSuite <= 0xc032)
  ) return recordLen - 24 === want; // AES-GCM: 8-byte explicit nonce + 16-byte tag
  if (cipherSuite >= 0xcca8 && cipherSuite <= 0xccae) return recordLen - 16 === want; // ChaCha20-Poly1305
  // CBC: 16-byte IV, 20-48-byte MAC, 1-16 bytes of padding.
  return want >= recordLen - 80 && want <= recordLen - 37;
}

/**
 * True when the client's first application-data record has the size of an
 * MS-SSTP SSTP_DUPLEX_POST request to this server: Host is the SNI, or (no
 * SNI) the server's address literal, either one with or without ":port".
 */
function sstpRequest(c: FaceConn, serverIp: string, serverPort: number): boolean {
  if (c.appRecordLen < 0 || c.cipherSuite < 0) return false;
  const host = c.hostLen > 0 ? c.hostLen : serverIp.length + (serverIp.includes(":") ? 2 : 0);
  const port = 1 + String(serverPort).length;
  return sstpSized(c.appRecordLen, c.cipherSuite, host) ||
    sstpSized(c.appRecordLen, c.cipherSuite, host + port);
}

/** One inspected connection. */
class FaceConn implements StreamConsumer {
  slot = -1;
  kind = 0;
  /** Flow-table direction of the server's bytes. */
  serverDir = 1;
  verdict = V_PENDING;
  /** Packet time by which a pending decision is taken (0 = none). */
  deadline = 0;
  pending = false;
  face: ServerFace = "certificate";
  name: string | undefined;
  evidence: string[] = [];
  confidence = 0;
  decidedAt = 0;
  // LRU list of live connections (oldest first).
  prev: FaceConn | null = null;
  next: FaceConn | null = null;

  stream: TcpReassembler | undefined;
  readonly flight = new TlsServerFlight();
  readonly client = new TlsRecordScanner(8);
  readonly #framers: OpenVpnTcpFramer[];
  #bytes0 = 0;
  #bytes1 = 0;
  #ts = 0;

  // TLS
  #certMatched = false;
  /** SNI length (0: none or an address literal; −1: not seen). */
  hostLen = -1;
  /** Length of the client's first application-data record after the certificate (−1: none). */
  appRecordLen = -1;
  /** The cipher suite the server chose (−1: not seen). */
  cipherSuite = -1;
  /** Client records before the stream was followed (the ClientHello of a deferred inspection). */
  #recordsBefore = 0;

  // OpenVPN
  #packets = 0;
  #resetOk = false;
  #clientSidHi = 0;
  #clientSidLo = 0;
  #serverSidHi = 0;
  #serverSidLo = 0;
  readonly #clientSent = new Uint8Array(TRACKED_IDS);
  readonly #serverAcked = new Uint8Array(TRACKED_IDS);
  #nextServerId = 1;
  #held: { id: number; bytes: Uint8Array }[] = [];
  #chunk1200 = false;
  #flightOff = false; // TLS stream of the control channel no longer followed

  constructor() {
    const sinkFor = (dir: number): OpenVpnPacketSink => ({
      packet: (buf: Uint8Array, off: number, len: number, full: number): void =>
        this.openvpn(dir, buf, off, len, full, this.#ts),
    });
    this.#framers = [new OpenVpnTcpFramer(sinkFor(0)), new OpenVpnTcpFramer(sinkFor(1))];
  }

  /** Ready for flow `slot` (a pooled object is reused). */
  init(slot: number, kind: number, serverDir: number): void {
    this.slot = slot;
    this.kind = kind;
    this.serverDir = serverDir;
    this.verdict = V_PENDING;
    this.deadline = 0;
    this.pending = false;
    this.face = kind === K_TLS ? "certificate" : "OpenVPN";
    this.name = undefined;
    this.evidence = [];
    this.confidence = 0;
    this.decidedAt = 0;
    this.stream = undefined;
    this.flight.reset();
    this.client.reset();
    this.client.captureHandshake();
    this.#bytes0 = this.#bytes1 = 0;
    this.#certMatched = false;
    this.hostLen = -1;
    this.appRecordLen = -1;
    this.cipherSuite = -1;
    this.#recordsBefore = 0;
    this.#packets = 0;
    this.#resetOk = false;
    this.#clientSidHi =
      this.#clientSidLo =
      this.#serverSidHi =
      this.#serverSidLo =
        0;
    this.#clientSent.fill(0);
    this.#serverAcked.fill(0);
    this.#nextServerId = 1;
    this.#held.length = 0;
    this.#chunk1200 = false;
    this.#flightOff = false;
    this.#framers[0].reset();
    this.#framers[1].reset();
  }

  /**
   * The stream is followed from after the client's ClientHello (one record
   * of `bytes` bytes in direction `dir`, its SNI length `hostLen` taken
   * already): counted as if it had been fed.
   */
  afterHello(dir: number, bytes: number, hostLen: number): void {
    if (dir === 0) this.#bytes0 += bytes;
    else this.#bytes1 += bytes;
    this.hostLen = hostLen;
    this.#recordsBefore = 1;
  }

  /** Reassembled stream bytes (flow-table direction `dir`). */
  data(dir: number, buf: Uint8Array, off: number, len: number, ts: number): void {
    if (this.verdict !== V_PENDING) return;
    this.#ts = ts;
    if (dir === 0) this.#bytes0 += len;
    else this.#bytes1 += len;
    if ((dir === 0 ? this.#bytes0 : this.#bytes1) > MAX_STREAM_BYTES && !this.#certMatched) {
      this.#giveUp();
      return;
    }
    if (this.kind === K_OVPN_TCP) {
      const f = this.#framers[dir];
      f.feed(buf, off, len);
      if (f.desync) this.#giveUp();
      return;
    }
    if (dir === this.serverDir) this.#tlsServer(buf, off, len, ts);
    else this.#tlsClient(buf, off, len, ts);
  }

  /** Bytes cut off by the snaplen: the stream cannot be followed. */
  cut(_dir: number, _len: number, _ts: number): void {
    if (this.verdict === V_PENDING && !this.#certMatched) this.#giveUp();
  }

  /** Bytes missing: the stream cannot be followed. */
  gap(_dir: number, _len: number, _ts: number): void {
    if (this.verdict === V_PENDING && !this.#certMatched) this.#giveUp();
  }

  /** The decision timer ran out. */
  timer(now: number): void {
    this.deadline = 0;
    if (this.verdict !== V_PENDING) return;
    if (this.#certMatched) this.#report(now);
    else this.#giveUp();
  }

  /** The flow ended (or its inspection is let go): decide with what was seen. */
  close(now: number): void {
    if (this.verdict !== V_PENDING) return;
    this.stream?.flush(now);
    if (this.verdict !== V_PENDING) return;
    if (this.#certMatched) this.#report(now);
    else this.#giveUp();
  }

  #giveUp(): void {
    this.verdict = V_GIVE_UP;
  }

  #report(ts: number): void {
    this.verdict = V_REPORT;
    this.decidedAt = ts;
  }

  // TLS ---------------------------------------------------------------------

  #tlsServer(buf: Uint8Array, off: number, len: number, ts: number): void {
    if (this.#certMatched) return;
    const f = this.flight;
    f.feed(buf, off, len);
    if (f.state === FlightState.CERTIFICATE) {
      if (!this.#certificate(f)) {
        this.#giveUp();
        return;
      }
      this.#certMatched = true;
      this.cipherSuite = f.cipherSuite;
      this.evidence.push("tls_cert_softether_default");
      this.confidence = CONF_CERTIFICATE;
      this.deadline = ts + FACE_WAIT;
      this.decidedAt = ts;
      this.#clientRecords(ts); // the client's data may have come first (capture order)
    } else if (f.done) this.#giveUp();
  }

  /** Parse the flight's certificate; true (and the name set) when SoftEther made it. */
  #certificate(f: TlsServerFlight): boolean {
    const b = f.buffer;
    if (cert.parse(b, f.certOff, f.certLen) !== "ok" || !isSoftEtherDefaultCert(cert, b)) {
      return false;
    }
    const s = cert.subject;
    this.name = utf8Escaped(b, s.valueOff[0], s.valueOff[0] + s.valueLen[0]);
    return true;
  }

  #tlsClient(buf: Uint8Array, off: number, len: number, ts: number): void {
    const c = this.client;
    c.feed(buf, off, len);
    if (this.hostLen < 0 && c.handshakeReady) {
      const hb = c.handshakeBuffer(buf);
      if (hb !== null) {
        const h = parseClientHello(hb, c.handshakeOff, c.handshakeLen);
        this.hostLen = h.status === "ok" && h.sni !== null && !h.sniIsIpLiteral ? h.sni.length : 0;
      }
    }
    if (this.#certMatched) this.#clientRecords(ts);
  }

  /** After the certificate: the client's first application-data record (SSTP or not). */
  #clientRecords(ts: number): void {
    const c = this.client, room = c.capacity - this.#recordsBefore;
    const n = Math.min(c.count, room);
    for (let i = 0; i < n; i++) {
      if (c.types[i] !== TLS_APPLICATION_DATA) continue;
      this.appRecordLen = c.lengths[i];
      this.#report(ts);
      return;
    }
    if (c.desync || c.count >= room) this.#report(ts);
  }

  // OpenVPN -----------------------------------------------------------------

  /** One OpenVPN packet of flow-table direction `dir` (`full`: its length on the wire). */
  openvpn(dir: number, buf: Uint8Array, off: number, len: number, full: number, ts: number): void {
    if (this.verdict !== V_PENDING) return;
    if (++this.#packets > MAX_OPENVPN_PACKETS) return this.#giveUp();
    const k = pkt;
    if (k.parse(buf, off, len) !== "ok") return this.#giveUp();
    if (dir !== this.serverDir) {
      if (this.#packets === 1) {
        this.#clientSidHi = k.sessionHi;
        this.#clientSidLo = k.sessionLo;
      }
      if (!k.isData && k.packetId >= 0 && k.packetId < TRACKED_IDS) {
        const c = this.#clientSent;
        if (c[k.packetId] < 255) c[k.packetId]++;
      }
      return;
    }
    if (k.isData) return this.#serverData(k, ts);
    if (!this.#resetOk) {
      // The answer to the client's reset: no payload, one ack of its id 0.
      if (
        k.opcode !== OpenVpnOpcode.HARD_RESET_SERVER_V2 || k.keyId !== 0 || k.ackCount !== 1 ||
        k.acks[0] !== 0 || k.remoteHi !== this.#clientSidHi || k.remoteLo !== this.#clientSidLo ||
        k.packetId !== 0 || k.payloadLen !== 0 || full !== len
      ) return this.#giveUp();
      this.#resetOk = true;
      this.#serverSidHi = k.sessionHi;
      this.#serverSidLo = k.sessionLo;
      this.#serverAcked[0]++;
      this.evidence.push("openvpn_plain_reset");
      return;
    }
    if (k.sessionHi !== this.#serverSidHi || k.sessionLo !== this.#serverSidLo) {
      return this.#giveUp();
    }
    if (k.ackCount > SE_OPENVPN_MAX_ACKS) return this.#giveUp();
    if (k.ackCount > 0 && (k.remoteHi !== this.#clientSidHi || k.remoteLo !== this.#clientSidLo)) {
      return this.#giveUp();
    }
    for (let i = 0; i < k.ackCount; i++) {
      const id = k.acks[i];
      if (id >= TRACKED_IDS) continue;
      // Acknowledged more often than the client sent it: OpenVPN 2.6 re-acks.
      if (++this.#serverAcked[id] > this.#clientSent[id]) return this.#giveUp();
    }
    if (k.opcode !== OpenVpnOpcode.CONTROL_V1 || k.payloadLen === 0) return;
    const payload = k.payloadLen + (full - len);
    if (payload > SE_OPENVPN_CHUNK) return this.#giveUp();
    if (payload === SE_OPENVPN_CHUNK && !this.#chunk1200) {
      this.#chunk1200 = true;
      this.evidence.push("openvpn_ctrl_chunk_1200");
    }
    if (full === len) this.#controlTls(k.packetId, buf, k.payloadOff, k.payloadLen, ts);
    else this.#flightOff = true;
  }

  #serverData(k: OpenVpnPacket, ts: number): void {
    if (k.opcode !== OpenVpnOpcode.DATA_V1 || !this.#resetOk || !this.#chunk1200) {
      return this.#giveUp();
    }
    this.evidence.push("openvpn_acks_once", "openvpn_data_v1");
    this.confidence = CONF_OPENVPN_BEHAVIOUR;
    this.#report(ts);
  }

  /** The server's control payloads in packet-id order make the control channel's TLS stream. */
  #controlTls(id: number, buf: Uint8Array, off: number, len: number, ts: number): void {
    if (this.#flightOff || this.flight.done) return;
    if (id < this.#nextServerId) return; // a retransmission
    if (id > this.#nextServerId) {
      if (this.#held.length >= HELD_MAX) this.#flightOff = true;
      else this.#held.push({ id, bytes: buf.slice(off, off + len) });
      return;
    }
    this.#nextServerId++;
    this.#flightFeed(buf, off, len, ts);
    for (let again = true; again && this.verdict === V_PENDING && !this.flight.done;) {
      again = false;
      for (let i = 0; i < this.#held.length; i++) {
        const h = this.#held[i];
        if (h.id < this.#nextServerId) {
          this.#held.splice(i--, 1);
          continue;
        }
        if (h.id !== this.#nextServerId) continue;
        this.#held.splice(i, 1);
        this.#nextServerId++;
        this.#flightFeed(h.bytes, 0, h.bytes.length, ts);
        again = true;
        break;
      }
    }
  }

  #flightFeed(buf: Uint8Array, off: number, len: number, ts: number): void {
    const f = this.flight;
    f.feed(buf, off, len);
    if (f.state !== FlightState.CERTIFICATE) return;
    if (this.#certificate(f)) {
      this.evidence.push("tls_cert_softether_default");
      this.confidence = CONF_CERTIFICATE;
      this.#report(ts);
    }
  }

  /** Set the packet time for the framers' callbacks. */
  at(ts: number): void {
    this.#ts = ts;
  }
}

/**
 * Identifies SoftEther servers by their OpenVPN and SSTP faces and by their
 * self-generated certificate (see the module doc). One event per (server
 * address, server port, face) per run.
 */
export class ServerFaceDetector implements Detector {
  /** One bit: this detector keeps per-slot state for the flow. */
  readonly markBits = 1;
  /** Position of the bit (set by the pipeline). */
  markShift = 0;
  /** Work counters. */
  readonly stats: ServerFaceStats = {
    inspected: 0,
    reported: 0,
    repeated: 0,
    evicted: 0,
    errors: 0,
  };
  readonly #emit: EmitFn;
  readonly #weirds: Weirds;
  readonly #max: number;
  #state = new Uint8Array(0);
  // Deferred TLS inspections (state ST_HELLO…): where the ClientHello's
  // direction goes on, the hello's bytes, its SNI length.
  #helloEnd = new Float64Array(0);
  #helloBytes = new Int32Array(0);
  #hostLen = new Int32Array(0);
  readonly #sni = new Int32Array(2);
  #conns: (FaceConn | undefined)[] = [];
  #free: FaceConn[] = [];
  #live = 0;
  #oldest: FaceConn | null = null;
  #newest: FaceConn | null = null;
  readonly #pending: FaceConn[] = [];
  #earliest = Infinity;
  #table: FlowTable | undefined;
  readonly #reported = new Map<string, true>();

  /** Creates the detector; `emit` receives the server events, `weirds` the malformed-input counts. */
  constructor(emit: EmitFn, weirds: Weirds, opts: ServerFaceOptions = {}) {
    this.#emit = emit;
    this.#weirds = weirds;
    this.#max = Math.max(1, opts.maxInspections ?? DEFAULT_MAX_INSPECTIONS);
  }

  /** Connections under inspection now. */
  get live(): number {
    return this.#live;
  }

  /** True while flow `slot` is inspected. */
  inspecting(table: FlowTable, slot: number): boolean {
    if ((table.mark(slot) & (1 << this.markShift)) === 0) return false;
    const st = this.#state[slot];
    return st === ST_INSPECT || st >= ST_HELLO;
  }

  /** Per-packet hook: one mark check for flows already judged. */
  onPacket(table: FlowTable, slot: number, dir: number, p: DecodedPacket): void {
    if (p.ts >= this.#earliest) this.#timers(p.ts);
    const bit = 1 << this.markShift;
    if ((table.mark(slot) & bit) !== 0) {
      const st = this.#state[slot];
      if (st >= ST_HELLO) return this.#deferred(table, slot, dir, p, st - ST_HELLO);
      if (st !== ST_INSPECT) return;
      const c = this.#conns[slot]!;
      this.#packet(c, dir, p);
      this.#after(table, slot, c, p.ts);
      return;
    }
    if (p.payloadCapLen === 0 && (p.proto === IpProto.TCP || p.proto === IpProto.UDP)) return;
    if (slot >= this.#state.length) this.#grow(slotCapacity(slot, table.maxFlows));
    this.#table = table;
    table.setMark(slot, table.mark(slot) | bit);
    const kind = this.#kindOf(table, slot, dir, p);
    if (kind === 0) {
      this.#state[slot] = ST_DONE;
      return;
    }
    const serverDir = kind === K_TLS && dir === 1 ? 0 : 1 - dir;
    if (kind === K_TLS && this.#defer(table, slot, dir, p)) {
      this.#state[slot] = ST_HELLO + serverDir;
      this.stats.inspected++;
      return;
    }
    const c = this.#start(table, slot, kind, serverDir);
    this.#packet(c, dir, p);
    this.#after(table, slot, c, p.ts);
  }

  /**
   * A ClientHello that comes whole, alone and in order in its segment: its
   * inspection waits for the server's answer (most connections end there, a
   * TLS 1.3 ServerHello hides the certificate), keeping only where its
   * direction goes on, its length and its SNI length. True when deferred.
   */
  #defer(table: FlowTable, slot: number, dir: number, p: DecodedPacket): boolean {
    const b = p.buf, o = p.payloadOffset, n = p.payloadCapLen;
    if (
      n !== p.payloadLen || n < 9 || n > MAX_STREAM_BYTES ||
      (p.tcpFlags & (TcpFlag.SYN | TcpFlag.FIN)) !== 0
    ) return false;
    const start = table.streamStart(slot, dir);
    if (start >= 0 && start !== p.seq) return false;
    const recLen = readU16(b, o + 3);
    if (5 + recLen !== n || 4 + readU24(b, o + 6) > recLen) return false;
    let hostLen = 0;
    const s = this.#sni;
    if (findSni(b, o, n, s) && !ipLiteralName(b, s[0], s[0] + s[1])) hostLen = s[1];
    this.#helloEnd[slot] = (p.seq + n) >>> 0;
    this.#helloBytes[slot] = n;
    this.#hostLen[slot] = hostLen;
    return true;
  }

  /**
   * A packet of a deferred TLS inspection: the server's first bytes opening
   * with a TLS 1.3 ServerHello end it; any other payload (or SYN / FIN)
   * starts following the connection from after the ClientHello.
   */
  #deferred(table: FlowTable, slot: number, dir: number, p: DecodedPacket, serverDir: number) {
    if (p.payloadLen === 0 && (p.tcpFlags & (TcpFlag.SYN | TcpFlag.FIN)) === 0) return;
    if (dir === serverDir && p.payloadLen > 0 && p.payloadCapLen === p.payloadLen) {
      const start = table.streamStart(slot, dir);
      if (
        (start < 0 || start === p.seq) &&
        opensWithTls13Hello(p.buf, p.payloadOffset, p.payloadCapLen)
      ) {
        this.#state[slot] = ST_DONE;
        return;
      }
    }
    const helloDir = 1 - serverDir;
    const c = this.#start(table, slot, K_TLS, serverDir, this.#helloEnd[slot]);
    c.afterHello(helloDir, this.#helloBytes[slot], this.#hostLen[slot]);
    this.#packet(c, dir, p);
    this.#after(table, slot, c, p.ts);
  }

  /** What the flow's first payload says: a connection kind, or 0 (not inspected). */
  #kindOf(table: FlowTable, slot: number, dir: number, p: DecodedPacket): number {
    const b = p.buf, o = p.payloadOffset, n = p.payloadCapLen;
    if (p.proto === IpProto.TCP) {
      // A TLS handshake record starting with a ClientHello; from the flow's
      // client, or either side when the roles were not seen (picked up mid-stream).
      if (
        n >= 6 && b[o] === 0x16 && b[o + 1] === 3 && b[o + 2] <= 4 && b[o + 5] === 1 &&
        (dir === 0 || !table.rolesFromHandshake(slot))
      ) return K_TLS;
      // SoftEther's TCP listener takes a stream for OpenVPN only when it starts
      // 00 0E: the length of a plain P_CONTROL_HARD_RESET_CLIENT_V2.
      if (
        dir === 0 && n >= 16 && b[o] === 0 && b[o + 1] === 14 && this.#clientReset(b, o + 2, 14)
      ) {
        return K_OVPN_TCP;
      }
      return 0;
    }
    if (p.proto === IpProto.UDP && dir === 0 && this.#clientReset(b, o, n)) return K_OVPN_UDP;
    return 0;
  }

  /** A plain P_CONTROL_HARD_RESET_CLIENT_V2: key id 0, no acks, packet id 0. */
  #clientReset(b: Uint8Array, o: number, n: number): boolean {
    return pkt.parse(b, o, n) === "ok" && pkt.opcode === OpenVpnOpcode.HARD_RESET_CLIENT_V2 &&
      pkt.keyId === 0 && pkt.ackCount === 0 && pkt.packetId === 0;
  }

  /**
   * Starts inspecting flow `slot`; `helloEnd` ≥ 0: a deferred TLS inspection,
   * its client side followed from there (counted as inspected already).
   */
  #start(table: FlowTable, slot: number, kind: number, serverDir: number, helloEnd = -1): FaceConn {
    if (this.#live >= this.#max && this.#oldest !== null) this.#evict(table, this.#oldest);
    const c = this.#free.pop() ?? new FaceConn();
    c.init(slot, kind, serverDir);
    if (kind !== K_OVPN_UDP) {
      const helloDir = 1 - serverDir;
      c.stream = new TcpReassembler(
        c,
        this.#weirds,
        helloEnd >= 0 && helloDir === 0 ? helloEnd : table.streamStart(slot, 0),
        helloEnd >= 0 && helloDir === 1 ? helloEnd : table.streamStart(slot, 1),
      );
    }
    this.#conns[slot] = c;
    this.#state[slot] = ST_INSPECT;
    this.#live++;
    if (helloEnd < 0) this.stats.inspected++;
    c.prev = this.#newest;
    c.next = null;
    if (this.#newest !== null) this.#newest.next = c;
    else this.#oldest = c;
    this.#newest = c;
    return c;
  }

  #evict(table: FlowTable, c: FaceConn): void {
    this.stats.evicted++;
    this.#weirds.add("face_inspection_evicted");
    c.close(table.lastSeen(c.slot));
    if (c.verdict === V_REPORT) this.#report(table, c.slot, c);
    this.#release(c);
  }

  #packet(c: FaceConn, dir: number, p: DecodedPacket): void {
    try {
      c.at(p.ts);
      if (c.kind === K_OVPN_UDP) {
        if (p.payloadCapLen > 0) {
          c.openvpn(dir, p.buf, p.payloadOffset, p.payloadCapLen, p.payloadLen, p.ts);
        }
      } else {
        c.stream!.packet(dir, p);
      }
    } catch {
      // A parser bug must not stop the sensor: count it, let the connection go.
      this.stats.errors++;
      c.verdict = V_GIVE_UP;
    }
  }

  #after(table: FlowTable, slot: number, c: FaceConn, now: number): void {
    if (c.verdict === V_PENDING) {
      if (c.deadline > 0) {
        if (c.deadline <= now) {
          c.timer(c.deadline);
          this.#after(table, slot, c, now);
          return;
        }
        this.#pend(c);
      }
      return;
    }
    if (c.verdict === V_REPORT) this.#report(table, slot, c);
    this.#release(c);
  }

  #report(table: FlowTable, slot: number, c: FaceConn): void {
    const ev: DetectionEvent = flowEvent(table, slot, c.decidedAt, {
      kind: "server",
      variant: c.kind === K_OVPN_UDP ? "UDP" : "TCP",
      reversed: c.serverDir === 0,
      evidence: c.evidence,
      confidence: c.confidence,
    });
    if (c.kind === K_TLS && sstpRequest(c, ev.server.ip, ev.server.port)) {
      c.face = "SSTP";
      ev.evidence.push("sstp_request_size");
    }
    ev.face = c.face;
    if (c.name !== undefined) ev.name = c.name;
    const key = `${ev.server.ip}|${ev.server.port}|${c.face}`;
    if (this.#reported.has(key)) {
      this.stats.repeated++;
      return;
    }
    if (this.#reported.size >= DEDUP_MAX) {
      this.#reported.delete(this.#reported.keys().next().value!);
    }
    this.#reported.set(key, true);
    this.stats.reported++;
    this.#emit(ev);
  }

  /** Let go of a connection's inspection: its flow is judged for good. */
  #release(c: FaceConn): void {
    const slot = c.slot;
    if (slot < 0) return;
    this.#unpend(c);
    if (c.prev !== null) c.prev.next = c.next;
    else this.#oldest = c.next;
    if (c.next !== null) c.next.prev = c.prev;
    else this.#newest = c.prev;
    c.prev = c.next = null;
    this.#state[slot] = ST_DONE;
    this.#conns[slot] = undefined;
    this.#live--;
    c.slot = -1;
    c.stream = undefined;
    this.#free.push(c);
  }

  #pend(c: FaceConn): void {
    if (c.deadline < this.#earliest) this.#earliest = c.deadline;
    if (!c.pending) {
      c.pending = true;
      this.#pending.push(c);
    }
  }

  #unpend(c: FaceConn): void {
    if (!c.pending) return;
    c.pending = false;
    const i = this.#pending.indexOf(c);
    if (i >= 0) this.#pending.splice(i, 1);
  }

  #timers(now: number): void {
    this.#earliest = Infinity;
    for (let i = 0; i < this.#pending.length; i++) {
      const c = this.#pending[i];
      if (now < c.deadline) {
        if (c.deadline < this.#earliest) this.#earliest = c.deadline;
        continue;
      }
      c.timer(c.deadline);
      if (this.#table !== undefined && c.slot >= 0) {
        this.#after(this.#table, c.slot, c, now);
        i = -1; // the list changed
        this.#earliest = Infinity;
      }
    }
  }

  /** Grows the per-slot state to `n` slots, keeping what it holds. */
  #grow(n: number): void {
    const state = new Uint8Array(n);
    state.set(this.#state);
    this.#state = state;
    this.#conns.length = n;
    const helloEnd = new Float64Array(n);
    helloEnd.set(this.#helloEnd);
    this.#helloEnd = helloEnd;
    const helloBytes = new Int32Array(n);
    helloBytes.set(this.#helloBytes);
    this.#helloBytes = helloBytes;
    const hostLen = new Int32Array(n);
    hostLen.set(this.#hostLen);
    this.#hostLen = hostLen;
  }

  /** Flow end: decide what is still open; forget the slot. */
  onFlowEnd(table: FlowTable, slot: number, _reason: number): void {
    const bit = 1 << this.markShift;
    if ((table.mark(slot) & bit) === 0) return;
    if (this.#state[slot] === ST_INSPECT) {
      const c = this.#conns[slot]!;
      try {
        c.close(table.lastSeen(slot));
      } catch {
        this.stats.errors++;
        c.verdict = V_GIVE_UP;
      }
      if (c.verdict === V_REPORT) this.#report(table, slot, c);
      this.#release(c);
    }
    this.#state[slot] = ST_NONE;
  }

  /** Let packet time pass without a packet (live mode on a quiet link). */
  tick(now: number): void {
    if (now >= this.#earliest) this.#timers(now);
  }

  /** End of input: the flow table's flush ended every inspection already. */
  finish(): void {
    this.#pending.length = 0;
    this.#earliest = Infinity;
  }
}

/**
 * True when the SNI `buf[start .. end)` is an IP address literal. Text is
 * made only for a name that may be one: with a colon (IPv6, perhaps
 * bracketed or with a zone), or of digits and dots only (IPv4).
 */
function ipLiteralName(buf: Uint8Array, start: number, end: number): boolean {
  let v4 = true;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c === 0x3a) return isIpLiteral(latin1(buf, start, end));
    if (!((c >= 0x30 && c <= 0x39) || c === 0x2e)) v4 = false;
  }
  return v4 && isIpLiteral(latin1(buf, start, end));
}
