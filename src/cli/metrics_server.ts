/**
 * `--metrics ADDR`: a Prometheus endpoint (text exposition format 0.0.4) at
 * `GET /metrics` (`HEAD` too; another path is 404, another method 405), served
 * with `Deno.serve` while the run lasts — live until the capture stops,
 * offline while the files are read.
 *
 * What it reports is read at each scrape: from the run's analysis workers
 * through a {@linkcode MetricsSource} (packets, bytes, drops, flows,
 * inspections, decoder and weird counters, labelled `interface` and
 * `worker`), from the events the run emitted ({@linkcode MetricsServer.observe}:
 * alerts by kind and variant, session-end records) and from the sinks (write
 * failures by sink). Today's single-thread run is one worker
 * ({@linkcode PipelineMetrics}); a run with analysis workers lists each
 * worker's latest `WorkerStats` (analysis_protocol.ts) as a
 * {@linkcode WorkerMetrics}, and passes the events it receives from them to
 * {@linkcode MetricsServer.observe}.
 *
 * The address is checked with the other options ({@linkcode parseMetricsAddress});
 * the socket is bound before any log file is created, and a bind that fails
 * (port in use, address not on this host, permission) is one
 * {@linkcode MetricsListenError}: one `sealert: …` line, exit 2.
 *
 * @module
 */

import type { DetectionEvent } from "../detect/event.ts";
import type { DetectorSet } from "../detect/detector_set.ts";
import { type Labels, MetricRegistry, PROMETHEUS_CONTENT_TYPE } from "../output/prometheus.ts";
import { SinkError } from "../output/sink.ts";
import { isIpv6 } from "../output/syslog_target.ts";
import type { Pipeline } from "../pipeline.ts";
import type { WorkerStats } from "./analysis_protocol.ts";
import { pipelineStats } from "./summary.ts";
import { VERSION } from "./version.ts";

/** Where `--metrics` listens: `hostname` "" is every address (IPv6 and IPv4). */
export interface MetricsAddress {
  /** IPv4 or IPv6 literal (without brackets) or host name; "" for every address. */
  hostname: string;
  /** TCP port. */
  port: number;
}

const ADDRESS_FORMS = "HOST:PORT, [IPv6]:PORT or :PORT";

/** Why `host` (not bracketed) is no IPv4 address or host name, or undefined. */
function hostProblem(host: string): string | undefined {
  if (/^[0-9.]+$/.test(host)) {
    const parts = host.split(".");
    return parts.length === 4 && parts.every((p) => p !== "" && p.length <= 3 && Number(p) <= 255)
      ? undefined
      : `"${host}" is not an IPv4 address`;
  }
  const label = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
  if (host.length <= 253 && new RegExp(`^${label}(?:\\.${label})*\\.?$`).test(host)) {
    return undefined;
  }
  return `"${host}" is not a host name or IPv4 address`;
}

/**
 * Parses `--metrics ADDR`: `HOST:PORT` (an IPv4 address or host name),
 * `[IPv6]:PORT` or `:PORT` (every address); PORT is 1–65535 in decimal digits.
 *
 * @throws {RangeError} With what is wrong as the message (no "Invalid …" prefix).
 */
export function parseMetricsAddress(text: string): MetricsAddress {
  const colon = text.lastIndexOf(":");
  if (colon < 0) throw new RangeError(`no port (write ${ADDRESS_FORMS})`);
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith("[") || host.endsWith("]")) {
    if (!host.startsWith("[") || !host.endsWith("]") || !isIpv6(host.slice(1, -1))) {
      throw new RangeError(`"${host}" is not a bracketed IPv6 address`);
    }
    host = host.slice(1, -1);
  } else if (host.includes(":")) {
    throw new RangeError(`IPv6 addresses go in brackets: [${host}]:${portText}`);
  } else if (host !== "") {
    const problem = hostProblem(host);
    if (problem !== undefined) throw new RangeError(problem);
  }
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65_535)) {
    throw new RangeError(
      portText === ""
        ? `no port (write ${ADDRESS_FORMS})`
        : `port "${portText}" is not a whole number from 1 to 65,535`,
    );
  }
  return { hostname: host, port };
}

/** The endpoint could not be opened (port in use, address not on this host, permission). */
class MetricsListenError extends SinkError {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "MetricsListenError";
  }
}

