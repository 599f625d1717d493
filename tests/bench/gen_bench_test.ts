/**
 * The benchmark generator is deterministic: the same seed gives the same
 * bytes, another seed other bytes; the file has the asked number of records
 * with non-decreasing timestamps and SoftEther sessions spliced in.
 *
 * @module
 */

import { MemorySink } from "../../src/capture/byte_sink.ts";
import { generate } from "./gen_bench.ts";

async function capture(seed: number): Promise<{ bytes: Uint8Array; spliced: number }> {
  const sink = new MemorySink();
  const r = await generate({ seed, packets: 20_000, out: sink, flows: 2_000, copies: 1 });
  return { bytes: sink.bytes(), spliced: r.expectedAlerts };
}

async function sha256(b: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

Deno.test("gen_bench: deterministic per seed, ordered timestamps, sessions spliced", async () => {
  const a = await capture(7), b = await capture(7), c = await capture(8);
  const [ha, hb, hc] = await Promise.all(
    [a, b, c].map((x) => sha256(x.bytes as Uint8Array<ArrayBuffer>)),
  );
  if (ha !== hb) throw new Error("same seed gave different bytes");
  if (ha === hc) throw new Error("another seed gave the same bytes");
  if (a.spliced < 1) throw new Error("no SoftEther session spliced");
  const v = new DataView(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength);
  if (v.getUint32(0, true) !== 0xa1b23c4d) throw new Error("not a nanosecond pcap");
  let n = 0, prev = -1;
  for (let p = 24; p < a.bytes.length; n++) {
    const t = v.getUint32(p, true) * 1e9 + v.getUint32(p + 4, true);
    if (t < prev) throw new Error(`timestamp goes back at record ${n}`);
    prev = t;
    p += 16 + v.getUint32(p + 8, true);
  }
  if (n !== 20_000) throw new Error(`${n} records instead of 20000`);
});
