/**
 * In-memory packet loops for the memory phases of the benchmark: feed a
 * {@linkcode Pipeline} millions of distinct flows without a capture file.
 * Every flow gets its own 5-tuple (client 10.x.y.z, ephemeral port); one
 * frame buffer per packet template is patched in place, so the loop itself
 * allocates nothing.
 *
 * Flow kinds:
 * - `udp`: one DNS query per flow (a UDP flow, never inspected).
 * - `syn`: one TCP SYN per flow (no payload: the classifier opens no analyzer).
 * - `https`: a TLS 1.3 connection up to the first response: SYN, SYN-ACK,
 *   ACK, ClientHello, server flight, client Finished + request, response
 *   (7 packets; the analyzer stays alive, waiting for the next message).
 * - `hello`: a TCP SYN then the client's ClientHello (2 packets; the
 *   classifier opens an analyzer with its TLS record scanners).
 * - `mix`: alternating `syn` and `udp`.
 *
 * @module
 */

import { RawPacket } from "../../src/capture/raw_packet.ts";
import type { Pipeline } from "../../src/pipeline.ts";
import { clientHelloRecord, dnsPair, type Rng, serverHello13 } from "./tls_templates.ts";
import { Sfc32 } from "./gen_bench.ts";

/** Kinds of synthetic flows. */
export type FlowKind = "udp" | "syn" | "https" | "hello" | "mix";

interface Frame {
  bytes: Uint8Array;
  /** Direction: 0 client → server. */
  dir: number;
}

const IP = 14;

function frame(
  dir: number,
  proto: number,
  tcpFlags: number,
  seq: number,
  ack: number,
  payload: Uint8Array,
): Frame {
  const l4 = proto === 6 ? 20 : 8;
  const ipLen = 20 + l4 + payload.length;
  const b = new Uint8Array(Math.max(60, IP + ipLen));
  b.set([0, 0x1b, 0x21, 0x5e, 0xa1, 0xe7, 2, 0, 10, 0, 0, 1, 8, 0], 0);
  b.set([0x45, 0, ipLen >> 8, ipLen & 255, 0, 0, 0x40, 0, 64, proto, 0, 0], IP);
  const t = IP + 20;
  if (proto === 6) {
    const v = new DataView(b.buffer);
    v.setUint32(t + 4, seq);
    v.setUint32(t + 8, ack);
    b[t + 12] = 5 << 4;
    b[t + 13] = tcpFlags;
    v.setUint16(t + 14, 502);
  } else {
    b[t + 4] = (8 + payload.length) >> 8;
    b[t + 5] = (8 + payload.length) & 255;
  }
  b.set(payload, t + l4);
  return { bytes: b, dir };
}

function appData(rng: Rng, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let p = 0;
  while (p < size) {
    const rec = Math.min(size - p, 16401);
    out.set([23, 3, 3, (rec - 5) >> 8, (rec - 5) & 255], p);
    for (let i = 5; i < rec; i++) out[p + i] = rng.u32() & 255;
    p += rec;
  }
  return out;
}

/** The packets of one flow of `kind` (addresses and ports patched per flow). */
function templates(kind: "udp" | "syn" | "https" | "hello", rng: Sfc32): Frame[] {
  if (kind === "udp") return [frame(0, 17, 0, 0, 0, dnsPair(rng, "www.example.com", false)[0])];
  if (kind === "syn") return [frame(0, 6, 0x02, 1000, 0, new Uint8Array(0))];
  const c = 1000, s = 5000;
  const ch = clientHelloRecord(rng, "www.example.com");
  if (kind === "hello") {
    return [frame(0, 6, 0x02, c, 0, new Uint8Array(0)), frame(0, 6, 0x18, c + 1, s + 1, ch)];
  }
  const sh = serverHello13(rng);
  const flight = new Uint8Array(sh.length + 1200);
  flight.set(sh, 0);
  flight.set(appData(rng, 1200), sh.length);
  const fin = new Uint8Array(6 + 58 + 400);
  fin.set([20, 3, 3, 0, 1, 1], 0);
  fin.set(appData(rng, 58), 6);
  fin.set(appData(rng, 400), 64);
  const resp = appData(rng, 1200);
  return [
    frame(0, 6, 0x02, c, 0, new Uint8Array(0)),
    frame(1, 6, 0x12, s, c + 1, new Uint8Array(0)),
    frame(0, 6, 0x10, c + 1, s + 1, new Uint8Array(0)),
    frame(0, 6, 0x18, c + 1, s + 1, ch),
    frame(1, 6, 0x18, s + 1, c + 1 + ch.length, flight),
    frame(0, 6, 0x18, c + 1 + ch.length, s + 1 + flight.length, fin),
    frame(1, 6, 0x18, s + 1 + flight.length, c + 1 + ch.length + fin.length, resp),
  ];
}

/** Feeds flows to a pipeline; one instance per run. */
export class FlowFeeder {
  readonly #sets: Frame[][];
  readonly #raw = new RawPacket();
  readonly #kind: FlowKind;
  /** Flows fed so far. */
  flows = 0;
  /** Packets fed so far. */
  packets = 0;
  #ns = 0;
  #sec = Date.UTC(2026, 10, 26, 12) / 1000;

  /** Prepares the packet templates of `kind`. */
  constructor(kind: FlowKind, seed = 1) {
    const rng = new Sfc32(seed);
    this.#kind = kind;
    this.#sets = kind === "mix"
      ? [templates("syn", rng), templates("udp", rng)]
      : [templates(kind, rng)];
  }

  /** Feeds `n` more distinct flows to `pipeline` (1 µs of packet time per flow). */
  feed(pipeline: Pipeline, n: number): void {
    const raw = this.#raw;
    for (let k = 0; k < n; k++) {
      const i = this.flows++;
      const set = this.#sets.length === 1 ? this.#sets[0] : this.#sets[i & 1];
      // Client 10.0.0.0/8 + i / 28000, port 32768 + i % 28000; server 198.51.100.7:443 or :53.
      const host = Math.floor(i / 28000);
      const port = 32768 + (i % 28000);
      const ca = (0x0a000000 + host + 1) >>> 0;
      this.#ns += 1000;
      if (this.#ns >= 1e9) {
        this.#ns -= 1e9;
        this.#sec++;
      }
      for (let j = 0; j < set.length; j++) {
        const f = set[j];
        const b = f.bytes;
        const src = f.dir === 0 ? IP + 12 : IP + 16, dst = f.dir === 0 ? IP + 16 : IP + 12;
        b[src] = ca >>> 24, b[src + 1] = ca >>> 16, b[src + 2] = ca >>> 8, b[src + 3] = ca;
        b[dst] = 198, b[dst + 1] = 51, b[dst + 2] = 100, b[dst + 3] = 7;
        const t = IP + 20;
        const sp = f.dir === 0 ? t : t + 2, dp = f.dir === 0 ? t + 2 : t;
        const svc = b[IP + 9] === 17 ? 53 : 443;
        b[sp] = port >> 8, b[sp + 1] = port & 255, b[dp] = svc >> 8, b[dp + 1] = svc & 255;
        raw.buf = b;
        raw.offset = 0;
        raw.capLen = b.length;
        raw.wireLen = b.length;
        raw.tsSec = this.#sec;
        raw.tsNsec = this.#ns + j * 100;
        pipeline.handle(raw);
        this.packets++;
      }
    }
  }

  /** Kind being fed. */
  get kind(): FlowKind {
    return this.#kind;
  }
}
