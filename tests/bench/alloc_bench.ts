/**
 * Allocation benchmark of the hot path: bytes of JavaScript heap allocated
 * per packet by read → decode → flow lookup → detectors, measured with the
 * young generation made large enough that no garbage collection runs
 * during a measured phase (so the heap's growth is what was allocated).
 *
 * Phases, over synthetic in-memory frames (Ethernet, IPv4, TCP):
 * 1. set-up: `--flows` TLS connections open (handshake, ClientHello, server
 *    flight) and start bulk transfers — the detector inspects each one and
 *    lets it go at its first large record (per-connection allocations);
 * 2. bulk: `--packets` in-order data segments on those established flows —
 *    the path of the bulk of a link's traffic; the figure to watch (0 B);
 * 3. UDP: the same count of UDP datagrams on `--flows` flows.
 *
 * ```sh
 * deno run --v8-flags=--expose-gc,--min-semi-space-size=256,--max-semi-space-size=256 \
 *   tests/bench/alloc_bench.ts [--flows 2000] [--packets 1000000]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { LinkType, type PacketSource, RawPacket } from "../../src/capture/raw_packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import { createDetectors } from "../../src/detect/detector_set.ts";
import { Pipeline } from "../../src/pipeline.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    flows: { type: "string", default: "2000" },
    packets: { type: "string", default: "1000000" },
  },
});
const FLOWS = Number(values.flows), PACKETS = Number(values.packets);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error("alloc_bench: run with --v8-flags=--expose-gc,--min-semi-space-size=256,...");
  Deno.exit(2);
}

/** One Ethernet/IPv4/TCP or UDP frame. */
function frame(
  proto: number,
  src: number,
  dst: number,
  sport: number,
  dport: number,
  flags: number,
  seq: number,
  ack: number,
  payload: Uint8Array,
): Uint8Array {
  const l4 = proto === 6 ? 20 : 8;
  const b = new Uint8Array(14 + 20 + l4 + payload.length);
  const v = new DataView(b.buffer);
  v.setUint16(12, 0x0800);
  b[14] = 0x45;
  v.setUint16(16, 20 + l4 + payload.length);
  b[22] = 64;
  b[23] = proto;
  v.setUint32(26, src);
  v.setUint32(30, dst);
  v.setUint16(34, sport);
  v.setUint16(36, dport);
  if (proto === 6) {
    v.setUint32(38, seq);
    v.setUint32(42, ack);
    b[46] = 0x50;
    b[47] = flags;
    v.setUint16(48, 65535);
  } else v.setUint16(38, 8 + payload.length);
  b.set(payload, 14 + 20 + l4);
  return b;
}

/** A TLS record of `type` with `len` body bytes (the first body byte `first`). */
function record(type: number, len: number, first = 0): Uint8Array {
  const r = new Uint8Array(5 + len);
  r[0] = type;
  r[1] = 3;
  r[2] = 3;
  r[3] = len >> 8;
  r[4] = len & 0xff;
  r[5] = first;
  return r;
}

