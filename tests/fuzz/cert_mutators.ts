/**
 * Mutations of a TLS server's first flight and of the X.509 certificate in
 * it. A segment holding whole handshake records is parsed into records →
 * handshake messages → (ServerHello fields, Certificate list) → the first
 * certificate's DER tree; one thing is changed (a DER tag, a length
 * encoding — long form where short would do, four length bytes, the
 * indefinite form, a huge length, one too many or too few —, a value chosen
 * against the fields SoftEther's self-generated certificate fixes: version,
 * serial, name attributes and values, UTCTime / GeneralizedTime around
 * 2038 and 2049, basicConstraints, keyUsage, extendedKeyUsage purposes,
 * critical flags; children dropped, duplicated past the reader's limits,
 * swapped; deep nesting; the DER cut), then everything is written back with
 * lengths recomputed — or one TLS length field (record, handshake message,
 * certificate list, certificate) set wrong on purpose, the records
 * refragmented, messages reordered. A certificate that is split across
 * packets (OpenVPN's control channel) gets same-size patches of its DER
 * headers instead.
 *
 * @module
 */

import { getBE, interesting, putBE, type Rng } from "./rng.ts";
import { concat } from "../helpers/bytes.ts";

// ---------------------------------------------------------------- DER

/** How a node's length is written. */
type LenForm = "min" | "long" | "four" | "indef" | "huge" | "plus1" | "minus1" | "zero";

/** A DER node: a primitive (body) or constructed (kids); `wrapped`: an OCTET STRING holding DER. */
interface Der {
  tag: number;
  body?: Uint8Array;
  kids?: Der[];
  form: LenForm;
}

/** Parses the TLVs of `b[p..end)` into nodes (undefined when they do not fill it exactly). */
function parseList(b: Uint8Array, p: number, end: number, depth: number): Der[] | undefined {
  const out: Der[] = [];
  while (p < end) {
    if (p + 2 > end || (b[p] & 0x1f) === 0x1f) return undefined;
    const tag = b[p];
    let len = b[p + 1], q = p + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3 || q + n > end) return undefined;
      len = getBE(b, q, n);
      q += n;
    }
    if (q + len > end) return undefined;
    const node: Der = { tag, form: "min" };
    const constructed = (tag & 0x20) !== 0;
    if ((constructed || tag === 0x04) && depth < 24) {
      const kids = parseList(b, q, q + len, depth + 1);
      if (kids !== undefined && (constructed || kids.length === 1)) node.kids = kids;
    }
    if (node.kids === undefined) {
      if (constructed) return undefined;
      node.body = b.slice(q, q + len);
    }
    out.push(node);
    p = q + len;
  }
  return out;
}

/** DER length bytes of `len` in `form`. */
function lengthBytes(len: number, form: LenForm): Uint8Array {
  const long = (n: number, v: number) => {
    const b = new Uint8Array(1 + n);
    b[0] = 0x80 | n;
    putBE(b, 1, n, v);
    return b;
  };
  switch (form) {
    case "long":
      return long(len < 256 ? 1 : len < 65536 ? 2 : 3, len);
    case "four":
      return long(4, len);
    case "indef":
      return new Uint8Array([0x80]);
    case "huge":
      return long(3, 0xffffff);
    case "zero":
      return new Uint8Array([0]);
    case "plus1":
    case "minus1":
      len = Math.max(0, len + (form === "plus1" ? 1 : -1));
  }
  if (len < 0x80) return new Uint8Array([len]);
  return long(len < 256 ? 1 : len < 65536 ? 2 : 3, len);
}

/** The node's DER bytes. */
function derBytes(n: Der): Uint8Array {
  const body = n.kids !== undefined ? concat(...n.kids.map(derBytes)) : n.body!;
  const eoc = n.form === "indef" ? new Uint8Array(2) : new Uint8Array(0);
  return concat(new Uint8Array([n.tag]), lengthBytes(body.length, n.form), body, eoc);
}

function allNodes(root: Der, out: { node: Der; parent?: Der }[] = [], parent?: Der) {
  out.push({ node: root, parent });
  for (const k of root.kids ?? []) allNodes(k, out, root);
  return out;
}

