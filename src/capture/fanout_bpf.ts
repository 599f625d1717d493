/**
 * The classic BPF program that spreads one interface's packets over the
 * analysis workers of its kernel fanout group (PACKET_FANOUT_CBPF): it
 * returns the address-pair hash of `src/decode/pair_hash.ts`, the kernel
 * sends the packet to member `hash % members`. Both directions of a pair,
 * every connection and datagram of it (and with PACKET_FANOUT_FLAG_DEFRAG
 * every IPv4 fragment, reassembled first), reach one worker.
 *
 * What the program sees (measured on Linux 6.18, `tests/capture/fanout_live_test.ts`):
 * the kernel runs a fanout program on the received `sk_buff` with its data
 * at the network header, not the MAC header as a socket filter does, and
 * with the outer VLAN tag, if any, already moved into the skb's metadata
 * (`skb->protocol` is then the inner EtherType). So the program reads
 * `skb->protocol` (the `SKF_AD_PROTOCOL` ancillary load) and the addresses
 * relative to the network header (`SKF_NET_OFF`), which is also right where
 * data starts at the MAC header (transmitted packets). When `skb->protocol`
 * is itself a VLAN TPID (802.1Q 0x8100, 802.1ad 0x88a8, 0x9100) the tags
 * are in the frame data: the program walks them from the MAC header
 * (`SKF_LL_OFF`), one or two of them.
 *
 * The hash, with 32-bit BPF arithmetic (the constants are pair_hash.ts's;
 * tests/capture/fanout_bpf_test.ts runs this program in a BPF interpreter
 * over real and synthetic frames against that module):
 * each address is reduced to a key (IPv4 the address, IPv6 the polynomial
 * fold of its words), each key mixed by fmix32, the two XORed.
 * Frames that are not IPv4 or IPv6, or whose addresses are cut off, return 0
 * (worker 0).
 *
 * @module
 */

import type { SockFilter } from "../../ffi/pcap_handle.ts";

// Opcode parts (linux/bpf_common.h).
const LD = 0x00, LDX = 0x01, ST = 0x02, ALU = 0x04, JMP = 0x05, RET = 0x06, MISC = 0x07;
const W = 0x00, H = 0x08;
const ABS = 0x20, MEM = 0x60;
const ADD = 0x00, MUL = 0x20, RSH = 0x70, XOR = 0xa0;
const JA = 0x00, JEQ = 0x10;
const K = 0x00, X = 0x08;
const RET_A = 0x10, TAX = 0x00;

/** Ancillary load base (`SKF_AD_OFF`) and `SKF_AD_PROTOCOL`: `ntohs(skb->protocol)`. */
const AD_PROTOCOL = -0x1000 + 0;
/** Loads relative to the network header (`SKF_NET_OFF`). */
const NET = -0x100000;
/** Loads relative to the MAC header (`SKF_LL_OFF`). */
const LL = -0x200000;

const ETH_IPV4 = 0x0800, ETH_IPV6 = 0x86dd;
/** VLAN tag protocol ids: 802.1Q, 802.1ad, the older QinQ 0x9100. */
const TPIDS = [0x8100, 0x88a8, 0x9100] as const;

/** fmix32's multipliers and the IPv6 fold multiplier (src/decode/pair_hash.ts). */
const MIX1 = 0x85ebca6b, MIX2 = 0xc2b2ae35, FOLD = 0x9e3779b1;

/** An instruction whose jump targets may still be labels. */
interface Draft {
  code: number;
  k: number;
  /** Label jumped to when true (conditional) or always (`ja`). */
  jt?: string;
  /** Label jumped to when false. */
  jf?: string;
}

/** Collects instructions and labels, then resolves the jumps (forward only, as BPF requires). */
class Assembler {
  readonly #drafts: Draft[] = [];
  readonly #labels = new Map<string, number>();

  label(name: string): void {
    this.#labels.set(name, this.#drafts.length);
  }

  op(code: number, k = 0): void {
    this.#drafts.push({ code, k });
  }

  /** `jeq #k, then, else` (`else` undefined: fall through). */
  jeq(k: number, then: string, otherwise?: string): void {
    this.#drafts.push({ code: JMP | JEQ | K, k, jt: then, jf: otherwise });
  }

