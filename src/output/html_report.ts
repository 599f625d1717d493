/**
 * The HTML report (`--report FILE.html`): one self-contained page — inline
 * CSS and inline SVG, no script, no external asset (a Content Security
 * Policy forbids loading any) — with the server inventory's table, the
 * hosts inside that contacted SoftEther's infrastructure, and per server a
 * timeline: one lane per client with a bar per session from its first
 * connection to its end (colour: variant; outlined: failed attempt; black
 * edge: administration; dashed: still open), side flows as dots on their
 * client's lane, server faces and the server's own infrastructure contacts
 * on a lane of their own. Idle stretches of over a minute are cut out of
 * the time axis (a zigzag marks each cut), so sessions of captures days
 * apart stay readable. Every string is escaped for HTML (wire strings also
 * have their control characters replaced); every bar and marker has a
 * tooltip (`<title>`).
 *
 * @module
 */

import { SIDE_FLOW_KINDS, type SideFlowKind, type Variant } from "../detect/event.ts";
import type {
  InsideHostView,
  ServerInventory,
  ServerView,
  SessionSpan,
  TimelineMarker,
} from "./server_inventory.ts";
import { formatAlertTime } from "./timestamp.ts";
import { replaceControls } from "./wire_text.ts";

/** What the page says about its making. */
interface ReportInfo {
  /** Wall-clock time the report was written (ms since the epoch). */
  writtenAt: number;
  /** "sealert 0.1.0". */
  generator: string;
}

/** Text for HTML text and attribute values: controls replaced, `& < > " '` escaped. */
function esc(s: string | number): string {
  return replaceControls(String(s)).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const VARIANT_COLOURS: Record<Variant, string> = {
  "TCP": "#1f77b4",
  "HTTP Proxy": "#ff7f0e",
  "SOCKS4 Proxy": "#2ca02c",
  "SOCKS5 Proxy": "#17becf",
  "SSH": "#9467bd",
  "ICMP": "#8c564b",
  "DNS": "#e377c2",
  "UDP": "#7f7f7f",
};

const SIDE_COLOURS: Record<SideFlowKind, string> = {
  udp_accel: "#d62728",
  dns_probe: "#bcbd22",
  icmp_probe: "#aa6600",
  nbns: "#555555",
};

const SIDE_NAMES: Record<SideFlowKind, string> = {
  udp_accel: "UDP acceleration",
  dns_probe: "DNS probe",
  icmp_probe: "ICMP probe",
  nbns: "NetBIOS query",
};

const FACE_COLOURS: Record<string, string> = {
  SoftEther: "#1f77b4",
  OpenVPN: "#ea7e20",
  SSTP: "#0b8a7a",
  certificate: "#444444",
};

const SERVICE_COLOURS: Record<string, string> = {
  "DDNS": "#c2185b",
  "NAT-T": "#7b1fa2",
  "VPN Azure": "#0277bd",
  "Keep-alive": "#558b2f",
};

/** Width of the timeline drawing (SVG user units = CSS pixels). */
const WIDTH = 1200;
/** Left column for lane labels. */
const LABEL_W = 190;
/** Right margin. */
const RIGHT_PAD = 14;
/** Height of one lane. */
const LANE_H = 16;
/** Height of a session bar. */
const BAR_H = 10;
/** Width of a cut in the time axis. */
const BREAK_W = 14;
/** An idle stretch longer than this (s) is cut out of the axis (doubled while too many pieces). */
const GAP = 60;
/** At most this many pieces of time on one axis. */
const MAX_PIECES = 40;
/** Client lanes drawn per server. */
const MAX_CLIENT_LANES = 40;

/** `1.2 MB`. */
function fmtBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** "1 session", "2 sessions". */
function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** `3.9 s`, `12 min`, `2.5 h`. */
function fmtDuration(s: number): string {
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** "UTC+09:00" for the local time zone at `ms`. */
function utcOffset(ms: number): string {
  const m = -new Date(ms).getTimezoneOffset();
  const a = Math.abs(m);
  return `UTC${m < 0 ? "−" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}:${
    String(a % 60).padStart(2, "0")
  }`;
}

/**
 * A piece of the time axis: packet times `t0`–`t1` drawn at `x0`–`x1`;
 * `busy0`–`busy1` is what happened in it (`t0`–`t1` has a margin).
 */
interface Piece {
  t0: number;
  t1: number;
  busy0: number;
  busy1: number;
  x0: number;
  x1: number;
}

/**
 * The time axis of a timeline: the busy stretches of `intervals`, idle
 * gaps longer than {@linkcode GAP} cut out (the cut widened while there
 * would be more than {@linkcode MAX_PIECES} pieces), each piece given width
 * by the square root of its length (short sessions stay visible next to
 * long ones).
 */
function axis(intervals: [number, number][], x0: number, x1: number): Piece[] {
  const sorted = intervals.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b))
    .map(([a, b]): [number, number] => [a, Math.max(a, b)])
    .sort((p, q) => p[0] - q[0]);
  if (sorted.length === 0) return [{ t0: 0, t1: 1, busy0: 0, busy1: 1, x0, x1 }];
  let merged: [number, number][] = [];
  for (let gap = GAP;; gap *= 2) {
    merged = [];
    for (const [a, b] of sorted) {
      const last = merged.at(-1);
      if (last !== undefined && a <= last[1] + gap) last[1] = Math.max(last[1], b);
      else merged.push([a, b]);
    }
    if (merged.length <= MAX_PIECES) break;
  }
  // A little room either side, so bars and markers do not touch a cut.
  const padded = merged.map(([a, b]) => {
    const pad = Math.max(0.5, (b - a) * 0.03);
    return [a - pad, b + pad] as [number, number];
  });
  const weights = padded.map(([a, b]) => Math.sqrt(b - a));
  const total = weights.reduce((s, w) => s + w, 0);
  const room = x1 - x0 - BREAK_W * (padded.length - 1);
  const pieces: Piece[] = [];
  let x = x0;
  padded.forEach(([a, b], i) => {
    const w = room * weights[i] / total;
    pieces.push({ t0: a, t1: b, busy0: merged[i][0], busy1: merged[i][1], x0: x, x1: x + w });
    x += w + BREAK_W;
  });
  return pieces;
}

