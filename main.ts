/**
 * sealert — passive detector of SoftEther VPN sessions.
 *
 * The pipeline, wired here and nowhere else:
 *
 *   capture (libpcap device chosen by number, or pcap/pcapng files)
 *     → decode (link, IP, TCP/UDP)
 *     → flow table (bidirectional 5-tuple, packet-time expiry)
 *     → detectors (stream engine → analyzer tree: CONNECT/SOCKS → TLS, SSH
 *       → SoftEther set-up pattern)
 *     → alert sinks (SoftEther Alert text log, JSON Lines, syslog)
 *
 * @module
 */

import { HELP, parseOptions } from "./src/cli/args.ts";
import { reportError } from "./src/cli/fatal.ts";
import { listDevicesText, runLive } from "./src/cli/run_live.ts";
import { runOffline } from "./src/cli/run_offline.ts";
import { openSinks } from "./src/cli/sinks.ts";
import { BANNER, NAME, VERSION } from "./src/cli/version.ts";
import { SoftEtherTcpDetector } from "./src/detect/softether_tcp_detector.ts";
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

  // Alert sinks: a write failure is reported once per sink, never ignored.
  let sinkFailures = 0;
  const sinks = openSinks(opts, (e) => {
    if (sinkFailures++ < 5) console.error(`sealert: ${e.message}`);
  });
  const flowLog = opts.flows !== undefined ? new FlowLog(opts.flows) : undefined;
  const evidence = opts.evidenceDir !== undefined
    ? new EvidenceRecorder(opts.evidenceDir)
    : undefined;

  // Detectors → sinks (and evidence pcaps); flow table → detectors (and the flow log).
  const weirds = new Weirds();
  const classifier = new SoftEtherTcpDetector((ev) => {
    sinks.all.write(ev);
    if (evidence !== undefined && ev.phase !== "end") evidence.write(ev);
  }, { weirds });
  const pipeline = new Pipeline([classifier], {
    maxFlows: opts.maxFlows,
    timeouts: { active: opts.tcpTimeout, udp: opts.udpTimeout },
    onFlowEnd: flowLog ? (table, slot) => flowLog.write(table, slot) : undefined,
    evidence,
  }, weirds);

  try {
    if (opts.read.length > 0) {
      const res = await runOffline(opts.read, pipeline, classifier, opts);
      if (res.error) console.error(`sealert: ${res.error.message}`);
      return res.exitCode + (sinkFailures > 0 && res.exitCode === 0 ? 2 : 0);
    }
    console.log(BANNER);
    return await runLive(opts, pipeline, classifier, sinks.all, () => flowLog?.reopen());
  } finally {
    sinks.all.close();
    flowLog?.close();
    await sinks.drain();
  }
}

try {
  Deno.exit(await main(Deno.args));
} catch (e) {
  Deno.exit(reportError(e));
}
