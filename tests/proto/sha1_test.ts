import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Sha1 } from "../../src/proto/sha1.ts";

function nodeSha1(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha1").update(b).digest());
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

Deno.test("Sha1: known vectors", () => {
  const s = new Sha1();
  const out = new Uint8Array(20);
  const enc = new TextEncoder();
  const cases: [string, string][] = [
    ["", "da39a3ee5e6b4b0d3255bfef95601890afd80709"],
    ["abc", "a9993e364706816aba3e25717850c26c9cd0d89d"],
    [
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
    ],
  ];
  for (const [text, want] of cases) {
    const b = enc.encode(text);
    s.digest(b, 0, b.length, out, 0);
    assert.equal(hex(out), want, text);
  }
});

Deno.test("Sha1: every length 0-300 and ranges inside a buffer agree with node:crypto", () => {
  const s = new Sha1();
  const buf = new Uint8Array(1500);
  let x = 12345;
  for (let i = 0; i < buf.length; i++) {
    buf[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  }
  const out = new Uint8Array(30);
  for (let len = 0; len <= 300; len++) {
    const off = (len * 7) % 200;
    const want = nodeSha1(buf.subarray(off, off + len));
    s.digest(buf, off, len, out, 5);
    assert.equal(hex(out.subarray(5, 25)), hex(want), `len ${len}`);
    assert.equal(s.matches(buf, off, len, want, 0), true);
  }
  for (const len of [1000, 1357, 1472, 1480]) {
    const want = nodeSha1(buf.subarray(20, 20 + len));
    assert.equal(s.matches(buf, 20, len, want, 0), true, `len ${len}`);
  }
});

Deno.test("Sha1.matches: a changed byte or digest fails; bad ranges are false", () => {
  const s = new Sha1();
  const data = new Uint8Array(100).map((_, i) => i * 3);
  const pkt = new Uint8Array(120);
  pkt.set(nodeSha1(data), 0);
  pkt.set(data, 20);
  assert.equal(s.matches(pkt, 20, 100, pkt, 0), true);
  pkt[70] ^= 1;
  assert.equal(s.matches(pkt, 20, 100, pkt, 0), false);
  pkt[70] ^= 1;
  pkt[19] ^= 0x80;
  assert.equal(s.matches(pkt, 20, 100, pkt, 0), false);
  pkt[19] ^= 0x80;
  assert.equal(s.matches(pkt, 20, 101, pkt, 0), false); // past the end
  assert.equal(s.matches(pkt, 20, 100, pkt, 101), false); // digest past the end
  assert.equal(s.matches(pkt, -1, 10, pkt, 0), false);
});