/** The x of packet time `t` on `pieces` (clamped into the piece it falls in or next to). */
function xOf(pieces: readonly Piece[], t: number): number {
  let lo = 0, hi = pieces.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (pieces[mid].t0 <= t) lo = mid;
    else hi = mid - 1;
  }
  const p = pieces[lo];
  const f = Math.min(1, Math.max(0, (t - p.t0) / (p.t1 - p.t0)));
  return p.x0 + f * (p.x1 - p.x0);
}

/** A readable step for ticks about `px` apart on a piece. */
function tickStep(seconds: number, width: number): number {
  const want = seconds * 110 / Math.max(1, width);
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200];
  for (const s of steps) if (s >= want) return s;
  return Math.ceil(want / 86400) * 86400;
}

/** The axis: a baseline per piece, ticks with local times, a zigzag at each cut. */
function axisSvg(pieces: readonly Piece[], y: number, top: number): string {
  const out: string[] = [];
  let lastDate = "";
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i];
    out.push(
      `<line class="axis" x1="${p.x0.toFixed(1)}" y1="${y}" x2="${p.x1.toFixed(1)}" y2="${y}"/>`,
    );
    const step = tickStep(p.t1 - p.t0, p.x1 - p.x0);
    const ticks = [p.t0];
    for (let t = Math.ceil(p.t0 / step) * step; t < p.t1; t += step) {
      if (t - p.t0 > step / 2 && p.t1 - t > step / 4) ticks.push(t);
    }
    for (let k = 0; k < ticks.length; k++) {
      const t = ticks[k];
      const x = xOf(pieces, t);
      out.push(
        `<line class="tick" x1="${x.toFixed(1)}" y1="${y}" x2="${x.toFixed(1)}" y2="${y + 4}"/>`,
      );
      // Room for a label: the piece's first tick needs its piece to be wide enough.
      if (k === 0 && p.x1 - p.x0 < 56 && i > 0) continue;
      const full = formatAlertTime(t);
      const date = full.slice(0, 10);
      const label = date !== lastDate ? full.slice(5, 16) : full.slice(11, 19);
      lastDate = date;
      out.push(`<text class="tick" x="${x.toFixed(1)}" y="${y + 15}">${esc(label)}</text>`);
    }
    if (i > 0) {
      const bx = pieces[i - 1].x1 + BREAK_W / 2;
      out.push(
        `<path class="cut" d="M${(bx - 4).toFixed(1)} ${y + 4} l3 -8 l2 8 l3 -8"/>` +
          `<line class="cutline" x1="${bx.toFixed(1)}" y1="${top}" x2="${
            bx.toFixed(1)
          }" y2="${y}"><title>idle ${
            esc(fmtDuration(p.busy0 - pieces[i - 1].busy1))
          } cut out</title></line>`,
      );
    }
  }
  return out.join("");
}

