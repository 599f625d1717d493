import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { MemorySink } from "../../src/capture/byte_sink.ts";
import { CaptureFileError } from "../../src/capture/errors.ts";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { PcapngWriter, PcapWriter } from "../../src/capture/pcap_writer.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Bytes, frame, readAll, tempFile } from "./pcap_helpers_test.ts";

const T0 = 1767225600;

Deno.test("pcap writer: the file header and records are byte-exact", () => {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: LinkType.RAW, snapLen: 1500 });
  w.writeFrame(Uint8Array.of(0x45, 0, 0, 20), T0, 123456789, 60);
  w.close();
  const want = new Bytes().u32(0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(1500).u32(101)
    .u32(T0).u32(123456).u32(4).u32(60).raw([0x45, 0, 0, 20]).bytes();
  deepStrictEqual(sink.bytes(), want);
});

Deno.test("pcap writer: frames longer than the snapshot length are truncated", async () => {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { snapLen: 64 });
  w.writeFrame(frame(100, 1), T0, 0);
  w.close();
  const { packets } = await readAll([tempFile(sink.bytes())]);
  deepStrictEqual([packets[0].capLen, packets[0].wireLen], [64, 100]);
  deepStrictEqual(packets[0].data, Array.from(frame(100, 1).subarray(0, 64)));
});

Deno.test("pcap writer: reading a file and writing every packet back is the identity", async () => {
  for (const opts of [{}, { nanosecond: true, bigEndian: true, linkType: LinkType.LINUX_SLL2 }]) {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, opts);
    for (let i = 0; i < 500; i++) w.writeFrame(frame(14 + i, i), T0 + i, (i * 7777777) % 1e9, 2000);
    w.close();
    const original = sink.bytes();
    const src = await openCaptureFiles([tempFile(original)], { bufferSize: 8192 });
    const copy = new MemorySink();
    const out = new PcapWriter(copy, opts);
    const pkt = new RawPacket();
    do while (src.next(pkt)) out.write(pkt); while (await src.refill());
    src.close();
    out.close();
    deepStrictEqual(copy.bytes(), original);
    strictEqual(out.packets, 500);
  }
});

Deno.test("pcapng writer: round trip of EPBs, SPBs and custom blocks on several interfaces", async () => {
  const path = tempFile(new Uint8Array(0), ".pcapng");
  const w = new PcapngWriter(path, {
    bigEndian: true,
    interfaces: [{ linkType: LinkType.ETHERNET, snapLen: 200 }, {
      linkType: LinkType.RAW,
      tsresol: 9,
    }],
  });
  const sll = w.addInterface({ linkType: LinkType.LINUX_SLL, tsresol: 0x80 | 32, name: "any" });
  strictEqual(sll, 2);
  strictEqual(w.interfaceCount, 3);
  w.writeFrame(frame(300, 1), T0, 1000, 300, 0);
  w.writeBlock(0x40000bad, frame(5, 2));
  w.writeFrame(frame(41, 3), T0 + 1, 999999999, 41, 1);
  w.writeSimplePacket(frame(250, 4));
  w.writeFrame(frame(42, 5), T0 + 2, 250000000, 1514, 2);
  w.close();
  w.close(); // idempotent
  const { packets, error } = await readAll([path]);
  strictEqual(error, null);
  deepStrictEqual(
    packets.map((p) => [p.ifIndex, p.linkType, p.capLen, p.wireLen, p.tsSec, p.tsNsec]),
    [
      [0, LinkType.ETHERNET, 200, 300, T0, 1000],
      [1, LinkType.RAW, 41, 41, T0 + 1, 999999999],
      [0, LinkType.ETHERNET, 200, 250, T0 + 1, 999999999],
      [2, LinkType.LINUX_SLL, 42, 1514, T0 + 2, 250000000],
    ],
  );
  deepStrictEqual(packets[3].data, Array.from(frame(42, 5)));
});

Deno.test("pcapng writer: copying packets from a pcapng file keeps interfaces and times", async () => {
  const sink = new MemorySink();
  const ifaces = [{ tsresol: 9 }, { linkType: LinkType.RAW, tsresol: 9 }];
  const w = new PcapngWriter(sink, { interfaces: ifaces });
  for (let i = 0; i < 100; i++) w.writeFrame(frame(30 + i, i), T0 + i, i * 3, 30 + i, i % 2);
  w.close();
  const src = await openCaptureFiles([tempFile(sink.bytes(), ".pcapng")]);
  const copy = new MemorySink();
  const out = new PcapngWriter(copy, { interfaces: ifaces });
  const pkt = new RawPacket();
  do while (src.next(pkt)) out.write(pkt); while (await src.refill());
  src.close();
  out.close();
  deepStrictEqual(copy.bytes(), sink.bytes());
});

Deno.test("writers: huge frames, write after close, and creation errors", () => {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { bufferSize: 4096 });
  w.writeFrame(frame(100000, 1), T0, 0);
  w.writeFrame(frame(10, 2), T0, 0);
  w.close();
  strictEqual(sink.bytes().length, 24 + 16 + 100000 + 16 + 10);
  throws(() => w.writeFrame(frame(10, 3), T0, 0), CaptureFileError);
  const n = new PcapngWriter(new MemorySink());
  throws(() => n.writeFrame(frame(10, 3), T0, 0, 10, 1), RangeError);
  n.close();
  throws(() => new PcapWriter("/nonexistent/dir/x.pcap"), (e: Error) => {
    ok(e instanceof CaptureFileError);
    strictEqual(
      e.message,
      'Cannot create capture file "/nonexistent/dir/x.pcap": no such directory',
    );
    return true;
  });
});
