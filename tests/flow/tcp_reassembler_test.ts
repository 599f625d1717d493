/**
 * The stream engine's policies (src/flow/tcp_reassembler.ts module doc):
 * start, order, overlaps (first data wins), holes and gaps, bounded holding,
 * snaplen cuts, cross-direction order from acknowledgements.
 */
import assert from "node:assert/strict";
import { TcpFlag } from "../../src/decode/packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import {
  HOLD_MAX_BYTES,
  HOLD_MAX_SEGMENTS,
  ORDER_WAIT,
  type StreamConsumer,
  TcpReassembler,
} from "../../src/flow/tcp_reassembler.ts";

const SYN = TcpFlag.SYN, ACK = TcpFlag.ACK, PSH = TcpFlag.PSH, FIN = TcpFlag.FIN;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Records what the engine delivers: one line per call, and each direction's bytes. */
class Out implements StreamConsumer {
  readonly log: string[] = [];
  readonly bytes: number[][] = [[], []];
  readonly gaps = [0, 0];
  readonly cuts = [0, 0];
  readonly bufs: Uint8Array[] = [];
  data(dir: number, buf: Uint8Array, off: number, len: number, _ts: number): void {
    const b = buf.subarray(off, off + len);
    this.log.push(`${dir}:${dec(b)}`);
    for (const x of b) this.bytes[dir].push(x);
    this.bufs.push(buf);
  }
  cut(dir: number, len: number, _ts: number): void {
    this.log.push(`${dir}:cut${len}`);
    this.cuts[dir] += len;
  }
  gap(dir: number, len: number, _ts: number): void {
    this.log.push(`${dir}:gap${len}`);
    this.gaps[dir] += len;
  }
  /** Direction `dir`'s delivered bytes as text. */
  text(dir: number): string {
    return dec(new Uint8Array(this.bytes[dir]));
  }
}

interface Opts {
  flags?: number;
  ack?: number;
  capLen?: number;
  ts?: number;
}

/** Offer `payload` (text or bytes) at `seq` in direction `dir`; no ACK flag unless given. */
function seg(
  r: TcpReassembler,
  dir: number,
  seq: number,
  payload: string | Uint8Array,
  o: Opts = {},
): void {
  const b = typeof payload === "string" ? enc(payload) : payload;
  r.segment(
    dir,
    o.flags ?? PSH,
    seq >>> 0,
    (o.ack ?? 0) >>> 0,
    b,
    0,
    b.length,
    o.capLen ?? b.length,
    o.ts ?? 0,
  );
}

function setup(start0 = 101, start1 = 5001) {
  const out = new Out(), w = new Weirds();
  return { out, w, r: new TcpReassembler(out, w, start0, start1) };
}

/** Seeded permutation of 0..n-1. */
function permutation(n: number, seed: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** `n` bytes of a recognisable pattern. */
function pattern(n: number, salt = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + salt + (i >> 8)) & 255;
  return b;
}

/** Split `data` into segments of 1..max bytes (seeded), as [offset, bytes] pairs. */
function split(data: Uint8Array, max: number, seed: number): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  let s = seed;
  for (let o = 0; o < data.length;) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const n = Math.min(1 + (s >>> 8) % max, data.length - o);
    out.push([o, data.slice(o, o + n)]);
    o += n;
  }
  return out;
}

Deno.test("reassembler: in-order segments pass straight through, without a copy", () => {
  const { out, w, r } = setup();
  const a = enc("abc"), b = enc("xdefx");
  r.segment(0, PSH, 101, 0, a, 0, 3, 3, 1);
  r.segment(0, PSH, 104, 0, b, 1, 3, 3, 1);
  assert.deepEqual(out.log, ["0:abc", "0:def"]);
  assert.equal(out.bufs[0], a); // the caller's buffer itself
  assert.equal(out.bufs[1], b);
  assert.equal(r.next(0), 107);
  assert.equal(r.heldBytes, 0);
  assert.deepEqual(w.toObject(), new Weirds().toObject()); // nothing odd counted
});

