/**
 * The TLS leaf of the analyzer tree: follows TLS records in both directions
 * (directly, or the inner stream of a CONNECT / SOCKS tunnel), assembles
 * application messages, matches SoftEther's set-up alternation on their
 * sizes (setup_matcher.ts) and decides with the supporting signals of the
 * confidence table. A stream picked up after the TLS handshake is
 * resynchronised on record boundaries.
 *
 * @module
 */

import { parseClientHello } from "../proto/tls_client_hello.ts";
import { TlsRecordScanner } from "../proto/tls_record.ts";
import { ALERT_THRESHOLD, WEIGHTS } from "./confidence.ts";
import {
  DECISION_DELAY,
  inRange,
  looksLikeAdminRpc,
  RPC_BIG_REPLY,
  SETUP_MESSAGE_MAX,
  SIZES,
  Stage,
  tunnelStartDelay,
} from "./handshake_pattern.ts";
import type { Inspection, SetupDecider } from "./inspection.ts";
import { SetupMatcher } from "./setup_matcher.ts";
import type { StreamAnalyzer } from "./stream_analyzer.ts";
import { type MessageSink, TlsMessages } from "./tls_messages.ts";
import { Verdict } from "./verdict.ts";

/** Largest TLS 1.3 ticket record of a server keeping sessions itself (stateful tickets). */
const STATEFUL_TICKET_MAX = 120;
/** How long (s after the set-up) a matching connection short of evidence is still watched. */
const SUSPECT_WINDOW = 15;
const SCANNER_RECORDS = 64;
/**
 * Bytes of a stream picked up mid-way passed over without a record boundary
 * at a segment's start before giving up (bulk data inside large records).
 */
const RESYNC_BYTES = 1500;
/** Record-boundary resynchronisation attempts per direction of a stream picked up mid-way. */
const RESYNC_TRIES = 8;

/** True when `b[i..]` holds a plausible TLS record header with its whole length. */
function recordHeaderAt(b: Uint8Array, i: number, end: number): number {
  if (i + 5 > end) return -1;
  const t = b[i];
  if (t < 20 || t > 23 || b[i + 1] !== 3 || b[i + 2] > 4) return -1;
  const n = (b[i + 3] << 8) | b[i + 4];
  if (n === 0 || n > 16384 + 2048) return -1;
  return n;
}

/** Follows TLS records and SoftEther's set-up under them; decides. */
export class TlsSetupAnalyzer implements StreamAnalyzer, MessageSink, SetupDecider {
  /** Layer name. */
  readonly layer = "tls";
  readonly #c: Inspection;
  readonly #m = new SetupMatcher(1, false);
  #scan0: TlsRecordScanner | undefined = new TlsRecordScanner(SCANNER_RECORDS);
  #scan1: TlsRecordScanner | undefined; // made when the server first speaks
  readonly #msgs = new TlsMessages();
  #helloSeen = false;
  #midstream = false; // picked up after the TLS handshake: resynchronise on records
  #synced = 0; // bit per direction: scanner on a record boundary
  #tries0 = 0;
  #tries1 = 0;
  #afterSetup = 0; // tunnel-phase messages seen after the set-up
  #lastPostDir = 1; // direction of the last post-setup message
  #rpcReplies = 0; // server messages right after a client message, after the set-up
  #bigReplies = 0; // … of them larger than RPC_BIG_REPLY
  #unsolicited = 0; // server messages after the set-up not preceded by a client message
  #lastClientStart = -1e9; // start of the last post-setup client message
  #keepAliveDirs = 0; // bit per direction: a keep-alive-sized message within the delay
  #left = false; // the stream left TLS after the set-up
  #watermarkTs = 0; // end of the watermark message
  #swap = 0; // 1 when the watermark showed the roles reversed (picked up mid-stream)
  #skipped = 0; // messages passed over before the set-up, mid-stream
  #unsynced = 0; // bytes searched for a record boundary, mid-stream

