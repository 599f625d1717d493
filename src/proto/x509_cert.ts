/**
 * A minimal DER reader for X.509 certificates (RFC 5280 §4.1): the fields a
 * detector compares — version, serial number, issuer and subject names
 * (CN, O, OU, C), validity, and the basicConstraints, keyUsage and
 * extendedKeyUsage extensions. It reads a certificate in place: no copies,
 * no strings; text fields are offsets into the caller's buffer. Malformed
 * input never throws: {@linkcode X509Certificate.parse} returns `"no"` with a
 * reason.
 *
 * @module
 */

import type { ParseStatus } from "./parse_status.ts";

/** Reasons for a `"no"` result of {@linkcode X509Certificate.parse}. */
const X509Reason = {
  /** A tag, length or nesting does not fit the certificate structure. */
  BAD_DER: "bad_der",
  /** Version outside v1–v3. */
  BAD_VERSION: "bad_version",
  /** notBefore / notAfter not a valid UTCTime or GeneralizedTime. */
  BAD_TIME: "bad_time",
  /** An extension is malformed. */
  BAD_EXTENSION: "bad_extension",
} as const;

/** Name attributes the reader picks out of a Name (codes of {@linkcode X509Certificate.subjectAttrs}). */
export const NameAttr = {
  /** Any other attribute type. */
  OTHER: 0,
  /** commonName (2.5.4.3). */
  CN: 1,
  /** organizationName (2.5.4.10). */
  O: 2,
  /** organizationalUnitName (2.5.4.11). */
  OU: 3,
  /** countryName (2.5.4.6). */
  C: 4,
} as const;

/** Extensions the reader recognises (codes of {@linkcode X509Certificate.extensions}). */
export const X509Ext = {
  /** Any other extension. */
  OTHER: 0,
  /** basicConstraints (2.5.29.19). */
  BASIC_CONSTRAINTS: 1,
  /** keyUsage (2.5.29.15). */
  KEY_USAGE: 2,
  /** extKeyUsage (2.5.29.37). */
  EXT_KEY_USAGE: 3,
  /** subjectAltName (2.5.29.17). */
  SUBJECT_ALT_NAME: 4,
  /** subjectKeyIdentifier (2.5.29.14). */
  SUBJECT_KEY_ID: 5,
  /** authorityKeyIdentifier (2.5.29.35). */
  AUTHORITY_KEY_ID: 6,
} as const;

/** Name attributes recorded per Name. */
const MAX_ATTRS = 16;
/** Extensions recorded. */
const MAX_EXTS = 16;
/** extendedKeyUsage purposes recorded. */
const MAX_EKUS = 16;

// OID bodies (content bytes of the OBJECT IDENTIFIER).
const OID_AT = [0x55, 0x04]; // 2.5.4.x
const OID_CE = [0x55, 0x1d]; // 2.5.29.x
/** id-kp: 1.3.6.1.5.5.7.3 */
const OID_KP = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03];

const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OCTET_STRING = 0x04;
const TAG_OID = 0x06;
const TAG_BOOLEAN = 0x01;
const TAG_UTC_TIME = 0x17;
const TAG_GENERALIZED_TIME = 0x18;
const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
const TAG_VERSION = 0xa0; // [0] EXPLICIT
const TAG_EXTENSIONS = 0xa3; // [3] EXPLICIT

/** One parsed Name (issuer or subject). */
class X509Name {
  /** Offset of the whole Name TLV in the buffer. */
  off = 0;
  /** Length of the whole Name TLV. */
  len = 0;
  /** Relative distinguished names (SETs). */
  rdnCount = 0;
  /** Attributes in order, as {@linkcode NameAttr} codes (first {@linkcode MAX_ATTRS}). */
  readonly attrs = new Uint8Array(MAX_ATTRS);
  /** Value offsets of those attributes. */
  readonly valueOff = new Int32Array(MAX_ATTRS);
  /** Value lengths of those attributes. */
  readonly valueLen = new Int32Array(MAX_ATTRS);
  /** Value string tags (0x0c UTF8String, 0x13 PrintableString, …). */
  readonly valueTag = new Uint8Array(MAX_ATTRS);
  /** Attributes seen (all of them, beyond {@linkcode MAX_ATTRS} too). */
  count = 0;

