import assert from "node:assert/strict";
import { PackReader, PackValueType } from "../../src/proto/softether_pack.ts";
import { concat } from "../helpers/bytes.ts";
import { be32, pack } from "../helpers/pack_builder.ts";
import { fromHex } from "./fixture.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

/** The 99-byte NAT-T `get_token` datagram of testdata/lab3/infra_server.pcap (UDP to port 5004). */
const GET_TOKEN = fromHex(
  "00000003000000076f70636f64650000000200000001000000096765745f746f6b656e" +
    "000000087472616e5f69640000000400000001b8cd764309a9b3aa" +
    "000000166e61745f74726176657273616c5f76657273696f6e000000000000000100000001",
);

/** Element names, types and value counts of a whole walk. */
function walk(buf: Uint8Array, off = 0, len = buf.length): [string, number, number][] {
  const r = new PackReader();
  const out: [string, number, number][] = [];
  if (!r.begin(buf, off, len)) return out;
  while (r.next()) {
    out.push([
      new TextDecoder().decode(buf.subarray(r.nameOffset, r.nameOffset + r.nameLength)),
      r.type,
      r.valueCount,
    ]);
  }
  return out;
}

Deno.test("pack: the real get_token datagram walks to its three elements", () => {
  assert.equal(GET_TOKEN.length, 99);
  assert.deepEqual(walk(GET_TOKEN), [
    ["opcode", PackValueType.STR, 1],
    ["tran_id", PackValueType.INT64, 1],
    ["nat_traversal_version", PackValueType.INT, 1],
  ]);
  const r = new PackReader();
  assert.ok(r.begin(GET_TOKEN, 0, GET_TOKEN.length));
  assert.equal(r.count, 3);
  assert.ok(r.find(ascii("OPCODE")), "names compare case-insensitively");
  assert.ok(r.firstValueIs(ascii("get_token")));
  assert.ok(!r.firstValueIs(ascii("get_tokeN")), "values compare exactly");
  assert.ok(!r.firstValueIs(ascii("get_toke")));
  assert.ok(r.find(ascii("nat_traversal_version")));
  assert.equal(r.firstLength, 4);
  assert.equal(GET_TOKEN[r.firstOffset + 3], 1);
  assert.ok(!r.next());
  assert.equal(r.consumed, 99);
  assert.ok(!r.malformed && !r.truncated);
  // find continues from the current element: nothing named opcode after the end
  assert.ok(!r.find(ascii("opcode")));
});

Deno.test("pack: every value type, several values, at an offset", () => {
  const p = pack([
    ["i", { int: 7 }, { int: 8 }],
    ["d", { data: new Uint8Array([1, 2, 3]) }],
    ["s", { str: "" }, { str: "abc" }],
    ["u", { unistr: "é" }],
    ["q", { int64: 5n }],
    ["none"],
  ]);
  const buf = concat(new Uint8Array([9, 9, 9]), p, new Uint8Array([9]));
  assert.deepEqual(walk(buf, 3, p.length), [
    ["i", 0, 2],
    ["d", 1, 1],
    ["s", 2, 2],
    ["u", 3, 1],
    ["q", 4, 1],
    ["none", 0, 0],
  ]);
  const r = new PackReader();
  r.begin(buf, 3, p.length);
  assert.ok(r.find(ascii("d")));
  assert.ok(r.firstValueIs(new Uint8Array([1, 2, 3])));
  assert.ok(r.find(ascii("s")));
  assert.equal(r.firstLength, 0);
  assert.ok(r.firstValueIs(new Uint8Array(0)));
  assert.ok(r.find(ascii("u")));
  assert.equal(r.firstLength, 3, "UNISTR: UTF-8 with its NUL");
  assert.ok(!r.firstValueIs(ascii("é\0")), "only STR and DATA values compare");
  assert.ok(r.find(ascii("q")));
  assert.equal(r.firstLength, 8);
  assert.ok(r.find(ascii("none")));
  assert.equal(r.firstLength, 0);
  assert.equal(r.consumed, 3 + p.length);
});

Deno.test("pack: a cut Pack yields its whole elements, then stops as truncated", () => {
  for (let cut = 0; cut < GET_TOKEN.length; cut++) {
    const r = new PackReader();
    const ok = r.begin(GET_TOKEN, 0, cut);
    assert.equal(ok, cut >= 4, `cut ${cut}`);
    let n = 0;
    while (r.next()) n++;
    const whole = cut >= 99 ? 3 : cut >= 62 ? 2 : cut >= 35 ? 1 : 0;
    assert.equal(n, whole, `cut ${cut}`);
    assert.ok(r.truncated, `cut ${cut}`);
    assert.ok(!r.malformed, `cut ${cut}`);
    assert.equal(r.consumed, 0);
  }
});

Deno.test("pack: malformed headers and elements stop the walk", () => {
  const r = new PackReader();
  assert.ok(!r.begin(be32(0), 0, 4), "no elements");
  assert.ok(r.malformed);
  assert.ok(!r.begin(be32(262145), 0, 4), "too many elements");
  assert.ok(r.begin(be32(262144), 0, 4));
  const el = (nameLenField: number, name: string, type: number, count: number, rest: Uint8Array) =>
    concat(be32(1), be32(nameLenField), ascii(name), be32(type), be32(count), rest);
  const cases: [string, Uint8Array][] = [
    ["empty name", el(1, "", 0, 1, be32(0))],
    ["name length 0", el(0, "", 0, 1, be32(0))],
    ["name of 64 bytes", el(65, "x".repeat(64), 0, 1, be32(0))],
    ["type 5", el(2, "a", 5, 1, be32(0))],
    ["value count too big", el(2, "a", 0, 262145, be32(0))],
  ];
  for (const [what, buf] of cases) {
    assert.ok(r.begin(buf, 0, buf.length), what);
    assert.ok(!r.next(), what);
    assert.ok(r.malformed, what);
  }
  // 63-byte names are the limit and fine
  const ok = el(64, "x".repeat(63), 0, 1, be32(0));
  assert.ok(r.begin(ok, 0, ok.length) && r.next() && !r.next() && r.consumed === ok.length);
  // a string whose length runs past the bytes is cut, not read beyond them
  const long = el(2, "a", 2, 1, concat(be32(1000), ascii("abc")));
  assert.ok(r.begin(long, 0, long.length));
  assert.ok(!r.next());
  assert.ok(r.truncated);
  // the buffer's end bounds a length that claims more
  assert.ok(r.begin(GET_TOKEN, 0, 1000));
  let n = 0;
  while (r.next()) n++;
  assert.equal(n, 3);
});

Deno.test("pack: random bytes and mutations of a real Pack never throw nor read past the end", () => {
  let seed = 0x1234_5678;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const r = new PackReader();
  for (let i = 0; i < 20_000; i++) {
    const buf = i % 2 === 0 ? GET_TOKEN.slice() : new Uint8Array(rnd() % 64);
    for (let k = 0; k < 1 + (rnd() % 4); k++) {
      if (buf.length > 0) buf[rnd() % buf.length] = rnd() & 255;
    }
    const len = rnd() % (buf.length + 1);
    if (!r.begin(buf, 0, len)) continue;
    while (r.next()) {
      assert.ok(r.nameOffset + r.nameLength <= len);
      assert.ok(r.firstOffset + r.firstLength <= len || r.valueCount === 0);
    }
  }
});
