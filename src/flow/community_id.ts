/**
 * Community ID v1 flow hashing (https://github.com/corelight/community-id-spec):
 * a direction-independent flow identifier shared with Zeek, Suricata and most
 * SIEMs, so a sealert alert can be joined with other sensors' records.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** IANA protocol numbers whose hash input includes the two ports. */
const PORT_PROTOCOLS: ReadonlySet<number> = new Set([1, 6, 17, 58, 132]);

/** ICMP (v4) message types with a request/reply counterpart (spec: ICMP4_counterpart). */
const ICMP4_COUNTERPART: ReadonlyMap<number, number> = new Map([
  [8, 0], // echo request -> echo reply
  [0, 8],
  [13, 14], // timestamp
  [14, 13],
  [15, 16], // information
  [16, 15],
  [10, 9], // router solicitation -> router advertisement (one way only)
  [17, 18], // address mask
  [18, 17],
]);

/** ICMPv6 message types with a request/reply counterpart (spec: ICMP6_counterpart). */
const ICMP6_COUNTERPART: ReadonlyMap<number, number> = new Map([
  [128, 129], // echo
  [129, 128],
  [133, 134], // router solicitation / advertisement
  [134, 133],
  [135, 136], // neighbor solicitation / advertisement
  [136, 135],
  [130, 131], // multicast listener query / report
  [131, 130],
  [139, 140], // node information query / reply
  [140, 139],
  [144, 145], // home agent address discovery request / reply
  [145, 144],
]);

/** Whether (a, pa) sorts strictly before (b, pb): addresses bytewise, then ports. */
function isLess(a: Uint8Array, pa: number, b: Uint8Array, pb: number): boolean {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] < b[i];
  }
  return pa < pb;
}

/** Throws RangeError unless `value` is an integer in [0, max]. */
function checkInt(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`Invalid ${name} for community ID: ${value}`);
  }
}

/**
 * Computes the Community ID v1 of a flow, in its base64 form ("1:…").
 *
 * The result does not depend on direction: swapping (src, srcPort) with
 * (dst, dstPort) gives the same ID. For ICMP (1) and ICMPv6 (58) pass the
 * message type as `srcPort` and the code as `dstPort`; the spec's
 * request/reply mapping is applied here. For protocols other than ICMP,
 * TCP (6), UDP (17), ICMPv6 and SCTP (132) the ports are ignored.
 *
 * @param ipVersion 4 or 6; selects the expected address length.
 * @param src Source address in network byte order (4 or 16 bytes).
 * @param dst Destination address in network byte order (4 or 16 bytes).
 * @param proto IANA protocol number (0–255).
 * @param srcPort Source port (or ICMP type).
 * @param dstPort Destination port (or ICMP code).
 * @param seed Community ID seed (0–65535), 0 unless all sensors agree on another.
 * @returns "1:" followed by the base64 SHA-1 digest.
 * @throws {RangeError} On a wrong address length or an out-of-range number.
 */
export function communityId(
  ipVersion: 4 | 6,
  src: Uint8Array,
  dst: Uint8Array,
  proto: number,
  srcPort: number,
  dstPort: number,
  seed = 0,
): string {
  const len = ipVersion === 4 ? 4 : ipVersion === 6 ? 16 : -1;
  if (len < 0) throw new RangeError(`Invalid IP version for community ID: ${ipVersion}`);
  if (src.length !== len || dst.length !== len) {
    throw new RangeError(`Invalid IPv${ipVersion} address length for community ID`);
  }
  checkInt("protocol", proto, 255);
  checkInt("source port", srcPort, 65535);
  checkInt("destination port", dstPort, 65535);
  checkInt("seed", seed, 65535);

  const hasPorts = PORT_PROTOCOLS.has(proto);
  let sport = hasPorts ? srcPort : 0;
  let dport = hasPorts ? dstPort : 0;
  let oneWay = false;
  if (proto === 1 || proto === 58) {
    const counterpart = (proto === 1 ? ICMP4_COUNTERPART : ICMP6_COUNTERPART).get(srcPort);
    if (counterpart === undefined) oneWay = true;
    else dport = counterpart;
  }

  let a = src, b = dst;
  if (!oneWay && !isLess(src, sport, dst, dport)) {
    a = dst;
    b = src;
    [sport, dport] = [dport, sport];
  }

  const input = new Uint8Array(2 + 2 * len + 2 + (hasPorts ? 4 : 0));
  const view = new DataView(input.buffer);
  view.setUint16(0, seed);
  input.set(a, 2);
  input.set(b, 2 + len);
  input[2 + 2 * len] = proto; // followed by one zero byte of padding
  if (hasPorts) {
    view.setUint16(4 + 2 * len, sport);
    view.setUint16(6 + 2 * len, dport);
  }
  return "1:" + createHash("sha1").update(input).digest("base64");
}
