/**
 * Detection evaluation over the labelled captures (testdata/lab/labels.tsv
 * and any other labels.tsv given): runs the full pipeline on each file and
 * compares the alerts with the labels.
 *
 * Usage: deno run -A tests/eval/evaluate.ts [labels.tsv ...]
 * Prints per variant: sessions detected / total, mean detection latency,
 * false alerts on negatives; exits 1 below 100 % recall or above 0 false
 * alerts.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { RawPacket } from "../../src/capture/raw_packet.ts";
import { createDetectors } from "../../src/detect/detector_set.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { Weirds } from "../../src/decode/weirds.ts";

/**
 * One row of a labels file. `label`: "positive" (VPN sessions expected),
 * "admin", "negative" (nothing at all may be reported), or "footprint" (no
 * session: only the events its footprint rows list, e.g. a server's
 * infrastructure contacts).
 */
export interface Label {
  file: string;
  label: "positive" | "negative" | "admin" | "footprint";
  variant: string;
  outcome: string;
  client: string;
  server: string;
  sessions: number;
  note: string;
}

/**
 * One row of a footprint file (footprint.tsv next to a labels.tsv): events
 * other than VPN sessions expected in a capture — side flows (kind
 * udp_accel, dns_probe, icmp_probe, nbns), infrastructure contacts (detail =
 * service) and server faces (detail = face). A capture of the evaluation may
 * report such events only as its footprint rows say.
 */
export interface FootprintRow {
  /** Capture file (full path). */
  file: string;
  /** Event kind. */
  kind: string;
  /** Service (infrastructure), face (server), or "-". */
  detail: string;
  /** Client (contacting host) address, or "-" for any. */
  client: string;
  /** Server "ip", "ip:port", or "-" for any. */
  server: string;
  /** Events expected. */
  count: number;
  /** Ground truth and how it was established. */
  note: string;
}

/** Expected and matched events of one evaluation row (a session variant or a footprint kind). */
export interface Tally {
  /** Table row: variant (sessions), kind and detail (footprints). */
  key: string;
  /** Events expected. */
  want: number;
  /** Events matched. */
  got: number;
}

/** Outcome of one file. */
export interface FileResult {
  label: Label;
  events: DetectionEvent[];
  /** Alerts matching the label (right kind, variant, outcome, client, server). */
  matched: number;
  /** Expected and matched events per table row (sessions and footprint kinds). */
  tallies: Tally[];
  /** Alerts that should not be there. */
  falseAlerts: number;
  /** Problems in words. */
  problems: string[];
}

/** The rows of a tab-separated file with a header line, by column name (missing cells ""). */
function readTsv(path: string): Record<string, string>[] {
  const lines = Deno.readTextFileSync(path).split("\n").filter((l) => l.trim() !== "");
  const head = lines[0].split("\t");
  return lines.slice(1).map((l) => {
    const cols = l.split("\t");
    const row: Record<string, string> = {};
    head.forEach((h, i) => (row[h] = cols[i] ?? ""));
    return row;
  });
}

/** Parse a labels.tsv file. */
export function readLabels(path: string): Label[] {
  const dir = dirname(path);
  return readTsv(path).map((row) => {
    return {
      file: join(dir, row.file),
      label: row.label as Label["label"],
      variant: row.variant,
      outcome: row.outcome,
      client: row.client,
      server: row.server,
      sessions: Number(row.sessions || 0),
      note: row.note ?? "",
    };
  });
}

/** The labels files of the SoftEther-over-TCP labs (testdata/lab, testdata/lab2). */
export const TCP_LAB_LABELS = ["testdata/lab/labels.tsv", "testdata/lab2/labels.tsv"];
/** Every labels file holding negatives: the TCP labs, the look-alikes, lab 4's negatives. */
export const NEGATIVE_LABELS = [
  ...TCP_LAB_LABELS,
  "testdata/lookalike/labels.tsv",
  "testdata/lab4/neg_labels.tsv",
];

/** The rows labelled `label` of the given labels files. */
export function labelled(label: Label["label"], files: string[]): Label[] {
  return files.flatMap((f) => readLabels(f)).filter((l) => l.label === label);
}

/** Parse a footprint.tsv file (columns file, kind, detail, client, server, count, note). */
export function readFootprint(path: string): FootprintRow[] {
  const dir = dirname(path);
  return readTsv(path).map((row) => {
    return {
      file: join(dir, row.file),
      kind: row.kind,
      detail: row.detail || "-",
      client: row.client || "-",
      server: row.server || "-",
      count: Number(row.count || 0),
      note: row.note ?? "",
    };
  });
}