  reset(): void {
    this.off =
      this.len =
      this.rdnCount =
      this.count =
        0;
  }
}

/**
 * One certificate read in place. Reuse the instance: {@linkcode parse}
 * overwrites every field. Offsets refer to the buffer given to `parse`,
 * which must stay unchanged while they are used.
 */
export class X509Certificate {
  /** `"ok"` when the certificate's TBS part parsed; `"no"` otherwise. */
  status: ParseStatus = "no";
  /** For `"no"`: an {@linkcode X509Reason}; `""` otherwise. */
  reason = "";
  /** Length of the whole certificate TLV. */
  length = 0;
  /** Version: 1, 2 or 3. */
  version = 0;
  /** Offset of the serial number's content bytes. */
  serialOff = 0;
  /** Length of the serial number's content bytes. */
  serialLen = 0;
  /** The issuer Name. */
  readonly issuer: X509Name = new X509Name();
  /** The subject Name. */
  readonly subject: X509Name = new X509Name();
  /** notBefore, seconds since the Unix epoch (UTC). */
  notBefore = 0;
  /** notAfter, seconds since the Unix epoch (UTC). */
  notAfter = 0;
  /** True when both validity times are UTCTime (not GeneralizedTime). */
  utcTimes = false;
  /** Extensions in order, as {@linkcode X509Ext} codes (first {@linkcode MAX_EXTS}). */
  readonly extensions = new Uint8Array(MAX_EXTS);
  /** Critical flag of those extensions (1 = critical). */
  readonly extCritical = new Uint8Array(MAX_EXTS);
  /** Extensions seen (all of them). */
  extCount = 0;
  /** basicConstraints cA. */
  basicCa = false;
  /** basicConstraints carries a pathLenConstraint. */
  basicPathLen = false;
  /** keyUsage bits: bit 0 (digitalSignature) is the most significant of the first byte; −1 when absent. */
  keyUsage = -1;
  /** extendedKeyUsage purposes (all of them). */
  ekuCount = 0;
  /**
   * extendedKeyUsage purposes in order (first {@linkcode MAX_EKUS}): the last
   * arc of an id-kp (1.3.6.1.5.5.7.3.n) purpose, 0 for any other OID.
   */
  readonly ekus = new Uint8Array(MAX_EKUS);

  /** True when the serial number is the single byte 0. */
  serialIsZero(buf: Uint8Array): boolean {
    return this.serialLen === 1 && buf[this.serialOff] === 0;
  }

  /** True when issuer and subject are byte-for-byte the same Name. */
  selfIssued(buf: Uint8Array): boolean {
    return bytesEqual(buf, this.issuer.off, this.issuer.len, this.subject.off, this.subject.len);
  }

  /**
   * Reads the certificate at `buf[off, off + len)`: the TBSCertificate's
   * fields (the signature is not checked). Never throws.
   */
  parse(buf: Uint8Array, off: number, len: number): ParseStatus {
    this.#reset();
    try {
      const why = this.#parse(buf, off, off + len);
      this.status = why === "" ? "ok" : "no";
      this.reason = why;
    } catch {
      // Bounds are checked everywhere; this is the last line of defence.
      this.status = "no";
      this.reason = X509Reason.BAD_DER;
    }
    return this.status;
  }

