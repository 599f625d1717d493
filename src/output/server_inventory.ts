/**
 * The server inventory (`--servers`, `--report`): every SoftEther server the
 * detection events showed, and every host inside that contacted SoftEther's
 * infrastructure. Fed every {@linkcode DetectionEvent} (alerts, session-end
 * records, side flows, server faces, infrastructure contacts) through
 * {@linkcode ServerInventory.observe}; written as JSON Lines (one object per
 * server, then one per inside host) and as a table for the console.
 *
 * The VPN server of a session is the host the client talked to, except
 * through a proxy (HTTP CONNECT, SOCKS) whose request named the target:
 * then the target is the server and the proxy is listed as "via". An SSH
 * forward (the target is not visible) and a proxied session whose request
 * went by before the capture started are listed under the host the client
 * talked to. A target written as an address is normalised (IPv6 as RFC
 * 5952), so the same server reached directly and through a proxy is one
 * row; a target host name is its own row.
 *
 * Memory is bounded per server for the report's timeline (the newest
 * {@linkcode MAX_SPANS} sessions and {@linkcode MAX_MARKERS} markers); the
 * counts are exact.
 *
 * @module
 */

import { ipTextToWords } from "../decode/ip_text.ts";
import { addressToString } from "../decode/packet.ts";
import type { DetectionEvent, InfraService, SideFlowKind, Variant } from "../detect/event.ts";
import { formatEndpoint } from "./text_log.ts";
import { formatAlertTime, formatIsoMicros } from "./timestamp.ts";
import { escapeJsonLine, replaceControls, wireText } from "./wire_text.ts";

/** Sessions kept per server for the report's timeline (the newest). */
const MAX_SPANS = 300;
/** Markers (side flows, faces, contacts) kept per server or inside host (the newest). */
const MAX_MARKERS = 500;
/** Host names kept per server or inside host. */
const MAX_NAMES = 16;

/** Faces in the order they are listed; "admin" is remote administration. */
const FACE_ORDER = ["SoftEther", "OpenVPN", "SSTP", "certificate", "admin"];
/** Variants in the order they are listed. */
const VARIANT_ORDER: readonly Variant[] = [
  "TCP",
  "HTTP Proxy",
  "SOCKS4 Proxy",
  "SOCKS5 Proxy",
  "SSH",
  "ICMP",
  "DNS",
  "UDP",
];
/** Infrastructure services in the order they are listed. */
const SERVICE_ORDER: readonly InfraService[] = ["DDNS", "NAT-T", "VPN Azure", "Keep-alive"];

/** One VPN session (or administration connection) on a server's timeline. */
export interface SessionSpan {
  /** `flow_id` of its alert. */
  readonly id: number;
  /** Client address. */
  readonly client: string;
  /** "vpn" or "admin". */
  readonly kind: "vpn" | "admin";
  /** How the client reached the server. */
  readonly variant: Variant;
  /** Established or attempt. */
  readonly outcome: "established" | "attempt";
  /** Packet time its first connection started. */
  readonly start: number;
  /** Packet time of its end record (NaN while it lasts). */
  end: number;
  /** Connections (the total once ended). */
  connections: number;
  /** IP bytes client → server (from its end record; 0 before). */
  toServer: number;
  /** IP bytes server → client (from its end record; 0 before). */
  toClient: number;
  /** The proxy or SSH host it went through ("ip:port"), if any. */
  readonly via: string | undefined;
}

/** A point on a timeline: a side flow, a server face, an infrastructure contact. */
export interface TimelineMarker {
  /** Packet time. */
  readonly ts: number;
  /** "side": side flow (on its client's lane); "face": server face; "infra": contact. */
  readonly type: "side" | "face" | "infra";
  /** Side-flow kind, face or service. */
  readonly what: string;
  /** Side flows: the client's address; faces: the client; contacts: the service's server. */
  readonly peer: string;
}

