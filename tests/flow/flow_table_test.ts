import assert from "node:assert/strict";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Decoder } from "../../src/decode/decoder.ts";
import type { DecodedPacket } from "../../src/decode/packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import { FlowState } from "../../src/flow/flow_state.ts";
import { EndReason, FlowTable, SegKind } from "../../src/flow/flow_table.ts";
import { flowRecord } from "../../src/flow/flow_record.ts";
import { ipPacket, type SegmentSpec } from "../helpers/frames.ts";

const weirds = new Weirds();
const decoder = new Decoder(weirds);

function pkt(spec: SegmentSpec, ts: number): DecodedPacket {
  const r = new RawPacket();
  r.buf = ipPacket(spec);
  r.capLen = r.wireLen = r.buf.length;
  r.linkType = LinkType.RAW;
  r.tsSec = Math.floor(ts);
  r.tsNsec = Math.round((ts - Math.floor(ts)) * 1e9);
  decoder.decode(r);
  return decoder.pkt;
}

const C = { src: "10.0.0.1", dst: "10.0.0.2", sport: 5000, dport: 443 };
const S = { src: "10.0.0.2", dst: "10.0.0.1", sport: 443, dport: 5000 };

Deno.test("flow table: handshake, data, close; direction, history, sizes", () => {
  const t = new FlowTable(new Weirds(), { maxFlows: 16 });
  const t0 = 1_790_000_000;
  const a = t.track(pkt({ ...C, flags: 0x02, seq: 100 }, t0));
  assert.equal(t.created, true);
  assert.equal(t.dir, 0);
  assert.equal(t.stateOf(a), FlowState.SYN_SENT);
  assert.equal(t.track(pkt({ ...S, flags: 0x12, seq: 900, ack: 101 }, t0 + 0.01)), a);
  assert.equal(t.dir, 1);
  assert.equal(t.stateOf(a), FlowState.SYN_ACKED);
  t.track(pkt({ ...C, flags: 0x10, seq: 101, ack: 901 }, t0 + 0.02));
  assert.equal(t.stateOf(a), FlowState.ESTABLISHED);
  t.track(pkt({ ...C, flags: 0x18, seq: 101, payload: 300 }, t0 + 0.03));
  assert.equal(t.segKind, SegKind.IN_ORDER);
  t.track(pkt({ ...C, flags: 0x18, seq: 101, payload: 300 }, t0 + 0.04)); // retransmission
  assert.equal(t.segKind, SegKind.OLD);
  t.track(pkt({ ...S, flags: 0x18, seq: 901, payload: 1200 }, t0 + 0.05));
  t.track(pkt({ ...S, flags: 0x18, seq: 3000, payload: 10 }, t0 + 0.06)); // gap
  assert.equal(t.segKind, SegKind.AHEAD);
  t.track(pkt({ ...C, flags: 0x11, seq: 401 }, t0 + 0.07));
  assert.equal(t.stateOf(a), FlowState.CLOSING);
  t.track(pkt({ ...S, flags: 0x11, seq: 3010 }, t0 + 0.08));
  assert.equal(t.stateOf(a), FlowState.CLOSED);
  const rec = flowRecord(t, a);
  assert.equal(rec.client, "10.0.0.1:5000");
  assert.equal(rec.server, "10.0.0.2:443");
  assert.equal(rec.history, "ShADTdgFf");
  assert.deepEqual(rec.pkts, [5, 4]);
  assert.deepEqual(rec.payload, [600, 1210]);
  assert.deepEqual(rec.sizes, [300, -1200, -10]);
  assert.equal(rec.state, "closed");
});

Deno.test("flow table: a flow first seen by its SYN-ACK is flipped", () => {
  const t = new FlowTable(new Weirds(), { maxFlows: 4 });
  const s = t.track(pkt({ ...S, flags: 0x12 }, 1000));
  assert.equal(t.dir, 1);
  const rec = flowRecord(t, s);
  assert.equal(rec.client, "10.0.0.1:5000");
  assert.equal(rec.history[0], "^");
});

