/**
 * Throughput check of the offline capture readers (not a test).
 *
 * Reads a capture file with the documented pull loop and a trivial per-packet
 * handler, and prints packets/s and MB/s. With `--generate N` it first writes
 * N synthetic packets (sizes 60..1540, mean 800 bytes; `--max-len` lowers the
 * top) to the file.
 *
 * ```sh
 * deno run -A tests/capture/reader_throughput.ts --generate 1000000 /tmp/1m.pcap
 * deno run -A tests/capture/reader_throughput.ts --generate 1000000 --pcapng --ns /tmp/1m.pcapng
 * deno run -A tests/capture/reader_throughput.ts --runs 5 --buffer 4194304 /tmp/1m.pcap
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { PcapngWriter, PcapWriter } from "../../src/capture/pcap_writer.ts";
import { RawPacket } from "../../src/capture/raw_packet.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    generate: { type: "string" },
    pcapng: { type: "boolean", default: false },
    ns: { type: "boolean", default: false },
    gzip: { type: "boolean", default: false },
    runs: { type: "string", default: "3" },
    buffer: { type: "string" },
    "max-len": { type: "string", default: "1540" },
    "io-only": { type: "boolean", default: false },
  },
});

const path = positionals[0];
if (!path) {
  console.error(
    "usage: reader_throughput.ts [--generate N [--pcapng] [--ns] [--gzip] [--max-len L]]" +
      " [--runs R] [--buffer BYTES] FILE",
  );
  Deno.exit(2);
}

if (values.generate) generate(path, Number(values.generate));

const bufferSize = values.buffer ? Number(values.buffer) : undefined;
const size = Deno.statSync(path).size;
if (values["io-only"]) {
  // Baseline: the same synchronous reads into one buffer, without parsing.
  const buf = new Uint8Array(bufferSize ?? 1 << 20);
  for (let run = 1; run <= Number(values.runs); run++) {
    const t0 = performance.now();
    const file = Deno.openSync(path);
    let total = 0;
    for (let n = file.readSync(buf); n !== null; n = file.readSync(buf)) total += n;
    file.close();
    const s = (performance.now() - t0) / 1000;
    console.log(
      `io-only run ${run}: ${total} bytes in ${s.toFixed(3)} s: ${
        (total / s / 1e6).toFixed(0)
      } MB/s`,
    );
  }
  Deno.exit(0);
}
for (let run = 1; run <= Number(values.runs); run++) {
  const t0 = performance.now();
  const src = await openCaptureFiles([path], { bufferSize });
  const pkt = new RawPacket();
  let n = 0;
  let bytes = 0;
  let check = 0;
  do {
    while (src.next(pkt)) {
      n++;
      bytes += pkt.capLen;
      check ^= pkt.buf[pkt.offset + 12] ^ pkt.tsNsec;
    }
  } while (await src.refill());
  src.close();
  const s = (performance.now() - t0) / 1000;
  console.log(
    `run ${run}: ${n} packets, ${(bytes / 1e6).toFixed(0)} MB captured in ${s.toFixed(3)} s: ` +
      `${(n / s / 1e6).toFixed(2)} M packets/s, ${(size / s / 1e6).toFixed(0)} MB/s of file` +
      ` (check ${check}, big records ${src.bigRecords})`,
  );
}

/** Writes `count` synthetic Ethernet/IPv4/TCP-looking frames to `out`. */
function generate(out: string, count: number): void {
  const t0 = performance.now();
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 64; i++) {
    const f = new Uint8Array(1540);
    for (let j = 0; j < f.length; j++) f[j] = (i * 31 + j * 7) & 0xff;
    f[12] = 0x08;
    f[13] = 0x00;
    frames.push(f);
  }
  const maxLen = Math.min(1540, Math.max(60, Number(values["max-len"])));
  const target = values.gzip ? out + ".tmp" : out;
  const w = values.pcapng
    ? new PcapngWriter(target, { interfaces: [{ tsresol: values.ns ? 9 : 6 }] })
    : new PcapWriter(target, { nanosecond: values.ns });
  let x = 12345;
  let sec = 1767225600;
  let nsec = 0;
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const len = 60 + (x % (maxLen - 59)); // 60..maxLen (default 1540: mean 800)
    nsec += 1000 + (x & 0xffff);
    if (nsec >= 1e9) {
      sec++;
      nsec -= 1e9;
    }
    w.writeFrame(frames[i & 63].subarray(0, len), sec, nsec);
  }
  w.close();
  if (values.gzip) {
    Deno.writeFileSync(out, gzipSync(Deno.readFileSync(target), { level: 6 }));
    Deno.removeSync(target);
  }
  const mb = Deno.statSync(out).size / 1e6;
  console.log(
    `generated ${count} packets, ${mb.toFixed(0)} MB in ${
      ((performance.now() - t0) / 1000).toFixed(2)
    } s`,
  );
}
