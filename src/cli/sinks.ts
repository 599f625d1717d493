/**
 * Builds the alert sinks the options ask for: the SoftEther Alert text log
 * (and console echo), JSON Lines, syslog (the last two de-duplicated).
 *
 * @module
 */

import { unixDatagramLibc } from "../../ffi/unix_socket.ts";
import { DedupSink } from "../output/dedup.ts";
import type { AlertSink } from "../output/sink.ts";
import { JsonLinesSink } from "../output/json_log.ts";
import { MultiSink } from "../output/multi_sink.ts";
import { SyslogSink } from "../output/syslog.ts";
import { TextLogSink } from "../output/text_log.ts";
import type { Options } from "./args.ts";

/** The sinks of a run. */
interface Sinks {
  /** Fan-out to every sink. */
  all: MultiSink;
  /** Wait until asynchronous sinks (syslog) sent what they hold; call after close(). */
  drain(): Promise<void>;
}

/** Open every sink of `opts`; write failures are reported through `onError`. */
export function openSinks(opts: Options, onError: (e: Error) => void): Sinks {
  const sinks: AlertSink[] = [];
  let syslog: SyslogSink | undefined;
  if (opts.log !== "none") sinks.push(new TextLogSink({ path: opts.log, quiet: opts.quiet }));
  const siem: AlertSink[] = [];
  if (opts.json !== undefined) siem.push(new JsonLinesSink(opts.json));
  if (opts.syslog !== undefined) {
    // rsyslog's and journald's /dev/log expect the traditional format.
    const bsd = opts.syslog.startsWith("unix:") || opts.syslog.startsWith("/");
    syslog = new SyslogSink(opts.syslog, {
      format: bsd ? "bsd" : "rfc5424",
      onError,
      unixDatagram: unixDatagramLibc(),
    });
    siem.push(syslog);
  }
  for (const s of siem) {
    sinks.push(opts.dedupSeconds > 0 ? new DedupSink(s, { windowSeconds: opts.dedupSeconds }) : s);
  }
  return {
    all: new MultiSink(sinks, { onError: (e) => onError(e) }),
    drain: async () => {
      await syslog?.drain();
    },
  };
}
