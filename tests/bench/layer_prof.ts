// temp: profile reader+decoder+flow table, batched with prefetch
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { RawPacket } from "../../src/capture/raw_packet.ts";
import { Decoder, DecodeResult } from "../../src/decode/decoder.ts";
import { DecodedPacket } from "../../src/decode/packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import { flowHash, FlowTable } from "../../src/flow/flow_table.ts";
const file = Deno.args[0];
const B = Number(Deno.args[1] ?? 32);
const pf = Deno.args[2] !== "nopf";
for (let rep = 0; rep < 3; rep++) {
  const weirds = new Weirds();
  const decoder = new Decoder(weirds);
  const table = new FlowTable(weirds, { maxFlows: 1_000_000 });
  const raws = Array.from({ length: B }, () => new RawPacket());
  const pkts = Array.from({ length: B }, () => new DecodedPacket());
  const hashes = new Int32Array(B);
  let check = 0;
  const t0 = performance.now();
  const src = await openCaptureFiles([file]);
  do {
    for (;;) {
      let n = 0;
      while (n < B && src.next(raws[n])) n++;
      for (let i = 0; i < n; i++) {
        const p = pkts[i];
        hashes[i] =
          decoder.decode(raws[i], p) === DecodeResult.OK && (p.proto === 6 || p.proto === 17)
            ? (flowHash(p) | 1)
            : 0;
      }
      if (pf) table.prefetch(hashes, n);
      for (let i = 0; i < n; i++) if (hashes[i] !== 0) check += table.track(pkts[i], hashes[i]);
      if (n < B) break;
    }
  } while (await src.refill());
  src.close();
  const t1 = performance.now();
  table.flush();
  console.log(B, pf, (t1 - t0).toFixed(1), "ms; flush", (performance.now() - t1).toFixed(1), check);
}
