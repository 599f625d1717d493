/**
 * Command-line options: one validation path for every option. The command line is split by a
 * small parser of its own (node:util parseArgs takes `--max-flows -1` for two options and its
 * messages run over several lines; JSR's @std/cli cannot be reached from this project's
 * machines); every value is then checked here — integers are decimal digits in a stated range,
 * the syslog URL is parsed, no value is empty — and every mistake is one
 * {@linkcode UsageError} (one line, exit 2).
 *
 * @module
 */

import { parseSyslogTarget, SyslogTargetError } from "../output/syslog_target.ts";
import { type MetricsAddress, parseMetricsAddress } from "./metrics_server.ts";
import { escapeJsonLine } from "../output/wire_text.ts";
import { UsageError } from "./usage_error.ts";

/** Parsed options. */
export interface Options {
  /** Print help and exit. */
  help: boolean;
  /** Print the version and exit. */
  version: boolean;
  /** List capture devices and exit. */
  list: boolean;
  /** Capture files to read (offline mode), in order. */
  read: string[];
  /** Device number or name (live mode); undefined → prompt. The first of {@linkcode devices}. */
  device?: string;
  /** Every device argument (live mode: one capture per interface), in order; empty → prompt. */
  devices: string[];
  /** BPF capture filter (live mode). */
  filter?: string;
  /** Text log path ("-": console only, "none": no text log). */
  log: string;
  /** JSON Lines alert log path ("-" = stdout). */
  json?: string;
  /** Flow summary JSON Lines path ("-" = stdout). */
  flows?: string;
  /** Syslog target (udp://host:port, tcp://host:port, unix:///dev/log). */
  syslog?: string;
  /** Do not echo alerts to the console. */
  quiet: boolean;
  /** Live capture snap length. */
  snaplen: number;
  /** Live capture kernel buffer size in MiB. */
  bufferMiB: number;
  /** Put the interface in promiscuous mode. */
  promisc: boolean;
  /** Maximum number of tracked flows. */
  maxFlows: number;
  /** Idle timeout of established TCP flows (s). */
  tcpTimeout: number;
  /** Idle timeout of UDP flows (s). */
  udpTimeout: number;
  /** Seconds between status lines in live mode (0 = off). */
  statusInterval: number;
  /** Directory for evidence pcaps of alerted sessions. */
  evidenceDir?: string;
  /** Server inventory file (JSON Lines), rewritten whole. */
  servers?: string;
  /** HTML report file, rewritten whole. */
  report?: string;
  /** Suppress repeats of one alert in the JSON/syslog sinks within this many seconds. */
  dedupSeconds: number;
  /** Print the progress bar when stderr is a terminal. */
  progress: boolean;
  /** Analysis workers (`--workers`; undefined: not given, the mode's default). */
  workers?: number;
  /** Prometheus endpoint address (`--metrics`). */
  metrics?: MetricsAddress;
}

/** Range and default of an integer option. */
interface IntegerRange {
  min: number;
  max: number;
  def: number;
}

/** Every integer option, its stated range (in --help and README "Options") and default. */
const INTEGERS = {
  snaplen: { min: 64, max: 262_144, def: 65_535 },
  "buffer-size": { min: 1, max: 4096, def: 64 },
  "max-flows": { min: 1, max: 100_000_000, def: 1_000_000 },
  "tcp-timeout": { min: 1, max: 604_800, def: 3600 },
  "udp-timeout": { min: 1, max: 86_400, def: 120 },
  status: { min: 0, max: 86_400, def: 60 },
  dedup: { min: 0, max: 604_800, def: 300 },
  workers: { min: 1, max: 64, def: 1 },
} as const satisfies Record<string, IntegerRange>;

type IntegerOption = keyof typeof INTEGERS;

/** `1,000,000`: numbers in messages and help grouped by thousands. */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ",");
}

/** "64–262,144" for the help text. */
function range(name: IntegerOption): string {
  return `${grouped(INTEGERS[name].min)}–${grouped(INTEGERS[name].max)}`;
}

