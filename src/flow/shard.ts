/**
 * Flow sharding for parallel analysis: every packet of a flow — and every
 * flow between the same two addresses (a VPN session's extra connections, a
 * client's retries through the same proxy) — goes to the same shard, so the
 * shards need nothing from each other.
 *
 * @module
 */

import type { DecodedPacket } from "../decode/packet.ts";

/** Which of `count` shards owns the flows between the packet's two addresses. */
export function shardOf(p: DecodedPacket, count: number): number {
  const a = p.src, b = p.dst;
  // Symmetric in the two addresses: the same shard for both directions.
  const h = mixWords(a[0], a[1], a[2], a[3]) ^ mixWords(b[0], b[1], b[2], b[3]);
  return ((h ^ (h >>> 15)) >>> 0) % count;
}

function mixWords(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ w2, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w3, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
