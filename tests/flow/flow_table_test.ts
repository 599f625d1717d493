import assert from "node:assert/strict";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Decoder } from "../../src/decode/decoder.ts";
import type { DecodedPacket } from "../../src/decode/packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import { FlowState } from "../../src/flow/flow_state.ts";
import { EndReason, FlowTable, refDir, refSlot } from "../../src/flow/flow_table.ts";

/** Payload sizes a flow record keeps (src/flow/flow_table.ts). */
const SIZE_SEQ_MAX = 16;
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
  const w = new Weirds();
  const t = new FlowTable(w, { maxFlows: 16 });
  const t0 = 1_790_000_000;
  const r = t.track(pkt({ ...C, flags: 0x02, seq: 100 }, t0));
  const a = refSlot(r);
  assert.equal(t.total, 1); // created
  assert.equal(refDir(r), 0);
  assert.equal(r, a * 2);
  assert.equal(t.stateOf(a), FlowState.SYN_SENT);
  assert.equal(t.track(pkt({ ...S, flags: 0x12, seq: 900, ack: 101 }, t0 + 0.01)), a * 2 + 1);
  assert.equal(t.stateOf(a), FlowState.SYN_ACKED);
  assert.equal(t.track(pkt({ ...C, flags: 0x10, seq: 101, ack: 901 }, t0 + 0.02)), a * 2);
  assert.equal(t.stateOf(a), FlowState.ESTABLISHED);
  t.track(pkt({ ...C, flags: 0x18, seq: 101, payload: 300 }, t0 + 0.03));
  assert.equal(w.get("tcp_retransmission"), 0);
  t.track(pkt({ ...C, flags: 0x18, seq: 101, payload: 300 }, t0 + 0.04)); // retransmission
  assert.equal(w.get("tcp_retransmission"), 1);
  t.track(pkt({ ...S, flags: 0x18, seq: 901, payload: 1200 }, t0 + 0.05));
  assert.equal(w.get("tcp_stream_gap"), 0);
  t.track(pkt({ ...S, flags: 0x18, seq: 3000, payload: 10 }, t0 + 0.06)); // gap
  assert.equal(w.get("tcp_stream_gap"), 1);
  assert.equal(w.get("tcp_retransmission"), 1);
  t.track(pkt({ ...C, flags: 0x11, seq: 401 }, t0 + 0.07));
  assert.equal(t.stateOf(a), FlowState.CLOSING);
  t.track(pkt({ ...S, flags: 0x11, seq: 3010 }, t0 + 0.08));
  assert.equal(t.total, 1);
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
  const r = t.track(pkt({ ...S, flags: 0x12 }, 1000));
  const s = refSlot(r);
  assert.equal(refDir(r), 1);
  assert.equal(t.track(pkt({ ...C, flags: 0x10 }, 1000.01)), s * 2);
  const rec = flowRecord(t, s);
  assert.equal(rec.client, "10.0.0.1:5000");
  assert.equal(rec.history[0], "^");
});

Deno.test("flow table: IPv6 keys and midstream pickup", () => {
  const t = new FlowTable(new Weirds(), { maxFlows: 4 });
  const c6 = { src: "2001:db8::1", dst: "2001:db8::2", sport: 1, dport: 2 };
  const s = refSlot(t.track(pkt({ ...c6, payload: 10 }, 5)));
  assert.equal(t.stateOf(s), FlowState.MIDSTREAM);
  const back = t.track(pkt({ src: c6.dst, dst: c6.src, sport: 2, dport: 1, payload: 5 }, 6));
  assert.equal(back, s * 2 + 1);
  assert.equal(t.stateOf(s), FlowState.ESTABLISHED);
  assert.equal(flowRecord(t, s).client, "[2001:db8::1]:1");
});

Deno.test("flow table: packet-time expiry per state, across a day boundary", () => {
  const t = new FlowTable(new Weirds(), { maxFlows: 8, timeouts: { closed: 5, udp: 30 } });
  const ended: Array<[number, number]> = [];
  t.onEnd((slot, reason) => ended.push([t.flowId(slot), reason]));
  const midnight = Date.UTC(2026, 10, 26) / 1000;
  const u = refSlot(t.track(pkt({ ...C, proto: 17, payload: 20 }, midnight - 10)));
  const tcp = refSlot(t.track(pkt({ ...C, sport: 7000, flags: 0x04 }, midnight - 9)));
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
      const r = t.track(pkt({ ...C, sport: 1024 + i, dport: 80 + round, flags: 0x02 }, ts));
      assert.equal(refDir(r), 0);
      ids.set(i, t.flowId(refSlot(r)));
    }
    const total = t.total;
    for (let i = 0; i < 4000; i++) {
      const r = t.track(pkt({ ...C, sport: 1024 + i, dport: 80 + round, flags: 0x02 }, ts));
      assert.equal(refDir(r), 0);
      assert.equal(t.flowId(refSlot(r)), ids.get(i));
    }
    assert.equal(t.total, total); // found, none created
    ts += 5; // the next round expires the previous one
  }
  assert.equal(t.total, 12000);
  t.flush();
  assert.equal(t.active, 0);
});

