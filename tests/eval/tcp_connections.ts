/**
 * TCP connection tracking for the evasion rewriters: which connection each
 * packet of a capture belongs to and in which direction it goes.
 *
 * A connection is a 4-tuple; a SYN (without ACK) with a new sequence number
 * starts a new connection on a 4-tuple already seen (port reuse). The client
 * is the sender of the SYN (or the receiver of a SYN-ACK); when the
 * connection's start was not captured, the side with the higher port (the
 * ephemeral one) is taken as the client, ties going to the first sender.
 *
 * @module
 */

import { addrText, type Packet, TCP_ACK, TCP_SYN, type TcpPacket } from "./capture_packets.ts";

/** One tracked connection. */
export interface Connection {
  /** Index in {@linkcode ConnectionMap.connections}. */
  index: number;
  /** Client's initial sequence number, when its SYN was seen. */
  clientIsn?: number;
  /** Sequence number of the client's first payload byte (ISN + 1, or the first seen). */
  clientDataStart?: number;
  /** Indexes (into the capture) of the connection's packets, in capture order. */
  packets: number[];
}

/** Per-packet connection and direction of a capture. */
export interface ConnectionMap {
  /** The connections in order of their first packet. */
  connections: Connection[];
  /** Connection index of each packet (-1: not TCP). */
  connectionOf: Int32Array;
  /** True when the packet goes from the client to the server. */
  fromClient: boolean[];
}

/** Endpoint text of a TCP packet's source or destination. */
function endpoint(p: TcpPacket, src: boolean): string {
  return src ? `${addrText(p.ip.src)}:${p.sport}` : `${addrText(p.ip.dst)}:${p.dport}`;
}

/** Tracks the TCP connections of `packets`. */
export function trackConnections(packets: readonly Packet[]): ConnectionMap {
  const connections: Connection[] = [];
  const connectionOf = new Int32Array(packets.length).fill(-1);
  const fromClient: boolean[] = new Array(packets.length).fill(false);
  const current = new Map<string, { conn: Connection; client: string }>();
  packets.forEach((p, i) => {
    if (p.kind !== "tcp") return;
    const a = endpoint(p, true), b = endpoint(p, false);
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    const syn = (p.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    const synAck = (p.flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
    let cur = current.get(key);
    if (cur !== undefined && syn && cur.conn.clientIsn !== p.seq) {
      // A new SYN: a new connection, unless this one has only seen its SYN-ACK (swapped order).
      const onlySynAck = cur.conn.clientIsn === undefined &&
        cur.conn.packets.every((j) => {
          const q = packets[j] as TcpPacket;
          return (q.flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK) &&
            q.ack === ((p.seq + 1) >>> 0);
        });
      if (!onlySynAck) cur = undefined;
    }
    if (cur === undefined) {
      let client: string;
      if (syn) client = a;
      else if (synAck) client = b;
      else client = p.sport > p.dport ? a : p.sport < p.dport ? b : a;
      cur = { conn: { index: connections.length, packets: [] }, client };
      connections.push(cur.conn);
      current.set(key, cur);
    }
    const conn = cur.conn;
    const fc = a === cur.client;
    if (syn && fc) {
      conn.clientIsn = p.seq;
      conn.clientDataStart ??= (p.seq + 1) >>> 0;
    }
    if (synAck && !fc && conn.clientDataStart === undefined) conn.clientDataStart = p.ack;
    if (fc && p.payload.length > 0 && conn.clientDataStart === undefined) {
      conn.clientDataStart = (p.flags & TCP_SYN) ? (p.seq + 1) >>> 0 : p.seq;
    }
    conn.packets.push(i);
    connectionOf[i] = conn.index;
    fromClient[i] = fc;
  });
  return { connections, connectionOf, fromClient };
}
