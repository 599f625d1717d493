import assert from "node:assert/strict";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Decoder, DecodeResult } from "../../src/decode/decoder.ts";
import { addressToString } from "../../src/decode/packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import {
  bsdNull,
  ethernet,
  ipFragments,
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

Deno.test("decoder: IPv4 fragments decode the IP layer only", () => {
  const ip = ipPacket(SPEC); // 20 + 20 + 100
  const [first, second] = ipFragments(ip, 64, { id: 0xbeef });
  const a = decode(raw(ethernet(first)));
  assert.equal(a.res, DecodeResult.FRAGMENT);
  assert.equal(a.p.fragment, true);
  assert.equal(a.p.fragId, 0xbeef);
  assert.equal(a.p.fragOffset, 0);
  assert.equal(a.p.fragMore, true);
  assert.equal(a.p.proto, 6);
  assert.equal(a.p.srcPort, 0); // transport not decoded, even in the first fragment
  assert.equal(a.p.ipOffset, 7 + 14);
  assert.equal(a.p.ipHeaderLen, 20);
  assert.equal(a.p.payloadOffset, 7 + 14 + 20);
  assert.equal(a.p.payloadLen, 64);
  assert.equal(a.p.payloadCapLen, 64);
  assert.deepEqual(
    a.p.buf.subarray(a.p.payloadOffset, a.p.payloadOffset + 64),
    ip.subarray(20, 84),
  );
  const b = decode(raw(ethernet(second)));
  assert.equal(b.res, DecodeResult.FRAGMENT);
  assert.equal(b.p.fragOffset, 64);
  assert.equal(b.p.fragMore, false);
  assert.equal(b.p.payloadLen, 120 - 64);
  assert.deepEqual(b.w.toObject(), {});
  // Neither MF nor an offset (DF alone): a whole packet.
  const df = ipPacket(SPEC);
  df[6] = 0x40;
  const c = decode(raw(ethernet(df)));
  assert.equal(c.res, DecodeResult.OK);
  assert.equal(c.p.fragment, false);
  // The structure is reused: the flag is cleared for the next packet.
  const w = new Weirds();
  const d = new Decoder(w);
  assert.equal(d.decode(raw(ethernet(first))), DecodeResult.FRAGMENT);
  assert.equal(d.decode(raw(ethernet(ip))), DecodeResult.OK);
  assert.equal(d.pkt.fragment, false);
  assert.equal(d.pkt.dstPort, 443);
  assert.equal(d.counters.fragments, 1);
});

Deno.test("decoder: IPv6 Fragment header after other extension headers", () => {
  const spec6 = { ...SPEC, src: "2001:db8::1", dst: "2001:db8::2" };
  // Hop-by-Hop, Routing (unfragmentable), then Destination Options (fragmentable), TCP.
  const ip = ipv6WithExtensions(spec6, [0, 43, 60]);
  const frags = ipFragments(ip, 48, { id: 0x89abcdef });
  assert.equal(frags.length, 3); // 8 + 20 + 100 = 128 fragmentable bytes
  const a = decode(raw(ethernet(frags[0])));
  assert.equal(a.res, DecodeResult.FRAGMENT);
  assert.equal(a.p.ipVersion, 6);
  assert.equal(a.p.fragId, 0x89abcdef);
  assert.equal(a.p.fragOffset, 0);
  assert.equal(a.p.fragMore, true);
  assert.equal(a.p.proto, 60); // the Fragment header's next header
  assert.equal(a.p.ipHeaderLen, 40 + 16);
  assert.equal(a.p.fragNextHeaderOffset, 7 + 14 + 48); // the Routing header's Next Header
  assert.equal(a.p.payloadOffset, 7 + 14 + 56 + 8);
  assert.equal(a.p.payloadLen, 48);
  const c = decode(raw(ethernet(frags[2])));
  assert.equal(c.res, DecodeResult.FRAGMENT);
  assert.equal(c.p.fragOffset, 96);
  assert.equal(c.p.fragMore, false);
  assert.equal(c.p.payloadLen, 32);
  // Directly after the fixed header: the fixed header's Next Header byte.
  const plain = ipFragments(ipPacket(spec6), 64);
  const d = decode(raw(ethernet(plain[1])));
  assert.equal(d.res, DecodeResult.FRAGMENT);
  assert.equal(d.p.fragNextHeaderOffset, 7 + 14 + 6);
  assert.equal(d.p.proto, 6);
  assert.equal(d.p.ipHeaderLen, 40);
});

Deno.test("decoder: an IPv6 atomic fragment is decoded as a whole packet (RFC 6946)", () => {
  const spec6 = { ...SPEC, src: "2001:db8::1", dst: "2001:db8::2" };
  const [atomic] = ipFragments(ipPacket(spec6), [{ off: 0, len: 120, more: false }]);
  const { res, p, w } = decode(raw(ethernet(atomic)));
  assert.equal(res, DecodeResult.OK);
  assert.equal(p.fragment, false);
  assert.equal(p.dstPort, 443);
  assert.equal(p.payloadLen, 100);
  assert.equal(p.ipHeaderLen, 48);
  assert.deepEqual(w.toObject(), {});
});

Deno.test("decoder: fragments cut by the snaplen say so by payloadCapLen", () => {
  const [first] = ipFragments(ipPacket({ ...SPEC, payload: 1000 }), 512);
  const r = raw(ethernet(first));
  r.capLen = 100;
  const { res, p, w } = decode(r);
  assert.equal(res, DecodeResult.FRAGMENT);
  assert.equal(p.payloadLen, 512);
  assert.equal(p.payloadCapLen, 100 - 34);
  assert.equal(w.get("ip_snaplen_cut"), 1);
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
