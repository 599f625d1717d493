/**
 * Structure-aware mutations of DNS messages (RFC 1035 over UDP: port 53,
 * NetBIOS name service on 137, mDNS): header counts and flags, names —
 * compression pointers that loop (to themselves, through a label, in a
 * two-pointer cycle), point forward, into the header or past the end,
 * reserved label types, 63/64-byte labels, 127/128 labels, 255/256-byte
 * names, SoftEther's 8-hex label and near misses, SoftEther's
 * infrastructure names —, record fields (type, class, TTL, RDLENGTH), OPT
 * RDATA as an EDNS option chain that fits exactly or is off by one, the
 * DNSKEY RDATA header SoftEther writes (256/3/8) and near ones, records
 * appended (A/AAAA answers of infrastructure names), questions duplicated,
 * messages cut at a field.
 *
 * @module
 */

import { INFRA_NAMES } from "./footprint_mutators.ts";
import { getBE, interesting, mutateBytes, putBE, type Rng } from "./rng.ts";
import { concat } from "../helpers/bytes.ts";

/** Where a message's fields are. */
interface DnsLayout {
  questions: { at: number; nameEnd: number }[];
  records: { at: number; nameEnd: number; type: number; rdAt: number; rdLen: number }[];
}

/** Offset after the name at `p` as written (−1 when cut). */
function skipName(b: Uint8Array, p: number): number {
  for (let guard = 0; guard < 256 && p < b.length; guard++) {
    const c = b[p];
    if (c === 0) return p + 1;
    if ((c & 0xc0) === 0xc0) return p + 2 <= b.length ? p + 2 : -1;
    p += 1 + (c & 0x3f);
  }
  return -1;
}

/** The message's questions and records, as far as they go. */
function layout(b: Uint8Array): DnsLayout {
  const out: DnsLayout = { questions: [], records: [] };
  if (b.length < 12) return out;
  let p = 12;
  const qd = getBE(b, 4, 2);
  for (let i = 0; i < qd && i < 32; i++) {
    const e = skipName(b, p);
    if (e < 0 || e + 4 > b.length) return out;
    out.questions.push({ at: p, nameEnd: e });
    p = e + 4;
  }
  const rr = getBE(b, 6, 2) + getBE(b, 8, 2) + getBE(b, 10, 2);
  for (let i = 0; i < rr && i < 64; i++) {
    const e = skipName(b, p);
    if (e < 0 || e + 10 > b.length) return out;
    const rdLen = getBE(b, e + 8, 2);
    if (e + 10 + rdLen > b.length) return out;
    out.records.push({ at: p, nameEnd: e, type: getBE(b, e, 2), rdAt: e + 10, rdLen });
    p = e + 10 + rdLen;
  }
  return out;
}

/** A dotted name in wire form, labels cut to 63 bytes (or not), no compression. */
export function nameWire(name: string, cut = true): Uint8Array {
  const parts: number[] = [];
  for (const label of name.split(".")) {
    if (label === "") continue;
    const bytes = [...label].map((c) => c.charCodeAt(0) & 0xff);
    const n = cut ? Math.min(63, bytes.length) : bytes.length;
    parts.push(n & 0xff, ...bytes.slice(0, n));
  }
  parts.push(0);
  return new Uint8Array(parts);
}

const HEX = "0123456789abcdef";

