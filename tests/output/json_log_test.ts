import assert from "node:assert/strict";
import { SinkError } from "../../src/output/sink.ts";
import { formatJsonLine, JsonLinesSink, round3 } from "../../src/output/json_log.ts";
import { sampleEvent, tempDir } from "./_event.ts";

const KEYS = [
  "ts",
  "event_type",
  "kind",
  "variant",
  "outcome",
  "client",
  "server",
  "evidence",
  "confidence",
  "flow_id",
  "community_id",
  "connections",
  "latency",
];

Deno.test("formatJsonLine: keys in order and values", () => {
  const ts = Date.UTC(2026, 10, 26, 5, 56, 58) / 1000 + 0.123456;
  const line = formatJsonLine(sampleEvent({ ts, connections: 3, latency: 1.23456 }));
  assert.ok(!line.includes("\n"));
  const obj = JSON.parse(line);
  assert.deepEqual(Object.keys(obj), KEYS);
  assert.deepEqual(obj, {
    ts: "2026-11-26T05:56:58.123456Z",
    event_type: "softether",
    kind: "vpn",
    variant: "TCP",
    outcome: "established",
    client: { ip: "192.168.126.229", port: 1027 },
    server: { ip: "61.197.235.210", port: 7777 },
    evidence: ["watermark", "hello_signature"],
    confidence: 0.988,
    flow_id: 42,
    community_id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
    connections: 3,
    latency: 1.235,
  });
  assert.equal(
    line,
    '{"ts":"2026-11-26T05:56:58.123456Z","event_type":"softether","kind":"vpn",' +
      '"variant":"TCP","outcome":"established",' +
      '"client":{"ip":"192.168.126.229","port":1027},' +
      '"server":{"ip":"61.197.235.210","port":7777},' +
      '"evidence":["watermark","hello_signature"],"confidence":0.988,"flow_id":42,' +
      '"community_id":"1:LQU9qZlK+B5F3KDmev6m5PMibrg=","connections":3,"latency":1.235}',
  );
});

Deno.test("formatJsonLine: target only when present, after server", () => {
  const obj = JSON.parse(formatJsonLine(sampleEvent({
    variant: "HTTP Proxy",
    kind: "admin",
    outcome: "attempt",
    target: { host: 'vpn.example.com\n"x"', port: 443 },
  })));
  assert.deepEqual(Object.keys(obj), [...KEYS.slice(0, 7), "target", ...KEYS.slice(7)]);
  assert.deepEqual(obj.target, { host: 'vpn.example.com\n"x"', port: 443 });
  assert.equal(obj.kind, "admin");
  assert.equal(obj.outcome, "attempt");
  assert.equal(obj.variant, "HTTP Proxy");
});

Deno.test("formatJsonLine: interface only when the event names one, after event_type", () => {
  const line = formatJsonLine(sampleEvent({ interface: "eth1" }));
  const keys = [...KEYS.slice(0, 2), "interface", ...KEYS.slice(2)];
  assert.deepEqual(Object.keys(JSON.parse(line)), keys);
  assert.ok(line.includes('"event_type":"softether","interface":"eth1","kind":"vpn",'), line);
  assert.ok(!formatJsonLine(sampleEvent()).includes("interface"));
});

Deno.test("formatJsonLine copies the event's client/server objects (no extra keys)", () => {
  const ev = sampleEvent();
  (ev.client as unknown as Record<string, unknown>).extra = 1;
  assert.deepEqual(Object.keys(JSON.parse(formatJsonLine(ev)).client), ["ip", "port"]);
});

Deno.test("round3", () => {
  assert.equal(round3(0.9876), 0.988);
  assert.equal(round3(1), 1);
  assert.equal(round3(0.0004), 0);
  assert.ok(Object.is(round3(-0.0001), 0));
  assert.equal(round3(0.0125), 0.013);
});

Deno.test("JsonLinesSink appends one object per line and reopens", () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = `${dir}/alerts.json`;
    const a = new JsonLinesSink(path);
    assert.equal(a.path, path);
    a.write(sampleEvent({ flow_id: 1 }));
    a.close();
    const b = new JsonLinesSink(path);
    b.write(sampleEvent({ flow_id: 2 }));
    Deno.renameSync(path, `${path}.1`);
    b.reopen();
    b.write(sampleEvent({ flow_id: 3 }));
    b.flush();
    b.close();
    const ids = (p: string) =>
      Deno.readTextFileSync(p).trimEnd().split("\n").map((l) => JSON.parse(l).flow_id);
    assert.deepEqual(ids(`${path}.1`), [1, 2]);
    assert.deepEqual(ids(path), [3]);
  } finally {
    cleanup();
  }
});

Deno.test("JsonLinesSink errors are SinkErrors", () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.throws(() => new JsonLinesSink(dir), SinkError);
    if (Deno.build.os === "linux") {
      const s = new JsonLinesSink("/dev/full");
      assert.throws(
        () => s.write(sampleEvent()),
        new SinkError(`Cannot write to log file "/dev/full": No space left on device`),
      );
      s.close();
    }
  } finally {
    cleanup();
  }
});

Deno.test("JsonLinesSink '-' writes to stdout", async () => {
  const mod = new URL("../../src/output/json_log.ts", import.meta.url).href;
  const ev = new URL("./_event.ts", import.meta.url).href;
  const code = `import { JsonLinesSink } from ${JSON.stringify(mod)};
import { sampleEvent } from ${JSON.stringify(ev)};
const s = new JsonLinesSink("-"); s.write(sampleEvent()); s.close();`;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code] }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout), formatJsonLine(sampleEvent()) + "\n");
});
