import assert from "node:assert/strict";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Decoder, DecodeResult } from "../../src/decode/decoder.ts";
import { packetPairHash } from "../../src/decode/pair_hash.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import { ethernet, ipPacket } from "../helpers/frames.ts";

function decoded(src: string, dst: string, sport = 40000, dport = 443) {
  const frame = ethernet(ipPacket({ src, dst, sport, dport, payload: 10 }));
  const raw = new RawPacket();
  raw.buf = frame;
  raw.offset = 0;
  raw.capLen = raw.wireLen = frame.length;
  raw.linkType = LinkType.ETHERNET;
  const d = new Decoder(new Weirds());
  assert.equal(d.decode(raw), DecodeResult.OK);
  return packetPairHash(d.pkt);
}

Deno.test("pair hash: values of an independent C implementation (fmix32, polynomial IPv6 fold)", () => {
  // gcc reference: fmix(10.77.1.2) ^ fmix(10.77.2.2); IPv6 2001:db8::1 / 2001:db8::2
  // (keys ((w0·P + w1)·P + w2)·P + w3, P = 0x9e3779b1); fmix32(1) ^ fmix32(0).
  assert.equal(decoded("10.77.1.2", "10.77.2.2"), 1392906416);
  assert.equal(decoded("2001:db8::1", "2001:db8::2"), 2698398554);
  assert.equal(decoded("0.0.0.1", "0.0.0.0"), 1364076727);
});

Deno.test("pair hash: both directions and every port of a pair give one hash", () => {
  const h = decoded("192.0.2.7", "198.51.100.9");
  assert.equal(decoded("198.51.100.9", "192.0.2.7", 443, 40000), h);
  assert.equal(decoded("192.0.2.7", "198.51.100.9", 5555, 40001), h);
  assert.equal(
    decoded("2001:db8:1::7", "2001:db8:2::9"),
    decoded("2001:db8:2::9", "2001:db8:1::7"),
  );
});

Deno.test("pair hash: pairs sharing the XOR of their addresses are spread (no raw-XOR collisions)", () => {
  // 10.0.i.1 <-> 10.1.i.1 all have the same a ^ b; the mixed hash must still split them.
  const counts = [0, 0];
  for (let i = 0; i < 256; i++) counts[decoded(`10.0.${i}.1`, `10.1.${i}.1`) % 2]++;
  assert.ok(counts[0] > 100 && counts[1] > 100, `split ${counts}`);
});
