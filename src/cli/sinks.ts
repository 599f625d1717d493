/**
 * Builds the alert sinks the options ask for: the SoftEther Alert text log
 * (and console echo), JSON Lines, syslog (the last two de-duplicated), and
 * accounts for what each one could not deliver.
 *
 * @module
 */

import { unixDatagramLibc } from "../../ffi/unix_socket.ts";
import { DedupSink } from "../output/dedup.ts";
import { type AlertSink, SinkError } from "../output/sink.ts";
import { JsonLinesSink } from "../output/json_log.ts";
import { MultiSink } from "../output/multi_sink.ts";
import { SyslogSink } from "../output/syslog.ts";
import { formatSyslogTarget } from "../output/syslog_target.ts";
import { formatAlertLine, hasLogLine, TextLogSink } from "../output/text_log.ts";
import { errorReason, writeAllSync } from "../output/line_file.ts";
import type { DetectionEvent } from "../detect/event.ts";
import type { Options } from "./args.ts";
import type { SinkFailures } from "./metrics_server.ts";

/** The sinks of a run. */
interface Sinks {
  /** Fan-out to every sink. */
  all: MultiSink;
  /** Wait until asynchronous sinks (syslog) sent what they hold; call after close(). */
  drain(): Promise<void>;
  /**
   * One line per sink that could not deliver everything, e.g.
   * `syslog tcp://127.0.0.1:1: 3 alerts lost (ECONNREFUSED …)`; empty when
   * nothing was lost. Complete only after `drain()`.
   */
  losses(): string[];
  /**
   * Writes that failed so far (file sinks, standard output; not the console
   * echo, nor syslog, which queues and retries). Live mode stops on the first.
   */
  failedWrites(): number;
  /** The syslog target's state for the live status line, or undefined without syslog. */
  status(): string | undefined;
  /**
   * Records each sink could not deliver so far (`--metrics`): "text", "json", "syslog", every
   * sink opened (0 included; not the console echo). Syslog counts what it dropped after retries.
   */
  failures(): SinkFailures[];
}

/**
 * Echoes the text log's lines on standard output. A failure (closed or
 * broken standard output) is reported once through `onWarning` and turns
 * the echo off; it is never thrown, the log file has the line.
 */
class ConsoleEcho implements AlertSink {
  #onWarning: (e: Error) => void;
  #on = true;

  constructor(onWarning: (e: Error) => void) {
    this.#onWarning = onWarning;
  }

  write(ev: DetectionEvent): void {
    if (!this.#on || !hasLogLine(ev)) return;
    try {
      writeAllSync(Deno.stdout, encoder.encode(formatAlertLine(ev) + "\n"));
    } catch (err) {
      this.#on = false;
      this.#onWarning(
        new SinkError(
          `Cannot write to standard output: ${errorReason(err)} (console echo turned off)`,
        ),
      );
    }
  }
  flush(): void {}
  reopen(): void {}
  close(): void {}
}

const encoder = new TextEncoder();

/** One sink with the name its losses are reported under. */
interface Named {
  label: string;
  /** Name in `failures()`; none for the console echo. */
  metric?: string;
  sink: AlertSink;
  syslog?: SyslogSink;
}

/**
 * True when standard output was closed when sealert started (`>&-`): the
 * runtime then puts /dev/null, opened read-write, in its place (a shell's
 * `>/dev/null` opens it write-only). Linux only; false when it cannot tell.
 */
function stdoutClosed(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    const read = Deno.permissions.querySync({ name: "read", path: "/proc/self" });
    if (read.state !== "granted") return false;
    if (Deno.readLinkSync("/proc/self/fd/1") !== "/dev/null") return false;
    const flags = Deno.readTextFileSync("/proc/self/fdinfo/1").match(/^flags:\s*([0-7]+)/m);
    return flags !== null && (parseInt(flags[1], 8) & 3) === 2;
  } catch {
    return false;
  }
}

