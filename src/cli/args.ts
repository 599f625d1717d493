/**
 * Command-line options (node:util parseArgs: JSR's @std/cli cannot be
 * reached from this project's machines).
 *
 * @module
 */

import { parseArgs } from "node:util";
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
  /** Device number or name (live mode); undefined → prompt. */
  device?: string;
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
  /** Suppress repeats of one alert in the JSON/syslog sinks within this many seconds. */
  dedupSeconds: number;
  /** Print the progress bar when stderr is a terminal. */
  progress: boolean;
}

/** The help text. */
export const HELP = `Usage: sealert [options] [DEVICE-ID]
       sealert --read FILE [FILE...] [options]

Passive detector of SoftEther VPN sessions (direct, HTTP proxy, SOCKS, SSH-forwarded).
Started without DEVICE-ID it lists the capture devices and asks for one.

Capture:
  DEVICE-ID                 device number from the list (or a device name)
  -D, --list                list capture devices and exit
  -r, --read FILE           read a pcap/pcapng file (also .gz); repeat or list several,
                            read in order as one stream
  -f, --filter EXPR         BPF capture filter (live capture)
  -s, --snaplen N           snapshot length (default 65535)
      --buffer-size MIB     kernel capture buffer in MiB (default 64)
      --no-promisc          do not put the interface in promiscuous mode
Output:
  -l, --log PATH            text alert log, appended (default ./sealert.log; "-" console only,
                            "none" no file)
  -j, --json PATH           JSON Lines alert log, appended ("-" = stdout)
      --flows PATH          JSON Lines flow summaries at flow end ("-" = stdout)
      --syslog URL          RFC 5424 syslog: udp://host:514, tcp://host:601, unix:///dev/log
      --dedup SECONDS       JSON/syslog: suppress repeats of an alert within SECONDS (default 300)
      --evidence-dir DIR    write the first packets of each alerted connection to DIR/*.pcap
  -q, --quiet               do not echo alerts on the console
      --status SECONDS      live: status line every SECONDS on stderr (default 60, 0 = off)
      --no-progress         offline: no progress bar
Flows:
      --max-flows N         maximum tracked flows (default 1000000; oldest idle evicted)
      --tcp-timeout S       idle timeout of established TCP flows (default 3600)
      --udp-timeout S       idle timeout of UDP flows (default 120)
Other:
  -h, --help                this help
  -V, --version             print the version

Exit codes: 0 ok, 1 input error (damaged capture file), 2 usage or environment error.
`;

function num(name: string, v: string | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`Invalid value for --${name}: "${v}" (expected ${min}–${max})`);
  }
  return n;
}

/** Parse `argv` (without the program name). Throws {@linkcode UsageError}. */
export function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
        list: { type: "boolean", short: "D" },
        read: { type: "string", short: "r", multiple: true },
        filter: { type: "string", short: "f" },
        snaplen: { type: "string", short: "s" },
        "buffer-size": { type: "string" },
        "no-promisc": { type: "boolean" },
        log: { type: "string", short: "l" },
        json: { type: "string", short: "j" },
        flows: { type: "string" },
        syslog: { type: "string" },
        dedup: { type: "string" },
        "evidence-dir": { type: "string" },
        quiet: { type: "boolean", short: "q" },
        status: { type: "string" },
        "no-progress": { type: "boolean" },
        "max-flows": { type: "string" },
        "tcp-timeout": { type: "string" },
        "udp-timeout": { type: "string" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
  const v = parsed.values;
  const read = v.read ?? [];
  const positionals = parsed.positionals;
  // `--read a.pcap b.pcap`: further positionals are more files in offline mode.
  if (read.length > 0) read.push(...positionals);
  else if (positionals.length > 1) {
    throw new UsageError(`Too many arguments: ${positionals.join(" ")}`);
  }
  return {
    help: v.help ?? false,
    version: v.version ?? false,
    list: v.list ?? false,
    read,
    device: read.length === 0 ? positionals[0] : undefined,
    filter: v.filter,
    log: v.log ?? "sealert.log",
    json: v.json,
    flows: v.flows,
    syslog: v.syslog,
    quiet: v.quiet ?? false,
    snaplen: num("snaplen", v.snaplen, 65535, 64, 262144),
    bufferMiB: num("buffer-size", v["buffer-size"], 64, 1, 4096),
    promisc: !(v["no-promisc"] ?? false),
    maxFlows: num("max-flows", v["max-flows"], 1_000_000, 1, 100_000_000),
    tcpTimeout: num("tcp-timeout", v["tcp-timeout"], 3600, 1, 86400 * 7),
    udpTimeout: num("udp-timeout", v["udp-timeout"], 120, 1, 86400),
    statusInterval: num("status", v.status, 60, 0, 86400),
    evidenceDir: v["evidence-dir"],
    dedupSeconds: num("dedup", v.dedup, 300, 0, 86400 * 7),
    progress: !(v["no-progress"] ?? false),
  };
}
