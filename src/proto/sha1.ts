/**
 * SHA-1 (FIPS 180-4) over a byte range, synchronous and allocation-free, for
 * checking digests carried inside packets on the per-packet path (SoftEther's
 * VPN over ICMP puts SHA-1 of the rest of the payload in front of it). One
 * {@linkcode Sha1} keeps its message schedule and padding buffer and reuses
 * them on every call; Web Crypto is asynchronous and node:crypto allocates.
 *
 * @module
 */

/** Digest length in bytes. */
const DIGEST_LEN = 20;

/** A reusable SHA-1 engine. */
export class Sha1 {
  readonly #w = new Int32Array(80);
  readonly #h = new Int32Array(5);
  readonly #tail = new Uint8Array(128);

  /**
   * SHA-1 of `buf[off .. off + len)`, written to `out[outOff .. outOff + 20)`.
   * The caller keeps the range within `buf` and `out`.
   */
  digest(buf: Uint8Array, off: number, len: number, out: Uint8Array, outOff: number): void {
    this.#run(buf, off, len);
    const h = this.#h;
    for (let i = 0; i < 5; i++) {
      const v = h[i];
      out[outOff + i * 4] = v >>> 24;
      out[outOff + i * 4 + 1] = (v >>> 16) & 255;
      out[outOff + i * 4 + 2] = (v >>> 8) & 255;
      out[outOff + i * 4 + 3] = v & 255;
    }
  }

  /**
   * True when the SHA-1 of `buf[off .. off + len)` equals the 20 bytes at
   * `digest[digestOff]` (both ranges must lie within their buffers).
   */
  matches(
    buf: Uint8Array,
    off: number,
    len: number,
    digest: Uint8Array,
    digestOff: number,
  ): boolean {
    if (off < 0 || len < 0 || off + len > buf.length) return false;
    if (digestOff < 0 || digestOff + DIGEST_LEN > digest.length) return false;
    this.#run(buf, off, len);
    const h = this.#h;
    for (let i = 0; i < 5; i++) {
      const d = digestOff + i * 4;
      const v = (digest[d] << 24) | (digest[d + 1] << 16) | (digest[d + 2] << 8) | digest[d + 3];
      if (v !== h[i]) return false;
    }
    return true;
  }

  /** Hashes the range into #h. */
  #run(buf: Uint8Array, off: number, len: number): void {
    const h = this.#h;
    h[0] = 0x67452301;
    h[1] = 0xefcdab89 | 0;
    h[2] = 0x98badcfe | 0;
    h[3] = 0x10325476;
    h[4] = 0xc3d2e1f0 | 0;
    const full = len - (len % 64);
    for (let p = off; p < off + full; p += 64) this.#block(buf, p);
    // Padding: the remaining bytes, 0x80, zeros, the bit length (64-bit big-endian).
    const tail = this.#tail;
    const rest = len - full;
    for (let i = 0; i < rest; i++) tail[i] = buf[off + full + i];
    tail[rest] = 0x80;
    const total = rest + 9 <= 64 ? 64 : 128;
    tail.fill(0, rest + 1, total);
    const bitsHi = Math.floor(len / 0x20000000); // len * 8 / 2^32
    const bitsLo = (len * 8) >>> 0;
    tail[total - 8] = bitsHi >>> 24;
    tail[total - 7] = (bitsHi >>> 16) & 255;
    tail[total - 6] = (bitsHi >>> 8) & 255;
    tail[total - 5] = bitsHi & 255;
    tail[total - 4] = bitsLo >>> 24;
    tail[total - 3] = (bitsLo >>> 16) & 255;
    tail[total - 2] = (bitsLo >>> 8) & 255;
    tail[total - 1] = bitsLo & 255;
    this.#block(tail, 0);
    if (total === 128) this.#block(tail, 64);
  }

  /** One 64-byte block at `buf[p]`. */
  #block(buf: Uint8Array, p: number): void {
    const w = this.#w, h = this.#h;
    for (let i = 0; i < 16; i++) {
      const q = p + i * 4;
      w[i] = (buf[q] << 24) | (buf[q + 1] << 16) | (buf[q + 2] << 8) | buf[q + 3];
    }
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (let i = 0; i < 80; i++) {
      let f: number, k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc | 0;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6 | 0;
      }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0;
  }
}
