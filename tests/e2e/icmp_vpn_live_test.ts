/**
 * End to end, live: a real SoftEther VPN over ICMP session. The lab
 * (tests/lab) brings up the SoftEther server and client; tests/lab/scenario3.sh
 * icmp_vpn switches the server's VPN over ICMP on, makes the router reject
 * the client's TCP and UDP to the server (so its connect race ends on ICMP),
 * connects and pings through the tunnel. sealert captures live through
 * libpcap on the router's client-facing interface; the test checks the one
 * alert line, its JSON record, the session-end record and the connect race's
 * DNS-shaped probes tied to the session.
 *
 * Needs root and the lab's packages. Outside CI it skips with a reason when
 * they are missing; with CI=true it runs or fails. The lab lock is taken
 * first (another run or a recording may hold it); `down` runs in finally and
 * the test then checks that nothing of the lab is left.
 */
import assert from "node:assert/strict";
import {
  LAB,
  labLeftovers,
  labMissing,
  type LiveSealert,
  lockLab,
  ROOT,
  sh,
  startLiveSealert,
  stopLiveSealert,
  waitFor,
} from "../helpers/live_lab.ts";

const SCENARIO3 = `${ROOT}tests/lab/scenario3.sh`;
const LINE =
  /^\[[\d/: ]+\] SoftEther ICMP Connection Detected \(client 10\.77\.1\.2, server 10\.77\.2\.2\)$/;

const reason = labMissing(["vpnserver", "vpnclient", "tcpdump"]);
const inCi = Deno.env.get("CI") === "true";
if (reason !== undefined && !inCi) console.log(`live ICMP e2e test skipped: ${reason}`);

Deno.test({
  name: "e2e: live capture of a real SoftEther VPN over ICMP session",
  ignore: reason !== undefined && !inCi,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (reason !== undefined) throw new Error(`cannot run in CI: ${reason}`);
    const lock = await lockLab();
    const tmp = await Deno.makeTempDir({ prefix: "sealert-e2e-icmp-" });
    let live: LiveSealert | undefined;
    let failed = true;
    let left: string[] = [];
    try {
      await sh(LAB, ["up"]);
      live = await startLiveSealert(`${tmp}/sealert.log`, `${tmp}/alerts.json`);
      assert.match(live.stdout(), new RegExp(`Starting Capture Packets at \\[${live.dev}\\]\\.`));

      // Connects over ICMP (TCP and UDP to the server rejected), ~20 s of pings, disconnects.
      await sh(SCENARIO3, ["icmp_vpn"]);
      await waitFor(
        "the ICMP alert line",
        () => live!.stdout().includes("ICMP Connection Detected"),
        15,
      );
      live.child.kill("SIGINT");
      const status = await live.child.status;
      assert.equal(status.code, 0, live.stderr());
      assert.match(live.stderr(), /Dropped: +0 by the kernel/);

      const lines = (await Deno.readTextFile(`${tmp}/sealert.log`)).trimEnd().split("\n");
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0], LINE);

      const records = (await Deno.readTextFile(`${tmp}/alerts.json`)).trim().split("\n")
        .map((l) => JSON.parse(l));
      const alerts = records.filter((r) => r.event_type === "softether" && r.kind === "vpn");
      assert.equal(alerts.length, 1, JSON.stringify(records));
      const a = alerts[0];
      assert.equal(a.variant, "ICMP");
      assert.equal(a.outcome, "established");
      assert.deepEqual(a.client, { ip: "10.77.1.2", port: 0 });
      assert.deepEqual(a.server, { ip: "10.77.2.2", port: 0 });
      assert.ok(a.evidence.includes("icmp_data_sha1"), a.evidence.join(","));
      assert.ok(a.confidence >= 0.9);
      assert.match(a.community_id, /^1:/);
      // The session's end (the ICMP flow ends at shutdown): same flow, bytes both ways.
      const end = records.find((r) => r.event_type === "softether_session_end");
      assert.ok(end !== undefined, JSON.stringify(records));
      assert.equal(end.flow_id, a.flow_id);
      assert.equal(end.variant, "ICMP");
      assert.ok(end.connections >= 1);
      assert.ok(end.bytes.toserver > 40 * 1200 && end.bytes.toclient > 40 * 1200);
      // The connect race's DNS-shaped queries (rejected UDP 53) are side flows of this session.
      const probes = records.filter((r) => r.kind === "dns_probe");
      assert.ok(probes.length >= 1, JSON.stringify(records));
      for (const p of probes) assert.equal(p.session, a.flow_id);
      assert.equal(end.side_flows.dns_probe, probes.length);
      console.log(lines.join("\n"));
      failed = false;
    } finally {
      await stopLiveSealert(live);
      await sh(LAB, ["down"]).catch((e) => console.error(e.message));
      await Deno.remove(tmp, { recursive: true });
      left = await labLeftovers();
      lock.close();
      if (failed && left.length > 0) console.error(`the lab left ${left.join(", ")} running`);
    }
    assert.deepEqual(left, [], "the lab left processes or namespaces behind");
  },
});