/** A diamond (faces) or triangle (contacts) centred on `x`, `y`. */
function shape(type: "face" | "infra", x: number, y: number): string {
  const X = x.toFixed(1);
  return type === "face" ? `M${X} ${y - 5} l5 5 l-5 5 l-5 -5 z` : `M${X} ${y - 5} l5 9 l-10 0 z`;
}

function markerSvg(m: TimelineMarker, x: number, y: number): string {
  if (m.type === "side") {
    const kind = m.what as SideFlowKind;
    const colour = SIDE_COLOURS[kind] ?? "#000";
    // Below the middle of the lane: the session's bar stays visible.
    return `<circle class="side" cx="${x.toFixed(1)}" cy="${y + 3}" r="3" fill="${colour}">` +
      `<title>${esc(SIDE_NAMES[kind] ?? m.what)} side flow, client ${esc(m.peer)}, ${
        esc(formatAlertTime(m.ts))
      }</title></circle>`;
  }
  const colour = m.type === "face"
    ? FACE_COLOURS[m.what] ?? "#000"
    : SERVICE_COLOURS[m.what] ?? "#000";
  const text = m.type === "face"
    ? `${m.what} face, client ${m.peer}`
    : `${m.what} contact to ${m.peer}`;
  return `<path class="${m.type}" d="${shape(m.type, x, y)}" fill="${colour}"><title>${
    esc(text)
  }, ${esc(formatAlertTime(m.ts))}</title></path>`;
}

function spanTitle(s: SessionSpan, server: string, end: number, open: boolean): string {
  const what = s.kind === "admin"
    ? "administration"
    : s.outcome === "attempt"
    ? "attempt"
    : "session";
  const parts = [
    `${s.variant} ${what}, client ${s.client} → ${server}`,
    s.via !== undefined ? `via ${s.via}` : "",
    `${formatAlertTime(s.start)} – ${open ? "open" : formatAlertTime(end)} (${
      fmtDuration(Math.max(0, end - s.start))
    })`,
    `${s.connections} connection${s.connections === 1 ? "" : "s"}`,
    open ? "" : `${fmtBytes(s.toServer)} to server, ${fmtBytes(s.toClient)} to client`,
  ];
  return esc(parts.filter((p) => p !== "").join(", "));
}