const TXT = new TextEncoder();
const bytes = (...v: number[]) => new Uint8Array(v);

const UTC_TIMES = [
  "371231120000Z",
  "371231235959Z",
  "380101000000Z",
  "491229120000Z",
  "491230000000Z",
  "500101000000Z",
  "991231235959Z",
  "000101000000Z",
  "371331000000Z",
  "371232000000Z",
  "371231246000Z",
  "371231235960Z",
  "3712311200Z",
  "371231120000",
  "37123112000aZ",
  "37123112000+Z",
];
const GEN_TIMES = [
  "20371231120000Z",
  "20491229120000Z",
  "20491230000000Z",
  "99991231235959Z",
  "19700101000000Z",
  "2037123112000Z",
  "0000010100000Z",
];
const STRINGS = ["US", "us", "USA", "U", "", "vpn.lab", "VPN.lab", "a".repeat(200), "\u00ff\u00fe"];
const OIDS = [
  bytes(0x55, 0x04, 0x03),
  bytes(0x55, 0x04, 0x0a),
  bytes(0x55, 0x04, 0x0b),
  bytes(0x55, 0x04, 0x06),
  bytes(0x55, 0x04, 0x07),
  bytes(0x55, 0x1d, 0x13),
  bytes(0x55, 0x1d, 0x0f),
  bytes(0x55, 0x1d, 0x25),
  bytes(0x55, 0x1d, 0x11),
  bytes(0x55, 0x1d, 0x0e),
  bytes(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01),
  bytes(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09),
  bytes(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x80, 0x01),
  bytes(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03),
  bytes(),
];

/** A body for a primitive of `tag`, aimed at the reader's checks. */
function valueFor(rng: Rng, tag: number, old: Uint8Array): Uint8Array {
  switch (tag) {
    case 0x02: // INTEGER: serial, version, pathLen
      return rng.pick([
        bytes(0),
        bytes(1),
        bytes(2),
        bytes(3),
        bytes(0, 0),
        bytes(),
        bytes(0xff),
        rng.bytes(20),
      ]);
    case 0x17:
      return TXT.encode(rng.pick(UTC_TIMES));
    case 0x18:
      return TXT.encode(rng.pick(GEN_TIMES));
    case 0x06:
      return rng.pick(OIDS);
    case 0x01:
      return rng.pick([bytes(0xff), bytes(0), bytes(1), bytes(), bytes(0xff, 0xff)]);
    case 0x03:
      return rng.pick([
        bytes(1, 0xf6),
        bytes(0, 0xf6, 0),
        bytes(7, 0xf6, 0),
        bytes(1, 0x86),
        bytes(0),
        bytes(),
        bytes(0, 0xff, 0xff, 0xff),
      ]);
    case 0x0c:
    case 0x13:
    case 0x16:
      if (rng.chance(0.2)) return rng.bytes(rng.pick([1, 2, 64, 300]));
      return TXT.encode(rng.pick(STRINGS));
    default: {
      const out = old.slice();
      if (out.length > 0) out[rng.int(0, out.length - 1)] ^= 1 << rng.int(0, 7);
      return out;
    }
  }
}

