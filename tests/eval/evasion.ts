/**
 * Evasion rewriters: generic transforms of a capture that a real TCP receiver
 * would reassemble into exactly the same byte streams (first data wins), but
 * that change what a passive sensor sees — segmentation, order, duplicates,
 * conflicting overlaps, IP fragments, IPv6, clock skew between the two
 * directions, a late start, and other link layers. Each transform is a named
 * variant whose random choices come from a seed, so a run is reproducible.
 *
 * Segments that are cut keep the sequence space, the ack number, window and
 * TCP options of the original (FIN and PSH only on the last piece), so every
 * ack of the other side stays consistent; checksums and lengths are
 * recomputed by the encoder (`capture_encoder.ts`).
 *
 * ```ts
 * await rewriteCapture("testdata/lab/direct_443.pcap", "/tmp/x.pcap", "tiny", 1);
 * ```
 *
 * @module
 */

import {
  type IpInfo,
  type Packet,
  readCapture,
  seqAdd,
  seqDiff,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  type TcpPacket,
} from "./capture_packets.ts";
import { type EncodeOptions, writeCapture } from "./capture_encoder.ts";
import { SeededRandom } from "./seeded_random.ts";
import { type ConnectionMap, trackConnections } from "./tcp_connections.ts";

/** One named transform. */
export interface Evasion {
  /** Name used on the command line and in reports. */
  name: string;
  /** What it does, in a few words. */
  description: string;
  /** Rewrites the packets (never mutating them). */
  rewrite(packets: readonly Packet[], rng: SeededRandom): Packet[];
  /** How the result is encoded (fragmentation, link layer). */
  encode: EncodeOptions;
}

const MS = 1_000_000n; // nanoseconds

/** True for a TCP segment carrying payload that may be cut (not a SYN). */
function cuttable(p: Packet): p is TcpPacket {
  return p.kind === "tcp" && p.payload.length > 0 && (p.flags & (TCP_SYN | TCP_RST)) === 0;
}

/**
 * Cuts `p` at payload offsets `cuts` (ascending, inside the payload) into
 * pieces sharing its header; FIN and PSH stay on the last piece.
 */
export function cutSegment(p: TcpPacket, cuts: readonly number[]): TcpPacket[] {
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < p.payload.length), p.payload.length];
  const out: TcpPacket[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const last = i + 2 === bounds.length;
    out.push({
      ...p,
      seq: seqAdd(p.seq, bounds[i]),
      flags: last ? p.flags : p.flags & ~(TCP_FIN | TCP_PSH),
      payload: p.payload.subarray(bounds[i], bounds[i + 1]),
    });
  }
  return out;
}

/** Cut offsets making pieces of `lo..hi` bytes over `[from, to)`. */
function randomCuts(rng: SeededRandom, from: number, to: number, lo: number, hi: number): number[] {
  const cuts = [from];
  for (let o = from + rng.int(lo, hi); o < to; o += rng.int(lo, hi)) cuts.push(o);
  cuts.push(to);
  return cuts;
}

/** Applies `f` to every packet, flattening the results. */
function flatMapPackets(
  packets: readonly Packet[],
  f: (p: Packet, i: number, map: ConnectionMap) => Packet[],
): Packet[] {
  const map = trackConnections(packets);
  return packets.flatMap((p, i) => f(p, i, map));
}

/** split1: each connection's first client payload segment cut after its first byte. */
function splitFirst(packets: readonly Packet[]): Packet[] {
  const done = new Set<number>();
  return flatMapPackets(packets, (p, i, map) => {
    const c = map.connectionOf[i];
    if (c < 0 || !map.fromClient[i] || !cuttable(p) || done.has(c)) return [p];
    done.add(c);
    return cutSegment(p, [1]);
  });
}

