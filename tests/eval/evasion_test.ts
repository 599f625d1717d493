/**
 * The evasion rewriters (tests/eval/evasion.ts) and the evasion evaluation.
 *
 * (a) Each transform, applied to a small lab capture, must give a capture
 * whose TCP byte streams — rebuilt by the independent reference receiver of
 * `stream_reassembler.ts` (first data wins, IP fragments, every
 * encapsulation) — are exactly the untouched capture's (a late start: the
 * same bytes from where the capture starts), with valid checksums, and must
 * really do what it says (segment sizes, fragments, order, tags, …).
 *
 * (b) The whole evasion evaluation: every labelled capture under every
 * transform gives the untouched capture's alerts (negatives none). This one
 * proves the detection core; it fails until the core handles every evasion.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  type Packet,
  readCapture,
  seqAdd,
  seqDiff,
  TCP_ACK,
  TCP_SYN,
  type TcpPacket,
} from "./capture_packets.ts";
import { EVASIONS, mapIpv4ToIpv6, unmapIpv6Text, writeEvasion } from "./evasion.ts";
import { evaluateEvasion } from "./evasion_eval.ts";
import { reassembleCapture, type Reassembly, type StreamBlock } from "./stream_reassembler.ts";
import { trackConnections } from "./tcp_connections.ts";

/** Two TLS connections (a failed login and its retry), UDP, ICMP and DNS around them. */
const SMALL = fileURLToPath(new URL("../../testdata/lab/fail_hub.pcap", import.meta.url));
/** SSH: many small segments in both directions. */
const SSH = fileURLToPath(new URL("../../testdata/lab/ssh_forward_shell.pcap", import.meta.url));

/** The reassembler's uncompressed IPv6 text of fd00::a.b.c.d back to a.b.c.d. */
function unmap(text: string): string {
  return text.startsWith("fd00:0:0:0:0:0:") ? unmapIpv6Text(`fd00::${text.slice(15)}`) : text;
}

const cache = new Map<string, Promise<{ packets: Packet[]; streams: Reassembly }>>();

/** The untouched capture's packets and streams (read once). */
function original(path: string) {
  let c = cache.get(path);
  if (c === undefined) {
    c = (async () => ({
      packets: await readCapture(path),
      streams: await reassembleCapture(path),
    }))();
    cache.set(path, c);
  }
  return c;
}

