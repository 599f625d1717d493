/**
 * Deep inspection of one TCP connection: layer detection (TLS, HTTP
 * CONNECT, SOCKS, SSH), the proxy handshake handing its inner stream to the
 * TLS record layer, and SoftEther's set-up sequence under the encryption.
 * One instance per inspected connection, released once decided.
 *
 * @module
 */

import type { DecodedPacket } from "../decode/packet.ts";
import { type StreamConsumer, TcpStream } from "../flow/tcp_stream.ts";
import type { DetectionEvent, Target, Variant } from "./event.ts";
import {
  parseConnectRequest,
  parseConnectResponse,
  softEtherConnectScore,
} from "../proto/http_connect.ts";
import { SocksHandshake } from "../proto/socks.ts";
import { TlsRecordScanner } from "../proto/tls_record.ts";
import { parseClientHello } from "../proto/tls_client_hello.ts";
import {
  advance,
  inRange,
  looksLikeAdminRpc,
  RPC_BIG_REPLY,
  SETUP_MESSAGE_MAX,
  SIZES,
  Stage,
} from "./handshake_pattern.ts";
import { type MessageSink, TlsMessages } from "./tls_messages.ts";
import { BurstPatternDetector, TLS_FRAMING } from "./burst_pattern.ts";
import { Verdict } from "./verdict.ts";

export { Verdict };

/**
 * Seconds after the welcome (or reply) to decide when no further record came:
 * below 1 s so that, with timers checked on packets or every 0.2 s live, the
 * alert is out within 1 s of the welcome.
 */
export const DECISION_DELAY = 0.8;
/** Confidence of the set-up sequence alone (not enough for an alert). */
const PATTERN_BASE = 0.5;
/** Minimum confidence for an alert. */
export const ALERT_THRESHOLD = 0.75;
/** Largest TLS 1.3 ticket record of a server keeping sessions itself (stateful tickets). */
const STATEFUL_TICKET_MAX = 120;
/** How long (s after the set-up) a matching connection short of evidence is still watched. */
export const SUSPECT_WINDOW = 15;

const L_DETECT = 0, L_HTTP = 1, L_SOCKS = 2, L_TLS = 3, L_SSH = 4, L_DONE = 5;
const HEAD_MAX = 8192;
const SCANNER_RECORDS = 64;

/** Follows one connection until it is classified. */
export class ConnectionAnalyzer implements StreamConsumer, MessageSink {
  /** Flow slot (set by the classifier before each decision). */
  slot = -1;
  /** Flow number. */
  readonly flowId: number;
  /** First packet time of the flow. */
  readonly firstTs: number;
  /** The decision so far ({@linkcode Verdict}). */
  verdict: number = Verdict.UNDECIDED;
  /** Packet time by which a pending decision is taken (0 = none). */
  deadline = 0;
  /** True while on the classifier's timer list. */
  pending = false;
  /** Stream bytes looked at. */
  inspectedBytes = 0;
  /** True for an extra TCP connection of a session. */
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

  #stream: TcpStream | undefined = new TcpStream();
  #layer = L_DETECT;
  #inner = [0, 0]; // per direction: 1 once bytes go to the TLS layer
  #head: Uint8Array[] | undefined;
  #headLen = [0, 0];
  #used = [0, 0]; // SOCKS: handshake bytes consumed per direction
  #socksNoted = false;
  #helloSeen = false;
  #snapCut = false; // bytes cut by the snaplen: sizes only
  #socks: SocksHandshake | undefined;
  #scan0: TlsRecordScanner | undefined; // TLS records client → server
  #scan1: TlsRecordScanner | undefined; // … and server → client
  #msgs: TlsMessages | undefined;
  #ssh: BurstPatternDetector | undefined; // SSH, or TLS whose bytes were cut by the snaplen
  #stage: number = Stage.NONE;
  #preamble = 0;
  #prevStage: number = Stage.NONE; // stage before the last message
  #lastDir = -1; // direction of the last set-up message
  #lastSize = 0; // its size (joined parts included)
  #afterSetup = 0; // tunnel-phase messages seen after the set-up
  #lastPostDir = 1; // direction of the last post-setup message (the reply was the server's)
  #rpcReplies = 0; // server messages right after a client message, after the set-up
  #bigReplies = 0; // … of them larger than RPC_BIG_REPLY
  #unsolicited = 0; // server messages after the set-up not preceded by a client message
  #lastClientStart = -1e9; // start of the last post-setup client message
  readonly #rttServer: number; // sensor → server → sensor, from the TCP handshake
  readonly #rtt: number; // whole round trip, from the TCP handshake
  #keepAliveDirs = 0; // bit per direction: a keep-alive-sized message within 1 s of the set-up
  #score = 0; // supporting evidence from the layers, added to the pattern's base
  #layerEvidence: string[] = []; // names of those signals
  #sessionScore = 0; // evidence from other connections of the session (classifier)
  #sessionNames: string[] = [];
  #closedTs = 0;

