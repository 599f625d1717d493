import assert from "node:assert/strict";
import {
  DnsMessage,
  DnsSection,
  DnsType,
  isEdnsOptionChain,
  nameToWire,
} from "../../src/proto/dns_message.ts";

function u16(n: number): number[] {
  return [n >>> 8, n & 255];
}

function header(
  id: number,
  flags: number,
  qd: number,
  an: number,
  ns: number,
  ar: number,
): number[] {
  return [...u16(id), ...u16(flags), ...u16(qd), ...u16(an), ...u16(ns), ...u16(ar)];
}

function rr(name: number[], type: number, cls: number, ttl: number, rdata: number[]): number[] {
  return [
    ...name,
    ...u16(type),
    ...u16(cls),
    ttl >>> 24,
    (ttl >>> 16) & 255,
    (ttl >>> 8) & 255,
    ttl & 255,
    ...u16(rdata.length),
    ...rdata,
  ];
}

const wire = (s: string) => [...nameToWire(s)];

/** A response: question www.Example.COM A, answer by pointer, CNAME, OPT. */
function response(): Uint8Array {
  return new Uint8Array([
    ...header(0x1234, 0x8180, 1, 2, 0, 1),
    ...wire("www.Example.COM"),
    ...u16(1),
    ...u16(1),
    ...rr([0xc0, 12], DnsType.CNAME, 1, 300, [3, 0x63, 0x64, 0x6e, 0xc0, 16]),
    ...rr([3, 0x63, 0x64, 0x6e, 0xc0, 16], DnsType.A, 1, 0xfffffff0, [10, 0, 0, 1]),
    ...rr([0], DnsType.OPT, 1232, 0, [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]),
  ]);
}

Deno.test("nameToWire: labels, root, errors", () => {
  assert.deepEqual([...nameToWire("a.bc")], [1, 0x61, 2, 0x62, 0x63, 0]);
  assert.deepEqual([...nameToWire("a.bc.")], [1, 0x61, 2, 0x62, 0x63, 0]);
  assert.deepEqual([...nameToWire("")], [0]);
  assert.deepEqual([...nameToWire(".")], [0]);
  assert.throws(() => nameToWire("a..b"));
  assert.throws(() => nameToWire("x".repeat(64)));
});

Deno.test("DnsMessage: header, question and records with compression", () => {
  const m = new DnsMessage();
  const buf = response();
  assert.equal(m.parse(buf, 0, buf.length), true);
  assert.equal(m.id, 0x1234);
  assert.equal(m.isResponse, true);
  assert.equal(m.opcode, 0);
  assert.equal(m.rcode, 0);
  assert.deepEqual([m.qdCount, m.anCount, m.nsCount, m.arCount], [1, 2, 0, 1]);
  assert.equal(m.qNameOffset, 12);
  assert.equal(m.qLabels, 3);
  assert.equal(m.qNameLength, 17);
  assert.equal(m.qNameEnd, 12 + 17);
  assert.equal(m.qType, 1);
  assert.equal(m.qClass, 1);
  assert.equal(m.questionName(), "www.example.com");

  assert.equal(m.nextRecord(), true);
  assert.equal(m.rrSection, DnsSection.ANSWER);
  assert.equal(m.rrType, DnsType.CNAME);
  assert.equal(m.nameText(m.rrNameOffset), "www.example.com");
  assert.equal(m.nameText(m.rrDataOffset), "cdn.example.com");
  assert.equal(m.rrTtl, 300);
  assert.equal(m.nextRecord(), true);
  assert.equal(m.rrType, DnsType.A);
  assert.equal(m.rrTtl, 0xfffffff0);
  assert.equal(m.rrDataLength, 4);
  assert.deepEqual([...buf.subarray(m.rrDataOffset, m.rrDataOffset + 4)], [10, 0, 0, 1]);
  assert.equal(m.nameHasSuffix(m.rrNameOffset, nameToWire("EXAMPLE.com")), true);
  assert.equal(m.nextRecord(), true);
  assert.equal(m.rrSection, DnsSection.ADDITIONAL);
  assert.equal(m.rrType, DnsType.OPT);
  assert.equal(m.rrClass, 1232);
  assert.equal(m.rrDataLength, 12);
  assert.equal(isEdnsOptionChain(buf, m.rrDataOffset, m.rrDataLength), true);
  assert.equal(m.nextRecord(), false);
  assert.equal(m.recordsMalformed, false);
});

