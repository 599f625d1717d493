/**
 * The server inventory: detection events in, the exact JSON Lines and table
 * out — direct sessions with their end records (bytes, connections),
 * attempts, administration, proxies (the target is the server, the proxy
 * "via"), a target host name, SSH (no target: the SSH host), IPv6 (a target
 * address written out in full is the same row), side flows tied by session,
 * server faces, infrastructure contacts (a server inside found by them),
 * wire strings, and the timeline's bounds.
 */
import assert from "node:assert/strict";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { ServerInventory } from "../../src/output/server_inventory.ts";
import { formatAlertTime, formatIsoMicros } from "../../src/output/timestamp.ts";
import { sampleEvent } from "./_event.ts";
import { end, inventoryOf, scenario, session, T0 } from "./_inventory.ts";

const sides = (udp = 0) => ({ udp_accel: udp, dns_probe: 0, icmp_probe: 0, nbns: 0 });

Deno.test("inventory: every kind of event → the exact JSON Lines", () => {
  const text = inventoryOf(scenario()).jsonLines();
  assert.ok(text.endsWith("\n"));
  const lines = text.slice(0, -1).split("\n");
  assert.deepEqual(lines.map((l) => JSON.parse(l)), [
    {
      type: "server",
      server: "192.0.2.10",
      ports: [443, 1194, 5555],
      via: ["10.9.9.9:3128"],
      faces: ["SoftEther", "OpenVPN", "admin"],
      variants: ["TCP", "HTTP Proxy"],
      first_seen: formatIsoMicros(T0 + 0.5),
      last_seen: formatIsoMicros(T0 + 700),
      sessions: { established: 2, attempt: 1, active: 1 },
      admin: 1,
      clients: 4,
      bytes: { toserver: 1400, toclient: 5300 },
      side_flows: sides(1),
      names: ["vpn.example.org"],
      revealed: [],
      infrastructure: ["DDNS"],
    },
    {
      type: "server",
      server: "vpn.example.com",
      ports: [992],
      via: ["10.9.9.9:1080"],
      faces: ["SoftEther"],
      variants: ["SOCKS5 Proxy"],
      first_seen: formatIsoMicros(T0 + 399.5),
      last_seen: formatIsoMicros(T0 + 450),
      sessions: { established: 1, attempt: 0, active: 0 },
      admin: 0,
      clients: 1,
      bytes: { toserver: 7000, toclient: 70000 },
      side_flows: sides(),
      names: [],
      revealed: [],
      infrastructure: [],
    },
    {
      type: "server",
      server: "10.9.9.8",
      ports: [22],
      via: [],
      faces: ["SoftEther"],
      variants: ["SSH"],
      first_seen: formatIsoMicros(T0 + 499.5),
      last_seen: formatIsoMicros(T0 + 560),
      sessions: { established: 1, attempt: 0, active: 0 },
      admin: 0,
      clients: 1,
      bytes: { toserver: 2000, toclient: 9000 },
      side_flows: sides(),
      names: [],
      revealed: [],
      infrastructure: [],
    },
    {
      type: "server",
      server: "2001:db8::10",
      ports: [443],
      via: ["[2001:db8::99]:8080"],
      faces: ["SoftEther"],
      variants: ["TCP", "HTTP Proxy"],
      first_seen: formatIsoMicros(T0 + 899.5),
      last_seen: formatIsoMicros(T0 + 950),
      sessions: { established: 2, attempt: 0, active: 1 },
      admin: 0,
      clients: 2,
      bytes: { toserver: 10, toclient: 20 },
      side_flows: sides(),
      names: [],
      revealed: [],
      infrastructure: [],
    },
    {
      type: "inside_host",
      host: "192.0.2.10",
      services: ["DDNS"],
      contacts: 1,
      first_seen: formatIsoMicros(T0 + 700),
      last_seen: formatIsoMicros(T0 + 700),
      names: ["x.softether.net"],
      server: true,
    },
    {
      type: "inside_host",
      host: "10.0.0.50",
      services: ["NAT-T"],
      contacts: 1,
      first_seen: formatIsoMicros(T0 + 800),
      last_seen: formatIsoMicros(T0 + 800),
      names: [],
      server: false,
    },
  ]);
  // Keys in a fixed order, one object per line.
  assert.equal(
    lines[2],
    `{"type":"server","server":"10.9.9.8","ports":[22],"via":[],"faces":["SoftEther"],` +
      `"variants":["SSH"],"first_seen":"${formatIsoMicros(T0 + 499.5)}","last_seen":"${
        formatIsoMicros(T0 + 560)
      }",` +
      `"sessions":{"established":1,"attempt":0,"active":0},"admin":0,"clients":1,` +
      `"bytes":{"toserver":2000,"toclient":9000},` +
      `"side_flows":{"udp_accel":0,"dns_probe":0,"icmp_probe":0,"nbns":0},"names":[],` +
      `"revealed":[],"infrastructure":[]}`,
  );
});

