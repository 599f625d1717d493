/**
 * C struct layouts of libpcap on each 64-bit OS, as pure data, plus the
 * readers that use them. Kept OS-parametric so the Windows and macOS layouts
 * are unit-tested on Linux.
 *
 * - Linux and macOS are LP64: `long` and `time_t` are 8 bytes. On Linux
 *   `struct timeval` is two i64 (16 B); on macOS `tv_usec` is an i32 at 8
 *   (padded to 16 B). `pcap_pkthdr` is 24 B on both.
 * - Windows x64 is LLP64: `long` is 4 bytes, so `timeval` is two i32 and
 *   `pcap_pkthdr` is 16 B. Pointers stay 8 bytes.
 * - `pcap_if_t` (40 B), `pcap_addr` and `bpf_program` (16 B) are the same on
 *   all three. `sockaddr` differs: a host-order u16 family on Linux and
 *   Windows, `u8 sa_len, u8 sa_family` on macOS, and AF_INET6 is 10 (Linux),
 *   23 (Windows) or 30 (macOS).
 *
 * @module
 */

import type { PcapOs } from "./libpcap.ts";

/** Byte offsets of `struct pcap_pkthdr`'s fields. */
interface PkthdrLayout {
  /** sizeof(struct pcap_pkthdr). */
  readonly size: number;
  /** Offset of `ts.tv_sec`. */
  readonly secOffset: number;
  /** Width of `ts.tv_sec`: 8 (LP64) or 4 (Windows). */
  readonly secBytes: 4 | 8;
  /** Offset of `ts.tv_usec` (read as a u32; always < 1,000,000). */
  readonly usecOffset: number;
  /** Offset of `caplen` (u32). */
  readonly caplenOffset: number;
  /** Offset of `len` (u32). */
  readonly lenOffset: number;
}

/** `struct pcap_pkthdr` on `os` (64-bit builds). */
export function pkthdrLayout(os: PcapOs): PkthdrLayout {
  if (os === "windows") {
    return { size: 16, secOffset: 0, secBytes: 4, usecOffset: 4, caplenOffset: 8, lenOffset: 12 };
  }
  return { size: 24, secOffset: 0, secBytes: 8, usecOffset: 8, caplenOffset: 16, lenOffset: 20 };
}

/** A decoded `pcap_pkthdr`; one instance is reused. */
export class Pkthdr {
  /** Whole seconds of the timestamp. */
  tsSec = 0;
  /** Microseconds within the second. */
  tsUsec = 0;
  /** Captured bytes. */
  capLen = 0;
  /** Length on the wire. */
  wireLen = 0;
}

/**
 * The u32 word indexes of a {@linkcode PkthdrLayout}, for reading a header
 * through a `Uint32Array` with no DataView call. `secHi` is -1 for a 32-bit
 * `tv_sec`.
 */
export interface PkthdrWords {
  /** Index of the low word of tv_sec. */
  readonly secLo: number;
  /** Index of the high word of tv_sec, or -1. */
  readonly secHi: number;
  /** Index of tv_usec. */
  readonly usec: number;
  /** Index of caplen. */
  readonly caplen: number;
  /** Index of len. */
  readonly len: number;
}

/** Word indexes (little-endian host) of a header layout. */
export function pkthdrWords(layout: PkthdrLayout): PkthdrWords {
  return {
    secLo: layout.secOffset >> 2,
    secHi: layout.secBytes === 8 ? (layout.secOffset >> 2) + 1 : -1,
    usec: layout.usecOffset >> 2,
    caplen: layout.caplenOffset >> 2,
    len: layout.lenOffset >> 2,
  };
}

/**
 * Decodes the header whose first word is `words[base]` into `out` (no
 * allocation). The words are in host byte order, as libpcap wrote them.
 */
export function readPkthdr(
  words: Uint32Array,
  base: number,
  w: PkthdrWords,
  out: Pkthdr,
): Pkthdr {
  out.tsSec = w.secHi < 0
    ? words[base + w.secLo]
    : words[base + w.secLo] + words[base + w.secHi] * 4294967296;
  out.tsUsec = words[base + w.usec];
  out.capLen = words[base + w.caplen];
  out.wireLen = words[base + w.len];
  return out;
}

/** `pcap_if_t`: the device list node (all 64-bit OSes). */
export const PCAP_IF = {
  /** sizeof(pcap_if_t). */
  size: 40,
  /** `struct pcap_if *next`. */
  next: 0,
  /** `char *name`. */
  name: 8,
  /** `char *description` (may be NULL). */
  description: 16,
  /** `struct pcap_addr *addresses`. */
  addresses: 24,
  /** `bpf_u_int32 flags`. */
  flags: 32,
} as const;

/** `pcap_addr_t`: one address of a device (all 64-bit OSes). */
export const PCAP_ADDR = {
  /** `struct pcap_addr *next`. */
  next: 0,
  /** `struct sockaddr *addr`. */
  addr: 8,
  /** `struct sockaddr *netmask`. */
  netmask: 16,
  /** `struct sockaddr *broadaddr`. */
  broadaddr: 24,
  /** `struct sockaddr *dstaddr`. */
  dstaddr: 32,
} as const;

/** `struct bpf_program`: u32 bf_len, 4 B padding, `bpf_insn *` at 8. */
export const BPF_PROGRAM_SIZE = 16;

/** `struct pcap_stat` (u32 recv, drop, ifdrop; Windows appends 3 more u32). */
export const PCAP_STAT = {
  /** Bytes to reserve: covers the Windows variant (24 B) with room. */
  size: 32,
  /** ps_recv word index. */
  recv: 0,
  /** ps_drop word index. */
  drop: 1,
  /** ps_ifdrop word index. */
  ifdrop: 2,
} as const;

/** How a `struct sockaddr` is read on an OS. */
interface SockaddrLayout {
  /** Offset of the family field. */
  readonly familyOffset: number;
  /** Width of the family field: 2 (u16, host order) or 1 (u8, BSD). */
  readonly familyBytes: 1 | 2;
  /** AF_INET on this OS. */
  readonly afInet: number;
  /** AF_INET6 on this OS. */
  readonly afInet6: number;
  /** Offset of the 4 address bytes in `sockaddr_in`. */
  readonly inetAddrOffset: number;
  /** Offset of the 16 address bytes in `sockaddr_in6`. */
  readonly inet6AddrOffset: number;
}

/** `struct sockaddr` on `os`. */
export function sockaddrLayout(os: PcapOs): SockaddrLayout {
  switch (os) {
    case "windows":
      return {
        familyOffset: 0,
        familyBytes: 2,
        afInet: 2,
        afInet6: 23,
        inetAddrOffset: 4,
        inet6AddrOffset: 8,
      };
    case "darwin":
    case "freebsd":
    case "netbsd":
      return {
        familyOffset: 1,
        familyBytes: 1,
        afInet: 2,
        afInet6: os === "darwin" ? 30 : os === "freebsd" ? 28 : 24,
        inetAddrOffset: 4,
        inet6AddrOffset: 8,
      };
    default:
      return {
        familyOffset: 0,
        familyBytes: 2,
        afInet: 2,
        afInet6: 10,
        inetAddrOffset: 4,
        inet6AddrOffset: 8,
      };
  }
}

/** The address family of a sockaddr whose first bytes are `bytes`. */
export function sockaddrFamily(bytes: Uint8Array, layout: SockaddrLayout): number {
  return layout.familyBytes === 1
    ? bytes[layout.familyOffset]
    : new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(
      layout.familyOffset,
      true,
    );
}