/** "Cannot write to log file "x": No space left" → "No space left". */
function reason(e: Error | undefined): string {
  if (e === undefined) return "unknown error";
  return e.message.replace(/^Cannot \w+ to (?:log file "[^"]*"|syslog \S+?): /, "");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * Open every sink of `opts`; write failures are reported through `onError`.
 *
 * @throws {SinkError} When a log file cannot be opened, or standard output
 *   (`--log -`, `--json -`, `--flows -`) is closed.
 */
export function openSinks(opts: Options, onError: (e: Error) => void): Sinks {
  const toStdout = [["--log", opts.log], ["--json", opts.json], ["--flows", opts.flows]]
    .filter(([, path]) => path === "-").map(([name]) => `${name} -`);
  if (toStdout.length > 0 && stdoutClosed()) {
    throw new SinkError(`Standard output is closed: cannot write ${toStdout.join(", ")}`);
  }
  const named: Named[] = [];
  if (opts.log !== "none") {
    named.push({
      label: opts.log === "-" ? "text log (standard output)" : `text log "${opts.log}"`,
      metric: "text",
      sink: new TextLogSink({ path: opts.log, quiet: true }),
    });
    // The console echo is a courtesy: its failure is a warning, nothing lost.
    if (!opts.quiet && opts.log !== "-") named.push({ label: "", sink: new ConsoleEcho(onError) });
  }
  const siem: Named[] = [];
  if (opts.json !== undefined) {
    siem.push({
      label: opts.json === "-" ? "JSON log (standard output)" : `JSON log "${opts.json}"`,
      metric: "json",
      sink: new JsonLinesSink(opts.json),
    });
  }
  let syslog: SyslogSink | undefined;
  if (opts.syslog !== undefined) {
    // rsyslog's and journald's /dev/log expect the traditional format.
    const bsd = opts.syslog.startsWith("unix:") || opts.syslog.startsWith("/");
    syslog = new SyslogSink(opts.syslog, {
      format: bsd ? "bsd" : "rfc5424",
      onError,
      unixDatagram: unixDatagramLibc(),
    });
    siem.push({
      label: `syslog ${formatSyslogTarget(syslog.target)}`,
      metric: "syslog",
      sink: syslog,
      syslog,
    });
  }
  for (const s of siem) {
    if (opts.dedupSeconds > 0) {
      s.sink = new DedupSink(s.sink, { windowSeconds: opts.dedupSeconds });
    }
    named.push(s);
  }
  const all = new MultiSink(named.map((n) => n.sink), { onError: (e) => onError(e) });
  return {
    all,
    drain: async () => {
      await syslog?.drain();
    },
    failedWrites: () => {
      let n = 0;
      for (const s of named) {
        if (s.syslog !== undefined) continue;
        const l = all.lost(s.sink);
        n += l.alerts + l.records;
      }
      return n;
    },
    losses: () => {
      const lines: string[] = [];
      for (const n of named) {
        const l = all.lost(n.sink);
        let alerts = l.alerts, error = l.lastError;
        if (n.syslog !== undefined && n.syslog.errors > 0) {
          alerts += n.syslog.errors; // syslog sends alerts only
          error = n.syslog.lastError ?? error;
        }
        if (alerts === 0 && l.records === 0 && l.sideFlows === 0) continue;
        const what = [plural(alerts, "alert")];
        if (l.sideFlows > 0) what.push(plural(l.sideFlows, "side-flow record"));
        if (l.records > 0) what.push(plural(l.records, "session-end record"));
        lines.push(`${n.label}: ${what.join(", ")} lost (${reason(error)})`);
      }
      return lines;
    },
    failures: () =>
      named.flatMap((n) => {
        if (n.metric === undefined) return [];
        const l = all.lost(n.sink);
        const failures = l.alerts + l.records + l.sideFlows + (n.syslog?.errors ?? 0);
        return [{ sink: n.metric, failures }];
      }),
    status: () => {
      if (syslog === undefined) return undefined;
      const s = syslog.status();
      const parts = [`syslog ${s.state}`];
      if (s.state === "down") parts.push(`retry in ${Math.ceil(s.retryInSeconds)} s`);
      if (s.queued > 0) parts.push(`${s.queued} queued`);
      if (syslog.errors > 0) parts.push(`${syslog.errors} lost`);
      if (s.lastError !== undefined) parts.push(reason(s.lastError));
      return parts.join(", ");
    },
  };
}
