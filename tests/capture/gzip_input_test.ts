import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { MemorySink } from "../../src/capture/byte_sink.ts";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { PcapngWriter, PcapWriter } from "../../src/capture/pcap_writer.ts";
import { RawPacket } from "../../src/capture/raw_packet.ts";
import { concat, frame, readAll, tempFile } from "./pcap_helpers_test.ts";

const T0 = 1767225600;

function capture(kind: "pcap" | "pcapng", n: number, size = (i: number) => 60 + (i % 1400)) {
  const sink = new MemorySink();
  const w = kind === "pcap"
    ? new PcapWriter(sink, { nanosecond: true })
    : new PcapngWriter(sink, { interfaces: [{ tsresol: 9 }] });
  for (let i = 0; i < n; i++) w.writeFrame(frame(size(i), i), T0 + i, i);
  w.close();
  return sink.bytes();
}

Deno.test("gzip: compressed pcap and pcapng read exactly like the plain files", async () => {
  for (const kind of ["pcap", "pcapng"] as const) {
    const plain = capture(kind, 3000);
    const a = await readAll([tempFile(plain)]);
    for (const bufferSize of [4096, 1 << 20]) {
      const b = await readAll([tempFile(gzipSync(plain), ".gz")], { bufferSize });
      strictEqual(b.error, null);
      strictEqual(b.packets.length, 3000);
      deepStrictEqual(b.packets, a.packets, `${kind} / ${bufferSize}`);
    }
  }
});

Deno.test("gzip: progress counts compressed bytes against the size on disk", async () => {
  const gz = gzipSync(capture("pcapng", 5000));
  const src = await openCaptureFiles([tempFile(gz, ".gz")], { bufferSize: 65536 });
  strictEqual(src.currentCompressed, true);
  strictEqual(src.totalBytes, gz.length);
  ok(src.bytesRead > 0 && src.bytesRead <= gz.length);
  const pkt = new RawPacket();
  do while (src.next(pkt)); while (await src.refill());
  strictEqual(src.bytesRead, gz.length);
  strictEqual(src.packets, 5000);
  src.close();
});

Deno.test("gzip: a cut compressed file → packets before the cut, then an error at a record boundary", async () => {
  for (const kind of ["pcap", "pcapng"] as const) {
    const plain = capture(kind, 4000, () => 500);
    const gz = gzipSync(plain);
    const path = tempFile(gz.subarray(0, Math.floor(gz.length / 2)), ".gz");
    const { packets, error } = await readAll([path], { bufferSize: 8192 });
    ok(packets.length > 100 && packets.length < 4000, `${packets.length} packets`);
    packets.forEach((p, i) => strictEqual(p.tsNsec, i));
    ok(error);
    const header = kind === "pcap" ? 24 : plain.length - 4000 * 532;
    const record = kind === "pcap" ? 516 : 532;
    strictEqual(error.offset, header + packets.length * record, "offset of the first lost record");
    strictEqual(
      error.message,
      `Capture file "${path}" is damaged at decompressed byte ${error.offset} (gzip data is cut short or corrupt)`,
    );
  }
});

Deno.test("gzip: damage inside the decompressed data is reported at a decompressed offset", async () => {
  const plain = capture("pcap", 10, () => 100);
  const bad = plain.slice();
  new DataView(bad.buffer).setUint32(24 + 3 * 116 + 8, 0x7fffffff, true); // 4th record's caplen
  const path = tempFile(gzipSync(bad), ".pcap.gz");
  const { packets, error } = await readAll([path]);
  strictEqual(packets.length, 3);
  strictEqual(
    error?.message,
    `Capture file "${path}" is damaged at decompressed byte 372 (packet record claims 2147483647 captured bytes, limit 262144)`,
  );
  const cut = tempFile(gzipSync(plain.subarray(0, 24 + 116 * 2 + 50)), ".gz");
  const c = await readAll([cut]);
  strictEqual(c.packets.length, 2);
  strictEqual(
    c.error?.message,
    `Capture file "${cut}" is truncated at decompressed byte 256 (packet data cut short)`,
  );
});

Deno.test("gzip: compressed non-captures and empty archives are not capture files", async () => {
  for (
    const content of [new TextEncoder().encode("just some text, long enough"), new Uint8Array(0)]
  ) {
    const path = tempFile(gzipSync(content), ".pcap.gz");
    let message = "";
    await openCaptureFiles([path]).catch((e) => message = e.message);
    strictEqual(message, `Cannot open capture file "${path}": not a pcap or pcapng file`);
  }
  // A gzip header followed by garbage.
  const junk = tempFile(concat(Uint8Array.of(0x1f, 0x8b, 8, 0), frame(100, 1)), ".gz");
  let message = "";
  await openCaptureFiles([junk]).catch((e) => message = e.message);
  ok(
    message.startsWith(`Capture file "${junk}" is damaged at decompressed byte 0 (gzip data`),
    message,
  );
});

Deno.test("gzip: concatenated gzip members are one stream, as gzip -d reads them", async () => {
  // e.g. `cat a.pcap.gz more-records.gz`: nothing after the first member is dropped.
  const a = capture("pcap", 5);
  const path = tempFile(concat(gzipSync(a), gzipSync(a.subarray(24))), ".gz");
  const r = await readAll([path]);
  strictEqual(r.error, null);
  strictEqual(r.packets.length, 10);
  deepStrictEqual(r.packets.slice(5), r.packets.slice(0, 5));
});
