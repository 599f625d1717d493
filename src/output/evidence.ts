/**
 * Evidence pcaps (`--evidence-dir`): the first packets of every connection
 * under inspection are kept (copied; only with this option), and when one
 * is alerted they are written to `DIR/<time>_<variant>_<client>_<server>.pcap`
 * so an administrator can open the session in Wireshark.
 *
 * @module
 */

import { PcapWriter } from "../capture/pcap_writer.ts";
import type { RawPacket } from "../capture/raw_packet.ts";
import { errorReason } from "./line_file.ts";
import type { DetectionEvent } from "../detect/event.ts";
import { SinkError } from "./sink.ts";
import { formatFileStamp } from "./timestamp.ts";

/** Packets kept per connection. */
const EVIDENCE_PACKETS = 64;

interface Kept {
  linkType: number;
  frames: Uint8Array[];
  ts: Float64Array; // sec, nsec pairs
  wire: Uint32Array;
}

function fileSafe(s: string): string {
  return s.replace(/[^0-9A-Za-z.-]+/g, "-");
}

/** Keeps the first packets of inspected connections and writes them on alert. */
export class EvidenceRecorder {
  /** Directory the pcaps go to. */
  readonly dir: string;
  /** Files written. */
  readonly written: string[] = [];
  readonly #flows = new Map<number, Kept>();

  /** Creates the directory if needed. */
  constructor(dir: string) {
    this.dir = dir;
    try {
      Deno.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new SinkError(`Cannot create evidence directory "${dir}": ${errorReason(e)}`);
    }
  }

  /** Keep a copy of `raw` for flow `flowId` (up to {@linkcode EVIDENCE_PACKETS}). */
  record(flowId: number, raw: RawPacket): void {
    let k = this.#flows.get(flowId);
    if (k === undefined) {
      k = {
        linkType: raw.linkType,
        frames: [],
        ts: new Float64Array(EVIDENCE_PACKETS * 2),
        wire: new Uint32Array(EVIDENCE_PACKETS),
      };
      this.#flows.set(flowId, k);
    }
    const n = k.frames.length;
    if (n >= EVIDENCE_PACKETS || raw.linkType !== k.linkType) return;
    k.frames.push(raw.buf.slice(raw.offset, raw.offset + raw.capLen));
    k.ts[n * 2] = raw.tsSec;
    k.ts[n * 2 + 1] = raw.tsNsec;
    k.wire[n] = raw.wireLen;
  }

  /** Write the kept packets of the alerted connection; returns the file path. */
  write(ev: DetectionEvent): string | undefined {
    const k = this.#flows.get(ev.flow_id);
    if (k === undefined || k.frames.length === 0) return undefined;
    const stamp = formatFileStamp(ev.ts);
    const name = `${stamp}_${fileSafe(ev.kind === "admin" ? "Admin" : ev.variant)}_` +
      `${fileSafe(ev.client.ip)}-${ev.client.port}_${
        fileSafe(ev.server.ip)
      }-${ev.server.port}.pcap`;
    const path = `${this.dir}/${name}`;
    try {
      const w = new PcapWriter(path, { linkType: k.linkType, nanosecond: true });
      k.frames.forEach((f, i) => w.writeFrame(f, k.ts[i * 2], k.ts[i * 2 + 1], k.wire[i]));
      w.close();
    } catch (e) {
      throw new SinkError(`Cannot write evidence file "${path}": ${errorReason(e)}`);
    }
    this.written.push(path);
    return path;
  }

  /** Forget a connection (it ended). */
  forget(flowId: number): void {
    this.#flows.delete(flowId);
  }
}
