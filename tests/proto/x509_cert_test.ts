import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { NameAttr, X509Certificate, X509Ext } from "../../src/proto/x509_cert.ts";
import {
  basicConstraints,
  buildCert,
  extKeyUsage,
  keyUsage,
  softEtherCertSpec,
  tlv,
} from "../helpers/der_builder.ts";

const LAB4 = fileURLToPath(new URL("../../testdata/lab4/", import.meta.url));
const text = (b: Uint8Array, off: number, len: number) =>
  new TextDecoder().decode(b.subarray(off, off + len));

Deno.test("X509Certificate: the real SoftEther server certificate (lab4)", () => {
  const der = Deno.readFileSync(`${LAB4}softether_server_cert.der`);
  const c = new X509Certificate();
  assert.equal(c.parse(der, 0, der.length), "ok", c.reason);
  assert.equal(c.length, der.length);
  assert.equal(c.version, 3);
  assert.ok(c.serialIsZero(der));
  assert.ok(c.selfIssued(der));
  const s = c.subject;
  assert.equal(s.count, 4);
  assert.equal(s.rdnCount, 4);
  assert.deepEqual([...s.attrs.subarray(0, 4)], [NameAttr.CN, NameAttr.O, NameAttr.OU, NameAttr.C]);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => text(der, s.valueOff[i], s.valueLen[i])),
    ["vm", "vm", "vm", "US"],
  );
  assert.deepEqual([...s.valueTag.subarray(0, 4)], [0x0c, 0x0c, 0x0c, 0x13]);
  assert.equal(new Date(c.notBefore * 1000).toISOString(), "2026-12-06T03:40:46.000Z");
  assert.equal(new Date(c.notAfter * 1000).toISOString(), "2037-12-31T03:40:46.000Z");
  assert.ok(c.utcTimes);
  assert.equal(c.extCount, 3);
  assert.deepEqual(
    [...c.extensions.subarray(0, 3)],
    [X509Ext.BASIC_CONSTRAINTS, X509Ext.KEY_USAGE, X509Ext.EXT_KEY_USAGE],
  );
  assert.deepEqual([...c.extCritical.subarray(0, 3)], [1, 0, 0]);
  assert.ok(c.basicCa);
  assert.equal(c.basicPathLen, false);
  assert.equal(c.keyUsage, 0xf600);
  assert.equal(c.ekuCount, 9);
  assert.deepEqual([...c.ekus.subarray(0, 9)], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("X509Certificate: the openssl look-alikes of lab4 parse with their own fields", () => {
  const c = new X509Certificate();
  const der = Deno.readFileSync(`${LAB4}neg_tls12_selfsigned.der`);
  assert.equal(c.parse(der, 0, der.length), "ok", c.reason);
  // CN = O = OU = vpn.lab, C = US, CA:TRUE: but a 20-byte random serial and SKI/AKI.
  assert.equal(c.serialLen, 20);
  assert.equal(c.serialIsZero(der), false);
  assert.ok(c.selfIssued(der));
  assert.deepEqual(
    [...c.subject.attrs.subarray(0, 4)],
    [NameAttr.CN, NameAttr.O, NameAttr.OU, NameAttr.C],
  );
  assert.deepEqual(
    [...c.extensions.subarray(0, c.extCount)],
    [X509Ext.SUBJECT_KEY_ID, X509Ext.AUTHORITY_KEY_ID, X509Ext.BASIC_CONSTRAINTS],
  );
  assert.ok(c.basicCa);
  assert.equal(c.keyUsage, -1);
  assert.equal(c.ekuCount, 0);
  const der2 = Deno.readFileSync(`${LAB4}neg_tls12_selfsigned_cnonly.der`);
  assert.equal(c.parse(der2, 0, der2.length), "ok", c.reason);
  assert.equal(c.subject.count, 1);
  assert.equal(c.subject.attrs[0], NameAttr.CN);
  assert.equal(text(der2, c.subject.valueOff[0], c.subject.valueLen[0]), "web4.lab");
});

Deno.test("X509Certificate: reads in place at an offset, fields of a synthetic certificate", () => {
  const spec = softEtherCertSpec("host-\u00e9.example");
  spec.serial = new Uint8Array([0x00, 0x8f, 0x01]);
  spec.timeTag = 0x18;
  spec.notBefore = new Date(Date.UTC(1999, 0, 2, 3, 4, 5));
  spec.notAfter = new Date(Date.UTC(2051, 6, 8, 9, 10, 11));
  spec.extensions = [
    { oid: "2.5.29.17", value: tlv(0x30) },
    basicConstraints(false, false, 3),
    keyUsage([0x07, 0x80]),
    extKeyUsage([1, "1.3.6.1.4.1.311.10.3.3", 300]),
  ];
  const der = buildCert(spec);
  const buf = new Uint8Array(der.length + 20);
  buf.set(der, 7);
  const c = new X509Certificate();
  assert.equal(c.parse(buf, 7, der.length), "ok", c.reason);
  assert.equal(c.serialLen, 3);
  assert.equal(c.serialIsZero(buf), false);
  assert.equal(text(buf, c.subject.valueOff[0], c.subject.valueLen[0]), "host-\u00e9.example");
  assert.equal(c.utcTimes, false);
  assert.equal(c.notBefore, Date.UTC(1999, 0, 2, 3, 4, 5) / 1000);
  assert.equal(c.notAfter, Date.UTC(2051, 6, 8, 9, 10, 11) / 1000);
  assert.deepEqual(
    [...c.extensions.subarray(0, 4)],
    [X509Ext.SUBJECT_ALT_NAME, X509Ext.BASIC_CONSTRAINTS, X509Ext.KEY_USAGE, X509Ext.EXT_KEY_USAGE],
  );
  assert.equal(c.basicCa, false);
  assert.equal(c.basicPathLen, true);
  assert.equal(c.keyUsage, 0x8000);
  assert.equal(c.ekuCount, 3);
  // id-kp arcs only; a Microsoft OID and an arc beyond one byte read as 0.
  assert.deepEqual([...c.ekus.subarray(0, 3)], [1, 0, 0]);
});

Deno.test("X509Certificate: UTCTime years 50-99 are 19xx; v1 certificates have no version field", () => {
  const spec = softEtherCertSpec("a");
  spec.version = 1;
  spec.notBefore = new Date(Date.UTC(1950, 0, 1));
  spec.notAfter = new Date(Date.UTC(2049, 11, 31, 23, 59, 59));
  spec.extensions = [];
  const der = buildCert(spec);
  const c = new X509Certificate();
  assert.equal(c.parse(der, 0, der.length), "ok", c.reason);
  assert.equal(c.version, 1);
  assert.equal(c.notBefore, Date.UTC(1950, 0, 1) / 1000);
  assert.equal(c.notAfter, Date.UTC(2049, 11, 31, 23, 59, 59) / 1000);
  assert.equal(c.extCount, 0);
});

Deno.test("X509Certificate: malformed input returns no with a reason, never throws", () => {
  const der = buildCert(softEtherCertSpec("vm"));
  const c = new X509Certificate();
  // Every truncation of a valid certificate.
  for (let n = 0; n < der.length; n++) {
    assert.equal(c.parse(der, 0, n), "no", `cut at ${n}`);
    assert.notEqual(c.reason, "");
  }
  // A region running past the buffer.
  assert.equal(c.parse(der, 10, der.length), "no");
  // Every single-byte corruption: parses or refuses, never throws.
  let refused = 0;
  for (let i = 0; i < der.length; i++) {
    for (const v of [0x00, 0x7f, 0x80, 0x84, 0xff]) {
      const b = der.slice();
      b[i] = v;
      if (c.parse(b, 0, b.length) === "no") refused++;
    }
  }
  assert.ok(refused > 0);
  // Random bytes.
  let seed = 7;
  for (let k = 0; k < 2000; k++) {
    const b = new Uint8Array((k % 300) + 1);
    for (let i = 0; i < b.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      b[i] = seed >>> 24;
    }
    b[0] = 0x30;
    c.parse(b, 0, b.length);
  }
  // Specific reasons.
  const bad = (mut: (s: ReturnType<typeof softEtherCertSpec>) => void) => {
    const s = softEtherCertSpec("vm");
    mut(s);
    c.parse(buildCert(s), 0, buildCert(s).length);
    return c.reason;
  };
  assert.equal(bad((s) => (s.version = 4)), "bad_version");
  // Month 13 in notBefore.
  const der2 = buildCert(softEtherCertSpec("vm"));
  const at = new TextDecoder("latin1").decode(der2).indexOf("261126070919Z");
  assert.ok(at > 0);
  der2[at + 2] = 0x31;
  der2[at + 3] = 0x33;
  assert.equal(c.parse(der2, 0, der2.length), "no");
  assert.equal(c.reason, "bad_time");
});