Deno.test("inventory: the exact table", () => {
  const t = (s: number) => formatAlertTime(T0 + s);
  assert.equal(
    inventoryOf(scenario()).table(),
    [
      "SoftEther servers: 4",
      "SERVER           PORTS          FACES                    VARIANTS        SESSIONS  ATTEMPTS  ADMIN  CLIENTS  TO SERVER  TO CLIENT  FIRST SEEN           LAST SEEN            VIA",
      `192.0.2.10       443,1194,5555  SoftEther,OpenVPN,admin  TCP,HTTP Proxy         2         1      1        4     1.4 kB     5.3 kB  ${
        t(0.5)
      }  ${t(700)}  10.9.9.9:3128`,
      `vpn.example.com  992            SoftEther                SOCKS5 Proxy           1         0      0        1     7.0 kB    70.0 kB  ${
        t(399.5)
      }  ${t(450)}  10.9.9.9:1080`,
      `10.9.9.8         22             SoftEther                SSH                    1         0      0        1     2.0 kB     9.0 kB  ${
        t(499.5)
      }  ${t(560)}  -`,
      `2001:db8::10     443            SoftEther                TCP,HTTP Proxy         2         0      0        2       10 B       20 B  ${
        t(899.5)
      }  ${t(950)}  [2001:db8::99]:8080`,
      "SoftEther hosts inside: 2",
      "HOST        SERVICES  CONTACTS  SERVER  FIRST SEEN           LAST SEEN            NAMES",
      `192.0.2.10  DDNS             1  yes     ${t(700)}  ${t(700)}  x.softether.net`,
      `10.0.0.50   NAT-T            1  no      ${t(800)}  ${t(800)}  -`,
    ].join("\n"),
  );
});

Deno.test("inventory: nothing seen → empty JSON, a one-line table", () => {
  const inv = new ServerInventory();
  assert.equal(inv.jsonLines(), "");
  assert.equal(inv.table(), "SoftEther servers: 0");
});

Deno.test("inventory: the timeline's sessions and markers", () => {
  const inv = inventoryOf(scenario());
  const [main, , , v6] = inv.servers();
  assert.deepEqual(
    main.spans.map((s) => [s.id, s.client, s.kind, s.variant, s.outcome, s.start, s.end]),
    [
      [1, "10.0.0.1", "vpn", "TCP", "established", T0 + 0.5, T0 + 60],
      [2, "10.0.0.2", "vpn", "TCP", "attempt", T0 + 99.5, T0 + 101],
      [3, "10.0.0.1", "admin", "TCP", "established", T0 + 199.5, T0 + 201],
      [4, "10.0.0.3", "vpn", "HTTP Proxy", "established", T0 + 299.5, NaN],
    ],
  );
  assert.deepEqual(
    main.spans.map((s) => [s.connections, s.toServer, s.toClient, s.via]),
    [[2, 1000, 5000, undefined], [6, 300, 200, undefined], [1, 100, 100, undefined], [
      1,
      0,
      0,
      "10.9.9.9:3128",
    ]],
  );
  // The side flow on its session's client lane; the face and the server's own contact.
  assert.deepEqual(main.markers, [
    { ts: T0 + 5, type: "side", what: "udp_accel", peer: "10.0.0.1" },
    { ts: T0 + 600, type: "face", what: "OpenVPN", peer: "10.0.0.9" },
    { ts: T0 + 700, type: "infra", what: "DDNS", peer: "203.0.113.1:5004" },
  ]);
  assert.deepEqual(v6.spans.map((s) => [s.client, s.via]), [
    ["2001:db8::5", undefined],
    ["2001:db8::6", "[2001:db8::99]:8080"],
  ]);
  assert.equal(inv.first, T0 + 0.5);
  assert.equal(inv.last, T0 + 950);
});