/** One SoftEther server as the inventory knows it. */
export interface ServerView {
  /** Address (or target host name). */
  readonly host: string;
  /** Ports seen, ascending. */
  readonly ports: readonly number[];
  /** Proxies / SSH hosts sessions went through ("ip:port"), sorted. */
  readonly via: readonly string[];
  /** Faces: "SoftEther" (sessions), "OpenVPN", "SSTP", "certificate", "admin". */
  readonly faces: readonly string[];
  /** Variants of its sessions. */
  readonly variants: readonly Variant[];
  /** Host names seen for it (server faces). */
  readonly names: readonly string[];
  /**
   * Addresses its sessions' side flows went to when the row is not an address
   * the VPN server was seen at: an SSH host or a proxy whose target was not
   * seen, or a target host name (the side flows reveal the server's address).
   */
  readonly revealed: readonly string[];
  /** Infrastructure services this host itself contacted (a server inside). */
  readonly infrastructure: readonly InfraService[];
  /** Packet time first and last seen. */
  readonly first: number;
  /** Packet time last seen. */
  readonly last: number;
  /** VPN sessions established. */
  readonly established: number;
  /** VPN sessions attempted (failed logins). */
  readonly attempts: number;
  /** Sessions (and administration connections) without an end record yet. */
  readonly active: number;
  /** Administration connections. */
  readonly admin: number;
  /** Distinct client addresses. */
  readonly clients: number;
  /** IP bytes client → server of its ended sessions. */
  readonly toServer: number;
  /** IP bytes server → client of its ended sessions. */
  readonly toClient: number;
  /** Side flows of its sessions, by kind. */
  readonly sideFlows: Readonly<Record<SideFlowKind, number>>;
  /** The newest sessions, oldest first. */
  readonly spans: readonly SessionSpan[];
  /** Sessions no longer kept for the timeline. */
  readonly spansDropped: number;
  /** The newest markers, oldest first (its own infrastructure contacts included). */
  readonly markers: readonly TimelineMarker[];
}

/** A host inside that contacted SoftEther's infrastructure. */
export interface InsideHostView {
  /** The host's address. */
  readonly host: string;
  /** Services contacted. */
  readonly services: readonly InfraService[];
  /** Contacts seen. */
  readonly contacts: number;
  /** Infrastructure names seen (DNS question, SNI, Host). */
  readonly names: readonly string[];
  /** True when the host is also a server of the inventory. */
  readonly isServer: boolean;
  /** Packet time first seen. */
  readonly first: number;
  /** Packet time last seen. */
  readonly last: number;
  /** Its newest contacts, oldest first. */
  readonly markers: readonly TimelineMarker[];
}

class Row {
  readonly ports = new Set<number>();
  readonly via = new Set<string>();
  readonly faces = new Set<string>();
  readonly variants = new Set<Variant>();
  readonly names = new Set<string>();
  readonly revealed = new Set<string>();
  readonly clients = new Set<string>();
  first = Infinity;
  last = -Infinity;
  established = 0;
  attempts = 0;
  admin = 0;
  ended = 0;
  toServer = 0;
  toClient = 0;
  readonly sideFlows: Record<SideFlowKind, number> = {
    udp_accel: 0,
    dns_probe: 0,
    icmp_probe: 0,
    nbns: 0,
  };
  readonly spans: SessionSpan[] = [];
  spansDropped = 0;
  readonly markers: TimelineMarker[] = [];

  constructor(readonly host: string) {}

  seen(ts: number): void {
    if (ts < this.first) this.first = ts;
    if (ts > this.last) this.last = ts;
  }
}

class InsideRow {
  readonly services = new Set<InfraService>();
  readonly names = new Set<string>();
  contacts = 0;
  first = Infinity;
  last = -Infinity;
  readonly markers: TimelineMarker[] = [];

  constructor(readonly host: string) {}
}

/** Adds `m` to `list`, dropping the oldest beyond {@linkcode MAX_MARKERS}. */
function pushMarker(list: TimelineMarker[], m: TimelineMarker): void {
  list.push(m);
  if (list.length > MAX_MARKERS) list.shift();
}

function addName(set: Set<string>, name: string | undefined): void {
  if (name !== undefined && name !== "" && set.size < MAX_NAMES) set.add(name);
}

/** A host as a row key: an address in its canonical text form, a name as written. */
function canonicalHost(host: string): string {
  const w = new Uint32Array(4);
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const v = ipTextToWords(bare, w);
  return v === 0 ? host : addressToString(v, w);
}

