/**
 * An allocation-free DNS message parser (RFC 1035 wire format) for the
 * per-packet path: one reused {@linkcode DnsMessage} reads the header and the
 * first question of a UDP payload in place, then walks the answer, authority
 * and additional records one at a time ({@linkcode DnsMessage.nextRecord}).
 * Names are never decoded on the hot path: {@linkcode DnsMessage.questionHasSuffix}
 * compares the question with a name in wire form (case-insensitive, label by
 * label, compression pointers followed); {@linkcode DnsMessage.questionName}
 * allocates the dotted text for decision time.
 *
 * Compression pointers must point strictly before the pointer itself (every
 * real encoder does so), which rules out loops; a name is also limited to 255
 * bytes of wire form and 127 labels (RFC 1035 §2.3.4). Malformed input never
 * throws: {@linkcode DnsMessage.parse} or {@linkcode DnsMessage.nextRecord}
 * returns false.
 *
 * @module
 */

/** DNS header length. */
const HEADER_LEN = 12;
/** Longest name in wire form (RFC 1035 §2.3.4). */
const MAX_NAME = 255;
/** Most labels a name of {@linkcode MAX_NAME} bytes can have (plus the root). */
const MAX_LABELS = 127;

/** Resource record types sealert looks at. */
export const DnsType = { A: 1, CNAME: 5, TXT: 16, AAAA: 28, OPT: 41, DNSKEY: 48 } as const;

/** Section of the record {@linkcode DnsMessage.nextRecord} stopped at. */
export const DnsSection = { ANSWER: 1, AUTHORITY: 2, ADDITIONAL: 3 } as const;

/**
 * The wire form of a dotted name ("vpn.example.com" → 3vpn7example3com0), for
 * {@linkcode DnsMessage.questionHasSuffix}; made once, not per packet. An empty
 * name or "." is the root. Throws on a label longer than 63 bytes or an empty
 * label (programming errors: the names are constants).
 */
