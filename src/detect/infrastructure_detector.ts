/**
 * Hosts contacting SoftEther's infrastructure: the dynamic DNS service
 * (DDNS.c), the NAT traversal servers (Mayaqua/Network.c `RUDP…NatT…`,
 * UdpAccel.c), the VPN Azure relay (AzureClient.c) and the keep-alive
 * target (Connection.c `KeepThread`). One event per contacting host and
 * service for the run; later contacts are only counted.
 *
 * Evidence, each checked against SoftEther's sources:
 *
 * - DNS questions (UDP 53) for SoftEther's names, compared in wire form:
 *   `*.ddns.softether-network.net` (registration `x?.x?.[dev.]open.servers[-v6]…`,
 *   `get-my-ip[-v6]…`), `*.nat-traversal.softether-network.net`, the
 *   alternative `*.ddns.uxcom.jp` / `*.nat-traversal.uxcom.jp`, `*.vpnazure.net`,
 *   `keepalive.softether.org`, and the DDNS host names users get
 *   (`*.softether.net`, `*.sedns.cn` in China). A response's A/AAAA answers
 *   for an infrastructure name (not a user's host name) are remembered
 *   (bounded), so that a later TCP or UDP contact with such an address
 *   counts without any plaintext marker; a response whose query went unseen
 *   counts for the host it is addressed to.
 * - The first client payload of a TCP connection: a TLS ClientHello whose
 *   SNI is one of those names or the literal `DDNS` (`DDNS_SNI_VER_STRING`);
 *   an HTTP request whose Host is one of them, or whose target is a DDNS
 *   endpoint (`/ddns/ddns.aspx`, `/ddns/getmyip.ashx`) sent with the fixed
 *   headers of SoftEther's HTTP client (Wpc.c: `User-Agent` of an old
 *   Firefox, `Keep-Alive: timeout=15; max=19`, `Accept-Language: ja`); a
 *   proxy's CONNECT to one of the names (HTTPS through an HTTP proxy); the
 *   keep-alive text; VPN Azure's control signature `ACTL`, confirmed by the
 *   relay's parameter Pack (`ControlKeepAlive`, …) or the server's own
 *   (`CurrentHostName`, …), both sent with size and SHA-1 (`SendPackWithHash`).
 * - UDP payloads: a plaintext Pack whose `opcode` is one of NAT traversal's
 *   (`get_token`, `nat_t_register`, `nat_t_connect_request`,
 *   `nat_t_connect_relay`); a NAT-T server's `IP=…,PORT=…#` answer from port
 *   5004 (`UDP_NAT_T_PORT`); the text "Internet Connection Keep Alive Packet"
 *   (`KEEP_ALIVE_STRING`).
 *
 * The event's client is the contacting host (its port as seen), the server
 * the endpoint it contacted (for DNS evidence the resolver's port 53).
 *
 * Hot path: a packet that is not UDP 53, not a flow's first packet while
 * addresses are remembered, not a TCP connection's first client payload and
 * not a UDP payload passing a few byte checks returns after integer
 * comparisons; nothing is allocated before a decision.
 *
 * @module
 */

import { type DecodedPacket, IpProto } from "../decode/packet.ts";
import type { Weirds } from "../decode/weirds.ts";
import type { FlowTable } from "../flow/flow_table.ts";
import { utf8Escaped } from "../proto/bytes.ts";
import { DnsMessage, DnsSection, DnsType, nameToWire } from "../proto/dns_message.ts";
import { findHeader, parseRequestLine } from "../proto/http_request_line.ts";
import { PackReader, PackValueType } from "../proto/softether_pack.ts";
import { findSni } from "../proto/tls_sni.ts";
import type { Detector, EmitFn } from "./detector.ts";
import type { InfraService } from "./event.ts";
import { flowEvent } from "./flow_event.ts";

/** Service codes (index into {@linkcode SERVICES}). */
const DDNS = 0, NAT_T = 1, AZURE = 2, KEEPALIVE = 3;
const SERVICES: readonly InfraService[] = ["DDNS", "NAT-T", "VPN Azure", "Keep-alive"];

/** Hosts the de-duplication set holds (two generations of half as many). */
const HOST_CAPACITY = 65536;
/** Addresses of infrastructure names remembered from DNS answers. */
const ADDRESS_CAPACITY = 4096;

const DNS_PORT = 53;
/** NAT traversal servers' UDP port (Network.h `UDP_NAT_T_PORT`). */
const NAT_T_PORT = 5004;
/** Largest Pack accepted after an `ACTL` (the relay's parameters, the server's status). */
const AZURE_PACK_MAX = 65536;

const ascii = (s: string) => new TextEncoder().encode(s);