/** The help text. */
export const HELP = `Usage: sealert [options] [DEVICE-ID...]
       sealert --read FILE [FILE...] [options]

Passive detector of SoftEther VPN sessions (direct, HTTP proxy, SOCKS, SSH-forwarded,
VPN over ICMP and DNS), their side flows, infrastructure contacts and server faces.
Started without DEVICE-ID it lists the capture devices and asks for one.

Capture:
  DEVICE-ID                 device number from the list (or a device name); several:
                            capture on each of them at once, one log
  -D, --list                list capture devices and exit
  -r, --read FILE           read a pcap/pcapng file (also .gz); repeat or list several,
                            read in order as one stream
  -f, --filter EXPR         BPF capture filter (live capture)
  -s, --snaplen N           snapshot length, ${range("snaplen")} bytes (default 65535)
      --buffer-size MIB     kernel capture buffer, ${range("buffer-size")} MiB (default 64)
      --no-promisc          do not put the interface in promiscuous mode
Output:
  -l, --log PATH            text alert log, appended (default ./sealert.log; "-" console only,
                            "none" no file)
  -j, --json PATH           JSON Lines alert log, appended ("-" = stdout)
      --flows PATH          JSON Lines flow summaries at flow end ("-" = stdout)
      --syslog URL          RFC 5424 syslog: udp://HOST[:PORT] (default port 514),
                            tcp://HOST[:PORT] (601), unix:///PATH; PORT 1–65,535,
                            IPv6 in brackets: udp://[2001:db8::1]:514
      --dedup SECONDS       JSON/syslog: suppress repeats of an alert within SECONDS,
                            ${range("dedup")} (default 300, 0 = off)
      --evidence-dir DIR    write the first packets of each alerted connection to DIR/*.pcap
      --servers PATH        server inventory, JSON Lines (one object per SoftEther server and
                            per host inside contacting its infrastructure), rewritten whole:
                            every 60 s and on SIGUSR1 (live), at exit; table on stderr
      --report FILE         HTML report (server table, session timelines), rewritten whole
                            at exit and on SIGUSR1 (live)
      --metrics ADDR        Prometheus metrics at http://ADDR/metrics while the run lasts:
                            HOST:PORT, [IPv6]:PORT or :PORT (every address), PORT 1–65,535
  -q, --quiet               do not echo alerts on the console
      --status SECONDS      live: status line every SECONDS on stderr, ${range("status")}
                            (default 60, 0 = off)
      --no-progress         offline: no progress bar
Flows:
      --max-flows N         maximum tracked flows, ${range("max-flows")}
                            (default 1000000; oldest idle evicted)
      --tcp-timeout S       idle timeout of established TCP flows, ${range("tcp-timeout")}
                            (default 3600)
      --udp-timeout S       idle timeout of UDP flows, ${range("udp-timeout")} (default 120)
      --workers N           analysis threads, ${range("workers")}; offline: the capture is
                            split by address pair over N workers, same alerts as one
                            (default 1); live: N capture + analysis workers per
                            interface sharing its packets by address pair (kernel
                            packet fanout, Linux; elsewhere 1; default cores − 1, min 1)
Other:
  -h, --help                this help
  -V, --version             print the version

Numbers are whole decimal numbers (digits only). Values may follow as the next argument
or after "=" (--max-flows=5000); no value may be empty.
Exit codes: 0 ok, 1 damaged or unreadable capture file (the others were read), 2 usage or
environment error (bad option, output cannot be opened, standard output closed, no libpcap),
3 capture device went away (live), 4 alerts lost (an output could not deliver them).
`;

/** What an option takes: nothing (a flag), one value (the last one counts) or values. */
type Takes = "flag" | "value" | "values";