/** `host:port` as a URL authority (IPv6 in brackets). */
function authority(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/**
 * One analysis worker's counters at a moment, where they were taken: a
 * pipeline with its flow table and detectors, on one interface (live) or its
 * share of the files (offline). The counters only grow over the worker's life
 * (gauges aside).
 */
interface WorkerMetrics {
  /** Capture device name (live); undefined offline. */
  interface?: string;
  /** Worker number on its interface (offline: of the run), from 0. */
  worker: number;
  /** Its latest counters (`stats` / `done` messages of an analysis worker). */
  stats: WorkerStats;
}

/**
 * Where the endpoint reads the analysis side's counters at each scrape. The
 * single-thread run is {@linkcode PipelineMetrics}; a run with analysis
 * workers keeps each worker's latest `WorkerStats` (its `stats` and `done`
 * messages) and lists them here with their interface and number.
 */
interface MetricsSource {
  /** Every analysis worker's latest counters. */
  workers(): Iterable<WorkerMetrics>;
}

/** A sink's write failures: `sink` is "text", "json" or "syslog". */
export interface SinkFailures {
  /** Sink name (label value). */
  sink: string;
  /** Records it could not deliver (alerts, side-flow and session-end records). */
  failures: number;
}

/**
 * The single-thread run as a {@linkcode MetricsSource}: one worker (number 0),
 * its pipeline and detector set read in place at each scrape; live, the
 * capture's drop counters and the device name once {@linkcode setCapture} was
 * called.
 */
export class PipelineMetrics implements MetricsSource {
  readonly #pipeline: Pipeline;
  readonly #set: DetectorSet;
  #device: string | undefined;
  #capture: (() => { received: number; dropped: number; ifDropped: number }) | undefined;

  /** Reads `pipeline` and the detectors of `set`. */
  constructor(pipeline: Pipeline, set: DetectorSet) {
    this.#pipeline = pipeline;
    this.#set = set;
  }

  /** Live: the device captured from and its capture counters (latest, final after close). */
  setCapture(
    device: string,
    stats: () => { received: number; dropped: number; ifDropped: number },
  ): void {
    this.#device = device;
    this.#capture = stats;
  }

  /** The one worker's counters now. */
  workers(): WorkerMetrics[] {
    const stats = pipelineStats(this.#pipeline, this.#set.classifier, this.#set);
    const cap = this.#capture?.();
    if (cap !== undefined) {
      stats.capture = { received: cap.received, dropped: cap.dropped, ifDropped: cap.ifDropped };
    }
    return [{ interface: this.#device, worker: 0, stats }];
  }
}

/** Variants over TCP (direct, proxies, SSH): `admin` has these, `vpn` these and ICMP, DNS. */
const SESSION_VARIANTS = ["TCP", "HTTP Proxy", "SOCKS4 Proxy", "SOCKS5 Proxy", "SSH"] as const;

/**
 * The alert series shown at 0 before the first alert (so that `increase()`
 * sees the first one): every kind with the variants it is emitted with.
 */
const KNOWN_ALERTS: readonly Labels[] = [
  ...[...SESSION_VARIANTS, "ICMP", "DNS"].map((variant) => ({ kind: "vpn", variant })),
  ...SESSION_VARIANTS.map((variant) => ({ kind: "admin", variant })),
  { kind: "udp_accel", variant: "UDP" },
  { kind: "dns_probe", variant: "UDP" },
  { kind: "icmp_probe", variant: "ICMP" },
  { kind: "nbns", variant: "UDP" },
  ...["DDNS", "NAT-T", "VPN Azure", "Keep-alive"].flatMap((service) =>
    ["UDP", "TCP"].map((variant) => ({ kind: "infrastructure", variant, service }))
  ),
  { kind: "server", variant: "UDP", face: "OpenVPN" },
  { kind: "server", variant: "TCP", face: "OpenVPN" },
  { kind: "server", variant: "TCP", face: "SSTP" },
  { kind: "server", variant: "TCP", face: "certificate" },
];

/** The labels of an event: kind, variant, and its service or face. */
function eventLabels(ev: DetectionEvent): Labels {
  if (ev.service !== undefined) return { kind: ev.kind, variant: ev.variant, service: ev.service };
  if (ev.face !== undefined) return { kind: ev.kind, variant: ev.variant, face: ev.face };
  return { kind: ev.kind, variant: ev.variant };
}

/** Events counted by their labels (alerts and session-end records apart). */
class EventTally {
  readonly alerts = new Map<string, { labels: Labels; n: number }>();
  readonly ends = new Map<string, { labels: Labels; n: number }>();

  constructor() {
    for (const labels of KNOWN_ALERTS) this.alerts.set(JSON.stringify(labels), { labels, n: 0 });
    for (const variant of [...SESSION_VARIANTS, "ICMP", "DNS"]) {
      const labels = { kind: "vpn", variant };
      this.ends.set(JSON.stringify(labels), { labels, n: 0 });
    }
  }

  observe(ev: DetectionEvent): void {
    const into = ev.phase === "end" ? this.ends : this.alerts;
    const labels = eventLabels(ev);
    const key = JSON.stringify(labels);
    const entry = into.get(key);
    if (entry !== undefined) entry.n++;
    else into.set(key, { labels, n: 1 });
  }
}

/** The labels of a worker's series. */
function workerLabels(w: WorkerMetrics): Labels {
  const worker = String(w.worker);
  return w.interface !== undefined ? { interface: w.interface, worker } : { worker };
}

/** The exposition of one scrape. */
function collect(
  workers: readonly WorkerMetrics[],
  tally: EventTally,
  sinks: readonly SinkFailures[],
  uptime: number,
): string {
  const r = new MetricRegistry();
  r.gauge("sealert_build_info", "Always 1; the labels name the sealert version and its runtime.")
    .set(1, { version: VERSION, deno: Deno.version.deno, os: Deno.build.os });
  r.gauge("sealert_uptime_seconds", "Seconds since sealert started.").set(uptime);
  const packets = r.counter("sealert_packets_total", "Packets analysed.");
  const bytes = r.counter("sealert_bytes_total", "Bytes on the wire of the packets analysed.");
  const kernel = r.counter(
    "sealert_kernel_drops_total",
    "Live: packets the kernel dropped before capture (buffer full; pcap_stats ps_drop).",
  );
  const ifDrops = r.counter(
    "sealert_interface_drops_total",
    "Live: packets the interface or its driver dropped (pcap_stats ps_ifdrop).",
  );
  const flows = r.counter("sealert_flows_total", "Flows (TCP, UDP, ICMP address pairs) created.");
  const active = r.gauge("sealert_flows_active", "Flows in the flow table now.");
  const timedOut = r.counter("sealert_flows_timed_out_total", "Flows ended by their idle timeout.");
  const evicted = r.counter(
    "sealert_flows_evicted_total",
    "Flows evicted because the flow table was full (--max-flows).",
  );
  const inspections = r.gauge(
    "sealert_inspections_active",
    "Connections under inspection now (session classifier and server faces).",
  );
  const inspected = r.counter(
    "sealert_inspections_total",
    "Connections the session classifier started inspecting.",
  );
  const inspEvicted = r.counter(
    "sealert_inspections_evicted_total",
    "Undecided connections let go at the session classifier's inspection cap (flood).",
  );
  const inspErrors = r.counter(
    "sealert_inspection_errors_total",
    "Connections dropped from inspection after a parser error.",
  );
  const ip = r.counter("sealert_decoder_ip_packets_total", "IP packets decoded, by IP version.");
  const transport = r.counter(
    "sealert_decoder_transport_packets_total",
    "TCP segments, UDP datagrams and ICMP/ICMPv6 messages decoded, by protocol.",
  );
  const nonIp = r.counter("sealert_decoder_non_ip_frames_total", "Frames that were not IP.");
  const fragments = r.counter("sealert_ip_fragments_total", "IP fragments seen.");
  const reassembled = r.counter(
    "sealert_ip_reassembled_total",
    "IP datagrams rebuilt from their fragments.",
  );
  const weird = r.counter("sealert_weird_total", "Malformed or unusual input, by weird name.");
  for (const w of workers) {
    const l = workerLabels(w), s = w.stats;
    packets.add(s.packets, l);
    bytes.add(s.wireBytes, l);
    if (s.capture !== undefined) {
      kernel.add(s.capture.dropped, l);
      ifDrops.add(s.capture.ifDropped, l);
    }
    flows.add(s.flows.total, l);
    active.add(s.flows.active, l);
    timedOut.add(s.flows.timedOut, l);
    evicted.add(s.flows.evicted, l);
    inspections.add(s.inspecting, l);
    inspected.add(s.classifier.inspected, l);
    inspEvicted.add(s.classifier.evicted, l);
    inspErrors.add(s.classifier.errors, l);
    const d = s.decoded;
    ip.add(d.ipv4, { ...l, version: "4" }).add(d.ipv6, { ...l, version: "6" });
    transport.add(d.tcp, { ...l, protocol: "tcp" }).add(d.udp, { ...l, protocol: "udp" })
      .add(d.icmp, { ...l, protocol: "icmp" });
    nonIp.add(d.nonIp, l);
    fragments.add(s.defrag?.fragments ?? 0, l);
    reassembled.add(s.defrag?.reassembled ?? 0, l);
    for (const [name, n] of Object.entries(s.weirds)) if (n > 0) weird.add(n, { ...l, name });
  }
  const alerts = r.counter(
    "sealert_alerts_total",
    "Detection events by kind and variant (infrastructure by service, server by face); " +
      "side flows included, session-end records not.",
  );
  for (const { labels, n } of tally.alerts.values()) alerts.add(n, labels);
  const ends = r.counter(
    "sealert_session_ends_total",
    "Session-end records (a session's last connection or tunnel flow ended), by kind and variant.",
  );
  for (const { labels, n } of tally.ends.values()) ends.add(n, labels);
  const failures = r.counter(
    "sealert_sink_failures_total",
    "Records an output could not deliver (failed writes; syslog: dropped after retries), by sink.",
  );
  for (const s of sinks) failures.add(s.failures, { sink: s.sink });
  return r.format();
}

/**
 * The endpoint. {@linkcode listen} binds at once; what it serves is attached
 * when the run starts ({@linkcode attach}), so a scrape before that sees the
 * uptime and build info only.
 */
export class MetricsServer {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #tally = new EventTally();
  #source: MetricsSource | undefined;
  #sinks: (() => readonly SinkFailures[]) | undefined;

  private constructor(address: MetricsAddress) {
    this.#server = bind(address, (req) => this.#respond(req));
  }

  /**
   * Binds `address` and serves. `hostname` "" binds every IPv6 and IPv4
   * address (`::`, or `0.0.0.0` where IPv6 is off).
   *
   * @throws {MetricsListenError} When the socket cannot be bound.
   */
  static listen(address: MetricsAddress): MetricsServer {
    return new MetricsServer(address);
  }

  /** The endpoint's URL, e.g. `http://127.0.0.1:9617/metrics`. */
  get url(): string {
    const { hostname, port } = this.#server.addr;
    return `http://${authority(hostname, port)}/metrics`;
  }

  /** The bound TCP port. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** Serve `source`'s counters and `sinks`' failures from now on. */
  attach(source: MetricsSource, sinks?: () => readonly SinkFailures[]): void {
    this.#source = source;
    this.#sinks = sinks;
  }

  /** Count an event the run emitted (every one, before de-duplication). */
  observe(ev: DetectionEvent): void {
    this.#tally.observe(ev);
  }

  /** Stop serving (requests in flight are answered). */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  #respond(req: Request): Response {
    if (new URL(req.url).pathname !== "/metrics") return text(404, "Not Found\n");
    if (req.method !== "GET" && req.method !== "HEAD") {
      return text(405, "Method Not Allowed\n", { allow: "GET, HEAD" });
    }
    const body = collect(
      [...this.#source?.workers() ?? []],
      this.#tally,
      this.#sinks?.() ?? [],
      Math.round(performance.now()) / 1000,
    );
    return new Response(req.method === "HEAD" ? null : body, {
      headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
    });
  }
}

/**
 * `Deno.serve` on `address` with `handler`, quiet (no "Listening on" line).
 *
 * @throws {MetricsListenError} When the socket cannot be bound.
 */
function bind(
  address: MetricsAddress,
  handler: (req: Request) => Response,
): Deno.HttpServer<Deno.NetAddr> {
  const serve = (hostname: string) =>
    Deno.serve({ hostname, port: address.port, onListen() {}, onError: serverError }, handler);
  try {
    if (address.hostname !== "") return serve(address.hostname);
    try {
      return serve("::");
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse || e instanceof Deno.errors.PermissionDenied) throw e;
      return serve("0.0.0.0"); // no IPv6 on this host
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e; // "Missing permission" (--allow-net)
    const where = address.hostname === ""
      ? `port ${address.port}`
      : authority(address.hostname, address.port);
    throw new MetricsListenError(`Cannot serve --metrics on ${where}: ${listenReason(e)}`);
  }
}

/** A plain-text response. */
function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** A failed scrape: 500, never a crash nor a stack trace on the console. */
function serverError(e: unknown): Response {
  return text(500, `Internal error: ${e instanceof Error ? e.message.split("\n")[0] : e}\n`);
}

/** Why a bind failed, in a few words. */
function listenReason(e: unknown): string {
  if (e instanceof Deno.errors.AddrInUse) return "address already in use";
  if (e instanceof Deno.errors.AddrNotAvailable) return "address not available on this host";
  if (e instanceof Deno.errors.PermissionDenied) {
    return "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
  }
  const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
  return message.replace(/ \(os error \d+\)$/, "");
}
