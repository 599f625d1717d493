// Pipeline-level reassembly: fragmented TCP reaches the detectors whole, also
// when a batch completes many datagrams (the defragmenter's ring of output
// buffers must cover a batch). Kept minimal on purpose: only the Pipeline
// constructor and the Detector interface are assumed.
import assert from "node:assert/strict";
import { LinkType, type PacketSource, RawPacket } from "../../src/capture/raw_packet.ts";
import type { DecodedPacket } from "../../src/decode/packet.ts";
import type { Detector } from "../../src/detect/detector.ts";
import type { FlowTable } from "../../src/flow/flow_table.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { ethernet, ipFragments, ipPacket } from "../helpers/frames.ts";

/** Frames from memory, all in one buffer-full. */
class ArraySource implements PacketSource {
  #i = 0;
  constructor(readonly frames: Uint8Array[]) {}
  next(pkt: RawPacket): boolean {
    if (this.#i === this.frames.length) return false;
    const f = this.frames[this.#i++];
    pkt.buf = f;
    pkt.offset = 0;
    pkt.capLen = pkt.wireLen = f.length;
    pkt.tsSec = 1_790_000_000 + (this.#i >> 4);
    pkt.tsNsec = 0;
    pkt.linkType = LinkType.ETHERNET;
    return true;
  }
  refill(): Promise<boolean> {
    return Promise.resolve(false);
  }
  close(): void {}
}

/** Copies every packet's payload (by source port) at the time the detector sees it. */
class Recorder implements Detector {
  readonly markBits = 1;
  markShift = 0;
  readonly seen = new Map<number, Uint8Array>();
  onPacket(_t: FlowTable, _slot: number, _dir: number, p: DecodedPacket): void {
    if (p.payloadCapLen > 0) {
      this.seen.set(
        p.srcPort,
        p.buf.slice(p.payloadOffset, p.payloadOffset + p.payloadCapLen),
      );
    }
  }
  onFlowEnd(): void {}
  tick(): void {}
  finish(): void {}
  inspecting(): boolean {
    return false;
  }
}

function payloadOf(i: number): Uint8Array {
  const b = new Uint8Array(1100 + i);
  for (let k = 0; k < b.length; k++) b[k] = (k * 13 + i * 7) & 255;
  return b;
}

/** 150 fragmented segments, interleaved so that batches complete up to 64 datagrams each. */
function frames(): Uint8Array[] {
  const pieces: Uint8Array[][] = [];
  for (let i = 0; i < 150; i++) {
    const ip = ipPacket({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      sport: 20000 + i,
      dport: 443,
      payload: payloadOf(i),
    });
    pieces.push(ipFragments(ip, 512, { id: i }).map((f) => ethernet(f)));
  }
  const out: Uint8Array[] = [];
  for (let k = 0; k < 3; k++) for (const p of pieces) out.push(p[k]);
  // And one unfragmented segment.
  out.push(ethernet(ipPacket({
    src: "10.0.0.1",
    dst: "10.0.0.2",
    sport: 30000,
    dport: 443,
    payload: payloadOf(999),
  })));
  return out;
}

function check(rec: Recorder): void {
  assert.equal(rec.seen.size, 151);
  for (let i = 0; i < 150; i++) assert.deepEqual(rec.seen.get(20000 + i), payloadOf(i), `${i}`);
  assert.deepEqual(rec.seen.get(30000), payloadOf(999));
}

Deno.test("defrag pipeline: batched run hands reassembled segments to the detectors", async () => {
  const rec = new Recorder();
  const pipe = new Pipeline([rec]);
  await pipe.run(new ArraySource(frames()));
  pipe.finish();
  check(rec);
  assert.equal(pipe.packets, 451);
  const weirds = Object.keys(pipe.weirds.toObject()).filter((k) => k.startsWith("ip_frag"));
  assert.deepEqual(weirds, []);
});

Deno.test("defrag pipeline: packet by packet gives the same", () => {
  const rec = new Recorder();
  const pipe = new Pipeline([rec]);
  const src = new ArraySource(frames());
  const raw = new RawPacket();
  while (src.next(raw)) pipe.handle(raw);
  pipe.finish();
  check(rec);
});