/** A name to put at offset `at` of a message of `len` bytes: hostile or SoftEther-shaped. */
function nameVariant(rng: Rng, at: number, len: number, log: string[]): Uint8Array {
  const ptr = (to: number) => new Uint8Array([0xc0 | ((to >> 8) & 0x3f), to & 0xff]);
  const op = rng.int(0, 15);
  log.push(`dns_name${op}`);
  switch (op) {
    case 0: // a pointer to itself
      return ptr(at);
    case 1: // a label, then a pointer back to the label: a loop through labels
      return concat(new Uint8Array([1, 0x61]), ptr(at));
    case 2: // a pointer forward (never written by an encoder)
      return ptr(at + rng.pick([2, 3, 4, 16, len - at]));
    case 3: // into the header
      return ptr(rng.int(0, 11));
    case 4: // past the end
      return ptr(rng.pick([len, len + 1, 0x3fff]));
    case 5: // reserved / obsolete label types
      return new Uint8Array([rng.pick([0x40, 0x41, 0x80, 0xbf]), 0x61, 0x62, 0]);
    case 6: { // 63- and 64-byte labels
      const n = rng.pick([63, 64]);
      return concat(new Uint8Array([n]), new Uint8Array(n).fill(0x61), new Uint8Array([0]));
    }
    case 7: { // 127 / 128 labels
      const n = rng.pick([126, 127, 128]);
      const b = new Uint8Array(2 * n + 1);
      for (let i = 0; i < n; i++) b[2 * i] = 1, b[2 * i + 1] = 0x61 + (i % 26);
      return b;
    }
    case 8: { // names of 255 and 256 bytes in wire form
      const total = rng.pick([254, 255, 256]);
      const parts: Uint8Array[] = [];
      let n = 1;
      while (n + 64 <= total) {
        parts.push(concat(new Uint8Array([63]), new Uint8Array(63).fill(0x62))), n += 64;
      }
      const last = total - n - 1;
      if (last > 0) parts.push(concat(new Uint8Array([last]), new Uint8Array(last).fill(0x63)));
      parts.push(new Uint8Array([0]));
      return concat(...parts);
    }
    case 9: { // SoftEther's label: 8 lower-case hex characters
      const b = new Uint8Array(10);
      b[0] = 8;
      for (let i = 1; i <= 8; i++) b[i] = HEX.charCodeAt(rng.int(0, 15));
      return b;
    }
    case 10: { // near misses of it
      const n = rng.pick([7, 8, 9]);
      const b = new Uint8Array(n + 2);
      b[0] = n;
      for (let i = 1; i <= n; i++) b[i] = HEX.charCodeAt(rng.int(0, 15));
      const k = rng.int(0, 2);
      if (k === 0) b[rng.int(1, n)] = rng.pick([0x41, 0x46, 0x67, 0x2e, 0x00, 0xff]);
      else if (k === 1) return concat(b.subarray(0, n + 1), nameWire("lab"));
      return b;
    }
    case 11: // infrastructure names (labels cut at 63)
      return nameWire(rng.pick(INFRA_NAMES));
    case 12: // the root
      return new Uint8Array([0]);
    case 13: // a label running past the end
      return new Uint8Array([63, 0x61, 0x62]);
    case 14: // a chain of pointers, each to the one before it
      return concat(new Uint8Array([1, 0x78]), ptr(Math.max(12, at - 2)));
    default: // a two-pointer cycle: this pointer to the next two bytes, which point back
      return concat(ptr(at + 2), ptr(at));
  }
}

/** An A / AAAA / other answer record whose owner is the first question (pointer) or a name. */
function record(rng: Rng, qAt: number): Uint8Array {
  const owner = rng.chance(0.6)
    ? new Uint8Array([0xc0 | (qAt >> 8), qAt & 0xff])
    : nameWire(rng.pick(INFRA_NAMES));
  const type = rng.pick([1, 28, 1, 28, 5, 48, 41, 16]);
  const natural = type === 1 ? 4 : type === 28 ? 16 : rng.int(0, 40);
  const rdLen = rng.chance(0.85) ? natural : rng.pick([0, 3, 5, 15, 17]);
  const fixed = new Uint8Array(10);
  putBE(fixed, 0, 2, type);
  putBE(fixed, 2, 2, rng.pick([1, 1, 1, 3, 255, 0x8001]));
  putBE(fixed, 4, 4, rng.pick([0, 60, 86400, 0xffffffff]));
  putBE(fixed, 8, 2, rdLen);
  return concat(owner, fixed, rng.bytes(rdLen));
}

