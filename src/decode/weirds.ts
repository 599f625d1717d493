/**
 * Named counters for malformed or unusual input, in the spirit of Zeek's
 * "weird" log: bad input is counted by reason and never thrown.
 *
 * @module
 */

/** The reasons sealert counts. */
const WEIRD_NAMES = [
  "truncated_link_header",
  "unknown_link_type",
  "truncated_ip_header",
  "bad_ip_version",
  "bad_ipv4_header_length",
  "bad_ip_total_length",
  "ipv6_bad_extension_header",
  "ipv6_jumbogram",
  "ip_snaplen_cut",
  "truncated_tcp_header",
  "bad_tcp_header_length",
  "truncated_udp_header",
  "bad_udp_length",
  "truncated_icmp_header",
  "too_many_vlan_tags",
  "tcp_retransmission",
  "tcp_out_of_order",
  "tcp_stream_gap",
  "tcp_overlap",
  "tcp_overlap_conflict",
  "tcp_stream_hole",
  "tcp_hold_cut_segment",
  "tcp_hold_overflow",
  "tcp_ack_wait_expired",
  "inspection_evicted",
  "face_inspection_evicted",
  "infra_host_forgotten",
  "infra_address_forgotten",
  "flow_evicted",
  "ip_frag_overlap",
  "ip_frag_overlap_conflict",
  "ip_frag_too_large",
  "ip_frag_timeout",
  "ip_frag_evicted",
  "ip_frag_bad_length",
  "ip_frag_inconsistent_end",
  "ip_frag_snaplen_cut",
  "softether_icmp_cut",
  "softether_dns_cut",
] as const;

/** One of the reasons in `WEIRD_NAMES`. */
export type WeirdName = typeof WEIRD_NAMES[number];

/** Counters by weird name; incrementing allocates nothing. */
export class Weirds {
  #counts = new Float64Array(WEIRD_NAMES.length);
  #index = new Map<WeirdName, number>(WEIRD_NAMES.map((n, i) => [n, i]));

  /** Count one occurrence of `name`. */
  add(name: WeirdName, n = 1): void {
    this.#counts[this.#index.get(name)!] += n;
  }

  /** Current count of `name`. */
  get(name: WeirdName): number {
    return this.#counts[this.#index.get(name)!];
  }

  /** Non-zero counters as a plain object (for summaries). */
  toObject(): Record<string, number> {
    const out: Record<string, number> = {};
    WEIRD_NAMES.forEach((n, i) => {
      if (this.#counts[i] > 0) out[n] = this.#counts[i];
    });
    return out;
  }
}
