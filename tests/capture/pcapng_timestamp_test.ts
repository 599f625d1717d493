import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { MemorySink } from "../../src/capture/byte_sink.ts";
import { TickConverter } from "../../src/capture/pcapng_timestamp.ts";
import { PcapngWriter } from "../../src/capture/pcap_writer.ts";
import { RawPacket } from "../../src/capture/raw_packet.ts";
import { block, Bytes, concat, frame, readAll, tempFile } from "./pcap_helpers_test.ts";

/** Reference conversion with BigInt. */
function reference(tsresol: number, ticks: bigint): [number, number] {
  const k = BigInt(tsresol & 0x7f);
  const tps = tsresol & 0x80 ? 1n << k : 10n ** k;
  return [Number(ticks / tps), Number((ticks % tps) * 1000000000n / tps)];
}

function convert(tsresol: number, ticks: bigint): [number, number] {
  const pkt = new RawPacket();
  new TickConverter(tsresol).convert(Number(ticks >> 32n), Number(ticks & 0xffffffffn), pkt);
  return [pkt.tsSec, pkt.tsNsec];
}

/** xorshift64* so the sweep is reproducible. */
function* randomTicks(n: number, seed = 0x9e3779b97f4a7c15n): Generator<bigint> {
  let x = seed;
  const mask = (1n << 64n) - 1n;
  for (let i = 0; i < n; i++) {
    x ^= x >> 12n;
    x ^= (x << 25n) & mask;
    x ^= x >> 27n;
    const r = (x * 0x2545f4914f6cdd1dn) & mask;
    yield r >> BigInt(i % 40); // spread over magnitudes
  }
}

Deno.test("pcapng timestamps: a 2026 nanosecond timestamp converts exactly", () => {
  // 2026-01-01T00:00:00.123456789Z: 1.77e18 ns, far beyond 2^53.
  const ticks = 1767225600123456789n;
  deepStrictEqual(convert(9, ticks), [1767225600, 123456789]);
  deepStrictEqual(convert(9, 1767225600999999999n), [1767225600, 999999999]);
  deepStrictEqual(convert(9, 1767225601000000000n), [1767225601, 0]);
  // Same instant in microseconds, and in 2^-30 s units.
  deepStrictEqual(convert(6, 1767225600123456n), [1767225600, 123456000]);
  deepStrictEqual(convert(0x80 | 30, (1767225600n << 30n) + (1n << 29n)), [1767225600, 500000000]);
});

Deno.test("pcapng timestamps: every resolution matches a BigInt reference", () => {
  const resolutions = [
    ...Array.from({ length: 10 }, (_, k) => k), // 10^0 .. 10^-9
    12,
    15,
    19,
    ...[0, 1, 10, 20, 29, 30, 31, 32, 40, 63].map((k) => 0x80 | k),
  ];
  const edges = [0n, 1n, 999999999n, 1000000000n, (1n << 32n) - 1n, 1n << 32n, (1n << 53n) + 1n];
  edges.push((1n << 64n) - 1n, (1n << 63n) + 12345n, 1767225600123456789n);
  for (const tsresol of resolutions) {
    for (const t of [...edges, ...randomTicks(3000, BigInt(tsresol + 1))]) {
      deepStrictEqual(convert(tsresol, t), reference(tsresol, t), `tsresol ${tsresol}, ticks ${t}`);
    }
  }
});

Deno.test("pcapng timestamps: toTicks is the exact inverse for µs, ns and binary units", () => {
  for (const tsresol of [0, 3, 6, 9, 0x80 | 10, 0x80 | 20, 0x80 | 32, 12]) {
    const conv = new TickConverter(tsresol);
    const k = BigInt(tsresol & 0x7f);
    const tps = tsresol & 0x80 ? 1n << k : 10n ** k;
    let seed = 12345 + tsresol;
    for (let i = 0; i < 3000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const sec = i === 0 ? 4102444799 : 1000000000 + (seed % 1000000000); // up to 2099
      const nsec = i === 1 ? 999999999 : Math.floor((seed * 0.2328306) % 1000000000);
      conv.toTicks(sec, nsec);
      // A 64-bit field: picoseconds wrap after 213 days, so compare modulo 2^64.
      const want = (BigInt(sec) * tps + BigInt(nsec) * tps / 1000000000n) & ((1n << 64n) - 1n);
      strictEqual(
        (BigInt(conv.ticksHi) << 32n) + BigInt(conv.ticksLo),
        want,
        `tsresol ${tsresol} ${sec}.${nsec}`,
      );
    }
  }
});

