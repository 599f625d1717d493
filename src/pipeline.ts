/**
 * The per-packet pipeline: decode → flow lookup → classifier. One instance
 * per run; `handle` is the hot path and allocates nothing.
 *
 * @module
 */

import type { PacketSource, RawPacket } from "./capture/raw_packet.ts";
import { Decoder, DecodeResult } from "./decode/decoder.ts";
import { IpProto } from "./decode/packet.ts";
import { Weirds } from "./decode/weirds.ts";
import type { Classifier } from "./detect/classifier.ts";
import { FlowTable, type FlowTableOptions } from "./flow/flow_table.ts";
import type { EvidenceRecorder } from "./output/evidence.ts";

/** Options of {@linkcode Pipeline}. */
export interface PipelineOptions extends FlowTableOptions {
  /** Called when a flow ends, after the classifier saw it end (e.g. flow log). */
  onFlowEnd?: (table: FlowTable, slot: number, reason: number) => void;
  /** Keep the first packets of inspected connections for evidence pcaps. */
  evidence?: EvidenceRecorder;
}

/** Wires decoder, flow table and classifier. */
export class Pipeline {
  /** Malformed-input counters. */
  readonly weirds: Weirds = new Weirds();
  /** The decoder (its `counters` say what was seen). */
  readonly decoder: Decoder;
  /** The flow table. */
  readonly flows: FlowTable;
  /** Packets handed to {@linkcode handle}. */
  packets = 0;
  /** Bytes on the wire of those packets. */
  wireBytes = 0;
  readonly #classifier: Classifier;
  readonly #evidence: EvidenceRecorder | undefined;

  /** Creates the pipeline around `classifier`. */
  constructor(classifier: Classifier, opts: PipelineOptions = {}) {
    this.decoder = new Decoder(this.weirds);
    this.flows = new FlowTable(this.weirds, opts);
    this.#classifier = classifier;
    this.#evidence = opts.evidence;
    const after = opts.onFlowEnd;
    this.flows.onEnd((slot, reason) => {
      classifier.onFlowEnd(this.flows, slot, reason);
      after?.(this.flows, slot, reason);
      this.#evidence?.forget(this.flows.id[slot]);
    });
  }

  /** Process one packet. */
  handle(raw: RawPacket): void {
    this.packets++;
    this.wireBytes += raw.wireLen;
    if (this.decoder.decode(raw) !== DecodeResult.OK) return;
    const p = this.decoder.pkt;
    if (p.proto !== IpProto.TCP && p.proto !== IpProto.UDP) return;
    const slot = this.flows.track(p);
    this.#classifier.onPacket(this.flows, slot, p);
    // Evidence (opt-in) copies packets of connections under inspection only.
    if (this.#evidence !== undefined && typeof this.flows.analyzer[slot] === "object") {
      this.#evidence.record(this.flows.id[slot], raw);
    }
  }

  /** Drain a source completely (offline mode). */
  async run(src: PacketSource, raw: RawPacket, onChunk?: () => void): Promise<void> {
    do {
      while (src.next(raw)) this.handle(raw);
      onChunk?.();
    } while (await src.refill());
  }

  /** End of input: end every flow, then let the classifier emit what is pending. */
  finish(): void {
    this.flows.flush();
    this.#classifier.finish();
  }
}
