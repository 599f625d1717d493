/**
 * A classic BPF interpreter for tests: the instruction subset the fanout
 * program uses (word/half/byte absolute loads, ancillary `SKF_AD_PROTOCOL`,
 * `SKF_NET_OFF` / `SKF_LL_OFF` relative loads, scratch memory, ALU with K
 * and X, JA/JEQ/JGT/JGE/JSET, RET, TAX/TXA), with the kernel's semantics:
 * 32-bit unsigned arithmetic, a load outside the packet ends the program
 * with 0, jumps are forward.
 *
 * The packet is a model of the kernel's `sk_buff` as a fanout program sees
 * it ({@linkcode Skb}); {@linkcode rxSkb} builds the model of a received
 * Ethernet frame (outer 802.1Q/802.1ad tag moved into metadata, data at the
 * network header), {@linkcode txSkb} one with every tag in the data and data
 * at the MAC header.
 *
 * @module
 */

import type { SockFilter } from "../../ffi/pcap_handle.ts";

/** The parts of an `sk_buff` a classic BPF fanout program can read. */
export interface Skb {
  /** The buffer (head .. tail). */
  bytes: Uint8Array;
  /** Offset of `skb->data` (absolute loads start here). */
  data: number;
  /** Offset of the MAC header, or -1 when unset. */
  mac: number;
  /** Offset of the network header. */
  net: number;
  /** `ntohs(skb->protocol)`. */
  protocol: number;
}

const SKF_AD_OFF = -0x1000;
const SKF_AD_PROTOCOL = 0;
const SKF_NET_OFF = -0x100000;
const SKF_LL_OFF = -0x200000;
const TPIDS_STRIPPED = [0x8100, 0x88a8]; // eth_type_vlan(): what skb_vlan_untag takes off

/** Runs `prog` on `skb`; returns the program's unsigned 32-bit result. */
export function runCbpf(prog: readonly SockFilter[], skb: Skb): number {
  let a = 0, x = 0;
  const mem = new Uint32Array(16);
  const load = (k: number, size: number): number | undefined => {
    k = k | 0; // k is a u32 in the instruction, signed in the kernel's test
    let at: number;
    if (k >= 0) at = skb.data + k;
    else if (k >= SKF_NET_OFF) at = skb.net + (k - SKF_NET_OFF);
    else if (k >= SKF_LL_OFF) {
      if (skb.mac < 0) return undefined;
      at = skb.mac + (k - SKF_LL_OFF);
    } else return undefined;
    if (at < 0 || at + size > skb.bytes.length) return undefined;
    const b = skb.bytes;
    if (size === 1) return b[at];
    if (size === 2) return (b[at] << 8) | b[at + 1];
    return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
  };
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf } = prog[pc];
    const k = prog[pc].k >>> 0;
    const cls = code & 0x07;
    switch (cls) {
      case 0x00: // LD
      case 0x01: { // LDX
        const mode = code & 0xe0;
        let v: number | undefined;
        if (mode === 0x00) v = k; // IMM
        else if (mode === 0x60) v = mem[k]; // MEM
        else if (mode === 0x20) { // ABS
          const size = [4, 2, 1][(code >> 3) & 3];
          if ((k | 0) >= SKF_AD_OFF && (k | 0) < 0) {
            if ((k | 0) - SKF_AD_OFF !== SKF_AD_PROTOCOL) throw new Error(`ancillary ${k}`);
            v = skb.protocol;
          } else v = load(k, size);
          if (v === undefined) return 0;
        } else throw new Error(`load mode ${mode.toString(16)} not supported`);
        if (cls === 0x00) a = v;
        else x = v;
        break;
      }
      case 0x02: // ST
        mem[k] = a;
        break;
      case 0x03: // STX
        mem[k] = x;
        break;
      case 0x04: { // ALU
        const src = (code & 0x08) !== 0 ? x : k;
        switch (code & 0xf0) {
          case 0x00:
            a = (a + src) >>> 0;
            break;
          case 0x10:
            a = (a - src) >>> 0;
            break;
          case 0x20:
            a = Math.imul(a, src) >>> 0;
            break;
          case 0x40:
            a = (a | src) >>> 0;
            break;
          case 0x50:
            a = (a & src) >>> 0;
            break;
          case 0x60:
            a = (a << (src & 31)) >>> 0;
            break;
          case 0x70:
            a = a >>> (src & 31);
            break;
          case 0xa0:
            a = (a ^ src) >>> 0;
            break;
          default:
            throw new Error(`alu op ${code.toString(16)} not supported`);
        }
        break;
      }
      case 0x05: { // JMP
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const src = (code & 0x08) !== 0 ? x : k;
        const cond = op === 0x10
          ? a === src
          : op === 0x20
          ? a > src
          : op === 0x30
          ? a >= src
          : op === 0x40
          ? (a & src) !== 0
          : undefined;
        if (cond === undefined) throw new Error(`jump ${code.toString(16)} not supported`);
        pc += cond ? jt : jf;
        break;
      }
      case 0x06: // RET
        return ((code & 0x18) === 0x10 ? a : k) >>> 0;
      case 0x07: // MISC
        if ((code & 0xf8) === 0x00) x = a;
        else a = x;
        break;
    }
  }
  throw new Error("program ran off its end");
}

/**
 * A received Ethernet frame as a fanout program sees it: an outer 802.1Q or
 * 802.1ad tag moved into metadata (the frame without it, MAC header before
 * what is left), `protocol` the EtherType after that tag (another TPID for
 * QinQ), data and network header right after the Ethernet header. With
 * `strip` false the tag stays in the data (a NIC/kernel that does not
 * untag).
 */
export function rxSkb(frame: Uint8Array, strip = true): Skb {
  let bytes = frame;
  let et = (frame[12] << 8) | frame[13];
  if (strip && TPIDS_STRIPPED.includes(et) && frame.length >= 18) {
    bytes = new Uint8Array(frame.length - 4);
    bytes.set(frame.subarray(0, 12));
    bytes.set(frame.subarray(16), 12);
    et = (bytes[12] << 8) | bytes[13];
  }
  return { bytes, data: 14, mac: 0, net: 14, protocol: et };
}

/**
 * A transmitted Ethernet frame (dev_queue_xmit_nit): every tag in the data,
 * `protocol` the first EtherType (a TPID when tagged), data at the MAC
 * header, network header at the IP header.
 */
export function txSkb(frame: Uint8Array): Skb {
  let off = 12;
  while (
    off + 4 <= frame.length && [0x8100, 0x88a8, 0x9100].includes((frame[off] << 8) | frame[off + 1])
  ) {
    off += 4;
  }
  return { bytes: frame, data: 0, mac: 0, net: off + 2, protocol: (frame[12] << 8) | frame[13] };
}

/** A frame of a non-Ethernet link (raw IP, Linux cooked) as the kernel hands it: no MAC header. */
export function rawIpSkb(ip: Uint8Array): Skb {
  const v = ip[0] >> 4;
  return { bytes: ip, data: 0, mac: -1, net: 0, protocol: v === 4 ? 0x0800 : v === 6 ? 0x86dd : 0 };
}
