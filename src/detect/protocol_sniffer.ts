/**
 * Root of the analyzer tree: waits for enough of a connection's first bytes
 * to tell its outer layer — never deciding on a single byte — and builds the
 * child analyzers: TLS directly, an HTTP CONNECT or SOCKS handshake handing
 * its inner stream to TLS, or SSH (sizes only). When the flow's roles did
 * not come from a TCP handshake (picked up mid-stream), the content tells
 * client from server (ClientHello / ServerHello, CONNECT / HTTP answer, SSH
 * key-exchange names); timestamps never do.
 *
 * A stream picked up after its TLS handshake goes to a TLS analyzer that
 * resynchronises on record boundaries. Bytes the snaplen cut away switch the
 * connection to the size path (burst sizes) before the set-up completes.
 *
 * @module
 */

import { SSH_FRAMING, TLS_FRAMING } from "./burst_pattern.ts";
import { HttpConnectAnalyzer } from "./http_connect_analyzer.ts";
import type { Inspection } from "./inspection.ts";
import { SizePathAnalyzer } from "./size_path_analyzer.ts";
import { SocksAnalyzer } from "./socks_analyzer.ts";
import type { StreamAnalyzer } from "./stream_analyzer.ts";
import { TlsSetupAnalyzer } from "./tls_setup_analyzer.ts";
import { Stage } from "./handshake_pattern.ts";

/** First bytes kept per connection while the layer is undecided. */
const SNIFF_MAX = 64;
/** Stream bytes per direction searched for SSH key-exchange names that tell the roles. */
const SSH_ROLE_BYTES = 8192;

const enum Kind {
  NEED,
  NONE,
  TLS_CLIENT,
  TLS_SERVER,
  TLS_RECORD,
  CONNECT,
  HTTP_RESPONSE,
  SOCKS4,
  SOCKS5,
  SOCKS4_REPLY,
  SOCKS5_REPLY,
  SSH,
  SSH_PACKET,
}

function startsWith(b: Uint8Array, off: number, n: number, text: string): number {
  const k = Math.min(n, text.length);
  for (let i = 0; i < k; i++) if (b[off + i] !== text.charCodeAt(i)) return 0;
  return k === text.length ? 1 : -1; // -1: a prefix so far
}

/** SSH binary packet of the key exchange (clear text): KEXINIT, NEWKEYS, ECDH/DH init or reply. */
function sshPacket(b: Uint8Array, off: number, n: number): Kind {
  if (n < 6) return Kind.NEED;
  const len = ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
  const pad = b[off + 4], code = b[off + 5];
  if (len < 12 || len > 35000 || pad < 4 || pad >= len) return Kind.NONE;
  return code === 20 || code === 21 || code === 30 || code === 31 ? Kind.SSH_PACKET : Kind.NONE;
}

/**
 * What the first `n` bytes of a direction look like; `chunk` is the length of
 * the first delivery (a SOCKS reply is a whole segment of its own).
 */