/**
 * Run the pipeline over one file and collect the VPN session and admin
 * alerts (no end records, no footprint events). With `snaplen`, every frame
 * is cut to that many bytes first (as a capture with `-s N` would be).
 */
export async function detect(path: string, snaplen = 0): Promise<DetectionEvent[]> {
  return (await detectAll(path, snaplen)).filter((e) => e.kind === "vpn" || e.kind === "admin");
}

/** Like {@linkcode detect}, with every kind of event (side flows, infrastructure, server faces). */
export async function detectAll(path: string, snaplen = 0): Promise<DetectionEvent[]> {
  const events: DetectionEvent[] = [];
  const weirds = new Weirds();
  const { detectors } = createDetectors((ev) => {
    if (ev.phase !== "end") events.push(ev);
  }, weirds);
  const pipeline = new Pipeline(detectors, { maxFlows: 100_000 }, weirds);
  const src = await openCaptureFiles([path]);
  const raw = new RawPacket();
  try {
    do {
      while (src.next(raw)) {
        if (snaplen > 0 && raw.capLen > snaplen) raw.capLen = snaplen;
        pipeline.handle(raw);
      }
    } while (await src.refill());
  } finally {
    src.close();
  }
  pipeline.finish();
  return events;
}

/** "ip:port", "[ip6]:port", or the bare address for port 0 (ICMP). */
function endpointText(ep: { ip: string; port: number }): string {
  if (ep.port === 0) return ep.ip;
  return ep.ip.includes(":") ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
}

/** Table row of a footprint kind: "udp_accel", "infrastructure DDNS", "server OpenVPN". */
function footprintKey(kind: string, detail: string): string {
  return detail === "-" ? kind : `${kind} ${detail}`;
}

/** The event's detail for footprint matching: service, face, or "-". */
function detailOf(ev: DetectionEvent): string {
  return ev.service ?? ev.face ?? "-";
}

/**
 * Compare the events of one file with its label and its footprint rows:
 * sessions (kind vpn/admin) against the label, every other kind against the
 * footprint rows; whatever matches nothing is a false alert.
 */
export function judge(
  label: Label,
  events: DetectionEvent[],
  footprint: FootprintRow[] = [],
): FileResult {
  const problems: string[] = [];
  let matched = 0, falseAlerts = 0;
  const expectKind = label.label === "admin" ? "admin" : "vpn";
  const sessionKey = label.label === "admin"
    ? "Admin"
    : `${label.variant}${label.outcome === "attempt" ? " (attempt)" : ""}`;
  const wantSessions = label.label === "positive" || label.label === "admin"
    ? Math.max(1, label.sessions)
    : 0;
  const left = footprint.map((r) => r.count);
  const got = footprint.map(() => 0);
  for (const ev of events) {
    const server = endpointText(ev.server);
    if (ev.kind === "vpn" || ev.kind === "admin") {
      const ok = wantSessions > 0 && ev.kind === expectKind &&
        (label.variant === "-" || ev.variant === label.variant) &&
        (label.outcome === "-" || ev.outcome === label.outcome) &&
        ev.client.ip === label.client && server === label.server;
      if (ok && matched < wantSessions) {
        matched++;
        continue;
      }
    } else if (label.label !== "negative") {
      const i = footprint.findIndex((r, i) =>
        left[i] > 0 && r.kind === ev.kind && (r.detail === "-" || r.detail === detailOf(ev)) &&
        (r.client === "-" || r.client === ev.client.ip) &&
        (r.server === "-" || r.server === server || r.server === ev.server.ip)
      );
      if (i >= 0) {
        left[i]--;
        got[i]++;
        continue;
      }
    }
    falseAlerts++;
    const what = ev.service ?? ev.face ?? ev.variant;
    problems.push(
      `unexpected ${ev.kind}: ${what} ${ev.outcome} ${ev.client.ip} -> ${server}`,
    );
  }
  if (matched < wantSessions) problems.push(`missed ${wantSessions - matched} of ${wantSessions}`);
  footprint.forEach((r, i) => {
    if (left[i] > 0) {
      problems.push(`missed ${left[i]} of ${r.count} ${footprintKey(r.kind, r.detail)}`);
    }
  });
  const tallies: Tally[] = [];
  if (label.label === "positive" || label.label === "admin") {
    tallies.push({ key: sessionKey, want: wantSessions, got: matched });
  }
  footprint.forEach((r, i) =>
    tallies.push({ key: footprintKey(r.kind, r.detail), want: r.count, got: got[i] })
  );
  return { label, events, matched, tallies, falseAlerts, problems };
}

/**
 * Evaluate every file of the given labels files (frames cut to `snaplen`
 * when > 0), with the footprint rows of `footprint.tsv` files given among
 * them (or lying next to a labels file); with `sessionsOnly`, only the VPN
 * session and admin alerts are judged (footprint rows are not read).
 */
