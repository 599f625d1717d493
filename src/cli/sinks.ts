/**
 * Builds the alert sinks the options ask for: the SoftEther Alert text log
 * (and console echo), JSON Lines, syslog (the last two de-duplicated).
 *
 * @module
 */

import { DedupSink } from "../output/dedup.ts";
import type { AlertSink } from "../output/event.ts";
import { JsonLinesSink } from "../output/json_log.ts";
import { MultiSink } from "../output/multi_sink.ts";
import { SyslogSink } from "../output/syslog.ts";
import { TextLogSink } from "../output/text_log.ts";
import type { Options } from "./args.ts";

/** Open every sink of `opts`; write failures are reported through `onError`. */
export function openSinks(opts: Options, onError: (e: Error) => void): MultiSink {
  const sinks: AlertSink[] = [];
  if (opts.log !== "none") sinks.push(new TextLogSink({ path: opts.log, quiet: opts.quiet }));
  const siem: AlertSink[] = [];
  if (opts.json !== undefined) siem.push(new JsonLinesSink(opts.json));
  if (opts.syslog !== undefined) siem.push(new SyslogSink(opts.syslog));
  for (const s of siem) {
    sinks.push(opts.dedupSeconds > 0 ? new DedupSink(s, { windowSeconds: opts.dedupSeconds }) : s);
  }
  return new MultiSink(sinks, { onError: (e) => onError(e) });
}
