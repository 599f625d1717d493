/**
 * Messages between the main thread and an analysis worker
 * (`analysis_worker.ts`): a Worker that runs one whole pipeline — decoder,
 * flow table, every detector — over the packets of one packet source and
 * sends back what it decides.
 *
 * Sequence: main posts `start` (packet source, flow and detector settings).
 * The worker opens the source and answers `started` (or `error`, then
 * exits). While it runs it posts `events` (detections, structured clones of
 * `DetectionEvent`), `flows` (flow log lines, when asked for), and `stats`
 * every `statsIntervalMs`. Main asks it to stop with `stop` (or
 * {@linkcode AnalysisControl.STOP} in the shared control block, seen even
 * while the worker is busy); a ring source also ends with its END record.
 * The worker then finishes (ends every flow, decides what is pending),
 * posts its last `events` / `flows` and `done` with its final counters, and
 * exits.
 *
 * Counters travel as plain objects ({@linkcode WorkerStats}); main adds the
 * workers' up for the status line, the summary and metrics
 * (`summary.ts` `addStats`).
 *
 * @module
 */

import type { DetectionEvent } from "../detect/event.ts";

/** Indexes into the shared `Int32Array` control block of a worker. */
export const AnalysisControl = {
  /** Non-zero: stop (live: close the capture; ring: stop reading). */
  STOP: 0,
  /** Number of words in the block. */
  SIZE: 16,
} as const;

/**
 * Packets from the offline reader through a SharedArrayBuffer ring
 * (`src/capture/packet_ring.ts`), with the shared frame time log
 * (`src/capture/frame_time_log.ts`) that keeps every worker's packet time
 * the same as one thread's.
 */
export interface RingSourceSpec {
  /** Discriminant. */
  kind: "ring";
  /** This worker's packet ring. */
  ring: SharedArrayBuffer;
  /** The time log shared by all workers of the run. */
  timeLog: SharedArrayBuffer;
}

/** Live capture on one interface, as one member of a PACKET_FANOUT group. */
export interface PcapSourceSpec {
  /** Discriminant. */
  kind: "pcap";
  /** Device name. */
  device: string;
  /** Fanout group membership (absent: a plain capture, one worker). */
  fanout?: {
    /**
     * Fanout group id (one per interface and process), or -1: a new group
     * whose id the kernel picks, unused in the network namespace (worker
     * `id` 0 creates it and hands the id to the others through `rendezvous`).
     */
    group: number;
    /** This worker's index in the group (0 .. count − 1). */
    id: number;
    /** Workers in the group. */
    count: number;
    /**
     * The interface's rendezvous block (`src/capture/fanout_source.ts`
     * `fanoutRendezvous`): the members wait there for each other.
     */
    rendezvous: SharedArrayBuffer;
  };
  /** Snapshot length. */
  snaplen: number;
  /** Promiscuous mode. */
  promisc: boolean;
  /** Kernel buffer in bytes. */
  bufferSize: number;
  /** BPF filter expression. */
  filter?: string;
}

/** Where an analysis worker's packets come from. */
type PacketSourceSpec = RingSourceSpec | PcapSourceSpec;

/** Flow table, detector and output settings of a worker (from the command line). */
export interface AnalysisSettings {
  /** Maximum tracked flows (each worker has a table of its own). */
  maxFlows: number;
  /** Idle timeout of established TCP flows (s). */
  tcpTimeout: number;
  /** Idle timeout of UDP flows (s). */
  udpTimeout: number;
  /** Connections the TCP classifier inspects at once (default: its own). */
  maxAnalyzers?: number;
  /** Post a flow log line per ended flow (`--flows`). */
  flowLog: boolean;
  /** Write evidence pcaps of alerted sessions to this directory (the worker writes them). */
  evidenceDir?: string;
  /** Interval of `stats` messages, in milliseconds (0: only the final counters). */
  statsIntervalMs: number;
}

/** main → worker: start analysing. */
export interface StartMessage {
  /** Discriminant. */
  type: "start";
  /** This worker's number (0 .. workers − 1). */
  worker: number;
  /** Number of workers of the run. */
  workers: number;
  /** Where the packets come from. */
  source: PacketSourceSpec;
  /** Flow table, detector and output settings. */
  settings: AnalysisSettings;
  /** Shared control block ({@linkcode AnalysisControl}). */
  control: SharedArrayBuffer;
}

/** main → worker: stop (finish what was read, post `done`). */
interface StopMessage {
  /** Discriminant. */
  type: "stop";
}

/** Messages an analysis worker receives. */
export type ToAnalysis = StartMessage | StopMessage;

/** worker → main: the source is open. */
interface StartedMessage {
  /** Discriminant. */
  type: "started";
  /** Worker number. */
  worker: number;
  /** LINKTYPE_* of a live capture. */
  linkType?: number;
  /** Snapshot length in effect (live). */
  snaplen?: number;
  /** libpcap's activation warning, if any. */
  warning?: string;
}