Deno.test("reassembler: a segment ahead is held until the hole is filled, then released in order", () => {
  const { out, w, r } = setup();
  seg(r, 0, 101, "abc");
  seg(r, 0, 110, "jkl");
  seg(r, 0, 107, "ghi");
  assert.deepEqual(out.log, ["0:abc"]);
  assert.equal(r.heldBytes, 6);
  assert.equal(r.next(0), 104);
  seg(r, 0, 104, "def");
  assert.deepEqual(out.log, ["0:abc", "0:def", "0:ghi", "0:jkl"]);
  assert.equal(r.heldBytes, 0);
  assert.equal(r.next(0), 113);
  assert.equal(w.get("tcp_stream_hole"), 0);
  assert.equal(w.get("tcp_overlap"), 0);
});

Deno.test("reassembler: 1-byte segments, in order and in reverse order", () => {
  const msg = "tiny segments evade naive matchers";
  const a = setup();
  for (let i = 0; i < msg.length; i++) seg(a.r, 0, 101 + i, msg[i]);
  assert.equal(a.out.text(0), msg);
  const b = setup();
  for (let i = msg.length - 1; i >= 0; i--) seg(b.r, 0, 101 + i, msg[i]);
  assert.equal(b.out.text(0), msg);
  assert.equal(b.out.log.length, msg.length); // each byte once
  assert.equal(b.r.heldBytes, 0);
  assert.deepEqual(b.out.gaps, [0, 0]);
});

Deno.test("reassembler: permuted segments of both directions come out whole", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const { out, w, r } = setup(0xfffff000, 77); // direction 0 wraps around 2^32
    const d0 = pattern(9000, 1), d1 = pattern(7000, 2);
    const segs = [
      ...split(d0, 700, seed).map(([o, b]) => [0, 0xfffff000 + o, b] as const),
      ...split(d1, 50, seed + 10).map(([o, b]) => [1, 77 + o, b] as const),
    ];
    for (const i of permutation(segs.length, seed)) seg(r, segs[i][0], segs[i][1], segs[i][2]);
    assert.deepEqual(new Uint8Array(out.bytes[0]), d0, `seed ${seed}`);
    assert.deepEqual(new Uint8Array(out.bytes[1]), d1, `seed ${seed}`);
    assert.deepEqual(out.gaps, [0, 0]);
    assert.equal(r.heldBytes, 0);
    assert.equal(r.next(0), (0xfffff000 + 9000) >>> 0);
    assert.equal(w.get("tcp_overlap"), 0);
  }
});

Deno.test("reassembler: duplicates (held or delivered) are delivered once, not as conflicts", () => {
  for (const seed of [11, 12, 13]) {
    const { out, w, r } = setup();
    const data = pattern(5000, seed);
    const segs = split(data, 300, seed);
    const twice = [...segs, ...segs];
    for (const i of permutation(twice.length, seed)) seg(r, 0, 101 + twice[i][0], twice[i][1]);
    assert.deepEqual(new Uint8Array(out.bytes[0]), data);
    assert.equal(w.get("tcp_overlap"), segs.length); // every second copy
    assert.equal(w.get("tcp_overlap_conflict"), 0);
    assert.equal(r.heldBytes, 0);
  }
});

Deno.test("reassembler: overlap — a held segment keeps its bytes against a later different one", () => {
  const { out, w, r } = setup();
  seg(r, 0, 105, "EFGH"); // held
  seg(r, 0, 103, "cdXYZ"); // new bytes 103-104, then different bytes over 105-107
  assert.equal(w.get("tcp_overlap_conflict"), 1);
  assert.deepEqual(out.log, []);
  seg(r, 0, 101, "ab");
  assert.equal(out.text(0), "abcdEFGH");
  assert.equal(r.heldBytes, 0);
});

