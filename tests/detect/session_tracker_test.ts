import assert from "node:assert/strict";
import { Fold, SessionTracker } from "../../src/detect/session_tracker.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";

function ev(ts: number, over: Partial<DetectionEvent> = {}): DetectionEvent {
  return {
    ts,
    kind: "vpn",
    variant: "TCP",
    outcome: "established",
    client: { ip: "10.0.0.1", port: 40000 + ts },
    server: { ip: "10.0.0.2", port: 443 },
    evidence: [],
    confidence: 0.8,
    flow_id: ts,
    community_id: "",
    connections: 1,
    latency: 0.1,
    ...over,
  };
}

Deno.test("sessions: extra connections fold into the reported session", () => {
  const t = new SessionTracker();
  const main = ev(1);
  assert.equal(t.connection(main, false), Fold.NEW);
  assert.equal(t.connection(ev(2), true), Fold.FOLDED);
  assert.equal(t.connection(ev(3), true), Fold.FOLDED);
  assert.equal(main.connections, 3);
  // A second login while the first session lives is another session.
  assert.equal(t.connection(ev(4), false), Fold.NEW);
});

Deno.test("sessions: retries of a failed login are one attempt; later ones a new line", () => {
  const t = new SessionTracker();
  const a = ev(10, { outcome: "attempt" });
  assert.equal(t.connection(a, false), Fold.NEW);
  t.ended(a, 10.1);
  assert.equal(t.connection(ev(15, { outcome: "attempt" }), false), Fold.FOLDED);
  t.ended(a, 15.1);
  assert.equal(t.connection(ev(1000, { outcome: "attempt" }), false), Fold.NEW);
});

Deno.test("sessions: an extra connection with no session seen is reported", () => {
  const t = new SessionTracker();
  assert.equal(t.connection(ev(1), true), Fold.NEW);
});

Deno.test("sessions: a connection picked up mid-stream is held until its session shows the layer", () => {
  const started: DetectionEvent[] = [];
  const t = new SessionTracker(() => {}, (e) => started.push(e));
  // The main connection's CONNECT went by before the capture: variant unknown.
  const main = ev(1);
  assert.equal(t.hold(main, false, 4), Fold.HELD);
  assert.equal(t.nextDue, 4);
  // Its extra connection shows the proxy: the held one starts the session with it first.
  const extra = ev(2, { variant: "HTTP Proxy", target: { host: "10.0.0.9", port: 443 } });
  assert.equal(t.connection(extra, true), Fold.FOLDED);
  assert.deepEqual(started, [main]);
  assert.equal(main.variant, "HTTP Proxy");
  assert.deepEqual(main.target, { host: "10.0.0.9", port: 443 });
  assert.equal(main.connections, 2);
  assert.equal(t.nextDue, Infinity);
});

Deno.test("sessions: a held connection goes out as it is when its time is up, or joins an orphan", () => {
  const started: DetectionEvent[] = [];
  const t = new SessionTracker(() => {}, (e) => started.push(e));
  const a = ev(1);
  assert.equal(t.hold(a, false, 4), Fold.HELD);
  t.release(3.9);
  assert.deepEqual(started, []);
  t.release(4);
  assert.deepEqual(started, [a]);
  assert.equal(a.variant, "TCP");
  // An extra connection seen first started an (orphan) session: the main one joins it.
  const u = new SessionTracker();
  const extra = ev(10, { variant: "SOCKS5 Proxy" });
  assert.equal(u.connection(extra, true), Fold.NEW);
  const main = ev(11);
  assert.equal(u.hold(main, false, 20), Fold.FOLDED);
  assert.equal(main.variant, "SOCKS5 Proxy");
});

