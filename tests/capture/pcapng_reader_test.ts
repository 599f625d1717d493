import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { MemorySink } from "../../src/capture/byte_sink.ts";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import type { PcapngReader } from "../../src/capture/pcapng_reader.ts";
import { PcapngWriter } from "../../src/capture/pcap_writer.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { block, Bytes, concat, frame, readAll, tempFile } from "./pcap_helpers_test.ts";

const T0 = 1767225600; // 2026-01-01T00:00:00Z

function shb(le = true, major = 1): Uint8Array {
  return block(
    0x0a0d0d0a,
    new Bytes(le).u32(0x1a2b3c4d).u16(major).u16(0).u32(-1).u32(-1).bytes(),
    le,
  );
}

function idb(le: boolean, linkType: number, snapLen: number, options: [number, number[]][] = []) {
  const b = new Bytes(le).u16(linkType).u16(0).u32(snapLen);
  if (options.length > 0) {
    for (const [code, value] of options) b.u16(code).u16(value.length).raw(value).pad4();
    b.u32(0);
  }
  return block(1, b.bytes(), le);
}

function epb(le: boolean, id: number, ticks: bigint, data: Uint8Array, wireLen = data.length) {
  const b = new Bytes(le).u32(id).u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn))
    .u32(data.length).u32(wireLen).raw(data).pad4();
  return block(6, b.bytes(), le);
}

function spb(le: boolean, data: Uint8Array, wireLen = data.length) {
  return block(3, new Bytes(le).u32(wireLen).raw(data).pad4().bytes(), le);
}

function pb(le: boolean, id: number, ticks: bigint, data: Uint8Array) {
  const b = new Bytes(le).u16(id).u16(0).u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn))
    .u32(data.length).u32(data.length).raw(data).pad4();
  return block(2, b.bytes(), le);
}

Deno.test("pcapng: interfaces with different link types and tsresol 6, 9 and 2^-20", async () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, {
    interfaces: [
      { linkType: LinkType.ETHERNET },
      { linkType: LinkType.RAW, tsresol: 9, name: "tun0" },
      { linkType: LinkType.LINUX_SLL, tsresol: 0x80 | 20 },
    ],
  });
  w.writeFrame(frame(60, 1), T0, 123456000, 60, 0);
  w.writeFrame(frame(61, 2), T0 + 1, 123456789, 1500, 1);
  w.writeFrame(frame(62, 3), T0 + 2, 500000000, 62, 2); // 0.5 s is exact in 2^-20 units
  w.writeFrame(frame(63, 4), T0 + 3, 999999, 63, 0);
  w.close();
  const path = tempFile(sink.bytes(), ".pcapng");
  const { packets, error } = await readAll([path]);
  strictEqual(error, null);
  deepStrictEqual(
    packets.map((p) => [p.linkType, p.ifIndex, p.tsSec, p.tsNsec, p.capLen, p.wireLen]),
    [
      [LinkType.ETHERNET, 0, T0, 123456000, 60, 60],
      [LinkType.RAW, 1, T0 + 1, 123456789, 61, 1500],
      [LinkType.LINUX_SLL, 2, T0 + 2, 500000000, 62, 62],
      [LinkType.ETHERNET, 0, T0 + 3, 999000, 63, 63],
    ],
  );
  deepStrictEqual(packets[1].data, Array.from(frame(61, 2)));
  const src = await openCaptureFiles([path]);
  const reader = src.currentReader as PcapngReader;
  while (src.next(new RawPacket()));
  strictEqual(reader.interfaces.length, 3);
  strictEqual(reader.interfaces[1].name, "tun0");
  strictEqual(reader.interfaces[2].ticks.tsresol, 0x94);
  src.close();
});