/** One server's timeline. */
function timelineSvg(s: ServerView, now: number): string {
  const serverMarks = s.markers.filter((m) => m.type !== "side");
  // Clients in the order of their first session (or side flow).
  const firstOf = new Map<string, number>();
  for (const sp of s.spans) {
    const t = firstOf.get(sp.client);
    if (t === undefined || sp.start < t) firstOf.set(sp.client, sp.start);
  }
  for (const m of s.markers) {
    if (m.type !== "side") continue;
    const t = firstOf.get(m.peer);
    if (t === undefined || m.ts < t) firstOf.set(m.peer, m.ts);
  }
  const clients = [...firstOf.keys()].sort((a, b) => firstOf.get(a)! - firstOf.get(b)!);
  const drawn = new Set(clients.slice(0, MAX_CLIENT_LANES));
  const endOf = (sp: SessionSpan) => Number.isNaN(sp.end) ? Math.max(now, sp.start) : sp.end;
  const spans = s.spans.filter((sp) => drawn.has(sp.client));
  const marks = s.markers.filter((m) => m.type !== "side" || drawn.has(m.peer));
  const pieces = axis(
    [
      ...spans.map((sp): [number, number] => [sp.start, endOf(sp)]),
      ...marks.map((m): [number, number] => [m.ts, m.ts]),
    ],
    LABEL_W,
    WIDTH - RIGHT_PAD,
  );
  // Lanes: the server's own (faces, contacts) when it has any, then each
  // client's, split into rows where its sessions overlap.
  const body: string[] = [];
  let y = 8;
  if (serverMarks.length > 0) {
    const mid = y + LANE_H / 2;
    body.push(`<text class="lane" x="8" y="${mid + 4}">faces, contacts</text>`);
    for (const m of serverMarks) body.push(markerSvg(m, xOf(pieces, m.ts), mid));
    y += LANE_H;
  }
  let band = 0;
  for (const client of clients) {
    if (!drawn.has(client)) continue;
    const rows: number[] = []; // right edge (x) of each row's last bar
    const bars: string[] = [];
    const mine = spans.filter((sp) => sp.client === client).sort((a, b) => a.start - b.start);
    for (const sp of mine) {
      const open = Number.isNaN(sp.end);
      const end = endOf(sp);
      const x0 = xOf(pieces, sp.start);
      const x1 = Math.max(x0 + 2, xOf(pieces, end));
      let row = rows.findIndex((r) => r + 1 < x0);
      if (row < 0) row = rows.push(x1) - 1;
      else rows[row] = x1;
      const cls = [
        "bar",
        sp.outcome === "attempt" ? "attempt" : "",
        sp.kind === "admin" ? "admin" : "",
        open ? "open" : "",
      ]
        .filter((c) => c !== "").join(" ");
      const colour = VARIANT_COLOURS[sp.variant] ?? "#000";
      bars.push(
        `<rect class="${cls}" x="${x0.toFixed(1)}" y="${
          y + row * LANE_H + (LANE_H - BAR_H) / 2
        }" width="${(x1 - x0).toFixed(1)}" height="${BAR_H}" ${
          sp.outcome === "attempt" ? `stroke="${colour}"` : `fill="${colour}"`
        }><title>${spanTitle(sp, s.host, end, open)}</title></rect>`,
      );
    }
    const height = Math.max(1, rows.length) * LANE_H;
    if (band++ % 2 === 0) {
      body.push(
        `<rect class="band" x="0" y="${y}" width="${WIDTH}" height="${height}"/>`,
      );
    }
    body.push(`<text class="lane" x="8" y="${y + LANE_H / 2 + 4}">${esc(client)}</text>`);
    body.push(...bars);
    for (const m of marks) {
      if (m.type === "side" && m.peer === client) {
        body.push(markerSvg(m, xOf(pieces, m.ts), y + LANE_H / 2));
      }
    }
    y += height;
  }
  const top = 4;
  const axisY = y + 6;
  const height = axisY + 24;
  return `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="timeline of ${
    esc(s.host)
  }">${body.join("")}${axisSvg(pieces, axisY, top)}</svg>`;
}

/** The legend: variants, attempt / administration / open, side flows, faces, contacts. */
function legendSvg(): string {
  const swatches: [string, string][] = [];
  for (const [v, colour] of Object.entries(VARIANT_COLOURS)) {
    swatches.push([`<rect x="0" y="-5" width="14" height="10" fill="${colour}"/>`, v]);
  }
  const sample = VARIANT_COLOURS.TCP;
  swatches.push(
    [`<rect class="attempt" x="0" y="-5" width="14" height="10" stroke="${sample}"/>`, "attempt"],
    [`<rect class="admin" x="0" y="-5" width="14" height="10" fill="${sample}"/>`, "admin"],
    [`<rect class="open" x="0" y="-5" width="14" height="10" fill="${sample}"/>`, "still open"],
  );
  for (const k of SIDE_FLOW_KINDS) {
    swatches.push([
      `<circle cx="7" cy="0" r="3.5" fill="${SIDE_COLOURS[k]}"/>`,
      `${SIDE_NAMES[k]} (side flow)`,
    ]);
  }
  for (const [f, colour] of Object.entries(FACE_COLOURS)) {
    swatches.push([`<path d="${shape("face", 7, 0)}" fill="${colour}"/>`, `${f} face`]);
  }
  for (const [svc, colour] of Object.entries(SERVICE_COLOURS)) {
    swatches.push([`<path d="${shape("infra", 7, 0)}" fill="${colour}"/>`, `${svc} contact`]);
  }
  // Items flow left to right and wrap (about 6.5 units per character).
  const items: string[] = [];
  let x = 8, y = 12;
  for (const [swatch, label] of swatches) {
    const w = 30 + Math.ceil(label.length * 6.5);
    if (x + w > WIDTH) {
      x = 8;
      y += 20;
    }
    items.push(
      `<g transform="translate(${x} ${y})">${swatch}<text x="18" y="4">${esc(label)}</text></g>`,
    );
    x += w;
  }
  const height = y + 12;
  return `<svg class="legend" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" ` +
    `width="${WIDTH}" height="${height}" role="img" aria-label="legend">${items.join("")}</svg>`;
}