Deno.test("DnsMessage: parses at an offset inside a larger buffer", () => {
  const msg = response();
  const buf = new Uint8Array(msg.length + 50);
  buf.set(msg, 30);
  const m = new DnsMessage();
  assert.equal(m.parse(buf, 30, msg.length), true);
  assert.equal(m.questionName(), "www.example.com");
  let n = 0;
  while (m.nextRecord()) n++;
  assert.equal(n, 3);
  assert.equal(m.recordsMalformed, false);
  assert.equal(m.questionHasSuffix(nameToWire("example.com")), true);
});

Deno.test("DnsMessage: questionHasSuffix is label-aligned and case-insensitive", () => {
  const m = new DnsMessage();
  const buf = response();
  m.parse(buf, 0, buf.length);
  assert.equal(m.questionHasSuffix(nameToWire("example.com")), true);
  assert.equal(m.questionHasSuffix(nameToWire("EXAMPLE.COM")), true);
  assert.equal(m.questionHasSuffix(nameToWire("www.example.com")), true);
  assert.equal(m.questionHasSuffix(nameToWire("com")), true);
  assert.equal(m.questionHasSuffix(nameToWire("")), true);
  assert.equal(m.questionHasSuffix(nameToWire("ample.com")), false);
  assert.equal(m.questionHasSuffix(nameToWire("a.www.example.com")), false);
  assert.equal(m.questionHasSuffix(nameToWire("example.org")), false);
  assert.equal(m.questionHasSuffix(new Uint8Array([3, 0x63, 0x6f, 0x6d])), false); // no root byte
});

Deno.test("DnsMessage: question given by a compression pointer", () => {
  // Second question points to the first; an answer's name points into the
  // middle of the first name.
  const m = new DnsMessage();
  const buf = new Uint8Array([
    ...header(1, 0x0100, 2, 1, 0, 0),
    ...wire("a.softether.net"),
    ...u16(1),
    ...u16(1),
    0xc0,
    12,
    ...u16(28),
    ...u16(1),
    ...rr([0xc0, 14], DnsType.A, 1, 5, [1, 2, 3, 4]),
  ]);
  assert.equal(m.parse(buf, 0, buf.length), true);
  assert.equal(m.qLabels, 3);
  assert.equal(m.nextRecord(), true);
  assert.equal(m.nameText(m.rrNameOffset), "softether.net");
  assert.equal(m.nameHasSuffix(m.rrNameOffset, nameToWire("softether.net")), true);
  assert.equal(m.nextRecord(), false);
  assert.equal(m.recordsMalformed, false);
});

Deno.test("DnsMessage: compression loops and forward pointers are refused", () => {
  const m = new DnsMessage();
  // Pointer to itself.
  let buf = new Uint8Array([...header(1, 0, 1, 0, 0, 0), 0xc0, 12, 0, 1, 0, 1]);
  assert.equal(m.parse(buf, 0, buf.length), false);
  // Two labels then a pointer back to the start: a loop through a label.
  buf = new Uint8Array([...header(1, 0, 1, 0, 0, 0), 1, 0x61, 0xc0, 12, 0, 1, 0, 1]);
  assert.equal(m.parse(buf, 0, buf.length), false);
  // Forward pointer (to a valid name after it) is refused too.
  buf = new Uint8Array([...header(1, 0, 1, 0, 0, 0), 0xc0, 18, 0, 1, 0, 1, 1, 0x61, 0]);
  assert.equal(m.parse(buf, 0, buf.length), false);
  // Pointer into the header.
  buf = new Uint8Array([...header(1, 0, 1, 0, 0, 0), 0xc0, 2, 0, 1, 0, 1]);
  assert.equal(m.parse(buf, 0, buf.length), false);
  // Loop in a record's name: the walk stops, flagged.
  buf = new Uint8Array([
    ...header(1, 0x8000, 1, 1, 0, 0),
    ...wire("x"),
    0,
    1,
    0,
    1,
    ...rr([1, 0x62, 0xc0, 19], 1, 1, 0, [1, 2, 3, 4]),
  ]);
  assert.equal(m.parse(buf, 0, buf.length), true);
  assert.equal(m.nextRecord(), false);
  assert.equal(m.recordsMalformed, true);
  assert.equal(m.nextRecord(), false);
});