/** Mutates the DNS message `b` (a new array). */
export function mutateDns(rng: Rng, b: Uint8Array, log: string[]): Uint8Array {
  if (b.length < 12) return mutateBytes(rng, b, log, 64);
  const lay = layout(b);
  const out = b.slice();
  const op = rng.weighted([2, 2, 4, 2, 3, 2, 2, 3, 1, 2, 1, 1, 2]);
  switch (op) {
    case 0: { // a header count
      const at = rng.pick([4, 6, 8, 10]);
      const v = interesting(rng, 2, getBE(b, at, 2));
      putBE(out, at, 2, v);
      log.push(`dns_count@${at}=${v}`);
      return out;
    }
    case 1: { // flags
      const v = rng.pick([
        0x0100,
        0x8180,
        0x8000,
        0x0000,
        0x7800,
        0x0200,
        0x8183,
        0x8580,
        0xfe0f,
        rng.int(0, 0xffff),
      ]);
      putBE(out, 2, 2, v);
      log.push(`dns_flags=${v}`);
      return out;
    }
    case 2: { // a question's (or record owner's) name replaced
      const names = [...lay.questions, ...lay.records];
      const at = names.length > 0 ? rng.pick(names) : { at: 12, nameEnd: 12 };
      const name = nameVariant(rng, at.at, b.length, log);
      return concat(b.subarray(0, at.at), name, b.subarray(at.nameEnd));
    }
    case 3: { // QTYPE / QCLASS
      if (lay.questions.length === 0) break;
      const q = rng.pick(lay.questions);
      if (rng.chance(0.6)) putBE(out, q.nameEnd, 2, rng.pick([1, 28, 48, 41, 16, 5, 255, 0]));
      else putBE(out, q.nameEnd + 2, 2, rng.pick([1, 3, 255, 254, 0x8001, 0]));
      log.push(`dns_qtype@${q.nameEnd}`);
      return out;
    }
    case 4: { // a record's type, class, TTL or RDLENGTH
      if (lay.records.length === 0) break;
      const r = rng.pick(lay.records);
      const f = rng.int(0, 3);
      const at = r.nameEnd + [0, 2, 4, 8][f];
      if (f === 0) putBE(out, at, 2, rng.pick([1, 28, 41, 48, 5, 0]));
      else if (f === 1) putBE(out, at, 2, rng.pick([1, 4096, 512, 0, 0xffff]));
      else if (f === 2) putBE(out, at, 4, rng.pick([0, 43200, 86400, 0x80000000, 0xffffffff]));
      else putBE(out, at, 2, interesting(rng, 2, r.rdLen));
      log.push(`dns_rr${f}@${at}`);
      return out;
    }
    case 5: { // OPT RDATA: an EDNS option chain that fits, or does not quite
      const opt = lay.records.filter((r) => r.type === 41 && r.rdLen >= 4);
      if (opt.length === 0) break;
      const r = rng.pick(opt);
      const k = rng.int(0, 3);
      const len = k === 0 ? r.rdLen - 4 : k === 1 ? r.rdLen - 3 : k === 2 ? r.rdLen - 5 : 0xffff;
      putBE(out, r.rdAt, 2, rng.pick([10, 12, 8, 65001, 0]));
      putBE(out, r.rdAt + 2, 2, Math.max(0, len));
      if (k === 0 && r.rdLen >= 8 && rng.chance(0.5)) { // two options filling it exactly
        const first = rng.int(0, r.rdLen - 8);
        putBE(out, r.rdAt + 2, 2, first);
        putBE(out, r.rdAt + 4 + first, 2, 12);
        putBE(out, r.rdAt + 6 + first, 2, r.rdLen - 8 - first);
      }
      log.push(`dns_edns${k}`);
      return out;
    }
    case 6: { // DNSKEY RDATA header: SoftEther's 256/3/8, or near it
      const keys = lay.records.filter((r) => r.type === 48 && r.rdLen >= 4);
      if (keys.length === 0) break;
      const r = rng.pick(keys);
      putBE(
        out,
        r.rdAt,
        4,
        rng.pick([0x01000308, 0x01010308, 0x0100030d, 0x01000307, 0x02000308, 0]),
      );
      log.push("dns_dnskey");
      return out;
    }
    case 7: { // a record appended, its count raised (or not)
      const rec = record(rng, lay.questions[0]?.at ?? 12);
      const r = concat(b, rec);
      const at = rng.pick([6, 6, 10, 8]);
      if (rng.chance(0.8)) putBE(r, at, 2, getBE(b, at, 2) + 1);
      log.push(`dns_add@${at}`);
      return r;
    }
    case 8: { // the first question duplicated
      if (lay.questions.length === 0) break;
      const q = lay.questions[0];
      const r = concat(
        b.subarray(0, q.nameEnd + 4),
        b.subarray(q.at, q.nameEnd + 4),
        b.subarray(q.nameEnd + 4),
      );
      putBE(r, 4, 2, getBE(b, 4, 2) + 1);
      log.push("dns_dup_question");
      return r;
    }
    case 9: { // cut at a field
      const cuts = [12, ...lay.questions.flatMap((q) => [q.at + 1, q.nameEnd, q.nameEnd + 2])];
      for (const r of lay.records) cuts.push(r.nameEnd + 4, r.nameEnd + 9, r.rdAt + (r.rdLen >> 1));
      const cut = Math.min(b.length, rng.pick(cuts));
      log.push(`dns_cut=${cut}`);
      return b.subarray(0, cut);
    }
    case 10: { // the whole tail after the question replaced by an answer to it
      if (lay.questions.length === 0) break;
      const q = lay.questions[0];
      const r = concat(b.subarray(0, q.nameEnd + 4), record(rng, q.at));
      putBE(r, 2, 2, 0x8180);
      putBE(r, 4, 2, 1);
      putBE(r, 6, 2, 1);
      putBE(r, 8, 2, 0);
      putBE(r, 10, 2, 0);
      log.push("dns_answer");
      return r;
    }
    case 11:
      break;
    default: // a response naming many addresses for one of SoftEther's names
      log.push("dns_many_answers");
      return manyAnswers(rng, b);
  }
  return mutateBytes(rng, out, log, 512);
}

