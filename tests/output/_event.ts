/** Test fixture: a detection event with overridable fields. */

import type { DetectionEvent } from "../../src/detect/event.ts";

/** The 2004 sample connection, at 2004-08-28 11:01:00.25 UTC (20:01:00 in JST). */
export function sampleEvent(over: Partial<DetectionEvent> = {}): DetectionEvent {
  return {
    ts: Date.UTC(2004, 7, 28, 11, 1, 0) / 1000 + 0.25,
    kind: "vpn",
    variant: "TCP",
    outcome: "established",
    client: { ip: "192.168.126.229", port: 1027 },
    server: { ip: "61.197.235.210", port: 7777 },
    evidence: ["watermark", "hello_signature"],
    confidence: 0.9876,
    flow_id: 42,
    community_id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
    connections: 1,
    latency: 0.01234,
    ...over,
  };
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = Deno.makeTempDirSync({ prefix: "sealert_output_" });
  return { dir, cleanup: () => Deno.removeSync(dir, { recursive: true }) };
}
