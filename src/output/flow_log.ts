/**
 * Flow summaries as JSON Lines (conn.log style), written when flows end.
 *
 * @module
 */

import { LineFile } from "./line_file.ts";
import { flowRecord } from "../flow/flow_record.ts";
import type { FlowTable } from "../flow/flow_table.ts";
import { escapeJsonLine } from "./wire_text.ts";

/** Appends one JSON object per ended flow to a file ("-" = stdout). */
export class FlowLog {
  readonly #file: LineFile;

  /** Opens `path` for append. */
  constructor(path: string) {
    this.#file = new LineFile(path);
  }

  /** Write the summary of flow `slot`. */
  write(table: FlowTable, slot: number): void {
    this.#file.writeLine(escapeJsonLine(JSON.stringify(flowRecord(table, slot))));
  }

  /** Reopen the file (after logrotate moved it). */
  reopen(): void {
    this.#file.reopen();
  }

  /** Close the file; safe to call twice. */
  close(): void {
    this.#file.close();
  }
}