/** A mutation of the certificate tree `root` (in place); a name in `log`. */
function mutateTree(rng: Rng, root: Der, log: string[]): void {
  const nodes = allNodes(root);
  const { node, parent } = rng.pick(nodes);
  const op = rng.weighted([2, 4, 5, 3, 1, 3]);
  switch (op) {
    case 0:
      node.tag = rng.pick([
        0x30,
        0x31,
        0x02,
        0x06,
        0x04,
        0x03,
        0x01,
        0x17,
        0x18,
        0xa0,
        0xa3,
        0x0c,
        0x13,
        0x1f,
        0xff,
        0x00,
      ]);
      log.push(`der_tag=${node.tag}`);
      return;
    case 1:
      node.form = rng.pick(["long", "four", "indef", "huge", "plus1", "minus1", "zero"] as const);
      log.push(`der_len=${node.form}`);
      return;
    case 2:
      if (node.kids === undefined) {
        node.body = valueFor(rng, node.tag, node.body!);
        log.push(`der_value=${node.tag}`);
        return;
      }
      // A constructed node: a value of one of its primitive children instead.
      for (const k of node.kids) {
        if (k.kids === undefined && rng.chance(0.5)) {
          k.body = valueFor(rng, k.tag, k.body!);
          log.push(`der_value=${k.tag}`);
          return;
        }
      }
      return;
    case 3: { // children: drop, duplicate (past the reader's 16), swap
      const host = node.kids !== undefined && node.kids.length > 0 ? node : parent;
      if (host?.kids === undefined || host.kids.length === 0) return;
      const k = rng.int(0, host.kids.length - 1);
      const style = rng.int(0, 2);
      if (style === 0) host.kids.splice(k, 1);
      else if (style === 1) {
        const n = rng.pick([1, 8, 17]);
        for (let i = 0; i < n; i++) host.kids.splice(k, 0, structuredClone(host.kids[k]));
      } else if (host.kids.length > 1) {
        const j = rng.int(0, host.kids.length - 1);
        [host.kids[k], host.kids[j]] = [host.kids[j], host.kids[k]];
      }
      log.push(`der_kids${style}`);
      return;
    }
    case 4: { // deep nesting
      const depth = rng.pick([2, 16, 200]);
      let inner: Der = { tag: node.tag, body: node.body, kids: node.kids, form: node.form };
      for (let i = 0; i < depth; i++) inner = { tag: 0x30, kids: [inner], form: "min" };
      node.tag = inner.tag;
      node.kids = inner.kids;
      node.body = undefined;
      node.form = "min";
      log.push(`der_nest=${depth}`);
      return;
    }
    default:
      targeted(rng, root, log);
  }
}

/** The TBSCertificate's children, or undefined. */
function tbs(root: Der): Der[] | undefined {
  return root.kids?.[0]?.kids;
}

/** A mutation of one field SoftEther's certificate fixes (by its place in the TBS). */
function targeted(rng: Rng, root: Der, log: string[]): void {
  const t = tbs(root);
  if (t === undefined) return;
  const off = t[0]?.tag === 0xa0 ? 1 : 0;
  const pick = rng.int(0, 6);
  log.push(`der_field${pick}`);
  switch (pick) {
    case 0: // version
      if (off === 1 && t[0].kids?.[0]?.body) {
        t[0].kids[0].body = rng.pick([bytes(0), bytes(1), bytes(2), bytes(3)]);
      } else if (off === 1) t.splice(0, 1);
      return;
    case 1: // serial
      if (t[off]?.body) t[off].body = rng.pick([bytes(0), bytes(1), bytes(0, 0), bytes()]);
      return;
    case 2: { // validity: both times
      const v = t[off + 3]?.kids;
      if (v === undefined || v.length < 2) return;
      const gen = rng.chance(0.3);
      for (const k of v) {
        k.tag = gen ? 0x18 : 0x17;
        k.body = TXT.encode(rng.pick(gen ? GEN_TIMES : UTC_TIMES));
      }
      if (rng.chance(0.5)) v[0].body = TXT.encode("120101120000Z"); // whole days before the end
      return;
    }
    case 3: { // subject vs issuer: one byte apart, or the same
      const iss = t[off + 2], sub = t[off + 4];
      if (iss === undefined || sub === undefined) return;
      if (rng.chance(0.5)) t[off + 2] = structuredClone(sub);
      else {
        const leaves = allNodes(sub).filter((n) =>
          n.node.body !== undefined && n.node.body.length > 0
        );
        if (leaves.length > 0) {
          const b = rng.pick(leaves).node.body!;
          b[rng.int(0, b.length - 1)] ^= 0x20;
        }
      }
      return;
    }
    case 4: { // subject attributes: reordered, one dropped, one extra
      const rdns = t[off + 4]?.kids;
      if (rdns === undefined || rdns.length === 0) return;
      const k = rng.int(0, 2);
      if (k === 0 && rdns.length > 1) {
        const i = rng.int(0, rdns.length - 2);
        [rdns[i], rdns[i + 1]] = [rdns[i + 1], rdns[i]];
      } else if (k === 1) rdns.splice(rng.int(0, rdns.length - 1), 1);
      else {
        // Two attributes in one RDN (a multi-valued RDN).
        const set = rdns[0];
        if (set.kids !== undefined && set.kids.length > 0) {
          set.kids.push(structuredClone(set.kids[0]));
        }
      }
      return;
    }
    case 5: { // extensions: critical flags, count
      const ext = t.find((n) => n.tag === 0xa3)?.kids?.[0]?.kids;
      if (ext === undefined || ext.length === 0) return;
      const e = rng.pick(ext);
      if (e.kids === undefined) return;
      if (e.kids.length === 3) e.kids.splice(1, 1); // critical dropped
      else e.kids.splice(1, 0, { tag: 0x01, body: bytes(0xff), form: "min" });
      return;
    }
    default: { // extendedKeyUsage purposes: 8, 10, reordered
      const ext = t.find((n) => n.tag === 0xa3)?.kids?.[0]?.kids;
      const eku = ext?.find((e) => e.kids?.[0]?.body?.[2] === 0x25);
      const list = eku?.kids?.[eku.kids.length - 1]?.kids?.[0]?.kids;
      if (list === undefined || list.length === 0) return;
      const k = rng.int(0, 2);
      if (k === 0) list.pop();
      else if (k === 1) list.push(structuredClone(list[0]));
      else list.reverse();
    }
  }
}