/** worker → main: the source could not be opened (the worker exits). */
interface ErrorMessage {
  /** Discriminant. */
  type: "error";
  /** Worker number. */
  worker: number;
  /** One-line message. */
  message: string;
  /** Exit code for main.ts. */
  exitCode: number;
}

/** worker → main: detections, in the order the worker decided them. */
export interface EventsMessage {
  /** Discriminant. */
  type: "events";
  /** Worker number. */
  worker: number;
  /** The events (each already passed the worker's session directory). */
  events: DetectionEvent[];
  /**
   * Per event, the global frame number at which it was decided (ring
   * source; the end of input counts as the last frame + 1), else 0. Lets
   * main put the workers' events back in one thread's order and keep the
   * first of the run-wide "once per host / server" reports.
   */
  frames: number[];
  /**
   * Every event of this worker decided at frames up to this one has been
   * posted (ring source; 0 otherwise).
   */
  progress: number;
}

/** worker → main: flow log lines (JSON, one per ended flow). */
interface FlowsMessage {
  /** Discriminant. */
  type: "flows";
  /** Worker number. */
  worker: number;
  /** The lines, without line ends. */
  lines: string[];
}

/** Counters of the footprint detectors (the summary's "Footprint:" line). */
export interface FootprintCounts {
  /** UDP acceleration side flows reported. */
  udpAccel: number;
  /** NetBIOS side flows reported. */
  nbns: number;
  /** VPN over ICMP sessions. */
  icmpSessions: number;
  /** ICMP probes of the connect race. */
  icmpProbes: number;
  /** VPN over DNS sessions. */
  dnsSessions: number;
  /** DNS probes of the connect race. */
  dnsProbes: number;
  /** Infrastructure contact events. */
  infraEvents: number;
  /** Infrastructure contacts seen, by service. */
  infraContacts: Record<string, number>;
  /** Server faces reported. */
  faces: number;
}

/** Counters of the TCP session classifier. */
interface ClassifierCounts {
  /** Connections inspected. */
  inspected: number;
  /** SoftEther connections decided. */
  classified: number;
  /** Session alerts (attempts included). */
  alerts: number;
  /** Extra connections folded into their session. */
  folded: number;
  /** Undecided connections let go at the inspection cap. */
  evicted: number;
  /** Connections dropped after a parser error. */
  errors: number;
}

/** IP reassembly counters. */
interface DefragCounts {
  /** IP fragments seen. */
  fragments: number;
  /** Datagrams rebuilt. */
  reassembled: number;
  /** Fragments refused. */
  dropped: number;
  /** Datagrams timed out. */
  timedOut: number;
  /** Datagrams evicted at the bounds. */
  evicted: number;
}

/** Counters of one pipeline (a worker, or the single-thread run). */
export interface WorkerStats {
  /** Packets analysed. */
  packets: number;
  /** Their bytes on the wire. */
  wireBytes: number;
  /** What the decoder saw. */
  decoded: {
    ipv4: number;
    ipv6: number;
    tcp: number;
    udp: number;
    icmp: number;
    nonIp: number;
  };
  /** Flow table counters. */
  flows: { total: number; active: number; timedOut: number; evicted: number };
  /** IP reassembly (null until the first fragment). */
  defrag: DefragCounts | null;
  /** The TCP session classifier. */
  classifier: ClassifierCounts;
  /** Connections under inspection now (TCP classifier and server faces). */
  inspecting: number;
  /** The footprint detectors. */
  footprint: FootprintCounts;
  /** Events emitted, by "kind" or "kind/variant" (e.g. "vpn/TCP", "server"). */
  events: Record<string, number>;
  /** Weird counters (non-zero ones). */
  weirds: Record<string, number>;
  /** Live capture counters (pcap source). */
  capture?: { received: number; dropped: number; ifDropped: number };
}

/** worker → main: periodic counters. */
interface StatsMessage {
  /** Discriminant. */
  type: "stats";
  /** Worker number. */
  worker: number;
  /** Counters now. */
  stats: WorkerStats;
}

/** worker → main: finished (the worker exits after this). */
export interface DoneMessage {
  /** Discriminant. */
  type: "done";
  /** Worker number. */
  worker: number;
  /** Final counters (after the end of every flow). */
  stats: WorkerStats;
  /** One-line message when the worker ended on an error. */
  error?: string;
  /** Exit code for that error. */
  exitCode?: number;
}

/** Messages main receives from an analysis worker. */
export type FromAnalysis =
  | StartedMessage
  | ErrorMessage
  | EventsMessage
  | FlowsMessage
  | StatsMessage
  | DoneMessage;
