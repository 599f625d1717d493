import assert from "node:assert/strict";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Decoder, DecodeResult } from "../../src/decode/decoder.ts";
import { addressToString } from "../../src/decode/packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import {
  bsdNull,
  ethernet,
  ipPacket,
  ipv6WithExtensions,
  type SegmentSpec,
  sll,
  sll2,
} from "../helpers/frames.ts";

const SPEC: SegmentSpec = {
  src: "10.0.0.1",
  dst: "192.168.1.2",
  sport: 40000,
  dport: 443,
  flags: 0x18,
  seq: 0xfffffff0,
  ack: 77,
  payload: 100,
};

function raw(frame: Uint8Array, linkType: number = LinkType.ETHERNET, pad = 0): RawPacket {
  const r = new RawPacket();
  // Place the frame at an offset inside a larger buffer, as readers do.
  r.buf = new Uint8Array(frame.length + 7 + pad);
  r.buf.set(frame, 7);
  r.offset = 7;
  r.capLen = frame.length + pad;
  r.wireLen = frame.length + pad;
  r.linkType = linkType;
  r.tsSec = 1_790_000_000;
  r.tsNsec = 500_000_000;
  return r;
}

function decode(r: RawPacket) {
  const w = new Weirds();
  const d = new Decoder(w);
  return { res: d.decode(r), p: d.pkt, w };
}

Deno.test("decoder: Ethernet IPv4 TCP fields and payload view", () => {
  const { res, p } = decode(raw(ethernet(ipPacket(SPEC))));
  assert.equal(res, DecodeResult.OK);
  assert.equal(p.ipVersion, 4);
  assert.equal(addressToString(4, p.src), "10.0.0.1");
  assert.equal(addressToString(4, p.dst), "192.168.1.2");
  assert.equal(p.proto, 6);
  assert.equal(p.srcPort, 40000);
  assert.equal(p.dstPort, 443);
  assert.equal(p.tcpFlags, 0x18);
  assert.equal(p.seq, 0xfffffff0);
  assert.equal(p.ack, 77);
  assert.equal(p.payloadLen, 100);
  assert.equal(p.payloadCapLen, 100);
  assert.equal(p.payloadOffset, 7 + 14 + 20 + 20);
  assert.equal(p.ts, 1_790_000_000.5);
});

Deno.test("decoder: TCP options are skipped by data offset", () => {
  const { p } = decode(raw(ethernet(ipPacket({ ...SPEC, tcpOptions: 12 }))));
  assert.equal(p.payloadOffset, 7 + 14 + 20 + 32);
  assert.equal(p.payloadLen, 100);
});

Deno.test("decoder: Ethernet padding is not payload", () => {
  const small = { ...SPEC, payload: 0, flags: 0x10 };
  const { p } = decode(raw(ethernet(ipPacket(small)), LinkType.ETHERNET, 6));
  assert.equal(p.payloadLen, 0);
  assert.equal(p.payloadCapLen, 0);
});

Deno.test("decoder: 802.1Q, 802.1ad and QinQ tags", () => {
  for (const tags of [[[0x8100, 10]], [[0x88a8, 100], [0x8100, 20]], [[0x9100, 5], [0x8100, 6]]]) {
    const { res, p } = decode(raw(ethernet(ipPacket(SPEC), tags as Array<[number, number]>)));
    assert.equal(res, DecodeResult.OK);
    assert.equal(p.vlanCount, tags.length);
    assert.equal(p.vlans[0], tags[0][1]);
    assert.equal(p.dstPort, 443);
  }
});