function list(items: readonly (string | number)[]): string {
  return items.length === 0 ? "–" : items.map(esc).join(", ");
}

/** Side flows, host names and the server's own infrastructure contacts, for the table. */
function notes(s: ServerView): string {
  const parts: string[] = [];
  const side = Object.entries(s.sideFlows).filter(([, n]) => n > 0)
    .map(([k, n]) => `${SIDE_NAMES[k as SideFlowKind] ?? k} ${n}`);
  if (side.length > 0) parts.push(`side flows: ${list(side)}`);
  if (s.names.length > 0) parts.push(`names: ${list(s.names)}`);
  if (s.revealed.length > 0) parts.push(`server at: ${list(s.revealed)} (side flows)`);
  if (s.infrastructure.length > 0) parts.push(`contacts: ${list(s.infrastructure)}`);
  return parts.length === 0 ? "–" : parts.join("<br>");
}

function serverRow(s: ServerView, i: number): string {
  return `<tr class="server" data-host="${esc(s.host)}">` +
    `<td><a href="#server-${i + 1}">${esc(s.host)}</a></td>` +
    `<td>${list(s.ports)}</td><td>${list(s.faces)}</td><td>${list(s.variants)}</td>` +
    `<td class="n">${s.established}</td><td class="n">${s.attempts}</td>` +
    `<td class="n">${s.active}</td><td class="n">${s.admin}</td><td class="n">${s.clients}</td>` +
    `<td class="n">${esc(fmtBytes(s.toServer))} / ${esc(fmtBytes(s.toClient))}</td>` +
    `<td>${esc(formatAlertTime(s.first))}</td><td>${esc(formatAlertTime(s.last))}</td>` +
    `<td>${list(s.via)}</td><td>${notes(s)}</td></tr>`;
}

function insideRow(h: InsideHostView, serverIndex: Map<string, number>): string {
  const i = serverIndex.get(h.host);
  const server = i === undefined ? "no" : `<a href="#server-${i + 1}">yes</a>`;
  return `<tr class="inside" data-host="${esc(h.host)}"><td>${esc(h.host)}</td>` +
    `<td>${list(h.services)}</td><td class="n">${h.contacts}</td><td>${server}</td>` +
    `<td>${esc(formatAlertTime(h.first))}</td><td>${esc(formatAlertTime(h.last))}</td>` +
    `<td>${list(h.names)}</td></tr>`;
}