/** Every option: long name → what it takes and its one-letter form. */
const OPTIONS: ReadonlyMap<string, { takes: Takes; short?: string }> = new Map([
  ["help", { takes: "flag", short: "h" }],
  ["version", { takes: "flag", short: "V" }],
  ["list", { takes: "flag", short: "D" }],
  ["read", { takes: "values", short: "r" }],
  ["filter", { takes: "value", short: "f" }],
  ["snaplen", { takes: "value", short: "s" }],
  ["buffer-size", { takes: "value" }],
  ["no-promisc", { takes: "flag" }],
  ["log", { takes: "value", short: "l" }],
  ["json", { takes: "value", short: "j" }],
  ["flows", { takes: "value" }],
  ["syslog", { takes: "value" }],
  ["dedup", { takes: "value" }],
  ["evidence-dir", { takes: "value" }],
  ["servers", { takes: "value" }],
  ["report", { takes: "value" }],
  ["metrics", { takes: "value" }],
  ["quiet", { takes: "flag", short: "q" }],
  ["status", { takes: "value" }],
  ["no-progress", { takes: "flag" }],
  ["max-flows", { takes: "value" }],
  ["tcp-timeout", { takes: "value" }],
  ["udp-timeout", { takes: "value" }],
  ["workers", { takes: "value" }],
]);

const SHORT: ReadonlyMap<string, string> = new Map(
  [...OPTIONS].flatMap(([long, o]) => o.short === undefined ? [] : [[o.short, long]]),
);

/** Longest piece of a user's text quoted in a message. */
const QUOTE_MAX = 60;

/**
 * `text` in double quotes for a one-line message, escaped as a JSON string whose control
 * characters (C0, DEL, C1), line and paragraph separators and lone surrogates are all `\uXXXX`,
 * cut after {@linkcode QUOTE_MAX} characters.
 */
function quote(text: string): string {
  const chars = [...text];
  if (chars.length <= QUOTE_MAX) return escapeJsonLine(JSON.stringify(text));
  return escapeJsonLine(JSON.stringify(chars.slice(0, QUOTE_MAX).join(""))).slice(0, -1) + '…"';
}

/** Options and positionals as written, before their values are checked. */
interface Words {
  /** Long option name → its values in order (flags: one empty string per use). */
  values: Map<string, string[]>;
  positionals: string[];
}

/** May `word` be taken as the value of the option before it? */
function isValueWord(word: string): boolean {
  // "-" is stdout / the console; "-1", "-0x10", "-.5" are meant as numbers (refused later with
  // the option's own message). Anything else starting with "-" is an option: the value is missing.
  return !word.startsWith("-") || word === "-" || /^-[0-9.]/.test(word);
}

/** Split `argv` into options and positionals (GNU style: `--opt V`, `--opt=V`, `-qr FILE`). */
function splitWords(argv: readonly string[]): Words {
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  const add = (name: string, value: string) => {
    const list = values.get(name);
    if (list === undefined) values.set(name, [value]);
    else list.push(value);
  };
  let i = 0;
  /** The value of `--name` from the next argument. */
  const next = (name: string): string => {
    const word = argv[i + 1];
    if (word === undefined || !isValueWord(word)) {
      throw new UsageError(
        word === undefined
          ? `--${name} needs a value`
          : `--${name} needs a value, got the option ${quote(word)} (write --${name}=VALUE)`,
      );
    }
    i++;
    return word;
  };
  for (; i < argv.length; i++) {
    const word = argv[i];
    if (word === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const option = OPTIONS.get(name);
      if (option === undefined) throw new UsageError(`Unknown option ${quote(`--${name}`)}`);
      if (option.takes === "flag") {
        if (eq >= 0) {
          throw new UsageError(`--${name} takes no value, not ${quote(word.slice(eq + 1))}`);
        }
        add(name, "");
      } else add(name, eq < 0 ? next(name) : word.slice(eq + 1));
    } else if (word.startsWith("-") && word !== "-") {
      // -qD (flags), -r FILE, -rFILE, -qr FILE.
      for (let j = 1; j < word.length; j++) {
        const letter = String.fromCodePoint(word.codePointAt(j)!);
        const name = SHORT.get(letter);
        if (name === undefined) throw new UsageError(`Unknown option ${quote(`-${letter}`)}`);
        if (OPTIONS.get(name)!.takes === "flag") {
          add(name, "");
          continue;
        }
        add(name, j + 1 < word.length ? word.slice(j + 1) : next(name));
        break;
      }
    } else positionals.push(word);
  }
  return { values, positionals };
}

