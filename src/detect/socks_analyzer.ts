/**
 * SOCKS4/5 layer of the analyzer tree: follows the handshake (both sides'
 * bytes are buffered: a SOCKS5 client's next message depends on the
 * server's answer), notes SoftEther's SOCKS5 greeting, and hands each
 * direction's bytes after the handshake to the inner analyzer (TLS).
 *
 * @module
 */

import { SocksHandshake } from "../proto/socks.ts";
import { WEIGHTS } from "./confidence.ts";
import type { ConnectionHost, StreamAnalyzer } from "./stream_analyzer.ts";
import { TunnelLayer } from "./tunnel_layer.ts";

const HEAD_MAX = 8192;

/** SOCKS handshake, then the tunnel's bytes to `inner`. */
export class SocksAnalyzer extends TunnelLayer {
  /** Layer name. */
  readonly layer = "socks";
  readonly #s = new SocksHandshake();
  readonly #head = [new Uint8Array(HEAD_MAX), new Uint8Array(HEAD_MAX)];
  readonly #len = [0, 0];
  readonly #used = [0, 0];
  #noted = false;

  /** Creates the layer; `version` from the client's first byte (4 or 5). */
  constructor(host: ConnectionHost, inner: StreamAnalyzer, version: number) {
    super(host, inner);
    host.setVariant(version === 4 ? "SOCKS4 Proxy" : "SOCKS5 Proxy");
  }

  /**
   * The client's first message went by before the capture started (the
   * server's answer is the first thing seen): stand in for it — a SOCKS5
   * greeting offering the `method` the server chose, or a SOCKS4 request.
   */
  missedRequest(method: number, ts: number): void {
    const req = method >= 0
      ? Uint8Array.of(5, 1, method)
      : Uint8Array.of(4, 1, 0, 0, 0, 0, 0, 1, 0);
    this.data(0, req, 0, req.length, ts);
  }

  /** Stream bytes of direction `dir`. */
  data(dir: number, b: Uint8Array, off: number, len: number, ts: number): void {
    if (this.open & (1 << dir)) {
      this.inner.data(dir, b, off, len, ts);
      return;
    }
    const s = this.#s;
    const start = this.#len[dir];
    const take = Math.min(len, HEAD_MAX - start);
    this.#head[dir].set(b.subarray(off, off + take), start);
    this.#len[dir] = start + take;
    for (let progress = true; progress;) {
      progress = false;
      for (let k = 0; k < 2; k++) {
        const d = k === 0 ? dir : 1 - dir;
        if (this.open & (1 << d)) continue;
        const pos = this.#used[d];
        const r = d === 0
          ? s.feedClient(this.#head[d], pos, this.#len[d] - pos)
          : s.feedServer(this.#head[d], pos, this.#len[d] - pos);
        if (r === "fail" || s.success === false) {
          this.host.fail();
          return;
        }
        if (s.consumed > 0) {
          this.#used[d] += s.consumed;
          progress = true;
        }
        const innerAt = d === 0 ? s.clientInnerOffset : s.serverInnerOffset;
        if (innerAt >= 0) {
          this.open |= 1 << d;
          progress = true;
          this.#opened();
          const h = this.#head[d];
          if (this.#len[d] > innerAt) this.inner.data(d, h, innerAt, this.#len[d] - innerAt, ts);
          if (d === dir && take < len) this.inner.data(d, b, off + take, len - take, ts);
        }
      }
    }
    if (!(this.open & (1 << dir)) && this.#len[dir] >= HEAD_MAX) this.host.fail();
  }

  #opened(): void {
    const s = this.#s;
    this.host.setVariant(s.version === 4 ? "SOCKS4 Proxy" : "SOCKS5 Proxy");
    if (s.target !== null) this.host.setTarget(s.target);
    if (this.#noted) return;
    this.#noted = true;
    const m = s.greetingMethods;
    if (s.version === 5 && m.length === 2 && m[0] === 0 && m[1] === 2) {
      this.host.support("socks5_methods(00,02)", WEIGHTS.socks5Methods);
    }
  }
}