/** Applies `name` to `path`; returns the output's packets, streams and the original's. */
async function transformed(path: string, name: string, seed = 1) {
  const orig = await original(path);
  const dir = await Deno.makeTempDir({ prefix: "sealert_evasion_test_" });
  try {
    const out = `${dir}/out.pcap`;
    writeEvasion(orig.packets, out, name, seed);
    const bytes = await Deno.readFile(out);
    const streams = await reassembleCapture(out, { checksums: true, mapAddress: unmap });
    return { orig, packets: await readCapture(out), streams, bytes };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function sameBlocks(a: StreamBlock[], b: StreamBlock[]): boolean {
  return a.length === b.length &&
    a.every((x, i) => x.seq === b[i].seq && hex(x.data) === hex(b[i].data));
}

/** Streams must be equal to the original's (or, `suffix`, each block inside the original's). */
function assertStreams(orig: Reassembly, got: Reassembly, suffix = false): void {
  assert.ok(orig.streams.size > 0);
  if (!suffix) {
    assert.deepEqual([...got.streams.keys()].sort(), [...orig.streams.keys()].sort());
  }
  let bytes = 0;
  for (const [key, blocks] of got.streams) {
    const want = orig.streams.get(key);
    assert.ok(want !== undefined, `unexpected stream ${key}`);
    if (!suffix) {
      assert.ok(sameBlocks(blocks, want), `stream ${key} differs`);
      continue;
    }
    for (const b of blocks) {
      const w: StreamBlock | undefined = want.find((x) => {
        const o = seqDiff(b.seq, x.seq);
        return o >= 0 && o + b.data.length <= x.data.length;
      });
      assert.ok(w !== undefined, `stream ${key}: bytes at ${b.seq} not in the original`);
      const o = seqDiff(b.seq, w.seq);
      assert.equal(
        hex(b.data),
        hex(w.data.subarray(o, o + b.data.length)),
        `stream ${key} differs`,
      );
      bytes += b.data.length;
    }
  }
  if (suffix) assert.ok(bytes > 0);
}

const tcp = (ps: Packet[]) => ps.filter((p): p is TcpPacket => p.kind === "tcp");
const payloads = (ps: Packet[]) => tcp(ps).filter((p) => p.payload.length > 0);

/** What each transform must visibly do, beyond keeping the streams. */
const PROPERTIES: Record<string, (r: Awaited<ReturnType<typeof transformed>>) => void> = {
  split1: ({ packets }) => {
    const map = trackConnections(packets);
    let conns = 0;
    for (const c of map.connections) {
      const first = c.packets.find((j) =>
        map.fromClient[j] && (packets[j] as TcpPacket).payload.length > 0
      );
      if (first === undefined) continue;
      conns++;
      assert.equal((packets[first] as TcpPacket).payload.length, 1);
    }
    assert.ok(conns > 0);
  },
  tiny: ({ packets }) => {
    const map = trackConnections(packets);
    let small = 0;
    packets.forEach((p, i) => {
      if (p.kind !== "tcp" || !map.fromClient[i] || p.payload.length === 0) return;
      const start = map.connections[map.connectionOf[i]].clientDataStart!;
      if (seqDiff(p.seq, start) < 8192) {
        assert.ok(p.payload.length <= 6, `client segment of ${p.payload.length} bytes`);
        small++;
      }
    });
    assert.ok(small > 1000);
  },
  permute: ({ packets }) => {
    const map = trackConnections(packets);
    let shuffled = 0;
    for (const c of map.connections) {
      const seqs: number[] = [];
      for (const j of c.packets) {
        const p = packets[j] as TcpPacket;
        if (!map.fromClient[j] && p.payload.length > 0) break;
        if (map.fromClient[j] && p.payload.length > 0) {
          assert.ok(p.payload.length <= 50);
          seqs.push(p.seq);
        }
      }
      if (seqs.some((s, i) => i > 0 && seqDiff(s, seqs[i - 1]) < 0)) shuffled++;
    }
    assert.ok(shuffled > 0);
  },
  dup: ({ packets, orig }) => {
    assert.ok(payloads(packets).length >= 2 * payloads(orig.packets).length);
  },
  superset: ({ packets }) => {
    // A superset starts inside the previous segment of its direction and ends after it.
    let supersets = 0;
    const last = new Map<string, TcpPacket>();
    for (const p of payloads(packets)) {
      const k = `${p.ip.src}:${p.sport}>${p.ip.dst}:${p.dport}`;
      const prev = last.get(k);
      const prevEnd = prev === undefined ? 0 : seqAdd(prev.seq, prev.payload.length);
      if (
        prev !== undefined && seqDiff(p.seq, prev.seq) >= 0 && seqDiff(p.seq, prevEnd) < 0 &&
        seqDiff(seqAdd(p.seq, p.payload.length), prevEnd) > 0
      ) {
        supersets++;
      }
      last.set(k, p);
    }
    assert.ok(supersets > 2);
  },
  overlap: ({ streams }) => assert.ok(streams.conflictingBytes > 1000),
  frag4_8: ({ streams }) => {
    assert.equal(streams.maxFragmentData, 8); // the first fragment cannot hold the TCP header
    assert.deepEqual([...streams.ipVersions], [4]);
    assert.ok(streams.reassembledDatagrams > 20);
  },
  frag4_64: ({ streams }) => {
    assert.equal(streams.maxFragmentData, 64);
    assert.equal(streams.outOfOrderDatagrams, 0);
    assert.ok(streams.reassembledDatagrams > 20);
  },
  frag4_rev: ({ streams }) => {
    assert.ok(streams.reassembledDatagrams > 20);
    assert.equal(streams.outOfOrderDatagrams, streams.reassembledDatagrams);
  },
  ipv6: ({ streams, packets }) => {
    assert.deepEqual([...streams.ipVersions], [6]);
    const p = tcp(packets)[0];
    assert.deepEqual(p.ip.src.subarray(0, 12), mapIpv4ToIpv6(new Uint8Array(4)).subarray(0, 12));
  },
  frag6_64: ({ streams }) => {
    assert.deepEqual([...streams.ipVersions], [6]);
    assert.equal(streams.maxFragmentData, 64);
    assert.ok(streams.reassembledDatagrams > 20);
  },
  frag6_rev: ({ streams }) => {
    assert.deepEqual([...streams.ipVersions], [6]);
    assert.ok(streams.reassembledDatagrams > 20);
    assert.equal(streams.outOfOrderDatagrams, streams.reassembledDatagrams);
  },
  synswap: ({ packets }) => {
    const map = trackConnections(packets);
    let swapped = 0;
    for (const c of map.connections) {
      const flags = c.packets.map((j) => (packets[j] as TcpPacket).flags & (TCP_SYN | TCP_ACK));
      const syn = flags.indexOf(TCP_SYN), synAck = flags.indexOf(TCP_SYN | TCP_ACK);
      if (syn < 0 || synAck < 0) continue;
      assert.ok(synAck < syn);
      swapped++;
    }
    assert.ok(swapped > 0);
  },
  mss88: ({ packets }) => assert.ok(payloads(packets).every((p) => p.payload.length <= 88)),
  mss536: ({ packets }) => assert.ok(payloads(packets).every((p) => p.payload.length <= 536)),
  vlan: ({ streams }) => assert.deepEqual([...streams.vlanDepths], [1]),
  qinq: ({ streams }) => assert.deepEqual([...streams.vlanDepths], [2]),
  sll: ({ streams }) => assert.deepEqual([...streams.linkTypes], [113]),
  sll2: ({ streams }) => assert.deepEqual([...streams.linkTypes], [276]),
};

/** skew / jitter: same packets, times in order, server packets exactly `d` ns early (skew). */
function timeProperty(skewNs: bigint | null) {
  return ({ packets, orig }: Awaited<ReturnType<typeof transformed>>) => {
    assert.equal(packets.length, orig.packets.length);
    assert.ok(packets.every((p, i) => i === 0 || packets[i - 1].ts <= p.ts));
    const sum = (ps: Packet[]) => ps.reduce((a, p) => a + p.ts, 0n);
    const map = trackConnections(orig.packets);
    const server = map.fromClient.filter((fc, i) => !fc && map.connectionOf[i] >= 0).length;
    if (skewNs !== null) assert.equal(sum(orig.packets) - sum(packets), BigInt(server) * skewNs);
    else assert.notEqual(sum(orig.packets), sum(packets));
    // something is out of the original order
    assert.ok(packets.some((p, i) => p !== orig.packets[i] && p.ts !== orig.packets[i].ts));
  };
}
PROPERTIES["skew1ms"] = timeProperty(1_000_000n);
PROPERTIES["skew10ms"] = timeProperty(10_000_000n);
PROPERTIES["skew0.1ms"] = timeProperty(100_000n);
PROPERTIES["jitter0.5ms"] = timeProperty(null);
PROPERTIES["jitter5ms"] = timeProperty(null);

/** late: the capture starts after the first n packets of its first connection. */
function lateProperty(n: number) {
  return ({ packets, orig }: Awaited<ReturnType<typeof transformed>>) => {
    const map = trackConnections(orig.packets);
    const cut = map.connections[0].packets[n];
    assert.equal(packets.length, orig.packets.length - cut);
    // The first connection lost its SYN; a later one still starts with one.
    const firstSyn = tcp(orig.packets).findIndex((p) => p.flags & TCP_SYN);
    assert.ok(firstSyn < cut);
    assert.ok(tcp(packets).some((p) => p.flags & TCP_SYN) || map.connections.length === 1);
  };
}
PROPERTIES["late4"] = lateProperty(4);
PROPERTIES["late6"] = lateProperty(6);

Deno.test("evasion rewriters: every transform has a property test", () => {
  assert.deepEqual(Object.keys(PROPERTIES).sort(), EVASIONS.map((e) => e.name).sort());
});

for (const e of EVASIONS) {
  for (const path of [SMALL, SSH]) {
    const file = path.split("/").pop();
    Deno.test(`evasion rewriter ${e.name} (${file}): same TCP byte streams, valid checksums`, async () => {
      const r = await transformed(path, e.name);
      assert.equal(r.streams.badChecksums, 0);
      assertStreams(r.orig.streams, r.streams, e.name.startsWith("late"));
      if (e.name !== "overlap") assert.equal(r.streams.conflictingBytes, 0);
      PROPERTIES[e.name](r);
    });
  }
}

Deno.test("evasion rewriters: deterministic by seed", async () => {
  const a = await transformed(SMALL, "tiny", 7);
  const b = await transformed(SMALL, "tiny", 7);
  const c = await transformed(SMALL, "tiny", 8);
  assert.equal(hex(a.bytes), hex(b.bytes));
  assert.notEqual(hex(a.bytes), hex(c.bytes));
});

Deno.test("evasion rewriters: cut pieces keep the original segment's bytes, sequence space and ack", async () => {
  const { packets, orig } = await transformed(SMALL, "mss88");
  const originals = payloads(orig.packets);
  let pieces = 0;
  for (const p of payloads(packets)) {
    const from = originals.find((o) =>
      o.sport === p.sport && o.dport === p.dport && o.ack === p.ack &&
      seqDiff(p.seq, o.seq) >= 0 &&
      seqDiff(seqAdd(p.seq, p.payload.length), seqAdd(o.seq, o.payload.length)) <= 0 &&
      hex(o.payload.subarray(seqDiff(p.seq, o.seq), seqDiff(p.seq, o.seq) + p.payload.length)) ===
        hex(p.payload)
    );
    assert.ok(from !== undefined, `piece at ${p.seq} matches no original segment`);
    if (p.payload.length < from.payload.length) pieces++;
  }
  assert.ok(pieces > 100);
});

Deno.test("evasion evaluation: every labelled capture under every evasion transform gives the untouched alerts (fails until the new detection core lands)", async () => {
  const r = await evaluateEvasion();
  console.log(r.text);
  assert.ok(r.rows.length === EVASIONS.length + 1);
  assert.ok(r.files.length > 0);
  assert.ok(r.ok, "evasion failures: see the table above");
});