Deno.test("flow table: streamStart and rolesFromHandshake of a flow opened by its SYN", () => {
  const t = new FlowTable(new Weirds(), { maxFlows: 4 });
  const a = refSlot(t.track(pkt({ ...C, flags: 0x02, seq: 100 }, 10)));
  assert.equal(t.rolesFromHandshake(a), true);
  assert.equal(t.streamStart(a, 0), 101);
  assert.equal(t.streamStart(a, 1), -1); // no SYN-ACK yet
  t.track(pkt({ ...S, flags: 0x12, seq: 0xfffffff0, ack: 101 }, 10.01));
  assert.equal(t.streamStart(a, 1), 0xfffffff1);
  // A retransmitted SYN with another ISN (or data) does not move the start.
  t.track(pkt({ ...C, flags: 0x02, seq: 5000 }, 10.02));
  t.track(pkt({ ...C, flags: 0x18, seq: 101, payload: 50 }, 10.03));
  assert.equal(t.streamStart(a, 0), 101);
  assert.equal(t.rolesFromHandshake(a), true);
});

Deno.test("flow table: streamStart wraps at 2^32", () => {
  const t = new FlowTable(new Weirds(), { maxFlows: 4 });
  const a = refSlot(t.track(pkt({ ...C, flags: 0x02, seq: 0xffffffff }, 10)));
  assert.equal(t.streamStart(a, 0), 0);
});

Deno.test("flow table: streamStart and roles of a flow first seen by its SYN-ACK", () => {
  const t = new FlowTable(new Weirds(), { maxFlows: 4 });
  const r = t.track(pkt({ ...S, flags: 0x12, seq: 7000, ack: 3001 }, 10));
  const a = refSlot(r);
  assert.equal(refDir(r), 1);
  assert.equal(t.rolesFromHandshake(a), true);
  assert.equal(t.streamStart(a, 1), 7001); // the server's
  assert.equal(t.streamStart(a, 0), -1); // the client's SYN was not seen
  assert.equal(t.track(pkt({ ...C, flags: 0x18, seq: 3001, ack: 7001, payload: 9 }, 10.1)), a * 2);
  assert.equal(t.streamStart(a, 0), -1);
});

Deno.test("flow table: a flow picked up mid-stream has no stream start and no handshake roles", () => {
  const t = new FlowTable(new Weirds(), { maxFlows: 4 });
  const a = refSlot(t.track(pkt({ ...C, flags: 0x18, seq: 555, payload: 20 }, 10)));
  t.track(pkt({ ...S, flags: 0x18, seq: 777, payload: 20 }, 10.1));
  assert.equal(t.rolesFromHandshake(a), false);
  assert.equal(t.streamStart(a, 0), -1);
  assert.equal(t.streamStart(a, 1), -1);
  // A reused slot starts clean (the previous flow's SYN state does not leak).
  const u = new FlowTable(new Weirds(), { maxFlows: 1 });
  const b = refSlot(u.track(pkt({ ...C, flags: 0x02, seq: 100 }, 10)));
  u.track(pkt({ ...S, flags: 0x12, seq: 200, ack: 101 }, 10.01));
  const b2 = refSlot(u.track(pkt({ ...C, sport: 5001, flags: 0x18, payload: 5 }, 11)));
  assert.equal(b2, b); // the only slot, after eviction
  assert.equal(u.rolesFromHandshake(b2), false);
  assert.equal(u.streamStart(b2, 0), -1);
  assert.equal(u.streamStart(b2, 1), -1);
});

Deno.test("flow table: SIZE_SEQ_MAX payload sizes are kept, the stream starts survive them", () => {
  const t = new FlowTable(new Weirds(), { maxFlows: 4 });
  const a = refSlot(t.track(pkt({ ...C, flags: 0x02, seq: 0x7ffffffe }, 10)));
  t.track(pkt({ ...S, flags: 0x12, seq: 0xdeadbeef, ack: 0x7fffffff }, 10.01));
  let cs = 0x7fffffff, ss = 0xdeadbef0;
  for (let i = 0; i < 20; i++) {
    t.track(pkt({ ...C, flags: 0x18, seq: cs, payload: 100 + i }, 10.1 + i / 100));
    cs += 100 + i;
    t.track(pkt({ ...S, flags: 0x18, seq: ss, payload: 200 + i }, 10.105 + i / 100));
    ss = (ss + 200 + i) >>> 0;
  }
  const sizes = flowRecord(t, a).sizes;
  assert.equal(sizes.length, SIZE_SEQ_MAX);
  assert.deepEqual(sizes.slice(0, 4), [100, -200, 101, -201]);
  assert.deepEqual(sizes.slice(-2), [107, -207]);
  assert.equal(t.streamStart(a, 0), 0x7fffffff);
  assert.equal(t.streamStart(a, 1), 0xdeadbef0);
});