  #reset(): void {
    this.status = "no";
    this.reason = "";
    this.length =
      this.version =
      this.serialOff =
      this.serialLen =
        0;
    this.issuer.reset();
    this.subject.reset();
    this.notBefore = this.notAfter = 0;
    this.utcTimes = false;
    this.extCount = 0;
    this.basicCa = this.basicPathLen = false;
    this.keyUsage = -1;
    this.ekuCount = 0;
  }

  #parse(buf: Uint8Array, start: number, end: number): string {
    const r = reader;
    if (r.read(buf, start, end) !== TAG_SEQUENCE) return X509Reason.BAD_DER;
    this.length = r.next - start;
    const certEnd = r.next;
    // TBSCertificate
    if (r.read(buf, r.body, certEnd) !== TAG_SEQUENCE) return X509Reason.BAD_DER;
    const tbsEnd = r.next;
    let p = r.body;
    // version [0] EXPLICIT INTEGER DEFAULT v1
    let t = r.read(buf, p, tbsEnd);
    this.version = 1;
    if (t === TAG_VERSION) {
      const vEnd = r.next;
      if (r.read(buf, r.body, vEnd) !== TAG_INTEGER || r.len !== 1) {
        return X509Reason.BAD_VERSION;
      }
      const v = buf[r.body];
      if (v > 2) return X509Reason.BAD_VERSION;
      this.version = v + 1;
      p = vEnd;
      t = r.read(buf, p, tbsEnd);
    }
    // serialNumber
    if (t !== TAG_INTEGER || r.len === 0) return X509Reason.BAD_DER;
    this.serialOff = r.body;
    this.serialLen = r.len;
    p = r.next;
    // signature AlgorithmIdentifier
    if (r.read(buf, p, tbsEnd) !== TAG_SEQUENCE) return X509Reason.BAD_DER;
    p = r.next;
    // issuer
    if (!readName(buf, p, tbsEnd, this.issuer)) return X509Reason.BAD_DER;
    p = this.issuer.off + this.issuer.len;
    // validity
    if (r.read(buf, p, tbsEnd) !== TAG_SEQUENCE) return X509Reason.BAD_DER;
    const validityEnd = r.next;
    p = r.next;
    const t1 = r.read(buf, r.body, validityEnd);
    if (t1 < 0) return X509Reason.BAD_DER;
    this.notBefore = derTime(buf, r.body, r.len, t1);
    const t2 = r.read(buf, r.next, validityEnd);
    if (t2 < 0) return X509Reason.BAD_DER;
    this.notAfter = derTime(buf, r.body, r.len, t2);
    if (Number.isNaN(this.notBefore) || Number.isNaN(this.notAfter)) return X509Reason.BAD_TIME;
    this.utcTimes = t1 === TAG_UTC_TIME && t2 === TAG_UTC_TIME;
    // subject
    if (!readName(buf, p, tbsEnd, this.subject)) return X509Reason.BAD_DER;
    p = this.subject.off + this.subject.len;
    // subjectPublicKeyInfo
    if (r.read(buf, p, tbsEnd) !== TAG_SEQUENCE) return X509Reason.BAD_DER;
    p = r.next;
    // issuerUniqueID [1], subjectUniqueID [2], extensions [3]
    while (p < tbsEnd) {
      t = r.read(buf, p, tbsEnd);
      if (t < 0) return X509Reason.BAD_DER;
      p = r.next;
      if (t === TAG_EXTENSIONS) {
        const why = this.#extensions(buf, r.body, r.next);
        if (why !== "") return why;
      }
    }
    return "";
  }

  #extensions(buf: Uint8Array, start: number, end: number): string {
    const r = reader;
    if (r.read(buf, start, end) !== TAG_SEQUENCE) return X509Reason.BAD_EXTENSION;
    const listEnd = r.next;
    let p = r.body;
    while (p < listEnd) {
      // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
      if (r.read(buf, p, listEnd) !== TAG_SEQUENCE) return X509Reason.BAD_EXTENSION;
      const extEnd = r.next;
      p = extEnd;
      if (r.read(buf, r.body, extEnd) !== TAG_OID) return X509Reason.BAD_EXTENSION;
      const code = extensionCode(buf, r.body, r.len);
      let t = r.read(buf, r.next, extEnd);
      let critical = false;
      if (t === TAG_BOOLEAN) {
        if (r.len !== 1) return X509Reason.BAD_EXTENSION;
        critical = buf[r.body] !== 0;
        t = r.read(buf, r.next, extEnd);
      }
      if (t !== TAG_OCTET_STRING || r.next !== extEnd) return X509Reason.BAD_EXTENSION;
      const k = this.extCount++;
      if (k < MAX_EXTS) {
        this.extensions[k] = code;
        this.extCritical[k] = critical ? 1 : 0;
      }
      const vOff = r.body, vEnd = r.next;
      if (code === X509Ext.BASIC_CONSTRAINTS) {
        if (!this.#basicConstraints(buf, vOff, vEnd)) return X509Reason.BAD_EXTENSION;
      } else if (code === X509Ext.KEY_USAGE) {
        if (!this.#keyUsage(buf, vOff, vEnd)) return X509Reason.BAD_EXTENSION;
      } else if (code === X509Ext.EXT_KEY_USAGE) {
        if (!this.#extKeyUsage(buf, vOff, vEnd)) return X509Reason.BAD_EXTENSION;
      }
    }
    return "";
  }

  #basicConstraints(buf: Uint8Array, start: number, end: number): boolean {
    const r = reader;
    if (r.read(buf, start, end) !== TAG_SEQUENCE) return false;
    const seqEnd = r.next;
    let p = r.body;
    if (p < seqEnd) {
      const t = r.read(buf, p, seqEnd);
      if (t < 0) return false;
      if (t === TAG_BOOLEAN) {
        if (r.len !== 1) return false;
        this.basicCa = buf[r.body] !== 0;
        p = r.next;
      }
    }
    if (p < seqEnd) {
      if (r.read(buf, p, seqEnd) !== TAG_INTEGER) return false;
      this.basicPathLen = true;
    }
    return true;
  }

  #keyUsage(buf: Uint8Array, start: number, end: number): boolean {
    const r = reader;
    if (r.read(buf, start, end) !== TAG_BIT_STRING || r.len < 1 || r.len > 3) {
      return false;
    }
    let bits = 0;
    for (let i = 1; i < 3; i++) bits = (bits << 8) | (i < r.len ? buf[r.body + i] : 0);
    this.keyUsage = bits;
    return true;
  }

  #extKeyUsage(buf: Uint8Array, start: number, end: number): boolean {
    const r = reader;
    if (r.read(buf, start, end) !== TAG_SEQUENCE) return false;
    const seqEnd = r.next;
    let p = r.body;
    while (p < seqEnd) {
      if (r.read(buf, p, seqEnd) !== TAG_OID) return false;
      p = r.next;
      const k = this.ekuCount++;
      if (k < MAX_EKUS) {
        this.ekus[k] = r.len === OID_KP.length + 1 && prefixed(buf, r.body, r.len, OID_KP) &&
            buf[r.body + OID_KP.length] < 0x80
          ? buf[r.body + OID_KP.length]
          : 0;
      }
    }
    return true;
  }
}