Deno.test("pcapng: simple packet blocks use interface 0 and the snapshot length", async () => {
  const le = true;
  const bytes = concat(
    shb(le),
    idb(le, LinkType.ETHERNET, 50),
    epb(le, 0, BigInt(T0) * 1000000n + 7n, frame(40, 1)),
    spb(le, frame(80, 2), 80), // block holds 80 bytes, snapshot length 50
    spb(le, frame(30, 3), 30), // 30 bytes padded to 32 in the block
    spb(le, frame(20, 4), 1514), // truncated frame: wire length from the block
  );
  const { packets, error } = await readAll([tempFile(bytes, ".pcapng")]);
  strictEqual(error, null);
  deepStrictEqual(packets.map((p) => [p.capLen, p.wireLen, p.tsSec, p.tsNsec, p.ifIndex]), [
    [40, 40, T0, 7000, 0],
    [50, 80, T0, 7000, 0], // no timestamp in an SPB: the previous packet's is kept
    [30, 30, T0, 7000, 0],
    [20, 1514, T0, 7000, 0],
  ]);
  deepStrictEqual(packets[1].data, Array.from(frame(80, 2).subarray(0, 50)));
  deepStrictEqual(packets[2].data, Array.from(frame(30, 3)));
});

Deno.test("pcapng: unknown and uninteresting blocks are skipped by their length", async () => {
  for (const le of [true, false]) {
    const bytes = concat(
      shb(le),
      block(4, new Bytes(le).u16(1).u16(8).raw([10, 0, 0, 1, 0x61, 0x62, 0, 0]).u32(0).bytes(), le), // NRB
      idb(le, LinkType.RAW, 0, [[9, [9]]]),
      block(0x40000bad, new Bytes(le).u32(32473).raw(frame(33, 9)).bytes(), le), // custom
      epb(le, 0, BigInt(T0) * 1000000000n + 1n, frame(20, 1)),
      block(5, new Bytes(le).u32(0).u32(0).u32(0).bytes(), le), // ISB
      block(10, new Bytes(le).u32(0x544c534b).u32(4).raw([1, 2, 3, 4]).bytes(), le), // DSB
      block(0x12345678, new Uint8Array(0), le), // unknown, empty body
      epb(le, 0, BigInt(T0 + 5) * 1000000000n, frame(21, 2)),
    );
    const path = tempFile(bytes, ".pcapng");
    const { packets, error } = await readAll([path]);
    strictEqual(error, null);
    deepStrictEqual(packets.map((p) => [p.tsSec, p.tsNsec, p.capLen, p.linkType]), [
      [T0, 1, 20, LinkType.RAW],
      [T0 + 5, 0, 21, LinkType.RAW],
    ]);
    const src = await openCaptureFiles([path]);
    while (src.next(new RawPacket()));
    strictEqual((src.currentReader as PcapngReader).skippedBlocks, 5);
    src.close();
  }
});

Deno.test("pcapng: several sections with their own byte order and interfaces", async () => {
  const bytes = concat(
    shb(true),
    idb(true, LinkType.ETHERNET, 0),
    epb(true, 0, 1000001n, frame(30, 1)),
    shb(false),
    idb(false, LinkType.RAW, 0, [[9, [9]]]),
    idb(false, LinkType.IPV6, 0),
    epb(false, 1, 2000001n, frame(31, 2)),
    epb(false, 0, 3000000001n, frame(32, 3)),
    shb(true),
    idb(true, LinkType.NULL, 0),
    epb(true, 0, 4000000n, frame(33, 4)),
  );
  const { packets, error } = await readAll([tempFile(bytes, ".pcapng")]);
  strictEqual(error, null);
  deepStrictEqual(packets.map((p) => [p.linkType, p.ifIndex, p.tsSec, p.tsNsec, p.capLen]), [
    [LinkType.ETHERNET, 0, 1, 1000, 30],
    [LinkType.IPV6, 1, 2, 1000, 31],
    [LinkType.RAW, 0, 3, 1, 32],
    [LinkType.NULL, 0, 4, 0, 33],
  ]);
  deepStrictEqual(packets[2].data, Array.from(frame(32, 3)));
});