  /**
   * Creates the analyzer for connection `c`; `midstream` when the stream was
   * picked up after the TLS handshake (records are found again by their headers).
   */
  constructor(c: Inspection, midstream = false, handshakeEnd = false) {
    this.#c = c;
    this.#scan0!.captureHandshake();
    if (midstream) {
      this.#midstream = true;
      // Picked up at a ChangeCipherSpec: the end of the TLS handshake is
      // still to come, and TLS 1.3 tickets right after it are told apart.
      if (!handshakeEnd) this.#msgs.pickUp();
    } else this.#synced = 3;
  }

  /** Stage of the set-up sequence reached. */
  get stage(): number {
    return this.#m.stage;
  }

  /** One field of each object a packet reaches (prefetch). */
  touch(): number {
    return this.#afterSetup + (this.#scan0?.count ?? 0) + (this.#scan1?.count ?? 0) +
      this.#msgs.ticketRecords;
  }

  #delay(): number {
    return tunnelStartDelay(this.#c.rtt);
  }

  // StreamAnalyzer -----------------------------------------------------------

  /** In-order bytes of the TLS stream. */
  data(dir: number, buf: Uint8Array, off: number, len: number, ts: number): void {
    const c = this.#c;
    if (c.decided || this.#left) return;
    if ((this.#synced & (1 << dir)) === 0) {
      const at = this.#resync(dir, buf, off, len);
      if (at < 0) {
        // No record boundary in sight: bulk data inside a large record.
        this.#unsynced += len;
        if (this.#unsynced > RESYNC_BYTES) c.fail();
        return;
      }
      len -= at - off;
      off = at;
    }
    const st = this.#m.stage;
    if (st >= Stage.WELCOME && st !== Stage.MISMATCH && len >= 8) {
      // Encryption off: after the welcome SoftEther's framing goes in the clear.
      if (!(buf[off] >= 20 && buf[off] <= 23 && buf[off + 1] === 3)) {
        const n = ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>>
          0;
        if (n === 0xffffffff || (n >= 1 && n <= 1024)) {
          c.support("plaintext_tunnel_framing", WEIGHTS.plaintextFraming);
          this.#leave(ts);
          return;
        }
      }
    }
    const sc = dir === 0 ? this.#scan0! : (this.#scan1 ??= new TlsRecordScanner(SCANNER_RECORDS));
    const before = sc.count;
    sc.feed(buf, off, len);
    if (dir === 0 && !this.#helloSeen && sc.handshakeReady) {
      this.#helloSeen = true;
      this.#clientHello(sc.handshakeBuffer(buf)!, sc.handshakeOff, sc.handshakeLen);
    }
    const msgs = this.#msgs;
    for (let i = before; i < sc.count && i < SCANNER_RECORDS; i++) {
      msgs.record(dir, sc.types[i], sc.lengths[i], ts, this);
      // Still in the set-up and the message being assembled is already
      // larger than any set-up message (with a part joined before it, too):
      // not SoftEther, whatever follows.
      const s = this.#m.stage;
      const pendingDir = msgs.pendingDir < 0 ? -1 : msgs.pendingDir ^ this.#swap;
      if (
        s === Stage.MISMATCH ||
        (s <= Stage.SHORT_REQUEST &&
          msgs.pendingSize + (pendingDir === this.#m.lastDir ? this.#m.lastSize : 0) >
            SETUP_MESSAGE_MAX)
      ) {
        c.fail();
        return;
      }
    }
    if (sc.desync) {
      // SoftEther without "use encryption" leaves TLS right after the welcome.
      const s0 = this.#m.stage;
      if (s0 === Stage.LOGIN || s0 === Stage.SHORT_REQUEST) msgs.flush(this);
      if (this.#m.complete) {
        c.support("tls_left_after_setup", WEIGHTS.leftTls);
        this.#leave(ts);
      } else if (this.#midstream && this.#m.stage === Stage.NONE && this.#retry(dir)) {
        return; // a wrong boundary guess: try again on a later segment
      } else {
        c.fail();
      }
      return;
    }
    if (sc.count >= SCANNER_RECORDS && this.#m.stage < Stage.WELCOME) c.fail();
  }

  /** Bytes cut off by the snaplen (the connection switches to sizes before this). */
  cut(dir: number, len: number, ts: number): void {
    this.gap(dir, len, ts);
  }

  /** Missing stream bytes: records cannot be followed any more. */
  gap(dir: number, _len: number, _ts: number): void {
    if (this.#c.decided || this.#left) return;
    if (this.#m.stage >= Stage.WELCOME) return; // decided by what was seen
    if (this.#midstream && this.#m.stage === Stage.NONE && this.#retry(dir)) return;
    this.#c.fail();
  }

  /** Start over on a record boundary in direction `dir` (mid-stream only); false when out of tries. */
  #retry(dir: number): boolean {
    const tries = dir === 0 ? ++this.#tries0 : ++this.#tries1;
    if (tries > RESYNC_TRIES) return false;
    this.#synced &= ~(1 << dir);
    const sc = new TlsRecordScanner(SCANNER_RECORDS);
    if (dir === 0) this.#scan0 = sc;
    else this.#scan1 = sc;
    return true;
  }

  /**
   * A record boundary at the start of a chunk of a stream picked up mid-way
   * (a sender starts each message with a fresh record, at a segment's
   * start): the chunk's offset, or −1. The record must end at the chunk's
   * end or at another record header, or run past the chunk.
   */
  #resync(dir: number, b: Uint8Array, off: number, len: number): number {
    const end = off + len;
    const n = recordHeaderAt(b, off, end);
    if (n < 0) return -1;
    const next = off + 5 + n;
    if (next < end && recordHeaderAt(b, next, end) < 0) return -1;
    this.#synced |= 1 << dir;
    return off;
  }

  #leave(ts: number): void {
    this.#afterSetup++;
    this.#left = true;
    this.#decide(ts);
  }

  #clientHello(buf: Uint8Array, off: number, len: number): void {
    const ch = parseClientHello(buf, off, len);
    if (ch.status !== "ok") return;
    const c = this.#c;
    if (ch.alpn.length === 0) c.support("no_alpn", WEIGHTS.noAlpn);
    else c.support("alpn_offered", WEIGHTS.alpnOffered);
    if (!ch.hasSessionTicketExt) c.support("no_session_ticket_ext", WEIGHTS.noSessionTicketExt);
    if (ch.sniIsIpLiteral) c.support("sni_ip_literal", WEIGHTS.sniIpLiteral);
  }

  // MessageSink --------------------------------------------------------------

  /** A complete application message under TLS. */
  message(dir: number, size: number, start: number, ts: number, _records: number): void {
    const m = this.#m;
    if (this.#midstream && m.stage === Stage.NONE) {
      // Before the set-up of a stream picked up mid-way: the watermark may
      // show the roles reversed (it then sets the mapping used from here on).
      if (!this.#setupStart(dir ^ this.#swap, size)) return;
    }
    dir ^= this.#swap;
    const before = m.stage;
    if (m.message(dir, size)) {
      if (m.complete) this.#c.setupTs = ts;
      // The hello answers the watermark one round trip later (an estimate
      // of the path when the TCP handshake was not seen).
      if (before === Stage.WATERMARK && m.stage === Stage.HELLO) {
        this.#c.setupRtt = Math.max(0, start - this.#watermarkTs);
      }
      if (m.stage === Stage.WATERMARK) this.#watermarkTs = ts;
      return;
    }
    if (!m.complete) return;
    this.#afterSetup++;
    // Administration is RPC: each server message answers a client request,
    // and some answers are larger than any keep-alive or single frame.
    if (dir === 1 && this.#lastPostDir === 0) {
      this.#rpcReplies++;
      if (size > RPC_BIG_REPLY) this.#bigReplies++;
    } else if (dir === 1) {
      this.#unsolicited++; // the server speaks without a request: not request/response
    }
    if (dir === 1 && this.#lastPostDir === 0 && start - this.#lastClientStart < this.#c.rttServer) {
      this.#unsolicited++; // crossed the client's message: it cannot be its answer
    }
    if (dir === 0) this.#lastClientStart = start;
    this.#lastPostDir = dir;
    if (this.#c.suspect) this.reconsider(ts);
  }

  /**
   * Picked up mid-stream, before the set-up: whatever went before the
   * watermark (tickets, the tail of earlier messages) is passed over, and
   * the watermark's sender is the client — the content tells the roles when
   * no TCP handshake did. False while the message is passed over.
   */
  #setupStart(dir: number, size: number): boolean {
    const c = this.#c;
    if (size < SIZES.watermark.min || size > SIZES.watermark.max) {
      if (++this.#skipped > 8) c.fail();
      return false;
    }
    if (dir === 1) {
      if (c.rolesKnown) {
        c.fail();
        return false;
      }
      this.#swap = 1;
      c.swapped = !c.swapped;
    }
    return true;
  }

  /** One application record after the handshake. */
  appRecord(dir: number, size: number, ts: number, index: number): void {
    dir ^= this.#swap;
    // The tunnel starts with a keep-alive from each side (8–519 bytes). The
    // server's may follow its welcome closely enough to join its message:
    // the welcome is one record, so later records of that answer are tunnel.
    const st = this.#m.stage;
    const afterWelcome = st === Stage.WELCOME || st === Stage.SHORT_REPLY;
    const inAnswer = dir === 1 && index > 0 && (st === Stage.LOGIN || st === Stage.SHORT_REQUEST);
    if ((afterWelcome && ts - this.#c.setupTs <= this.#delay()) || inAnswer) {
      if (inRange(size, SIZES.keepAlive)) this.#keepAliveDirs |= 1 << dir;
    }
  }

  // Decisions ----------------------------------------------------------------

  /** After each packet. */
  check(ts: number): void {
    const c = this.#c;
    if (c.decided || c.suspect) return;
    const st = this.#m.stage;
    if (st === Stage.WELCOME) {
      // Decide once both sides started the tunnel, else after the delay.
      if (this.#keepAliveDirs === 3 || this.#afterSetup >= 4) this.#decide(ts);
      else if (c.deadline === 0) c.deadline = c.setupTs + this.#delay();
      return;
    }
    if (st === Stage.SHORT_REPLY) {
      // Extra VPN connection or administration: tell them apart by what follows.
      if (this.#looksAdmin()) this.#decide(ts);
      else if (c.closedTs > 0) this.#decideAtEnd(ts);
      else if (c.deadline === 0) c.deadline = ts + DECISION_DELAY;
      return;
    }
    if (st === Stage.LOGIN_REFUSED) {
      if (this.#afterSetup > 0) this.#decide(ts); // tunnel follows: a session after all
      else if (c.closedTs > 0) this.#decideAtEnd(ts);
      else c.deadline = ts + DECISION_DELAY;
      return;
    }
    // The last set-up message is complete only when the other side answers:
    // arm the timer when the server's answer is pending.
    const m = this.#msgs;
    if (m.pendingDir === (1 ^ this.#swap) && (st === Stage.LOGIN || st === Stage.SHORT_REQUEST)) {
      c.deadline = m.pendingLast + DECISION_DELAY;
    }
  }

  /** The decision timer ran out. */
  timer(now: number): void {
    this.#msgs.flush(this);
    const c = this.#c;
    if (c.decided) return;
    const st = this.#m.stage;
    if (c.suspect && now >= c.setupTs + SUSPECT_WINDOW) {
      c.suspect = false;
      c.verdict = Verdict.NOT_SOFTETHER; // watched long enough
    } else if (st === Stage.WELCOME || st === Stage.SHORT_REPLY) this.#decide(now);
    else if (st === Stage.LOGIN_REFUSED) c.deadline = now + 5; // wait for the close
    else if (st === Stage.MISMATCH) c.verdict = Verdict.NOT_SOFTETHER;
  }

  /** The connection ended. */
  close(ts: number): void {
    this.#msgs.flush(this);
    if (!this.#c.decided) this.#decideAtEnd(ts);
  }

  /** Session evidence arrived while watching. */
  reconsider(now: number): void {
    if (!this.#c.decided) this.#decide(now);
  }

  #decideAtEnd(ts: number): void {
    const st = this.#m.stage;
    if (st === Stage.WELCOME || st === Stage.SHORT_REPLY || st === Stage.LOGIN_REFUSED) {
      this.#decide(ts);
    } else if (st === Stage.LOGIN && this.#c.closedTs > 0) {
      this.#m.stage = Stage.LOGIN_REFUSED; // the server closed instead of answering
      this.#decide(ts);
    } else {
      this.#c.verdict = Verdict.NOT_SOFTETHER;
    }
  }

  #decide(ts: number): void {
    const c = this.#c;
    const st = this.#m.stage;
    const ev = c.evidence;
    ev.length = 0;
    ev.push(
      st === Stage.SHORT_REPLY
        ? "handshake_sequence(watermark,hello,short_request,reply)"
        : st === Stage.LOGIN_REFUSED
        ? "handshake_sequence(watermark,hello,login,error)"
        : "handshake_sequence(watermark,hello,login,welcome)",
      ...c.layerEvidence,
      ...c.sessionNames,
    );
    let conf = WEIGHTS.pattern + c.score + c.sessionScore;
    const m = this.#msgs;
    if (m.ticketRecords > 0 && m.maxTicketRecord <= STATEFUL_TICKET_MAX) {
      conf += WEIGHTS.statefulTickets; // the server keeps sessions itself: tiny TLS 1.3 tickets
      ev.push("tls13_stateful_tickets");
    }
    if (this.#looksAdmin()) {
      conf += WEIGHTS.adminRpc;
    } else if (this.#afterSetup > 0) {
      conf += WEIGHTS.tunnelRecords;
      ev.push("tunnel_records");
      if (this.#keepAliveDirs === 3) {
        conf += WEIGHTS.keepAliveBothWays;
        ev.push("keepalive_both_ways");
      }
      if (this.#unsolicited > 0) {
        conf += WEIGHTS.serverIndependent;
        ev.push("server_independent");
      }
    } else if (st === Stage.LOGIN_REFUSED && c.closedTs > 0) {
      conf += WEIGHTS.closedAfterError;
      ev.push("closed_after_error");
    }
    c.confidence = Math.max(0, Math.min(0.99, Math.round(conf * 1000) / 1000));
    if (c.confidence < ALERT_THRESHOLD) {
      // The set-up matched but the tunnel has not shown enough yet: keep
      // watching (independent server messages, the session's extra
      // connections) for a while before letting the connection go.
      if (
        (st === Stage.WELCOME || st === Stage.SHORT_REPLY) && c.closedTs === 0 &&
        ts < c.setupTs + SUSPECT_WINDOW
      ) {
        c.suspect = true;
        c.deadline = c.setupTs + SUSPECT_WINDOW;
        return;
      }
      c.suspect = false;
      c.verdict = Verdict.NOT_SOFTETHER;
      return;
    }
    c.suspect = false;
    if (
      st === Stage.SHORT_REPLY && (this.#looksAdmin() || (c.closedTs > 0 && this.#rpcReplies > 0))
    ) {
      c.verdict = Verdict.ADMIN;
      ev.push("rpc_exchange");
    } else if (st === Stage.SHORT_REPLY) {
      c.additional = true;
      c.verdict = Verdict.ADDITIONAL;
    } else if (st === Stage.LOGIN_REFUSED && this.#afterSetup === 0) {
      c.verdict = Verdict.ATTEMPT;
    } else {
      c.verdict = Verdict.VPN;
    }
  }

  #looksAdmin(): boolean {
    return looksLikeAdminRpc(this.#rpcReplies, this.#bigReplies);
  }
}
