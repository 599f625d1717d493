/**
 * TLS client fingerprints: JA3 (Salesforce) and JA4 (FoxIO, per
 * technical_details/JA4.md), and the JA3S server fingerprint.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { hex4 } from "./bytes.ts";
import type { ClientHello } from "./tls_client_hello.ts";
import { isGrease, TlsExtension } from "./tls_registry.ts";
import type { ServerHello } from "./tls_server_hello.ts";

/** A JA3 or JA3S fingerprint: the full string and its MD5. */
export interface Ja3 {
  /** Comma-separated decimal fields, e.g. `771,4866-4867,0-11-10,29-23,0`. */
  text: string;
  /** Lower-case hex MD5 of `text`. */
  md5: string;
}

function md5(s: string): string {
  return createHash("md5").update(s).digest("hex");
}

function sha12(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 12);
}

function noGrease(list: readonly number[]): number[] {
  return list.filter((v) => !isGrease(v));
}

/**
 * JA3 of a ClientHello: `version,ciphers,extensions,groups,point formats`,
 * decimal values joined by `-`, GREASE removed from the lists.
 */
export function ja3(h: ClientHello): Ja3 {
  const text = [
    String(h.legacyVersion),
    noGrease(h.cipherSuites).join("-"),
    noGrease(h.extensions).join("-"),
    noGrease(h.supportedGroups).join("-"),
    h.ecPointFormats.join("-"),
  ].join(",");
  return { text, md5: md5(text) };
}

/** JA3S of a ServerHello: `version,cipher,extensions` (decimal). */
export function ja3s(s: ServerHello): Ja3 {
  const text = `${s.legacyVersion},${s.cipherSuite},${noGrease(s.extensions).join("-")}`;
  return { text, md5: md5(text) };
}

const VERSION_CODES: Record<number, string> = {
  0x0304: "13",
  0x0303: "12",
  0x0302: "11",
  0x0301: "10",
  0x0300: "s3",
  0x0002: "s2",
  0xfeff: "d1",
  0xfefd: "d2",
  0xfefc: "d3",
};

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** JA4 ALPN part: first and last character of the first ALPN value (hex digits if not alnum). */
function alpnCode(alpn: readonly string[]): string {
  if (alpn.length === 0 || alpn[0].length === 0) return "00";
  const a = alpn[0];
  const first = a.charCodeAt(0);
  const last = a.charCodeAt(a.length - 1);
  if (isAlnum(first) && isAlnum(last)) return a[0] + a[a.length - 1];
  return first.toString(16).padStart(2, "0")[0] + last.toString(16).padStart(2, "0")[1];
}

/** The JA4 `a` section and the two lists hashed into `b` and `c`. */
function ja4Parts(h: ClientHello, transport: string): [string, string, string] {
  const versions = noGrease(h.supportedVersions);
  let version = h.legacyVersion;
  if (h.extensions.includes(TlsExtension.SUPPORTED_VERSIONS) && versions.length > 0) {
    version = Math.max(...versions);
  }
  const ciphers = noGrease(h.cipherSuites);
  const exts = noGrease(h.extensions);
  const count = (n: number) => String(n > 99 ? 99 : n).padStart(2, "0");
  const a = transport + (VERSION_CODES[version] ?? "00") +
    (exts.includes(TlsExtension.SERVER_NAME) ? "d" : "i") + count(ciphers.length) +
    count(exts.length) + alpnCode(h.alpn);
  const b = ciphers.sort((x, y) => x - y).map(hex4).join(",");
  let c = exts.filter((e) => e !== TlsExtension.SERVER_NAME && e !== TlsExtension.ALPN)
    .sort((x, y) => x - y).map(hex4).join(",");
  const sigs = noGrease(h.signatureAlgorithms);
  if (c !== "" && sigs.length > 0) c += "_" + sigs.map(hex4).join(",");
  return [a, b, c];
}

/**
 * JA4 of a ClientHello, e.g. `t13d1516h2_8daaf6152771_e5627efa2ab1`.
 * `transport`: `"t"` TLS over TCP (default), `"q"` QUIC, `"d"` DTLS.
 */
export function ja4(h: ClientHello, transport: "t" | "q" | "d" = "t"): string {
  const [a, b, c] = ja4Parts(h, transport);
  return `${a}_${b === "" ? "000000000000" : sha12(b)}_${c === "" ? "000000000000" : sha12(c)}`;
}

/** JA4_r: JA4 with the sorted lists in clear instead of hashed. */
export function ja4Raw(h: ClientHello, transport: "t" | "q" | "d" = "t"): string {
  const [a, b, c] = ja4Parts(h, transport);
  return `${a}_${b}_${c}`;
}
