/**
 * The server inventory's files (`--servers PATH`: JSON Lines; `--report
 * FILE.html`): checked at start (the directory exists and takes a new file),
 * rewritten atomically (temporary file + rename) every 60 s of wall time in
 * live mode, on SIGUSR1 (with the table on stderr) and at exit; the table
 * is printed after an offline run's summary.
 *
 * @module
 */

import type { DetectionEvent } from "../detect/event.ts";
import { checkRewritable, writeAtomic } from "../output/atomic_file.ts";
import { renderHtmlReport } from "../output/html_report.ts";
import { ServerInventory } from "../output/server_inventory.ts";
import type { Options } from "./args.ts";
import { NAME, VERSION } from "./version.ts";

/** Wall-clock seconds between rewrites of the files in live mode. */
export const INVENTORY_REWRITE_SECONDS = 60;

/** The inventory and the files it is written to. */
export class InventoryOutputs {
  readonly #inventory = new ServerInventory();
  readonly #servers: string | undefined;
  readonly #report: string | undefined;
  readonly #warned = new Set<string>();

  /**
   * Checks that each file given can be rewritten.
   *
   * @throws {SinkError} `Cannot write server inventory "x": directory "d" does not exist` (exit 2).
   */
  constructor(opts: Pick<Options, "servers" | "report">) {
    this.#servers = opts.servers;
    this.#report = opts.report;
    if (this.#servers !== undefined) checkRewritable(this.#servers, "server inventory");
    if (this.#report !== undefined) checkRewritable(this.#report, "report");
  }

  /** Takes in one detection event (every kind; alerts and session-end records). */
  observe(ev: DetectionEvent): void {
    this.#inventory.observe(ev);
  }

  /** The servers and inside hosts as a table for the console. */
  table(): string {
    return this.#inventory.table();
  }

  /**
   * Rewrites the files. A failure is printed (once per message) and
   * returned false; the old file stays as it was.
   */
  save(): boolean {
    let ok = true;
    const write = (path: string | undefined, what: string, text: () => string) => {
      if (path === undefined) return;
      try {
        writeAtomic(path, text(), what);
      } catch (e) {
        ok = false;
        const message = (e as Error).message;
        if (!this.#warned.has(message) && this.#warned.size < 20) {
          this.#warned.add(message);
          console.error(`sealert: ${message}`);
        }
      }
    };
    write(this.#servers, "server inventory", () => this.#inventory.jsonLines());
    write(
      this.#report,
      "report",
      () =>
        renderHtmlReport(this.#inventory, {
          writtenAt: Date.now(),
          generator: `${NAME} ${VERSION}`,
        }),
    );
    return ok;
  }
}