/** The certificate `der` mutated (a new array). */
export function mutateCertificate(rng: Rng, der: Uint8Array, log: string[]): Uint8Array {
  const nodes = parseList(der, 0, der.length, 0);
  if (nodes === undefined || nodes.length !== 1) {
    const out = der.slice();
    patchDerInPlace(rng, out, 0, log);
    return out;
  }
  const root = nodes[0];
  const n = rng.chance(0.8) ? 1 : rng.int(2, 4);
  for (let i = 0; i < n; i++) mutateTree(rng, root, log);
  let out = derBytes(root);
  if (rng.chance(0.08)) {
    out = out.subarray(0, rng.int(0, out.length));
    log.push(`der_cut=${out.length}`);
  }
  return out;
}

/** Offset of the first X.509 certificate's DER start in `b` (SEQUENCE { SEQUENCE { [0] … } }), or −1. */
export function findCertificate(b: Uint8Array): number {
  for (let i = 0; i + 10 < b.length; i++) {
    if (b[i] !== 0x30 || b[i + 1] !== 0x82 || b[i + 4] !== 0x30) continue;
    if (b[i + 5] === 0x82 && b[i + 8] === 0xa0 && b[i + 9] === 0x03) return i;
  }
  return -1;
}

/**
 * Same-size patches of the DER headers from `at` in `b` (in place): a tag,
 * the long-form count byte (0x80 indefinite, 0x84, …), a length value.
 */
export function patchDerInPlace(rng: Rng, b: Uint8Array, at: number, log: string[]): void {
  const heads: [number, number][] = []; // [tag offset, length bytes]
  let p = at;
  const ends: number[] = [b.length];
  while (p + 2 <= b.length && heads.length < 400) {
    while (ends.length > 1 && p >= ends[ends.length - 1]) ends.pop();
    const tag = b[p];
    let len = b[p + 1], hl = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3 || p + 2 + n > b.length) break;
      len = getBE(b, p + 2, n);
      hl += n;
    }
    heads.push([p, hl - 1]);
    if ((tag & 0x20) !== 0) {
      ends.push(p + hl + len);
      p += hl;
    } else p += hl + len;
  }
  if (heads.length === 0) return;
  const [t, lb] = rng.pick(heads);
  const op = rng.int(0, 3);
  if (op === 0) b[t] = rng.pick([0x30, 0x31, 0x02, 0x04, 0xa0, 0xa3, 0x1f, 0x00]);
  else if (op === 1 && lb > 1) b[t + 1] = rng.pick([0x80, 0x84, 0x85, 0xff, 0x81, 0x83]);
  else if (lb === 1) b[t + 1] = rng.pick([0, 0x7f, 0x80, b[t + 1] + 1, b[t + 1] - 1]) & 0xff;
  else putBE(b, t + 2, lb - 1, interesting(rng, lb - 1, getBE(b, t + 2, lb - 1)));
  log.push(`der_patch${op}@${t}`);
}

