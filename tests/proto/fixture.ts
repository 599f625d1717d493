/**
 * Loads the segment fixtures of `fixtures/*.seg` (one TCP payload per line:
 * `c <hex>` client to server, `s <hex>` server to client, in capture order).
 *
 * @module
 */

import { concat as concatBytes } from "../helpers/bytes.ts";

/** One TCP segment payload of a fixture. */
export interface Segment {
  /** `"c"`: client to server; `"s"`: server to client. */
  dir: "c" | "s";
  /** Payload bytes. */
  bytes: Uint8Array;
}

/** A recorded TCP connection. */
export interface SegmentFixture {
  /** Segments in capture order. */
  segments: Segment[];
  /** The client stream (all `c` segments joined). */
  client: Uint8Array;
  /** The server stream (all `s` segments joined). */
  server: Uint8Array;
}

/** Decodes a hex string (whitespace ignored). */
export function fromHex(hex: string): Uint8Array {
  const h = hex.replace(/\s+/g, "");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Encodes bytes as lower-case hex. */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** ASCII bytes of a string. */
export function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Joins byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  return concatBytes(...parts);
}

/** Reads `fixtures/<name>.seg`. */
export function loadSegments(name: string): SegmentFixture {
  const text = Deno.readTextFileSync(new URL(`./fixtures/${name}.seg`, import.meta.url));
  const segments: Segment[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const [dir, hex] = t.split(" ");
    if (dir !== "c" && dir !== "s") throw new Error(`bad fixture line in ${name}`);
    segments.push({ dir, bytes: fromHex(hex) });
  }
  return {
    segments,
    client: concat(segments.filter((s) => s.dir === "c").map((s) => s.bytes)),
    server: concat(segments.filter((s) => s.dir === "s").map((s) => s.bytes)),
  };
}

/** Reads a JSON fixture. */
export function loadJson<T>(name: string): T {
  return JSON.parse(Deno.readTextFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
}
