/**
 * Generates the capture reader fixtures of this directory: one synthetic TCP
 * conversation (Ethernet / IPv4 / TCP, valid checksums, whole-microsecond
 * timestamps) written in four containers that must read identically:
 *
 * - `tcp_conversation_us.pcap`: classic pcap, little-endian, microseconds
 * - `tcp_conversation_ns_be.pcap`: classic pcap, big-endian, nanoseconds
 * - `tcp_conversation.pcapng`: pcapng, little-endian, if_tsresol 9
 * - `tcp_conversation.pcapng.gz`: the same pcapng, gzip-compressed
 *
 * Run from the repository root (output is deterministic, byte for byte):
 *
 * ```sh
 * deno run --allow-write=testdata/capture testdata/capture/make_fixtures.ts
 * ```
 *
 * @module
 */

import { gzipSync } from "node:zlib";
import { MemorySink } from "../../src/capture/byte_sink.ts";
import { PcapngWriter, PcapWriter } from "../../src/capture/pcap_writer.ts";

/** One packet of the conversation. */
export interface FixturePacket {
  /** The Ethernet frame. */
  frame: Uint8Array;
  /** Timestamp, seconds. */
  tsSec: number;
  /** Timestamp, nanoseconds (always a whole number of microseconds). */
  tsNsec: number;
}

/** 2026-01-15T10:00:00Z */
export const START_SEC = 1768471200;

const CLIENT_MAC = [0x02, 0, 0, 0, 0, 0x0a];
const SERVER_MAC = [0x02, 0, 0, 0, 0, 0x01];
const CLIENT_IP = [192, 0, 2, 10];
const SERVER_IP = [198, 51, 100, 20];
const CLIENT_PORT = 51514;
const SERVER_PORT = 443;

const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

function checksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function payload(len: number, seed: number): Uint8Array {
  const p = new Uint8Array(len);
  let x = seed;
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    p[i] = x >>> 24;
  }
  if (len >= 5) p.set([0x17, 0x03, 0x03, (len - 5) >> 8, (len - 5) & 0xff]); // TLS app data
  return p;
}

/** Builds an Ethernet/IPv4/TCP frame; frames shorter than 60 bytes are padded when `pad`. */
function tcpFrame(
  fromClient: boolean,
  ipId: number,
  seq: number,
  ack: number,
  flags: number,
  data: Uint8Array,
  pad: boolean,
): Uint8Array {
  const options = flags & SYN ? [2, 4, 0x05, 0xb4] : []; // MSS 1460
  const tcpLen = 20 + options.length + data.length;
  const ipLen = 20 + tcpLen;
  const frame = new Uint8Array(Math.max(14 + ipLen, pad ? 60 : 0));
  const v = new DataView(frame.buffer);
  frame.set(fromClient ? SERVER_MAC : CLIENT_MAC, 0);
  frame.set(fromClient ? CLIENT_MAC : SERVER_MAC, 6);
  v.setUint16(12, 0x0800);
  const ip = 14;
  frame[ip] = 0x45;
  v.setUint16(ip + 2, ipLen);
  v.setUint16(ip + 4, ipId);
  v.setUint16(ip + 6, 0x4000); // DF
  frame[ip + 8] = fromClient ? 64 : 52;
  frame[ip + 9] = 6;
  frame.set(fromClient ? CLIENT_IP : SERVER_IP, ip + 12);
  frame.set(fromClient ? SERVER_IP : CLIENT_IP, ip + 16);
  v.setUint16(ip + 10, checksum(frame.subarray(ip, ip + 20)));
  const tcp = ip + 20;
  v.setUint16(tcp, fromClient ? CLIENT_PORT : SERVER_PORT);
  v.setUint16(tcp + 2, fromClient ? SERVER_PORT : CLIENT_PORT);
  v.setUint32(tcp + 4, seq >>> 0);
  v.setUint32(tcp + 8, ack >>> 0);
  frame[tcp + 12] = ((20 + options.length) / 4) << 4;
  frame[tcp + 13] = flags;
  v.setUint16(tcp + 14, fromClient ? 64240 : 65160);
  frame.set(options, tcp + 20);
  frame.set(data, tcp + 20 + options.length);
  const pseudo = new Uint8Array(12);
  pseudo.set(frame.subarray(ip + 12, ip + 20));
  pseudo[9] = 6;
  new DataView(pseudo.buffer).setUint16(10, tcpLen);
  const partial = ~checksum(pseudo) & 0xffff;
  v.setUint16(tcp + 16, checksum(frame.subarray(tcp, tcp + tcpLen), partial));
  return frame;
}

