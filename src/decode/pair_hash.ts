/**
 * The address-pair hash that spreads packets over analysis workers: one
 * number per client–server address pair, the same in both directions, so
 * every connection and datagram of a pair (a SoftEther session's TCP
 * connections, its UDP acceleration and probes) reaches one worker.
 *
 * Live capture computes the same hash in the kernel: the classic BPF program
 * of `src/capture/fanout_bpf.ts` (PACKET_FANOUT_CBPF) does these steps with
 * 32-bit BPF arithmetic, and `tests/capture/fanout_bpf_test.ts` runs it over
 * real and synthetic frames against {@linkcode packetPairHash}. Change one,
 * change both.
 *
 * The hash, on unsigned 32-bit words (big-endian address words, as
 * {@linkcode DecodedPacket} holds them):
 *
 * 1. each address to one word, its key: IPv4 the address itself; IPv6 the
 *    four words folded as a polynomial, `((w0·P + w1)·P + w2)·P + w3`
 *    mod 2^32 with P = {@linkcode FOLD_MULTIPLIER};
 * 2. each key mixed by MurmurHash3's 32-bit finaliser (`fmix32`, a
 *    bijection: every input bit reaches every output bit);
 * 3. the two mixed keys XORed: symmetric, and without the structured
 *    collisions of XORing raw addresses (10.0.0.1↔10.1.0.1 and
 *    10.0.0.2↔10.1.0.2 would share `a ^ b`).
 *
 * A packet goes to worker `hash % workers` (the kernel's rule for a fanout
 * program's return value). Ports, VLAN tags and the IP protocol are left
 * out on purpose: they differ between a session's flows, and VLAN tags may
 * be stripped by the NIC before the kernel's program sees the frame.
 *
 * @module
 */

import type { DecodedPacket } from "./packet.ts";

/** Odd multiplier folding an IPv6 address's four words into one (2^32 / golden ratio). */
const FOLD_MULTIPLIER = 0x9e3779b1;

/** MurmurHash3 `fmix32`: mixes all 32 bits of `h`; returns an unsigned 32-bit number. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The key of an IPv6 address given as four big-endian 32-bit words. */
function ipv6Key(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0, FOLD_MULTIPLIER) + w1;
  h = Math.imul(h, FOLD_MULTIPLIER) + w2;
  h = Math.imul(h, FOLD_MULTIPLIER) + w3;
  return h >>> 0;
}

/**
 * The pair hash of two address keys (IPv4: the address as an unsigned
 * 32-bit number; IPv6: {@linkcode ipv6Key}); `pairHash(a, b) === pairHash(b, a)`.
 * An unsigned 32-bit number.
 */
function pairHash(keyA: number, keyB: number): number {
  return (mix32(keyA) ^ mix32(keyB)) >>> 0;
}

/**
 * The pair hash of a decoded IP packet's source and destination addresses
 * (0 for a packet that is not IPv4 or IPv6). Allocation-free.
 */
export function packetPairHash(pkt: DecodedPacket): number {
  const s = pkt.src, d = pkt.dst;
  if (pkt.ipVersion === 4) return pairHash(s[0], d[0]);
  if (pkt.ipVersion === 6) {
    return pairHash(ipv6Key(s[0], s[1], s[2], s[3]), ipv6Key(d[0], d[1], d[2], d[3]));
  }
  return 0;
}
