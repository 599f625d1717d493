/**
 * Builds synthetic TLS handshake messages and records for edge-case tests
 * (real hellos come from the capture fixtures).
 *
 * @module
 */

import { ascii, concat } from "./fixture.ts";

/** Big-endian u16 bytes. */
export function u16(v: number): Uint8Array {
  return new Uint8Array([v >> 8, v & 0xff]);
}

/** A list of u16 values prefixed by its byte length (`lenBytes` 1 or 2). */
export function u16Vector(values: number[], lenBytes = 2): Uint8Array {
  const body = concat(values.map(u16));
  return concat([lenBytes === 1 ? new Uint8Array([body.length]) : u16(body.length), body]);
}

/** One extension: type, u16 length, body. */
export function ext(type: number, body: Uint8Array): Uint8Array {
  return concat([u16(type), u16(body.length), body]);
}

/** server_name with one host_name. */
export function sniExt(name: string): Uint8Array {
  const n = ascii(name);
  return ext(0, concat([u16(n.length + 3), new Uint8Array([0]), u16(n.length), n]));
}

/** ALPN extension from raw protocol byte strings. */
export function alpnExt(protocols: Uint8Array[]): Uint8Array {
  const body = concat(protocols.map((p) => concat([new Uint8Array([p.length]), p])));
  return ext(0x10, concat([u16(body.length), body]));
}

/** Options for {@linkcode clientHello}. */
export interface HelloSpec {
  /** legacy_version (default 0x0303). */
  version?: number;
  /** Session id length (default 32). */
  sessionId?: number;
  /** Cipher suites. */
  ciphers: number[];
  /** Encoded extensions; null for a hello without the extensions block. */
  extensions: Uint8Array[] | null;
}

/** A ClientHello handshake message (type 1, u24 length, body). */
export function clientHello(spec: HelloSpec): Uint8Array {
  const sid = spec.sessionId ?? 32;
  const parts = [
    u16(spec.version ?? 0x0303),
    new Uint8Array(32).fill(0x11),
    new Uint8Array([sid]),
    new Uint8Array(sid).fill(0x22),
    u16Vector(spec.ciphers),
    new Uint8Array([1, 0]),
  ];
  if (spec.extensions !== null) {
    const e = concat(spec.extensions);
    parts.push(u16(e.length), e);
  }
  const body = concat(parts);
  return concat([
    new Uint8Array([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]),
    body,
  ]);
}

/** Wraps `body` into TLS records of at most `fragment` bytes each. */
export function records(
  type: number,
  body: Uint8Array,
  fragment = 16384,
  version = 0x0301,
): Uint8Array {
  const out: Uint8Array[] = [];
  for (let o = 0; o < body.length || o === 0; o += fragment) {
    const part = body.subarray(o, Math.min(body.length, o + fragment));
    out.push(concat([new Uint8Array([type]), u16(version), u16(part.length), part]));
    if (body.length === 0) break;
  }
  return concat(out);
}
