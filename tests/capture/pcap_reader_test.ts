import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { MemorySink } from "../../src/capture/byte_sink.ts";
import { CaptureFileError } from "../../src/capture/errors.ts";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import type { PcapReader } from "../../src/capture/pcap_reader.ts";
import { PcapWriter } from "../../src/capture/pcap_writer.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Bytes, concat, frame, readAll, tempFile } from "./pcap_helpers_test.ts";

/** A pcap file header built by hand. */
function header(le: boolean, magic: number, network: number, snapLen = 65535): Bytes {
  return new Bytes(le).u32(magic).u16(2).u16(4).u32(0).u32(0).u32(snapLen).u32(network);
}

const T0 = 1767225600; // 2026-01-01T00:00:00Z

Deno.test("pcap: µs and ns files in both byte orders read identically", async () => {
  const magics: Record<string, number[]> = {
    "le-us": [0xd4, 0xc3, 0xb2, 0xa1],
    "be-us": [0xa1, 0xb2, 0xc3, 0xd4],
    "le-ns": [0x4d, 0x3c, 0xb2, 0xa1],
    "be-ns": [0xa1, 0xb2, 0x3c, 0x4d],
  };
  for (const bigEndian of [false, true]) {
    for (const nanosecond of [false, true]) {
      const sink = new MemorySink();
      const w = new PcapWriter(sink, { bigEndian, nanosecond, linkType: LinkType.RAW });
      for (let i = 0; i < 50; i++) w.writeFrame(frame(40 + i * 7, i), T0 + i, i * 1000 + 123);
      w.close();
      const bytes = sink.bytes();
      const key = `${bigEndian ? "be" : "le"}-${nanosecond ? "ns" : "us"}`;
      deepStrictEqual(Array.from(bytes.subarray(0, 4)), magics[key], key);
      const { packets, error } = await readAll([tempFile(bytes)]);
      strictEqual(error, null);
      strictEqual(packets.length, 50);
      for (let i = 0; i < 50; i++) {
        const p = packets[i];
        deepStrictEqual(p.data, Array.from(frame(40 + i * 7, i)));
        strictEqual(p.capLen, 40 + i * 7);
        strictEqual(p.wireLen, 40 + i * 7);
        strictEqual(p.tsSec, T0 + i);
        strictEqual(p.tsNsec, nanosecond ? i * 1000 + 123 : i * 1000, key);
        strictEqual(p.linkType, LinkType.RAW);
        strictEqual(p.ifIndex, 0);
      }
    }
  }
});

Deno.test("pcap: FCS bits of the network field are split off the link type", async () => {
  // FCS-length-present bit (26) with 2 x 16-bit words of FCS (bits 28-31).
  const network = 0x04000000 | (2 << 28) | LinkType.ETHERNET;
  const bytes = header(true, 0xa1b2c3d4, network).u32(T0).u32(5).u32(4).u32(4).u32(0xdeadbeef)
    .bytes();
  const src = await openCaptureFiles([tempFile(bytes)]);
  const reader = src.currentReader as PcapReader;
  strictEqual(reader.linkType, LinkType.ETHERNET);
  strictEqual(reader.fcsLen, 4);
  strictEqual(reader.version, "2.4");
  src.close();
  const { packets, error } = await readAll([tempFile(bytes)]);
  strictEqual(error, null);
  strictEqual(packets[0].linkType, LinkType.ETHERNET);
  strictEqual(packets[0].tsNsec, 5000);
});

Deno.test("pcap: out-of-range fractions are normalized and wireLen is never below capLen", async () => {
  const us = header(false, 0xa1b2c3d4, 1).u32(T0).u32(2_500_000).u32(4).u32(2).u32(0).bytes();
  const ns = header(false, 0xa1b23c4d, 1).u32(T0).u32(1_000_000_001).u32(4).u32(4).u32(0).bytes();
  const a = await readAll([tempFile(us)]);
  deepStrictEqual([a.packets[0].tsSec, a.packets[0].tsNsec, a.packets[0].wireLen], [
    T0 + 2,
    500_000_000,
    4,
  ]);
  const b = await readAll([tempFile(ns)]);
  deepStrictEqual([b.packets[0].tsSec, b.packets[0].tsNsec], [T0 + 1, 1]);
});

/** Three good 100-byte records after the header, then `tail`. */
function threeGoodThen(tail: Bytes): Uint8Array {
  const h = header(true, 0xa1b2c3d4, 1);
  for (let i = 0; i < 3; i++) h.u32(T0 + i).u32(0).u32(100).u32(100).raw(frame(100, i));
  return concat(h.bytes(), tail.bytes());
}

Deno.test("pcap: truncated record header → valid packets, then error at its offset", async () => {
  const path = tempFile(threeGoodThen(new Bytes().u32(T0).u32(0).u32(100)));
  const { packets, error } = await readAll([path]);
  strictEqual(packets.length, 3);
  ok(error);
  strictEqual(error.offset, 24 + 3 * 116);
  strictEqual(error.path, path);
  strictEqual(
    error.message,
    `Capture file "${path}" is truncated at byte 372 (packet record header cut short)`,
  );
});

Deno.test("pcap: truncated packet data → valid packets, then error at the record offset", async () => {
  const path = tempFile(threeGoodThen(new Bytes().u32(T0).u32(0).u32(100).u32(100).raw([1, 2])));
  const { packets, error } = await readAll([path]);
  strictEqual(packets.length, 3);
  strictEqual(error?.offset, 372);
  strictEqual(
    error?.message,
    `Capture file "${path}" is truncated at byte 372 (packet data cut short)`,
  );
});