/** SoftEther's names: dotted suffix, service, whether its addresses are infrastructure. */
const NAMES = ([
  ["ddns.softether-network.net", DDNS, true],
  ["nat-traversal.softether-network.net", NAT_T, true],
  ["ddns.uxcom.jp", DDNS, true],
  ["nat-traversal.uxcom.jp", NAT_T, true],
  ["vpnazure.net", AZURE, true],
  ["keepalive.softether.org", KEEPALIVE, true],
  ["softether.net", DDNS, false],
  ["sedns.cn", DDNS, false],
] as const).map(([suffix, service, remember]) => ({
  service,
  remember,
  text: ascii(suffix),
  wire: nameToWire(suffix),
}));

/** The SNI SoftEther's DDNS client sends (DDNS.h `DDNS_SNI_VER_STRING`). */
const SNI_DDNS = ascii("ddns");
/** Connection.h `KEEP_ALIVE_STRING`. */
const KEEPALIVE_TEXT = ascii("Internet Connection Keep Alive Packet");
/** AzureClient.h `AZURE_PROTOCOL_CONTROL_SIGNATURE`. */
const ACTL = ascii("ACTL");

// HTTP (Wpc.c HttpRequestEx2, DDNS.h URLs).
const DDNS_PATHS = [ascii("/ddns/ddns.aspx"), ascii("/ddns/getmyip.ashx")];
const H_HOST = ascii("host");
const H_USER_AGENT = ascii("user-agent");
const H_KEEP_ALIVE = ascii("keep-alive");
const H_ACCEPT_LANGUAGE = ascii("accept-language");
const WPC_USER_AGENT = ascii(
  "Mozilla/5.0 (Windows NT 6.3; WOW64; rv:29.0) Gecko/20100101 Firefox/29.0",
);
const WPC_KEEP_ALIVE = ascii("timeout=15; max=19");
const WPC_LANGUAGE = ascii("ja");
const HTTP_SCHEME = ascii("http://");
const GET = ascii("GET");
const POST = ascii("POST");
const CONNECT = ascii("CONNECT");

// Packs.
const P_OPCODE = ascii("opcode");
const NAT_T_OPCODES = [
  [ascii("get_token"), "pack_get_token"],
  [ascii("nat_t_register"), "pack_nat_t_register"],
  [ascii("nat_t_connect_request"), "pack_nat_t_connect_request"],
  [ascii("nat_t_connect_relay"), "pack_nat_t_connect_relay"],
] as const;
/** Elements of the relay's parameter Pack (AcMainThread). */
const AZURE_RELAY_ELEMENTS = ["ControlKeepAlive", "ControlTimeout", "DataTimeout", "SslTimeout"]
  .map(ascii);
/** Elements of the server's status Pack (AcMainThread). */
const AZURE_SERVER_ELEMENTS = [
  "CurrentHostName",
  "CurrentAzureIp",
  "CurrentAzureTimestamp",
  "CurrentAzureSignature",
].map(ascii);

/** Confidence of each kind of evidence. */
const CONF = {
  DNS: 0.9,
  SNI: 0.9,
  HTTP_HOST: 0.85,
  HTTP_HOST_PLUS: 0.95,
  HTTP_FULL: 0.99,
  HTTP_NO_HOST: 0.9,
  PACK: 0.95,
  NAT_T_REPLY: 0.85,
  KEEPALIVE: 0.95,
  AZURE: 0.95,
  AZURE_ACTL_ONLY: 0.6,
  ADDRESS: 0.7,
} as const;

/** Counters of the detector (for the summary). */
interface InfrastructureStats {
  /** Events emitted: one per contacting host and service. */
  events: number;
  /** Contacts seen by service (every DNS question, request, Pack, keep-alive, new flow to a remembered address). */
  contacts: Record<InfraService, number>;
  /** Contacts of a host already reported for that service (counted, not alerted). */
  repeated: number;
  /** Hosts the de-duplication set forgot at its cap (their next contact alerts again). */
  hostsForgotten: number;
  /** Infrastructure addresses remembered from DNS answers now. */
  addresses: number;
  /** Remembered addresses forgotten at the cap. */
  addressesForgotten: number;
}

/**
 * A bounded map from IP address (version + four words) to a small value and
 * an optional name, in two generations: inserts go to the current one; when
 * it is full the older is dropped (its entries counted as forgotten) and an
 * empty one takes over; a hit in the older generation moves the entry to
 * the current one, so addresses in use stay. Open addressing in typed
 * arrays: lookups allocate nothing. Allocated on first insert.
 */