// ---------------------------------------------------------------- TLS flight

interface Msg {
  type: number;
  body: Uint8Array;
}

/** Handshake messages of the segment `b` when it is whole handshake records (and what follows). */
function parseFlight(
  b: Uint8Array,
): { msgs: Msg[]; version: number; tail: Uint8Array } | undefined {
  let p = 0;
  const hs: Uint8Array[] = [];
  let version = 0x0303;
  while (p + 5 <= b.length && b[p] === 22 && b[p + 1] === 3) {
    const len = getBE(b, p + 3, 2);
    if (p + 5 + len > b.length) return undefined;
    version = getBE(b, p + 1, 2);
    hs.push(b.subarray(p + 5, p + 5 + len));
    p += 5 + len;
  }
  if (hs.length === 0) return undefined;
  const stream = concat(...hs);
  const msgs: Msg[] = [];
  let q = 0;
  while (q + 4 <= stream.length) {
    const len = getBE(stream, q + 1, 3);
    if (q + 4 + len > stream.length) return undefined;
    msgs.push({ type: stream[q], body: stream.slice(q + 4, q + 4 + len) });
    q += 4 + len;
  }
  if (q !== stream.length || msgs.length === 0) return undefined;
  return { msgs, version, tail: b.subarray(p) };
}

/** Whether the segment starts a server flight with a ServerHello or a certificate. */
export function looksServerFlight(b: Uint8Array): boolean {
  return b.length > 9 && b[0] === 22 && b[1] === 3 && (b[5] === 2 || b[5] === 11);
}

function msgBytes(m: Msg): Uint8Array {
  const h = new Uint8Array(4);
  h[0] = m.type;
  putBE(h, 1, 3, m.body.length);
  return concat(h, m.body);
}

/** The certificate list of a Certificate body: entries' DER. */
function certList(body: Uint8Array): Uint8Array[] | undefined {
  if (body.length < 3) return undefined;
  const end = 3 + getBE(body, 0, 3);
  if (end !== body.length) return undefined;
  const out: Uint8Array[] = [];
  let p = 3;
  while (p + 3 <= end) {
    const n = getBE(body, p, 3);
    if (p + 3 + n > end) return undefined;
    out.push(body.slice(p + 3, p + 3 + n));
    p += 3 + n;
  }
  return p === end ? out : undefined;
}

function certBody(certs: Uint8Array[]): Uint8Array {
  const parts = certs.map((c) => {
    const h = new Uint8Array(3);
    putBE(h, 0, 3, c.length);
    return concat(h, c);
  });
  const all = concat(...parts);
  const h = new Uint8Array(3);
  putBE(h, 0, 3, all.length);
  return concat(h, all);
}

/** A ServerHello body changed in one field. */
function mutateServerHello(rng: Rng, body: Uint8Array, log: string[]): Uint8Array {
  const out = body.slice();
  const op = rng.int(0, 4);
  log.push(`tls_hello${op}`);
  if (op === 0 && out.length > 34) out[34] = rng.pick([0, 32, 33, 255]); // session id length
  else if (op === 1 && out.length > 35 + out[34] + 1) { // cipher suite
    putBE(out, 35 + out[34], 2, rng.pick([0x009c, 0xc02f, 0xc030, 0xcca8, 0x002f, 0x0035, 0x1301]));
  } else if (op === 2) { // supported_versions: TLS 1.3 (the flight goes dark)
    const ext = new Uint8Array([0x00, 0x2b, 0x00, 0x02, 0x03, 0x04]);
    const p = 35 + (out[34] ?? 0) + 3;
    if (p <= out.length) {
      const exts = out.subarray(p + 2);
      const r = concat(out.subarray(0, p), new Uint8Array(2), ext, exts);
      putBE(r, p, 2, exts.length + ext.length);
      return r;
    }
  } else if (op === 3) putBE(out, 0, 2, rng.pick([0x0300, 0x0301, 0x0303, 0x0200, 0x0304, 0x7f1c]));
  else {
    const p = 35 + (out[34] ?? 0) + 3;
    if (p + 2 <= out.length) putBE(out, p, 2, interesting(rng, 2, getBE(out, p, 2)));
  }
  return out;
}

