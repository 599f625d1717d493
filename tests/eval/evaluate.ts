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

import { dirname, join } from "node:path";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { RawPacket } from "../../src/capture/raw_packet.ts";
import { SoftEtherTcpDetector } from "../../src/detect/softether_tcp_detector.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { Weirds } from "../../src/decode/weirds.ts";

/** One row of a labels file. */
export interface Label {
  file: string;
  label: "positive" | "negative" | "admin";
  variant: string;
  outcome: string;
  client: string;
  server: string;
  sessions: number;
  note: string;
}

/** Outcome of one file. */
export interface FileResult {
  label: Label;
  events: DetectionEvent[];
  /** Alerts matching the label (right kind, variant, outcome, client, server). */
  matched: number;
  /** Alerts that should not be there. */
  falseAlerts: number;
  /** Problems in words. */
  problems: string[];
}

/** Parse a labels.tsv file. */
export function readLabels(path: string): Label[] {
  const lines = Deno.readTextFileSync(path).split("\n").filter((l) => l.trim() !== "");
  const head = lines[0].split("\t");
  const dir = dirname(path);
  return lines.slice(1).map((l) => {
    const cols = l.split("\t");
    const row: Record<string, string> = {};
    head.forEach((h, i) => (row[h] = cols[i] ?? ""));
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

/**
 * Run the pipeline over one file and collect the alerts. With `snaplen`, every
 * frame is cut to that many bytes first (as a capture with `-s N` would be).
 */
export async function detect(path: string, snaplen = 0): Promise<DetectionEvent[]> {
  const events: DetectionEvent[] = [];
  const weirds = new Weirds();
  const detector = new SoftEtherTcpDetector((ev) => {
    if (ev.phase !== "end") events.push(ev);
  }, { weirds });
  const pipeline = new Pipeline([detector], { maxFlows: 100_000 }, weirds);
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

/** Compare the alerts of one file with its label. */
export function judge(label: Label, events: DetectionEvent[]): FileResult {
  const problems: string[] = [];
  let matched = 0, falseAlerts = 0;
  const expectKind = label.label === "admin" ? "admin" : "vpn";
  for (const ev of events) {
    const server = ev.server.ip.includes(":")
      ? `[${ev.server.ip}]:${ev.server.port}`
      : `${ev.server.ip}:${ev.server.port}`;
    const ok = label.label !== "negative" && ev.kind === expectKind &&
      (label.variant === "-" || ev.variant === label.variant) &&
      (label.outcome === "-" || ev.outcome === label.outcome) &&
      ev.client.ip === label.client && server === label.server;
    if (ok && matched < Math.max(1, label.sessions)) matched++;
    else {
      falseAlerts++;
      problems.push(
        `unexpected alert: ${ev.kind} ${ev.variant} ${ev.outcome} ${ev.client.ip} -> ${server}`,
      );
    }
  }
  const want = label.label === "negative" ? 0 : Math.max(1, label.sessions);
  if (matched < want) problems.push(`missed ${want - matched} of ${want}`);
  return { label, events, matched, falseAlerts, problems };
}

/** Evaluate every file of the given labels files (frames cut to `snaplen` when > 0). */
export async function evaluate(labelFiles: string[], snaplen = 0): Promise<FileResult[]> {
  const out: FileResult[] = [];
  for (const lf of labelFiles) {
    for (const label of readLabels(lf)) {
      out.push(judge(label, await detect(label.file, snaplen)));
    }
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
    const key = r.label.label === "negative"
      ? "negatives"
      : r.label.label === "admin"
      ? "Admin"
      : `${r.label.variant}${r.label.outcome === "attempt" ? " (attempt)" : ""}`;
    const row = rows.get(key) ?? { files: 0, want: 0, got: 0, lat: [], fa: 0 };
    row.files++;
    const w = r.label.label === "negative" ? 0 : Math.max(1, r.label.sessions);
    row.want += w;
    row.got += r.matched;
    row.fa += r.falseAlerts;
    for (const ev of r.events) row.lat.push(ev.latency);
    rows.set(key, row);
    want += w;
    got += r.matched;
    fa += r.falseAlerts;
  }
  const lines = [
    "| variant | files | detected / sessions | mean latency (s) | max latency (s) | false alerts |",
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
