import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { RawPacket } from "../../src/capture/raw_packet.ts";
import { Decoder, DecodeResult } from "../../src/decode/decoder.ts";
import { IpProto } from "../../src/decode/packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import {
  OpenVpnOpcode,
  OpenVpnPacket,
  type OpenVpnPacketSink,
  OpenVpnTcpFramer,
} from "../../src/proto/openvpn_packet.ts";
import { concat } from "../helpers/bytes.ts";

const LAB4 = fileURLToPath(new URL("../../testdata/lab4/", import.meta.url));

/** UDP or TCP payloads of a capture, with the source port. */
async function payloads(file: string, proto: number): Promise<[number, Uint8Array][]> {
  const src = await openCaptureFiles([`${LAB4}${file}`]);
  const dec = new Decoder(new Weirds());
  const raw = new RawPacket();
  const out: [number, Uint8Array][] = [];
  do {
    while (src.next(raw)) {
      if (dec.decode(raw, dec.pkt) !== DecodeResult.OK) continue;
      const p = dec.pkt;
      if (p.proto !== proto || p.payloadCapLen === 0) continue;
      out.push([p.srcPort, p.buf.slice(p.payloadOffset, p.payloadOffset + p.payloadCapLen)]);
    }
  } while (await src.refill());
  src.close();
  return out;
}