Deno.test("sessions: the end record sums the IP bytes of the session's connections each way", () => {
  const ends: DetectionEvent[] = [];
  const t = new SessionTracker((e) => ends.push(e));
  const main = ev(1);
  const extra = ev(2);
  assert.equal(t.connection(main, false), Fold.NEW);
  assert.equal(t.connection(extra, true), Fold.FOLDED);
  t.ended(main, 5, 100, 1000);
  t.ended(extra, 6, 10, 20);
  t.finish();
  assert.equal(ends.length, 1);
  assert.deepEqual(ends[0].bytes, { toserver: 110, toclient: 1020 });
  assert.equal(ends[0].connections, 2);
  // An attempt whose retries are one line: every retry's bytes count.
  const u = new SessionTracker((e) => ends.push(e));
  const a = ev(10, { outcome: "attempt" }), b = ev(20, { outcome: "attempt" });
  u.connection(a, false);
  u.ended(a, 10.5, 3, 4);
  u.connection(b, false);
  u.ended(b, 20.5, 5, 6);
  u.sweep(1000);
  assert.deepEqual(ends[1].bytes, { toserver: 8, toclient: 10 });
});

Deno.test("sessions: on real captures the end record's bytes are its connections' (flow log)", async () => {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  for (
    const [file, server] of [
      ["lab2/bulk_maxtcp4.pcap", "10.77.2.2:443"], // 4 connections
      ["lab/http_proxy.pcap", "10.77.3.2:3128"],
      ["lab/ssh_forward.pcap", "10.77.3.2:22"],
    ]
  ) {
    const path = new URL(`../../testdata/${file}`, import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "--read", path, "--json", "-", "--flows", "-", "--log", "none"],
      stdin: "null",
      stderr: "null",
    }).output();
    const records = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    const ends = records.filter((r) => r.event_type === "softether_session_end");
    assert.equal(ends.length, 1, file);
    // Every TCP flow of the client to the server is a connection of the session.
    const flows = records.filter((r) => r.proto === "tcp" && r.server === server);
    assert.equal(flows.length, ends[0].connections, file);
    const sum = (i: number) => flows.reduce((s, f) => s + f.bytes[i], 0);
    assert.deepEqual(ends[0].bytes, { toserver: sum(0), toclient: sum(1) }, file);
    assert.ok(sum(1) > 100_000, file);
  }
});

Deno.test("sessions: a connection picked up mid-stream with the roles reversed counts its bytes the right way", async () => {
  // direct_443.pcap from record 10 on (the server's first TLS ticket): the flow table takes the
  // server for the client of the main connection; its inspection finds the roles.
  const lab = new URL("../../testdata/lab/direct_443.pcap", import.meta.url).pathname;
  const b = Deno.readFileSync(lab);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 24;
  for (let i = 0; i < 9; i++) pos += 16 + v.getUint32(pos + 8, true);
  const path = Deno.makeTempFileSync({ suffix: ".pcap" });
  try {
    Deno.writeFileSync(path, new Uint8Array([...b.subarray(0, 24), ...b.subarray(pos)]));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../main.ts", import.meta.url).pathname,
        "--read",
        path,
        "--json",
        "-",
        "--flows",
        "-",
        "--log",
        "none",
      ],
      stdin: "null",
      stderr: "null",
    }).output();
    const records = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    const [end] = records.filter((r) => r.event_type === "softether_session_end");
    const flows = records.filter((r) =>
      r.proto === "tcp" && [r.client, r.server].includes("10.77.2.2:443")
    );
    const reversed = flows.filter((f) => f.client === "10.77.2.2:443");
    assert.equal(reversed.length, 1);
    let toserver = 0, toclient = 0;
    for (const f of flows) {
      const r = f.client === "10.77.2.2:443";
      toserver += f.bytes[r ? 1 : 0];
      toclient += f.bytes[r ? 0 : 1];
    }
    assert.equal(flows.length, end.connections);
    assert.deepEqual(end.bytes, { toserver, toclient });
    assert.ok(toclient > toserver * 5); // the download is the server's
  } finally {
    Deno.removeSync(path);
  }
});