/** tiny: the client's first 8 KB of payload in 1–6-byte segments. */
function tinySegments(packets: readonly Packet[], rng: SeededRandom): Packet[] {
  const LIMIT = 8192;
  return flatMapPackets(packets, (p, i, map) => {
    const c = map.connectionOf[i];
    if (c < 0 || !map.fromClient[i] || !cuttable(p)) return [p];
    const start = map.connections[c].clientDataStart ?? p.seq;
    const rel = seqDiff(p.seq, start);
    const end = Math.min(p.payload.length, LIMIT - rel);
    if (end <= 0) return [p];
    const from = Math.max(0, -rel);
    if (end <= from) return [p];
    return cutSegment(p, randomCuts(rng, from, end, 1, 6));
  });
}

/** mss88 / mss536: every payload segment cut to at most `mss` bytes. */
function maxSegment(mss: number): (packets: readonly Packet[]) => Packet[] {
  return (packets) =>
    packets.flatMap((p) => {
      if (!cuttable(p) || p.payload.length <= mss) return [p];
      const cuts: number[] = [];
      for (let o = mss; o < p.payload.length; o += mss) cuts.push(o);
      return cutSegment(p, cuts);
    });
}

/**
 * permute: the client's first flight (its payload before the server's next
 * payload) as 1–50-byte segments in shuffled order, all sent where the
 * flight's first segment was; a FIN of the flight stays where it was.
 */
function permuteFirstFlight(packets: readonly Packet[], rng: SeededRandom): Packet[] {
  const map = trackConnections(packets);
  const replaced = new Map<number, Packet[]>(); // packet index -> what replaces it
  for (const conn of map.connections) {
    const idx = conn.packets;
    const first = idx.findIndex((j) => map.fromClient[j] && cuttable(packets[j]));
    if (first < 0) continue;
    const flight: number[] = [];
    for (const j of idx.slice(first)) {
      const p = packets[j] as TcpPacket;
      if (!map.fromClient[j] && p.payload.length > 0) break;
      if (map.fromClient[j] && cuttable(p)) flight.push(j);
    }
    // The flight's bytes, first data wins, as contiguous blocks.
    const head = packets[flight[0]] as TcpPacket;
    const base = head.seq;
    let size = 0;
    for (const j of flight) {
      const p = packets[j] as TcpPacket;
      size = Math.max(size, seqDiff(p.seq, base) + p.payload.length);
    }
    const bytes = new Uint8Array(size);
    const have = new Uint8Array(size);
    for (const j of flight) {
      const p = packets[j] as TcpPacket;
      const o = seqDiff(p.seq, base);
      for (let k = 0; k < p.payload.length; k++) {
        if (o + k >= 0 && !have[o + k]) {
          bytes[o + k] = p.payload[k];
          have[o + k] = 1;
        }
      }
    }
    const pieces: TcpPacket[] = [];
    for (let o = 0; o < size;) {
      if (!have[o]) {
        o++;
        continue;
      }
      let e = o;
      while (e < size && have[e] && e - o < 50) e++;
      const len = Math.min(e - o, rng.int(1, 50));
      pieces.push({
        ...head,
        seq: seqAdd(base, o),
        flags: (head.flags & ~TCP_FIN) | TCP_PSH,
        payload: bytes.slice(o, o + len),
      });
      o += len;
    }
    rng.shuffle(pieces);
    if (pieces.length > 1 && pieces[0].seq === base) pieces.push(pieces.shift()!);
    replaced.set(flight[0], pieces);
    for (const j of flight.slice(1)) replaced.set(j, []);
    for (const j of flight) {
      const p = packets[j] as TcpPacket;
      if (p.flags & TCP_FIN) {
        const fin: TcpPacket = {
          ...p,
          seq: seqAdd(p.seq, p.payload.length),
          payload: new Uint8Array(0),
        };
        replaced.set(j, [...replaced.get(j)!, fin]);
      }
    }
  }
  return packets.flatMap((p, i) => replaced.get(i) ?? [p]);
}

/**
 * dup: every payload segment sent twice in a row, and a quarter of them once
 * more 2–12 packets of the connection later (then with the sender's latest
 * ack, as a real retransmission carries).
 */
