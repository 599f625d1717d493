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
import { DnsVpnDetector } from "./dns_vpn_detector.ts";
import { IcmpVpnDetector } from "./icmp_vpn_detector.ts";
import { InfrastructureDetector } from "./infrastructure_detector.ts";
import { ServerFaceDetector } from "./server_face_detector.ts";
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
  /** VPN over ICMP sessions, and the connect race's ICMP probes. */
  icmpVpn: IcmpVpnDetector;
  /** VPN over DNS sessions, and the connect race's DNS probes. */
  dnsVpn: DnsVpnDetector;
  /** Contacts with SoftEther's DDNS, NAT-T, VPN Azure and keep-alive services. */
  infrastructure: InfrastructureDetector;
  /** SoftEther servers by their OpenVPN / SSTP listeners and self-generated certificate. */
  faces: ServerFaceDetector;
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
  const icmpVpn = new IcmpVpnDetector(send, directory, weirds);
  const dnsVpn = new DnsVpnDetector(send, directory, weirds);
  const infrastructure = new InfrastructureDetector(send, weirds);
  const faces = new ServerFaceDetector(send, weirds);
  return {
    detectors: [classifier, udpSide, icmpVpn, dnsVpn, infrastructure, faces],
    classifier,
    udpSide,
    icmpVpn,
    dnsVpn,
    infrastructure,
    faces,
    directory,
  };
}
