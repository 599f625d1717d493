/**
 * SOCKS4/4a/5 proxy handshakes followed incrementally from both directions,
 * up to the point where the tunnelled stream begins on each side. The message
 * parsers live in `socks_message.ts`.
 *
 * @module
 */

import {
  parseSocks4Reply,
  parseSocks4Request,
  parseSocks5Greeting,
  parseSocks5MethodReply,
  parseSocks5Reply,
  parseSocks5Request,
  parseSocks5UserPassReply,
  parseSocks5UserPassRequest,
  SOCKS5_NO_ACCEPTABLE,
  SOCKS5_NO_AUTH,
  SOCKS5_USER_PASS,
  type SocksParse,
  SocksReason,
} from "./socks_message.ts";

/**
 * What one `feedClient`/`feedServer` call achieved:
 * - `"consumed"`: handshake bytes were consumed (see `consumed`); more messages follow.
 * - `"need"`: nothing consumable now: a message is incomplete, or this side waits
 *   for the other side's answer. Feed again when either side has new bytes.
 * - `"done"`: this side's handshake is over; its inner offset is set when a tunnel opened.
 * - `"fail"`: not SOCKS, malformed, or a method this parser cannot follow (`failReason`).
 */
type SocksStep = "consumed" | "need" | "done" | "fail";

const C_START = 0;
const C_S4_REQUEST = 1;
const C_S5_GREETING = 2;
const C_S5_WAIT_METHOD = 3;
const C_S5_AUTH = 4;
const C_S5_REQUEST = 5;
const C_DONE = 6;

const S_WAIT = 0;
const S_S4_REPLY = 1;
const S_S5_METHOD = 2;
const S_S5_AUTH_REPLY = 3;
const S_S5_REPLY = 4;
const S_DONE = 5;

/**
 * Incremental SOCKS handshake follower. Feed each side's stream bytes that
 * are not yet consumed, in arrival order; after feeding one side, feed the
 * other side's pending bytes again (a SOCKS5 client's next message depends on
 * the server's method choice).
 *
 * Offsets count bytes from the first byte given for that side.
 */
export class SocksHandshake {
  /** 4 or 5 once the first client byte is seen; 0 before. */
  version: 0 | 4 | 5 = 0;
  /** Destination asked for (SOCKS4a/SOCKS5 host name, or address text); null until parsed. */
  target: { host: string; port: number } | null = null;
  /** Request command (1 CONNECT, 2 BIND, 3 UDP ASSOCIATE); 0 until parsed. */
  command = 0;
  /** True for the SOCKS4a form (host name sent to the proxy). */
  socks4a = false;
  /** SOCKS5 address type of the request (1 IPv4, 3 name, 4 IPv6); 0 otherwise. */
  atyp = 0;
  /** SOCKS5 greeting methods in order, a feature (SoftEther `[0, 2]`, curl `[0, 1]`). */
  greetingMethods: number[] = [];
  /** SOCKS5 method the server chose; -1 until known. */
  selectedMethod: number = -1;
  /** RFC 1929 user name, when sent. The password is not kept. */
  username = "";
  /** Server verdict: true tunnel open, false refused; null until known. */
  success: boolean | null = null;
  /**
   * Proxy reply code (SOCKS4 0x5A…, SOCKS5 REP, or the RFC 1929 status when
   * authentication failed); -1 until known.
   */
  replyCode: number = -1;
  /**
   * Client stream offset where the tunnelled bytes begin: set as soon as the
   * client's request is parsed (even before the server's verdict), back to -1
   * when the server refuses.
   */
  clientInnerOffset: number = -1;
  /** Server stream offset where the tunnelled bytes begin; -1 until known or without tunnel. */
  serverInnerOffset: number = -1;
  /** Bytes consumed by the last feed call. */
  consumed = 0;
  /** Why the handshake failed (a {@linkcode SocksReason} value); `""` otherwise. */
  failReason = "";
  #client = C_START;
  #server = S_WAIT;
  #clientPos = 0;
  #serverPos = 0;

