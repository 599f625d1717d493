import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Decoder, DecodeResult } from "../../src/decode/decoder.ts";
import { DecodedPacket } from "../../src/decode/packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import { Defragmenter, type DefragOptions } from "../../src/flow/defrag.ts";
import { concat } from "../helpers/bytes.ts";
import {
  ethernet,
  ipFragments,
  ipPacket,
  ipv6WithExtensions,
  type SegmentSpec,
  sll2,
} from "../helpers/frames.ts";

const T0 = 1_790_000_000;

/** Deterministic payload bytes (position-dependent, so misplaced data shows). */
function pattern(n: number, salt = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8) * 7 + salt) & 255;
  return b;
}

const SPEC4: SegmentSpec = {
  src: "10.1.2.3",
  dst: "10.9.8.7",
  sport: 40001,
  dport: 443,
  flags: 0x18,
  seq: 123456,
  ack: 654321,
  payload: pattern(3000),
};
const SPEC6: SegmentSpec = { ...SPEC4, src: "2001:db8::10", dst: "2001:db8:1::20" };

/** Decoder + defragmenter as the pipeline wires them; frames placed at an offset in a larger buffer. */
class Harness {
  readonly weirds = new Weirds();
  readonly decoder = new Decoder(this.weirds);
  readonly defrag: Defragmenter;
  readonly p = new DecodedPacket();
  readonly out = new DecodedPacket();
  readonly #raw = new RawPacket();

  constructor(opts: DefragOptions = {}) {
    this.defrag = new Defragmenter(this.weirds, opts);
  }

  /** Feed one frame; returns the reassembled frame (decoded into `out`) or null. */
  feed(
    frame: Uint8Array,
    ts = T0,
    entry = -1,
    linkType: number = LinkType.ETHERNET,
  ): RawPacket | null {
    const r = this.#raw;
    // A fresh buffer each time, then scribbled over: the defragmenter must copy.
    r.buf = new Uint8Array(frame.length + 11);
    r.buf.set(frame, 5);
    r.offset = 5;
    r.capLen = r.wireLen = frame.length;
    r.tsSec = Math.floor(ts);
    r.tsNsec = Math.round((ts - Math.floor(ts)) * 1e9);
    r.linkType = linkType;
    const res = this.decoder.decode(r, this.p);
    assert.equal(res, DecodeResult.FRAGMENT, "a fragment");
    const out = this.defrag.add(this.p, r, entry);
    r.buf.fill(0xee);
    if (out !== null) assert.equal(this.decoder.decode(out, this.out), DecodeResult.OK);
    return out;
  }

  /** Feed all frames; returns the reassembled outputs' bytes (copies). */
  feedAll(frames: Uint8Array[], ts = T0): Uint8Array[] {
    const done: Uint8Array[] = [];
    for (const f of frames) {
      const out = this.feed(f, ts);
      if (out !== null) done.push(out.buf.slice(out.offset, out.offset + out.capLen));
    }
    return done;
  }

  payload(): Uint8Array {
    return this.out.buf.subarray(
      this.out.payloadOffset,
      this.out.payloadOffset + this.out.payloadCapLen,
    );
  }

  /** Non-zero frag weirds only. */
  fragWeirds(): Record<string, number> {
    return Object.fromEntries(
      Object.entries(this.weirds.toObject()).filter(([k]) => k.startsWith("ip_frag")),
    );
  }
}

/** The IPv4 packet with total length, id, flags and checksum as the reassembly writes them. */
function asReassembled4(ip: Uint8Array, id: number): Uint8Array {
  const x = ip.slice();
  x[4] = id >> 8;
  x[5] = id & 255;
  x[6] &= 0x40;
  x[7] = 0;
  x[10] = x[11] = 0;
  return x;
}

