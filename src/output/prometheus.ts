/**
 * Prometheus text exposition format 0.0.4: a small registry of counters and
 * gauges with labels, formatted as the format requires — one `# HELP` and one
 * `# TYPE` line per metric family, then its samples, all of a family together;
 * metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*`
 * (not starting with `__`, reserved by Prometheus); label values with `\`, `"`
 * and line feed escaped as `\\`, `\"` and `\n`, HELP text with `\` and line
 * feed escaped; values as Go's ParseFloat reads them (`+Inf`, `-Inf`, `NaN`).
 * Counters are named `…_total` and never negative (the naming practices at
 * https://prometheus.io/docs/practices/naming/); a mistake there is a
 * programming error, thrown as a `RangeError` at registration.
 *
 * Pure formatting: a registry is filled from counters read at scrape time and
 * formatted once.
 *
 * ```ts
 * const r = new MetricRegistry();
 * r.counter("sealert_packets_total", "Packets analysed.").add(10, { worker: "0" });
 * r.format(); // "# HELP sealert_packets_total Packets analysed.\n# TYPE … counter\n…"
 * ```
 *
 * @module
 */

/** Content-Type of the text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Metric types sealert exports. */
type MetricType = "counter" | "gauge";

/** Label name → value. The order given is the order written. */
export type Labels = Readonly<Record<string, string>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value escaped for the exposition format: `\` → `\\`, `"` → `\"`, line feed → `\n`. */
function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\\" ? "\\\\" : c === '"' ? '\\"' : "\\n");
}

/** HELP text escaped for the exposition format: `\` → `\\`, line feed → `\n`. */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => c === "\\" ? "\\\\" : "\\n");
}

/** A sample value as the format writes it (Go float syntax). */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return Object.is(v, -0) ? "0" : String(v);
}

/** One metric: every sample of one name, one per label set. */
class MetricFamily {
  /** The metric name. */
  readonly name: string;
  /** Counter or gauge. */
  readonly type: MetricType;
  /** The HELP text. */
  readonly help: string;
  // Key: the labels as written ({a="x",b="y"}), value: the sample's value.
  readonly #samples = new Map<string, number>();

  /** Creates the family; {@linkcode MetricRegistry} checks the name. */
  constructor(name: string, type: MetricType, help: string) {
    this.name = name;
    this.type = type;
    this.help = help;
  }

  /** Samples so far. */
  get size(): number {
    return this.#samples.size;
  }

  /**
   * Adds `value` to the sample with `labels` (created at 0), so counters read
   * from several sources sum up.
   *
   * @throws {RangeError} On a bad label name, or a negative or NaN counter value.
   */
  add(value: number, labels: Labels = {}): this {
    const key = this.#key(labels, value);
    this.#samples.set(key, (this.#samples.get(key) ?? 0) + value);
    return this;
  }

  /**
   * Sets the sample with `labels` to `value`.
   *
   * @throws {RangeError} On a bad label name, or a negative or NaN counter value.
   */
  set(value: number, labels: Labels = {}): this {
    this.#samples.set(this.#key(labels, value), value);
    return this;
  }

  #key(labels: Labels, value: number): string {
    if (this.type === "counter" && !(value >= 0)) {
      throw new RangeError(`Counter ${this.name}: value ${value} is not a count`);
    }
    const parts: string[] = [];
    for (const [name, v] of Object.entries(labels)) {
      if (!LABEL_NAME.test(name) || name.startsWith("__")) {
        throw new RangeError(`Metric ${this.name}: invalid label name "${name}"`);
      }
      parts.push(`${name}="${escapeLabelValue(v)}"`);
    }
    return parts.length > 0 ? `{${parts.join(",")}}` : "";
  }

  /** The family's lines (HELP, TYPE, samples), each ending in a line feed. */
  format(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    for (const [labels, v] of this.#samples) out += `${this.name}${labels} ${formatValue(v)}\n`;
    return out;
  }
}

/** Metric families in registration order; formatted as one exposition. */
export class MetricRegistry {
  readonly #families = new Map<string, MetricFamily>();

  /**
   * The counter `name` (registered on first use): a name ending in `_total`.
   *
   * @throws {RangeError} On a bad name, or a name registered with another type.
   */
  counter(name: string, help: string): MetricFamily {
    if (!name.endsWith("_total")) {
      throw new RangeError(`Counter ${name}: counter names end in _total`);
    }
    return this.#family(name, "counter", help);
  }

  /**
   * The gauge `name` (registered on first use): not ending in `_total`.
   *
   * @throws {RangeError} On a bad name, or a name registered with another type.
   */
  gauge(name: string, help: string): MetricFamily {
    if (name.endsWith("_total")) throw new RangeError(`Gauge ${name}: _total is for counters`);
    return this.#family(name, "gauge", help);
  }

  #family(name: string, type: MetricType, help: string): MetricFamily {
    if (!METRIC_NAME.test(name)) throw new RangeError(`Invalid metric name "${name}"`);
    const known = this.#families.get(name);
    if (known !== undefined) {
      if (known.type !== type) {
        throw new RangeError(`Metric ${name} is a ${known.type}, not a ${type}`);
      }
      return known;
    }
    const f = new MetricFamily(name, type, help);
    this.#families.set(name, f);
    return f;
  }

  /**
   * The exposition: every family with at least one sample (a family without
   * samples is left out), in registration order.
   */
  format(): string {
    let out = "";
    for (const f of this.#families.values()) if (f.size > 0) out += f.format();
    return out;
  }
}