Deno.test("decoder: SLL, SLL2, raw IP, NULL and LOOP link types", () => {
  const ip = ipPacket(SPEC);
  const loop = new Uint8Array(4 + ip.length);
  loop[3] = 2; // AF_INET in network order
  loop.set(ip, 4);
  const cases: Array<[Uint8Array, number]> = [
    [sll(ip), LinkType.LINUX_SLL],
    [sll2(ip), LinkType.LINUX_SLL2],
    [ip, LinkType.RAW],
    [ip, 12],
    [ip, LinkType.IPV4],
    [bsdNull(ip), LinkType.NULL],
    [loop, LinkType.LOOP],
  ];
  for (const [frame, lt] of cases) {
    const { res, p } = decode(raw(frame, lt));
    assert.equal(res, DecodeResult.OK, `link type ${lt}`);
    assert.equal(p.payloadLen, 100, `link type ${lt}`);
  }
});

Deno.test("decoder: IPv6 with extension headers and UDP", () => {
  const spec6 = { ...SPEC, src: "2001:db8::1", dst: "fe80::2:3", proto: 17 };
  const { res, p } = decode(raw(ethernet(ipv6WithExtensions(spec6, [0, 60, 43]))));
  assert.equal(res, DecodeResult.OK);
  assert.equal(p.ipVersion, 6);
  assert.equal(addressToString(6, p.src), "2001:db8::1");
  assert.equal(addressToString(6, p.dst), "fe80::2:3");
  assert.equal(p.proto, 17);
  assert.equal(p.payloadLen, 100);
  const { p: q } = decode(
    raw(bsdNull(ipv6WithExtensions({ ...SPEC, src: "::1", dst: "::2" }, [])), 0),
  );
  assert.equal(q.ipVersion, 6);
  assert.equal(q.dstPort, 443);
});

Deno.test("decoder: IPv4 non-first fragments are skipped and counted", () => {
  const { res, w } = decode(raw(ethernet(ipPacket(SPEC, 185))));
  assert.equal(res, DecodeResult.SKIP);
  assert.equal(w.get("ipv4_nonfirst_fragment"), 1);
  const first = decode(raw(ethernet(ipPacket(SPEC, 0, true))));
  assert.equal(first.res, DecodeResult.OK);
  assert.equal(first.p.fragment, true);
});

Deno.test("decoder: malformed input is counted by reason, never thrown", () => {
  const good = ethernet(ipPacket(SPEC));
  const cases: Array<[Uint8Array, string, number?]> = [
    [good.subarray(0, 10), "truncated_link_header"],
    [good.subarray(0, 14 + 12), "truncated_ip_header"],
    [good.subarray(0, 14 + 20 + 10), "truncated_tcp_header"],
    [new Uint8Array(30), "unknown_link_type", 999],
  ];
  for (const [frame, weird, lt] of cases) {
    const { res, w } = decode(raw(frame, lt ?? LinkType.ETHERNET));
    assert.equal(res, DecodeResult.SKIP);
    assert.equal(w.get(weird as never), 1, weird);
  }
  const badIhl = good.slice();
  badIhl[14] = 0x43;
  assert.equal(decode(raw(badIhl)).w.get("bad_ipv4_header_length"), 1);
  const badOff = good.slice();
  badOff[14 + 20 + 12] = 0x20; // data offset 8 bytes
  assert.equal(decode(raw(badOff)).w.get("bad_tcp_header_length"), 1);
  // Fuzz: random bytes never throw.
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 255;
  for (let i = 0; i < 2000; i++) {
    const f = good.slice();
    for (let k = 0; k < 4; k++) f[rnd() % f.length] = rnd();
    decode(raw(f.subarray(0, rnd() % f.length)));
  }
});

Deno.test("decoder: snaplen-cut packets keep the wire payload length", () => {
  const frame = ethernet(ipPacket({ ...SPEC, payload: 1000 }));
  const r = raw(frame);
  r.capLen = 128;
  r.wireLen = frame.length;
  const { res, p, w } = decode(r);
  assert.equal(res, DecodeResult.OK);
  assert.equal(p.payloadLen, 1000);
  assert.equal(p.payloadCapLen, 128 - 54);
  assert.equal(w.get("ip_snaplen_cut"), 1);
});
