/**
 * End to end, live: the lab (tests/lab) brings up the real SoftEther server
 * and client, squid and dante in network namespaces; sealert captures live
 * through libpcap on the router's client-facing interface (the mirror-port
 * view) while the real client connects directly and through the HTTP proxy;
 * the test checks one alert per session with the right variant, client and
 * server — in the text log and in JSON.
 *
 * Needs root and the lab's packages. Outside CI it skips with a reason when
 * they are missing; with CI=true it runs or fails.
 *
 * Whatever happens, nothing is left running: the lab is brought up inside
 * the try (a failed `up` tears itself down as well), `down` runs in finally
 * and the test then checks that no lab namespace and no recorded process
 * is left. Runs of the suite from several checkouts take turns through a
 * lock file, as the lab's namespace names are per machine.
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

const SCENARIO = `${ROOT}tests/lab/scenario.sh`;

const reason = labMissing(["vpnserver", "vpnclient", "squid", "danted", "tcpdump"]);
const inCi = Deno.env.get("CI") === "true";
if (reason !== undefined && !inCi) console.log(`live lab e2e test skipped: ${reason}`);

Deno.test({
  name: "e2e: live capture of real SoftEther sessions (direct and via HTTP proxy)",
  ignore: reason !== undefined && !inCi,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (reason !== undefined) throw new Error(`cannot run in CI: ${reason}`);
    const lock = await lockLab();
    const tmp = await Deno.makeTempDir({ prefix: "sealert-e2e-" });
    let live: LiveSealert | undefined;
    let failed = true;
    let left: string[] = [];
    try {
      await sh(LAB, ["up"]);
      live = await startLiveSealert(`${tmp}/sealert.log`, `${tmp}/alerts.json`);
      const { child, dev } = live;
      const stdout = live.stdout, stderr = live.stderr;
      assert.match(stdout(), new RegExp(`Starting Capture Packets at \\[${dev}\\]\\.`));

      await sh(SCENARIO, ["direct_443"]);
      await sh(SCENARIO, ["http_proxy"]);
      // Both alerts are due within 1 s of each welcome; allow the log to settle.
      await waitFor(
        "two alert lines",
        () => (stdout().match(/Connection Detected/g) ?? []).length >= 2,
        15,
      );
      child.kill("SIGINT");
      const status = await child.status;
      assert.equal(status.code, 0, stderr());
      assert.match(stderr(), /Dropped: +0 by the kernel/);

      const lines = (await Deno.readTextFile(`${tmp}/sealert.log`)).trimEnd().split("\n");
      assert.equal(lines.length, 2, lines.join("\n"));
      assert.match(
        lines[0],
        /^\[[\d/: ]+\] SoftEther TCP Connection Detected \(client 10\.77\.1\.2:\d+, server 10\.77\.2\.2:443\)$/,
      );
      assert.match(
        lines[1],
        /^\[[\d/: ]+\] SoftEther HTTP Proxy Connection Detected \(client 10\.77\.1\.2:\d+, server 10\.77\.3\.2:3128\)$/,
      );
      const records = (await Deno.readTextFile(`${tmp}/alerts.json`)).trim().split("\n")
        .map((l) => JSON.parse(l)).filter((a) => a.event_type === "softether");
      const alerts = records.filter((a) => a.kind === "vpn");
      assert.equal(alerts.length, 2);
      assert.deepEqual(alerts[1].target, { host: "10.77.2.2", port: 443 });
      for (const a of alerts) assert.ok(a.latency <= 1, `latency ${a.latency} s`);
      // The direct session's side flows, tied to its alert, live as offline:
      // UDP acceleration and the connect race's DNS and ICMP probes.
      const side = records.filter((a) => a.session === alerts[0].flow_id).map((a) => a.kind);
      assert.deepEqual(side.sort(), ["dns_probe", "icmp_probe", "udp_accel"]);
      console.log(lines.join("\n"));
      failed = false;
    } finally {
      await stopLiveSealert(live);
      await sh(LAB, ["down"]).catch((e) => console.error(e.message));
      await Deno.remove(tmp, { recursive: true });
      left = await labLeftovers();
      lock.close();
      // Said even when the test failed: the failure must not outlive it.
      if (failed && left.length > 0) console.error(`the lab left ${left.join(", ")} running`);
    }
    assert.deepEqual(left, [], "the lab left processes or namespaces behind");
  },
});
