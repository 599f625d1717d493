import { dirname } from "node:path";
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { MemorySink } from "../../src/capture/byte_sink.ts";
import { CaptureFileError } from "../../src/capture/errors.ts";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { PcapngWriter, PcapWriter } from "../../src/capture/pcap_writer.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { frame, readAll, tempDir, tempFile } from "./pcap_helpers_test.ts";
import { asNobody, readableCopy } from "../helpers/as_nobody.ts";

const T0 = 1767225600;

function pcapBytes(first: number, n: number, opts = {}): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, opts);
  for (let i = first; i < first + n; i++) w.writeFrame(frame(60 + i, i), T0 + i, i * 1000);
  w.close();
  return sink.bytes();
}

function pcapngBytes(first: number, n: number): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { interfaces: [{ tsresol: 9 }] });
  for (let i = first; i < first + n; i++) w.writeFrame(frame(60 + i, i), T0 + i, i * 1000);
  w.close();
  return sink.bytes();
}

async function openError(paths: string[]): Promise<CaptureFileError> {
  let error: unknown = null;
  await openCaptureFiles(paths).catch((e) => error = e);
  ok(error instanceof CaptureFileError, `expected a CaptureFileError, got ${error}`);
  return error;
}

Deno.test("file source: several files of mixed formats read in order as one stream", async () => {
  const paths = [
    tempFile(pcapBytes(0, 10), ".pcap"),
    tempFile(pcapngBytes(10, 10), ".pcap"), // a pcapng file named .pcap: the magic decides
    tempFile(pcapBytes(20, 0), ".pcap"), // header only
    tempFile(gzipSync(pcapBytes(20, 10, { nanosecond: true, bigEndian: true })), ".gz"),
    tempFile(gzipSync(pcapngBytes(30, 10)), ".pcapng.gz"),
  ];
  const { packets, error } = await readAll(paths, { bufferSize: 4096 });
  strictEqual(error, null);
  strictEqual(packets.length, 40);
  packets.forEach((p, i) => {
    deepStrictEqual(
      [p.tsSec, p.tsNsec, p.capLen, p.linkType],
      [T0 + i, i * 1000, 60 + i, LinkType.ETHERNET],
    );
    deepStrictEqual(p.data, Array.from(frame(60 + i, i)));
  });
});

Deno.test("file source: statistics and the current file while reading", async () => {
  const a = pcapBytes(0, 100);
  const b = gzipSync(pcapngBytes(100, 50));
  const paths = [tempFile(a), tempFile(b, ".pcapng.gz")];
  const src = await openCaptureFiles(paths, { bufferSize: 4096 });
  strictEqual(src.totalBytes, a.length + b.length);
  strictEqual(src.currentFile, paths[0]);
  strictEqual(src.currentFormat, "pcap");
  const pkt = new RawPacket();
  const seen: string[] = [];
  let bytes = 0;
  do {
    while (src.next(pkt)) bytes += pkt.capLen;
    if (src.currentFile && !seen.includes(src.currentFile)) seen.push(src.currentFile);
  } while (await src.refill());
  deepStrictEqual(seen, paths);
  deepStrictEqual(src.stats(), {
    packets: 150,
    bytes,
    filesDone: 2,
    fileCount: 2,
    currentFile: "",
    bytesRead: a.length + b.length,
    totalBytes: a.length + b.length,
    bigRecords: 0,
  });
  src.close();
  src.close(); // idempotent
  strictEqual(src.next(pkt), false);
  strictEqual(await src.refill(), false);
});

Deno.test("file source: stats count packets, bytes and finished files mid-stream", async () => {
  const paths = [tempFile(pcapBytes(0, 3)), tempFile(pcapBytes(3, 2))];
  const src = await openCaptureFiles(paths);
  const pkt = new RawPacket();
  while (src.next(pkt));
  deepStrictEqual([src.packets, src.filesDone, src.currentFile], [3, 0, paths[0]]);
  strictEqual(await src.refill(), true);
  deepStrictEqual([src.packets, src.filesDone, src.currentFile], [3, 1, paths[1]]);
  strictEqual(src.next(pkt), true);
  src.close(); // counters survive closing
  deepStrictEqual([src.packets, src.bytes, src.filesDone], [4, 60 + 61 + 62 + 63, 1]);
  strictEqual(src.next(pkt), false);
});

Deno.test("file source: files that cannot be opened are reported up front", async () => {
  const good = tempFile(pcapBytes(0, 1));
  const missing = "/nonexistent/sealert/x.pcap";
  const e1 = await openError([good, missing]);
  strictEqual(e1.message, `Cannot open capture file "${missing}": no such file`);
  strictEqual(e1.path, missing);
  strictEqual(e1.offset, -1);
  const text = tempFile(new TextEncoder().encode("hello, this is not a capture\n"), ".pcap");
  strictEqual(
    (await openError([good, text])).message,
    `Cannot open capture file "${text}": not a pcap or pcapng file`,
  );
  const empty = tempFile(new Uint8Array(0));
  strictEqual(
    (await openError([empty])).message,
    `Cannot open capture file "${empty}": not a pcap or pcapng file`,
  );
  const tiny = tempFile(Uint8Array.of(0xd4, 0xc3));
  ok((await openError([tiny])).message.endsWith(": not a pcap or pcapng file"));
  const dir = tempDir();
  strictEqual(
    (await openError([dir])).message,
    `Cannot open capture file "${dir}": is a directory`,
  );
});