function classify(b: Uint8Array, off: number, n: number, midstream: boolean): Kind {
  if (n < 2) return Kind.NEED;
  const b0 = b[off], b1 = b[off + 1];
  if (midstream) {
    // The client's first bytes went by before the capture started: the
    // server's SOCKS answer, or SSH's key exchange, may be the first seen.
    if (n === 2 && b0 === 5 && (b1 === 0 || b1 === 2)) return Kind.SOCKS5_REPLY;
    if (n === 8 && b0 === 0 && b1 >= 0x5a && b1 <= 0x5d) return Kind.SOCKS4_REPLY;
    if (b0 === 0) {
      const k = sshPacket(b, off, n);
      if (k !== Kind.NONE) return k;
    }
  }
  if (b0 >= 20 && b0 <= 23 && b1 === 3) {
    if (n < 6) return Kind.NEED;
    if (b[off + 2] > 4) return Kind.NONE;
    const len = (b[off + 3] << 8) | b[off + 4];
    if (len === 0 || len > 16384 + 2048) return Kind.NONE;
    if (b0 === 22 && b[off + 5] === 1) return Kind.TLS_CLIENT;
    if (b0 === 22 && b[off + 5] === 2) return Kind.TLS_SERVER;
    return Kind.TLS_RECORD;
  }
  // Text starts (a prefix so far: wait for more bytes).
  let m = startsWith(b, off, n, "CONNECT ");
  if (m !== 0) return m === 1 ? Kind.CONNECT : Kind.NEED;
  m = startsWith(b, off, n, "HTTP/1.");
  if (m !== 0) return m === 1 ? Kind.HTTP_RESPONSE : Kind.NEED;
  m = startsWith(b, off, n, "SSH-");
  if (m !== 0) return m === 1 ? Kind.SSH : Kind.NEED;
  if (b0 === 5) {
    // SOCKS5 greeting: version, method count, methods.
    if (b1 < 1 || b1 > 16) return Kind.NONE;
    return n < 2 + b1 ? Kind.NEED : Kind.SOCKS5;
  }
  if (b0 === 4) {
    // SOCKS4 request: version, command (1 CONNECT, 2 BIND), port, address.
    if (b1 !== 1 && b1 !== 2) return Kind.NONE;
    return n < 8 ? Kind.NEED : Kind.SOCKS4;
  }
  return Kind.NONE;
}

/** Index of `text` in `b[off..off+len)`, or −1. */
function find(b: Uint8Array, off: number, len: number, text: string): number {
  const first = text.charCodeAt(0), end = off + len - text.length;
  outer: for (let i = off; i <= end; i++) {
    if (b[i] !== first) continue;
    for (let k = 1; k < text.length; k++) if (b[i + k] !== text.charCodeAt(k)) continue outer;
    return i;
  }
  return -1;
}

/** Chooses and feeds the connection's analyzers. */
export class ProtocolSniffer implements StreamAnalyzer {
  /** Layer name. */
  readonly layer = "sniff";
  readonly #c: Inspection;
  #child: StreamAnalyzer | undefined;
  #pre: Uint8Array | undefined; // first bytes, while too few to decide
  #preLen0 = 0;
  #preLen1 = 0;
  #firstDir = -1; // direction (flow table's) that spoke first
  #sizes: SizePathAnalyzer | undefined; // TLS cut by the snaplen
  #lastDir = -1; // last data delivery (for a segment cut right after it)
  #lastLen = 0;
  #lastTs = 0;
  #sshRoles = false; // SSH: still looking for the key-exchange names
  #sshSeen0 = 0;
  #sshSeen1 = 0;

  /** Creates the root for connection `c`. */
  constructor(c: Inspection) {
    this.#c = c;
  }