Deno.test("pcap: absurd captured length is damage at the record offset", async () => {
  const garbage = new Bytes().u32(0x41414141).u32(0x41414141).u32(0x41414141).u32(0x41414141)
    .raw(new Array(200).fill(0x41));
  const path = tempFile(threeGoodThen(garbage));
  const { packets, error } = await readAll([path]);
  strictEqual(packets.length, 3);
  strictEqual(error?.offset, 372);
  strictEqual(
    error?.message,
    `Capture file "${path}" is damaged at byte 372 (packet record claims 1094795585 captured bytes, limit 131070)`,
  );
});

Deno.test("pcap: captured length limit follows the snapshot length with slack", async () => {
  const ok1 = header(true, 0xa1b2c3d4, 1, 1000).u32(T0).u32(0).u32(1500).u32(1500)
    .raw(frame(1500, 1)).bytes();
  strictEqual((await readAll([tempFile(ok1)])).packets[0].capLen, 1500);
  const bad = header(true, 0xa1b2c3d4, 1, 1000).u32(T0).u32(0).u32(70000).u32(70000)
    .raw(frame(70000, 1)).bytes();
  const r = await readAll([tempFile(bad)]);
  strictEqual(r.packets.length, 0);
  ok(r.error?.message.includes("limit 65536"));
  // A 0 or huge snapshot length means libpcap's 256 KiB limit.
  const big = header(true, 0xa1b2c3d4, 1, 0).u32(T0).u32(0).u32(200000).u32(200000)
    .raw(frame(200000, 2)).bytes();
  strictEqual((await readAll([tempFile(big)])).packets[0].capLen, 200000);
  const tooBig = header(true, 0xa1b2c3d4, 1, 0x7fffffff).u32(T0).u32(0).u32(262145).u32(262145)
    .bytes();
  ok((await readAll([tempFile(tooBig)])).error?.message.includes("limit 262144"));
});

Deno.test("pcap: header-only file has no packets; a cut header is truncation at byte 0", async () => {
  const only = header(true, 0xa1b2c3d4, 1).bytes();
  const r = await readAll([tempFile(only)]);
  deepStrictEqual([r.packets.length, r.error], [0, null]);
  const cut = tempFile(only.subarray(0, 10));
  const c = await readAll([cut]).catch((e) => ({ error: e, packets: [] }));
  strictEqual(
    c.error?.message,
    `Capture file "${cut}" is truncated at byte 0 (file header cut short)`,
  );
});

Deno.test("pcap: records spanning buffer refills and records bigger than the buffer", async () => {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { nanosecond: true });
  const sizes: number[] = [];
  for (let i = 0; i < 2000; i++) sizes.push(i % 97 === 0 ? 20000 + i : 1 + ((i * 7919) % 1600));
  sizes.push(100000);
  sizes.forEach((n, i) => w.writeFrame(frame(n, i), T0, i));
  w.close();
  const r = await readAll([tempFile(sink.bytes())], { bufferSize: 4096 });
  strictEqual(r.error, null);
  strictEqual(r.packets.length, sizes.length);
  ok(r.bigRecords >= 1);
  for (let i = 0; i < sizes.length; i += 1) {
    strictEqual(r.packets[i].capLen, sizes[i]);
    strictEqual(r.packets[i].tsNsec, i);
    if (i % 50 === 0 || sizes[i] > 4096) {
      deepStrictEqual(r.packets[i].data, Array.from(frame(sizes[i], i)));
    }
  }
});

Deno.test("pcap: packets are delivered in place in the reused buffer", async () => {
  const sink = new MemorySink();
  const w = new PcapWriter(sink);
  for (let i = 0; i < 10; i++) w.writeFrame(frame(60, i), T0, 0);
  w.close();
  const src = await openCaptureFiles([tempFile(sink.bytes())]);
  const pkt = new RawPacket();
  const bufs = new Set<Uint8Array>();
  const offsets: number[] = [];
  do {
    while (src.next(pkt)) {
      bufs.add(pkt.buf);
      offsets.push(pkt.offset);
    }
  } while (await src.refill());
  src.close();
  strictEqual(bufs.size, 1);
  // Back to back in that buffer, as in the file (where the file starts in it is the reader's choice).
  deepStrictEqual(offsets.map((o) => o - offsets[0]), Array.from({ length: 10 }, (_, i) => i * 76));
});

Deno.test("pcap: records larger than the read-ahead carry area (128 KB), truncated or whole", async () => {
  const sink = new MemorySink();
  const w = new PcapWriter(sink);
  const sizes: number[] = [];
  for (let i = 0; i < 60; i++) sizes.push(i % 7 === 3 ? 131072 + 1000 * i : 60 + i * 13);
  sizes.push(262144);
  sizes.forEach((n, i) => w.writeFrame(frame(n, i), T0, i));
  w.close();
  const bytes = sink.bytes();
  for (const bufferSize of [4096, 65536, 1 << 20]) {
    const r = await readAll([tempFile(bytes)], { bufferSize });
    strictEqual(r.error, null, `buffer ${bufferSize}`);
    deepStrictEqual(r.packets.map((p) => p.capLen), sizes, `buffer ${bufferSize}`);
    for (let i = 0; i < sizes.length; i++) {
      if (sizes[i] > 131072) deepStrictEqual(r.packets[i].data, Array.from(frame(sizes[i], i)));
    }
    // Cut inside the last (largest) record: everything before it, then the truncation.
    const cut = await readAll([tempFile(bytes.subarray(0, bytes.length - 1000))], { bufferSize });
    strictEqual(cut.packets.length, sizes.length - 1, `cut, buffer ${bufferSize}`);
    ok(cut.error instanceof CaptureFileError);
    match(cut.error.message, /is truncated at byte \d+ \(packet data cut short\)/);
  }
});