class AddressTable {
  /** Entries dropped with an older generation. */
  forgotten = 0;
  readonly #genCap: number;
  readonly #size: number;
  #keys: Uint32Array[] = [];
  #meta: Uint8Array[] = []; // 0 empty, 4 / 6 the key's IP version, MOVED
  #vals: Uint32Array[] = [];
  #names: (string | undefined)[][] = [];
  #count = [0, 0]; // entries inserted per generation
  #moved = [0, 0]; // entries moved out of a generation
  #cur = 0;

  /** A table of at most `capacity` live entries. */
  constructor(capacity: number) {
    this.#genCap = capacity >> 1;
    let size = 1;
    while (size < this.#genCap * 2) size <<= 1;
    this.#size = size;
  }

  /** Live entries. */
  get size(): number {
    return this.#count[0] - this.#moved[0] + this.#count[1] - this.#moved[1];
  }

  /** Position of the key in the current generation (moved there from the older one), or −1. */
  find(version: number, w: Uint32Array): number {
    if (this.#keys.length === 0) return -1;
    const h = hashAddress(version, w);
    const cur = this.#cur;
    const at = this.#probe(cur, version, w, h);
    if (at >= 0) return at;
    const old = 1 - cur;
    const o = this.#probe(old, version, w, h);
    if (o < 0) return -1;
    const val = this.#vals[old][o], name = this.#names[old][o];
    this.#meta[old][o] = MOVED;
    this.#names[old][o] = undefined;
    this.#moved[old]++;
    return this.insert(version, w, val, name);
  }

  /** The value at a position returned by {@linkcode find} or {@linkcode insert}. */
  value(at: number): number {
    return this.#vals[this.#cur][at];
  }

  /** Replaces the value at a position. */
  setValue(at: number, v: number): void {
    this.#vals[this.#cur][at] = v;
  }

  /** The name at a position. */
  name(at: number): string | undefined {
    return this.#names[this.#cur][at];
  }

  /**
   * Inserts a key not in the table (or updates it when present in the
   * current generation); returns its position in the current generation.
   */
  insert(version: number, w: Uint32Array, val: number, name?: string): number {
    if (this.#keys.length === 0) this.#allocate();
    const h = hashAddress(version, w);
    let at = this.#probe(this.#cur, version, w, h);
    if (at < 0) {
      if (this.#count[this.#cur] >= this.#genCap) {
        this.#rotate();
        // A key only in the dropped generation is gone with it.
      }
      at = -1 - this.#probe(this.#cur, version, w, h);
      const g = this.#cur;
      this.#meta[g][at] = version;
      const k = this.#keys[g];
      for (let i = 0; i < 4; i++) k[at * 4 + i] = w[i];
      this.#count[g]++;
    }
    this.#vals[this.#cur][at] = val;
    this.#names[this.#cur][at] = name;
    return at;
  }

  /**
   * Position of the key in generation `g`, or −1 − (the empty position where
   * it would go) when absent.
   */
  #probe(g: number, version: number, w: Uint32Array, h: number): number {
    const mask = this.#size - 1, meta = this.#meta[g], keys = this.#keys[g];
    let i = h & mask;
    for (;;) {
      const m = meta[i];
      if (m === 0) return -1 - i;
      if (
        m === version && keys[i * 4] === w[0] && keys[i * 4 + 1] === w[1] &&
        keys[i * 4 + 2] === w[2] && keys[i * 4 + 3] === w[3]
      ) return i;
      i = (i + 1) & mask;
    }
  }

  /** Drops the older generation and makes it the (empty) current one. */
  #rotate(): void {
    const old = 1 - this.#cur;
    this.forgotten += this.#count[old] - this.#moved[old];
    this.#meta[old].fill(0);
    this.#names[old].fill(undefined);
    this.#count[old] = this.#moved[old] = 0;
    this.#cur = old;
  }

  #allocate(): void {
    for (let g = 0; g < 2; g++) {
      this.#keys.push(new Uint32Array(this.#size * 4));
      this.#meta.push(new Uint8Array(this.#size));
      this.#vals.push(new Uint32Array(this.#size));
      this.#names.push(new Array(this.#size).fill(undefined));
    }
  }
}

/** Marks an entry moved to the newer generation (skipped by lookups, never matched). */
const MOVED = 255;