Deno.test("flow table: IPv6 keys and midstream pickup", () => {
  const t = new FlowTable(new Weirds(), { maxFlows: 4 });
  const c6 = { src: "2001:db8::1", dst: "2001:db8::2", sport: 1, dport: 2 };
  const s = t.track(pkt({ ...c6, payload: 10 }, 5));
  assert.equal(t.stateOf(s), FlowState.MIDSTREAM);
  assert.equal(t.track(pkt({ src: c6.dst, dst: c6.src, sport: 2, dport: 1, payload: 5 }, 6)), s);
  assert.equal(t.stateOf(s), FlowState.ESTABLISHED);
  assert.equal(flowRecord(t, s).client, "[2001:db8::1]:1");
});

Deno.test("flow table: packet-time expiry per state, across a day boundary", () => {
  const t = new FlowTable(new Weirds(), { maxFlows: 8, timeouts: { closed: 5, udp: 30 } });
  const ended: Array<[number, number]> = [];
  t.onEnd((slot, reason) => ended.push([t.flowId(slot), reason]));
  const midnight = Date.UTC(2026, 10, 26) / 1000;
  const u = t.track(pkt({ ...C, proto: 17, payload: 20 }, midnight - 10));
  const tcp = t.track(pkt({ ...C, sport: 7000, flags: 0x04 }, midnight - 9));
  assert.equal(t.stateOf(tcp), FlowState.RESET);
  t.track(pkt({ ...C, sport: 7001, flags: 0x02 }, midnight - 2)); // opening: 60 s
  t.track(pkt({ ...C, sport: 7002, flags: 0x02 }, midnight + 1)); // next day
  assert.deepEqual(ended, [[2, EndReason.TIMEOUT]]); // the RST flow (id 2), closed timeout 5 s
  assert.equal(t.flowId(u) !== 0, true);
  t.track(pkt({ ...C, sport: 7003, flags: 0x02 }, midnight + 25));
  assert.equal(ended.length, 2);
  assert.equal(ended[1][0], 1);
  // An older timestamp (merged files) does not move time backwards.
  t.track(pkt({ ...C, sport: 7004, flags: 0x02 }, midnight - 100));
  assert.equal(t.now, midnight + 25);
  assert.equal(t.active, 4); // SYNs 7001..7004 (60 s opening timeout)
});

Deno.test("flow table: full table evicts the least recently active flow", () => {
  const w = new Weirds();
  const t = new FlowTable(w, { maxFlows: 3 });
  const ended: number[] = [];
  t.onEnd((slot) => ended.push(t.flowId(slot)));
  t.track(pkt({ ...C, sport: 1, flags: 0x02 }, 10));
  t.track(pkt({ ...C, sport: 2, flags: 0x02 }, 11));
  t.track(pkt({ ...C, sport: 3, flags: 0x02 }, 12));
  t.track(pkt({ ...C, sport: 1, flags: 0x10 }, 13)); // flow 1 active again
  t.track(pkt({ ...C, sport: 4, flags: 0x02 }, 14));
  assert.deepEqual(ended, [2]);
  assert.equal(t.evicted, 1);
  assert.equal(w.get("flow_evicted"), 1);
  assert.equal(t.active, 3);
});

Deno.test("flow table: many flows, deletions keep every lookup right", () => {
  const t = new FlowTable(new Weirds(), { maxFlows: 5000, timeouts: { opening: 1 } });
  const ids = new Map<number, number>();
  let ts = 100;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4000; i++) {
      const s = t.track(pkt({ ...C, sport: 1024 + i, dport: 80 + round, flags: 0x02 }, ts));
      ids.set(i, t.flowId(s));
    }
    for (let i = 0; i < 4000; i++) {
      const s = t.track(pkt({ ...C, sport: 1024 + i, dport: 80 + round, flags: 0x02 }, ts));
      assert.equal(t.created, false);
      assert.equal(t.flowId(s), ids.get(i));
    }
    ts += 5; // the next round expires the previous one
  }
  assert.equal(t.total, 12000);
  t.flush();
  assert.equal(t.active, 0);
});
