/**
 * One captured frame, as every capture source (offline reader, live capture)
 * hands it to the decoder.
 *
 * Contract (gopacket's "valid until the next packet"): `buf` is the source's
 * own read buffer and the frame occupies `buf[offset .. offset + capLen)`.
 * Nothing is copied and nothing is allocated per packet; the bytes are only
 * valid until the source is asked for the next packet.
 *
 * @module
 */

/** Link-layer header types (LINKTYPE_* / DLT_* values) sealert decodes. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** A frame plus its capture metadata; one instance is reused for every packet. */
export class RawPacket {
  /** The source's read buffer; the frame starts at `offset`. */
  buf: Uint8Array = new Uint8Array(0);
  /** Byte offset of the frame inside `buf`. */
  offset = 0;
  /** Number of captured bytes of the frame. */
  capLen = 0;
  /** Length of the frame on the wire (>= capLen). */
  wireLen = 0;
  /** Timestamp: whole seconds since the Unix epoch. */
  tsSec = 0;
  /** Timestamp: nanoseconds within the second (0 .. 999,999,999). */
  tsNsec = 0;
  /** Link-layer type of the frame (see {@linkcode LinkType}). */
  linkType: number = LinkType.ETHERNET;
  /** Interface number (pcapng interface id; 0 for pcap and live capture). */
  ifIndex = 0;
  /**
   * The frame's number in the whole input when the source knows it (a
   * worker fed part of a capture: the reader's numbering); 0 = the pipeline
   * numbers the packets it is given in order.
   */
  frame = 0;
}

/**
 * Where packets come from: a buffered, pull-style source.
 *
 * `next` fills the caller's {@linkcode RawPacket} from data already buffered
 * and returns false when the buffer is exhausted; `refill` then fetches more
 * (a file read, a decompressed chunk, the next live batch) and resolves false
 * at the end of input. The hot loop is therefore synchronous and the only
 * await is once per buffer:
 *
 * ```ts
 * do { while (src.next(pkt)) handle(pkt); } while (await src.refill());
 * ```
 *
 * A damaged input delivers every valid packet before the damage, then
 * `refill` (or `next`) throws a `CaptureFileError` naming file and offset.
 */
export interface PacketSource {
  /** Fill `pkt` with the next buffered packet; false when more must be fetched. */
  next(pkt: RawPacket): boolean;
  /** Fetch more input; resolves false at the end of input. */
  refill(): Promise<boolean>;
  /** Release the source's resources; safe to call twice. */
  close(): void;
}
