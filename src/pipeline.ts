/**
 * The per-packet pipeline: decode → flow lookup → detectors. One instance
 * per run; `handle` is the hot path and allocates nothing.
 *
 * @module
 */

import { type PacketSource, RawPacket } from "./capture/raw_packet.ts";
import { Decoder, DecodeResult } from "./decode/decoder.ts";
import { DecodedPacket, IpProto } from "./decode/packet.ts";
import { Weirds } from "./decode/weirds.ts";
import { type Detector, MARK_BYTE_BITS } from "./detect/detector.ts";
import { Defragmenter, type DefragOptions } from "./flow/defrag.ts";
import { flowHash, FlowTable, type FlowTableOptions, refDir, refSlot } from "./flow/flow_table.ts";
import type { EvidenceRecorder } from "./output/evidence.ts";

/** Options of {@linkcode Pipeline}. */
interface PipelineOptions extends FlowTableOptions {
  /** Called when a flow ends, after the detectors saw it end (e.g. flow log). */
  onFlowEnd?: (table: FlowTable, slot: number, reason: number) => void;
  /** Keep the first packets of inspected connections for evidence pcaps. */
  evidence?: EvidenceRecorder;
  /** Bounds of IP reassembly (datagrams, memory, timeout). */
  defrag?: DefragOptions;
  /**
   * Called with a packet's frame number before its flow is tracked (an
   * analysis worker lets the packet time of the frames other workers got
   * pass first: src/cli/analysis_worker.ts).
   */
  beforeTrack?: (frame: number) => void;
}

/**
 * Packets decoded ahead per batch in {@linkcode Pipeline.run}: enough for
 * their flow-table misses to overlap, few enough to stay in L1/L2.
 */
const BATCH = 64;

/** Wires decoder, flow table and detectors. */
export class Pipeline {
  /** Malformed-input counters. */
  readonly weirds: Weirds;
  /** The decoder (its `counters` say what was seen). */
  readonly decoder: Decoder;
  /** The flow table. */
  readonly flows: FlowTable;
  /** Packets handed to {@linkcode handle}. */
  packets = 0;
  /** Bytes on the wire of those packets. */
  wireBytes = 0;
  readonly #detectors: Detector[];
  readonly #evidence: EvidenceRecorder | undefined;
  #defrag: Defragmenter | undefined; // created with the first IP fragment
  readonly #defragOpts: DefragOptions | undefined;
  readonly #beforeTrack: ((frame: number) => void) | undefined;
  // Per batch entry: the frame decoded (the entry's raw packet, or the
  // datagram its fragment completed), for evidence pcaps.
  readonly #frames: RawPacket[] = new Array(BATCH);
  // Batch state of run(): one raw and one decoded structure per batch entry
  // (allocated once), and each packet's flow hash (0: not TCP/UDP).
  readonly #raws: RawPacket[] = Array.from({ length: BATCH }, () => new RawPacket());
  readonly #pkts: DecodedPacket[] = Array.from({ length: BATCH }, () => new DecodedPacket());
  readonly #hashes = new Int32Array(BATCH);

  /**
   * Creates the pipeline around `detectors` (each gets its own `markBits` bits
   * of the flows' mark byte); `weirds` may be shared with them.
   */
  constructor(detectors: Detector[], opts: PipelineOptions = {}, weirds: Weirds = new Weirds()) {
    let shift = 0;
    for (const d of detectors) {
      d.markShift = shift;
      shift += d.markBits;
    }
    if (shift > MARK_BYTE_BITS) {
      throw new RangeError(
        `Too many detectors: they need ${shift} mark bits (at most ${MARK_BYTE_BITS})`,
      );
    }
    this.weirds = weirds;
    this.decoder = new Decoder(this.weirds);
    this.flows = new FlowTable(this.weirds, opts);
    this.#detectors = detectors;
    this.#evidence = opts.evidence;
    this.#defragOpts = opts.defrag;
    this.#beforeTrack = opts.beforeTrack;
    const after = opts.onFlowEnd;
    this.flows.onEnd((slot, reason) => {
      // A flow no detector marked has nothing to end there (most flows).
      if (this.flows.mark(slot) !== 0) {
        for (let i = 0; i < detectors.length; i++) detectors[i].onFlowEnd(this.flows, slot, reason);
      }
      after?.(this.flows, slot, reason);
      this.#evidence?.forget(this.flows.flowId(slot));
    });
  }

