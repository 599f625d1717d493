/** Test fixture: detection events covering every kind the server inventory takes in. */

import type { DetectionEvent } from "../../src/detect/event.ts";
import { ServerInventory } from "../../src/output/server_inventory.ts";
import { sampleEvent } from "./_event.ts";

/** 2026-11-26 06:00:00 UTC. */
export const T0 = Date.UTC(2026, 10, 26, 6, 0, 0) / 1000;

/** A session alert: flow `id`, decided at `ts`, its first connection 0.5 s before. */
export function session(
  id: number,
  ts: number,
  client: string,
  server: string,
  port: number,
  over: Partial<DetectionEvent> = {},
): DetectionEvent {
  return sampleEvent({
    ts,
    start: ts - 0.5,
    flow_id: id,
    client: { ip: client, port: 40000 + id },
    server: { ip: server, port },
    ...over,
  });
}

/** The session-end record of `alert` at `ts` with `bytes` each way. */
export function end(
  alert: DetectionEvent,
  ts: number,
  toserver: number,
  toclient: number,
  conns = 2,
) {
  return {
    ...alert,
    phase: "end" as const,
    ts,
    duration: ts - alert.ts,
    connections: conns,
    bytes: { toserver, toclient },
  };
}

/** A sequence covering every kind of event; returns it in order. */
export function scenario(): DetectionEvent[] {
  const direct = session(1, T0 + 1, "10.0.0.1", "192.0.2.10", 443);
  const attempt = session(2, T0 + 100, "10.0.0.2", "192.0.2.10", 443, { outcome: "attempt" });
  const admin = session(3, T0 + 200, "10.0.0.1", "192.0.2.10", 5555, { kind: "admin" });
  const proxied = session(4, T0 + 300, "10.0.0.3", "10.9.9.9", 3128, {
    variant: "HTTP Proxy",
    target: { host: "192.0.2.10", port: 443 },
  });
  const named = session(5, T0 + 400, "10.0.0.3", "10.9.9.9", 1080, {
    variant: "SOCKS5 Proxy",
    target: { host: "vpn.example.com", port: 992 },
  });
  const ssh = session(6, T0 + 500, "10.0.0.4", "10.9.9.8", 22, { variant: "SSH" });
  const v6 = session(7, T0 + 900, "2001:db8::5", "2001:db8::10", 443);
  const v6proxy = session(8, T0 + 950, "2001:db8::6", "2001:db8::99", 8080, {
    variant: "HTTP Proxy",
    target: { host: "[2001:0db8:0000:0000:0000:0000:0000:0010]", port: 443 },
  });
  return [
    direct,
    sampleEvent({
      kind: "udp_accel",
      variant: "UDP",
      ts: T0 + 5,
      flow_id: 11,
      session: 1,
      client: { ip: "10.0.0.1", port: 50000 },
      server: { ip: "192.0.2.10", port: 40001 },
    }),
    end(direct, T0 + 60, 1000, 5000),
    attempt,
    end(attempt, T0 + 101, 300, 200, 6),
    admin,
    end(admin, T0 + 201, 100, 100, 1),
    proxied,
    named,
    end(named, T0 + 450, 7000, 70000),
    ssh,
    end(ssh, T0 + 560, 2000, 9000, 1),
    sampleEvent({
      kind: "server",
      variant: "TCP",
      face: "OpenVPN",
      name: "vpn.example.org",
      ts: T0 + 600,
      flow_id: 20,
      client: { ip: "10.0.0.9", port: 41000 },
      server: { ip: "192.0.2.10", port: 1194 },
    }),
    sampleEvent({
      kind: "infrastructure",
      variant: "UDP",
      service: "DDNS",
      name: "x.softether.net",
      ts: T0 + 700,
      flow_id: 21,
      client: { ip: "192.0.2.10", port: 5004 },
      server: { ip: "203.0.113.1", port: 5004 },
    }),
    sampleEvent({
      kind: "infrastructure",
      variant: "UDP",
      service: "NAT-T",
      ts: T0 + 800,
      flow_id: 22,
      client: { ip: "10.0.0.50", port: 5004 },
      server: { ip: "203.0.113.2", port: 5004 },
    }),
    v6,
    end(v6, T0 + 930, 10, 20),
    v6proxy,
  ];
}

/** The inventory of `events`. */
export function inventoryOf(events: DetectionEvent[]): ServerInventory {
  const inv = new ServerInventory();
  for (const ev of events) inv.observe(ev);
  return inv;
}