function duplicate(packets: readonly Packet[], rng: SeededRandom): Packet[] {
  const map = trackConnections(packets);
  const out: Packet[] = [];
  const pending = new Map<number, { left: number; p: TcpPacket; fromClient: boolean }[]>();
  const lastAck = new Map<string, number>(); // `${conn}:${fromClient}` -> ack
  packets.forEach((p, i) => {
    const c = map.connectionOf[i];
    out.push(p);
    if (c < 0 || p.kind !== "tcp") return;
    if (p.flags & TCP_ACK) lastAck.set(`${c}:${map.fromClient[i]}`, p.ack);
    if (cuttable(p)) out.push({ ...p });
    const list = pending.get(c) ?? [];
    for (const d of list) {
      if (--d.left > 0) continue;
      const ack = d.p.flags & TCP_ACK ? lastAck.get(`${c}:${d.fromClient}`) ?? d.p.ack : d.p.ack;
      out.push({ ...d.p, ts: p.ts, ack });
    }
    const left = list.filter((d) => d.left > 0);
    if (cuttable(p) && rng.chance(0.25)) {
      left.push({ left: rng.int(2, 12), p, fromClient: map.fromClient[i] });
    }
    pending.set(c, left);
  });
  return out;
}

/**
 * superset: each payload segment that continues the previous one of the
 * same direction is sent re-sending the previous segment's bytes too (while
 * the two fit the largest segment that direction sent).
 */
function supersets(packets: readonly Packet[]): Packet[] {
  const map = trackConnections(packets);
  const largest = new Map<string, number>();
  packets.forEach((p, i) => {
    if (!cuttable(p)) return;
    const k = `${map.connectionOf[i]}:${map.fromClient[i]}`;
    largest.set(k, Math.max(largest.get(k) ?? 0, p.payload.length));
  });
  const prev = new Map<string, TcpPacket>();
  return packets.map((p, i) => {
    if (!cuttable(p)) return p;
    const k = `${map.connectionOf[i]}:${map.fromClient[i]}`;
    const before = prev.get(k);
    prev.set(k, p);
    if (
      before === undefined || seqAdd(before.seq, before.payload.length) !== p.seq ||
      before.payload.length + p.payload.length > largest.get(k)!
    ) return p;
    const payload = new Uint8Array(before.payload.length + p.payload.length);
    payload.set(before.payload);
    payload.set(p.payload, before.payload.length);
    return { ...p, seq: before.seq, payload };
  });
}

/**
 * overlap: after every payload segment, a segment over part or all of the
 * same sequence range with different (garbage) bytes.
 */
function overlapGarbage(packets: readonly Packet[], rng: SeededRandom): Packet[] {
  return packets.flatMap((p): Packet[] => {
    if (!cuttable(p)) return [p];
    const n = p.payload.length;
    const whole = rng.chance(0.5);
    const from = whole ? 0 : rng.int(0, n - 1);
    const to = whole ? n : rng.int(from + 1, n);
    const garbage = p.payload.slice(from, to);
    for (let k = 0; k < garbage.length; k++) garbage[k] ^= rng.int(1, 255);
    const g: TcpPacket = {
      ...p,
      seq: seqAdd(p.seq, from),
      flags: (p.flags & ~TCP_FIN) | TCP_PSH,
      payload: garbage,
    };
    return [p, g];
  });
}

/** The embedded IPv6 address of an IPv4 address: fd00::a.b.c.d. */
export function mapIpv4ToIpv6(v4: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0xfd;
  a.set(v4, 12);
  return a;
}

/**
 * The IPv4 text address behind an address of {@linkcode mapIpv4ToIpv6} in
 * RFC 5952 text (`fd00::a4d:102` → `10.77.1.2`); any other text unchanged.
 */
