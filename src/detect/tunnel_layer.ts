/**
 * What the proxy layers of the analyzer tree (HTTP CONNECT, SOCKS) share:
 * each direction is first the layer's own handshake, then — once it is
 * open — the tunnel's bytes for the inner analyzer (TLS). Bytes cut off or
 * missing inside a handshake end the inspection; inside the tunnel they
 * are the inner analyzer's.
 *
 * @module
 */

import type { ConnectionHost, StreamAnalyzer } from "./stream_analyzer.ts";

/** Base of a layer that hands its inner stream on once its handshake is done. */
export abstract class TunnelLayer implements StreamAnalyzer {
  /** Layer name. */
  abstract readonly layer: string;
  /** The connection the layer reports to. */
  protected readonly host: ConnectionHost;
  /** The analyzer of the tunnel's bytes. */
  protected readonly inner: StreamAnalyzer;
  /** Bit per direction: the handshake is done, bytes go to {@linkcode inner}. */
  protected open = 0;

  /** Creates the layer for `host`, handing the tunnel to `inner`. */
  constructor(host: ConnectionHost, inner: StreamAnalyzer) {
    this.host = host;
    this.inner = inner;
  }

  /** Stream bytes of direction `dir`. */
  abstract data(dir: number, buf: Uint8Array, off: number, len: number, ts: number): void;

  /** Cut bytes go to the inner analyzer once the handshake is done. */
  cut(dir: number, len: number, ts: number): void {
    if (this.open & (1 << dir)) this.inner.cut(dir, len, ts);
    else this.host.fail();
  }

  /** A gap inside a handshake ends the inspection; in the tunnel it is the inner analyzer's. */
  gap(dir: number, len: number, ts: number): void {
    if (this.open & (1 << dir)) this.inner.gap(dir, len, ts);
    else this.host.fail();
  }
}