  ja(target: string): void {
    this.#drafts.push({ code: JMP | JA, k: 0, jt: target });
  }

  build(): SockFilter[] {
    return this.#drafts.map((d, i) => {
      const skip = (label: string | undefined): number => {
        if (label === undefined) return 0;
        const at = this.#labels.get(label);
        if (at === undefined || at <= i) throw new Error(`bad jump to ${label}`);
        return at - i - 1;
      };
      if (d.code === (JMP | JA)) return { code: d.code, jt: 0, jf: 0, k: skip(d.jt) };
      const jt = skip(d.jt), jf = skip(d.jf);
      if (jt > 255 || jf > 255) throw new Error("conditional jump too far");
      return { code: d.code, jt, jf, k: d.k >>> 0 };
    });
  }
}

/** `A = fmix32(A)` (X clobbered). */
function mix(a: Assembler): void {
  for (const [shift, mul] of [[16, MIX1], [13, MIX2], [16, 0]]) {
    a.op(MISC | TAX);
    a.op(ALU | RSH | K, shift);
    a.op(ALU | XOR | X);
    if (mul !== 0) a.op(ALU | MUL | K, mul);
  }
}

/** `A` = the key of the IPv6 address whose words start at `at` (X clobbered). */
function ipv6Key(a: Assembler, at: number): void {
  a.op(LD | W | ABS, at);
  for (let i = 1; i < 4; i++) {
    a.op(ALU | MUL | K, FOLD);
    a.op(MISC | TAX);
    a.op(LD | W | ABS, at + i * 4);
    a.op(ALU | ADD | X);
  }
}

/**
 * Keys of both addresses of the IP header at `base` into M[0] (source) and
 * M[1] (destination), then on to the common tail.
 */
function keys(a: Assembler, base: number, version: 4 | 6): void {
  if (version === 4) {
    a.op(LD | W | ABS, base + 12);
    a.op(ST, 0);
    a.op(LD | W | ABS, base + 16);
    a.op(ST, 1);
  } else {
    ipv6Key(a, base + 8);
    a.op(ST, 0);
    ipv6Key(a, base + 24);
    a.op(ST, 1);
  }
  a.ja("hash");
}

/** Jumps on the EtherType in A: IPv4 → `v4`, IPv6 → `v6`, a TPID → `tag` (if given), else on. */
function dispatch(a: Assembler, v4: string, v6: string, tag?: string): void {
  a.jeq(ETH_IPV4, v4);
  a.jeq(ETH_IPV6, v6);
  if (tag !== undefined) { for (const tpid of TPIDS) a.jeq(tpid, tag); }
}

/**
 * The fanout program (independent of the number of workers: the kernel
 * takes its return value modulo the group's members). About 130
 * instructions, 30–70 run per packet.
 */
export function fanoutProgram(): SockFilter[] {
  const a = new Assembler();
  // skb->protocol: IPv4/IPv6 at the network header; a TPID: tags in the data.
  a.op(LD | W | ABS, AD_PROTOCOL);
  dispatch(a, "v4_net", "v6_net", "tags");
  a.op(RET | K, 0);
  // Tags in the data: walk the Ethernet header from the MAC header.
  a.label("tags");
  a.op(LD | H | ABS, LL + 12);
  dispatch(a, "none", "none", "tag1");
  a.op(RET | K, 0);
  a.label("tag1");
  a.op(LD | H | ABS, LL + 16);
  dispatch(a, "v4_ll18", "v6_ll18", "tag2");
  a.op(RET | K, 0);
  a.label("tag2");
  a.op(LD | H | ABS, LL + 20);
  dispatch(a, "v4_ll22", "v6_ll22");
  a.label("none");
  a.op(RET | K, 0);
  for (const [name, base] of [["net", NET], ["ll18", LL + 18], ["ll22", LL + 22]] as const) {
    a.label(`v4_${name}`);
    keys(a, base, 4);
    a.label(`v6_${name}`);
    keys(a, base, 6);
  }
  // hash = fmix32(M[0]) ^ fmix32(M[1])
  a.label("hash");
  a.op(LD | MEM, 0);
  mix(a);
  a.op(ST, 0);
  a.op(LD | MEM, 1);
  mix(a);
  a.op(LDX | MEM, 0);
  a.op(ALU | XOR | X);
  a.op(RET | RET_A);
  return a.build();
}