Deno.test({
  name: "file source: unreadable file is permission denied",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const path = tempFile(pcapBytes(0, 1));
    Deno.chmodSync(path, 0o000);
    if (Deno.uid() !== 0) {
      strictEqual(
        (await openError([path])).message,
        `Cannot open capture file "${path}": permission denied`,
      );
      return;
    }
    // Root reads anything: check as an unprivileged user (nobody) through
    // main.ts, from a copy nobody can read (the checkout may be under /root).
    await using app = await readableCopy();
    Deno.chmodSync(dirname(path), 0o755);
    const out = await asNobody(app, ["--read", path, "--log", "none"]).output();
    const err = new TextDecoder().decode(out.stderr).trim();
    strictEqual(out.code, 1, err);
    strictEqual(err, `sealert: Cannot open capture file "${path}": permission denied`);
  },
});

Deno.test("file source: damage in the second file comes after all of the first", async () => {
  const second = pcapBytes(5, 5);
  const cut = second.length - 10;
  const paths = [tempFile(pcapBytes(0, 5)), tempFile(second.subarray(0, cut))];
  const { packets, error } = await readAll(paths);
  strictEqual(packets.length, 9);
  strictEqual(error?.path, paths[1]);
  strictEqual(error?.offset, second.length - (16 + 69)); // the last record: 69-byte frame
  strictEqual(
    error?.message,
    `Capture file "${paths[1]}" is truncated at byte ${error?.offset} (packet data cut short)`,
  );
});

Deno.test("file source: no files means an empty stream", async () => {
  const src = await openCaptureFiles([]);
  strictEqual(src.next(new RawPacket()), false);
  strictEqual(await src.refill(), false);
  deepStrictEqual([src.packets, src.filesDone, src.totalBytes], [0, 0, 0]);
  src.close();
});

Deno.test("file source: a pipe is read without knowing its size", {
  ignore: Deno.build.os === "windows",
}, async () => {
  const dir = tempDir();
  const fifo = `${dir}/cap.fifo`;
  const mk = new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
  if (!mk.success) return; // no mkfifo here
  // A separate process writes, since opening and reading a pipe block this thread.
  const file = tempFile(pcapngBytes(0, 20), ".pcapng");
  const writer = new Deno.Command("sh", { args: ["-c", 'cat "$0" > "$1"', file, fifo] }).spawn();
  const { packets, error } = await readAll([fifo]);
  await writer.status;
  strictEqual(error, null);
  strictEqual(packets.length, 20);
});

Deno.test("file source: skipFile continues after damage; a bad later file is skipped once reported", async () => {
  const damaged = pcapBytes(3, 3);
  new DataView(damaged.buffer).setUint32(24 + (16 + 63) + 8, 0x00ffffff, true); // 2nd record
  const gone = tempFile(pcapBytes(100, 3));
  const paths = [tempFile(pcapBytes(0, 3)), tempFile(damaged), gone, tempFile(pcapBytes(6, 3))];
  const src = await openCaptureFiles(paths);
  Deno.removeSync(gone); // vanishes before its turn
  const pkt = new RawPacket();
  const got: number[] = [];
  const errors: string[] = [];
  for (;;) {
    try {
      do while (src.next(pkt)) got.push(pkt.tsSec - T0); while (await src.refill());
      break;
    } catch (e) {
      errors.push((e as Error).message.replace(/".*"/, '"F"'));
      src.skipFile();
    }
  }
  deepStrictEqual(got, [0, 1, 2, 3, 6, 7, 8]);
  deepStrictEqual(errors, [
    'Capture file "F" is damaged at byte 103 (packet record claims 16777215 captured bytes, limit 262144)',
    'Cannot open capture file "F": no such file',
  ]);
  deepStrictEqual([src.packets, src.filesDone], [7, 2]);
  src.close();
});

Deno.test("file source: onUnreadable reports files that cannot be opened and reads the others", async () => {
  const a = tempFile(pcapBytes(0, 3));
  const text = tempFile(new TextEncoder().encode("not a capture\n"), ".pcap");
  const b = tempFile(pcapBytes(3, 3));
  const missing = `${tempDir()}/missing.pcap`;
  const reported: string[] = [];
  const src = await openCaptureFiles([missing, a, text, b], {
    onUnreadable: (e) => reported.push(`${e.path === missing ? "M" : "T"} ${e.offset}`),
  });
  deepStrictEqual(reported, ["M -1", "T -1"]);
  deepStrictEqual(src.paths, [a, b]);
  strictEqual(src.currentFile, ""); // nothing opened before the first refill
  const pkt = new RawPacket();
  const got: number[] = [];
  do while (src.next(pkt)) got.push(pkt.tsSec - T0); while (await src.refill());
  deepStrictEqual(got, [0, 1, 2, 3, 4, 5]);
  src.close();
});
