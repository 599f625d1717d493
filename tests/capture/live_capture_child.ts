/**
 * Helper processes for `live_test.ts`, run inside network namespaces with
 * `ip netns exec NS deno run -A live_capture_child.ts MODE ...`:
 *
 * - `capture OPTIONS_JSON ADDR_A ADDR_B PORT`: opens a {@linkcode LiveCapture}
 *   with the given `LiveCaptureOptions`, prints `{"ready":true,...}`, counts
 *   TCP packets between A and B:PORT until stdin closes, then prints the
 *   counts and final stats as one JSON line.
 * - `server ADDR PORT`: echoes one TCP connection, prints `listening` first.
 * - `client ADDR PORT ROUNDS SIZE`: sends ROUNDS messages of SIZE bytes, each
 *   after the previous echo came back (reading the echo while writing), then
 *   closes.
 *
 * @module
 */

import { flowRecord } from "../../src/flow/flow_record.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { BatchSource } from "../../src/capture/batch_source.ts";
import { LiveCapture } from "../../src/capture/live.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";

function print(value: unknown): void {
  console.log(typeof value === "string" ? value : JSON.stringify(value));
}

function ipv4(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

async function capture(args: string[]): Promise<void> {
  const [optionsJson, a, b, portText] = args;
  const port = Number(portText);
  let cap: LiveCapture;
  try {
    cap = await LiveCapture.open(JSON.parse(optionsJson));
  } catch (err) {
    const e = err as Error & { exitCode?: number };
    print({ ready: false, name: e.name, message: e.message, exitCode: e.exitCode });
    return;
  }
  print({ ready: true, linkType: cap.linkType, snaplen: cap.snaplen });
  // Stop when the parent closes our stdin.
  (async () => {
    for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
    cap.stop();
  })();
  const counts = {
    linkType: cap.linkType,
    packets: 0,
    tcp: 0,
    other: 0,
    syn: 0,
    synAck: 0,
    fin: 0,
    rst: 0,
    payloadAtoB: 0,
    payloadBtoA: 0,
    batches: 0,
    maxBatch: 0,
    badTimestamps: 0,
    /** Distinct payload bytes by sequence number (retransmissions counted once). */
    seqBytesAtoB: 0,
    seqBytesBtoA: 0,
  };
  const isn = { aToB: -1, bToA: -1 };
  // The same packets through sealert's own decoder and flow table.
  const pipeline = new Pipeline([], { maxFlows: 1024 });
  const source = new BatchSource(cap);
  const pkt = new RawPacket();
  const now = Date.now() / 1000;
  while (await source.refill()) {
    counts.batches++;
    let inBatch = 0;
    while (source.next(pkt)) {
      pipeline.handle(pkt);
      inBatch++;
      counts.packets++;
      if (Math.abs(pkt.tsSec - now) > 3600 || pkt.tsNsec >= 1e9) counts.badTimestamps++;
      const p = pkt.buf;
      const o = pkt.offset;
      if (
        pkt.linkType !== LinkType.ETHERNET || pkt.capLen < 54 || p[o + 12] !== 0x08 ||
        p[o + 13] !== 0 || p[o + 23] !== 6
      ) {
        counts.other++;
        continue;
      }
      const ip = o + 14;
      const ihl = (p[ip] & 0x0f) * 4;
      const total = (p[ip + 2] << 8) | p[ip + 3];
      const src = ipv4(p, ip + 12);
      const dst = ipv4(p, ip + 16);
      const tcp = ip + ihl;
      const sport = (p[tcp] << 8) | p[tcp + 1];
      const dport = (p[tcp + 2] << 8) | p[tcp + 3];
      const thl = (p[tcp + 12] >> 4) * 4;
      const flags = p[tcp + 13];
      const aToB = src === a && dst === b && dport === port;
      const bToA = src === b && dst === a && sport === port;
      if (!aToB && !bToA) {
        counts.other++;
        continue;
      }
      counts.tcp++;
      if ((flags & 0x12) === 0x02) counts.syn++;
      if ((flags & 0x12) === 0x12) counts.synAck++;
      if (flags & 0x01) counts.fin++;
      if (flags & 0x04) counts.rst++;
      const payload = total - ihl - thl;
      const seq = ((p[tcp + 4] << 24) | (p[tcp + 5] << 16) | (p[tcp + 6] << 8) | p[tcp + 7]) >>> 0;
      const dir = aToB ? "aToB" : "bToA";
      if (flags & 0x02) isn[dir] = seq;
      // Data end relative to the first data byte (the SYN takes one sequence number).
      const end = isn[dir] < 0 || payload === 0 ? 0 : ((seq - isn[dir]) >>> 0) - 1 + payload;
      if (aToB) {
        counts.payloadAtoB += payload;
        counts.seqBytesAtoB = Math.max(counts.seqBytesAtoB, end);
      } else {
        counts.payloadBtoA += payload;
        counts.seqBytesBtoA = Math.max(counts.seqBytesBtoA, end);
      }
    }
    counts.maxBatch = Math.max(counts.maxBatch, inBatch);
  }
  source.close();
  const stats = await cap.close();
  const flowRecords: ReturnType<typeof flowRecord>[] = [];
  const flows = pipeline.flows;
  flows.onEnd((slot) => flowRecords.push(flowRecord(flows, slot)));
  flows.flush();
  print({ ...counts, stats, lateStats: cap.stats(), flows: flowRecords });
}

async function server(args: string[]): Promise<void> {
  const [hostname, port] = args;
  const listener = Deno.listen({ hostname, port: Number(port) });
  print("listening");
  const conn = await listener.accept();
  listener.close();
  const buf = new Uint8Array(65536);
  let total = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    total += n;
    let off = 0;
    while (off < n) off += await conn.write(buf.subarray(off, n));
  }
  conn.close();
  print({ echoed: total });
}

async function client(args: string[]): Promise<void> {
  const [hostname, port, roundsText, sizeText] = args;
  const rounds = Number(roundsText);
  const size = Number(sizeText);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  conn.setNoDelay(true);
  const msg = new Uint8Array(size).fill(0x41);
  const buf = new Uint8Array(65536);
  const chunk = 65536;
  for (let r = 0; r < rounds; r++) {
    const writing = (async () => {
      for (let off = 0; off < size;) {
        off += await conn.write(msg.subarray(off, Math.min(size, off + chunk)));
      }
    })();
    let got = 0;
    while (got < size) {
      const n = await conn.read(buf.subarray(0, Math.min(chunk, size - got)));
      if (n === null) throw new Error("server closed early");
      got += n;
    }
    await writing;
  }
  await conn.closeWrite();
  const rest = await conn.read(buf);
  conn.close();
  print({ rounds, size, eof: rest === null });
}

const [mode, ...rest] = Deno.args;
if (mode === "capture") await capture(rest);
else if (mode === "server") await server(rest);
else if (mode === "client") await client(rest);
else throw new Error(`unknown mode ${mode}`);
