/**
 * SSH_MSG_KEXINIT (RFC 4253 §7.1) and algorithm negotiation, reduced to what
 * a passive sensor needs: which cipher and MAC each direction uses after
 * NEWKEYS, whether that leaves packet lengths readable, and compression.
 *
 * @module
 */

import { latin1, readU32 } from "./bytes.ts";
import type { ParseStatus } from "./parse_status.ts";
import { SshReason } from "./ssh_ident.ts";
import { SshMsg } from "./ssh_packet.ts";

/** Result of {@linkcode parseSshKexInit}: the ten name-lists in order. */
export interface SshKexInit {
  /** `"ok"` when the payload parsed. */
  status: ParseStatus;
  /** For `"no"`: a {@linkcode SshReason} value; `""` otherwise. */
  reason: string;
  /** Payload bytes used (message number through the reserved u32). */
  consumed: number;
  /** kex_algorithms (includes markers such as `ext-info-c`, `kex-strict-c-v00@openssh.com`). */
  kex: string[];
  /** server_host_key_algorithms. */
  hostKey: string[];
  /** encryption_algorithms_client_to_server. */
  ciphersC2S: string[];
  /** encryption_algorithms_server_to_client. */
  ciphersS2C: string[];
  /** mac_algorithms_client_to_server. */
  macsC2S: string[];
  /** mac_algorithms_server_to_client. */
  macsS2C: string[];
  /** compression_algorithms_client_to_server. */
  compressionC2S: string[];
  /** compression_algorithms_server_to_client. */
  compressionS2C: string[];
  /** languages_client_to_server. */
  languagesC2S: string[];
  /** languages_server_to_client. */
  languagesS2C: string[];
  /** first_kex_packet_follows. */
  firstKexFollows: boolean;
}

/** Longest name-list accepted. */
const MAX_NAME_LIST = 8192;

/**
 * Parses a KEXINIT payload starting at its message number (20): cookie,
 * ten name-lists, first_kex_packet_follows, reserved u32.
 */
export function parseSshKexInit(buf: Uint8Array, off: number, len: number): SshKexInit {
  const lists: string[][] = [];
  const r: SshKexInit = {
    status: "no",
    reason: SshReason.BAD_KEXINIT,
    consumed: 0,
    kex: [],
    hostKey: [],
    ciphersC2S: [],
    ciphersS2C: [],
    macsC2S: [],
    macsS2C: [],
    compressionC2S: [],
    compressionS2C: [],
    languagesC2S: [],
    languagesS2C: [],
    firstKexFollows: false,
  };
  if (len >= 1 && buf[off] !== SshMsg.KEXINIT) {
    r.reason = SshReason.WRONG_TYPE;
    return r;
  }
  const end = off + len;
  let p = off + 17;
  for (let k = 0; k < 10; k++) {
    if (end - p < 4) return need(r);
    const n = readU32(buf, p);
    if (n > MAX_NAME_LIST) return r;
    p += 4;
    if (end - p < n) return need(r);
    for (let i = p; i < p + n; i++) if (buf[i] <= 0x20 || buf[i] > 0x7e) return r;
    lists.push(n === 0 ? [] : latin1(buf, p, p + n).split(","));
    p += n;
  }
  if (end - p < 5) return need(r);
  [
    r.kex,
    r.hostKey,
    r.ciphersC2S,
    r.ciphersS2C,
    r.macsC2S,
    r.macsS2C,
    r.compressionC2S,
    r.compressionS2C,
    r.languagesC2S,
    r.languagesS2C,
  ] = lists;
  r.firstKexFollows = buf[p] !== 0;
  r.status = "ok";
  r.reason = "";
  r.consumed = p + 5 - off;
  return r;
}

function need(r: SshKexInit): SshKexInit {
  r.status = "need";
  r.reason = "";
  return r;
}

/** RFC 4253 §7.1: the first client algorithm the server also offers; null when none. */
export function negotiateSshAlgorithm(
  client: readonly string[],
  server: readonly string[],
): string | null {
  for (const a of client) if (server.includes(a)) return a;
  return null;
}

/** How one direction's packets look after NEWKEYS. */
export interface SshFraming {
  /** True when packet_length stays readable (AES-GCM, `-etm` MACs, `none`). */
  lengthInClear: boolean;
  /** True for an AEAD cipher (the negotiated MAC is then unused). */
  aead: boolean;
  /** Bytes of tag or MAC after each packet; -1 when unknown. */
  trailer: number;
  /** Cipher block size packet lengths align to; 0 when unknown. */
  block: number;
}

const AEAD = new Map<string, [lengthInClear: boolean, block: number]>([
  ["aes128-gcm@openssh.com", [true, 16]],
  ["aes256-gcm@openssh.com", [true, 16]],
  ["AEAD_AES_128_GCM", [true, 16]],
  ["AEAD_AES_256_GCM", [true, 16]],
  ["chacha20-poly1305@openssh.com", [false, 8]],
]);

