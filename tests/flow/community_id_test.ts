import assert from "node:assert/strict";
import { communityId } from "../../src/flow/community_id.ts";

/** Parses dotted-quad or RFC 4291 text into network-order bytes (test helper). */
function ipBytes(text: string): Uint8Array {
  if (!text.includes(":")) return new Uint8Array(text.split(".").map(Number));
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined
    ? left
    : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** [proto, saddr, daddr, sport, dport, default-seed ID, seed-1 ID]. */
type Vector = [number, string, string, number, number, string, string];

// From corelight/community-id-spec baseline/baseline_deflt.json and
// baseline/baseline_seed1.json (both directions of each flow are listed there).
const VECTORS: Vector[] = [
  [
    6,
    "128.232.110.120",
    "66.35.250.204",
    34855,
    80,
    "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
    "1:3V71V58M3Ksw/yuFALMcW0LAHvc=",
  ],
  [
    17,
    "192.168.1.52",
    "8.8.8.8",
    54585,
    53,
    "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
    "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=",
  ],
  [
    6,
    "2001:470:e5bf:dead:4957:2174:e82c:4887",
    "2607:f8b0:400c:c03::1a",
    63943,
    25,
    "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
    "1:eJYTW6AOzFLlSUoESovMjnu7rMw=",
  ],
  [
    132,
    "192.168.170.8",
    "192.168.170.56",
    7,
    7,
    "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
    "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=",
  ],
  [
    46,
    "10.1.12.1",
    "10.1.12.2",
    0,
    0,
    "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=",
    "1:rYir8gphR31noO9iDRQmF/BteEI=",
  ],
  [
    1,
    "192.168.0.89",
    "192.168.0.1",
    8,
    0,
    "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
    "1:03g6IloqVBdcZlPyX8r0hgoE7kA=",
  ],
  [
    1,
    "192.168.0.1",
    "192.168.0.89",
    0,
    8,
    "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
    "1:03g6IloqVBdcZlPyX8r0hgoE7kA=",
  ],
  [
    1,
    "10.0.0.1",
    "10.0.0.2",
    11,
    0,
    "1:YHxtAirCG//0OzkcVAukqKQN9xM=",
    "1:XjUibYHaafLQ3pxQeiMI8g25q20=",
  ],
  [
    58,
    "fe80::200:86ff:fe05:80da",
    "fe80::260:97ff:fe07:69ea",
    135,
    0,
    "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
    "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=",
  ],
  [
    58,
    "fe80::260:97ff:fe07:69ea",
    "fe80::200:86ff:fe05:80da",
    136,
    0,
    "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
    "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=",
  ],
  [
    58,
    "3ffe:501:1800:2345::2",
    "3ffe:507:0:1:200:86ff:fe05:80da",
    3,
    0,
    "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=",
    "1:lVEtCZpYu84Xqaa++3lXFyuu2n4=",
  ],
  [
    58,
    "fe80::200:86ff:fe05:80da",
    "ff02::2",
    133,
    0,
    "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=",
    "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8=",
  ],
];

/** Calls communityId on text addresses. */
function cid(v: Vector, seed: number, reverse = false): string {
  const [proto, s, d, sp, dp] = v;
  const version = s.includes(":") ? 6 : 4;
  return reverse
    ? communityId(version, ipBytes(d), ipBytes(s), proto, dp, sp, seed)
    : communityId(version, ipBytes(s), ipBytes(d), proto, sp, dp, seed);
}

Deno.test("communityId matches the spec baseline (seed 0 and seed 1)", () => {
  for (const v of VECTORS) {
    assert.equal(cid(v, 0), v[5], `${v[1]} -> ${v[2]} proto ${v[0]}`);
    assert.equal(cid(v, 1), v[6], `${v[1]} -> ${v[2]} proto ${v[0]} seed 1`);
  }
});

Deno.test("communityId is direction-independent for port protocols", () => {
  for (const v of VECTORS.filter((v) => v[0] === 6 || v[0] === 17 || v[0] === 132)) {
    assert.equal(cid(v, 0, true), v[5]);
    assert.equal(cid(v, 1, true), v[6]);
  }
});

Deno.test("communityId: the published TCP example", () => {
  const src = new Uint8Array([128, 232, 110, 120]);
  const dst = new Uint8Array([66, 35, 250, 204]);
  assert.equal(communityId(4, src, dst, 6, 34855, 80), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  assert.equal(communityId(4, dst, src, 6, 80, 34855), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  assert.equal(communityId(4, src, dst, 6, 34855, 80, 1), "1:3V71V58M3Ksw/yuFALMcW0LAHvc=");
});

Deno.test("communityId: same address, ports decide the order", () => {
  const a = new Uint8Array([10, 0, 0, 1]);
  assert.equal(communityId(4, a, a, 6, 1000, 2000), communityId(4, a, a, 6, 2000, 1000));
});

Deno.test("communityId rejects bad input", () => {
  const v4 = new Uint8Array(4), v6 = new Uint8Array(16);
  assert.throws(() => communityId(4, v6, v4, 6, 1, 2), RangeError);
  assert.throws(() => communityId(6, v4, v4, 6, 1, 2), RangeError);
  assert.throws(() => communityId(4, v4, v4, 256, 1, 2), RangeError);
  assert.throws(() => communityId(4, v4, v4, 6, 65536, 2), RangeError);
  assert.throws(() => communityId(4, v4, v4, 6, 1, 2, -1), RangeError);
  assert.throws(() => communityId(5 as 4, v4, v4, 6, 1, 2), RangeError);
});