/** The TLV just read by {@linkcode TlvReader.read} (its tag is `read`'s result). */
class TlvReader {
  /** Offset of the content. */
  body = 0;
  /** Content length. */
  len = 0;
  /** Offset after the TLV. */
  next = 0;

  /** Reads the DER TLV at `p`, which must end by `end`; its tag, or −1 when it does not fit. */
  read(buf: Uint8Array, p: number, end: number): number {
    if (end > buf.length || p + 2 > end) return -1;
    const tag = buf[p];
    if ((tag & 0x1f) === 0x1f) return -1; // multi-byte tags: none in a certificate's skeleton
    let l = buf[p + 1];
    let q = p + 2;
    if (l & 0x80) {
      const n = l & 0x7f;
      if (n === 0 || n > 3 || q + n > end) return -1; // indefinite or > 16 MB
      l = 0;
      for (let i = 0; i < n; i++) l = l * 256 + buf[q + i];
      q += n;
    }
    if (q + l > end) return -1;
    this.body = q;
    this.len = l;
    this.next = q + l;
    return tag;
  }
}

const reader = new TlvReader();

/** Reads a Name (SEQUENCE OF SET OF AttributeTypeAndValue) at `p` into `out`. */
function readName(buf: Uint8Array, p: number, end: number, out: X509Name): boolean {
  const r = reader;
  if (r.read(buf, p, end) !== TAG_SEQUENCE) return false;
  out.off = p;
  out.len = r.next - p;
  const nameEnd = r.next;
  let q = r.body;
  while (q < nameEnd) {
    if (r.read(buf, q, nameEnd) !== TAG_SET) return false;
    const setEnd = r.next;
    q = setEnd;
    out.rdnCount++;
    let a = r.body;
    while (a < setEnd) {
      if (r.read(buf, a, setEnd) !== TAG_SEQUENCE) return false;
      const atvEnd = r.next;
      a = atvEnd;
      if (r.read(buf, r.body, atvEnd) !== TAG_OID) return false;
      const code = attrCode(buf, r.body, r.len);
      const vt = r.read(buf, r.next, atvEnd);
      if (vt < 0 || r.next !== atvEnd) return false;
      const k = out.count++;
      if (k < MAX_ATTRS) {
        out.attrs[k] = code;
        out.valueOff[k] = r.body;
        out.valueLen[k] = r.len;
        out.valueTag[k] = vt;
      }
    }
  }
  return true;
}

