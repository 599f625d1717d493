import assert from "node:assert/strict";
import { ipTextToWords } from "../../src/decode/ip_text.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { SessionDirectory } from "../../src/detect/session_directory.ts";

const CLIENT = "10.1.0.2", SERVER = "10.2.0.2";

Deno.test("a second session on the same flow (VPN over ICMP reconnecting) replaces the first", () => {
  const dir = new SessionDirectory();
  const alert = (ts: number, start: number): DetectionEvent => ({
    ts,
    kind: "vpn",
    variant: "ICMP",
    outcome: "established",
    client: { ip: CLIENT, port: 0 },
    server: { ip: SERVER, port: 0 },
    evidence: [],
    confidence: 1,
    flow_id: 7,
    community_id: "",
    connections: 1,
    latency: 0,
    start,
  });
  const a = new Uint32Array(4), b = new Uint32Array(4);
  ipTextToWords(CLIENT, a);
  ipTextToWords(SERVER, b);
  dir.observe(alert(100, 99));
  const first = dir.find(4, a, b, 100)!;
  dir.observe(alert(200, 199));
  const second = dir.find(4, a, b, 199.5)!;
  assert.notEqual(first, second);
  // The first session is gone from the address map: a flow of its time finds nothing.
  assert.equal(dir.find(4, a, b, 120), undefined);
  dir.attach(second, "dns_probe");
  const end: DetectionEvent = { ...alert(250, 199), phase: "end" };
  dir.observe(end);
  assert.deepEqual(end.side_flows, { udp_accel: 0, dns_probe: 1, icmp_probe: 0, nbns: 0 });
  assert.equal(dir.size, 1);
});
