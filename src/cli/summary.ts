/**
 * The run summary printed at exit (offline end, Ctrl-C in live mode) and
 * the periodic status line.
 *
 * @module
 */

import type { CaptureFileError } from "../capture/errors.ts";
import { type WeirdName, Weirds } from "../decode/weirds.ts";
import type { DetectorSet } from "../detect/detector_set.ts";
import type { SoftEtherTcpDetector } from "../detect/softether_tcp_detector.ts";
import type { Pipeline } from "../pipeline.ts";
import type { FootprintCounts, WorkerStats } from "./analysis_protocol.ts";

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

/** The footprint detectors' counters of a detector set. */
function footprintCounts(set: DetectorSet): FootprintCounts {
  const side = set.udpSide.stats, icmp = set.icmpVpn.stats, dns = set.dnsVpn.stats;
  const infra = set.infrastructure.stats;
  return {
    udpAccel: side.udpAccel,
    nbns: side.nbns,
    icmpSessions: icmp.sessions,
    icmpProbes: icmp.probes,
    dnsSessions: dns.sessions,
    dnsProbes: dns.probes,
    infraEvents: infra.events,
    infraContacts: { ...infra.contacts },
    faces: set.faces.stats.reported,
  };
}

/**
 * The "Footprint:" summary line: side flows, VPN over ICMP/DNS sessions,
 * infrastructure contacts and server faces, or undefined when none was seen.
 * Takes a detector set, or counters added up over analysis workers.
 */
