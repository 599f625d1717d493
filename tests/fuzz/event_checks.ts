/**
 * What every event of a fuzz run must satisfy, whichever detector of the set
 * emitted it, and the end-of-run bookkeeping that ties the detectors'
 * counters to the events they emitted:
 *
 * - each event formats (text line, alert message, JSON record) without NaN,
 *   `undefined` or a line break, its line matches the format of its kind
 *   and its JSON parses with the fields the kind needs;
 * - a side flow names, in `session`, the `flow_id` of a session alert
 *   emitted earlier in the run; a session-end record follows an alert of its
 *   kind and flow, at most one per alert, and after the end of input every
 *   session alert has had its end record, and the session directory finds
 *   none of them once their grace time has passed;
 * - what is reported once is reported once: a TCP session alert per
 *   connection (one ICMP flow may carry tunnel sessions both ways), a UDP
 *   side flow per flow, an infrastructure contact per host and service, a
 *   server per address, port and face;
 * - the detectors' counters agree with the events seen (sessions and probes
 *   of the ICMP and DNS trackers, UDP side flows, infrastructure contacts,
 *   server faces), the server-face inspections stay within their bound and
 *   none of them caught a parser exception.
 *
 * @module
 */

import type { DetectorSet } from "../../src/detect/detector_set.ts";
import { ipTextToWords } from "../../src/decode/ip_text.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { formatJsonLine } from "../../src/output/json_log.ts";
import { formatAlertLine, formatAlertMessage, hasLogLine } from "../../src/output/text_log.ts";

/** The server-face detector's default bound on inspections at once. */
const FACE_MAX_INSPECTIONS = 512;
/** Seconds after its end record a session is still findable by its side flows (and a bit). */
const DIRECTORY_GRACE = 31;

const DATE = String.raw`\[[+-]?\d{4,6}/\d\d/\d\d \d\d:\d\d:\d\d\]`;
const NAME = String.raw`(, name [^\r\n]*)?`;

/** One text log line of each kind (the date, then the message). */
export const TEXT_LINE = new RegExp(
  `^${DATE} SoftEther (` +
    String.raw`(TCP |HTTP Proxy |SOCKS4 Proxy |SOCKS5 Proxy |SSH |ICMP |DNS |Admin )` +
    String.raw`Connection (Attempt )?Detected \(client \S+, server \S+\)` +
    String
      .raw`|(DDNS|NAT-T|VPN Azure|Keep-alive) Contact Detected \(host \S+, server \S+${NAME}\)` +
    String.raw`|Server Detected \(server \S+, face (SoftEther|OpenVPN|SSTP|certificate), ` +
    String.raw`client \S+${NAME}\)` +
    `)$`,
);

/** The alert message of a side flow (JSON only: no text line). */
const SIDE_MESSAGE =
  /^SoftEther (UDP Acceleration|DNS Probe|ICMP Probe|NetBIOS Query) Side Flow Detected \(client \S+, server \S+, session \d+\)$/;

/** An ISO time as the JSON log writes it. */
export const JSON_TS = /^[+-]?\d{4,6}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

const SIDE_KINDS = new Set(["udp_accel", "dns_probe", "icmp_probe", "nbns"]);
const SESSION_KINDS = new Set(["vpn", "admin"]);

function finite(x: unknown): boolean {
  return typeof x === "number" && Number.isFinite(x);
}

function count(map: Map<string, number>, key: string): number {
  const n = (map.get(key) ?? 0) + 1;
  map.set(key, n);
  return n;
}

/**
 * Checks the events of one run as they come ({@linkcode EventChecker.check})
 * and the run's bookkeeping at its end ({@linkcode EventChecker.final}).
 * Problems are returned as one-line messages.
 */
export class EventChecker {
  /** Events seen, by kind (session ends as "end"). */
  readonly kinds: Record<string, number> = {};
  readonly #alerts = new Map<string, number>(); // kind|flow_id of session alerts → count
  readonly #ends = new Map<string, number>();
  readonly #sessions = new Set<number>(); // flow_ids of session alerts
  readonly #once = new Set<string>(); // keys of what is reported once per run
  readonly #pairs: { id: number; client: string; server: string }[] = []; // session alerts
  #maxTs = -Infinity;
  #icmpSessions = 0;
  #dnsSessions = 0;
  #icmpProbes = 0;
  #dnsProbes = 0;
  #udpAccel = 0;
  #nbns = 0;
  #infra = 0;
  #server = 0;