function checksumOk(ipHeader: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < ipHeader.length; i += 2) sum += (ipHeader[i] << 8) | ipHeader[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

function withoutChecksum(frame: Uint8Array, ipOff: number): Uint8Array {
  const x = frame.slice();
  x[ipOff + 10] = x[ipOff + 11] = 0;
  return x;
}

function shuffle<T>(a: T[], seed: number): T[] {
  const out = a.slice();
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

Deno.test("defrag: IPv4 in order, the frame rebuilt and decoded", () => {
  const h = new Harness();
  const ip = ipPacket(SPEC4);
  const frags = ipFragments(ip, 1480, { id: 0x4242 }).map((f) => ethernet(f));
  assert.equal(frags.length, 3);
  assert.equal(h.feed(frags[0], T0 + 0.1), null);
  assert.equal(h.feed(frags[1], T0 + 0.2), null);
  assert.equal(h.defrag.inProgress, 1);
  assert.ok(h.defrag.heldBytes > 0);
  const out = h.feed(frags[2], T0 + 0.25);
  assert.ok(out !== null);
  assert.equal(out.tsSec, T0);
  assert.equal(out.tsNsec, 250_000_000);
  assert.equal(out.linkType, LinkType.ETHERNET);
  assert.equal(out.capLen, out.wireLen);
  const frame = out.buf.subarray(out.offset, out.offset + out.capLen);
  assert.deepEqual(withoutChecksum(frame, 14), ethernet(asReassembled4(ip, 0x4242)));
  assert.ok(checksumOk(frame.subarray(14, 34)));
  assert.equal(h.out.srcPort, 40001);
  assert.equal(h.out.dstPort, 443);
  assert.equal(h.out.seq, 123456);
  assert.equal(h.out.tcpFlags, 0x18);
  assert.equal(h.out.fragment, false);
  assert.deepEqual(h.payload(), pattern(3000));
  assert.equal(h.defrag.inProgress, 0);
  assert.equal(h.defrag.heldBytes, 0);
  assert.equal(h.defrag.fragments, 3);
  assert.equal(h.defrag.reassembled, 1);
  assert.deepEqual(h.fragWeirds(), {});
});

Deno.test("defrag: reverse and random orders give the same datagram", () => {
  const ip = ipPacket(SPEC4);
  const frags = ipFragments(ip, 256, { id: 7 }).map((f) => ethernet(f));
  const expect = ethernet(asReassembled4(ip, 7));
  const orders = [
    frags.slice().reverse(),
    ...[1, 2, 3, 4, 5, 6, 7, 8].map((s) => shuffle(frags, s)),
  ];
  for (const order of orders) {
    const h = new Harness();
    const done = h.feedAll(order);
    assert.equal(done.length, 1);
    assert.deepEqual(withoutChecksum(done[0], 14), expect);
    assert.deepEqual(h.payload(), pattern(3000));
    assert.deepEqual(h.fragWeirds(), {});
  }
});

Deno.test("defrag: duplicates are overlaps without conflict; completion happens once", () => {
  const h = new Harness();
  const ip = ipPacket(SPEC4);
  const frags = ipFragments(ip, 1480).map((f) => ethernet(f));
  assert.equal(frags.length, 3);
  const done = h.feedAll([frags[0], frags[0], frags[1], frags[1], frags[2]]);
  assert.equal(done.length, 1);
  assert.deepEqual(h.payload(), pattern(3000));
  assert.deepEqual(h.fragWeirds(), { ip_frag_overlap: 2 });
  assert.equal(h.defrag.inProgress, 0);
  // A late copy after completion starts a new datagram (which will time out).
  assert.equal(h.feed(frags[2]), null);
  assert.equal(h.defrag.inProgress, 1);
});

Deno.test("defrag: overlaps — the first data wins, differing bytes are a conflict", () => {
  const ip = ipPacket({ ...SPEC4, payload: pattern(100) }); // 120 bytes of TCP
  const body = ip.subarray(20);
  const evil = new Uint8Array(64).fill(0x41);
  // [0,48) original, then [16,80) all 'A' (conflicts on [16,48)), then [80,120) final.
  const pieces = [
    { off: 0, len: 48 },
    { off: 16, len: 64, data: evil },
    { off: 80, len: 40 },
  ];
  const h = new Harness();
  const done = h.feedAll(ipFragments(ip, pieces).map((f) => ethernet(f)));
  assert.equal(done.length, 1);
  const expectBody = body.slice();
  expectBody.fill(0x41, 48, 80); // only the part nothing held yet
  assert.deepEqual(done[0].subarray(34), expectBody);
  assert.deepEqual(h.fragWeirds(), { ip_frag_overlap: 1, ip_frag_overlap_conflict: 1 });

  // The other way round: the 'A' fragment first keeps its bytes.
  const h2 = new Harness();
  const done2 = h2.feedAll(
    ipFragments(ip, [pieces[1], pieces[0], pieces[2]]).map((f) => ethernet(f)),
  );
  const expect2 = body.slice();
  expect2.fill(0x41, 16, 80);
  assert.deepEqual(done2[0].subarray(34), expect2);
  assert.deepEqual(h2.fragWeirds(), { ip_frag_overlap: 1, ip_frag_overlap_conflict: 1 });

  // Same bytes overlapping (a retransmission cut differently): no conflict.
  const h3 = new Harness();
  const same = [{ off: 0, len: 48 }, { off: 40, len: 40 }, { off: 8, len: 16 }, {
    off: 80,
    len: 40,
  }];
  const done3 = h3.feedAll(ipFragments(ip, same).map((f) => ethernet(f)));
  assert.deepEqual(done3[0].subarray(34), body);
  assert.deepEqual(h3.fragWeirds(), { ip_frag_overlap: 2 });
});

Deno.test("defrag: tiny 8-byte fragments, the first not holding the TCP header", () => {
  for (const order of [0, 1]) {
    const h = new Harness();
    const ip = ipPacket({ ...SPEC4, payload: pattern(37), tcpOptions: 12 });
    let frags = ipFragments(ip, 8, { id: 99 }).map((f) => ethernet(f));
    assert.equal(frags.length, Math.ceil((32 + 37) / 8));
    if (order === 1) frags = shuffle(frags, 42);
    const done = h.feedAll(frags);
    assert.equal(done.length, 1);
    assert.deepEqual(withoutChecksum(done[0], 14), ethernet(asReassembled4(ip, 99)));
    assert.equal(h.out.dstPort, 443);
    assert.equal(h.out.payloadLen, 37);
    assert.deepEqual(h.payload(), pattern(37));
    assert.deepEqual(h.weirds.toObject(), {});
  }
});

Deno.test("defrag: IPv6 with Hop-by-Hop and Routing before the Fragment header, byte-exact", () => {
  for (const exts of [[], [0], [0, 43], [0, 43, 60], [60]]) {
    const ip = ipv6WithExtensions(SPEC6, exts);
    const frags = ipFragments(ip, 1232, { id: 0xdeadbeef }).map((f) => ethernet(f));
    assert.ok(frags.length >= 3);
    for (const order of [frags, frags.slice().reverse(), shuffle(frags, 3)]) {
      const h = new Harness();
      const done = h.feedAll(order);
      assert.equal(done.length, 1, `exts ${exts}`);
      assert.deepEqual(done[0], ethernet(ip), `exts ${exts}`); // IPv6: identical bytes
      assert.equal(h.out.ipVersion, 6);
      assert.equal(h.out.proto, 6);
      assert.equal(h.out.dstPort, 443);
      assert.deepEqual(h.payload(), pattern(3000));
      assert.deepEqual(h.weirds.toObject(), {});
    }
  }
  // UDP, SLL2 link type, and a fragmentable Destination Options header kept.
  const udp = ipv6WithExtensions({ ...SPEC6, proto: 17, payload: pattern(2000, 5) }, [0, 60]);
  const h = new Harness();
  const frags = ipFragments(udp, 512).map((f) => sll2(f));
  let out: RawPacket | null = null;
  for (const f of frags.reverse()) out = h.feed(f, T0, -1, LinkType.LINUX_SLL2) ?? out;
  assert.ok(out !== null);
  assert.equal(out.linkType, LinkType.LINUX_SLL2);
  assert.deepEqual(out.buf.subarray(out.offset, out.offset + out.capLen), sll2(udp));
  assert.equal(h.out.proto, 17);
  assert.deepEqual(h.payload(), pattern(2000, 5));
});

Deno.test("defrag: IPv6 key ignores the Next Header of non-first fragments (RFC 8200)", () => {
  const ip = ipPacket({ ...SPEC6, payload: pattern(200) });
  const frags = ipFragments(ip, 64);
  const last = frags[frags.length - 1].slice();
  last[40] = 17; // Fragment header's Next Header of a later fragment
  const h = new Harness();
  const done = h.feedAll([last, ...frags.slice(0, -1)].map((f) => ethernet(f)));
  assert.equal(done.length, 1);
  assert.equal(h.out.proto, 6);
  assert.deepEqual(h.payload(), pattern(200));
});

Deno.test("defrag: datagrams are kept apart by addresses, id, protocol and VLAN", () => {
  const h = new Harness();
  const base = ipPacket({ ...SPEC4, payload: pattern(100, 1) });
  const other = ipPacket({ ...SPEC4, src: "10.1.2.4", payload: pattern(100, 2) });
  const udp = ipPacket({ ...SPEC4, proto: 17, payload: pattern(92, 3) });
  const a = ipFragments(base, 64, { id: 5 });
  const b = ipFragments(other, 64, { id: 5 });
  const c = ipFragments(base, 64, { id: 6 });
  const d = ipFragments(udp, 64, { id: 5 });
  const e = ipFragments(base, 64, { id: 5 }).map((f) => ethernet(f, [[0x8100, 12]]));
  const firsts = [a[0], b[0], c[0], d[0]].map((f) => ethernet(f));
  assert.equal(h.feedAll([...firsts, e[0]]).length, 0);
  assert.equal(h.defrag.inProgress, 5);
  const seconds: Array<[Uint8Array, Uint8Array]> = [
    [ethernet(c[1]), pattern(100, 1)],
    [ethernet(d[1]), pattern(92, 3)],
    [e[1], pattern(100, 1)],
    [ethernet(b[1]), pattern(100, 2)],
    [ethernet(a[1]), pattern(100, 1)],
  ];
  for (const [frame, payload] of seconds) {
    assert.ok(h.feed(frame) !== null);
    assert.deepEqual(h.payload(), payload);
  }
  assert.equal(h.out.vlanCount, 0);
  assert.equal(h.defrag.inProgress, 0);
  assert.deepEqual(h.fragWeirds(), {});
});

Deno.test("defrag: timeout in packet time from the first fragment (30 s)", () => {
  const h = new Harness();
  const frags = ipFragments(ipPacket(SPEC4), 1480).map((f) => ethernet(f));
  assert.equal(h.feed(frags[0], T0), null);
  assert.equal(h.feed(frags[1], T0 + 20), null);
  assert.equal(h.feed(frags[2], T0 + 30.5), null); // too late: a new datagram
  assert.deepEqual(h.fragWeirds(), { ip_frag_timeout: 1 });
  assert.equal(h.defrag.timedOut, 1);
  assert.equal(h.defrag.inProgress, 1);
  // Within 30 s of that one, it completes.
  assert.equal(h.feed(frags[1], T0 + 40), null);
  assert.ok(h.feed(frags[0], T0 + 60) !== null);
  assert.deepEqual(h.payload(), pattern(3000));
  // Expiry is also driven by unrelated fragments, and by expire().
  assert.equal(h.feed(frags[0], T0 + 100), null);
  const other = ipFragments(ipPacket({ ...SPEC4, dport: 80 }), 1480, { id: 2 });
  assert.equal(h.feed(ethernet(other[0]), T0 + 131), null);
  assert.equal(h.defrag.timedOut, 2);
  assert.equal(h.defrag.inProgress, 1);
  h.defrag.expire(T0 + 200);
  assert.equal(h.defrag.inProgress, 0);
  assert.equal(h.defrag.heldBytes, 0);
  assert.equal(h.weirds.get("ip_frag_timeout"), 3);
  // A custom timeout.
  const h2 = new Harness({ timeout: 1 });
  assert.equal(h2.feed(frags[0], T0), null);
  assert.equal(h2.feed(frags[1], T0 + 1.5), null);
  assert.equal(h2.defrag.timedOut, 1);
});

Deno.test("defrag: the memory cap evicts the oldest datagrams, counted", () => {
  const h = new Harness({ maxMemory: 80 * 1024 });
  // Each datagram held without its last fragment: 19240 bytes (19 pages) + a header page.
  const big = (i: number) =>
    ipFragments(ipPacket({ ...SPEC4, sport: 1000 + i, payload: pattern(20480, i) }), 1480, {
      id: i,
    }).map((f) => ethernet(f));
  const dgs = [0, 1, 2, 3, 4, 5].map(big);
  for (const frags of dgs) {
    for (const f of frags.slice(0, -1)) assert.equal(h.feed(f), null);
    assert.ok(h.defrag.heldBytes <= 80 * 1024);
  }
  assert.equal(h.defrag.evicted, 2);
  assert.equal(h.weirds.get("ip_frag_evicted"), h.defrag.evicted);
  assert.equal(h.defrag.inProgress, 6 - h.defrag.evicted);
  // The newest completes; the oldest is gone (its last fragment starts anew).
  assert.ok(h.feed(dgs[5][dgs[5].length - 1]) !== null);
  assert.deepEqual(h.payload(), pattern(20480, 5));
  assert.equal(h.feed(dgs[0][dgs[0].length - 1]), null);
  // A datagram larger than the cap allows still reassembles (cap >= one full datagram).
  const h2 = new Harness({ maxMemory: 1 });
  const max = ipPacket({ ...SPEC4, payload: pattern(65535 - 40) });
  assert.equal(h2.feedAll(ipFragments(max, 8192).map((f) => ethernet(f))).length, 1);
  assert.deepEqual(h2.payload(), pattern(65535 - 40));
});

Deno.test("defrag: at most maxDatagrams in progress, the oldest evicted", () => {
  const h = new Harness({ maxDatagrams: 4 });
  const dgs = [0, 1, 2, 3, 4, 5].map((i) =>
    ipFragments(ipPacket({ ...SPEC4, payload: pattern(100, i) }), 64, { id: i }).map((f) =>
      ethernet(f)
    )
  );
  for (const d of dgs) assert.equal(h.feed(d[0]), null);
  assert.equal(h.defrag.inProgress, 4);
  assert.equal(h.defrag.evicted, 2);
  assert.deepEqual(h.fragWeirds(), { ip_frag_evicted: 2 });
  for (const i of [2, 3, 4, 5]) {
    assert.ok(h.feed(dgs[i][1]) !== null, `datagram ${i}`);
    assert.deepEqual(h.payload(), pattern(100, i));
  }
  assert.equal(h.feed(dgs[0][1]), null);
});

Deno.test("defrag: too large (ping of death), bad lengths, inconsistent ends, snaplen cuts", () => {
  const ip = ipPacket({ ...SPEC4, payload: pattern(100) }); // 120 bytes of TCP
  const eth = (pieces: Parameters<typeof ipFragments>[1], id = 1) =>
    ipFragments(ip, pieces, { id }).map((f) => ethernet(f));

  // Data reaching past 65535 - 20.
  const h = new Harness();
  const pod = eth([{ off: 65512, len: 16, data: new Uint8Array(16), more: false }]);
  assert.equal(h.feed(pod[0]), null);
  assert.deepEqual(h.fragWeirds(), { ip_frag_too_large: 1 });
  assert.equal(h.defrag.inProgress, 0);
  const ok = eth([{ off: 65512, len: 3, data: new Uint8Array(3), more: false }]);
  assert.equal(h.feed(ok[0]), null); // exactly 65535: held
  assert.equal(h.defrag.inProgress, 1);
  // IPv6: the unfragmentable extension headers count in the payload length.
  const h6 = new Harness();
  const ip6 = ipv6WithExtensions({ ...SPEC6, payload: pattern(100) }, [0]);
  const f6 = ipFragments(ip6, [{ off: 65528, len: 8, data: new Uint8Array(8), more: false }]);
  assert.equal(h6.feed(ethernet(f6[0])), null);
  assert.deepEqual(h6.fragWeirds(), { ip_frag_too_large: 1 });

  // A non-final fragment not a multiple of 8; an empty one.
  const h2 = new Harness();
  assert.equal(h2.feed(eth([{ off: 0, len: 12, more: true }])[0]), null);
  assert.equal(h2.feed(eth([{ off: 8, len: 0, more: false }])[0]), null);
  assert.deepEqual(h2.fragWeirds(), { ip_frag_bad_length: 2 });
  assert.equal(h2.defrag.dropped, 2);

  // Two different last fragments: the first end wins.
  const h3 = new Harness();
  const ends = eth([{ off: 64, len: 56 }, { off: 64, len: 48, more: false }, { off: 0, len: 64 }]);
  assert.equal(h3.feed(ends[0]), null);
  assert.equal(h3.feed(ends[1]), null);
  assert.deepEqual(h3.fragWeirds(), { ip_frag_inconsistent_end: 1 });
  assert.ok(h3.feed(ends[2]) !== null);
  assert.deepEqual(h3.payload(), pattern(100));
  // Data beyond a known end; a last fragment ending before data already held.
  const h4 = new Harness();
  const beyond = eth([
    { off: 64, len: 56 },
    { off: 112, len: 16, more: true, data: new Uint8Array(16) },
    { off: 0, len: 64 },
  ]);
  assert.equal(h4.feed(beyond[0]), null);
  assert.equal(h4.feed(beyond[1]), null);
  assert.ok(h4.feed(beyond[2]) !== null);
  assert.deepEqual(h4.payload(), pattern(100));
  const h5 = new Harness();
  const short = eth([
    { off: 64, len: 64, more: true, data: pattern(64, 9) },
    { off: 64, len: 56, more: false },
  ]);
  assert.equal(h5.feed(short[0]), null);
  assert.equal(h5.feed(short[1]), null);
  for (const hh of [h4, h5]) assert.deepEqual(hh.fragWeirds(), { ip_frag_inconsistent_end: 1 });

  // Snaplen-cut fragments cannot be reassembled.
  const h7 = new Harness();
  const [first, second] = eth(64);
  const r = new RawPacket();
  r.buf = first;
  r.capLen = first.length - 10;
  r.wireLen = first.length;
  r.tsSec = T0;
  assert.equal(h7.decoder.decode(r, h7.p), DecodeResult.FRAGMENT);
  assert.equal(h7.defrag.add(h7.p, r), null);
  assert.equal(h7.feed(second), null);
  assert.equal(h7.weirds.get("ip_frag_snaplen_cut"), 1);
  assert.equal(h7.defrag.inProgress, 1);
});

const OUTPUTS = 64; // the ring of output buffers (the pipeline's BATCH)

Deno.test("defrag: the last 64 results stay valid together", () => {
  const h = new Harness();
  const outs: RawPacket[] = [];
  const copies: Uint8Array[] = [];
  for (let i = 0; i < OUTPUTS; i++) {
    const ip = ipPacket({ ...SPEC4, payload: pattern(200 + i, i) });
    const frags = ipFragments(ip, 96, { id: i }).map((f) => ethernet(f));
    let out: RawPacket | null = null;
    for (const f of frags) out = h.feed(f, T0, i) ?? out;
    assert.ok(out !== null);
    outs.push(out);
    copies.push(out.buf.slice(out.offset, out.offset + out.capLen));
  }
  for (let i = 0; i < OUTPUTS; i++) {
    assert.deepEqual(
      outs[i].buf.subarray(outs[i].offset, outs[i].offset + outs[i].capLen),
      copies[i],
    );
  }
  assert.equal(new Set(outs.map((o) => o.buf)).size, OUTPUTS);
  // Entry 64 reuses entry 0's buffer; without entries the buffers rotate.
  const again = ipFragments(ipPacket(SPEC4), 1480, { id: 1000 }).map((f) => ethernet(f));
  let out: RawPacket | null = null;
  for (const f of again) out = h.feed(f, T0, OUTPUTS) ?? out;
  assert.equal(out, outs[0]);
  const seen = new Set<Uint8Array>();
  for (let i = 0; i < OUTPUTS; i++) {
    let o: RawPacket | null = null;
    for (const f of again) o = h.feed(f) ?? o;
    assert.ok(o !== null);
    seen.add(o.buf);
  }
  assert.equal(seen.size, OUTPUTS);
});

Deno.test("defrag: a link + IP header over 2048 bytes is refused", () => {
  const h = new Harness();
  const spec = { ...SPEC6, payload: pattern(100) };
  // Hop-by-Hop of 2048 bytes: link + 40 + 2048 > DEFRAG_MAX_HEADER.
  const l4 = ipv6WithExtensions(spec, []).subarray(40);
  const hbh = new Uint8Array(2048);
  hbh[0] = 6;
  hbh[1] = 2048 / 8 - 1;
  hbh[2] = 1;
  hbh[3] = 255;
  const fixed = ipv6WithExtensions(spec, []).slice(0, 40);
  fixed[6] = 0;
  new DataView(fixed.buffer).setUint16(4, 2048 + l4.length);
  const ip = concat(fixed, hbh, l4);
  const frags = ipFragments(ip, 64).map((f) => ethernet(f));
  assert.deepEqual(h.feedAll(frags), []);
  assert.equal(h.weirds.get("ip_frag_too_large"), 1);
});

Deno.test("defrag: round trip of real TCP packets from the lab captures", async () => {
  const file = fileURLToPath(new URL("../../testdata/lab/direct_443.pcap", import.meta.url));
  const src = await openCaptureFiles([file]);
  const w = new Weirds();
  const dec = new Decoder(w);
  const originals: Array<{ frame: Uint8Array; ipOff: number; payload: Uint8Array }> = [];
  const r = new RawPacket();
  try {
    do {
      while (src.next(r) && originals.length < 40) {
        if (dec.decode(r) !== DecodeResult.OK || dec.pkt.proto !== 6) continue;
        const p = dec.pkt;
        if (p.ipVersion !== 4 || p.payloadCapLen < 600 || r.capLen !== r.wireLen) continue;
        originals.push({
          frame: r.buf.slice(r.offset, r.offset + r.capLen),
          ipOff: p.ipOffset - r.offset,
          payload: p.buf.slice(p.payloadOffset, p.payloadOffset + p.payloadCapLen),
        });
      }
    } while (originals.length < 40 && await src.refill());
  } finally {
    src.close();
  }
  assert.equal(originals.length, 40);
  const h = new Harness();
  let n = 0;
  for (const { frame, ipOff, payload } of originals) {
    const link = frame.subarray(0, ipOff);
    const ipLen = (frame[ipOff + 2] << 8) | frame[ipOff + 3];
    const ip = frame.subarray(ipOff, ipOff + ipLen);
    const id = (ip[4] << 8) | ip[5];
    const ref = dec.decode(Object.assign(new RawPacket(), {
      buf: frame,
      capLen: frame.length,
      wireLen: frame.length,
    }));
    assert.equal(ref, DecodeResult.OK);
    const want = {
      sport: dec.pkt.srcPort,
      dport: dec.pkt.dstPort,
      seq: dec.pkt.seq,
      ack: dec.pkt.ack,
      flags: dec.pkt.tcpFlags,
    };
    const size = [8, 64, 552, 304][n++ % 4];
    const frags = shuffle(ipFragments(ip, size, { id }), n).map((f) => concat(link, f));
    const done = h.feedAll(frags, T0 + n);
    assert.equal(done.length, 1);
    assert.deepEqual(h.payload(), payload);
    assert.deepEqual({
      sport: h.out.srcPort,
      dport: h.out.dstPort,
      seq: h.out.seq,
      ack: h.out.ack,
      flags: h.out.tcpFlags,
    }, want);
    // The whole frame is the original one (padding after the IP packet aside), checksum valid.
    const expect = frame.slice(0, ipOff + ipLen);
    expect[ipOff + 6] &= 0x40;
    expect[ipOff + 7] = 0;
    assert.deepEqual(withoutChecksum(done[0], ipOff), withoutChecksum(expect, ipOff));
    assert.ok(checksumOk(done[0].subarray(ipOff, ipOff + (ip[0] & 15) * 4)));
  }
  assert.deepEqual(h.weirds.toObject(), {});
  assert.equal(h.defrag.inProgress, 0);
});

Deno.test("defrag: random fragments never throw and stay within bounds", () => {
  const h = new Harness({ maxDatagrams: 64, maxMemory: 200 * 1024 });
  let seed = 7;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % n;
  };
  const base = ipPacket({ ...SPEC4, payload: pattern(4000) });
  const base6 = ipv6WithExtensions({ ...SPEC6, payload: pattern(4000) }, [0]);
  for (let i = 0; i < 5000; i++) {
    const off = rnd(600) * 8;
    const len = 1 + rnd(1500);
    const more = rnd(3) !== 0;
    const piece = { off, len, more, data: pattern(len, rnd(3)) };
    const ip = rnd(2) === 0 ? base : base6;
    const [f] = ipFragments(ip, [piece], { id: rnd(80) });
    const frame = ethernet(f);
    if (rnd(10) === 0) frame[14 + rnd(40)] = rnd(256); // damage the header
    const r = new RawPacket();
    r.buf = frame;
    r.capLen = r.wireLen = frame.length;
    r.tsSec = T0 + (i >> 4);
    if (h.decoder.decode(r, h.p) !== DecodeResult.FRAGMENT) continue;
    const out = h.defrag.add(h.p, r, i % 64);
    if (out !== null) h.decoder.decode(out, h.out);
    assert.ok(h.defrag.inProgress <= 64);
    assert.ok(h.defrag.heldBytes <= 200 * 1024);
  }
  assert.ok(h.defrag.fragments > 3000);
});
