/**
 * SoftEther's Pack serialisation (Mayaqua/Pack.c `WritePack` / `ReadPack`),
 * read in place without allocating: the plaintext Packs of NAT traversal
 * (UDP 5004) and of VPN Azure's control connection.
 *
 * Wire format, every integer big-endian: u32 element count; per element the
 * name (u32 length + 1, then the name's bytes without a NUL), u32 value type,
 * u32 value count, then the values — INT a u32, INT64 a u64, DATA / STR /
 * UNISTR a u32 byte count followed by that many bytes (UNISTR: UTF-8 with its
 * NUL). Limits from Pack.h: names of 1–63 bytes, at most 262,144 elements and
 * 262,144 values an element.
 *
 * @module
 */

/** Value types of a Pack element (Pack.h `VALUE_*`). */
export const PackValueType = {
  /** u32 integer (also booleans). */
  INT: 0,
  /** Binary data: u32 size + bytes. */
  DATA: 1,
  /** ANSI string: u32 length + bytes (no NUL). */
  STR: 2,
  /** Unicode string: u32 size + UTF-8 bytes with the NUL. */
  UNISTR: 3,
  /** u64 integer. */
  INT64: 4,
} as const;

/** Longest element name (Pack.h `MAX_ELEMENT_NAME_LEN`). */
const MAX_NAME = 63;
/** Most elements of a Pack, and values of an element (Pack.h, 64-bit builds). */
const MAX_COUNT = 262144;

function u32(buf: Uint8Array, p: number): number {
  return ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * Walks the elements of one Pack in place. {@linkcode PackReader.begin}
 * reads the element count, each {@linkcode PackReader.next} moves to the
 * next element and sets the `name*`, `type`, `valueCount` and `first*`
 * fields. Reused across packets; valid while the buffer is.
 */
export class PackReader {
  /** The buffer of the Pack. */
  buf: Uint8Array = new Uint8Array(0);
  /** End of the bytes available (exclusive). */
  end = 0;
  /** Element count from the header. */
  count = 0;
  /** Offset of the current element's name bytes. */
  nameOffset = 0;
  /** Length of the current element's name. */
  nameLength = 0;
  /** Value type of the current element ({@linkcode PackValueType}). */
  type = 0;
  /** Number of values of the current element. */
  valueCount = 0;
  /**
   * Offset of the current element's first value: the integer's bytes, or the
   * bytes after the length of a DATA / STR / UNISTR value.
   */
  firstOffset = 0;
  /** Byte length of the first value (4 for INT, 8 for INT64). */
  firstLength = 0;
  /** True when the walk stopped at an element that is not valid Pack encoding. */
  malformed = false;
  /** True when the walk stopped at an element cut by the end of the bytes. */
  truncated = false;
  /** Offset right after the last element once all `count` elements were walked, else 0. */
  consumed = 0;
  #p = 0;
  #index = 0;

  /**
   * Starts reading the Pack at `buf[off .. off + len)`. False when the
   * element count is cut, 0 or above the format's limit.
   */
  begin(buf: Uint8Array, off: number, len: number): boolean {
    this.buf = buf;
    this.end = Math.min(off + len, buf.length);
    this.count = 0;
    this.#index = 0;
    this.malformed = this.truncated = false;
    this.consumed = 0;
    this.nameOffset =
      this.nameLength =
      this.type =
      this.valueCount =
        0;
    this.firstOffset = this.firstLength = 0;
    if (off < 0 || this.end - off < 4) {
      this.truncated = true;
      return false;
    }
    const n = u32(buf, off);
    if (n === 0 || n > MAX_COUNT) {
      this.malformed = true;
      return false;
    }
    this.count = n;
    this.#p = off + 4;
    return true;
  }

  /**
   * Moves to the next element. False after the last one, or when the
   * element is malformed (`malformed`) or cut (`truncated`).
   */
  next(): boolean {
    if (this.#index >= this.count || this.malformed || this.truncated) return false;
    const buf = this.buf, end = this.end;
    let p = this.#p;
    if (p + 4 > end) return this.#cut();
    const nl = u32(buf, p);
    if (nl < 2 || nl > MAX_NAME + 1) return this.#bad();
    const nameOffset = p + 4, nameLength = nl - 1;
    p = nameOffset + nameLength;
    if (p + 8 > end) return this.#cut();
    const type = u32(buf, p), count = u32(buf, p + 4);
    if (type > PackValueType.INT64 || count > MAX_COUNT) return this.#bad();
    p += 8;
    let firstOffset = p, firstLength = 0;
    if (type === PackValueType.INT || type === PackValueType.INT64) {
      firstLength = type === PackValueType.INT ? 4 : 8;
      p += count * firstLength;
      if (p > end) return this.#cut();
    } else {
      for (let i = 0; i < count; i++) {
        if (p + 4 > end) return this.#cut();
        const size = u32(buf, p);
        if (i === 0) {
          firstOffset = p + 4;
          firstLength = size;
        }
        p += 4 + size;
        if (p > end) return this.#cut();
      }
    }
    if (count === 0) firstLength = 0;
    this.nameOffset = nameOffset;
    this.nameLength = nameLength;
    this.type = type;
    this.valueCount = count;
    this.firstOffset = firstOffset;
    this.firstLength = firstLength;
    this.#p = p;
    if (++this.#index === this.count) this.consumed = p;
    return true;
  }

  /**
   * Moves on to the next element named `name` (ASCII, compared
   * case-insensitively as SoftEther's `GetElement` does). False when none
   * is left.
   */
  find(name: Uint8Array): boolean {
    while (this.next()) if (this.nameIs(name)) return true;
    return false;
  }

  /** True when the current element's name is `name` (ASCII, case-insensitive). */
  nameIs(name: Uint8Array): boolean {
    if (this.nameLength !== name.length) return false;
    const buf = this.buf, o = this.nameOffset;
    for (let i = 0; i < name.length; i++) if (lower(buf[o + i]) !== lower(name[i])) return false;
    return true;
  }

  /**
   * True when the current element is a STR (or DATA) whose first value is
   * exactly the bytes `value`.
   */
  firstValueIs(value: Uint8Array): boolean {
    if (this.type !== PackValueType.STR && this.type !== PackValueType.DATA) return false;
    if (this.valueCount === 0 || this.firstLength !== value.length) return false;
    const buf = this.buf, o = this.firstOffset;
    for (let i = 0; i < value.length; i++) if (buf[o + i] !== value[i]) return false;
    return true;
  }

  #bad(): boolean {
    this.malformed = true;
    return false;
  }

  #cut(): boolean {
    this.truncated = true;
    return false;
  }
}
