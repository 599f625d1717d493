/**
 * Robustness: the real lab captures with their TCP payload bytes corrupted at
 * random (seeded) run through the whole pipeline without an exception and
 * without a parser error; truncated and shuffled segments too.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { RawPacket } from "../../src/capture/raw_packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import { SoftEtherTcpDetector } from "../../src/detect/softether_tcp_detector.ts";
import { Pipeline } from "../../src/pipeline.ts";

const LAB = fileURLToPath(new URL("../../testdata/lab/", import.meta.url));
const FILES = ["direct_443.pcap", "http_proxy.pcap", "socks5.pcap", "socks4.pcap", "admin.pcap"];

Deno.test("fuzz: corrupted real traffic never throws through the pipeline", async () => {
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let round = 0; round < 4; round++) {
    const weirds = new Weirds();
    const c = new SoftEtherTcpDetector(() => {}, { weirds });
    const p = new Pipeline([c], {}, weirds);
    for (const f of FILES) {
      const src = await openCaptureFiles([`${LAB}${f}`]);
      const raw = new RawPacket();
      do {
        while (src.next(raw)) {
          const frame = raw.buf.slice(raw.offset, raw.offset + raw.capLen);
          // Leave link/IP/TCP headers mostly alone: corrupt payload bytes.
          for (let k = 0; k < 1 + round * 3; k++) {
            const at = 54 + Math.floor(rnd() * Math.max(1, frame.length - 54));
            if (at < frame.length) frame[at] = Math.floor(rnd() * 256);
          }
          const copy = new RawPacket();
          copy.buf = frame;
          copy.capLen = rnd() < 0.05 ? Math.floor(rnd() * frame.length) : frame.length;
          copy.wireLen = raw.wireLen;
          copy.tsSec = raw.tsSec;
          copy.tsNsec = raw.tsNsec;
          copy.linkType = raw.linkType;
          p.handle(copy);
        }
      } while (await src.refill());
      src.close();
    }
    p.finish();
    assert.equal(c.stats.errors, 0, `round ${round}: parser errors`);
  }
});
