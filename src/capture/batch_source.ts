/**
 * A {@linkcode PacketSource} over live-capture batches: `next` walks the
 * loaded batch, `refill` fetches the next one from the capture.
 *
 * @example The live main loop (same shape as the offline one)
 * ```ts ignore
 * const capture = await LiveCapture.open({ device: "eth0" });
 * const source = new BatchSource(capture);
 * const pkt = new RawPacket();
 * try {
 *   do { while (source.next(pkt)) handle(pkt); } while (await source.refill());
 * } finally {
 *   source.close(); // stops the capture
 * }
 * const stats = await capture.close(); // final counters
 * ```
 *
 * @module
 */

import { type PacketBatch, RECORD_HEADER_BYTES, RecordWord } from "./live_batch.ts";
import { LinkType, type PacketSource, type RawPacket } from "./raw_packet.ts";

/** Where a {@linkcode BatchSource} gets batches (a `LiveCapture`). */
interface BatchProvider {
  /** The next batch, null at the end of capture (may throw a capture error). */
  nextBatch(): Promise<PacketBatch | null>;
  /** Stops capturing; called by {@linkcode BatchSource.close}. */
  close(): Promise<unknown>;
}

/**
 * Walks the records of a {@linkcode PacketBatch} and fills the caller's
 * reused {@linkcode RawPacket} with no allocation: `buf` is the batch's
 * bytes, `offset` the frame's position in it. Packets stay valid until the
 * next `refill` (which hands the batch's buffer back to the capture thread).
 */
export class BatchSource implements PacketSource {
  #provider: BatchProvider | null;
  #bytes: Uint8Array = new Uint8Array(0);
  #words: Uint32Array = new Uint32Array(0);
  #pos = 0;
  #end = 0;
  #linkType: number = LinkType.ETHERNET;

  /** `provider`: where `refill` gets batches; without one, feed batches with `load`. */
  constructor(provider: BatchProvider | null = null) {
    this.#provider = provider;
  }

  /** Starts reading `batch` from its first record. */
  load(batch: PacketBatch): void {
    this.#bytes = batch.bytes;
    this.#words = batch.words;
    this.#pos = 0;
    this.#end = batch.used;
    this.#linkType = batch.linkType;
  }

  /** Fill `pkt` with the next record of the loaded batch; false at its end. */
  next(pkt: RawPacket): boolean {
    const pos = this.#pos;
    if (pos >= this.#end) return false;
    const words = this.#words;
    const w = pos >> 2;
    const capLen = words[w + RecordWord.CAP_LEN];
    pkt.buf = this.#bytes;
    pkt.offset = pos + RECORD_HEADER_BYTES;
    pkt.capLen = capLen;
    pkt.wireLen = words[w + RecordWord.WIRE_LEN];
    pkt.tsSec = words[w + RecordWord.TS_SEC];
    pkt.tsNsec = words[w + RecordWord.TS_NSEC];
    pkt.linkType = this.#linkType;
    pkt.ifIndex = 0;
    this.#pos = pos + ((RECORD_HEADER_BYTES + capLen + 3) & ~3);
    return true;
  }

  /**
   * Loads the provider's next batch (waiting for one); resolves false when
   * capture has ended or there is no provider. Rejects with the capture's
   * `CaptureDeviceError` if capture failed.
   */
  async refill(): Promise<boolean> {
    if (this.#provider === null) return false;
    this.#forget();
    const batch = await this.#provider.nextBatch();
    if (batch === null) return false;
    this.load(batch);
    return true;
  }

  /** Forgets the loaded batch and closes the provider (stops capture); safe to call twice. */
  close(): void {
    this.#forget();
    const provider = this.#provider;
    this.#provider = null;
    provider?.close();
  }

  #forget(): void {
    this.#bytes = new Uint8Array(0);
    this.#words = new Uint32Array(0);
    this.#pos = 0;
    this.#end = 0;
  }
}