/** A source over prepared frames, one batch of all of them. */
class FrameSource implements PacketSource {
  #frames: Uint8Array[];
  #i = 0;
  #t0: number;
  constructor(frames: Uint8Array[], t0: number) {
    this.#frames = frames;
    this.#t0 = t0;
  }
  next(p: RawPacket): boolean {
    if (this.#i >= this.#frames.length) return false;
    const i = this.#i++, f = this.#frames[i];
    p.buf = f;
    p.offset = 0;
    p.capLen = f.length;
    p.wireLen = f.length;
    // 10 µs apart, in small integers (no heap number is made here).
    p.tsSec = this.#t0 + ((i / 100_000) | 0);
    p.tsNsec = (i % 100_000) * 10_000;
    p.linkType = LinkType.ETHERNET;
    return true;
  }
  refill(): Promise<boolean> {
    return Promise.resolve(false);
  }
  close(): void {}
}

const CLIENT = 0x0a000000, SERVER = 0x0a100000;
const seqC = new Uint32Array(FLOWS), seqS = new Uint32Array(FLOWS);
const setup: Uint8Array[] = [];
for (let i = 0; i < FLOWS; i++) {
  const c = CLIENT + i, s = SERVER + (i % 250), cp = 20000 + (i % 40000);
  const hello = record(22, 300, 1); // ClientHello
  setup.push(frame(6, c, s, cp, 443, 0x02, 1000, 0, new Uint8Array(0)));
  setup.push(frame(6, s, c, 443, cp, 0x12, 5000, 1001, new Uint8Array(0)));
  setup.push(frame(6, c, s, cp, 443, 0x10, 1001, 5001, new Uint8Array(0)));
  setup.push(frame(6, c, s, cp, 443, 0x18, 1001, 5001, hello));
  const flight = record(22, 1200, 2);
  setup.push(frame(6, s, c, 443, cp, 0x18, 5001, 1001 + hello.length, flight));
  // The first large record of the transfer: the inspection lets the flow go.
  const big = record(23, 16000);
  setup.push(frame(6, s, c, 443, cp, 0x10, 5001 + flight.length, 1001 + hello.length, big));
  seqC[i] = 1001 + hello.length;
  seqS[i] = 5001 + flight.length + big.length;
}
const ROUNDS = 4;
const bulks: Uint8Array[][] = Array.from({ length: ROUNDS }, () => []);
const chunk = new Uint8Array(1400);
for (let k = 0; k < ROUNDS * PACKETS; k++) {
  const i = k % FLOWS, c = CLIENT + i, s = SERVER + (i % 250), cp = 20000 + (i % 40000);
  bulks[Math.floor(k / PACKETS)].push(frame(6, s, c, 443, cp, 0x10, seqS[i], seqC[i], chunk));
  seqS[i] += chunk.length;
}
const udp: Uint8Array[] = [];
const dgram = new Uint8Array(200);
for (let k = 0; k < PACKETS; k++) {
  const i = k % FLOWS;
  udp.push(frame(17, CLIENT + i, SERVER + (i % 250), 30000 + (i % 30000), 53, 0, 0, 0, dgram));
}

// Keep-alive-sized datagrams both ways between high ports: what the UDP
// side-flow detector counts on every flow.
const keepalive: Uint8Array[] = [];
for (let k = 0; k < PACKETS; k++) {
  const i = k % FLOWS, ka = new Uint8Array(51 + (k % 32));
  keepalive.push(
    k % 2 === 0
      ? frame(17, CLIENT + i, SERVER + (i % 250), 30000 + (i % 30000), 40000, 0, 0, 0, ka)
      : frame(17, SERVER + (i % 250), CLIENT + i, 40000, 30000 + (i % 30000), 0, 0, 0, ka),
  );
}

const weirds = new Weirds();
// Every detector, as main.ts runs them.
const set = createDetectors(() => {}, weirds);
const detector = set.classifier;
const pipeline = new Pipeline(set.detectors, { maxFlows: 100_000 }, weirds);

async function phase(name: string, frames: Uint8Array[], t0: number): Promise<number> {
  gc!();
  const before = Deno.memoryUsage().heapUsed;
  const t = performance.now();
  await pipeline.run(new FrameSource(frames, t0));
  const ms = performance.now() - t;
  const grown = Deno.memoryUsage().heapUsed - before;
  console.log(
    `${name.padEnd(8)} ${String(frames.length).padStart(9)} packets  ` +
      `${(grown / frames.length).toFixed(2).padStart(8)} B allocated/packet  ` +
      `(${(grown / 1024).toFixed(0)} KiB in all)  ${
        (frames.length / ms / 1000).toFixed(2)
      } M pkt/s`,
  );
  return grown / frames.length;
}

// Each kind runs several times: the first runs warm the JIT up (compiled
// code and type feedback are heap too, and V8 compiles in the background),
// so the figure is the least of the rounds.
await phase("set-up", setup, 1_000);
const perBulk: number[] = [], perUdp: number[] = [], perKa: number[] = [];
for (let r = 0; r < ROUNDS; r++) perBulk.push(await phase("bulk", bulks[r], 2_000 + 100 * r));
for (let r = 0; r < ROUNDS; r++) perUdp.push(await phase("udp", udp, 3_000 + 100 * r));
for (let r = 0; r < ROUNDS; r++) perKa.push(await phase("udp-ka", keepalive, 5_000 + 100 * r));
console.log(
  `inspected ${detector.stats.inspected} connections, dismissed ${detector.stats.dismissed}; ` +
    `flows ${pipeline.flows.active}`,
);
// Harness alone (the frame source), for reference.
const perSource: number[] = [];
for (let run = 0; run < ROUNDS; run++) {
  gc!();
  const src = new FrameSource(bulks[0], 4_000), raw = new RawPacket();
  const before = Deno.memoryUsage().heapUsed;
  let n = 0;
  while (src.next(raw)) n++;
  const grown = Deno.memoryUsage().heapUsed - before;
  perSource.push(grown / n);
}
const least = (xs: number[]) => Math.min(...xs).toFixed(2);
console.log(
  `steady state (least of ${ROUNDS} rounds): bulk TCP ${least(perBulk)} B/packet, ` +
    `UDP ${least(perUdp)} B/packet, keep-alive-sized UDP ${least(perKa)} B/packet; ` +
    `the bare frame loop ${least(perSource)} B/packet`,
);