Deno.test("reassembler: overlap — a later lower segment overlapping a held one keeps the held bytes", () => {
  const { out, w, r } = setup();
  seg(r, 0, 105, "EFGH"); // held
  seg(r, 0, 101, "abcdXYZW"); // in order, but runs into the held bytes with others
  assert.equal(out.text(0), "abcdEFGH");
  assert.equal(w.get("tcp_overlap_conflict"), 1);
  assert.equal(r.next(0), 109);
  assert.equal(r.heldBytes, 0);
  // Beyond the held segment the later one's bytes count (nobody sent them before).
  const b = setup();
  seg(b.r, 0, 105, "EF"); // held
  seg(b.r, 0, 101, "abcdXYgh");
  assert.equal(b.out.text(0), "abcdEFgh");
  assert.equal(b.w.get("tcp_overlap_conflict"), 1);
  // The same bytes again: an overlap, not a conflict.
  const c = setup();
  seg(c.r, 0, 105, "EF");
  seg(c.r, 0, 101, "abcdEFgh");
  assert.equal(c.out.text(0), "abcdEFgh");
  assert.equal(c.w.get("tcp_overlap_conflict"), 0);
  assert.equal(c.w.get("tcp_overlap"), 1);
});

Deno.test("reassembler: overlap with delivered bytes — first data wins (overlap, no conflict)", () => {
  const { out, w, r } = setup();
  seg(r, 0, 101, "abc");
  seg(r, 0, 102, "XYde"); // 102-103 delivered already
  seg(r, 0, 101, "QQQQQ"); // wholly delivered
  assert.deepEqual(out.log, ["0:abc", "0:de"]);
  assert.equal(w.get("tcp_overlap"), 2);
  assert.equal(w.get("tcp_overlap_conflict"), 0);
});

Deno.test("reassembler: a held segment overlapping several held ones fills only the holes", () => {
  const { out, w, r } = setup();
  seg(r, 0, 103, "c");
  seg(r, 0, 105, "e");
  seg(r, 0, 107, "g");
  seg(r, 0, 102, "BCDEFGH"); // fills 102, 104, 106, 108; differs from all three held bytes
  assert.equal(w.get("tcp_overlap_conflict"), 3);
  seg(r, 0, 101, "a");
  assert.equal(out.text(0), "aBcDeFgH");
});

Deno.test("reassembler: holes left at flush become gaps, in both directions", () => {
  const { out, w, r } = setup();
  seg(r, 0, 101, "ab");
  seg(r, 0, 110, "xyz");
  seg(r, 0, 120, "!");
  seg(r, 1, 5011, "srv");
  assert.deepEqual(out.log, ["0:ab"]);
  r.flush(2);
  assert.deepEqual(out.log, ["0:ab", "0:gap7", "0:xyz", "0:gap7", "0:!", "1:gap10", "1:srv"]);
  assert.equal(w.get("tcp_stream_hole"), 3);
  assert.equal(r.heldBytes, 0);
  assert.equal(r.next(0), 121);
  assert.equal(r.next(1), 5014);
  // After the flush the stream goes on in order.
  seg(r, 0, 121, "more");
  assert.equal(out.log.at(-1), "0:more");
});

Deno.test("reassembler: too many held segments — the hole is given up with a gap, no byte lost after it", () => {
  const { out, w, r } = setup();
  seg(r, 0, 101, "a");
  // 102 is missing; every byte after it arrives as its own segment.
  const n = HOLD_MAX_SEGMENTS + 10;
  for (let i = 0; i < n; i++) seg(r, 0, 103 + i, String.fromCharCode(97 + i % 26));
  assert.equal(w.get("tcp_hold_overflow"), 1);
  assert.deepEqual(out.gaps, [1, 0]);
  assert.deepEqual(out.log.slice(0, 2), ["0:a", "0:gap1"]);
  assert.equal(out.bytes[0].length, 1 + n); // everything but the lost byte
  let want = "a";
  for (let i = 0; i < n; i++) want += String.fromCharCode(97 + i % 26);
  assert.equal(out.text(0), want);
  assert.equal(r.next(0), 103 + n);
  assert.equal(r.heldBytes, 0);
});