/** The value of an integer option: decimal digits only, within its stated range. */
function integer(name: IntegerOption, text: string | undefined): number {
  const { min, max, def } = INTEGERS[name];
  if (text === undefined) return def;
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) {
    throw new UsageError(
      `Invalid value for --${name}: must be a whole number from ${grouped(min)} to ${
        grouped(max)
      }, not ${quote(text)}`,
    );
  }
  return n;
}

/** A value that names something (a path, a filter, a URL): never empty. */
function text(name: string, value: string | undefined): string | undefined {
  if (value === "") throw new UsageError(`Invalid value for --${name}: must not be empty`);
  return value;
}

/** A file rewritten whole (`--servers`, `--report`): a path, not standard output. */
function rewrittenFile(name: string, value: string | undefined): string | undefined {
  if (value === "-") {
    throw new UsageError(
      `Invalid value for --${name}: must be a file path, not "-" (the file is rewritten whole)`,
    );
  }
  return value;
}

/** The syslog URL, checked by the parser the syslog sink uses. */
function syslogUrl(value: string | undefined): string | undefined {
  if (text("syslog", value) === undefined) return undefined;
  try {
    parseSyslogTarget(value!);
  } catch (e) {
    if (!(e instanceof SyslogTargetError)) throw e;
    throw new UsageError(`Invalid value for --syslog: ${quote(value!)}: ${e.reason}`);
  }
  return value;
}

/** The `--metrics` address, checked by the parser the endpoint uses. */
function metricsAddress(value: string | undefined): MetricsAddress | undefined {
  if (text("metrics", value) === undefined) return undefined;
  try {
    return parseMetricsAddress(value!);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new UsageError(`Invalid value for --metrics: ${quote(value!)}: ${e.message}`);
  }
}

/**
 * Parse `argv` (without the program name). Every mistake — unknown option, missing or empty
 * value, an integer that is not decimal digits in its range, a bad syslog URL — throws one
 * {@linkcode UsageError} with a one-line message.
 */
export function parseOptions(argv: readonly string[]): Options {
  const { values, positionals } = splitWords(argv);
  const last = (name: string): string | undefined => values.get(name)?.at(-1);
  const has = (name: string): boolean => values.has(name);
  for (const [name, list] of values) {
    if (OPTIONS.get(name)!.takes !== "flag" && !(name in INTEGERS)) {
      list.forEach((v) => text(name, v));
    }
  }
  const read = [...values.get("read") ?? []];
  // `--read a.pcap b.pcap`: further positionals are more files in offline mode.
  if (read.length > 0) read.push(...positionals);
  if (positionals.includes("")) {
    throw new UsageError(read.length > 0 ? "Empty file name" : "Empty DEVICE-ID");
  }
  return {
    help: has("help"),
    version: has("version"),
    list: has("list"),
    read,
    device: read.length === 0 ? positionals[0] : undefined,
    devices: read.length === 0 ? [...positionals] : [],
    filter: last("filter"),
    log: last("log") ?? "sealert.log",
    json: last("json"),
    flows: last("flows"),
    syslog: syslogUrl(last("syslog")),
    quiet: has("quiet"),
    snaplen: integer("snaplen", last("snaplen")),
    bufferMiB: integer("buffer-size", last("buffer-size")),
    promisc: !has("no-promisc"),
    maxFlows: integer("max-flows", last("max-flows")),
    tcpTimeout: integer("tcp-timeout", last("tcp-timeout")),
    udpTimeout: integer("udp-timeout", last("udp-timeout")),
    statusInterval: integer("status", last("status")),
    evidenceDir: last("evidence-dir"),
    servers: rewrittenFile("servers", last("servers")),
    report: rewrittenFile("report", last("report")),
    dedupSeconds: integer("dedup", last("dedup")),
    progress: !has("no-progress"),
    workers: has("workers") ? integer("workers", last("workers")) : undefined,
    metrics: metricsAddress(last("metrics")),
  };
}