/** Addresses of the lab captures (answers naming them meet later flows) and random ones. */
const LAB_V4 = [[10, 77, 2, 2], [10, 77, 1, 2], [10, 78, 2, 20], [10, 79, 6, 30], [10, 79, 2, 2]];

/**
 * A response (the id of `b`) to an A or AAAA question for one of SoftEther's
 * names with up to 400 answers: lab addresses and random ones (the
 * infrastructure detector's bounded address memory fills and turns over).
 */
function manyAnswers(rng: Rng, b: Uint8Array): Uint8Array {
  const q = nameWire(rng.pick(INFRA_NAMES.slice(0, 12)));
  const v6 = rng.chance(0.3);
  const n = rng.pick([1, 20, 200, 400]);
  const head = new Uint8Array(12);
  head.set(b.subarray(0, 2));
  putBE(head, 2, 2, 0x8180);
  putBE(head, 4, 2, 1);
  putBE(head, 6, 2, n);
  const question = concat(q, new Uint8Array([0, v6 ? 28 : 1, 0, 1]));
  const answers: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const rr = new Uint8Array(12 + (v6 ? 16 : 4));
    rr[0] = 0xc0;
    rr[1] = 12;
    putBE(rr, 2, 2, v6 ? 28 : 1);
    putBE(rr, 4, 2, 1);
    putBE(rr, 6, 4, 60);
    putBE(rr, 10, 2, v6 ? 16 : 4);
    if (v6) rr.set(rng.bytes(16), 12);
    else rr.set(rng.chance(0.2) ? rng.pick(LAB_V4) : rng.bytes(4), 12);
    answers.push(rr);
  }
  return concat(head, question, ...answers);
}