function prefixed(buf: Uint8Array, off: number, len: number, prefix: number[]): boolean {
  if (len < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[off + i] !== prefix[i]) return false;
  return true;
}

function attrCode(buf: Uint8Array, off: number, len: number): number {
  if (len !== 3 || !prefixed(buf, off, len, OID_AT)) return NameAttr.OTHER;
  switch (buf[off + 2]) {
    case 3:
      return NameAttr.CN;
    case 10:
      return NameAttr.O;
    case 11:
      return NameAttr.OU;
    case 6:
      return NameAttr.C;
  }
  return NameAttr.OTHER;
}

function extensionCode(buf: Uint8Array, off: number, len: number): number {
  if (len !== 3 || !prefixed(buf, off, len, OID_CE)) return X509Ext.OTHER;
  switch (buf[off + 2]) {
    case 19:
      return X509Ext.BASIC_CONSTRAINTS;
    case 15:
      return X509Ext.KEY_USAGE;
    case 37:
      return X509Ext.EXT_KEY_USAGE;
    case 17:
      return X509Ext.SUBJECT_ALT_NAME;
    case 14:
      return X509Ext.SUBJECT_KEY_ID;
    case 35:
      return X509Ext.AUTHORITY_KEY_ID;
  }
  return X509Ext.OTHER;
}

/** Two digits at `off` as a number, or NaN. */
function digits2(buf: Uint8Array, off: number): number {
  const a = buf[off] - 0x30, b = buf[off + 1] - 0x30;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}

/**
 * UTCTime (YYMMDDHHMMSSZ, RFC 5280 §4.1.2.5.1: YY < 50 is 20YY) or
 * GeneralizedTime (YYYYMMDDHHMMSSZ) as seconds since the epoch; NaN when
 * malformed.
 */
function derTime(buf: Uint8Array, off: number, len: number, tag: number): number {
  let year: number, p: number;
  if (tag === TAG_UTC_TIME && len === 13) {
    const yy = digits2(buf, off);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
    p = off + 2;
  } else if (tag === TAG_GENERALIZED_TIME && len === 15) {
    year = digits2(buf, off) * 100 + digits2(buf, off + 2);
    p = off + 4;
  } else return NaN;
  if (buf[off + len - 1] !== 0x5a) return NaN; // 'Z'
  const mo = digits2(buf, p), d = digits2(buf, p + 2);
  const h = digits2(buf, p + 4), mi = digits2(buf, p + 6), s = digits2(buf, p + 8);
  if (!(mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 60)) return NaN;
  if (Number.isNaN(year)) return NaN;
  return Date.UTC(year, mo - 1, d, h, mi, s) / 1000;
}

function bytesEqual(buf: Uint8Array, a: number, alen: number, b: number, blen: number): boolean {
  if (alen !== blen || alen === 0) return false;
  for (let i = 0; i < alen; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}