Deno.test("pcapng: if_tsoffset, if_fcslen and the obsolete packet block", async () => {
  const bytes = concat(
    shb(false),
    idb(false, LinkType.ETHERNET, 0, [[14, [0, 0, 0, 0, 0x69, 0x55, 0xb9, 0x00]], [13, [4]], [9, [
      3,
    ]]]),
    pb(false, 0, 1234567n, frame(44, 1)),
    epb(false, 0, 2000n, frame(45, 2)),
  );
  const path = tempFile(bytes, ".pcapng");
  const { packets, error } = await readAll([path]);
  strictEqual(error, null);
  deepStrictEqual(packets.map((p) => [p.tsSec, p.tsNsec, p.capLen]), [
    [0x6955b900 + 1234, 567000000, 44],
    [0x6955b900 + 2, 0, 45],
  ]);
  deepStrictEqual(packets[0].data, Array.from(frame(44, 1)));
  const src = await openCaptureFiles([path]);
  strictEqual(src.next(new RawPacket()), true);
  const f = (src.currentReader as PcapngReader).interfaces[0];
  deepStrictEqual([f.fcsLen, f.ticks.offsetSec, f.ticks.tsresol], [4, 0x6955b900, 3]);
  src.close();
});

/** A good file prefix: SHB, IDB and two packets; returns the bytes and the damage offset. */
function goodPrefix(le = true): Uint8Array {
  return concat(
    shb(le),
    idb(le, LinkType.ETHERNET, 0),
    epb(le, 0, 1n, frame(50, 1)),
    epb(le, 0, 2n, frame(51, 2)),
  );
}

async function damageCase(tail: Uint8Array, le = true) {
  const prefix = goodPrefix(le);
  const path = tempFile(concat(prefix, tail), ".pcapng");
  const r = await readAll([path]);
  strictEqual(r.packets.length, 2, "packets before the damage are delivered");
  ok(r.error, "an error follows them");
  strictEqual(r.error.offset, prefix.length);
  strictEqual(r.error.path, path);
  return r.error.message.replace(`"${path}"`, '"F"');
}

Deno.test("pcapng: damaged blocks are reported at their byte offset", async () => {
  const off = goodPrefix().length;
  // EPB that references an interface the section does not describe.
  strictEqual(
    await damageCase(epb(true, 3, 5n, frame(10, 3))),
    `Capture file "F" is damaged at byte ${off} (packet block references unknown interface 3; the section describes 1)`,
  );
  // Total length not a multiple of 4.
  strictEqual(
    await damageCase(new Bytes().u32(6).u32(45).raw(new Array(37).fill(0)).bytes()),
    `Capture file "F" is damaged at byte ${off} (enhanced packet block total length 45 is not a multiple of 4)`,
  );
  // Too small for its type.
  strictEqual(
    await damageCase(new Bytes().u32(6).u32(12).u32(12).bytes()),
    `Capture file "F" is damaged at byte ${off} (enhanced packet block total length 12 is too small)`,
  );
  strictEqual(
    await damageCase(new Bytes().u32(0x99).u32(8).u32(8).bytes()),
    `Capture file "F" is damaged at byte ${off} (block of type 0x99 total length 8 is too small)`,
  );
  // Leading and trailing lengths disagree.
  const bad = epb(true, 0, 5n, frame(10, 3));
  new DataView(bad.buffer).setUint32(bad.length - 4, 40, true);
  strictEqual(
    await damageCase(bad),
    `Capture file "F" is damaged at byte ${off} (block total length 44 does not match its trailing copy 40)`,
  );
  // Captured length beyond the block.
  const over = epb(true, 0, 5n, frame(10, 3));
  new DataView(over.buffer).setUint32(20, 100, true);
  strictEqual(
    await damageCase(over),
    `Capture file "F" is damaged at byte ${off} (packet block claims 100 captured bytes in a 44-byte block)`,
  );
  // Absurd total length.
  strictEqual(
    await damageCase(new Bytes().u32(6).u32(0x7ffffff0).u32(0).u32(0).bytes()),
    `Capture file "F" is damaged at byte ${off} (enhanced packet block total length 2147483632 is too large)`,
  );
  // A new section with an unsupported version, in the other byte order.
  strictEqual(
    await damageCase(shb(false, 2)),
    `Capture file "F" is damaged at byte ${off} (unsupported pcapng version 2.0)`,
  );
  strictEqual(
    await damageCase(
      new Bytes().u32(0x0a0d0d0a).u32(28).u32(0x11223344).raw(new Array(16)).bytes(),
    ),
    `Capture file "F" is damaged at byte ${off} (section header has an unknown byte-order magic 0x11223344)`,
  );
  // An interface description whose option runs past the block.
  strictEqual(
    await damageCase(block(1, new Bytes().u16(1).u16(0).u32(0).u16(2).u16(99).u32(0).bytes())),
    `Capture file "F" is damaged at byte ${off} (interface description option 2 overruns the block)`,
  );
});

