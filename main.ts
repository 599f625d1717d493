/**
 * sealert — passive detector of SoftEther VPN sessions.
 *
 * The pipeline, wired here and nowhere else:
 *
 *   capture (libpcap device chosen by number, or pcap/pcapng files)
 *     → decode (link, IP, TCP/UDP/ICMP)
 *     → flow table (bidirectional 5-tuple, packet-time expiry)
 *     → detectors (src/detect/detector_set.ts): sessions over TCP (stream
 *       engine → analyzer tree: CONNECT/SOCKS → TLS, SSH → SoftEther set-up
 *       pattern), VPN over ICMP and DNS, UDP side flows of the sessions found,
 *       infrastructure contacts, server faces
 *     → session directory (side flows ↔ sessions)
 *     → alert sinks (SoftEther Alert text log, JSON Lines, syslog)
 *
 * @module
 */

import { HELP, parseOptions } from "./src/cli/args.ts";
import { reportError } from "./src/cli/fatal.ts";
import {
  listDevicesText,
  LiveExit,
  runLive,
  runLiveWorkers,
  usesLiveWorkers,
} from "./src/cli/run_live.ts";
import { runOffline } from "./src/cli/run_offline.ts";
import { runOfflineWorkers } from "./src/cli/run_offline_workers.ts";
import { openSinks } from "./src/cli/sinks.ts";
import { addStatusPart, addSummaryPart, footprintSummary } from "./src/cli/summary.ts";
import { InventoryOutputs } from "./src/cli/inventory_outputs.ts";
import { MetricsServer, PipelineMetrics } from "./src/cli/metrics_server.ts";
import { BANNER, NAME, VERSION } from "./src/cli/version.ts";
import type { DetectionEvent } from "./src/detect/event.ts";
import { createDetectors } from "./src/detect/detector_set.ts";
import { Weirds } from "./src/decode/weirds.ts";
import { FlowLog } from "./src/output/flow_log.ts";
import { EvidenceRecorder } from "./src/output/evidence.ts";
import { Pipeline } from "./src/pipeline.ts";

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  if (opts.help) {
    console.log(HELP);
    return 0;
  }
  if (opts.version) {
    console.log(`${NAME} ${VERSION}`);
    return 0;
  }
  if (opts.list) {
    console.log(listDevicesText());
    return 0;
  }

  // The metrics endpoint is bound first: a port in use is one line and exit 2
  // before any log file is created.
  const metrics = opts.metrics !== undefined ? MetricsServer.listen(opts.metrics) : undefined;
  if (metrics !== undefined) console.error(`sealert: metrics at ${metrics.url}`);

  // Outputs are opened once there is input to read (offline: after the
  // first file opened), so a run that fails before reading creates no file.
  let sinks: ReturnType<typeof openSinks> | undefined;
  let flowLog: FlowLog | undefined;
  let inventory: InventoryOutputs | undefined;
  const reported = new Set<string>();
  // Offline with --workers N: the workers run the pipelines
  // (src/cli/run_offline_workers.ts); main only writes what they find.
  const workers = opts.read.length > 0 ? opts.workers ?? 1 : 1;
  // Live with several devices or --workers above 1: analysis workers (run_live.ts).
  const liveWorkers = opts.read.length === 0 && usesLiveWorkers(opts);
  const openOutputs = () => {
    // The inventory's files first: a path that cannot be written stops the
    // run before any log file is created.
    inventory = opts.servers !== undefined || opts.report !== undefined
      ? new InventoryOutputs(opts)
      : undefined;
    const inv = inventory;
    // A write failure is printed when it first happens (once per sink and
    // reason); what each sink lost is counted and reported at the end.
    sinks = openSinks(opts, (e) => {
      if (reported.size < 20 && !reported.has(e.message)) {
        reported.add(e.message);
        console.error(`sealert: ${e.message}`);
      }
    });
    const all = sinks.all;
    addStatusPart(sinks.status);
    flowLog = opts.flows !== undefined && workers === 1 && !liveWorkers
      ? new FlowLog(opts.flows)
      : undefined;
    const evidence = opts.evidenceDir !== undefined
      ? new EvidenceRecorder(opts.evidenceDir)
      : undefined;
    const emit = (ev: DetectionEvent) => {
      all.write(ev);
      inv?.observe(ev);
      metrics?.observe(ev);
      const session = ev.kind === "vpn" || ev.kind === "admin";
      if (evidence !== undefined && ev.phase !== "end" && session) evidence.write(ev);
    };
    return { emit, evidence };
  };
  const start = () => {
    const { emit, evidence } = openOutputs();
    const fl = flowLog;
    // Detectors → session directory (ties side flows to sessions, counts
    // them in session-end records) → sinks (and evidence pcaps); flow table
    // → detectors (and the flow log).
    const weirds = new Weirds();
    const set = createDetectors(emit, weirds);
    const { detectors, classifier } = set;
    addSummaryPart(() => footprintSummary(set));
    const pipeline = new Pipeline(detectors, {
      maxFlows: opts.maxFlows,
      timeouts: { active: opts.tcpTimeout, udp: opts.udpTimeout },
      onFlowEnd: fl ? (table, slot) => fl.write(table, slot) : undefined,
      evidence,
    }, weirds);
    const counters = new PipelineMetrics(pipeline, set);
    metrics?.attach(counters, sinks!.failures);
    return { pipeline, classifier, counters };
  };

  let exitCode = 0;
  try {
    if (workers > 1) {
      const run = () => ({
        emit: openOutputs().emit,
        attach: (source: Parameters<NonNullable<typeof metrics>["attach"]>[0]) =>
          metrics?.attach(source, sinks!.failures),
      });
      exitCode = (await runOfflineWorkers(opts.read, { ...opts, workers }, run)).exitCode;
    } else if (liveWorkers) {
      const { emit } = openOutputs();
      console.log(BANNER);
      const s = sinks!;
      exitCode = await runLiveWorkers(opts, {
        emit,
        sinks: s.all,
        sinkFailures: s.failedWrites,
        inventory,
        metrics: (source) => metrics?.attach(source, s.failures),
      });
    } else if (opts.read.length > 0) {
      exitCode = (await runOffline(opts.read, opts, start)).exitCode;
    } else {
      const { pipeline, classifier, counters } = start();
      console.log(BANNER);
      const s = sinks!;
      exitCode = await runLive(
        opts,
        pipeline,
        classifier,
        s.all,
        () => flowLog?.reopen(),
        s.failedWrites,
        inventory,
        counters,
      );
    }
  } finally {
    sinks?.all.close();
    flowLog?.close();
    await sinks?.drain();
    await metrics?.close();
  }
  // Alerts a sink could not deliver: one line per sink, and exit code 4 (live
  // mode's LOG_FAULT) whatever the input. The codes: 0 ok, 1 damaged or
  // unreadable capture file (the others were read), 2 usage or environment
  // error, 3 capture device went away (live), 4 alerts lost.
  const losses = sinks?.losses() ?? [];
  for (const line of losses) console.error(`sealert: ${line}`);
  // The server inventory at exit (a failed write: one line, exit code 4);
  // offline, its table follows the summary.
  const inventoryLost = inventory !== undefined && !inventory.save();
  if (inventory !== undefined && opts.read.length > 0 && !opts.quiet) {
    console.error(inventory.table());
  }
  return losses.length > 0 || inventoryLost ? LiveExit.LOG_FAULT : exitCode;
}

try {
  Deno.exit(await main(Deno.args));
} catch (e) {
  Deno.exit(reportError(e));
}