export async function evaluate(
  labelFiles: string[],
  snaplen = 0,
  opts: { sessionsOnly?: boolean } = {},
): Promise<FileResult[]> {
  const out: FileResult[] = [];
  const footprint: FootprintRow[] = [];
  const labels: string[] = [];
  const read = new Set<string>();
  const addFootprint = (f: string) => {
    if (read.has(f)) return;
    read.add(f);
    footprint.push(...readFootprint(f));
  };
  for (const f of labelFiles) {
    if (f.endsWith("footprint.tsv")) {
      if (!opts.sessionsOnly) addFootprint(f);
    } else {
      labels.push(f);
      const next = join(dirname(f), "footprint.tsv");
      if (existsSync(next) && !opts.sessionsOnly) addFootprint(next);
    }
  }
  const listed = new Set<string>();
  for (const lf of labels) {
    for (const label of readLabels(lf)) {
      listed.add(label.file);
      const rows = footprint.filter((r) => r.file === label.file);
      const events = opts.sessionsOnly
        ? await detect(label.file, snaplen)
        : await detectAll(label.file, snaplen);
      out.push(judge(label, events, rows));
    }
  }
  const orphan = footprint.find((r) => !listed.has(r.file));
  if (orphan !== undefined) {
    throw new RangeError(`Footprint row for "${orphan.file}", which no labels file lists`);
  }
  return out;
}

/** The evaluation table (per variant) and the totals. */
export function table(
  results: FileResult[],
): { text: string; recall: number; falseAlerts: number } {
  const rows = new Map<
    string,
    { files: number; want: number; got: number; lat: number[]; fa: number }
  >();
  let want = 0, got = 0, fa = 0;
  for (const r of results) {
    if (r.label.label === "negative") {
      const row = rows.get("negatives") ?? { files: 0, want: 0, got: 0, lat: [], fa: 0 };
      row.files++;
      row.fa += r.falseAlerts;
      rows.set("negatives", row);
      fa += r.falseAlerts;
      continue;
    }
    // A file's false alerts are shown on its first row.
    r.tallies.forEach((t, i) => {
      const row = rows.get(t.key) ?? { files: 0, want: 0, got: 0, lat: [], fa: 0 };
      // A file with two rows of one kind (two contacting hosts) counts once.
      if (r.tallies.findIndex((u) => u.key === t.key) === i) row.files++;
      row.want += t.want;
      row.got += t.got;
      if (i === 0) row.fa += r.falseAlerts;
      for (const ev of r.events) {
        const key = ev.kind === "vpn" || ev.kind === "admin"
          ? null
          : footprintKey(ev.kind, detailOf(ev));
        if (key === null ? i === 0 : key === t.key) row.lat.push(ev.latency);
      }
      rows.set(t.key, row);
      want += t.want;
      got += t.got;
    });
    fa += r.falseAlerts;
  }
  const lines = [
    "| variant / kind | files | detected / expected | mean latency (s) | max latency (s) | false alerts |",
    "|---|---|---|---|---|---|",
  ];
  for (const [k, r] of [...rows].sort()) {
    const lat = r.lat.length ? (r.lat.reduce((a, b) => a + b, 0) / r.lat.length).toFixed(3) : "-";
    const max = r.lat.length ? Math.max(...r.lat).toFixed(3) : "-";
    lines.push(
      `| ${k} | ${r.files} | ${
        k === "negatives" ? "-" : `${r.got} / ${r.want}`
      } | ${lat} | ${max} | ${r.fa} |`,
    );
  }
  lines.push(`| **all** | ${results.length} | ${got} / ${want} | | | ${fa} |`);
  return { text: lines.join("\n"), recall: want === 0 ? 1 : got / want, falseAlerts: fa };
}

if (import.meta.main) {
  const args = [...Deno.args];
  const at = args.indexOf("--snaplen");
  const snaplen = at >= 0 ? Number(args.splice(at, 2)[1]) : 0;
  const files = args.length > 0 ? args : ["testdata/lab/labels.tsv"];
  if (snaplen > 0) console.log(`frames cut to ${snaplen} bytes`);
  const results = await evaluate(files, snaplen);
  for (const r of results) {
    if (r.problems.length > 0) console.error(`${r.label.file}: ${r.problems.join("; ")}`);
  }
  const t = table(results);
  console.log(t.text);
  console.log(`recall ${(t.recall * 100).toFixed(1)} %, false alerts ${t.falseAlerts}`);
  Deno.exit(t.recall === 1 && t.falseAlerts === 0 ? 0 : 1);
}