/** Ordered by `order`, the rest after in their sorted order. */
function ordered<T extends string>(set: Iterable<T>, order: readonly string[]): T[] {
  const rank = (x: string) => {
    const i = order.indexOf(x);
    return i < 0 ? order.length : i;
  };
  return [...set].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** `1.2 MB`: bytes for the table. */
function fmtBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** A list for a table cell: at most `max` items, then "+N". */
function cell(items: readonly (string | number)[], max: number): string {
  if (items.length === 0) return "-";
  const shown = items.slice(0, max).map((x) => replaceControls(String(x))).join(",");
  return items.length > max ? `${shown},+${items.length - max}` : shown;
}

/** A wire string for a table cell: controls replaced, cut at `max` characters. */
function textCell(s: string, max: number): string {
  const chars = [...replaceControls(s)];
  return chars.length > max ? chars.slice(0, max - 1).join("") + "…" : chars.join("");
}

/** Columns padded to their widest cell (the `right` ones aligned right), joined by two spaces. */
function layout(rows: string[][], right: ReadonlySet<number>): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
  return rows.map((r) =>
    r.map((c, i) => {
      const pad = " ".repeat(widths[i] - [...c].length);
      return right.has(i) ? pad + c : i === r.length - 1 ? c : c + pad;
    }).join("  ").trimEnd()
  );
}

/** The SoftEther servers and inside hosts that the detection events showed. */
export class ServerInventory {
  readonly #rows = new Map<string, Row>();
  readonly #inside = new Map<string, InsideRow>();
  /** Sessions kept for the timeline, by the `flow_id` of their alert. */
  readonly #spans = new Map<number, { row: Row; span: SessionSpan }>();
  #first = Infinity;
  #last = -Infinity;

  /** Packet time of the earliest event seen (Infinity before any). */
  get first(): number {
    return this.#first;
  }

  /** Packet time of the latest event seen (-Infinity before any): open sessions end here. */
  get last(): number {
    return this.#last;
  }