  /** True once both sides are done (tunnel open or refused) or the handshake failed. */
  get finished(): boolean {
    return this.failReason !== "" || (this.#client === C_DONE && this.#server === S_DONE);
  }

  /** Client bytes consumed so far. */
  get clientOffset(): number {
    return this.#clientPos;
  }

  /** Server bytes consumed so far. */
  get serverOffset(): number {
    return this.#serverPos;
  }

  /** Feeds unconsumed client bytes `[off, off + len)`. */
  feedClient(buf: Uint8Array, off: number, len: number): SocksStep {
    this.consumed = 0;
    for (;;) {
      if (this.failReason !== "") return "fail";
      if (this.#client === C_DONE) return "done";
      const p = off + this.consumed;
      const n = len - this.consumed;
      let r: SocksParse;
      switch (this.#client) {
        case C_START:
          if (n <= 0) return this.#idle();
          if (buf[p] === 4) {
            this.version = 4;
            this.#client = C_S4_REQUEST;
            this.#server = S_S4_REPLY;
          } else if (buf[p] === 5) {
            this.version = 5;
            this.#client = C_S5_GREETING;
            this.#server = S_S5_METHOD;
          } else {
            return this.#fail(SocksReason.NOT_SOCKS);
          }
          continue;
        case C_S4_REQUEST: {
          const q = parseSocks4Request(buf, p, n);
          r = q;
          if (q.status === "ok") {
            this.command = q.command;
            this.socks4a = q.socks4a;
            this.target = { host: q.socks4a ? q.hostName : q.ip, port: q.port };
            this.username = q.userId;
            this.#client = C_DONE;
          }
          break;
        }
        case C_S5_GREETING: {
          const q = parseSocks5Greeting(buf, p, n);
          r = q;
          if (q.status === "ok") {
            this.greetingMethods = q.methods;
            this.#client = C_S5_WAIT_METHOD;
          }
          break;
        }
        case C_S5_WAIT_METHOD: {
          const m = this.selectedMethod;
          const onlyNoAuth = this.greetingMethods.length === 1 &&
            this.greetingMethods[0] === SOCKS5_NO_AUTH;
          if (m === SOCKS5_NO_AUTH || (m < 0 && onlyNoAuth)) this.#client = C_S5_REQUEST;
          else if (m === SOCKS5_USER_PASS) this.#client = C_S5_AUTH;
          else return this.#idle();
          continue;
        }
        case C_S5_AUTH: {
          const q = parseSocks5UserPassRequest(buf, p, n);
          r = q;
          if (q.status === "ok") {
            this.username = q.username;
            this.#client = C_S5_REQUEST;
          }
          break;
        }
        case C_S5_REQUEST: {
          const q = parseSocks5Request(buf, p, n);
          r = q;
          if (q.status === "ok") {
            this.command = q.code;
            this.atyp = q.atyp;
            this.target = { host: q.host, port: q.port };
            this.#client = C_DONE;
          }
          break;
        }
        default:
          return this.#idle();
      }
      if (r.status === "no") return this.#fail(r.reason);
      if (r.status === "need") return this.#idle();
      this.consumed += r.consumed;
      this.#clientPos += r.consumed;
      if (this.#client === C_DONE) {
        this.#openClient();
        return "done";
      }
    }
  }

  /** Feeds unconsumed server bytes `[off, off + len)`. */
  feedServer(buf: Uint8Array, off: number, len: number): SocksStep {
    this.consumed = 0;
    for (;;) {
      if (this.failReason !== "") return "fail";
      if (this.#server === S_DONE) return "done";
      const p = off + this.consumed;
      const n = len - this.consumed;
      let r: SocksParse;
      switch (this.#server) {
        case S_S4_REPLY: {
          const q = parseSocks4Reply(buf, p, n);
          r = q;
          if (q.status === "ok") {
            this.replyCode = q.code;
            this.#verdict(q.granted);
          }
          break;
        }
        case S_S5_METHOD: {
          const q = parseSocks5MethodReply(buf, p, n);
          r = q;
          if (q.status === "ok") {
            const m = q.method;
            this.selectedMethod = m;
            const offered = this.greetingMethods.length === 0 || this.greetingMethods.includes(m);
            if (m === SOCKS5_NO_ACCEPTABLE) {
              this.#verdict(false);
              this.#client = C_DONE;
            } else if (!offered) {
              return this.#fail(SocksReason.METHOD_NOT_OFFERED);
            } else if (m === SOCKS5_NO_AUTH) {
              this.#server = S_S5_REPLY;
            } else if (m === SOCKS5_USER_PASS) {
              this.#server = S_S5_AUTH_REPLY;
            } else {
              return this.#fail(SocksReason.UNSUPPORTED_METHOD);
            }
          }
          break;
        }
        case S_S5_AUTH_REPLY: {
          const q = parseSocks5UserPassReply(buf, p, n);
          r = q;
          if (q.status === "ok") {
            if (q.success) {
              this.#server = S_S5_REPLY;
            } else {
              this.replyCode = q.code;
              this.#verdict(false);
              this.#client = C_DONE;
            }
          }
          break;
        }
        case S_S5_REPLY: {
          const q = parseSocks5Reply(buf, p, n);
          r = q;
          if (q.status === "ok") {
            this.replyCode = q.code;
            this.#verdict(q.code === 0);
          }
          break;
        }
        default:
          return this.#idle();
      }
      if (r.status === "no") return this.#fail(r.reason);
      if (r.status === "need") return this.#idle();
      this.consumed += r.consumed;
      this.#serverPos += r.consumed;
      if (this.#server === S_DONE) {
        if (this.success) this.serverInnerOffset = this.#serverPos;
        this.#openClient();
        return "done";
      }
    }
  }

  #verdict(ok: boolean): void {
    this.success = ok;
    this.#server = S_DONE;
  }

  /** Sets the client inner offset once the client finished, unless the server refused. */
  #openClient(): void {
    if (this.#client === C_DONE && this.success !== false && this.target !== null) {
      this.clientInnerOffset = this.#clientPos;
    } else if (this.success === false) {
      this.clientInnerOffset = -1;
    }
  }

  #idle(): SocksStep {
    return this.consumed > 0 ? "consumed" : "need";
  }

  #fail(reason: string): SocksStep {
    this.failReason = reason;
    return "fail";
  }
}
