/**
 * The server_name (RFC 6066) of a TLS ClientHello found in place, without
 * allocating: for a per-packet look at the first client segment of a TCP
 * connection. Only the first record is read, and only as far as the bytes
 * go: a ClientHello whose server_name extension lies beyond the segment
 * yields nothing (the full parser, `tls_client_hello.ts`, is for decisions
 * that follow the stream).
 *
 * @module
 */

import { readU16, readU24 } from "./bytes.ts";
import { TlsContentType, TlsExtension, TlsHandshakeType } from "./tls_registry.ts";

/** Server name type host_name (RFC 6066 §3). */
const HOST_NAME = 0;

/**
 * Looks for the first host_name of the server_name extension of a
 * ClientHello record at `buf[off .. off + len)`. On success writes the
 * name's offset and length to `out[0]` and `out[1]` and returns true; false
 * when the bytes are not a ClientHello record, the extension is absent or
 * beyond the bytes, or the structure is inconsistent. Never throws.
 */
export function findSni(buf: Uint8Array, off: number, len: number, out: Int32Array): boolean {
  const avail = Math.min(off + len, buf.length);
  if (off < 0 || avail - off < 9) return false;
  if (buf[off] !== TlsContentType.HANDSHAKE || buf[off + 1] !== 3 || buf[off + 2] > 4) {
    return false;
  }
  const recEnd = off + 5 + readU16(buf, off + 3);
  if (buf[off + 5] !== TlsHandshakeType.CLIENT_HELLO) return false;
  // The message may continue in a later record; the bytes at hand bound the walk.
  const end = Math.min(avail, off + 9 + readU24(buf, off + 6), Math.max(recEnd, off + 9));
  let p = off + 9 + 2 + 32; // legacy_version, random
  if (p + 1 > end) return false;
  p += 1 + buf[p]; // session id
  if (p + 2 > end) return false;
  p += 2 + readU16(buf, p); // cipher suites
  if (p + 1 > end) return false;
  p += 1 + buf[p]; // compression methods
  if (p + 2 > end) return false;
  const extEnd = Math.min(end, p + 2 + readU16(buf, p));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = readU16(buf, p), elen = readU16(buf, p + 2);
    p += 4;
    if (type === TlsExtension.SERVER_NAME) {
      const e = p + elen;
      if (e > extEnd || elen < 2) return false;
      let q = p + 2;
      const listEnd = Math.min(e, q + readU16(buf, p));
      while (q + 3 <= listEnd) {
        const kind = buf[q], nlen = readU16(buf, q + 1);
        q += 3;
        if (q + nlen > listEnd) return false;
        if (kind === HOST_NAME) {
          if (nlen === 0) return false;
          out[0] = q;
          out[1] = nlen;
          return true;
        }
        q += nlen;
      }
      return false;
    }
    p += elen;
  }
  return false;
}