Deno.test("pcapng: a packet block too big to buffer is checked before it is read", async () => {
  // Header of a packet block that claims 1 MiB but announces 300000 captured bytes.
  const head = new Bytes().u32(6).u32(1 << 20).u32(0).u32(0).u32(0).u32(300000).u32(300000)
    .bytes();
  const r = await damageCase(head);
  ok(r.endsWith("(packet block claims 300000 captured bytes, limit 262144)"), r);
});

Deno.test("pcapng: truncated blocks → valid packets, then truncation at the block offset", async () => {
  const off = goodPrefix().length;
  const cut = epb(true, 0, 5n, frame(100, 3));
  strictEqual(
    await damageCase(cut.subarray(0, 60)),
    `Capture file "F" is truncated at byte ${off} (enhanced packet block cut short)`,
  );
  strictEqual(
    await damageCase(cut.subarray(0, 6)),
    `Capture file "F" is truncated at byte ${off} (block header cut short)`,
  );
  strictEqual(
    await damageCase(idb(true, 1, 0, [[2, [65, 66]]]).subarray(0, 20)),
    `Capture file "F" is truncated at byte ${off} (interface description block cut short)`,
  );
});

Deno.test("pcapng: packet before any interface description, and SHB-only files", async () => {
  const r = await readAll([tempFile(concat(shb(), epb(true, 0, 1n, frame(10, 1))), ".pcapng")]);
  strictEqual(r.packets.length, 0);
  ok(
    r.error?.message.includes(
      "(packet block references unknown interface 0; the section describes 0)",
    ),
  );
  const s = await readAll([tempFile(concat(shb(), spb(true, frame(10, 1))), ".pcapng")]);
  ok(s.error?.message.includes("(simple packet block before any interface description)"));
  const only = await readAll([tempFile(concat(shb(false), idb(false, 1, 0)), ".pcapng")]);
  deepStrictEqual([only.packets.length, only.error], [0, null]);
});

Deno.test("pcapng: blocks spanning refills, and a block bigger than the buffer", async () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, {
    bigEndian: true,
    interfaces: [{ tsresol: 9 }, { linkType: 101 }],
  });
  const sizes: number[] = [];
  for (let i = 0; i < 3000; i++) sizes.push(i === 1500 ? 150000 : 1 + ((i * 7919) % 1600));
  sizes.forEach((n, i) => {
    w.writeFrame(frame(n, i), T0 + i, i, n, i & 1);
    if (i % 100 === 0) w.writeBlock(0x40000bad, frame(i % 7 + 4, i));
  });
  w.close();
  const r = await readAll([tempFile(sink.bytes(), ".pcapng")], { bufferSize: 4096 });
  strictEqual(r.error, null);
  strictEqual(r.packets.length, sizes.length);
  ok(r.bigRecords >= 1);
  for (let i = 0; i < sizes.length; i++) {
    const p = r.packets[i];
    deepStrictEqual([p.capLen, p.tsSec, p.tsNsec, p.ifIndex], [
      sizes[i],
      T0 + i,
      i & 1 ? Math.floor(i / 1000) * 1000 : i,
      i & 1,
    ]);
    if (i % 37 === 0 || i === 1500) deepStrictEqual(p.data, Array.from(frame(sizes[i], i)));
  }
});
