/**
 * SSH binary packet framing before encryption starts (RFC 4253 §6):
 * `uint32 packet_length, byte padding_length, payload, padding` (the MAC is
 * empty until the first NEWKEYS).
 *
 * @module
 */

import { readU32 } from "./bytes.ts";
import type { ParseStatus } from "./parse_status.ts";
import { SshReason } from "./ssh_ident.ts";

/** SSH message numbers used here (RFC 4250 §4.1). */
export const SshMsg = {
  /** SSH_MSG_DISCONNECT */
  DISCONNECT: 1,
  /** SSH_MSG_IGNORE */
  IGNORE: 2,
  /** SSH_MSG_EXT_INFO (RFC 8308) */
  EXT_INFO: 7,
  /** SSH_MSG_KEXINIT */
  KEXINIT: 20,
  /** SSH_MSG_NEWKEYS: the sender encrypts everything after this packet. */
  NEWKEYS: 21,
} as const;

/** Largest unencrypted packet_length accepted (RFC 4253 §6.1: 35000 bytes in all). */
export const SSH_MAX_CLEAR_PACKET = 35000;

/** Result of {@linkcode parseSshPacket}. */
export interface SshPacket {
  /** `"ok"` when the whole packet is there. */
  status: ParseStatus;
  /** For `"no"`: a {@linkcode SshReason} value; `""` otherwise. */
  reason: string;
  /** 4 + packet_length. */
  consumed: number;
  /** packet_length field. */
  packetLength: number;
  /** padding_length field. */
  paddingLength: number;
  /** First payload byte: the message number. */
  msgCode: number;
  /** Offset of the payload (its message number) in the buffer. */
  payloadOff: number;
  /** Payload length (packet_length − padding_length − 1). */
  payloadLen: number;
}

/**
 * Checks the first bytes of an unencrypted packet (`n` of them available, up
 * to 5): "" when valid so far, else a {@linkcode SshReason}.
 */
export function sshClearHeaderProblem(
  packetLength: number,
  paddingLength: number,
  n: number,
): string {
  if (n >= 4) {
    if (packetLength < 12 || packetLength > SSH_MAX_CLEAR_PACKET || (packetLength + 4) % 8 !== 0) {
      return SshReason.BAD_PACKET_LENGTH;
    }
  }
  if (n >= 5 && (paddingLength < 4 || paddingLength > packetLength - 2)) {
    return SshReason.BAD_PADDING;
  }
  return "";
}

/**
 * Parses one unencrypted SSH binary packet (before NEWKEYS): packet_length in
 * 12..35000 with packet_length + 4 a multiple of 8, padding_length ≥ 4,
 * a payload of at least the message number.
 */
export function parseSshPacket(buf: Uint8Array, off: number, len: number): SshPacket {
  const r: SshPacket = {
    status: "need",
    reason: "",
    consumed: 0,
    packetLength: 0,
    paddingLength: 0,
    msgCode: 0,
    payloadOff: 0,
    payloadLen: 0,
  };
  if (len < 4) return r;
  const pl = readU32(buf, off);
  const pad = len >= 5 ? buf[off + 4] : 0;
  const why = sshClearHeaderProblem(pl, pad, len < 5 ? len : 5);
  if (why !== "") {
    r.status = "no";
    r.reason = why;
    return r;
  }
  if (len < 4 + pl) return r;
  r.status = "ok";
  r.consumed = 4 + pl;
  r.packetLength = pl;
  r.paddingLength = pad;
  r.msgCode = buf[off + 5];
  r.payloadOff = off + 5;
  r.payloadLen = pl - pad - 1;
  return r;
}
