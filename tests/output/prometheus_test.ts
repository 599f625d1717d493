/**
 * The Prometheus text exposition format 0.0.4 as MetricRegistry writes it:
 * HELP and TYPE before the samples of each family, families whole and in
 * registration order, label values and HELP text escaped, Go float syntax
 * for values, and the naming rules enforced at registration.
 */
import assert from "node:assert/strict";
import { MetricRegistry, PROMETHEUS_CONTENT_TYPE } from "../../src/output/prometheus.ts";

Deno.test("prometheus: HELP, TYPE and samples of each family, in registration order", () => {
  const r = new MetricRegistry();
  const packets = r.counter("x_packets_total", "Packets analysed.");
  r.gauge("x_up", "Whether it runs.").set(1);
  packets.add(3, { interface: "eth0", worker: "0" }).add(4, { interface: "eth0", worker: "1" });
  packets.add(2, { interface: "eth0", worker: "0" }); // sums into the same sample
  r.counter("x_empty_total", "No samples: left out.");
  assert.equal(
    r.format(),
    [
      "# HELP x_packets_total Packets analysed.",
      "# TYPE x_packets_total counter",
      'x_packets_total{interface="eth0",worker="0"} 5',
      'x_packets_total{interface="eth0",worker="1"} 4',
      "# HELP x_up Whether it runs.",
      "# TYPE x_up gauge",
      "x_up 1",
      "",
    ].join("\n"),
  );
  assert.equal(PROMETHEUS_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
});

Deno.test("prometheus: label values escape backslash, double quote and line feed only", () => {
  const r = new MetricRegistry();
  r.counter("x_weird_total", "Weirds.")
    .add(1, { name: 'a\\b"c\nd' })
    .add(2, { name: "tab\there, quote' é ☃ \r" })
    .add(3, { name: "" });
  assert.equal(
    r.format().split("\n").slice(2).join("\n"),
    [
      'x_weird_total{name="a\\\\b\\"c\\nd"} 1',
      'x_weird_total{name="tab\there, quote\' é ☃ \r"} 2',
      'x_weird_total{name=""} 3',
      "",
    ].join("\n"),
  );
  // The same labels escaped are one sample.
  const again = new MetricRegistry();
  again.counter("y_total", "y").add(1, { v: "\\" }).add(1, { v: "\\" });
  assert.match(again.format(), /^y_total\{v="\\\\"\} 2$/m);
});

Deno.test("prometheus: HELP text escapes backslash and line feed, keeps quotes", () => {
  const r = new MetricRegistry();
  r.gauge("x_g", 'Two\nlines, a \\ and "quotes".').set(0);
  assert.equal(r.format().split("\n")[0], '# HELP x_g Two\\nlines, a \\\\ and "quotes".');
});

Deno.test("prometheus: values in Go float syntax", () => {
  const r = new MetricRegistry();
  const g = r.gauge("x_value", "Values.");
  const values = [0, -0, 1, 2 ** 53, 1e21, 0.25, -1.5, 1e-7, Infinity, -Infinity, NaN];
  values.forEach((v, i) => g.set(v, { i: String(i) }));
  const got = r.format().split("\n").slice(2, -1).map((l) => l.split(" ")[1]);
  assert.deepEqual(got, [
    "0",
    "0",
    "1",
    "9007199254740992",
    "1e+21",
    "0.25",
    "-1.5",
    "1e-7",
    "+Inf",
    "-Inf",
    "NaN",
  ]);
  // set replaces, add sums.
  g.set(5, { i: "0" }).add(1, { i: "0" });
  assert.match(r.format(), /^x_value\{i="0"\} 6$/m);
});

Deno.test("prometheus: naming rules are enforced at registration", () => {
  const r = new MetricRegistry();
  assert.throws(() => r.counter("x_packets", "no _total"), RangeError);
  assert.throws(() => r.gauge("x_total", "gauge with _total"), RangeError);
  assert.throws(() => r.gauge("1x", "starts with a digit"), RangeError);
  assert.throws(() => r.gauge("x-y", "dash"), RangeError);
  assert.throws(() => r.gauge("", "empty"), RangeError);
  r.gauge("x:recorded_rule", "colons are allowed").set(1);
  r.counter("x_a_total", "a");
  assert.throws(() => r.gauge("x_a_total", "other type"), RangeError);
  assert.equal(r.counter("x_a_total", "again"), r.counter("x_a_total", "a"));
  const c = r.counter("x_b_total", "b");
  assert.throws(() => c.add(1, { "bad-name": "v" }), RangeError);
  assert.throws(() => c.add(1, { __reserved: "v" }), RangeError);
  assert.throws(() => c.add(1, { "0": "v" }), RangeError);
  assert.throws(() => c.add(-1), RangeError);
  assert.throws(() => c.add(NaN), RangeError);
  assert.throws(() => c.set(-2), RangeError);
  c.add(0, { _ok: "v" });
  r.gauge("x_g", "gauges may go down").set(-3);
});

/** The exposition format's rules, checked line by line (shared with the endpoint's tests). */
Deno.test("prometheus: a full exposition passes the line-by-line format check", () => {
  const r = new MetricRegistry();
  r.counter("x_a_total", "a").add(1, { k: 'q"\n\\' });
  r.gauge("x_b", "b").set(2.5);
  const lines = r.format().split("\n");
  assert.equal(lines.pop(), ""); // ends with a line feed
  const typed = new Map<string, string>();
  for (const line of lines) {
    const meta = line.match(/^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/);
    if (meta !== null) {
      if (meta[1] === "TYPE") typed.set(meta[2], meta[3]);
      continue;
    }
    const sample = line.match(
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^\\"\n])*",?)*\})? (\S+)$/,
    );
    assert.ok(sample !== null, line);
    assert.ok(typed.has(sample[1]), `${sample[1]} has a TYPE`);
    assert.ok(!Number.isNaN(Number(sample[5])), line);
  }
});