Deno.test("reassembler: too many held bytes — the hole is given up with a gap", () => {
  const { out, w, r } = setup();
  const big = 64 * 1024;
  const parts = Array.from({ length: HOLD_MAX_BYTES / big + 1 }, (_, i) => pattern(big, i));
  for (let i = 0; i < parts.length - 1; i++) seg(r, 0, 111 + i * big, parts[i]);
  assert.equal(out.log.length, 0); // exactly HOLD_MAX_BYTES held
  assert.equal(r.heldBytes, HOLD_MAX_BYTES);
  seg(r, 0, 111 + (parts.length - 1) * big, parts.at(-1)!);
  assert.equal(w.get("tcp_hold_overflow"), 1);
  assert.equal(out.log[0], "0:gap10");
  assert.equal(out.bytes[0].length, parts.length * big);
  assert.equal(r.heldBytes, 0);
  // The late hole filler is old news now.
  seg(r, 0, 101, "0123456789");
  assert.deepEqual(out.gaps, [10, 0]);
  assert.equal(out.bytes[0].length, parts.length * big);
});

Deno.test("reassembler: bytes cut off by the snaplen are reported through cut", () => {
  const { out, w, r } = setup();
  r.segment(0, PSH, 101, 0, enc("abcd"), 0, 10, 4, 0); // 10 on the wire, 4 captured
  assert.deepEqual(out.log, ["0:abcd", "0:cut6"]);
  assert.equal(r.next(0), 111);
  seg(r, 0, 111, "k");
  // Ahead of a hole: held whole (captured bytes and the length cut off) …
  r.segment(0, PSH, 120, 0, enc("xy"), 0, 5, 2, 0);
  assert.deepEqual(out.log, ["0:abcd", "0:cut6", "0:k"]);
  // … until the hole is given up.
  r.flush(0);
  assert.deepEqual(out.log, ["0:abcd", "0:cut6", "0:k", "0:gap8", "0:xy", "0:cut3"]);
  assert.equal(w.get("tcp_hold_cut_segment"), 0);
  // A cut segment overlapping held data cannot be held: the holes before it go.
  r.segment(0, PSH, 140, 0, enc("pq"), 0, 4, 2, 0);
  r.segment(0, PSH, 138, 0, enc("st"), 0, 4, 2, 0);
  assert.equal(w.get("tcp_hold_cut_segment"), 1);
  // (the held segment's bytes win: the new one is delivered only up to it)
  assert.deepEqual(out.log.slice(6), ["0:gap13", "0:st", "0:pq", "0:cut2"]);
  r.flush(0);
  // A segment captured with nothing of its payload.
  r.segment(0, PSH, 144, 0, new Uint8Array(0), 0, 7, 0, 0);
  assert.equal(out.log.at(-1), "0:cut7");
  assert.equal(r.next(0), 151);
});

Deno.test("reassembler: server data stamped before the client data it acknowledges comes after it", () => {
  const { out, w, r } = setup(1001, 5001);
  // The mirror port stamps the server's answer first.
  seg(r, 1, 5001, "answer", { flags: ACK | PSH, ack: 1008, ts: 1.0 });
  assert.deepEqual(out.log, []);
  seg(r, 0, 1001, "request", { flags: ACK | PSH, ack: 5001, ts: 1.001 });
  assert.deepEqual(out.log, ["0:request", "1:answer"]);
  // Several rounds, each pair swapped.
  seg(r, 1, 5007, "two", { flags: ACK | PSH, ack: 1011, ts: 1.1 });
  seg(r, 0, 1008, "rq2", { flags: ACK | PSH, ack: 5007, ts: 1.1 });
  assert.deepEqual(out.log.slice(2), ["0:rq2", "1:two"]);
  // Acknowledging only part of a client segment is enough to wait for it.
  seg(r, 1, 5010, "three", { flags: ACK | PSH, ack: 1012, ts: 1.2 });
  seg(r, 0, 1011, "abc", { flags: ACK | PSH, ack: 5010, ts: 1.2 });
  assert.deepEqual(out.log.slice(4), ["0:abc", "1:three"]);
  assert.equal(r.heldBytes, 0);
  assert.equal(w.get("tcp_ack_wait_expired"), 0);
});