  #map(dir: number): number {
    return this.#c.flipped ? 1 - dir : dir;
  }

  /** In-order bytes (flow table's direction). */
  data(dir: number, buf: Uint8Array, off: number, len: number, ts: number): void {
    const c = this.#c;
    if (c.decided) return;
    c.inspectedBytes += len;
    this.#lastDir = dir;
    this.#lastLen = len;
    this.#lastTs = ts;
    if (this.#sizes !== undefined) {
      this.#sizes.data(this.#map(dir), buf, off, len, ts);
      return;
    }
    if (this.#child === undefined) {
      this.#sniff(dir, buf, off, len, ts);
      return;
    }
    if (this.#sshRoles) this.#sshRole(dir, buf, off, len);
    this.#child.data(this.#map(dir), buf, off, len, ts);
  }

  /** Bytes cut by the snaplen: before the set-up completed, follow sizes instead. */
  cut(dir: number, len: number, ts: number): void {
    const c = this.#c;
    if (c.decided) return;
    if (this.#sizes === undefined && this.#child !== undefined && this.#child.layer !== "ssh") {
      const st = c.stage;
      if (st < Stage.WELCOME || st === Stage.MISMATCH) {
        // A short snaplen cuts the TLS records (and proxy heads): follow the
        // set-up from burst sizes instead, the bytes of this segment included.
        this.#sizes = new SizePathAnalyzer(c, TLS_FRAMING, "burst");
        c.decider = this.#sizes;
        const before = this.#lastDir === dir && this.#lastTs === ts ? this.#lastLen : 0;
        this.#sizes.cut(this.#map(dir), before + len, ts);
        return;
      }
    }
    if (this.#sizes !== undefined) this.#sizes.cut(this.#map(dir), len, ts);
    else if (this.#child !== undefined) this.#child.cut(this.#map(dir), len, ts);
    else this.#c.fail();
  }

  /** Missing bytes. */
  gap(dir: number, len: number, ts: number): void {
    if (this.#c.decided) return;
    if (this.#sizes !== undefined) this.#sizes.gap(this.#map(dir), len, ts);
    else if (this.#child !== undefined) this.#child.gap(this.#map(dir), len, ts);
    else this.#c.fail();
  }

  #sniff(dir: number, buf: Uint8Array, off: number, len: number, ts: number): void {
    if (this.#firstDir < 0) {
      this.#firstDir = dir;
      // Most connections show their layer in the first segment: decide on
      // it in place, without keeping a copy.
      const k = classify(buf, off, len, this.#c.midstream);
      if (k !== Kind.NEED) {
        this.#choose(dir, k, ts, buf, off);
        if (this.#c.decided || this.#child === undefined) return;
        if (this.#sshRoles) this.#sshRole(dir, buf, off, len);
        this.#child.data(this.#map(dir), buf, off, len, ts);
        return;
      }
    }
    const pre = this.#pre ??= new Uint8Array(SNIFF_MAX * 2);
    const have = dir === 0 ? this.#preLen0 : this.#preLen1;
    const take = Math.min(len, SNIFF_MAX - have);
    pre.set(buf.subarray(off, off + take), dir * SNIFF_MAX + have);
    if (dir === 0) this.#preLen0 = have + take;
    else this.#preLen1 = have + take;
    const k = classify(pre, dir * SNIFF_MAX, have + take, this.#c.midstream);
    if (k === Kind.NEED && have + take < SNIFF_MAX && take === len) return; // wait for more bytes
    this.#choose(dir, k, ts, pre, dir * SNIFF_MAX);
    if (this.#c.decided || this.#child === undefined) return;
    // Replay what was kept: the first speaker's bytes, then the other's.
    const first = this.#firstDir, second = 1 - first;
    const n0 = first === 0 ? this.#preLen0 : this.#preLen1;
    const n1 = second === 0 ? this.#preLen0 : this.#preLen1;
    const fromDir = (d: number, n: number) => d === dir ? n - take : n; // this chunk follows
    const r0 = fromDir(first, n0), r1 = fromDir(second, n1);
    this.#pre = undefined;
    if (r0 > 0) this.#child.data(this.#map(first), pre, first * SNIFF_MAX, r0, ts);
    if (r1 > 0 && !this.#c.decided) {
      this.#child.data(this.#map(second), pre, second * SNIFF_MAX, r1, ts);
    }
    if (!this.#c.decided) {
      if (this.#sshRoles) this.#sshRole(dir, buf, off, len);
      this.#child.data(this.#map(dir), buf, off, len, ts);
    }
  }

  /** Build the analyzers for what direction `dir` (flow table's) showed first. */
  #choose(dir: number, k: Kind, ts: number, first: Uint8Array, at: number): void {
    const c = this.#c;
    switch (k) {
      case Kind.TLS_CLIENT:
        this.#flipIf(dir, false);
        // Picked up mid-stream, the ClientHello need not be the stream's
        // first bytes: a proxy request may have gone before it.
        if (c.midstream) c.layerKnown = false;
        this.#tls(k, first, at);
        return;
      case Kind.TLS_SERVER:
        // The ClientHello went by: only a stream picked up after it, or a
        // server sending its hello first (not TLS as SoftEther speaks it).
        if (c.rolesKnown && dir === 0) break;
        this.#flipIf(dir, true);
        c.layerKnown = false; // a proxy request may have gone before the hello
        this.#tls(k, first, at);
        return;
      case Kind.TLS_RECORD:
        if (!c.midstream) break;
        c.layerKnown = false;
        this.#tls(k, first, at);
        return;
      case Kind.CONNECT:
        this.#flipIf(dir, false);
        this.#child = new HttpConnectAnalyzer(c, this.#tls(k, first, at));
        return;
      case Kind.HTTP_RESPONSE:
        // The CONNECT request went by before the capture started.
        if (!c.midstream) break;
        this.#flipIf(dir, true);
        this.#child = new HttpConnectAnalyzer(c, this.#tls(k, first, at), true);
        return;
      case Kind.SOCKS4:
      case Kind.SOCKS5:
        if (c.rolesKnown && dir === 1) break;
        this.#child = new SocksAnalyzer(c, this.#tls(k, first, at), k === Kind.SOCKS4 ? 4 : 5);
        return;
      case Kind.SOCKS4_REPLY:
      case Kind.SOCKS5_REPLY: {
        // The request went by: the answer's sender is the server.
        this.#flipIf(dir, true);
        const v = k === Kind.SOCKS4_REPLY ? 4 : 5;
        const a = new SocksAnalyzer(c, this.#tls(k, first, at), v);
        this.#child = a;
        a.missedRequest(v === 5 ? first[at + 1] : -1, ts);
        return;
      }
      case Kind.SSH_PACKET:
      case Kind.SSH: {
        const a = new SizePathAnalyzer(c, SSH_FRAMING, "ssh");
        c.setVariant("SSH");
        this.#child = c.decider = a;
        this.#sshRoles = !c.rolesKnown; // the roles may still be told by content
        return;
      }
      default:
        if (c.midstream) {
          // Picked up inside a record: find the next record boundary.
          c.layerKnown = false;
          this.#tls(k, first, at);
          return;
        }
    }
    c.fail();
  }

  /** The sender of direction `dir` is the server (or the client): correct the roles if free. */
  #flipIf(dir: number, senderIsServer: boolean): void {
    const c = this.#c;
    if (!c.rolesKnown && senderIsServer === (dir === 0)) c.flipped = true;
  }

  /**
   * The TLS leaf (made only for the layers that lead to TLS), which decides;
   * it is also the tree's top analyzer until a proxy layer is put above it.
   */
  #tls(k: Kind, first: Uint8Array, at: number): TlsSetupAnalyzer {
    const tls = new TlsSetupAnalyzer(
      this.#c,
      k === Kind.TLS_RECORD || k === Kind.NEED || k === Kind.NONE, // picked up mid-stream
      k === Kind.TLS_RECORD && first[at] === 20, // at a ChangeCipherSpec: the handshake's end
    );
    this.#child = this.#c.decider = tls;
    return tls;
  }

  /**
   * SSH picked up mid-stream: the key exchange names its sides (OpenSSH's
   * `ext-info-c` / `kex-strict-c-…` from the client, `…-s-…` from the server).
   */
  #sshRole(dir: number, b: Uint8Array, off: number, len: number): void {
    const seen = dir === 0 ? this.#sshSeen0 : this.#sshSeen1;
    if (seen > SSH_ROLE_BYTES) {
      if (this.#sshSeen0 > SSH_ROLE_BYTES && this.#sshSeen1 > SSH_ROLE_BYTES) {
        this.#sshRoles = false;
      }
      return;
    }
    if (dir === 0) this.#sshSeen0 += len;
    else this.#sshSeen1 += len;
    // Key exchange: the client's ECDH/DH init (30), the server's reply (31).
    const code = sshPacket(b, off, len) === Kind.SSH_PACKET ? b[off + 5] : 0;
    const client = code === 30 || find(b, off, len, "ext-info-c") >= 0 ||
      find(b, off, len, "-c-v00@") >= 0;
    const server = code === 31 || find(b, off, len, "ext-info-s") >= 0 ||
      find(b, off, len, "-s-v00@") >= 0;
    if (client === server) return;
    this.#sshRoles = false;
    if (server === (dir === 0)) {
      this.#c.flipped = !this.#c.flipped;
      (this.#child as SizePathAnalyzer).flip();
    }
  }
}
