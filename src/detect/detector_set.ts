/**
 * The set of detectors sealert runs, built in one place for the program and
 * its evaluation: the TCP session classifier, the detectors of SoftEther's
 * other footprints, and the session directory that ties side flows to
 * sessions. Every event passes the directory (which completes session-end
 * records with their side-flow counts) before it reaches `emit`.
 *
 * @module
 */

import type { Weirds } from "../decode/weirds.ts";
import type { Detector, EmitFn } from "./detector.ts";
import { InfrastructureDetector } from "./infrastructure_detector.ts";
import { SessionDirectory } from "./session_directory.ts";
import { SoftEtherTcpDetector } from "./softether_tcp_detector.ts";
import { UdpSideFlowDetector } from "./udp_side_flow_detector.ts";

/** The detectors of one pipeline. */
export interface DetectorSet {
  /** In pipeline order (the TCP classifier first). */
  detectors: Detector[];
  /** The TCP session classifier (its counters feed the status line and summary). */
  classifier: SoftEtherTcpDetector;
  /** UDP acceleration and NetBIOS side flows. */
  udpSide: UdpSideFlowDetector;
  /** Contacts with SoftEther's DDNS, NAT-T, VPN Azure and keep-alive services. */
  infrastructure: InfrastructureDetector;
  /** Sessions by address pair. */
  directory: SessionDirectory;
}

/** Builds every detector around `emit`, sharing `weirds`. */
export function createDetectors(
  emit: EmitFn,
  weirds: Weirds,
  opts: { maxAnalyzers?: number } = {},
): DetectorSet {
  const directory = new SessionDirectory();
  const send: EmitFn = (ev) => {
    directory.observe(ev);
    emit(ev);
  };
  const classifier = new SoftEtherTcpDetector(send, { ...opts, weirds });
  const udpSide = new UdpSideFlowDetector(send, directory);
  const infrastructure = new InfrastructureDetector(send, weirds);
  return {
    detectors: [classifier, udpSide, infrastructure],
    classifier,
    udpSide,
    infrastructure,
    directory,
  };
}