function hashAddress(version: number, w: Uint32Array): number {
  let h = Math.imul(w[0] ^ version, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ w[1], 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w[2], 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ w[3], 0x27d4eb2f);
  return (h ^ (h >>> 15)) & 0x3fffffff; // a small integer: never boxed
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** True when `buf[at .. at + s.length)` is `s` (exact bytes). */
function bytesAt(buf: Uint8Array, at: number, end: number, s: Uint8Array): boolean {
  if (at + s.length > end) return false;
  for (let i = 0; i < s.length; i++) if (buf[at + i] !== s[i]) return false;
  return true;
}

/** True when `buf[start .. end)` is exactly `s` (exact bytes). */
function spanIs(buf: Uint8Array, start: number, end: number, s: Uint8Array): boolean {
  return end - start === s.length && bytesAt(buf, start, end, s);
}

/** True when `buf[start .. end)` is exactly `s`, ASCII case-insensitively (`s` lower-case). */
function spanIsCi(buf: Uint8Array, start: number, end: number, s: Uint8Array): boolean {
  if (end - start !== s.length) return false;
  for (let i = 0; i < s.length; i++) if (lower(buf[start + i]) !== s[i]) return false;
  return true;
}

/**
 * Index in {@linkcode NAMES} of the SoftEther name that the dotted host name
 * `buf[start .. end)` is or ends with (whole labels, case-insensitive, one
 * final dot allowed), or −1.
 */
function classifyText(buf: Uint8Array, start: number, end: number): number {
  if (end > start && buf[end - 1] === 0x2e) end--;
  for (let k = 0; k < NAMES.length; k++) {
    const s = NAMES[k].text, n = end - start;
    if (n < s.length) continue;
    const from = end - s.length;
    if (n > s.length && buf[from - 1] !== 0x2e) continue;
    let i = 0;
    while (i < s.length && lower(buf[from + i]) === s[i]) i++;
    if (i === s.length) return k;
  }
  return -1;
}

/** Detects contacts with SoftEther's DDNS, NAT-T, VPN Azure and keep-alive servers. */
export class InfrastructureDetector implements Detector {
  /** One bit: a VPN Azure control connection awaits its confirmation. */
  readonly markBits = 1;
  /** Position of the bit (set by the pipeline). */
  markShift = 0;
  readonly #sink: EmitFn;
  readonly #weirds: Weirds;
  readonly #hosts = new AddressTable(HOST_CAPACITY); // value: bit per service reported
  readonly #memory = new AddressTable(ADDRESS_CAPACITY); // value: service; name: the DNS name
  readonly #dns = new DnsMessage();
  readonly #pack = new PackReader();
  readonly #span = new Int32Array(4);
  readonly #value = new Int32Array(2);
  readonly #word = new Uint32Array(4);
  readonly #peer = new Uint32Array(4);
  readonly #contacts = new Float64Array(SERVICES.length);
  #events = 0;
  #repeated = 0;

  /** Creates the detector; `emit` receives its events, `weirds` counts what its bounded memory forgets. */
  constructor(emit: EmitFn, weirds: Weirds) {
    this.#sink = emit;
    this.#weirds = weirds;
  }

  /** Counters for the summary. */
  get stats(): InfrastructureStats {
    const contacts = {} as Record<InfraService, number>;
    SERVICES.forEach((s, i) => contacts[s] = this.#contacts[i]);
    return {
      events: this.#events,
      contacts,
      repeated: this.#repeated,
      hostsForgotten: this.#hosts.forgotten,
      addresses: this.#memory.size,
      addressesForgotten: this.#memory.forgotten,
    };
  }

  /** See {@linkcode Detector.onPacket}. */
  onPacket(table: FlowTable, slot: number, dir: number, p: DecodedPacket): void {
    const proto = p.proto;
    if (proto === IpProto.UDP) {
      if (p.srcPort === DNS_PORT || p.dstPort === DNS_PORT) return this.#onDns(table, slot, dir, p);
      if (this.#memory.size > 0 && table.packets(slot, 0) + table.packets(slot, 1) === 1) {
        this.#onFirstPacket(table, slot, dir, p);
      }
      if (p.payloadCapLen > 0) this.#onUdpPayload(table, slot, dir, p);
    } else if (proto === IpProto.TCP) {
      if (this.#memory.size > 0 && table.packets(slot, 0) + table.packets(slot, 1) === 1) {
        this.#onFirstPacket(table, slot, dir, p);
      }
      if (p.payloadCapLen === 0) return;
      if ((table.mark(slot) & (1 << this.markShift)) !== 0) {
        return this.#onAzureFollowUp(table, slot, dir, p);
      }
      if (
        dir === 0 && table.payloadBytes(slot, 1) === 0 &&
        table.payloadBytes(slot, 0) === p.payloadLen
      ) this.#onFirstClientPayload(table, slot, p);
    }
  }

  // ---------------------------------------------------------------- DNS

  #onDns(table: FlowTable, slot: number, dir: number, p: DecodedPacket): void {
    const m = this.#dns;
    if (!m.parse(p.buf, p.payloadOffset, p.payloadCapLen) || m.opcode !== 0 || m.qdCount === 0) {
      return;
    }
    let k = 0;
    while (k < NAMES.length && !m.questionHasSuffix(NAMES[k].wire)) k++;
    if (k === NAMES.length) return;
    const svc = NAMES[k].service;
    let name: string | undefined;
    if (m.isResponse) {
      if (NAMES[k].remember && m.rcode === 0) name = this.#rememberAnswers(m, svc);
      // A response whose query this flow carried counted with the query.
      if (table.packets(slot, 1 - dir) > 0) return;
    }
    const side = m.isResponse ? 1 - dir : dir;
    if (!this.#firstContact(p.ipVersion, side === dir ? p.src : p.dst, svc, true)) return;
    this.#report(
      table,
      slot,
      p.ts,
      side,
      svc,
      [m.isResponse ? "dns_answer" : "dns_question"],
      CONF.DNS,
      name ?? m.questionName(),
    );
  }

  /**
   * Remembers the A/AAAA answers of the current response (an address known
   * for the service already is left as it is); returns the question's name
   * when it was needed.
   */
  #rememberAnswers(m: DnsMessage, svc: number): string | undefined {
    let name: string | undefined;
    const w = this.#word, buf = m.buf;
    while (m.nextRecord()) {
      if (m.rrSection !== DnsSection.ANSWER || m.rrClass !== 1) continue;
      const o = m.rrDataOffset;
      let version = 0;
      if (m.rrType === DnsType.A && m.rrDataLength === 4) {
        version = 4;
        w[0] = ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
        w[1] = w[2] = w[3] = 0;
      } else if (m.rrType === DnsType.AAAA && m.rrDataLength === 16) {
        version = 6;
        for (let i = 0; i < 4; i++) {
          const q = o + i * 4;
          w[i] = ((buf[q] << 24) | (buf[q + 1] << 16) | (buf[q + 2] << 8) | buf[q + 3]) >>> 0;
        }
      } else continue;
      const at = this.#memory.find(version, w);
      if (at >= 0 && this.#memory.value(at) === svc) continue; // known: the first name stays
      name ??= m.questionName();
      const before = this.#memory.forgotten;
      this.#memory.insert(version, w, svc, name);
      this.#countForgotten(this.#memory.forgotten - before, "infra_address_forgotten");
    }
    return name;
  }

  // ---------------------------------------------------------------- remembered addresses

  /** A flow's first packet: a contact when either end is a remembered infrastructure address. */
  #onFirstPacket(table: FlowTable, slot: number, dir: number, p: DecodedPacket): void {
    const v = p.ipVersion;
    let at = this.#memory.find(v, p.dst), side = dir;
    if (at < 0) {
      at = this.#memory.find(v, p.src);
      side = 1 - dir;
      if (at < 0) return;
    }
    const svc = this.#memory.value(at);
    const name = this.#memory.name(at);
    if (!this.#firstContact(v, side === dir ? p.src : p.dst, svc, true)) return;
    this.#report(table, slot, p.ts, side, svc, ["resolved_address"], CONF.ADDRESS, name);
  }

  /** Name remembered for `words` (the contacted end), for an event's `name`. */
  #rememberedName(version: number, words: Uint32Array): string | undefined {
    const at = this.#memory.find(version, words);
    return at < 0 ? undefined : this.#memory.name(at);
  }

  // ---------------------------------------------------------------- UDP payloads

  #onUdpPayload(table: FlowTable, slot: number, dir: number, p: DecodedPacket): void {
    const b = p.buf, o = p.payloadOffset, n = p.payloadCapLen;
    if (
      n === KEEPALIVE_TEXT.length && p.payloadLen === n && b[o] === KEEPALIVE_TEXT[0] &&
      bytesAt(b, o, o + n, KEEPALIVE_TEXT)
    ) return this.#onMessage(table, slot, dir, p, dir, KEEPALIVE, "keepalive_text", CONF.KEEPALIVE);
    if (n < 8) return;
    // A Pack: small element count, then a name length of 2–64.
    if (
      b[o] === 0 && b[o + 1] === 0 && b[o + 2] === 0 && b[o + 3] !== 0 &&
      b[o + 4] === 0 && b[o + 5] === 0 && b[o + 6] === 0 && b[o + 7] >= 2 && b[o + 7] <= 64
    ) return this.#onNatTPack(table, slot, dir, p);
    if (p.srcPort === NAT_T_PORT && b[o] === 0x49 && b[o + 1] === 0x50 && b[o + 2] === 0x3d) {
      if (isIpPortReply(b, o, o + n)) {
        this.#onMessage(table, slot, dir, p, 1 - dir, NAT_T, "nat_t_ip_reply", CONF.NAT_T_REPLY);
      }
    }
  }

  #onNatTPack(table: FlowTable, slot: number, dir: number, p: DecodedPacket): void {
    const r = this.#pack;
    if (!r.begin(p.buf, p.payloadOffset, p.payloadCapLen)) return;
    if (!r.find(P_OPCODE) || r.type !== PackValueType.STR) return;
    for (let i = 0; i < NAT_T_OPCODES.length; i++) {
      if (r.firstValueIs(NAT_T_OPCODES[i][0])) {
        // Requests go to the NAT-T server's port; its answers and relays come from it.
        const side = p.srcPort === NAT_T_PORT && p.dstPort !== NAT_T_PORT ? 1 - dir : dir;
        return this.#onMessage(table, slot, dir, p, side, NAT_T, NAT_T_OPCODES[i][1], CONF.PACK);
      }
    }
  }

  // ---------------------------------------------------------------- TCP

  #onFirstClientPayload(table: FlowTable, slot: number, p: DecodedPacket): void {
    const b = p.buf, o = p.payloadOffset, n = p.payloadCapLen, c = b[o];
    if (c === 0x16) return this.#onClientHello(table, slot, p);
    if (c === 0x47 || c === 0x50 || c === 0x43) return this.#onHttpRequest(table, slot, p); // GET, POST, CONNECT
    if (c === ACTL[0] && bytesAt(b, o, o + n, ACTL)) {
      table.setMark(slot, table.mark(slot) | (1 << this.markShift));
      return;
    }
    if (c === KEEPALIVE_TEXT[0] && bytesAt(b, o, o + n, KEEPALIVE_TEXT)) {
      this.#onMessage(table, slot, 0, p, 0, KEEPALIVE, "keepalive_text", CONF.KEEPALIVE);
    }
  }

  #onClientHello(table: FlowTable, slot: number, p: DecodedPacket): void {
    const s = this.#span;
    if (!findSni(p.buf, p.payloadOffset, p.payloadCapLen, s)) return;
    const b = p.buf, start = s[0], end = s[0] + s[1];
    let svc: number;
    if (spanIsCi(b, start, end, SNI_DDNS)) svc = DDNS;
    else {
      const k = classifyText(b, start, end);
      if (k < 0) return;
      svc = NAMES[k].service;
    }
    const counted = this.#notRemembered(p.ipVersion, p.dst);
    if (!this.#firstContact(p.ipVersion, p.src, svc, counted)) return;
    this.#report(table, slot, p.ts, 0, svc, ["tls_sni"], CONF.SNI, hostText(b, start, end));
  }

  #onHttpRequest(table: FlowTable, slot: number, p: DecodedPacket): void {
    const b = p.buf, o = p.payloadOffset, end = o + p.payloadCapLen, s = this.#span;
    const heads = parseRequestLine(b, o, end, s);
    if (heads < 0) return;
    if (spanIs(b, s[0], s[1], CONNECT)) return this.#onConnect(table, slot, p, s[2], s[3]);
    if (!(spanIs(b, s[0], s[1], GET) || spanIs(b, s[0], s[1], POST))) return;
    let ts = s[2];
    const te = s[3];
    let hostStart = -1, hostEnd = -1;
    if (te - ts > HTTP_SCHEME.length && spanIsCi(b, ts, ts + HTTP_SCHEME.length, HTTP_SCHEME)) {
      // Absolute form (through an HTTP proxy): the authority names the host.
      hostStart = ts + HTTP_SCHEME.length;
      ts = hostStart;
      while (ts < te && b[ts] !== 0x2f) ts++;
      hostEnd = ts;
    }
    let path = false;
    for (let i = 0; i < DDNS_PATHS.length; i++) {
      const dp = DDNS_PATHS[i], pe = ts + dp.length;
      if (pe <= te && spanIsCi(b, ts, pe, dp) && (pe === te || b[pe] === 0x3f)) path = true;
    }
    const v = this.#value;
    if (findHeader(b, heads, end, H_HOST, v)) {
      hostStart = v[0];
      hostEnd = v[1];
    }
    if (hostStart >= 0) hostEnd = withoutPort(b, hostStart, hostEnd);
    const fixed = findHeader(b, heads, end, H_USER_AGENT, v) &&
      spanIs(b, v[0], v[1], WPC_USER_AGENT) &&
      findHeader(b, heads, end, H_KEEP_ALIVE, v) && spanIs(b, v[0], v[1], WPC_KEEP_ALIVE) &&
      findHeader(b, heads, end, H_ACCEPT_LANGUAGE, v) && spanIs(b, v[0], v[1], WPC_LANGUAGE);
    const k = hostStart >= 0 ? classifyText(b, hostStart, hostEnd) : -1;
    if (k < 0 && !(path && fixed)) return;
    const svc = k >= 0 ? NAMES[k].service : DDNS;
    const counted = this.#notRemembered(p.ipVersion, p.dst);
    if (!this.#firstContact(p.ipVersion, p.src, svc, counted)) return;
    const evidence: string[] = [];
    if (k >= 0) evidence.push("http_host");
    if (path) evidence.push("http_ddns_request");
    if (fixed) evidence.push("softether_http_headers");
    const confidence = k < 0
      ? CONF.HTTP_NO_HOST
      : path && fixed
      ? CONF.HTTP_FULL
      : path || fixed
      ? CONF.HTTP_HOST_PLUS
      : CONF.HTTP_HOST;
    const name = hostStart >= 0 && hostEnd > hostStart
      ? hostText(b, hostStart, hostEnd)
      : undefined;
    this.#report(table, slot, p.ts, 0, svc, evidence, confidence, name);
  }

  /**
   * A proxy's CONNECT to one of SoftEther's names (its HTTPS DDNS client and
   * VPN Azure behind an HTTP proxy: Wpc.c / Proxy.c).
   */
  #onConnect(table: FlowTable, slot: number, p: DecodedPacket, ts: number, te: number): void {
    const b = p.buf, he = withoutPort(b, ts, te);
    const k = classifyText(b, ts, he);
    if (k < 0) return;
    const svc = NAMES[k].service;
    const counted = this.#notRemembered(p.ipVersion, p.dst);
    if (!this.#firstContact(p.ipVersion, p.src, svc, counted)) return;
    this.#report(table, slot, p.ts, 0, svc, ["http_connect"], CONF.HTTP_HOST, hostText(b, ts, he));
  }

  /**
   * A VPN Azure control connection after its `ACTL`: the relay's first
   * payload, or the server's next one (the relay's may go another way), must
   * be a Pack with hash carrying the protocol's elements; anything else ends
   * the candidacy.
   */
  #onAzureFollowUp(table: FlowTable, slot: number, dir: number, p: DecodedPacket): void {
    const b = p.buf, o = p.payloadOffset;
    if (
      dir === 0 && table.payloadBytes(slot, 1) === 0 && bytesAt(b, o, o + p.payloadCapLen, ACTL)
    ) {
      return; // the signature again (a retransmission): still waiting
    }
    this.#clearMark(table, slot);
    const names = dir === 1 ? AZURE_RELAY_ELEMENTS : AZURE_SERVER_ELEMENTS;
    if (!this.#isPackWithHash(p.buf, p.payloadOffset, p.payloadCapLen, names)) return;
    const v = table.ipVersion(slot);
    const host = table.address(slot, 0, this.#word), relay = table.address(slot, 1, this.#peer);
    if (!this.#firstContact(v, host, AZURE, this.#notRemembered(v, relay))) return;
    const evidence = ["azure_actl", dir === 1 ? "azure_relay_pack" : "azure_server_pack"];
    this.#report(table, slot, p.ts, 0, AZURE, evidence, CONF.AZURE, this.#rememberedName(v, relay));
  }

  /** `SendPackWithHash`: u32 size, a Pack of that size with one of `names`, SHA-1. */
  #isPackWithHash(buf: Uint8Array, o: number, n: number, names: Uint8Array[]): boolean {
    if (n < 8) return false;
    const size = ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
    if (size < 4 || size > AZURE_PACK_MAX) return false;
    const r = this.#pack;
    if (!r.begin(buf, o + 4, Math.min(size, n - 4))) return false;
    while (r.next()) {
      for (let i = 0; i < names.length; i++) if (r.nameIs(names[i])) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- decisions

  /**
   * A message of flow `slot` from the host on flow side `side` (its sender
   * when `side === dir`) to SoftEther's `svc`.
   */
  #onMessage(
    table: FlowTable,
    slot: number,
    dir: number,
    p: DecodedPacket,
    side: number,
    svc: number,
    evidence: string,
    confidence: number,
  ): void {
    const host = side === dir ? p.src : p.dst, peer = side === dir ? p.dst : p.src;
    if (!this.#firstContact(p.ipVersion, host, svc, this.#notRemembered(p.ipVersion, peer))) return;
    this.#report(
      table,
      slot,
      p.ts,
      side,
      svc,
      [evidence],
      confidence,
      this.#rememberedName(p.ipVersion, peer),
    );
  }

  /**
   * True when a message to `peer` is a contact of its own: the flow of a
   * message to a remembered address was counted at its first packet.
   */
  #notRemembered(version: number, peer: Uint32Array): boolean {
    return this.#memory.size === 0 || this.#memory.find(version, peer) < 0;
  }

  /**
   * True when `host` has not been reported for `svc` yet (and records it
   * now). `counted`: the evidence is a contact of its own (a DNS question, a
   * new flow to a remembered address, a message to another address), counted
   * for the service, and as repeated when the host was reported already.
   */
  #firstContact(version: number, host: Uint32Array, svc: number, counted: boolean): boolean {
    if (counted) this.#contacts[svc]++;
    const bit = 1 << svc;
    const at = this.#hosts.find(version, host);
    if (at >= 0) {
      const seen = this.#hosts.value(at);
      if ((seen & bit) !== 0) {
        if (counted) this.#repeated++;
        return false;
      }
      this.#hosts.setValue(at, seen | bit);
      return true;
    }
    const before = this.#hosts.forgotten;
    this.#hosts.insert(version, host, bit);
    this.#countForgotten(this.#hosts.forgotten - before, "infra_host_forgotten");
    return true;
  }

  #countForgotten(n: number, weird: "infra_host_forgotten" | "infra_address_forgotten"): void {
    if (n > 0) this.#weirds.add(weird, n);
  }

  #report(
    table: FlowTable,
    slot: number,
    ts: number,
    side: number,
    svc: number,
    evidence: string[],
    confidence: number,
    name: string | undefined,
  ): void {
    const ev = flowEvent(table, slot, ts, {
      kind: "infrastructure",
      variant: table.proto(slot) === IpProto.UDP ? "UDP" : "TCP",
      reversed: side === 1,
      evidence,
      confidence,
    });
    ev.service = SERVICES[svc];
    if (name !== undefined && name !== "") ev.name = name;
    this.#events++;
    this.#sink(ev);
  }

  #clearMark(table: FlowTable, slot: number): void {
    table.setMark(slot, table.mark(slot) & ~(1 << this.markShift));
  }

  /**
   * See {@linkcode Detector.onFlowEnd}: a VPN Azure control connection whose
   * relay never answered its `ACTL` is reported on the signature alone.
   */
  onFlowEnd(table: FlowTable, slot: number, _reason: number): void {
    if ((table.mark(slot) & (1 << this.markShift)) === 0) return;
    this.#clearMark(table, slot);
    if (table.payloadBytes(slot, 1) !== 0) return;
    const v = table.ipVersion(slot);
    const host = table.address(slot, 0, this.#word), relay = table.address(slot, 1, this.#peer);
    if (!this.#firstContact(v, host, AZURE, this.#notRemembered(v, relay))) return;
    const name = this.#rememberedName(v, relay);
    this.#report(
      table,
      slot,
      table.lastSeen(slot),
      0,
      AZURE,
      ["azure_actl"],
      CONF.AZURE_ACTL_ONLY,
      name,
    );
  }

  /** Nothing is timed: contacts are decided on their own packets. */
  tick(_now: number): void {}

  /** Nothing is pending at the end of input (flows end first). */
  finish(): void {}

  /** A VPN Azure control connection awaiting its confirmation is inspected. */
  inspecting(table: FlowTable, slot: number): boolean {
    return (table.mark(slot) & (1 << this.markShift)) !== 0;
  }
}