export function nameToWire(name: string): Uint8Array {
  const text = name.endsWith(".") ? name.slice(0, -1) : name;
  const labels = text === "" ? [] : text.split(".");
  const bytes: number[] = [];
  for (const label of labels) {
    const enc = new TextEncoder().encode(label);
    if (enc.length === 0 || enc.length > 63) throw new RangeError(`Invalid DNS label: "${label}"`);
    bytes.push(enc.length, ...enc);
  }
  bytes.push(0);
  if (bytes.length > MAX_NAME) throw new RangeError(`DNS name too long: "${name}"`);
  return new Uint8Array(bytes);
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * One DNS message, parsed in place. Call {@linkcode DnsMessage.parse} per
 * payload; the fields below describe the last message parsed and stay valid
 * while its buffer does.
 */
export class DnsMessage {
  /** The buffer of the last message. */
  buf: Uint8Array = new Uint8Array(0);
  /** Offset of the message (its header) in `buf`. */
  start = 0;
  /** End of the message's bytes in `buf` (exclusive). */
  end = 0;
  /** Header: message id. */
  id = 0;
  /** Header: the 16 flag bits (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE). */
  flags = 0;
  /** Header: question count. */
  qdCount = 0;
  /** Header: answer count. */
  anCount = 0;
  /** Header: authority count. */
  nsCount = 0;
  /** Header: additional count. */
  arCount = 0;
  /** Offset in `buf` of the first question's name (0 when `qdCount` is 0). */
  qNameOffset = 0;
  /** Offset in `buf` right after the first question's name as written (its QTYPE). */
  qNameEnd = 0;
  /** Labels of the first question's name, the root not counted (0 for the root). */
  qLabels = 0;
  /** Length of the first question's name in wire form, pointers followed (1 for the root). */
  qNameLength = 0;
  /** First question's QTYPE. */
  qType = 0;
  /** First question's QCLASS. */
  qClass = 0;
  /** Section of the current record (a {@linkcode DnsSection} value), 0 before the first. */
  rrSection = 0;
  /** Offset in `buf` of the current record's owner name. */
  rrNameOffset = 0;
  /** Current record's TYPE. */
  rrType = 0;
  /** Current record's CLASS (an OPT record's UDP payload size). */
  rrClass = 0;
  /** Current record's TTL, unsigned (an OPT record's extended RCODE, version and flags). */
  rrTtl = 0;
  /** Offset in `buf` of the current record's RDATA. */
  rrDataOffset = 0;
  /** Length of the current record's RDATA. */
  rrDataLength = 0;
  /** True when the record walk stopped at a malformed or cut record. */
  recordsMalformed = false;

  #next = 0; // offset of the next record
  #index = 0; // records walked so far
  readonly #labels = new Int32Array(MAX_LABELS + 1); // label offsets of the last name walked
  readonly #suffix = new Int32Array(MAX_LABELS + 1);

  /** Header: QR bit (true for a response). */
  get isResponse(): boolean {
    return (this.flags & 0x8000) !== 0;
  }

  /** Header: OPCODE (0 standard query). */
  get opcode(): number {
    return (this.flags >>> 11) & 15;
  }

  /** Header: RCODE (low 4 bits). */
  get rcode(): number {
    return this.flags & 15;
  }

  /**
   * Parses the header and the question section of the message at
   * `buf[off .. off + len)`. False when the header or a question is cut or
   * malformed; then only the header fields may be set.
   */
  parse(buf: Uint8Array, off: number, len: number): boolean {
    this.buf = buf;
    this.start = off;
    this.end = Math.min(off + len, buf.length);
    this.qNameOffset =
      this.qNameEnd =
      this.qLabels =
      this.qNameLength =
        0;
    this.qType = this.qClass = 0;
    this.rrSection = 0;
    this.recordsMalformed = false;
    this.#index = 0;
    this.#next = this.end;
    if (len < HEADER_LEN || this.end - off < HEADER_LEN) return false;
    this.id = (buf[off] << 8) | buf[off + 1];
    this.flags = (buf[off + 2] << 8) | buf[off + 3];
    this.qdCount = (buf[off + 4] << 8) | buf[off + 5];
    this.anCount = (buf[off + 6] << 8) | buf[off + 7];
    this.nsCount = (buf[off + 8] << 8) | buf[off + 9];
    this.arCount = (buf[off + 10] << 8) | buf[off + 11];
    let p = off + HEADER_LEN;
    for (let q = 0; q < this.qdCount; q++) {
      if (q === 0) {
        const n = this.#collect(p, this.#labels);
        if (n < 0) return false;
        this.qLabels = n;
        this.qNameLength = this.#wireLength(n);
        this.qNameOffset = p;
      }
      const e = this.#skipName(p);
      if (e < 0 || e + 4 > this.end) return false;
      if (q === 0) {
        this.qNameEnd = e;
        this.qType = (buf[e] << 8) | buf[e + 1];
        this.qClass = (buf[e + 2] << 8) | buf[e + 3];
      }
      p = e + 4;
    }
    this.#next = p;
    return true;
  }

  /**
   * Moves to the next resource record (answers, then authority, then
   * additional records) and sets the `rr*` fields. False at the end of the
   * records, or when the record is malformed or cut (`recordsMalformed`).
   */
  nextRecord(): boolean {
    const total = this.anCount + this.nsCount + this.arCount;
    if (this.#index >= total || this.recordsMalformed) return false;
    const buf = this.buf, p = this.#next;
    const e = this.#skipName(p);
    if (e < 0 || e + 10 > this.end) {
      this.recordsMalformed = true;
      return false;
    }
    const rdlen = (buf[e + 8] << 8) | buf[e + 9];
    if (e + 10 + rdlen > this.end) {
      this.recordsMalformed = true;
      return false;
    }
    const i = this.#index++;
    this.rrSection = i < this.anCount
      ? DnsSection.ANSWER
      : i < this.anCount + this.nsCount
      ? DnsSection.AUTHORITY
      : DnsSection.ADDITIONAL;
    this.rrNameOffset = p;
    this.rrType = (buf[e] << 8) | buf[e + 1];
    this.rrClass = (buf[e + 2] << 8) | buf[e + 3];
    this.rrTtl = ((buf[e + 4] << 24) | (buf[e + 5] << 16) | (buf[e + 6] << 8) | buf[e + 7]) >>> 0;
    this.rrDataOffset = e + 10;
    this.rrDataLength = rdlen;
    this.#next = e + 10 + rdlen;
    return true;
  }

  /**
   * True when the first question's name ends with the name `suffixWire`
   * (wire form, from {@linkcode nameToWire}), whole labels compared
   * case-insensitively (ASCII); a name is its own suffix, and the root
   * (a single 0 byte) is everyone's. False without a question.
   */
  questionHasSuffix(suffixWire: Uint8Array): boolean {
    if (this.qNameOffset === 0) return false;
    return this.nameHasSuffix(this.qNameOffset, suffixWire);
  }

  /**
   * True when the name at `buf[off]` (a question's or a record's owner name,
   * or a name inside RDATA) ends with the name `suffixWire`; see
   * {@linkcode DnsMessage.questionHasSuffix}. False for a malformed name.
   */
  nameHasSuffix(off: number, suffixWire: Uint8Array): boolean {
    const n = this.#collect(off, this.#labels);
    if (n < 0) return false;
    // The suffix's labels.
    const sl = this.#suffix;
    let k = 0, s = 0;
    while (s < suffixWire.length && suffixWire[s] !== 0) {
      if (k >= MAX_LABELS) return false;
      sl[k++] = s;
      s += 1 + suffixWire[s];
    }
    if (s >= suffixWire.length || k > n) return false;
    const buf = this.buf;
    for (let i = 0; i < k; i++) {
      const a = this.#labels[n - k + i], b = sl[i];
      const len = buf[a];
      if (len !== suffixWire[b] || b + 1 + len > suffixWire.length) return false;
      for (let j = 1; j <= len; j++) {
        if (lower(buf[a + j]) !== lower(suffixWire[b + j])) return false;
      }
    }
    return true;
  }

  /**
   * The first question's name as lower-case dotted text without the final
   * dot ("" for the root, or when there is no question). Bytes outside
   * printable ASCII, and "." or "\" inside a label, are written as `\DDD`
   * (RFC 1035 presentation form). Allocates: for decision time only.
   */
  questionName(): string {
    return this.qNameOffset === 0 ? "" : this.nameText(this.qNameOffset);
  }

  /**
   * The name at `buf[off]` as lower-case dotted text (see
   * {@linkcode DnsMessage.questionName}); "" for a malformed name. Allocates.
   */
  nameText(off: number): string {
    const n = this.#collect(off, this.#labels);
    if (n < 0) return "";
    const buf = this.buf;
    let out = "";
    for (let i = 0; i < n; i++) {
      if (i > 0) out += ".";
      const a = this.#labels[i];
      for (let j = 1; j <= buf[a]; j++) {
        const c = lower(buf[a + j]);
        if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) {
          out += "\\" + String(c).padStart(3, "0");
        } else out += String.fromCharCode(c);
      }
    }
    return out;
  }

  /** Wire length of the name whose `n` label offsets are in #labels. */
  #wireLength(n: number): number {
    let total = 1;
    for (let i = 0; i < n; i++) total += 1 + this.buf[this.#labels[i]];
    return total;
  }

  /**
   * Walks the name at `p`, following pointers, and stores the offset of each
   * label's length byte in `out`; returns the label count, or −1 when the name
   * is cut, loops, uses a reserved label type or is too long.
   */
  #collect(p: number, out: Int32Array): number {
    const buf = this.buf, end = this.end, min = this.start;
    let n = 0, wire = 1;
    for (;;) {
      if (p < min + HEADER_LEN || p >= end) return -1;
      const b = buf[p];
      if (b === 0) return n;
      const kind = b & 0xc0;
      if (kind === 0xc0) {
        if (p + 1 >= end) return -1;
        const target = min + (((b & 0x3f) << 8) | buf[p + 1]);
        if (target >= p) return -1; // pointers go strictly backwards: no loops
        p = target;
        continue;
      }
      if (kind !== 0) return -1; // 0x40 / 0x80 label types are obsolete or reserved
      wire += 1 + b;
      if (wire > MAX_NAME || n >= MAX_LABELS || p + 1 + b > end) return -1;
      out[n++] = p;
      p += 1 + b;
    }
  }

  /**
   * The offset right after the name at `p` as written (after its first
   * pointer, or its root byte); −1 when malformed (the whole name is checked).
   */
  #skipName(p: number): number {
    if (this.#collect(p, this.#suffix) < 0) return -1;
    const buf = this.buf;
    for (;;) {
      const b = buf[p];
      if (b === 0) return p + 1;
      if ((b & 0xc0) === 0xc0) return p + 2;
      p += 1 + b;
    }
  }
}

/**
 * True when `buf[off .. off + len)` is a well-formed chain of EDNS options
 * (RFC 6891 §6.1.2: 16-bit code, 16-bit length, data), filling the region
 * exactly; an empty region is a valid (empty) chain.
 */
export function isEdnsOptionChain(buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  if (end > buf.length) return false;
  let p = off;
  while (p < end) {
    if (p + 4 > end) return false;
    p += 4 + ((buf[p + 2] << 8) | buf[p + 3]);
  }
  return p === end;
}