Deno.test("reassembler: a waiting segment also waits for the bytes behind a hole", () => {
  const { out, r } = setup(1001, 5001);
  seg(r, 0, 1004, "def", { flags: ACK, ack: 5001, ts: 1 }); // held: 1001-1003 missing
  seg(r, 1, 5001, "ok", { flags: ACK, ack: 1007, ts: 1.01 }); // acknowledges all six
  assert.deepEqual(out.log, []);
  seg(r, 0, 1001, "abc", { flags: ACK, ack: 5001, ts: 1.02 });
  assert.deepEqual(out.log, ["0:abc", "0:def", "1:ok"]);
});

Deno.test("reassembler: the acknowledgement of a FIN is not taken for missing bytes", () => {
  for (const separate of [false, true]) {
    const { out, w, r } = setup(1001, 5001);
    if (separate) {
      seg(r, 0, 1001, "bye", { flags: ACK | PSH, ack: 5001, ts: 1 });
      seg(r, 0, 1004, "", { flags: ACK | FIN, ack: 5001, ts: 1 });
    } else {
      seg(r, 0, 1001, "bye", { flags: ACK | PSH | FIN, ack: 5001, ts: 1 });
    }
    seg(r, 1, 5001, "last", { flags: ACK | PSH, ack: 1005, ts: 1.01 }); // acks the FIN too
    assert.deepEqual(out.log, ["0:bye", "1:last"], `separate FIN: ${separate}`);
    assert.equal(r.heldBytes, 0);
    assert.equal(w.get("tcp_ack_wait_expired"), 0);
  }
  // The answer acknowledging the FIN stamped before the bare FIN: it waits
  // for the FIN only, and goes with it.
  {
    const { out, w, r } = setup(1001, 5001);
    seg(r, 0, 1001, "bye", { flags: ACK | PSH, ack: 5001, ts: 1 });
    seg(r, 1, 5001, "last", { flags: ACK | PSH, ack: 1005, ts: 1.01 });
    assert.deepEqual(out.log, ["0:bye"]);
    seg(r, 0, 1004, "", { flags: ACK | FIN, ack: 5001, ts: 1.02 });
    assert.deepEqual(out.log, ["0:bye", "1:last"]);
    assert.equal(w.get("tcp_ack_wait_expired"), 0);
  }
  // Without the FIN, one byte more acknowledged is a missing byte: it waits.
  const { out, r } = setup(1001, 5001);
  seg(r, 0, 1001, "bye", { flags: ACK | PSH, ack: 5001, ts: 1 });
  seg(r, 1, 5001, "last", { flags: ACK | PSH, ack: 1005, ts: 1.01 });
  assert.deepEqual(out.log, ["0:bye"]);
});

Deno.test("reassembler: a wait for acknowledged bytes that never come ends after ORDER_WAIT", () => {
  const { out, w, r } = setup(1001, 5001);
  seg(r, 1, 5001, "banner", { flags: ACK | PSH, ack: 1100, ts: 10 }); // 1001-1099 never seen
  r.advance(10 + ORDER_WAIT / 2);
  assert.deepEqual(out.log, []);
  r.advance(10 + ORDER_WAIT);
  assert.deepEqual(out.log, []); // not before the wait is over
  r.advance(10 + ORDER_WAIT + 0.001);
  assert.deepEqual(out.log, ["1:banner"]);
  assert.equal(w.get("tcp_ack_wait_expired"), 1);
  // The same through a later packet's time (no timer).
  const b = setup(1001, 5001);
  seg(b.r, 1, 5001, "banner", { flags: ACK | PSH, ack: 1100, ts: 10 });
  seg(b.r, 1, 5007, "more", { flags: ACK | PSH, ack: 1100, ts: 10.2 });
  assert.deepEqual(b.out.log, []);
  seg(b.r, 0, 1100, "late", { flags: ACK | PSH, ack: 5001, ts: 10 + ORDER_WAIT + 0.01 });
  assert.deepEqual(b.out.log, ["1:banner"]); // "more" waited 0.06 s only
  b.r.advance(10.2 + ORDER_WAIT + 0.01);
  assert.deepEqual(b.out.log, ["1:banner", "1:more"]);
});