Deno.test("pcapng timestamps: nanoseconds survive a write/read round trip through a file", async () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { interfaces: [{ tsresol: 9 }] });
  const stamps = [[1767225600, 123456789], [1767225600, 999999999], [4102444799, 1], [0, 0]];
  for (const [s, ns] of stamps) w.writeFrame(frame(20, s), s, ns);
  w.close();
  const { packets } = await readAll([tempFile(sink.bytes(), ".pcapng")]);
  deepStrictEqual(packets.map((p) => [p.tsSec, p.tsNsec]), stamps);
});

// ---- Packet times outside 0000..9999 are damage (issue 10, item 2) ----

function idbWith(options: [number, number[]][]): Uint8Array {
  const b = new Bytes().u16(1).u16(0).u32(0);
  for (const [code, value] of options) b.u16(code).u16(value.length).raw(value).pad4();
  b.u32(0);
  return block(1, b.bytes());
}

function epbAt(ticks: bigint, data: Uint8Array, id = 1): Uint8Array {
  return block(
    6,
    new Bytes().u32(id).u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn))
      .u32(data.length).u32(data.length).raw(data).pad4().bytes(),
  );
}

function pbAt(ticks: bigint, data: Uint8Array): Uint8Array {
  return block(
    2,
    new Bytes().u16(1).u16(0).u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn))
      .u32(data.length).u32(data.length).raw(data).pad4().bytes(),
  );
}

function i64le(v: bigint): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, v, true);
  return [...b];
}

const SHB = block(0x0a0d0d0a, new Bytes().u32(0x1a2b3c4d).u16(1).u16(0).u32(-1).u32(-1).bytes());

/**
 * Reads SHB, a plain interface 0, `idb` (interface 1), a good packet on
 * interface 0 and `bad`: the bad block must be damage at its offset.
 */
async function timeDamage(idb: Uint8Array, bad: Uint8Array): Promise<string> {
  const prefix = concat(SHB, idbWith([]), idb, epbAt(0n, frame(40, 1), 0));
  const path = tempFile(concat(prefix, bad), ".pcapng");
  const r = await readAll([path]);
  strictEqual(r.packets.length, 1, "the packet before the damage is delivered");
  ok(r.error, "the out-of-range time is refused");
  strictEqual(r.error.offset, prefix.length);
  return r.error.message.replace(`"${path}"`, '"F"');
}

Deno.test("pcapng timestamps: times outside 0000-01-01..9999-12-31 are damage at the block", async () => {
  const plain = idbWith([]);
  // Huge EPB timestamp (µs): year 586524.
  const m1 = await timeDamage(plain, epbAt((1n << 64n) - 1n, frame(40, 2)));
  ok(
    /^Capture file "F" is damaged at byte \d+ \(packet time 18446744073709 s from 1970 is outside 0000-01-01\.\.9999-12-31\)$/
      .test(m1),
    m1,
  );
  // if_tsresol 0 (whole seconds) with a large tick count; 10^-1 likewise; also in an obsolete PB.
  await timeDamage(idbWith([[9, [0]]]), epbAt(253402300800n, frame(40, 2)));
  await timeDamage(idbWith([[9, [1]]]), epbAt(2534023008000n, frame(40, 2)));
  await timeDamage(idbWith([[9, [0]]]), pbAt(1n << 40n, frame(40, 2)));
  // Huge if_tsoffset, positive and negative.
  await timeDamage(idbWith([[14, i64le(1n << 62n)]]), epbAt(5n, frame(40, 2)));
  await timeDamage(idbWith([[14, i64le(-(1n << 62n))]]), epbAt(5n, frame(40, 2)));
  // One second before year 0000.
  await timeDamage(idbWith([[9, [0]], [14, i64le(-62167219201n)]]), epbAt(0n, frame(40, 2)));
});

Deno.test("pcapng timestamps: the ends of the range and if_tsresol 0/1 are read", async () => {
  const f = concat(
    SHB,
    idbWith([[9, [0]]]), // interface 0: whole seconds
    idbWith([[9, [1]], [14, i64le(-62167219200n)]]), // interface 1: deciseconds from year 0
    block(
      6,
      new Bytes().u32(0).u32(Number(253402300799n >> 32n)).u32(Number(253402300799n & 0xffffffffn))
        .u32(40).u32(40).raw(frame(40, 1)).bytes(),
    ),
    block(6, new Bytes().u32(1).u32(0).u32(5).u32(40).u32(40).raw(frame(40, 2)).bytes()),
  );
  const r = await readAll([tempFile(f, ".pcapng")]);
  strictEqual(r.error, null);
  deepStrictEqual(r.packets.map((p) => [p.tsSec, p.tsNsec]), [
    [253402300799, 0],
    [-62167219200, 500000000],
  ]);
});