/** The conversation: handshake, request/response exchange, orderly close (12 packets). */
export function conversation(): FixturePacket[] {
  const out: FixturePacket[] = [];
  let cSeq = 0x1a2b3c4d;
  let sSeq = 0x5e6f7081;
  let cId = 0x1000;
  let sId = 0x8000;
  let us = 123456; // microseconds after START_SEC
  const push = (
    dtUs: number,
    fromClient: boolean,
    flags: number,
    data: Uint8Array = new Uint8Array(0),
  ) => {
    us += dtUs;
    const seq = fromClient ? cSeq : sSeq;
    const ack = flags & ACK ? (fromClient ? sSeq : cSeq) : 0;
    const frame = tcpFrame(
      fromClient,
      fromClient ? cId++ : sId++,
      seq,
      ack,
      flags,
      data,
      !fromClient,
    );
    const advance = data.length + (flags & (SYN | FIN) ? 1 : 0);
    if (fromClient) cSeq = (cSeq + advance) >>> 0;
    else sSeq = (sSeq + advance) >>> 0;
    out.push({ frame, tsSec: START_SEC + Math.floor(us / 1e6), tsNsec: (us % 1e6) * 1000 });
  };
  push(0, true, SYN);
  push(25_512, false, SYN | ACK);
  push(87, true, ACK);
  push(402, true, PSH | ACK, payload(120, 1));
  push(25_901, false, PSH | ACK, payload(300, 2));
  push(61, true, ACK);
  push(1_000_000, true, PSH | ACK, payload(64, 3)); // crosses a second boundary
  push(25_777, false, ACK, payload(1400, 4));
  push(45, true, ACK);
  push(3_000, true, FIN | ACK);
  push(25_600, false, FIN | ACK);
  push(50, true, ACK);
  return out;
}

/** The four fixture files, by name. */
export function buildFixtures(): Record<string, Uint8Array> {
  const packets = conversation();
  const us = new MemorySink();
  const usWriter = new PcapWriter(us, { snapLen: 65535 });
  const ns = new MemorySink();
  const nsWriter = new PcapWriter(ns, { snapLen: 65535, nanosecond: true, bigEndian: true });
  const ng = new MemorySink();
  const ngWriter = new PcapngWriter(ng, {
    interfaces: [{ snapLen: 65535, tsresol: 9, name: "eth0" }],
  });
  for (const p of packets) {
    usWriter.writeFrame(p.frame, p.tsSec, p.tsNsec);
    nsWriter.writeFrame(p.frame, p.tsSec, p.tsNsec);
    ngWriter.writeFrame(p.frame, p.tsSec, p.tsNsec);
  }
  usWriter.close();
  nsWriter.close();
  ngWriter.close();
  const pcapng = ng.bytes();
  return {
    "tcp_conversation_us.pcap": us.bytes(),
    "tcp_conversation_ns_be.pcap": ns.bytes(),
    "tcp_conversation.pcapng": pcapng,
    "tcp_conversation.pcapng.gz": new Uint8Array(gzipSync(pcapng, { level: 9 })),
  };
}

if (import.meta.main) {
  const dir = new URL(".", import.meta.url);
  for (const [name, bytes] of Object.entries(buildFixtures())) {
    Deno.writeFileSync(new URL(name, dir), bytes);
    console.log(`${name}: ${bytes.length} bytes`);
  }
}
