/**
 * HTTP proxy layer of the analyzer tree: follows the CONNECT request and
 * the proxy's answer (heads may arrive in any number of segments), notes
 * SoftEther's own CONNECT header set, and hands each direction's bytes after
 * its head to the inner analyzer (TLS).
 *
 * @module
 */

import {
  parseConnectRequest,
  parseConnectResponse,
  softEtherConnectScore,
} from "../proto/http_connect.ts";
import { WEIGHTS } from "./confidence.ts";
import type { ConnectionHost, StreamAnalyzer } from "./stream_analyzer.ts";
import { TunnelLayer } from "./tunnel_layer.ts";

const HEAD_MAX = 8192;

/** CONNECT request/response, then the tunnel's bytes to `inner`. */
export class HttpConnectAnalyzer extends TunnelLayer {
  /** Layer name. */
  readonly layer = "http_connect";
  readonly #head = [new Uint8Array(0), new Uint8Array(0)];
  #headLen0 = 0;
  #headLen1 = 0;
  #requested = false;

  /**
   * Creates the layer; `midResponse` when the stream was picked up after the
   * request (the proxy's answer is the first thing seen).
   */
  constructor(host: ConnectionHost, inner: StreamAnalyzer, midResponse = false) {
    super(host, inner);
    host.setVariant("HTTP Proxy");
    if (midResponse) {
      this.open = 1;
      this.#requested = true;
    }
  }

  /** Stream bytes of direction `dir`. */
  data(dir: number, buf: Uint8Array, off: number, len: number, ts: number): void {
    if (this.open & (1 << dir)) {
      this.inner.data(dir, buf, off, len, ts);
      return;
    }
    if (dir === 1 && !this.#requested) {
      this.host.fail(); // the proxy answered before any request
      return;
    }
    const used = this.#feedHead(dir, buf, off, len);
    if (used < 0 || (this.open & (1 << dir)) === 0) return;
    if (len > used) this.inner.data(dir, buf, off + used, len - used, ts);
  }

  /** Accumulate a head; returns the bytes of this chunk it used, −1 on failure. */
  #feedHead(dir: number, b: Uint8Array, off: number, len: number): number {
    if (this.#head[dir].length === 0) this.#head[dir] = new Uint8Array(HEAD_MAX);
    const h = this.#head[dir];
    const before = dir === 0 ? this.#headLen0 : this.#headLen1;
    const take = Math.min(len, HEAD_MAX - before);
    h.set(b.subarray(off, off + take), before);
    const n = before + take;
    if (dir === 0) this.#headLen0 = n;
    else this.#headLen1 = n;
    if (dir === 0) {
      const req = parseConnectRequest(h, 0, n);
      if (req.status === "need") return n < HEAD_MAX ? take : this.#fail();
      if (req.status !== "ok" || req.method !== "CONNECT") return this.#fail();
      this.host.setTarget({ host: req.host, port: req.port });
      const sc = softEtherConnectScore(req);
      if (sc.score > 0) {
        this.host.support(
          `softether_connect_headers(${sc.markers.join("+")})`,
          WEIGHTS.connectHeaders * sc.score,
        );
      }
      this.#requested = true;
      this.open |= 1;
      return req.consumed - before;
    }
    const res = parseConnectResponse(h, 0, n);
    if (res.status === "need") return n < HEAD_MAX ? take : this.#fail();
    if (res.status !== "ok" || !res.success) return this.#fail();
    this.open |= 2;
    return res.consumed - before;
  }

  #fail(): number {
    this.host.fail();
    return -1;
  }
}
