/**
 * Test pipeline of the VPN over ICMP / VPN over DNS detectors as main.ts
 * runs them: the TCP session classifier first (optional), every event passing
 * the session directory before it is recorded.
 *
 * @module
 */

import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import type { Detector } from "../../src/detect/detector.ts";
import { DnsVpnDetector } from "../../src/detect/dns_vpn_detector.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { IcmpVpnDetector } from "../../src/detect/icmp_vpn_detector.ts";
import { SessionDirectory } from "../../src/detect/session_directory.ts";
import { SoftEtherTcpDetector } from "../../src/detect/softether_tcp_detector.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { ethernet } from "./frames.ts";

/** A pipeline with the tunnel detectors and what they emitted. */
export interface TunnelRun {
  /** Every event, in emission order. */
  events: DetectionEvent[];
  /** The pipeline. */
  pipeline: Pipeline;
  /** The VPN over ICMP detector. */
  icmp: IcmpVpnDetector;
  /** The VPN over DNS detector. */
  dns: DnsVpnDetector;
  /** Weird counters shared by all. */
  weirds: Weirds;
  /** Emits an event the way a detector does (through the directory). */
  emit: (ev: DetectionEvent) => void;
}

/** Builds the pipeline: TCP classifier (unless `tcp` is false), ICMP and DNS detectors. */
export function tunnelPipeline(tcp = true, maxFlows = 10_000): TunnelRun {
  const events: DetectionEvent[] = [];
  const directory = new SessionDirectory();
  const emit = (ev: DetectionEvent) => {
    directory.observe(ev);
    events.push(ev);
  };
  const weirds = new Weirds();
  const icmp = new IcmpVpnDetector(emit, directory, weirds);
  const dns = new DnsVpnDetector(emit, directory, weirds);
  const detectors: Detector[] = [icmp, dns];
  if (tcp) detectors.unshift(new SoftEtherTcpDetector(emit, { weirds }));
  const pipeline = new Pipeline(detectors, { maxFlows }, weirds);
  return { events, pipeline, icmp, dns, weirds, emit };
}

/** Runs `files` (as one stream) through a fresh {@linkcode tunnelPipeline}, to the end. */
export async function runCaptures(files: string[], tcp = true): Promise<TunnelRun> {
  const run = tunnelPipeline(tcp);
  const src = await openCaptureFiles(files);
  try {
    await run.pipeline.run(src);
  } finally {
    src.close();
  }
  run.pipeline.finish();
  return run;
}

/** Announces a TCP session of `client` → `server` (as the TCP classifier would) through `run.emit`. */
export function seedSession(
  run: TunnelRun,
  client: string,
  server: string,
  flowId: number,
  start: number,
  ts = start + 0.5,
): void {
  run.emit({
    ts,
    kind: "vpn",
    variant: "TCP",
    outcome: "established",
    client: { ip: client, port: 50000 },
    server: { ip: server, port: 443 },
    evidence: [],
    confidence: 1,
    flow_id: flowId,
    community_id: "",
    connections: 1,
    latency: 0,
    start,
  });
}

/** An Ethernet frame around the IP packet `ip` at time `ts`; `capLen` cuts it (snapshot length). */
export function rawFrame(ts: number, ip: Uint8Array, capLen?: number): RawPacket {
  const bytes = ethernet(ip);
  const r = new RawPacket();
  r.buf = bytes;
  r.offset = 0;
  r.wireLen = bytes.length;
  r.capLen = Math.min(capLen ?? bytes.length, bytes.length);
  r.linkType = LinkType.ETHERNET;
  r.tsSec = Math.floor(ts);
  r.tsNsec = Math.round((ts - Math.floor(ts)) * 1e9);
  return r;
}

/** The events of the tunnel detectors (ICMP/DNS sessions and probe side flows). */
export function tunnelEvents(events: DetectionEvent[]): DetectionEvent[] {
  return events.filter((e) =>
    e.variant === "ICMP" || e.variant === "DNS" || e.kind === "icmp_probe" ||
    e.kind === "dns_probe"
  );
}
