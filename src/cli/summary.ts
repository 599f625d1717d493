/**
 * The run summary printed at exit (offline end, Ctrl-C in live mode) and
 * the periodic status line.
 *
 * @module
 */

import type { CaptureFileError } from "../capture/errors.ts";
import type { DetectorSet } from "../detect/detector_set.ts";
import type { SoftEtherTcpDetector } from "../detect/softether_tcp_detector.ts";
import type { Pipeline } from "../pipeline.ts";

/** Capture-side counters that only live capture has. */
interface CaptureCounters {
  /** Packets the kernel/driver dropped (pcap_stats ps_drop). */
  dropped: number;
  /** Packets dropped by the interface (ps_ifdrop). */
  ifDropped: number;
}

function fmtBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

const statusParts: (() => string | undefined)[] = [];
const summaryParts: (() => string | undefined)[] = [];

/**
 * Adds a line to the end-of-run summary (before the weird counters), e.g.
 * the detectors' footprint counts; a part that returns undefined is left out.
 */
export function addSummaryPart(part: () => string | undefined): void {
  summaryParts.push(part);
}

/**
 * The "Footprint:" summary line: side flows, VPN over ICMP/DNS sessions,
 * infrastructure contacts and server faces, or undefined when none was seen.
 */
export function footprintSummary(set: DetectorSet): string | undefined {
  const side = set.udpSide.stats, icmp = set.icmpVpn.stats, dns = set.dnsVpn.stats;
  const infra = set.infrastructure.stats, faces = set.faces.stats;
  const contacts = Object.entries(infra.contacts).filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`).join(", ");
  const parts = [
    icmp.sessions + dns.sessions > 0
      ? `${icmp.sessions} VPN over ICMP, ${dns.sessions} VPN over DNS sessions`
      : "",
    side.udpAccel > 0 ? `${side.udpAccel} UDP acceleration` : "",
    dns.probes > 0 ? `${dns.probes} DNS probes` : "",
    icmp.probes > 0 ? `${icmp.probes} ICMP probes` : "",
    side.nbns > 0 ? `${side.nbns} NetBIOS queries` : "",
    infra.events > 0 ? `${infra.events} infrastructure contacts (${contacts})` : "",
    faces.reported > 0 ? `${faces.reported} server faces` : "",
  ].filter((p) => p !== "");
  return parts.length > 0 ? `Footprint: ${parts.join(", ")}` : undefined;
}

/**
 * Adds a part to every later status line, e.g. the syslog target's state
 * ("syslog down, retry in 8 s, 12 queued, ECONNREFUSED …"); a part that
 * returns undefined is left out.
 */
export function addStatusPart(part: () => string | undefined): void {
  statusParts.push(part);
}

/**
 * One-line status: packets, bytes, flows, alerts (and drops when live), then
 * the parts added with {@linkcode addStatusPart}.
 */
export function statusLine(p: Pipeline, c: SoftEtherTcpDetector, cap?: CaptureCounters): string {
  const parts = [
    `${p.packets} packets (${fmtBytes(p.wireBytes)})`,
    `${p.flows.total} flows (${p.flows.active} active)`,
    `${c.stats.alerts} alerts`,
  ];
  if (cap !== undefined) parts.push(`${cap.dropped} dropped`);
  for (const part of statusParts) {
    const text = part();
    if (text !== undefined) parts.push(text);
  }
  return parts.join(", ");
}

/**
 * Summary lines about the capture files of an offline run when some could
 * not be read to the end: how many were read, then one line per damaged file
 * (with the byte offset of the damage) and per file that could not be opened.
 */
export function fileSummary(
  given: number,
  readToEnd: number,
  problems: CaptureFileError[],
): string[] {
  if (problems.length === 0) return [];
  const damaged = problems.filter((e) => e.offset >= 0);
  const unopened = problems.filter((e) => e.offset < 0);
  const lines = [
    `Files:    ${given} given, ${readToEnd} read to the end, ${damaged.length} damaged, ` +
    `${unopened.length} not opened`,
  ];
  for (const e of damaged) lines.push(`Damaged:  "${e.path}" at byte ${e.offset}`);
  for (const e of unopened) {
    lines.push(
      `Not read: "${e.path}": ${e.message.replace(/^Cannot open capture file "[^"]*": /, "")}`,
    );
  }
  return lines;
}

/** Multi-line summary for the end of a run. */
export function summary(
  p: Pipeline,
  c: SoftEtherTcpDetector,
  seconds: number,
  cap?: CaptureCounters,
): string {
  const d = p.decoder.counters;
  const f = p.flows;
  const lines = [
    `Packets:  ${p.packets} (${fmtBytes(p.wireBytes)}) in ${seconds.toFixed(2)} s` +
    (seconds > 0 ? `, ${Math.round(p.packets / seconds)} packets/s` : ""),
    `Decoded:  ${d.ipv4} IPv4, ${d.ipv6} IPv6, ${d.tcp} TCP, ${d.udp} UDP, ${d.icmp} ICMP, ` +
    `${d.nonIp} non-IP`,
    `Flows:    ${f.total} (${f.timedOut} timed out, ${f.evicted} evicted)`,
    `Alerts:   ${c.stats.alerts} (${c.stats.classified} SoftEther connections, ` +
    `${c.stats.folded} folded into their session)`,
  ];
  const df = p.defrag;
  if (df !== undefined) {
    lines.push(
      `Fragments: ${df.fragments} IP fragments, ${df.reassembled} datagrams reassembled, ` +
        `${df.dropped} refused, ${df.timedOut} timed out, ${df.evicted} evicted`,
    );
  }
  if (c.stats.errors > 0) {
    lines.push(`Errors:   ${c.stats.errors} connections dropped from inspection (parser error)`);
  }
  if (c.stats.evicted > 0) {
    lines.push(
      `Evicted:  ${c.stats.evicted} undecided connections let go at the inspection cap (flood)`,
    );
  }
  if (cap !== undefined) {
    lines.push(`Dropped:  ${cap.dropped} by the kernel, ${cap.ifDropped} by the interface`);
  }
  for (const part of summaryParts) {
    const line = part();
    if (line !== undefined) lines.push(line);
  }
  const w = Object.entries(p.weirds.toObject());
  if (w.length > 0) lines.push(`Weird:    ${w.map(([k, v]) => `${k}=${v}`).join(" ")}`);
  return lines.join("\n");
}