  /** Process one packet. */
  handle(raw: RawPacket): void {
    const p = this.decoder.pkt;
    const frame = this.#decode(raw, p);
    if (frame !== null) this.#track(frame, p, flowHash(p));
  }

  /** IP reassembly so far (undefined until the first fragment). */
  get defrag(): Defragmenter | undefined {
    return this.#defrag;
  }

  /**
   * Drain a source completely (offline mode, and live batches). Packets are
   * taken in batches of {@linkcode BATCH} (a source's packets stay valid
   * until its next refill): all are decoded and hashed first, the flow table
   * then brings their records into cache together, and only then is each
   * tracked and classified in order — the same result as {@linkcode handle}
   * packet by packet, with the memory latency of the lookups overlapped.
   */
  async run(src: PacketSource, onChunk?: () => void): Promise<void> {
    const raws = this.#raws, pkts = this.#pkts, hashes = this.#hashes, frames = this.#frames;
    do {
      for (;;) {
        let n = 0;
        try {
          while (n < BATCH && src.next(raws[n])) n++;
        } catch (e) {
          this.#batch(n); // damage found: what came before it is still analysed
          throw e;
        }
        for (let i = 0; i < n; i++) {
          const p = pkts[i];
          const frame = this.#decode(raws[i], p, i);
          hashes[i] = frame !== null ? flowHash(p) : 0;
          if (frame !== null) frames[i] = frame;
        }
        const slots = this.flows.prefetch(hashes, n);
        for (let d = 0; d < this.#detectors.length; d++) {
          this.#detectors[d].prefetch?.(this.flows, slots, n);
        }
        for (let i = 0; i < n; i++) {
          if (hashes[i] !== 0) this.#track(frames[i], pkts[i], hashes[i]);
        }
        if (n < BATCH) break;
      }
      onChunk?.();
    } while (await src.refill());
  }

  /** Process the first `n` packets gathered in the batch one by one. */
  #batch(n: number): void {
    for (let i = 0; i < n; i++) this.handle(this.#raws[i]);
  }

  /**
   * Count and decode one packet; returns the frame decoded for TCP, UDP and
   * ICMP (the ones with a flow), else null. An IP fragment goes to the
   * defragmenter; the fragment that completes a datagram yields the whole
   * datagram, decoded in its place (`entry`: the batch entry, whose output
   * buffer the datagram keeps until the batch is processed).
   */
  #decode(raw: RawPacket, p: DecodedPacket, entry = -1): RawPacket | null {
    this.packets++;
    this.wireBytes += raw.wireLen;
    const frameNo = raw.frame > 0 ? raw.frame : this.packets;
    p.frame = frameNo;
    let frame = raw;
    let r = this.decoder.decode(raw, p);
    if (r === DecodeResult.FRAGMENT) {
      this.#defrag ??= new Defragmenter(this.weirds, this.#defragOpts);
      const whole = this.#defrag.add(p, raw, entry);
      if (whole === null) return null;
      frame = whole;
      r = this.decoder.decode(whole, p);
      p.frame = frameNo;
    }
    if (r !== DecodeResult.OK) return null;
    const pr = p.proto;
    return pr === IpProto.TCP || pr === IpProto.UDP || pr === IpProto.ICMP || pr === IpProto.ICMPV6
      ? frame
      : null;
  }

  #track(raw: RawPacket, p: DecodedPacket, h: number): void {
    if (this.#beforeTrack !== undefined) this.#beforeTrack(p.frame);
    const ref = this.flows.track(p, h);
    const slot = refSlot(ref), dir = refDir(ref);
    const ds = this.#detectors;
    for (let i = 0; i < ds.length; i++) ds[i].onPacket(this.flows, slot, dir, p);
    // Evidence (opt-in) copies packets of connections under inspection only.
    if (this.#evidence !== undefined && this.flows.mark(slot) !== 0) {
      for (let i = 0; i < ds.length; i++) {
        if (ds[i].inspecting(this.flows, slot)) {
          this.#evidence.record(this.flows.flowId(slot), raw);
          break;
        }
      }
    }
  }

  /** Let packet time pass without a packet (live mode on a quiet link). */
  tick(now: number): void {
    for (let i = 0; i < this.#detectors.length; i++) this.#detectors[i].tick(now);
  }

  /** End of input: end every flow, then let the detectors emit what is pending. */
  finish(): void {
    this.flows.flush();
    for (let i = 0; i < this.#detectors.length; i++) this.#detectors[i].finish();
  }
}