  /** Checks one event as emitted; a problem, or undefined. */
  check(ev: DetectionEvent): string | undefined {
    const key = ev.phase === "end" ? "end" : ev.kind;
    this.kinds[key] = (this.kinds[key] ?? 0) + 1;
    if (!finite(ev.ts)) return `event with non-finite ts ${ev.ts}`;
    if (ev.ts > this.#maxTs) this.#maxTs = ev.ts;
    if (!finite(ev.confidence) || ev.confidence < 0 || ev.confidence > 1) {
      return `${ev.kind} event with confidence ${ev.confidence}`;
    }
    if (!finite(ev.latency)) return `${ev.kind} event with latency ${ev.latency}`;
    if (ev.start !== undefined && !finite(ev.start)) {
      return `${ev.kind} event with start ${ev.start}`;
    }
    if (!Number.isSafeInteger(ev.flow_id) || ev.flow_id < 0) {
      return `${ev.kind} event with flow_id ${ev.flow_id}`;
    }
    if (!Number.isSafeInteger(ev.connections) || ev.connections < 1) {
      return `${ev.kind} event with connections ${ev.connections}`;
    }
    if (ev.evidence.length === 0 || ev.evidence.some((e) => typeof e !== "string" || e === "")) {
      return `${ev.kind} event with evidence ${JSON.stringify(ev.evidence)}`;
    }
    for (const ep of [ev.client, ev.server]) {
      if (!Number.isInteger(ep.port) || ep.port < 0 || ep.port > 65535 || ep.ip === "") {
        return `${ev.kind} event with endpoint ${JSON.stringify(ep)}`;
      }
    }
    const id = `${ev.kind}|${ev.flow_id}`;
    if (ev.phase === "end") {
      if (!SESSION_KINDS.has(ev.kind)) return `end record of kind ${ev.kind}`;
      const alerts = this.#alerts.get(id) ?? 0;
      if (alerts === 0) return `end record of ${id} before (or without) its alert`;
      if (count(this.#ends, id) > alerts) return `second end record of ${id}`;
      if (!finite(ev.duration) || ev.duration! < 0) return `end record duration ${ev.duration}`;
      const b = ev.bytes;
      if (b !== undefined && !(finite(b.toserver) && finite(b.toclient))) {
        return `end record bytes ${JSON.stringify(b)}`;
      }
      if (b !== undefined && (b.toserver < 0 || b.toclient < 0)) {
        return `end record bytes ${JSON.stringify(b)}`;
      }
      for (const [k, n] of Object.entries(ev.side_flows ?? {})) {
        if (!Number.isSafeInteger(n) || n < 0) return `end record side_flows.${k} = ${n}`;
      }
    } else if (SESSION_KINDS.has(ev.kind)) {
      if (ev.session !== undefined) return `session alert carrying session ${ev.session}`;
      const tunnel = ev.variant === "ICMP" || ev.variant === "DNS";
      if (count(this.#alerts, id) > 1 && !tunnel) return `second session alert of ${id}`;
      this.#pairs.push({ id: ev.flow_id, client: ev.client.ip, server: ev.server.ip });
      this.#sessions.add(ev.flow_id);
      if (ev.kind === "vpn" && ev.variant === "ICMP") this.#icmpSessions++;
      if (ev.kind === "vpn" && ev.variant === "DNS") this.#dnsSessions++;
    } else if (SIDE_KINDS.has(ev.kind)) {
      if (ev.session === undefined) return `${ev.kind} side flow without a session`;
      if (!this.#sessions.has(ev.session)) {
        return `${ev.kind} side flow names session ${ev.session}, not an earlier alert`;
      }
      if (ev.kind === "udp_accel" || ev.kind === "nbns") {
        if (!this.#first(`${ev.kind}|${ev.flow_id}`)) {
          return `second ${ev.kind} event of flow ${ev.flow_id}`;
        }
      }
      if (ev.kind === "icmp_probe") this.#icmpProbes++;
      else if (ev.kind === "dns_probe") this.#dnsProbes++;
      else if (ev.kind === "udp_accel") this.#udpAccel++;
      else this.#nbns++;
    } else if (ev.kind === "infrastructure") {
      if (ev.service === undefined) return "infrastructure event without a service";
      if (!this.#first(`infra|${ev.client.ip}|${ev.service}`)) {
        return `second ${ev.service} contact of host ${ev.client.ip}`;
      }
      this.#infra++;
    } else if (ev.kind === "server") {
      if (ev.face === undefined) return "server event without a face";
      if (!this.#first(`server|${ev.server.ip}|${ev.server.port}|${ev.face}`)) {
        return `second ${ev.face} face of server ${ev.server.ip} port ${ev.server.port}`;
      }
      this.#server++;
    } else return `event of unknown kind ${ev.kind}`;
    return this.#formats(ev);
  }

  /** True the first time `key` is seen. */
  #first(key: string): boolean {
    if (this.#once.has(key)) return false;
    this.#once.add(key);
    return true;
  }

  #formats(ev: DetectionEvent): string | undefined {
    // Wire text (a host name, a certificate's CN) may spell "NaN": looked for without it.
    const bare: DetectionEvent = {
      ...ev,
      name: ev.name === undefined ? undefined : "n",
      target: ev.target === undefined ? undefined : { host: "h", port: ev.target.port },
    };
    const plain = formatAlertMessage(bare);
    if (/NaN|undefined|\[object/.test(plain)) return `alert message: ${plain}`;
    if (/NaN|null|undefined/.test(formatJsonLine(bare))) {
      return `JSON record: ${formatJsonLine(bare)}`;
    }
    const msg = formatAlertMessage(ev);
    if (/[\r\n]/.test(msg)) return `alert message with a line break: ${JSON.stringify(msg)}`;
    if (SIDE_KINDS.has(ev.kind) && !SIDE_MESSAGE.test(msg)) return `side-flow message: ${msg}`;
    if (hasLogLine(ev)) {
      const line = formatAlertLine(ev, 0);
      if (!TEXT_LINE.test(line)) return `alert line: ${line}`;
    }
    const json = formatJsonLine(ev);
    if (json.includes("\n")) return `JSON record with a line break: ${json}`;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(json);
    } catch {
      return `JSON record does not parse: ${json}`;
    }
    if (typeof rec.ts !== "string" || !JSON_TS.test(rec.ts)) return `JSON ts: ${String(rec.ts)}`;
    if (SIDE_KINDS.has(ev.kind) && rec.session !== ev.session) return `JSON session: ${json}`;
    return undefined;
  }

  /**
   * The run's bookkeeping while it goes (`ended` false) or after
   * `Pipeline.finish` (`ended` true); a problem, or undefined.
   */
  final(set: DetectorSet, ended: boolean): string | undefined {
    const f = set.faces;
    if (f.live < 0 || f.live > FACE_MAX_INSPECTIONS) return `face inspections: ${f.live}`;
    if (f.stats.errors > 0) return `server-face parser threw (errors ${f.stats.errors})`;
    if (f.stats.reported !== this.#server) {
      return `server faces reported ${f.stats.reported}, events ${this.#server}`;
    }
    const i = set.icmpVpn.stats, d = set.dnsVpn.stats;
    if (i.sessions !== this.#icmpSessions || i.probes !== this.#icmpProbes) {
      return `ICMP tracker: ${i.sessions} sessions, ${i.probes} probes; events ` +
        `${this.#icmpSessions}, ${this.#icmpProbes}`;
    }
    if (d.sessions !== this.#dnsSessions || d.probes !== this.#dnsProbes) {
      return `DNS tracker: ${d.sessions} sessions, ${d.probes} probes; events ` +
        `${this.#dnsSessions}, ${this.#dnsProbes}`;
    }
    const u = set.udpSide.stats;
    if (u.udpAccel !== this.#udpAccel || u.nbns !== this.#nbns) {
      return `UDP side flows: ${u.udpAccel} acceleration, ${u.nbns} NetBIOS; events ` +
        `${this.#udpAccel}, ${this.#nbns}`;
    }
    if (set.infrastructure.stats.events !== this.#infra) {
      return `infrastructure: ${set.infrastructure.stats.events} events counted, ${this.#infra} seen`;
    }
    if (!ended) return undefined;
    if (f.live !== 0) return `face inspections left after finish: ${f.live}`;
    for (const [id, n] of this.#alerts) {
      const ends = this.#ends.get(id) ?? 0;
      if (ends !== n) return `session ${id}: ${n} alert(s), ${ends} end record(s) after finish`;
    }
    // Every session ended: past the grace time, no side flow can be tied to one.
    const t = this.#maxTs + DIRECTORY_GRACE;
    set.directory.expire(t);
    // A live session elsewhere: an empty directory answers nothing without looking.
    set.directory.observe({
      ts: t,
      kind: "vpn",
      variant: "TCP",
      outcome: "established",
      client: { ip: "192.0.2.1", port: 1 },
      server: { ip: "192.0.2.2", port: 2 },
      evidence: ["sentinel"],
      confidence: 1,
      flow_id: -1,
      community_id: "",
      connections: 1,
      latency: 0,
    });
    const a = new Uint32Array(4), b = new Uint32Array(4);
    for (const p of this.#pairs) {
      const v = ipTextToWords(p.client, a);
      if (v === 0 || ipTextToWords(p.server, b) !== v) continue;
      const e = set.directory.find(v, a, b, t);
      if (e !== undefined) {
        return `session ${p.id} (${p.client} to ${p.server}) still findable ${DIRECTORY_GRACE} s ` +
          `after the last event (directory entry of session ${e.id}, end ${e.end})`;
      }
    }
    return undefined;
  }
}