export function unmapIpv6Text(text: string): string {
  const m = /^fd00::(?:([0-9a-f]{1,4}):)?([0-9a-f]{1,4})$/.exec(text);
  if (m === null) return text;
  const hi = parseInt(m[1] ?? "0", 16), lo = parseInt(m[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** ipv6: every IPv4 TCP/UDP packet moved to IPv6 (other IPv4 packets, e.g. ICMP, dropped). */
function toIpv6(packets: readonly Packet[]): Packet[] {
  return packets.flatMap((p): Packet[] => {
    if (p.kind === "other") return p.etherType === 0x0800 ? [] : [p];
    if (p.ip.version === 6) return [p];
    const ip: IpInfo = {
      ...p.ip,
      version: 6,
      src: mapIpv4ToIpv6(p.ip.src),
      dst: mapIpv4ToIpv6(p.ip.dst),
      id: 0,
      df: false,
      flowLabel: 0,
    };
    return [{ ...p, ip }];
  });
}

/** skew: server-to-client packets stamped `d` ns earlier, then the capture re-sorted by time. */
function skew(d: bigint): (packets: readonly Packet[]) => Packet[] {
  return (packets) => {
    const map = trackConnections(packets);
    const moved = packets.map((p, i) =>
      map.connectionOf[i] >= 0 && !map.fromClient[i] ? { ...p, ts: p.ts - d } : p
    );
    return sortByTime(moved);
  };
}

/** jitter: every packet's time moved by a uniform ±`d` ns, then re-sorted. */
function jitter(d: number): (packets: readonly Packet[], rng: SeededRandom) => Packet[] {
  return (packets, rng) =>
    sortByTime(
      packets.map((p) => ({ ...p, ts: p.ts + BigInt(Math.round((rng.next() * 2 - 1) * d)) })),
    );
}

function sortByTime(packets: Packet[]): Packet[] {
  return packets.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0)); // stable
}

/** synswap: each connection's first SYN-ACK moved just before its first SYN (stamped with its time). */
function synSwap(packets: readonly Packet[]): Packet[] {
  const map = trackConnections(packets);
  const before = new Map<number, Packet>(); // SYN index -> SYN-ACK to put before it
  const drop = new Set<number>();
  for (const conn of map.connections) {
    const flag = (j: number) => (packets[j] as TcpPacket).flags & (TCP_SYN | TCP_ACK);
    const syn = conn.packets.find((j) => flag(j) === TCP_SYN);
    const synAck = conn.packets.find((j) => flag(j) === (TCP_SYN | TCP_ACK));
    if (syn === undefined || synAck === undefined || synAck < syn) continue;
    before.set(syn, { ...packets[synAck], ts: packets[syn].ts });
    drop.add(synAck);
  }
  return packets.flatMap((p, i) => {
    if (drop.has(i)) return [];
    const sa = before.get(i);
    return sa === undefined ? [p] : [sa, p];
  });
}

/**
 * late: the sensor started late — the capture begins right after the first
 * `n` packets of its first TCP connection (everything before them is gone
 * too). Later connections are whole, as they would be on a real link.
 */
function late(n: number): (packets: readonly Packet[]) => Packet[] {
  return (packets) => {
    const map = trackConnections(packets);
    const first = map.connections[0];
    if (first === undefined) return [...packets];
    const cut = first.packets.length > n ? first.packets[n] : packets.length;
    return packets.slice(cut);
  };
}

const same = (packets: readonly Packet[]): Packet[] => [...packets];

/** Every transform, in report order. */
export const EVASIONS: readonly Evasion[] = [
  {
    name: "split1",
    description: "first client payload segment split at byte 1",
    rewrite: splitFirst,
    encode: {},
  },
  {
    name: "tiny",
    description: "client's first 8 KB in 1-6-byte segments",
    rewrite: tinySegments,
    encode: {},
  },
  {
    name: "permute",
    description: "client's first flight in 1-50-byte segments, shuffled",
    rewrite: permuteFirstFlight,
    encode: {},
  },
  {
    name: "dup",
    description: "every payload segment duplicated (at once and later)",
    rewrite: duplicate,
    encode: {},
  },
  {
    name: "superset",
    description: "segments re-sending the previous segment's bytes",
    rewrite: supersets,
    encode: {},
  },
  {
    name: "overlap",
    description: "garbage over already-sent ranges (first data wins)",
    rewrite: overlapGarbage,
    encode: {},
  },
  {
    name: "frag4_8",
    description: "IPv4 fragments of 8 bytes",
    rewrite: same,
    encode: { fragmentSize: 8 },
  },
  {
    name: "frag4_64",
    description: "IPv4 fragments of 64 bytes",
    rewrite: same,
    encode: { fragmentSize: 64 },
  },
  {
    name: "frag4_rev",
    description: "IPv4 fragments of 64 bytes, last first",
    rewrite: same,
    encode: { fragmentSize: 64, fragmentReverse: true },
  },
  { name: "ipv6", description: "IPv4 -> IPv6 (fd00::a.b.c.d)", rewrite: toIpv6, encode: {} },
  {
    name: "frag6_64",
    description: "IPv6, fragments of 64 bytes",
    rewrite: toIpv6,
    encode: { fragmentSize: 64 },
  },
  {
    name: "frag6_rev",
    description: "IPv6, fragments of 64 bytes, last first",
    rewrite: toIpv6,
    encode: { fragmentSize: 64, fragmentReverse: true },
  },
  {
    name: "skew1ms",
    description: "server->client stamped 1 ms early, re-sorted",
    rewrite: skew(MS),
    encode: {},
  },
  {
    name: "skew10ms",
    description: "server->client stamped 10 ms early, re-sorted",
    rewrite: skew(10n * MS),
    encode: {},
  },
  {
    name: "skew0.1ms",
    description: "server->client stamped 0.1 ms early, re-sorted",
    rewrite: skew(MS / 10n),
    encode: {},
  },
  {
    name: "jitter0.5ms",
    description: "every packet +/-0.5 ms, re-sorted",
    rewrite: jitter(500_000),
    encode: {},
  },
  {
    name: "jitter5ms",
    description: "every packet +/-5 ms, re-sorted",
    rewrite: jitter(5_000_000),
    encode: {},
  },
  { name: "synswap", description: "SYN-ACK before the SYN", rewrite: synSwap, encode: {} },
  {
    name: "late4",
    description: "sensor started after the first 4 packets of the first connection",
    rewrite: late(4),
    encode: {},
  },
  {
    name: "late6",
    description: "sensor started after the first 6 packets of the first connection",
    rewrite: late(6),
    encode: {},
  },
  {
    name: "mss88",
    description: "every segment at most 88 bytes",
    rewrite: maxSegment(88),
    encode: {},
  },
  {
    name: "mss536",
    description: "every segment at most 536 bytes",
    rewrite: maxSegment(536),
    encode: {},
  },
  { name: "vlan", description: "802.1Q tag", rewrite: same, encode: { encapsulation: "vlan" } },
  {
    name: "qinq",
    description: "802.1ad + 802.1Q tags",
    rewrite: same,
    encode: { encapsulation: "qinq" },
  },
  {
    name: "sll",
    description: "Linux cooked capture (113)",
    rewrite: same,
    encode: { encapsulation: "sll" },
  },
  {
    name: "sll2",
    description: "Linux cooked capture v2 (276)",
    rewrite: same,
    encode: { encapsulation: "sll2" },
  },
];

/** The transform called `name` (throws on an unknown name). */
export function evasion(name: string): Evasion {
  const e = EVASIONS.find((x) => x.name === name);
  if (e === undefined) throw new Error(`unknown transform "${name}"`);
  return e;
}

/** Applies transform `name` (seeded by `seed`) to decoded packets and writes the result to `outPath`. */
export function writeEvasion(
  packets: readonly Packet[],
  outPath: string,
  name: string,
  seed = 1,
): number {
  const e = evasion(name);
  const rng = new SeededRandom(seed, name);
  return writeCapture(outPath, e.rewrite(packets, rng), e.encode, rng);
}

/** Reads `inPath`, applies transform `name` (seeded by `seed`) and writes the result to `outPath`. */
export async function rewriteCapture(
  inPath: string,
  outPath: string,
  name: string,
  seed = 1,
): Promise<number> {
  return writeEvasion(await readCapture(inPath), outPath, name, seed);
}