Deno.test("DnsMessage: cut and malformed input never throws", () => {
  const m = new DnsMessage();
  const full = response();
  for (let len = 0; len < full.length; len++) {
    const ok = m.parse(full, 0, len);
    if (len < 12 + 17 + 4) assert.equal(ok, false, `len ${len}`);
    else {
      assert.equal(ok, true, `len ${len}`);
      let n = 0;
      while (m.nextRecord()) n++;
      assert.equal(m.recordsMalformed, true, `len ${len}`);
      assert.ok(n < 3);
    }
  }
  // A label length running past the end; reserved label types 0x40 / 0x80.
  for (const b of [[5, 0x61, 0], [0x41, 0x61, 0], [0x81, 0x61, 0]]) {
    const buf = new Uint8Array([...header(1, 0, 1, 0, 0, 0), ...b, 0, 1, 0, 1]);
    assert.equal(m.parse(buf, 0, buf.length), false);
    assert.equal(m.questionName(), "");
    assert.equal(m.questionHasSuffix(nameToWire("")), false);
  }
  // A name over 255 bytes (5 labels of 63).
  const long: number[] = [];
  for (let i = 0; i < 5; i++) long.push(63, ...new Array(63).fill(0x61));
  const buf = new Uint8Array([...header(1, 0, 1, 0, 0, 0), ...long, 0, 0, 1, 0, 1]);
  assert.equal(m.parse(buf, 0, buf.length), false);
  // len beyond the buffer is clamped.
  assert.equal(m.parse(full, 0, full.length + 100), true);
  // Random bytes.
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (let t = 0; t < 2000; t++) {
    const b = new Uint8Array(12 + (rnd() & 63));
    for (let i = 0; i < b.length; i++) b[i] = rnd();
    b[4] = 0;
    b[5] = rnd() & 3;
    if (m.parse(b, 0, b.length)) {
      m.questionName();
      while (m.nextRecord()) m.nameText(m.rrNameOffset);
    }
  }
});

Deno.test("DnsMessage: root question, no question, escaped names", () => {
  const m = new DnsMessage();
  let buf = new Uint8Array([...header(9, 0, 1, 0, 0, 0), 0, 0, 2, 0, 1]);
  assert.equal(m.parse(buf, 0, buf.length), true);
  assert.equal(m.qLabels, 0);
  assert.equal(m.qNameLength, 1);
  assert.equal(m.qType, 2);
  assert.equal(m.questionName(), "");
  assert.equal(m.questionHasSuffix(nameToWire("")), true);
  assert.equal(m.questionHasSuffix(nameToWire("com")), false);

  buf = new Uint8Array(header(9, 0, 0, 0, 0, 0));
  assert.equal(m.parse(buf, 0, buf.length), true);
  assert.equal(m.qNameOffset, 0);
  assert.equal(m.questionName(), "");
  assert.equal(m.questionHasSuffix(nameToWire("")), false);
  assert.equal(m.nextRecord(), false);

  buf = new Uint8Array([...header(9, 0, 1, 0, 0, 0), 4, 0x41, 0x2e, 0x20, 0xff, 0, 0, 1, 0, 1]);
  assert.equal(m.parse(buf, 0, buf.length), true);
  assert.equal(m.questionName(), "a\\046\\032\\255");
});

Deno.test("isEdnsOptionChain", () => {
  const b = new Uint8Array([0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 12, 0, 0]);
  assert.equal(isEdnsOptionChain(b, 0, 16), true);
  assert.equal(isEdnsOptionChain(b, 0, 12), true);
  assert.equal(isEdnsOptionChain(b, 0, 0), true);
  assert.equal(isEdnsOptionChain(b, 0, 15), false);
  assert.equal(isEdnsOptionChain(b, 0, 3), false);
  assert.equal(isEdnsOptionChain(b, 0, 11), false);
  assert.equal(isEdnsOptionChain(b, 10, 16), false); // past the buffer
});