  #row(host: string): Row {
    let r = this.#rows.get(host);
    if (r === undefined) this.#rows.set(host, r = new Row(host));
    return r;
  }

  #time(ts: number): void {
    if (ts < this.#first) this.#first = ts;
    if (ts > this.#last) this.#last = ts;
  }

  /** Where a session event's VPN server is: its row key, port and the proxy it went through. */
  #serverOf(ev: DetectionEvent): { host: string; port: number; via: string | undefined } {
    if (ev.target !== undefined && ev.variant !== "TCP") {
      return {
        host: canonicalHost(ev.target.host),
        port: ev.target.port,
        via: formatEndpoint(ev.server),
      };
    }
    return { host: ev.server.ip, port: ev.server.port, via: undefined };
  }

  /** Takes in one detection event (any kind, alert or session-end record). */
  observe(ev: DetectionEvent): void {
    switch (ev.kind) {
      case "vpn":
      case "admin":
        if (ev.phase === "end") this.#sessionEnd(ev);
        else this.#session(ev, ev.kind);
        return;
      case "server":
        return this.#face(ev);
      case "infrastructure":
        return this.#contact(ev);
      default:
        return this.#sideFlow(ev, ev.kind);
    }
  }

  #session(ev: DetectionEvent, kind: "vpn" | "admin"): void {
    const { host, port, via } = this.#serverOf(ev);
    const r = this.#row(host);
    const start = Math.min(ev.start ?? ev.ts, ev.ts);
    r.seen(start);
    r.seen(ev.ts);
    this.#time(start);
    this.#time(ev.ts);
    if (port > 0) r.ports.add(port);
    if (via !== undefined) r.via.add(via);
    r.faces.add(kind === "admin" ? "admin" : "SoftEther");
    r.variants.add(ev.variant);
    r.clients.add(ev.client.ip);
    if (kind === "admin") r.admin++;
    else if (ev.outcome === "attempt") r.attempts++;
    else r.established++;
    const span: SessionSpan = {
      id: ev.flow_id,
      client: ev.client.ip,
      kind,
      variant: ev.variant,
      outcome: ev.outcome,
      start,
      end: NaN,
      connections: ev.connections,
      toServer: 0,
      toClient: 0,
      via,
    };
    r.spans.push(span);
    this.#spans.set(span.id, { row: r, span });
    if (r.spans.length > MAX_SPANS) {
      this.#spans.delete(r.spans.shift()!.id);
      r.spansDropped++;
    }
  }

  #sessionEnd(ev: DetectionEvent): void {
    const kept = this.#spans.get(ev.flow_id);
    const r = kept?.row ?? this.#row(this.#serverOf(ev).host);
    r.seen(ev.ts);
    this.#time(ev.ts);
    r.ended++;
    const toServer = ev.bytes?.toserver ?? 0, toClient = ev.bytes?.toclient ?? 0;
    r.toServer += toServer;
    r.toClient += toClient;
    if (kept === undefined) return;
    const s = kept.span;
    s.end = ev.ts;
    s.connections = ev.connections;
    s.toServer = toServer;
    s.toClient = toClient;
  }

  #face(ev: DetectionEvent): void {
    const r = this.#row(ev.server.ip);
    r.seen(ev.ts);
    this.#time(ev.ts);
    if (ev.server.port > 0) r.ports.add(ev.server.port);
    const face = ev.face ?? "SoftEther";
    r.faces.add(face);
    r.clients.add(ev.client.ip);
    addName(r.names, ev.name);
    pushMarker(r.markers, { ts: ev.ts, type: "face", what: face, peer: ev.client.ip });
  }

  #contact(ev: DetectionEvent): void {
    const host = ev.client.ip;
    let h = this.#inside.get(host);
    if (h === undefined) this.#inside.set(host, h = new InsideRow(host));
    if (ev.ts < h.first) h.first = ev.ts;
    if (ev.ts > h.last) h.last = ev.ts;
    this.#time(ev.ts);
    h.contacts++;
    const service = ev.service ?? "Keep-alive";
    h.services.add(service);
    addName(h.names, ev.name);
    pushMarker(h.markers, {
      ts: ev.ts,
      type: "infra",
      what: service,
      peer: formatEndpoint(ev.server),
    });
  }

  #sideFlow(ev: DetectionEvent, kind: SideFlowKind): void {
    const kept = ev.session !== undefined ? this.#spans.get(ev.session) : undefined;
    const r = kept?.row ?? this.#rows.get(ev.server.ip) ?? this.#rows.get(ev.client.ip) ??
      this.#row(ev.server.ip);
    const client = kept?.span.client ?? (r.host === ev.client.ip ? ev.server.ip : ev.client.ip);
    // A side flow of a session goes to the VPN server itself: behind an SSH
    // host, a proxy or a host name, that reveals its address.
    const other = ev.client.ip === client ? ev.server.ip : ev.client.ip;
    if (kept !== undefined && other !== r.host) addName(r.revealed, other);
    r.seen(ev.ts);
    this.#time(ev.ts);
    r.clients.add(client);
    if (kind in r.sideFlows) r.sideFlows[kind]++;
    pushMarker(r.markers, { ts: ev.ts, type: "side", what: kind, peer: client });
  }

  /** The servers, by first seen (then host). */
  servers(): ServerView[] {
    const rows = [...this.#rows.values()].sort((a, b) =>
      a.first - b.first || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0)
    );
    return rows.map((r) => {
      const inside = this.#inside.get(r.host);
      const markers = inside === undefined
        ? [...r.markers]
        : [...r.markers, ...inside.markers].sort((a, b) => a.ts - b.ts);
      const sessions = r.established + r.attempts + r.admin;
      return {
        host: r.host,
        ports: [...r.ports].sort((a, b) => a - b),
        via: [...r.via].sort(),
        faces: ordered(r.faces, FACE_ORDER),
        variants: ordered(r.variants, VARIANT_ORDER),
        names: [...r.names].sort(),
        revealed: [...r.revealed].sort(),
        infrastructure: inside === undefined ? [] : ordered(inside.services, SERVICE_ORDER),
        first: inside === undefined ? r.first : Math.min(r.first, inside.first),
        last: inside === undefined ? r.last : Math.max(r.last, inside.last),
        established: r.established,
        attempts: r.attempts,
        active: Math.max(0, sessions - r.ended),
        admin: r.admin,
        clients: r.clients.size,
        toServer: r.toServer,
        toClient: r.toClient,
        sideFlows: { ...r.sideFlows },
        spans: r.spans.map((s) => ({ ...s })),
        spansDropped: r.spansDropped,
        markers,
      };
    });
  }

  /** The hosts inside that contacted SoftEther's infrastructure, by first seen (then host). */
  insideHosts(): InsideHostView[] {
    const rows = [...this.#inside.values()].sort((a, b) =>
      a.first - b.first || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0)
    );
    return rows.map((h) => ({
      host: h.host,
      services: ordered(h.services, SERVICE_ORDER),
      contacts: h.contacts,
      names: [...h.names].sort(),
      isServer: this.#rows.has(h.host),
      first: h.first,
      last: h.last,
      markers: [...h.markers],
    }));
  }

  /**
   * The inventory as JSON Lines: one object per server (`"type":"server"`),
   * then one per inside host (`"type":"inside_host"`); every line ends in
   * "\n" (empty text when nothing was seen). Wire strings (a target host
   * name, host names) are written like the JSON log writes them: invalid
   * UTF-8 as U+FFFD with the field listed in `invalid_utf8`, controls as
   * `\uXXXX`.
   */
  jsonLines(): string {
    const lines: string[] = [];
    for (const s of this.servers()) {
      const invalid: string[] = [];
      const host = wireText(s.host);
      if (host.invalidUtf8) invalid.push("server");
      const names = s.names.map((n) => wireText(n));
      if (names.some((n) => n.invalidUtf8)) invalid.push("names");
      const record: Record<string, unknown> = {
        type: "server",
        server: host.text,
        ports: s.ports,
        via: s.via,
        faces: s.faces,
        variants: s.variants,
        first_seen: formatIsoMicros(s.first),
        last_seen: formatIsoMicros(s.last),
        sessions: { established: s.established, attempt: s.attempts, active: s.active },
        admin: s.admin,
        clients: s.clients,
        bytes: { toserver: s.toServer, toclient: s.toClient },
        side_flows: s.sideFlows,
        names: names.map((n) => n.text),
        revealed: s.revealed,
        infrastructure: s.infrastructure,
      };
      if (invalid.length > 0) record.invalid_utf8 = invalid;
      lines.push(escapeJsonLine(JSON.stringify(record)));
    }
    for (const h of this.insideHosts()) {
      const names = h.names.map((n) => wireText(n));
      const record: Record<string, unknown> = {
        type: "inside_host",
        host: h.host,
        services: h.services,
        contacts: h.contacts,
        first_seen: formatIsoMicros(h.first),
        last_seen: formatIsoMicros(h.last),
        names: names.map((n) => n.text),
        server: h.isServer,
      };
      if (names.some((n) => n.invalidUtf8)) record.invalid_utf8 = ["names"];
      lines.push(escapeJsonLine(JSON.stringify(record)));
    }
    return lines.map((l) => l + "\n").join("");
  }

  /**
   * The inventory as a table for the console: the servers (sessions,
   * attempts, administration connections, clients, bytes each way, first
   * and last seen in the text log's local time), then the hosts inside.
   * Wire strings have their control characters replaced.
   */
  table(): string {
    const servers = this.servers();
    const out = [`SoftEther servers: ${servers.length}`];
    if (servers.length > 0) {
      const rows = [[
        "SERVER",
        "PORTS",
        "FACES",
        "VARIANTS",
        "SESSIONS",
        "ATTEMPTS",
        "ADMIN",
        "CLIENTS",
        "TO SERVER",
        "TO CLIENT",
        "FIRST SEEN",
        "LAST SEEN",
        "VIA",
      ]];
      for (const s of servers) {
        rows.push([
          textCell(s.host, 40),
          cell(s.ports, 6),
          cell(s.faces, 5),
          cell(s.variants, 8),
          String(s.established),
          String(s.attempts),
          String(s.admin),
          String(s.clients),
          fmtBytes(s.toServer),
          fmtBytes(s.toClient),
          formatAlertTime(s.first),
          formatAlertTime(s.last),
          cell(s.via, 3),
        ]);
      }
      out.push(...layout(rows, new Set([4, 5, 6, 7, 8, 9])));
    }
    const inside = this.insideHosts();
    if (inside.length > 0) {
      out.push(`SoftEther hosts inside: ${inside.length}`);
      const rows = [["HOST", "SERVICES", "CONTACTS", "SERVER", "FIRST SEEN", "LAST SEEN", "NAMES"]];
      for (const h of inside) {
        rows.push([
          h.host,
          cell(h.services, 4),
          String(h.contacts),
          h.isServer ? "yes" : "no",
          formatAlertTime(h.first),
          formatAlertTime(h.last),
          cell(h.names.map((n) => textCell(n, 40)), 3),
        ]);
      }
      out.push(...layout(rows, new Set([2])));
    }
    return out.join("\n");
  }
}