/** Control packet in the plain layout. */
function control(
  opcode: number,
  keyId: number,
  sid: number[],
  acks: number[],
  remote: number[],
  packetId: number,
  payload = new Uint8Array(0),
): Uint8Array {
  const u32 = (v: number) => new Uint8Array([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
  return concat(
    new Uint8Array([(opcode << 3) | keyId]),
    new Uint8Array(sid),
    new Uint8Array([acks.length]),
    ...acks.map(u32),
    acks.length > 0 ? new Uint8Array(remote) : new Uint8Array(0),
    opcode === OpenVpnOpcode.ACK_V1 ? new Uint8Array(0) : u32(packetId),
    payload,
  );
}

Deno.test("OpenVpnPacket: the real SoftEther OpenVPN (UDP) exchange parses in the plain layout", async () => {
  const pk = new OpenVpnPacket();
  const seen: string[] = [];
  let serverSid = "", clientSid = "";
  for (const [sport, b] of await payloads("openvpn_udp_softether.pcap", IpProto.UDP)) {
    assert.equal(pk.parse(b, 0, b.length), "ok", pk.reason);
    const who = sport === 1194 ? "s" : "c";
    const sid = `${pk.sessionHi}:${pk.sessionLo}`;
    if (!pk.isData) {
      if (who === "s") serverSid ||= sid;
      else clientSid ||= sid;
      assert.equal(sid, who === "s" ? serverSid : clientSid);
      if (pk.ackCount > 0) {
        assert.equal(`${pk.remoteHi}:${pk.remoteLo}`, who === "s" ? clientSid : serverSid);
      }
    }
    if (seen.length < 12) {
      seen.push(
        `${who}${pk.opcode}/${pk.ackCount}:${[
          ...pk.acks.subarray(0, pk.ackCount),
        ]}/${pk.packetId}/${pk.payloadLen}`,
      );
    }
  }
  // Client reset; server reset acking it, no payload; ClientHello; the server's
  // TLS flight in 1,200-byte control payloads; the client re-acks (OpenVPN 2.6),
  // the server acks each id once.
  assert.deepEqual(seen, [
    "c7/0:/0/0",
    "s8/1:0/0/0",
    "c4/1:0/1/277",
    "s4/1:1/1/1200",
    "c5/2:1,0/-1/0",
    "s4/0:/2/162",
    "c4/3:2,1,0/2/105",
    "s4/1:2/3/51",
    "c4/4:3,2,1,0/3/524",
    "s4/1:3/4/226",
    "c5/4:4,3,2,1/-1/0",
    "c4/4:4,3,2,1/4/42",
  ]);
});

Deno.test("OpenVpnTcpFramer: the real SoftEther OpenVPN (TCP) streams cut into packets", async () => {
  const pk = new OpenVpnPacket();
  const got: string[] = [];
  const sink = (who: string): OpenVpnPacketSink => ({
    packet(buf, off, len, full) {
      assert.equal(len, full);
      assert.equal(pk.parse(buf, off, len), "ok");
      got.push(`${who}${pk.opcode}:${pk.payloadLen}`);
    },
  });
  const c = new OpenVpnTcpFramer(sink("c")), s = new OpenVpnTcpFramer(sink("s"));
  for (const [sport, b] of await payloads("openvpn_tcp_softether.pcap", IpProto.TCP)) {
    (sport === 443 ? s : c).feed(b, 0, b.length);
  }
  assert.equal(c.desync || s.desync, false);
  assert.deepEqual(got.slice(0, 8), [
    "c7:0",
    "s8:0",
    "c4:277",
    "s4:1200",
    "s4:162",
    "c5:0",
    "c4:105",
    "s4:51",
  ]);
  assert.ok(got.includes("s6:68"), "P_DATA_V1 from the server");
  assert.equal(got.filter((g) => g.startsWith("s9") || g.startsWith("c9")).length, 0);
});

Deno.test("OpenVpnTcpFramer: any split of the stream gives the same packets; oversize and zero length", () => {
  const pkts = [
    control(7, 0, [1, 2, 3, 4, 5, 6, 7, 8], [], [], 0),
    control(
      4,
      0,
      [1, 2, 3, 4, 5, 6, 7, 8],
      [0],
      [9, 9, 9, 9, 9, 9, 9, 9],
      1,
      new Uint8Array(1500).fill(7),
    ),
    new Uint8Array([6 << 3, 1, 2, 3]),
  ];
  const stream = concat(
    ...pkts.map((p) => concat(new Uint8Array([p.length >> 8, p.length & 255]), p)),
  );
  for (const step of [1, 2, 3, 5, 64, 1000, stream.length]) {
    const got: [number, number, number][] = [];
    const f = new OpenVpnTcpFramer({
      packet(buf, off, len, full) {
        got.push([buf[off] >> 3, len, full]);
      },
    }, 1024);
    for (let o = 0; o < stream.length; o += step) {
      f.feed(stream, o, Math.min(step, stream.length - o));
    }
    // The 1,500-byte payload packet, when split, is kept up to the framer's 1,024 bytes.
    const big = pkts[1].length;
    assert.deepEqual(got.map((g) => g[0]), [7, 4, 6], `step ${step}`);
    assert.equal(got[1][2], big);
    assert.ok(got[1][1] === big || got[1][1] === 1024, `step ${step}: ${got[1][1]}`);
    assert.equal(f.packets, 3);
  }
  const f = new OpenVpnTcpFramer({ packet() {} });
  f.feed(new Uint8Array([0, 0, 0, 14]), 0, 4);
  assert.equal(f.desync, true);
  // reset() forgets a half-gathered packet and the desync (a framer is reused).
  const lens: number[] = [];
  const g = new OpenVpnTcpFramer({
    packet(_b, _o, len) {
      lens.push(len);
    },
  });
  g.feed(stream, 0, 7); // inside the first packet
  g.reset();
  g.feed(stream, 0, stream.length);
  assert.deepEqual(lens, pkts.map((p) => p.length));
  f.reset();
  f.feed(stream, 0, stream.length);
  assert.equal(f.desync, false);
  assert.equal(f.packets, 3);
});

Deno.test("OpenVpnPacket: layouts, limits and malformed packets", () => {
  const pk = new OpenVpnPacket();
  const sid = [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4];
  const rem = [9, 8, 7, 6, 5, 4, 3, 2];
  const ack = control(5, 2, sid, [7, 8, 0xffffffff], rem, 0);
  assert.equal(pk.parse(ack, 0, ack.length), "ok");
  assert.equal(pk.opcode, OpenVpnOpcode.ACK_V1);
  assert.equal(pk.keyId, 2);
  assert.equal(pk.sessionHi, 0xdeadbeef);
  assert.equal(pk.sessionLo, 0x01020304);
  assert.deepEqual([...pk.acks.subarray(0, 3)], [7, 8, 0xffffffff]);
  assert.equal(pk.remoteHi, 0x09080706);
  assert.equal(pk.packetId, -1);
  assert.equal(pk.payloadLen, 0);
  // Eight acks is OpenVPN's most; nine is not the plain layout.
  const eight = control(4, 0, sid, [1, 2, 3, 4, 5, 6, 7, 8], rem, 9, new Uint8Array([0x16]));
  assert.equal(pk.parse(eight, 0, eight.length), "ok");
  assert.equal(pk.ackCount, 8);
  assert.equal(pk.packetId, 9);
  assert.equal(pk.payloadLen, 1);
  const nine = control(4, 0, sid, [1, 2, 3, 4, 5, 6, 7, 8, 9], rem, 9);
  assert.equal(pk.parse(nine, 0, nine.length), "no");
  assert.equal(pk.reason, "too_many_acks");
  // Data packets: opcode and key id only.
  const data = new Uint8Array([(9 << 3) | 1, 0, 0, 1, 0xaa]);
  assert.equal(pk.parse(data, 0, data.length), "ok");
  assert.equal(pk.isData, true);
  assert.equal(pk.opcode, OpenVpnOpcode.DATA_V2);
  assert.equal(pk.payloadLen, 4);
  // Bad opcodes, empty, every truncation of a control packet.
  assert.equal(pk.parse(new Uint8Array([0]), 0, 1), "no");
  assert.equal(pk.parse(new Uint8Array([12 << 3]), 0, 1), "no");
  assert.equal(pk.parse(new Uint8Array(0), 0, 0), "no");
  for (let n = 1; n < eight.length - 1; n++) {
    assert.equal(pk.parse(eight, 0, n), "no", `cut at ${n}`);
  }
  assert.equal(pk.parse(eight, 0, eight.length - 1), "ok"); // the payload may be empty
  // In place at an offset, and a region past the buffer.
  const at = concat(new Uint8Array(5), ack);
  assert.equal(pk.parse(at, 5, ack.length), "ok");
  assert.equal(pk.parse(at, 5, ack.length + 1), "no");
});