/** End of a Host value without its `:port` (IPv6 literals in brackets keep their colons). */
function withoutPort(buf: Uint8Array, start: number, end: number): number {
  for (let i = end - 1; i > start; i--) {
    const c = buf[i];
    if (c === 0x3a) return i;
    if (c < 0x30 || c > 0x39) return end;
  }
  return end;
}

/** A host name off the wire as lower-case text (decision time only). */
function hostText(buf: Uint8Array, start: number, end: number): string {
  return utf8Escaped(buf, start, end).toLowerCase();
}

/**
 * A NAT-T server's answer to the 1-byte NAT check (`RUDPParseIPAndPortStr`):
 * `IP=<address>,PORT=<1–5 digits>#`.
 */
function isIpPortReply(buf: Uint8Array, start: number, end: number): boolean {
  let p = start + 3; // after "IP="
  const a = p;
  while (p < end && p - a <= 45) {
    const c = buf[p];
    if (c === 0x2c) break;
    const hex = (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
    if (!hex && c !== 0x2e && c !== 0x3a) return false;
    p++;
  }
  if (p - a < 2 || p >= end || buf[p] !== 0x2c) return false;
  p++;
  if (!bytesAt(buf, p, end, PORT_EQ)) return false;
  p += PORT_EQ.length;
  const d = p;
  while (p < end && buf[p] >= 0x30 && buf[p] <= 0x39) p++;
  return p - d >= 1 && p - d <= 5 && p < end && buf[p] === 0x23;
}

const PORT_EQ = ascii("PORT=");
