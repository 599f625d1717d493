/**
 * Builds synthetic X.509 certificates in DER for tests (the signature and
 * key are filler: the readers under test never verify them), among them the
 * exact shape SoftEther's NewRootX509 gives its self-generated server
 * certificate, so each of its fields can be changed one at a time.
 *
 * @module
 */

import { concat } from "./bytes.ts";

/** One DER TLV. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = concat(...parts);
  const n = body.length;
  const len = n < 0x80
    ? [n]
    : n < 0x100
    ? [0x81, n]
    : n < 0x10000
    ? [0x82, n >> 8, n & 0xff]
    : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return concat(new Uint8Array([tag, ...len]), body);
}

/** OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const out = [arcs[0] * 40 + arcs[1]];
  for (const a of arcs.slice(2)) {
    const b: number[] = [a & 0x7f];
    for (let v = a >>> 7; v > 0; v >>>= 7) b.unshift((v & 0x7f) | 0x80);
    out.push(...b);
  }
  return tlv(0x06, new Uint8Array(out));
}

const text = (s: string) => new TextEncoder().encode(s);

/** Time as UTCTime (tag 0x17) or GeneralizedTime (0x18). */
export function derTime(d: Date, tag = 0x17): Uint8Array {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const y = d.getUTCFullYear();
  const s = (tag === 0x17 ? p(y % 100) : p(y, 4)) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) +
    p(d.getUTCHours()) + p(d.getUTCMinutes()) + p(d.getUTCSeconds()) + "Z";
  return tlv(tag, text(s));
}

/** Attribute OIDs by short name. */
export const ATTR: Record<string, string> = {
  CN: "2.5.4.3",
  O: "2.5.4.10",
  OU: "2.5.4.11",
  C: "2.5.4.6",
  ST: "2.5.4.8",
  L: "2.5.4.7",
};

/** One name attribute: [short name, value, string tag (default UTF8String, C PrintableString)]. */
export type NameEntry = [string, string, number?];

/** A Name with one attribute per RDN. */
export function derName(entries: NameEntry[]): Uint8Array {
  return tlv(
    0x30,
    ...entries.map(([k, v, tag]) =>
      tlv(0x31, tlv(0x30, oid(ATTR[k]), tlv(tag ?? (k === "C" ? 0x13 : 0x0c), text(v))))
    ),
  );
}

/** One extension. */
export interface ExtSpec {
  /** Extension OID. */
  oid: string;
  /** Critical flag (omitted when false). */
  critical?: boolean;
  /** extnValue content. */
  value: Uint8Array;
}

/** basicConstraints (cA, optional pathLen). */
export function basicConstraints(ca: boolean, critical = true, pathLen?: number): ExtSpec {
  const parts = [];
  if (ca) parts.push(tlv(0x01, new Uint8Array([0xff])));
  if (pathLen !== undefined) parts.push(tlv(0x02, new Uint8Array([pathLen])));
  return { oid: "2.5.29.19", critical, value: tlv(0x30, ...parts) };
}

/** keyUsage from the DER BIT STRING content (unused-bits byte first). */
export function keyUsage(bits: number[], critical = false): ExtSpec {
  return { oid: "2.5.29.15", critical, value: tlv(0x03, new Uint8Array(bits)) };
}

/** extendedKeyUsage from id-kp arcs (1.3.6.1.5.5.7.3.n) or full OIDs. */
export function extKeyUsage(purposes: (number | string)[], critical = false): ExtSpec {
  return {
    oid: "2.5.29.37",
    critical,
    value: tlv(
      0x30,
      ...purposes.map((p) => oid(typeof p === "number" ? `1.3.6.1.5.5.7.3.${p}` : p)),
    ),
  };
}

/** A certificate's fields. */
export interface CertSpec {
  /** 1-3; v1 omits the version field. */
  version: number;
  /** Serial number content bytes. */
  serial: Uint8Array;
  /** Issuer entries. */
  issuer: NameEntry[];
  /** Subject entries. */
  subject: NameEntry[];
  /** notBefore. */
  notBefore: Date;
  /** notAfter. */
  notAfter: Date;
  /** Time tag (0x17 UTCTime, 0x18 GeneralizedTime). */
  timeTag: number;
  /** Extensions in order (none: no extensions field). */
  extensions: ExtSpec[];
}

const RSA_SPKI = tlv(
  0x30,
  tlv(0x30, oid("1.2.840.113549.1.1.1"), tlv(0x05)),
  tlv(
    0x03,
    new Uint8Array([0]),
    tlv(
      0x30,
      tlv(0x02, new Uint8Array(257).fill(0xa5, 1)),
      tlv(0x02, new Uint8Array([1, 0, 1])),
    ),
  ),
);
const SHA256_RSA = tlv(0x30, oid("1.2.840.113549.1.1.11"), tlv(0x05));

/** DER of a certificate (filler key and signature). */
export function buildCert(s: CertSpec): Uint8Array {
  const tbs = [];
  if (s.version > 1) tbs.push(tlv(0xa0, tlv(0x02, new Uint8Array([s.version - 1]))));
  tbs.push(
    tlv(0x02, s.serial),
    SHA256_RSA,
    derName(s.issuer),
    tlv(0x30, derTime(s.notBefore, s.timeTag), derTime(s.notAfter, s.timeTag)),
    derName(s.subject),
    RSA_SPKI,
  );
  if (s.extensions.length > 0) {
    tbs.push(
      tlv(
        0xa3,
        tlv(
          0x30,
          ...s.extensions.map((e) =>
            tlv(
              0x30,
              oid(e.oid),
              ...(e.critical ? [tlv(0x01, new Uint8Array([0xff]))] : []),
              tlv(0x04, e.value),
            )
          ),
        ),
      ),
    );
  }
  return tlv(
    0x30,
    tlv(0x30, ...tbs),
    SHA256_RSA,
    tlv(0x03, new Uint8Array(257)),
  );
}

/**
 * NewRootX509's validity: whole days from `created` until 1 January 2038
 * (GetDaysUntil2038), or until 30 December 2049 from 2030 on.
 */
export function softEtherNotAfter(created: Date): Date {
  const target = created.getUTCFullYear() >= 2030 ? Date.UTC(2049, 11, 30) : Date.UTC(2038, 0, 1);
  const days = Math.floor((target - created.getTime()) / 86_400_000);
  return new Date(created.getTime() + days * 86_400_000);
}

/** The fields of SoftEther's self-generated certificate for host name `cn` (SiGenerateDefaultCertEx). */
export function softEtherCertSpec(
  cn: string,
  created = new Date(Date.UTC(2026, 10, 26, 7, 9, 19)),
): CertSpec {
  const name: NameEntry[] = [["CN", cn], ["O", cn], ["OU", cn], ["C", "US"]];
  return {
    version: 3,
    serial: new Uint8Array([0]),
    issuer: name,
    subject: name,
    notBefore: created,
    notAfter: softEtherNotAfter(created),
    timeTag: 0x17,
    extensions: [
      basicConstraints(true),
      keyUsage([0x01, 0xf6]),
      extKeyUsage([1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ],
  };
}