/** Inside hosts' contacts: one lane per host. */
function contactsSvg(hosts: readonly InsideHostView[]): string {
  const pieces = axis(
    hosts.flatMap((h) => h.markers.map((m): [number, number] => [m.ts, m.ts])),
    LABEL_W,
    WIDTH - RIGHT_PAD,
  );
  const body: string[] = [];
  let y = 8;
  hosts.forEach((h, i) => {
    if (i % 2 === 0) {
      body.push(`<rect class="band" x="0" y="${y}" width="${WIDTH}" height="${LANE_H}"/>`);
    }
    body.push(`<text class="lane" x="8" y="${y + LANE_H / 2 + 4}">${esc(h.host)}</text>`);
    for (const m of h.markers) body.push(markerSvg(m, xOf(pieces, m.ts), y + LANE_H / 2));
    y += LANE_H;
  });
  const axisY = y + 6, height = axisY + 24;
  return `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="infrastructure contacts">${
    body.join("")
  }${axisSvg(pieces, axisY, 4)}</svg>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:20px 0 4px}
p.meta{color:#555;margin:0 0 12px}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f2f4f7;font-weight:600}tr:nth-child(even) td{background:#fafbfc}
td.n{text-align:right;font-variant-numeric:tabular-nums}
a{color:#0b57d0}
svg{display:block;max-width:100%;height:auto;margin:6px 0 4px;font:11px system-ui,"DejaVu Sans",sans-serif}
svg text{fill:#333}svg text.tick{text-anchor:middle;fill:#555;font-size:10px}
svg .band{fill:#f3f5f8}svg .axis{stroke:#888}svg .tick{stroke:#888}
svg .cut{fill:none;stroke:#888}svg .cutline{stroke:#bbb;stroke-dasharray:2 3}
svg .bar{stroke-width:1}svg .attempt{fill:#fff;stroke-width:1.5}
svg .admin{stroke:#000;stroke-width:1.5}svg .open{fill-opacity:.45;stroke:#333;stroke-dasharray:3 2}
svg .side,svg .face,svg .infra{stroke:#fff;stroke-width:.8}
p.note{color:#555;font-size:12px;margin:0}
`;

/**
 * The report page for `inv`: header (counts, packet-time range, local time
 * zone), the servers' table, the hosts inside, the legend, one timeline per
 * server and the inside hosts' contacts.
 */
export function renderHtmlReport(inv: ServerInventory, info: ReportInfo): string {
  const servers = inv.servers();
  const inside = inv.insideHosts();
  const index = new Map(servers.map((s, i) => [s.host, i]));
  const zone = utcOffset(Number.isFinite(inv.first) ? inv.first * 1000 : info.writtenAt);
  const range = Number.isFinite(inv.first)
    ? `packet time ${esc(formatAlertTime(inv.first))} – ${esc(formatAlertTime(inv.last))}`
    : "no packet time yet";
  const out: string[] = [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>sealert: SoftEther servers</title>",
    `<style>${STYLE}</style></head><body>`,
    "<header><h1>SoftEther servers</h1>",
    `<p class="meta">${servers.length} server${
      servers.length === 1 ? "" : "s"
    }, ${inside.length} host${
      inside.length === 1 ? "" : "s"
    } inside contacting SoftEther's infrastructure; ${range} (local time, ${esc(zone)}); written ${
      esc(formatAlertTime(info.writtenAt / 1000))
    } by ${esc(info.generator)}.</p></header>`,
    '<section id="servers"><h2>Servers</h2>',
  ];
  if (servers.length === 0) out.push('<p class="none">No SoftEther server seen.</p>');
  else {
    out.push(
      '<table id="server-table"><thead><tr><th>Server</th><th>Ports</th><th>Faces</th>' +
        "<th>Variants</th><th>Sessions</th><th>Attempts</th><th>Open</th><th>Admin</th>" +
        "<th>Clients</th><th>Bytes to server / to client</th><th>First seen</th>" +
        "<th>Last seen</th><th>Via</th><th>Notes</th></tr></thead><tbody>",
      ...servers.map(serverRow),
      "</tbody></table>",
    );
  }
  out.push("</section>", '<section id="inside"><h2>SoftEther hosts inside</h2>');
  if (inside.length === 0) {
    out.push('<p class="none">No host seen contacting SoftEther\'s infrastructure.</p>');
  } else {
    out.push(
      '<table id="inside-table"><thead><tr><th>Host</th><th>Services</th><th>Contacts</th>' +
        "<th>Server</th><th>First seen</th><th>Last seen</th><th>Names</th></tr></thead><tbody>",
      ...inside.map((h) => insideRow(h, index)),
      "</tbody></table>",
      contactsSvg(inside),
    );
  }
  out.push("</section>");
  if (servers.length > 0) {
    out.push('<section id="timelines"><h2>Timelines</h2>', legendSvg());
    out.push(
      '<p class="note">One lane per client, a bar per session from its first connection to ' +
        "its end; idle stretches of over a minute are cut out of the time axis (zigzags). " +
        "Hover a bar or marker for details.</p>",
    );
    servers.forEach((s, i) => {
      const notes: string[] = [];
      if (s.spansDropped > 0) notes.push(`${s.spansDropped} older sessions not drawn`);
      const lanes = new Set(s.spans.map((sp) => sp.client)).size;
      if (lanes > MAX_CLIENT_LANES) {
        notes.push(`${lanes - MAX_CLIENT_LANES} more clients not drawn`);
      }
      out.push(
        `<article class="server" id="server-${i + 1}"><h3>${esc(s.host)}</h3>`,
        `<p class="meta">${plural(s.established, "session")}, ${plural(s.attempts, "attempt")}, ` +
          `${s.admin} admin, ${plural(s.clients, "client")}; ports ${list(s.ports)}; ${
            esc(fmtBytes(s.toServer))
          } to server, ${esc(fmtBytes(s.toClient))} to client${
            notes.length > 0 ? "; " + esc(notes.join(", ")) : ""
          }</p>`,
        timelineSvg(s, inv.last),
        "</article>",
      );
    });
    out.push("</section>");
  }
  out.push("</body></html>", "");
  return out.join("\n");
}