// Several waits over at once all end on one packet or timer.
Deno.test({
  name: "reassembler: every wait that is over ends at once, not one per packet",

  fn() {
    const { out, w, r } = setup(1001, 5001);
    seg(r, 1, 5001, "banner", { flags: ACK | PSH, ack: 1100, ts: 10 });
    seg(r, 1, 5007, "more", { flags: ACK | PSH, ack: 1100, ts: 10.1 });
    seg(r, 1, 5011, "tail", { flags: ACK | PSH, ack: 1100, ts: 10.2 });
    r.advance(10.1 + ORDER_WAIT + 0.01); // banner and more waited long enough, tail not
    assert.deepEqual(out.log, ["1:banner", "1:more"]);
    r.advance(10.2 + ORDER_WAIT + 0.01);
    assert.deepEqual(out.log, ["1:banner", "1:more", "1:tail"]);
    assert.equal(w.get("tcp_ack_wait_expired"), 3);
  },
});

// A snaplen-cut segment waits for the other direction's bytes it
// acknowledges too (with a short snaplen every segment is cut).
Deno.test({
  name: "reassembler: snaplen-cut segments are ordered by acknowledgements too",

  fn() {
    const { out, w, r } = setup(1001, 5001);
    const b = new Uint8Array(300);
    r.segment(1, ACK | PSH, 5001, 1301, b, 0, 100, 10, 1.0); // answer, stamped first
    r.segment(0, ACK | PSH, 1001, 5001, b, 0, 300, 10, 1.001); // the request it acknowledges
    assert.deepEqual(out.log.map((x) => x.replace(/:\0+$/, ":data")), [
      "0:data",
      "0:cut290",
      "1:data",
      "1:cut90",
    ]);
    assert.equal(w.get("tcp_hold_cut_segment"), 0); // nothing was given up
  },
});

Deno.test("reassembler: picked up mid-stream, each direction starts at its first segment", () => {
  const { out, w, r } = setup(-1, -1);
  assert.equal(r.started(0), false);
  assert.equal(r.started(1), false);
  seg(r, 1, 900000, "srv", { flags: ACK | PSH, ack: 123456 }); // no ordering without a client position
  seg(r, 0, 777, "abc", { flags: ACK | PSH, ack: 900003 });
  seg(r, 0, 780, "def", { flags: ACK | PSH, ack: 900003 });
  assert.deepEqual(out.log, ["1:srv", "0:abc", "0:def"]);
  assert.equal(r.started(0), true);
  assert.equal(r.next(0), 783);
  assert.equal(r.next(1), 900003);
  seg(r, 0, 770, "old"); // before the pick-up: already gone
  assert.equal(out.log.length, 3);
  assert.deepEqual(out.gaps, [0, 0]);
  assert.equal(w.get("tcp_overlap"), 1);
});

Deno.test("reassembler: a SYN starts its direction at the ISN + 1", () => {
  const { out, r } = setup(-1, -1);
  seg(r, 0, 99, "", { flags: SYN });
  assert.equal(r.started(0), true);
  assert.equal(r.next(0), 100);
  seg(r, 0, 104, "efg"); // ahead of the start: a hole, not a mid-stream start
  assert.deepEqual(out.log, []);
  seg(r, 0, 100, "abcd");
  assert.deepEqual(out.log, ["0:abcd", "0:efg"]);
  // A SYN-ACK at the wrap; a retransmitted SYN does not move the start.
  seg(r, 1, 0xffffffff, "", { flags: SYN | ACK, ack: 100 });
  assert.equal(r.next(1), 0);
  seg(r, 1, 0, "xy", { flags: ACK, ack: 107 });
  seg(r, 1, 0xffffffff, "", { flags: SYN | ACK, ack: 100 });
  assert.equal(r.next(1), 2);
  // Data on a SYN (TCP Fast Open) follows the SYN's sequence number.
  const b = setup(-1, -1);
  seg(b.r, 0, 5000, "tfo", { flags: SYN });
  assert.deepEqual(b.out.log, ["0:tfo"]);
  assert.equal(b.r.next(0), 5004);
  // The flow table's start, given to the constructor, does the same.
  const c = setup(101, -1);
  seg(c.r, 0, 105, "late");
  assert.deepEqual(c.out.log, []);
  c.r.flush(0);
  assert.deepEqual(c.out.log, ["0:gap4", "0:late"]);
});