const BLOCK = new Map<string, number>([
  ["none", 8],
  ["aes128-ctr", 16],
  ["aes192-ctr", 16],
  ["aes256-ctr", 16],
  ["aes128-cbc", 16],
  ["aes192-cbc", 16],
  ["aes256-cbc", 16],
  ["rijndael-cbc@lysator.liu.se", 16],
  ["twofish128-ctr", 16],
  ["twofish256-ctr", 16],
  ["3des-cbc", 8],
  ["3des-ctr", 8],
  ["blowfish-cbc", 8],
  ["blowfish-ctr", 8],
  ["cast128-cbc", 8],
]);

const MAC_LEN = new Map<string, number>([
  ["none", 0],
  ["hmac-sha1", 20],
  ["hmac-sha1-96", 12],
  ["hmac-md5", 16],
  ["hmac-md5-96", 12],
  ["hmac-sha2-256", 32],
  ["hmac-sha2-512", 64],
  ["umac-64@openssh.com", 8],
  ["umac-128@openssh.com", 16],
  ["hmac-sha1-etm@openssh.com", 20],
  ["hmac-sha1-96-etm@openssh.com", 12],
  ["hmac-md5-etm@openssh.com", 16],
  ["hmac-md5-96-etm@openssh.com", 12],
  ["hmac-sha2-256-etm@openssh.com", 32],
  ["hmac-sha2-512-etm@openssh.com", 64],
  ["umac-64-etm@openssh.com", 8],
  ["umac-128-etm@openssh.com", 16],
]);

/**
 * Framing of a direction using `cipher` and `mac` (null when none was
 * negotiated). AES-GCM and encrypt-then-MAC (`*-etm@openssh.com`) leave
 * packet_length in clear; ChaCha20-Poly1305 and encrypt-and-MAC hide it.
 */
export function sshFraming(cipher: string | null, mac: string | null): SshFraming {
  const aead = cipher === null ? undefined : AEAD.get(cipher);
  if (aead !== undefined) {
    return { lengthInClear: aead[0], aead: true, trailer: 16, block: aead[1] };
  }
  const block = (cipher === null ? undefined : BLOCK.get(cipher)) ?? 0;
  const trailer = (mac === null ? undefined : MAC_LEN.get(mac)) ?? -1;
  const etm = mac !== null && mac.endsWith("-etm@openssh.com");
  const clear = trailer >= 0 && (etm || cipher === "none");
  return { lengthInClear: clear, aead: false, trailer, block };
}

/** Result of {@linkcode negotiateSsh}. */
export interface SshNegotiated {
  /** Key exchange method. */
  kex: string | null;
  /** Host key algorithm. */
  hostKey: string | null;
  /** Client-to-server cipher. */
  cipherC2S: string | null;
  /** Server-to-client cipher. */
  cipherS2C: string | null;
  /** Client-to-server MAC; null with an AEAD cipher (unused) or none agreed. */
  macC2S: string | null;
  /** Server-to-client MAC; null with an AEAD cipher (unused) or none agreed. */
  macS2C: string | null;
  /** Client-to-server compression (`none`, `zlib@openssh.com`, `zlib`). */
  compressionC2S: string | null;
  /** Server-to-client compression. */
  compressionS2C: string | null;
  /** The client offers zlib (`zlib@openssh.com` or `zlib`) in either direction. */
  zlibOfferedByClient: boolean;
  /** The server offers zlib in either direction. */
  zlibOfferedByServer: boolean;
  /** Framing of client-to-server packets after NEWKEYS. */
  framingC2S: SshFraming;
  /** Framing of server-to-client packets after NEWKEYS. */
  framingS2C: SshFraming;
}

function offersZlib(k: SshKexInit): boolean {
  const z = (l: string[]) => l.includes("zlib@openssh.com") || l.includes("zlib");
  return z(k.compressionC2S) || z(k.compressionS2C);
}

/** Negotiates every algorithm from the client's and the server's KEXINIT. */
export function negotiateSsh(client: SshKexInit, server: SshKexInit): SshNegotiated {
  const cipherC2S = negotiateSshAlgorithm(client.ciphersC2S, server.ciphersC2S);
  const cipherS2C = negotiateSshAlgorithm(client.ciphersS2C, server.ciphersS2C);
  const aeadC2S = cipherC2S !== null && AEAD.has(cipherC2S);
  const aeadS2C = cipherS2C !== null && AEAD.has(cipherS2C);
  const macC2S = aeadC2S ? null : negotiateSshAlgorithm(client.macsC2S, server.macsC2S);
  const macS2C = aeadS2C ? null : negotiateSshAlgorithm(client.macsS2C, server.macsS2C);
  return {
    kex: negotiateSshAlgorithm(client.kex, server.kex),
    hostKey: negotiateSshAlgorithm(client.hostKey, server.hostKey),
    cipherC2S,
    cipherS2C,
    macC2S,
    macS2C,
    compressionC2S: negotiateSshAlgorithm(client.compressionC2S, server.compressionC2S),
    compressionS2C: negotiateSshAlgorithm(client.compressionS2C, server.compressionS2C),
    zlibOfferedByClient: offersZlib(client),
    zlibOfferedByServer: offersZlib(server),
    framingC2S: sshFraming(cipherC2S, macC2S),
    framingS2C: sshFraming(cipherS2C, macS2C),
  };
}