/** Mutates a segment that starts a TLS server flight (a new array). */
export function mutateServerFlight(rng: Rng, b: Uint8Array, log: string[]): Uint8Array {
  const f = parseFlight(b);
  if (f === undefined) {
    const out = b.slice();
    const at = findCertificate(out);
    if (at >= 0) patchDerInPlace(rng, out, at, log);
    else putBE(out, 3, 2, interesting(rng, 2, getBE(out, 3, 2)));
    return out;
  }
  const msgs = f.msgs;
  const op = rng.weighted([msgs.some((m) => m.type === 11) ? 14 : 2, 2, 2, 2, 1, 2]);
  let broken: [string, number] | undefined; // a length field written wrong on purpose
  const ci = msgs.findIndex((m) => m.type === 11);
  switch (op) {
    case 0: { // the certificate
      if (ci < 0) break;
      const certs = certList(msgs[ci].body);
      if (certs === undefined || certs.length === 0) break;
      certs[0] = mutateCertificate(rng, certs[0], log);
      msgs[ci] = { type: 11, body: certBody(certs) };
      break;
    }
    case 1: { // certificate list: wrong list / entry length, empty list, a second entry
      if (ci < 0) break;
      const body = msgs[ci].body.slice();
      const k = rng.int(0, 3);
      if (k === 0) putBE(body, 0, 3, interesting(rng, 3, getBE(body, 0, 3)));
      else if (k === 1 && body.length >= 6) {
        putBE(body, 3, 3, interesting(rng, 3, getBE(body, 3, 3)));
      } else if (k === 2) {
        msgs[ci] = { type: 11, body: new Uint8Array(3) };
        log.push("tls_cert_empty");
        break;
      } else {
        const certs = certList(body);
        if (certs !== undefined && certs.length > 0) {
          msgs[ci] = { type: 11, body: certBody([certs[0], ...certs]) };
          log.push("tls_cert_two");
          break;
        }
      }
      msgs[ci] = { type: 11, body };
      log.push(`tls_certlist${k}`);
      break;
    }
    case 2: { // ServerHello
      const hi = msgs.findIndex((m) => m.type === 2);
      if (hi < 0) break;
      msgs[hi] = { type: 2, body: mutateServerHello(rng, msgs[hi].body, log) };
      break;
    }
    case 3: { // message order: drop, duplicate, move
      const k = rng.int(0, msgs.length - 1);
      const style = rng.int(0, 2);
      if (style === 0 && msgs.length > 1) msgs.splice(k, 1);
      else if (style === 1) msgs.splice(k, 0, msgs[k]);
      else if (msgs.length > 1) msgs.unshift(...msgs.splice(k, 1));
      log.push(`tls_msgs${style}`);
      break;
    }
    case 4: // a message type
      msgs[rng.int(0, msgs.length - 1)].type = rng.pick([1, 2, 11, 12, 14, 0, 255]);
      log.push("tls_msgtype");
      break;
    default:
      broken = [rng.pick(["record", "message"]), 0];
  }
  // Records: one for all, one per message, or fixed-size fragments.
  const stream = concat(...msgs.map(msgBytes));
  const size = rng.pick([0, 0, 0, -1, 1, 4, 100, 1000, 16384, 18433]);
  const frags: Uint8Array[] = [];
  if (size === 0) frags.push(stream);
  else if (size === -1) { for (const m of msgs) frags.push(msgBytes(m)); }
  else for (let p = 0; p < stream.length; p += size) frags.push(stream.subarray(p, p + size));
  if (size !== 0) log.push(`tls_frag=${size}`);
  const records = frags.map((fr) => {
    const h = new Uint8Array(5);
    h[0] = 22;
    putBE(h, 1, 2, f.version);
    putBE(h, 3, 2, fr.length);
    return concat(h, fr);
  });
  const out = concat(...records, f.tail);
  if (broken !== undefined) {
    if (broken[0] === "record") putBE(out, 3, 2, interesting(rng, 2, getBE(out, 3, 2)));
    else if (out.length >= 9) putBE(out, 6, 3, interesting(rng, 3, getBE(out, 6, 3)));
    log.push(`tls_broken_${broken[0]}`);
  }
  return out;
}
