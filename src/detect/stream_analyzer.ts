/**
 * The analyzer tree's node interface (Zeek's child analyzers): every
 * analyzer is fed one connection's reassembled streams — or the inner
 * stream its parent unwrapped (CONNECT → TLS, SOCKS → TLS) — and reports
 * what it found to the connection it works for.
 *
 * @module
 */

import type { StreamConsumer } from "../flow/tcp_reassembler.ts";
import type { Target, Variant } from "./event.ts";

/** A node of the analyzer tree: consumes a byte stream per direction. */
export interface StreamAnalyzer extends StreamConsumer {
  /** Name of the protocol layer (for evidence and logs). */
  readonly layer: string;
}

/** What analyzers report to the connection they inspect. */
export interface ConnectionHost {
  /** Add one supporting signal (weight from the confidence table). */
  support(name: string, weight: number): void;
  /** How the client reached the server (set by proxy layers). */
  setVariant(v: Variant): void;
  /** Destination named by a proxy request. */
  setTarget(t: Target): void;
  /** The connection is not SoftEther: stop inspecting it. */
  fail(): void;
  /** True once decided (analyzers stop working). */
  readonly decided: boolean;
}
