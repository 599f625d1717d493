/**
 * JSON lines alert log (Suricata eve style): one JSON object per detection,
 * keys always in the same order, for SIEM ingestion.
 *
 * @module
 */

import type { DetectionEvent } from "../detect/event.ts";
import type { AlertSink } from "./sink.ts";
import { LineFile } from "./line_file.ts";
import { formatIsoMicros } from "./timestamp.ts";
import { escapeJsonLine, wireText } from "./wire_text.ts";

/** Rounds to 3 decimal places (confidence, latency). */
export function round3(x: number): number {
  const r = Math.round(x * 1000) / 1000;
  return r === 0 ? 0 : r; // no -0
}

/**
 * The JSON object of one event (no trailing newline), with exactly these keys
 * in this order: ts, event_type, interface (when the event names its capture
 * device), kind, variant, outcome, client, server, then when present target, session (side flows: the session's flow_id),
 * service (infrastructure), face (server), name (a host name seen on the
 * wire), invalid_utf8; then evidence, confidence, flow_id, community_id,
 * connections, latency (and duration, bytes and side_flows on a session-end summary,
 * whose event_type is "softether_session_end").
 *
 * Wire strings (`target.host`): bytes that were not valid UTF-8 are written
 * as U+FFFD each and the field's path is listed in `invalid_utf8`
 * (`["target.host"]`). The line is pure JSON on one line: C0 and C1
 * controls, DEL, U+2028 and U+2029 are `\uXXXX` escapes.
 */
export function formatJsonLine(ev: DetectionEvent): string {
  const record: Record<string, unknown> = {
    ts: formatIsoMicros(ev.ts),
    event_type: ev.phase === "end" ? "softether_session_end" : "softether",
  };
  if (ev.interface !== undefined) record.interface = ev.interface;
  record.kind = ev.kind;
  record.variant = ev.variant;
  record.outcome = ev.outcome;
  record.client = { ip: ev.client.ip, port: ev.client.port };
  record.server = { ip: ev.server.ip, port: ev.server.port };
  const invalid: string[] = [];
  if (ev.target !== undefined) {
    const host = wireText(ev.target.host);
    record.target = { host: host.text, port: ev.target.port };
    if (host.invalidUtf8) invalid.push("target.host");
  }
  if (ev.session !== undefined) record.session = ev.session;
  if (ev.service !== undefined) record.service = ev.service;
  if (ev.face !== undefined) record.face = ev.face;
  if (ev.name !== undefined) {
    const name = wireText(ev.name);
    record.name = name.text;
    if (name.invalidUtf8) invalid.push("name");
  }
  if (invalid.length > 0) record.invalid_utf8 = invalid;
  record.evidence = [...ev.evidence];
  record.confidence = round3(ev.confidence);
  record.flow_id = ev.flow_id;
  record.community_id = ev.community_id;
  record.connections = ev.connections;
  record.latency = round3(ev.latency);
  if (ev.phase === "end") record.duration = round3(ev.duration ?? 0);
  if (ev.bytes !== undefined) {
    record.bytes = { toserver: ev.bytes.toserver, toclient: ev.bytes.toclient };
  }
  if (ev.side_flows !== undefined) record.side_flows = { ...ev.side_flows };
  return escapeJsonLine(JSON.stringify(record));
}

/**
 * Appends one JSON object per event to a file (append mode, created if
 * missing, never truncated, one write call per line) or to standard output.
 */
export class JsonLinesSink implements AlertSink {
  #file: LineFile;

  /**
   * Opens `path` for appending ("-": standard output).
   *
   * @throws {SinkError} "Cannot open log file …" when it cannot be opened.
   */
  constructor(path: string) {
    this.#file = new LineFile(path);
  }

  /** Path of the file ("-" for standard output). */
  get path(): string {
    return this.#file.path;
  }

  /**
   * Appends the event's JSON line.
   *
   * @throws {SinkError} "Cannot write to log file …".
   */
  write(ev: DetectionEvent): void {
    this.#file.writeLine(formatJsonLine(ev));
  }

  /** Lines are written unbuffered; nothing to flush. */
  flush(): void {}

  /**
   * Closes and reopens the same path (SIGHUP after logrotate).
   *
   * @throws {SinkError} "Cannot open log file …"; the next write retries.
   */
  reopen(): void {
    this.#file.reopen();
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    this.#file.close();
  }
}