Deno.test("inventory: a side flow without a known session goes to its server's row", () => {
  const inv = inventoryOf([
    session(1, T0, "10.0.0.1", "192.0.2.10", 443),
    // The flow table had the roles the other way round: the server is the "client".
    sampleEvent({
      kind: "nbns",
      variant: "UDP",
      ts: T0 + 2,
      session: 999,
      client: { ip: "192.0.2.10", port: 137 },
      server: { ip: "10.0.0.1", port: 137 },
    }),
    // No session and no row: a row of its own.
    sampleEvent({
      kind: "icmp_probe",
      variant: "ICMP",
      ts: T0 + 3,
      client: { ip: "10.0.0.7", port: 0 },
      server: { ip: "198.51.100.1", port: 0 },
    }),
  ]);
  const [a, b] = inv.servers();
  assert.equal(a.host, "192.0.2.10");
  assert.deepEqual(a.sideFlows, { ...sides(), nbns: 1 });
  assert.deepEqual(a.markers.map((m) => m.peer), ["10.0.0.1"]);
  assert.equal(a.clients, 1);
  assert.equal(b.host, "198.51.100.1");
  assert.deepEqual(b.ports, []);
  assert.deepEqual(b.sideFlows, { ...sides(), icmp_probe: 1 });
});

Deno.test("inventory: wire strings are made safe (JSON escapes, invalid UTF-8, table controls)", () => {
  const host = "evil\u0007<b>\n\u2028\ud800.example";
  const inv = inventoryOf([
    session(1, T0, "10.0.0.1", "10.9.9.9", 3128, {
      variant: "HTTP Proxy",
      target: { host, port: 443 },
    }),
  ]);
  const line = inv.jsonLines();
  assert.equal(line.split("\n").length, 2); // one line and its "\n"
  assert.ok(!line.includes("\u2028") && !line.includes("\u0007"));
  const obj = JSON.parse(line);
  assert.equal(obj.server, "evil\u0007<b>\n\u2028\ufffd.example");
  assert.deepEqual(obj.invalid_utf8, ["server"]);
  assert.match(line, /"server":"evil\\u0007<b>\\n\\u2028\ufffd\.example"/);
  const table = inv.table().split("\n");
  assert.equal(table.length, 3);
  assert.ok(table[2].startsWith("evil?<b>??\ufffd.example  443"));
});

Deno.test("inventory: the timeline keeps the newest sessions; the counts stay exact", () => {
  const events: DetectionEvent[] = [];
  for (let i = 1; i <= 305; i++) {
    const ev = session(i, T0 + i * 10, "10.0.0.1", "192.0.2.10", 443);
    events.push(ev, end(ev, T0 + i * 10 + 5, 1, 2));
  }
  const [s] = inventoryOf(events).servers();
  assert.equal(s.established, 305);
  assert.equal(s.active, 0);
  assert.equal(s.toServer, 305);
  assert.equal(s.toClient, 610);
  assert.equal(s.spans.length, 300);
  assert.equal(s.spansDropped, 5);
  assert.equal(s.spans[0].id, 6);
  assert.equal(s.spans[299].end, T0 + 3055);
});

Deno.test("inventory: side flows reveal the server behind an SSH host or a target host name", () => {
  const ssh = session(1, T0, "10.0.0.1", "10.9.9.8", 22, { variant: "SSH" });
  const named = session(2, T0 + 1, "10.0.0.2", "10.9.9.9", 3128, {
    variant: "HTTP Proxy",
    target: { host: "vpn.example.com", port: 443 },
  });
  const direct = session(3, T0 + 2, "10.0.0.3", "192.0.2.10", 443);
  const accel = (session: number, client: string, ts: number) =>
    sampleEvent({
      kind: "udp_accel",
      variant: "UDP",
      ts,
      session,
      client: { ip: client, port: 50000 },
      server: { ip: "192.0.2.10", port: 40000 },
    });
  const inv = inventoryOf([
    ssh,
    named,
    direct,
    accel(1, "10.0.0.1", T0 + 3),
    accel(2, "10.0.0.2", T0 + 4),
    accel(3, "10.0.0.3", T0 + 5),
  ]);
  assert.deepEqual(inv.servers().map((s) => [s.host, s.revealed, s.sideFlows.udp_accel]), [
    ["10.9.9.8", ["192.0.2.10"], 1],
    ["vpn.example.com", ["192.0.2.10"], 1],
    ["192.0.2.10", [], 1],
  ]);
  assert.match(inv.jsonLines(), /"server":"10\.9\.9\.8",.*"revealed":\["192\.0\.2\.10"\]/);
});