export function footprintSummary(from: DetectorSet | FootprintCounts): string | undefined {
  const f = "detectors" in from ? footprintCounts(from) : from;
  const contacts = Object.entries(f.infraContacts).filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`).join(", ");
  const parts = [
    f.icmpSessions + f.dnsSessions > 0
      ? `${f.icmpSessions} VPN over ICMP, ${f.dnsSessions} VPN over DNS sessions`
      : "",
    f.udpAccel > 0 ? `${f.udpAccel} UDP acceleration` : "",
    f.dnsProbes > 0 ? `${f.dnsProbes} DNS probes` : "",
    f.icmpProbes > 0 ? `${f.icmpProbes} ICMP probes` : "",
    f.nbns > 0 ? `${f.nbns} NetBIOS queries` : "",
    f.infraEvents > 0 ? `${f.infraEvents} infrastructure contacts (${contacts})` : "",
    f.faces > 0 ? `${f.faces} server faces` : "",
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
 * The counters of a pipeline as one plain object (what an analysis worker
 * posts); `set` adds the footprint detectors' and the inspections of server
 * faces, `events` the events emitted by kind.
 */
export function pipelineStats(
  p: Pipeline,
  c: SoftEtherTcpDetector,
  set?: DetectorSet,
  events: Record<string, number> = {},
): WorkerStats {
  const d = p.decoder.counters, f = p.flows, df = p.defrag, s = c.stats;
  return {
    packets: p.packets,
    wireBytes: p.wireBytes,
    decoded: {
      ipv4: d.ipv4,
      ipv6: d.ipv6,
      tcp: d.tcp,
      udp: d.udp,
      icmp: d.icmp,
      nonIp: d.nonIp,
    },
    flows: { total: f.total, active: f.active, timedOut: f.timedOut, evicted: f.evicted },
    defrag: df === undefined ? null : {
      fragments: df.fragments,
      reassembled: df.reassembled,
      dropped: df.dropped,
      timedOut: df.timedOut,
      evicted: df.evicted,
    },
    classifier: {
      inspected: s.inspected,
      classified: s.classified,
      alerts: s.alerts,
      folded: s.folded,
      evicted: s.evicted,
      errors: s.errors,
    },
    inspecting: c.live + (set?.faces.live ?? 0),
    footprint: set !== undefined ? footprintCounts(set) : emptyFootprint(),
    events: { ...events },
    weirds: p.weirds.toObject(),
  };
}

function emptyFootprint(): FootprintCounts {
  return {
    udpAccel: 0,
    nbns: 0,
    icmpSessions: 0,
    icmpProbes: 0,
    dnsSessions: 0,
    dnsProbes: 0,
    infraEvents: 0,
    infraContacts: {},
    faces: 0,
  };
}

/** Adds numbers at the same paths of `from` into `into` (nested objects, missing keys = 0). */
function addInto(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    if (typeof v === "number") into[k] = ((into[k] as number | undefined) ?? 0) + v;
    else if (v !== null && typeof v === "object") {
      if (into[k] === null || into[k] === undefined) into[k] = {};
      addInto(into[k] as Record<string, unknown>, v as Record<string, unknown>);
    }
  }
}

/**
 * The counters of several analysis workers added up (weirds, events and
 * contacts by name; reassembly counters when any worker reassembled).
 */
export function addStats(all: readonly WorkerStats[]): WorkerStats {
  const sum = pipelineStatsZero();
  for (const s of all) {
    addInto(sum as unknown as Record<string, unknown>, s as unknown as Record<string, unknown>);
  }
  // Weirds in their own order, as one pipeline lists them.
  const w = new Weirds();
  for (const [name, n] of Object.entries(sum.weirds)) w.add(name as WeirdName, n);
  sum.weirds = w.toObject();
  return sum;
}

function pipelineStatsZero(): WorkerStats {
  return {
    packets: 0,
    wireBytes: 0,
    decoded: { ipv4: 0, ipv6: 0, tcp: 0, udp: 0, icmp: 0, nonIp: 0 },
    flows: { total: 0, active: 0, timedOut: 0, evicted: 0 },
    defrag: null,
    classifier: { inspected: 0, classified: 0, alerts: 0, folded: 0, evicted: 0, errors: 0 },
    inspecting: 0,
    footprint: emptyFootprint(),
    events: {},
    weirds: {},
  };
}

/**
 * One-line status: packets, bytes, flows, alerts (and drops when live), then
 * the parts added with {@linkcode addStatusPart}.
 */
export function statusLine(p: Pipeline, c: SoftEtherTcpDetector, cap?: CaptureCounters): string {
  return statusLineOf(pipelineStats(p, c), cap);
}

/** {@linkcode statusLine} from counters (one pipeline's or several workers' added up). */
export function statusLineOf(s: WorkerStats, cap?: CaptureCounters): string {
  const parts = [
    `${s.packets} packets (${fmtBytes(s.wireBytes)})`,
    `${s.flows.total} flows (${s.flows.active} active)`,
    `${s.classifier.alerts} alerts`,
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
  return summaryOf(pipelineStats(p, c), seconds, cap);
}

/** {@linkcode summary} from counters (one pipeline's or several workers' added up). */
export function summaryOf(s: WorkerStats, seconds: number, cap?: CaptureCounters): string {
  const d = s.decoded;
  const f = s.flows;
  const c = s.classifier;
  const lines = [
    `Packets:  ${s.packets} (${fmtBytes(s.wireBytes)}) in ${seconds.toFixed(2)} s` +
    (seconds > 0 ? `, ${Math.round(s.packets / seconds)} packets/s` : ""),
    `Decoded:  ${d.ipv4} IPv4, ${d.ipv6} IPv6, ${d.tcp} TCP, ${d.udp} UDP, ${d.icmp} ICMP, ` +
    `${d.nonIp} non-IP`,
    `Flows:    ${f.total} (${f.timedOut} timed out, ${f.evicted} evicted)`,
    `Alerts:   ${c.alerts} (${c.classified} SoftEther connections, ` +
    `${c.folded} folded into their session)`,
  ];
  const df = s.defrag;
  if (df !== null) {
    lines.push(
      `Fragments: ${df.fragments} IP fragments, ${df.reassembled} datagrams reassembled, ` +
        `${df.dropped} refused, ${df.timedOut} timed out, ${df.evicted} evicted`,
    );
  }
  if (c.errors > 0) {
    lines.push(`Errors:   ${c.errors} connections dropped from inspection (parser error)`);
  }
  if (c.evicted > 0) {
    lines.push(
      `Evicted:  ${c.evicted} undecided connections let go at the inspection cap (flood)`,
    );
  }
  if (cap !== undefined) {
    lines.push(`Dropped:  ${cap.dropped} by the kernel, ${cap.ifDropped} by the interface`);
  }
  for (const part of summaryParts) {
    const line = part();
    if (line !== undefined) lines.push(line);
  }
  const w = Object.entries(s.weirds);
  if (w.length > 0) lines.push(`Weird:    ${w.map(([k, v]) => `${k}=${v}`).join(" ")}`);
  return lines.join("\n");
}