  /** Creates the analyzer of flow `flowId`; round trips from its TCP handshake (0: unknown). */
  constructor(flowId: number, firstTs: number, rttServer = 0, rtt = 0) {
    this.flowId = flowId;
    this.firstTs = firstTs;
    this.#rttServer = rttServer;
    this.#rtt = rtt;
  }

  /** Stage of the set-up sequence reached ({@linkcode Stage}). */
  get stage(): number {
    return this.#stage;
  }

  /** Offer one TCP packet of direction `dir`. */
  packet(dir: number, p: DecodedPacket): void {
    const s = this.#stream;
    if (s === undefined) return;
    if (
      this.#ssh === undefined && p.payloadCapLen < p.payloadLen && this.#stage < Stage.WELCOME &&
      this.#layer !== L_DONE
    ) {
      // A short snaplen cuts the TLS records (and proxy heads): follow the
      // set-up from segment sizes instead, as for SSH.
      this.#ssh = new BurstPatternDetector(TLS_FRAMING, "burst");
      this.#snapCut = true;
      if (this.#layer === L_DETECT) {
        this.#detectLayer(dir, p.buf, p.payloadOffset, p.payloadCapLen);
      }
    }
    s.segment(
      dir,
      p.tcpFlags,
      p.seq,
      p.buf,
      p.payloadOffset,
      p.payloadLen,
      p.payloadCapLen,
      p.ts,
      this,
    );
    if (this.#ssh !== undefined) this.#ssh.packet(dir, p.payloadLen, p.tcpFlags, p.ts);
    if ((p.tcpFlags & 0x05) !== 0 && this.#closedTs === 0) this.#closedTs = p.ts; // FIN or RST
    this.#check(p.ts);
  }

  /** Time allowed after the welcome for the tunnel's first records (≥ 1 s, more on long paths). */
  #decisionDelay(): number {
    return Math.max(DECISION_DELAY, 1.5 * this.#rtt);
  }

  /** The connection ended (or the table let it go): decide with what was seen. */
  close(ts: number): void {
    if (this.verdict !== Verdict.UNDECIDED) return;
    this.#stream?.flush(ts, this);
    if (this.#ssh !== undefined) {
      this.#fromSsh(this.#ssh.close(ts));
      return;
    }
    this.#msgs?.flush(this);
    this.#decideAtEnd(ts);
  }

  /** The decision timer ran out. */
  timer(now: number): void {
    if (this.verdict !== Verdict.UNDECIDED) return;
    this.deadline = 0;
    if (this.#ssh !== undefined) {
      this.#fromSsh(this.#ssh.timer(now));
      return;
    }
    this.#msgs?.flush(this);
    this.#decideOnTimer(now);
  }

  /**
   * Read one word of each object a packet of this connection will touch
   * (the analyzer, its stream, TLS scanners and message assembler), so a
   * batch's cache misses overlap; returns a value only to keep the reads.
   */
  touch(): number {
    // Fields from the start, middle and end of this (large) object.
    let x = this.verdict + this.inspectedBytes + this.#stage + this.#closedTs;
    if (this.#stream !== undefined) x += this.#stream.touch();
    if (this.#scan0 !== undefined) x += this.#scan0.count + this.#scan1!.count;
    if (this.#msgs !== undefined) x += this.#msgs.ticketRecords;
    return x;
  }

  /** Drop per-connection buffers once decided. */
  release(): void {
    this.#stream = undefined;
    this.#head = undefined;
    this.#scan0 = this.#scan1 = undefined;
    this.#socks = undefined;
    this.#ssh = undefined;
  }

  // StreamConsumer -------------------------------------------------------

  /** In-order stream bytes. */
  data(dir: number, buf: Uint8Array, off: number, len: number, ts: number): void {
    this.inspectedBytes += len;
    if (this.#snapCut) return; // sizes only (see packet)
    if (this.#layer === L_DETECT) this.#detectLayer(dir, buf, off, len);
    switch (this.#layer) {
      case L_HTTP:
        if (!this.#inner[dir]) {
          const used = this.#httpHead(dir, buf, off, len);
          if (used < 0 || !this.#inner[dir]) return;
          off += used;
          len -= used;
        }
        break;
      case L_SOCKS:
        if (!this.#inner[dir]) {
          this.#socksFeed(dir, buf, off, len, ts);
          return;
        }
        break;
      case L_TLS:
        break;
      default:
        return;
    }
    if (len > 0) this.#tls(dir, buf, off, len, ts);
  }

  /** Missing stream bytes: the TLS layer cannot follow records any more. */
  gap(dir: number, _len: number, _ts: number): void {
    if (this.#snapCut) return; // expected: sizes only
    if (this.#layer === L_TLS || this.#inner[dir]) {
      if (this.#stage >= Stage.WELCOME) return; // decided by what was seen
      this.#layer = L_DONE;
      this.verdict = Verdict.NOT_SOFTETHER;
    }
  }

  // MessageSink ------------------------------------------------------------

  /** A complete application message under TLS. */
  message(dir: number, size: number, _start: number, ts: number, _records: number): void {
    const st = this.#stage;
    if (st === Stage.LOGIN_REFUSED && dir === 1 && this.#afterSetup === 0) {
      // More from the server after a short answer to a login: a welcome split
      // by a pause, or the tunnel; re-evaluate the joined answer.
      this.#lastSize += size;
      if (advance(this.#prevStage, dir, this.#lastSize) === Stage.WELCOME) {
        this.#stage = Stage.WELCOME;
        this.setupTs = ts;
        return;
      }
    }
    if (st === Stage.WELCOME || st === Stage.SHORT_REPLY || st === Stage.LOGIN_REFUSED) {
      this.#afterSetup++;
      // Administration is RPC: each server message answers a client request,
      // and some answers are larger than any keep-alive or single frame.
      if (dir === 1 && this.#lastPostDir === 0) {
        this.#rpcReplies++;
        if (size > RPC_BIG_REPLY) this.#bigReplies++;
      } else if (dir === 1) {
        this.#unsolicited++; // the server speaks without a request: not request/response
      }
      if (
        dir === 1 && this.#lastPostDir === 0 && _start - this.#lastClientStart < this.#rttServer
      ) {
        this.#unsolicited++; // crossed the client's message: it cannot be its answer
      }
      if (dir === 0) this.#lastClientStart = _start;
      this.#lastPostDir = dir;
      if (this.suspect) this.#reconsider(ts);
      return;
    }
    // A message split by a pause (loss and retransmission, a slow sender)
    // arrives as two same-direction messages: join them and re-evaluate.
    if (dir === this.#lastDir && st !== Stage.NONE) {
      this.#lastSize += size;
      this.#stage = advance(this.#prevStage, dir, this.#lastSize);
    } else {
      if (st === Stage.NONE && this.#preamble === 0 && dir === 0 && size < SIZES.watermark.min) {
        this.#preamble = 1; // one short request/answer may precede the watermark
        this.#lastDir = -1;
        return;
      }
      if (st === Stage.NONE && this.#preamble === 1 && dir === 1) {
        // Its answer is a set-up-sized message too (see SETUP_MESSAGE_MAX).
        if (size > SETUP_MESSAGE_MAX) this.#stage = Stage.MISMATCH;
        this.#preamble = 2;
        return;
      }
      this.#prevStage = st;
      this.#lastDir = dir;
      this.#lastSize = size;
      this.#stage = advance(st, dir, size);
    }
    if (this.#stage >= Stage.WELCOME && this.#stage !== Stage.MISMATCH) this.setupTs = ts;
  }

  /** One application record after the handshake. */
  appRecord(dir: number, size: number, ts: number, index: number): void {
    // The tunnel starts with a keep-alive from each side (8–519 bytes). The
    // server's may follow its welcome closely enough to join its message:
    // the welcome is one record, so later records of that answer are tunnel.
    const st = this.#stage;
    const afterWelcome = st === Stage.WELCOME || st === Stage.SHORT_REPLY;
    const inAnswer = dir === 1 && index > 0 &&
      (st === Stage.LOGIN || st === Stage.SHORT_REQUEST);
    if (
      (afterWelcome && ts - this.setupTs <= this.#decisionDelay()) || inAnswer
    ) {
      if (inRange(size, SIZES.keepAlive)) this.#keepAliveDirs |= 1 << dir;
    }
  }

  /** Evidence from another connection of the same session (e.g. its extra connections). */
  sessionEvidence(name: string, weight: number, now: number): void {
    if (this.#sessionNames.includes(name)) return;
    this.#sessionNames.push(name);
    this.#sessionScore += weight;
    if (this.suspect) this.#reconsider(now);
  }

  #reconsider(now: number): void {
    if (this.verdict === Verdict.UNDECIDED) this.#decide(now);
  }

  // Layers -------------------------------------------------------------------

  #detectLayer(dir: number, b: Uint8Array, off: number, len: number): void {
    if (dir === 1) {
      // The server spoke first: only SSH is of interest.
      this.#layer = len >= 4 && b[off] === 0x53 && b[off + 1] === 0x53 && b[off + 2] === 0x48 &&
          b[off + 3] === 0x2d
        ? L_SSH
        : L_DONE;
    } else if (len >= 3 && b[off] === 0x16 && b[off + 1] === 0x03 && b[off + 2] <= 0x04) {
      this.#layer = L_TLS;
    } else if (len >= 8 && b[off] === 0x43 && b[off + 1] === 0x4f && b[off + 2] === 0x4e) {
      this.#layer = L_HTTP; // "CON" — the full request is checked by the parser
      this.variant = "HTTP Proxy";
    } else if (len >= 2 && (b[off] === 4 || b[off] === 5) && b[off + 1] <= 16) {
      this.#layer = L_SOCKS;
      this.variant = b[off] === 4 ? "SOCKS4 Proxy" : "SOCKS5 Proxy";
      this.#socks = new SocksHandshake();
    } else if (len >= 4 && b[off] === 0x53 && b[off + 1] === 0x53 && b[off + 2] === 0x48) {
      this.#layer = L_SSH;
    } else {
      this.#layer = L_DONE;
    }
    if (this.#layer === L_SSH) {
      this.variant = "SSH";
      this.#ssh = new BurstPatternDetector();
    }
    if (this.#layer === L_DONE) this.verdict = Verdict.NOT_SOFTETHER;
  }

  /** Accumulate a proxy head; returns bytes of this chunk used by the head, -1 on failure. */
  #httpHead(dir: number, b: Uint8Array, off: number, len: number): number {
    this.#head ??= [new Uint8Array(HEAD_MAX), new Uint8Array(HEAD_MAX)];
    const h = this.#head[dir];
    const before = this.#headLen[dir];
    const take = Math.min(len, HEAD_MAX - before);
    h.set(b.subarray(off, off + take), before);
    const n = before + take;
    if (dir === 0) {
      const req = parseConnectRequest(h, 0, n);
      if (req.status === "need") {
        return n < HEAD_MAX ? (this.#headLen[dir] = n, take) : this.#fail();
      }
      if (req.status !== "ok" || req.method !== "CONNECT") return this.#fail();
      this.target = { host: req.host, port: req.port };
      const sc = softEtherConnectScore(req);
      if (sc.score > 0) {
        this.#score += 0.2 * sc.score;
        this.#layerEvidence.push(`softether_connect_headers(${sc.markers.join("+")})`);
      }
      this.#inner[0] = 1;
      return req.consumed - before;
    }
    const res = parseConnectResponse(h, 0, n);
    if (res.status === "need") return n < HEAD_MAX ? (this.#headLen[dir] = n, take) : this.#fail();
    if (res.status !== "ok" || !res.success) return this.#fail();
    this.#inner[1] = 1;
    return res.consumed - before;
  }

  /**
   * Follow the SOCKS handshake. Both sides' handshake bytes are buffered
   * (a SOCKS5 client's next message depends on the server's answer); once a
   * side's tunnel opens, its remaining bytes go to the TLS layer. Returns -1
   * (the chunk is fully handled here).
   */
  #socksFeed(dir: number, b: Uint8Array, off: number, len: number, ts: number): number {
    const s = this.#socks!;
    this.#head ??= [new Uint8Array(HEAD_MAX), new Uint8Array(HEAD_MAX)];
    const start = this.#headLen[dir];
    const take = Math.min(len, HEAD_MAX - start);
    this.#head[dir].set(b.subarray(off, off + take), start);
    this.#headLen[dir] = start + take;
    for (let progress = true; progress;) {
      progress = false;
      for (let k = 0; k < 2; k++) {
        const d = k === 0 ? dir : 1 - dir;
        if (this.#inner[d]) continue;
        const pos = this.#used[d];
        const r = d === 0
          ? s.feedClient(this.#head[d], pos, this.#headLen[d] - pos)
          : s.feedServer(this.#head[d], pos, this.#headLen[d] - pos);
        if (r === "fail" || s.success === false) return this.#fail();
        if (s.consumed > 0) {
          this.#used[d] += s.consumed;
          progress = true;
        }
        const innerAt = d === 0 ? s.clientInnerOffset : s.serverInnerOffset;
        if (innerAt >= 0) {
          this.#inner[d] = 1;
          progress = true;
          this.#socksOpened(s);
          const h = this.#head[d];
          if (this.#headLen[d] > innerAt) this.#tls(d, h, innerAt, this.#headLen[d] - innerAt, ts);
          if (d === dir && take < len) this.#tls(d, b, off + take, len - take, ts);
        }
      }
    }
    if (!this.#inner[dir] && this.#headLen[dir] >= HEAD_MAX) return this.#fail();
    return -1;
  }

  #socksOpened(s: SocksHandshake): void {
    this.variant = s.version === 4 ? "SOCKS4 Proxy" : "SOCKS5 Proxy";
    if (s.target !== null && this.target === undefined) this.target = { ...s.target };
    if (this.#socksNoted) return;
    this.#socksNoted = true;
    const m = s.greetingMethods;
    if (s.version === 5 && m.length === 2 && m[0] === 0 && m[1] === 2) {
      this.#score += 0.05;
      this.#layerEvidence.push("socks5_methods(00,02)");
    }
  }

  #fail(): number {
    this.#layer = L_DONE;
    this.verdict = Verdict.NOT_SOFTETHER;
    return -1;
  }

  #tls(dir: number, b: Uint8Array, off: number, len: number, ts: number): void {
    if (this.#stage >= Stage.WELCOME && this.#stage !== Stage.MISMATCH) {
      // Encryption off: after the welcome SoftEther's framing goes in the clear.
      if (len >= 8 && !(b[off] >= 20 && b[off] <= 23 && b[off + 1] === 3)) {
        const n = ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
        if (n === 0xffffffff || (n >= 1 && n <= 1024)) {
          this.#layerEvidence.push("plaintext_tunnel_framing");
          this.#score += 0.2;
          this.#afterSetup++;
          this.#layer = L_DONE;
          this.#decide(ts);
          return;
        }
      }
    }
    if (this.#scan0 === undefined) {
      this.#scan0 = new TlsRecordScanner(SCANNER_RECORDS);
      this.#scan1 = new TlsRecordScanner(SCANNER_RECORDS);
      this.#scan0.captureHandshake();
      this.#msgs = new TlsMessages();
    }
    const sc = dir === 0 ? this.#scan0 : this.#scan1!;
    const before = sc.count;
    sc.feed(b, off, len);
    if (dir === 0 && !this.#helloSeen && sc.handshakeReady) {
      this.#helloSeen = true;
      this.#clientHello(sc.handshakeBuffer(b)!, sc.handshakeOff, sc.handshakeLen);
    }
    const msgs = this.#msgs!;
    for (let i = before; i < sc.count && i < SCANNER_RECORDS; i++) {
      msgs.record(dir, sc.types[i], sc.lengths[i], ts, this);
      // Still in the set-up and the message being assembled is already
      // larger than any set-up message (with a part joined before it, too):
      // not SoftEther, whatever follows (a download stops being inspected
      // after a few records, not after MAX_INSPECT_BYTES).
      const st = this.#stage;
      if (
        st === Stage.MISMATCH ||
        (st <= Stage.SHORT_REQUEST &&
          msgs.pendingSize + (msgs.pendingDir === this.#lastDir ? this.#lastSize : 0) >
            SETUP_MESSAGE_MAX)
      ) {
        this.#fail();
        return;
      }
    }
    if (sc.desync) {
      // SoftEther without "use encryption" leaves TLS right after the welcome
      // (its own fast cipher or clear frames follow on the same connection).
      if (this.#stage === Stage.LOGIN || this.#stage === Stage.SHORT_REQUEST) {
        this.#msgs!.flush(this);
      }
      const st = this.#stage;
      if (st === Stage.WELCOME || st === Stage.SHORT_REPLY || st === Stage.LOGIN_REFUSED) {
        this.#layerEvidence.push("tls_left_after_setup");
        this.#score += 0.2;
        this.#afterSetup++;
        this.#layer = L_DONE;
        this.#decide(ts);
      } else {
        this.#fail();
      }
      return;
    }
    if (sc.count >= SCANNER_RECORDS && this.#stage < Stage.WELCOME) this.#fail();
  }

  #clientHello(buf: Uint8Array, off: number, len: number): void {
    const ch = parseClientHello(buf, off, len);
    if (ch.status !== "ok") return;
    if (ch.alpn.length === 0) {
      this.#score += 0.05;
      this.#layerEvidence.push("no_alpn");
    } else {
      this.#score -= 0.3;
      this.#layerEvidence.push("alpn_offered");
    }
    if (!ch.hasSessionTicketExt) {
      this.#score += 0.05;
      this.#layerEvidence.push("no_session_ticket_ext");
    }
    if (ch.sniIsIpLiteral) {
      this.#score += 0.05;
      this.#layerEvidence.push("sni_ip_literal");
    }
  }

  // Decisions ----------------------------------------------------------------

  #check(ts: number): void {
    if (this.verdict !== Verdict.UNDECIDED || this.#ssh !== undefined) {
      if (this.#ssh !== undefined && this.verdict === Verdict.UNDECIDED) {
        this.#fromSsh(this.#ssh.poll(ts));
      }
      return;
    }
    const st = this.#stage;
    if (this.suspect) return; // re-decided as messages arrive, or on its timer
    if (st === Stage.WELCOME) {
      // Decide once both sides started the tunnel, else 1 s after the welcome.
      if (this.#keepAliveDirs === 3 || this.#afterSetup >= 4) this.#decide(ts);
      else if (this.deadline === 0) this.deadline = this.setupTs + this.#decisionDelay();
      return;
    }
    if (st === Stage.SHORT_REPLY) {
      // Extra VPN connection or administration: tell them apart by what follows.
      if (this.#looksAdmin()) this.#decide(ts);
      else if (this.#closedTs > 0) this.#decideAtEnd(ts);
      else if (this.deadline === 0) this.deadline = ts + DECISION_DELAY;
      return;
    }
    if (st === Stage.LOGIN_REFUSED) {
      if (this.#afterSetup > 0) this.#decide(ts); // tunnel follows: a session after all
      else if (this.#closedTs > 0) this.#decideAtEnd(ts);
      else this.deadline = ts + DECISION_DELAY;
      return;
    }
    // The last set-up message is complete only when the other side answers:
    // arm the timer when the server's answer is pending.
    const m = this.#msgs;
    if (
      m !== undefined && m.pendingDir === 1 && (st === Stage.LOGIN || st === Stage.SHORT_REQUEST)
    ) {
      this.deadline = m.pendingLast + DECISION_DELAY;
    }
  }

  #decideOnTimer(now: number): void {
    const st = this.#stage;
    if (this.suspect && now >= this.setupTs + SUSPECT_WINDOW) {
      this.suspect = false;
      this.verdict = Verdict.NOT_SOFTETHER; // watched long enough
    } else if (st === Stage.WELCOME || st === Stage.SHORT_REPLY) this.#decide(now);
    else if (st === Stage.LOGIN_REFUSED) this.deadline = now + 5; // wait for the close
    else if (st === Stage.MISMATCH) this.verdict = Verdict.NOT_SOFTETHER;
  }

  #decideAtEnd(ts: number): void {
    const st = this.#stage;
    if (st === Stage.WELCOME || st === Stage.SHORT_REPLY || st === Stage.LOGIN_REFUSED) {
      this.#decide(ts);
    } else if (st === Stage.LOGIN && this.#closedTs > 0) {
      this.#stage = Stage.LOGIN_REFUSED; // the server closed instead of answering
      this.#decide(ts);
    } else {
      this.verdict = Verdict.NOT_SOFTETHER;
    }
  }

  #decide(ts: number): void {
    const st = this.#stage;
    const ev = this.evidence;
    ev.length = 0;
    ev.push(
      st === Stage.SHORT_REPLY
        ? "handshake_sequence(watermark,hello,short_request,reply)"
        : st === Stage.LOGIN_REFUSED
        ? "handshake_sequence(watermark,hello,login,error)"
        : "handshake_sequence(watermark,hello,login,welcome)",
      ...this.#layerEvidence,
      ...this.#sessionNames,
    );
    let c = PATTERN_BASE + this.#score + this.#sessionScore;
    const m = this.#msgs;
    if (m !== undefined && m.ticketRecords > 0 && m.maxTicketRecord <= STATEFUL_TICKET_MAX) {
      c += 0.1; // the server keeps sessions itself (SSL_OP_NO_TICKET): tiny TLS 1.3 tickets
      ev.push("tls13_stateful_tickets");
    }
    if (this.#looksAdmin()) {
      c += 0.2;
    } else if (this.#afterSetup > 0) {
      c += 0.05;
      ev.push("tunnel_records");
      if (this.#keepAliveDirs === 3) {
        c += 0.1;
        ev.push("keepalive_both_ways");
      }
      if (this.#unsolicited > 0) {
        c += 0.15;
        ev.push("server_independent");
      }
    } else if (st === Stage.LOGIN_REFUSED && this.#closedTs > 0) {
      c += 0.2;
      ev.push("closed_after_error");
    }
    this.confidence = Math.max(0, Math.min(0.99, Math.round(c * 1000) / 1000));
    if (this.confidence < ALERT_THRESHOLD) {
      // The set-up matched but the tunnel has not shown enough yet: keep
      // watching (independent server messages, the session's extra
      // connections) for a while before letting the connection go.
      if (
        (st === Stage.WELCOME || st === Stage.SHORT_REPLY) && this.#closedTs === 0 &&
        ts < this.setupTs + SUSPECT_WINDOW
      ) {
        this.suspect = true;
        this.deadline = this.setupTs + SUSPECT_WINDOW;
        return;
      }
      this.suspect = false;
      this.verdict = Verdict.NOT_SOFTETHER;
      return;
    }
    this.suspect = false;
    if (
      st === Stage.SHORT_REPLY &&
      (this.#looksAdmin() || (this.#closedTs > 0 && this.#rpcReplies > 0))
    ) {
      this.verdict = Verdict.ADMIN;
      ev.push("rpc_exchange");
    } else if (st === Stage.SHORT_REPLY) {
      this.additional = true;
      this.verdict = Verdict.ADDITIONAL;
    } else if (st === Stage.LOGIN_REFUSED && this.#afterSetup === 0) {
      this.verdict = Verdict.ATTEMPT;
    } else {
      this.verdict = Verdict.VPN;
    }
  }

  #looksAdmin(): boolean {
    return looksLikeAdminRpc(this.#rpcReplies, this.#bigReplies);
  }

  #fromSsh(v: number): void {
    if (v === Verdict.UNDECIDED) {
      this.deadline = this.#ssh?.deadline ?? 0;
      return;
    }
    this.verdict = v;
    if (v === Verdict.ADDITIONAL) this.additional = true;
    if (v !== Verdict.NOT_SOFTETHER) {
      this.evidence.length = 0;
      this.evidence.push(...this.#ssh!.evidence);
      this.setupTs = this.#ssh!.setupTs;
      this.confidence = this.#ssh!.confidence;
    }
  }
}
