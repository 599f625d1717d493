/**
 * Service mode: the systemd unit (parsed here, and by `systemd-analyze
 * verify` where it exists), its defaults file, the logrotate snippet, and —
 * as root on Linux — sealert running the way the unit runs it (an
 * unprivileged user holding only the unit's capabilities, no new privileges,
 * its umask) through a logrotate rotation and the SIGHUP that reopens the
 * logs. Plus the Windows install script's essentials.
 */
import assert from "node:assert/strict";
import { parseOptions } from "../../src/cli/args.ts";
import {
  all,
  parseEnvironmentFile,
  parseUnitFile,
  single,
  type UnitFile,
  UnitSyntaxError,
} from "./_unit_file.ts";
import { available, exec, repoPath, ROOT, skipBecause } from "./_tools.ts";
import { readCompileTask } from "./compile_all.ts";

const UNIT_PATH = repoPath("packaging/sealert.service");
const unitText = await Deno.readTextFile(UNIT_PATH);
const unit: UnitFile = parseUnitFile(unitText);
const defaults = parseEnvironmentFile(
  await Deno.readTextFile(repoPath("packaging/sealert.default")),
);
const logrotateText = await Deno.readTextFile(repoPath("packaging/logrotate.d/sealert"));

const CAPS = ["CAP_NET_ADMIN", "CAP_NET_RAW"];

/** systemd's `${VAR}` (one word) and `$VAR` (split on whitespace) expansion of ExecStart. */
function expandExecStart(line: string, env: Map<string, string>): string[] {
  return line.split(/\s+/).flatMap((word) => {
    const braced = /^\$\{(\w+)\}$/.exec(word);
    if (braced) return [env.get(braced[1]) ?? ""];
    const bare = /^\$(\w+)$/.exec(word);
    if (bare) return (env.get(bare[1]) ?? "").split(/\s+/).filter((w) => w !== "");
    return [word];
  });
}

/** The unit's Environment= defaults overridden by the defaults file (EnvironmentFile=). */
function serviceEnvironment(): Map<string, string> {
  const env = new Map<string, string>();
  for (const assignment of all(unit, "Service", "Environment")) {
    const eq = assignment.indexOf("=");
    env.set(assignment.slice(0, eq), assignment.slice(eq + 1));
  }
  for (const [k, v] of defaults) env.set(k, v);
  return env;
}

Deno.test("unit parser: rejects what systemd would not read", () => {
  assert.throws(() => parseUnitFile("Description=x\n"), UnitSyntaxError);
  assert.throws(() => parseUnitFile("[Service]\nExecStart /bin/true\n"), /not "Key=Value"/);
  assert.throws(() => parseUnitFile("[Service]\n[Service]\n"), /twice/);
  assert.throws(() => parseUnitFile("[Service\nA=b\n"), UnitSyntaxError);
  const u = parseUnitFile("# c\n[Service]\nA=1\nA=2 \\\n  3\n; c\n");
  assert.deepEqual(all(u, "Service", "A"), ["1", "2 3"]);
});

Deno.test("sealert.service: runs /usr/local/bin/sealert on the device with the service's logs", () => {
  assert.deepEqual([...unit.keys()], ["Unit", "Service", "Install"]);
  const execStart = single(unit, "Service", "ExecStart");
  assert.equal(
    execStart,
    "/usr/local/bin/sealert ${SEALERT_DEVICE} --log /var/log/sealert/sealert.log " +
      "--json /var/log/sealert/sealert.json --quiet $SEALERT_OPTS",
  );
  assert.deepEqual(all(unit, "Service", "EnvironmentFile"), ["-/etc/default/sealert"]);
  const argv = expandExecStart(execStart, serviceEnvironment());
  assert.equal(argv[0], "/usr/local/bin/sealert");
  // The options are sealert's own: parse them exactly as main.ts does.
  const opts = parseOptions(argv.slice(1));
  assert.equal(opts.device, defaults.get("SEALERT_DEVICE"));
  assert.equal(opts.log, "/var/log/sealert/sealert.log");
  assert.equal(opts.json, "/var/log/sealert/sealert.json");
  assert.equal(opts.quiet, true);
  assert.deepEqual(opts.read, []);
  // SEALERT_OPTS with more options still parses.
  const env = serviceEnvironment();
  env.set("SEALERT_OPTS", "--filter tcp --syslog udp://192.0.2.10:514");
  const more = parseOptions(expandExecStart(execStart, env).slice(1));
  assert.equal(more.filter, "tcp");
  assert.equal(more.syslog, "udp://192.0.2.10:514");
});

Deno.test("sealert.service: unprivileged, CAP_NET_RAW + CAP_NET_ADMIN only, read-only system", () => {
  const words = (key: string) => single(unit, "Service", key).split(/\s+/).sort();
  assert.equal(single(unit, "Service", "DynamicUser"), "yes");
  assert.deepEqual(words("AmbientCapabilities"), CAPS);
  assert.deepEqual(words("CapabilityBoundingSet"), CAPS);
  assert.equal(single(unit, "Service", "NoNewPrivileges"), "yes");
  assert.equal(single(unit, "Service", "ProtectSystem"), "strict");
  assert.equal(single(unit, "Service", "ReadWritePaths"), "/var/log/sealert");
  assert.equal(single(unit, "Service", "LogsDirectory"), "sealert");
  assert.equal(single(unit, "Service", "Restart"), "on-failure");
  assert.equal(single(unit, "Service", "ExecReload"), "/bin/kill -HUP $MAINPID");
  assert.equal(single(unit, "Service", "RestartForceExitStatus"), "SIGHUP");
  // V8 compiles code at run time: W^X would kill it.
  assert.deepEqual(all(unit, "Service", "MemoryDenyWriteExecute"), []);
  // Capture (AF_PACKET), interface list (AF_NETLINK), syslog (AF_UNIX, AF_INET*).
  assert.deepEqual(
    words("RestrictAddressFamilies"),
    ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET", "AF_UNIX"],
  );
  assert.equal(single(unit, "Install", "WantedBy"), "multi-user.target");
  assert.match(single(unit, "Unit", "After"), /network-online\.target/);
});

Deno.test("sealert.default: the device and an empty option list", () => {
  assert.ok((defaults.get("SEALERT_DEVICE") ?? "") !== "");
  assert.equal(defaults.get("SEALERT_OPTS"), "");
  assert.throws(() => parseEnvironmentFile("SEALERT DEVICE=eth0\n"), UnitSyntaxError);
});

/** `systemd-analyze verify` of unit text, with ExecStart's binary replaced by a stub (it must exist). */
async function systemdVerify(text: string): Promise<{ ok: boolean; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sealert-unit-" });
  try {
    const stub = `${dir}/sealert`;
    await Deno.writeTextFile(stub, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    await Deno.writeTextFile(
      `${dir}/sealert.service`,
      text.replaceAll("/usr/local/bin/sealert", stub),
    );
    const r = await exec("systemd-analyze", ["verify", "--man=no", `${dir}/sealert.service`]);
    const output = (r.stdout + r.stderr).trim();
    // verify exits 0 on unknown keys and bad values, but says so: any output fails.
    return { ok: r.code === 0 && output === "", output };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const noSystemdAnalyze = Deno.build.os !== "linux"
  ? "Linux only"
  : (await available("systemd-analyze"))
  ? undefined
  : "systemd-analyze is not installed";

Deno.test({
  name: "sealert.service: systemd-analyze verify accepts it, and rejects a broken copy",
  ignore: skipBecause("systemd-analyze verify", noSystemdAnalyze),
  fn: async () => {
    const good = await systemdVerify(unitText);
    assert.ok(good.ok, good.output);
    const broken = unitText
      .replace("ProtectSystem=strict", "ProtectSystem=stricter")
      .replace("NoNewPrivileges=yes", "NoNewPrivilege=yes");
    const bad = await systemdVerify(broken);
    assert.ok(!bad.ok);
    assert.match(bad.output, /stricter/);
    assert.match(bad.output, /NoNewPrivilege/);
  },
});

Deno.test("logrotate snippet: both alert logs, reload through systemd, sealert recreates the files", () => {
  const header = logrotateText.split("\n").find((l) => l.trim().endsWith("{"));
  assert.equal(header, "/var/log/sealert/sealert.log /var/log/sealert/sealert.json {");
  const directives = logrotateText.split("\n").map((l) => l.trim());
  for (const d of ["nocreate", "sharedscripts", "missingok", "notifempty", "compress"]) {
    assert.ok(directives.includes(d), d);
  }
  assert.ok(!directives.includes("copytruncate")); // sealert reopens on SIGHUP instead
  const post = logrotateText.slice(
    logrotateText.indexOf("postrotate"),
    logrotateText.indexOf("endscript"),
  );
  assert.match(post, /systemctl reload sealert\.service/);
});

const serviceRunProblem = await (async () => {
  if (Deno.build.os !== "linux") return "Linux only";
  if (Deno.uid() !== 0) return "needs root (to drop to an unprivileged user with capabilities)";
  if (!(await available("setpriv", ["--version"]))) return "setpriv (util-linux) is missing";
  if (!(await available("logrotate", ["--version"]))) return "logrotate is not installed";
  try {
    Deno.dlopen("libpcap.so.0.8", {}).close();
  } catch {
    try {
      Deno.dlopen("libpcap.so.1", {}).close();
    } catch {
      return "libpcap is not installed";
    }
  }
  return undefined;
})();

/** setpriv arguments for the unit's user, capabilities and NoNewPrivileges. */
function setprivArgs(caps: string[]): string[] {
  const list = caps.map((c) => `+${c.replace(/^CAP_/, "").toLowerCase()}`).join(",");
  const args = ["--reuid=65534", "--regid=65534", "--clear-groups"];
  if (caps.length > 0) {
    args.push(`--inh-caps=-all,${list}`, `--ambient-caps=${list}`, `--bounding-set=-all,${list}`);
  } else {
    args.push("--inh-caps=-all", "--bounding-set=-all");
  }
  if (single(unit, "Service", "NoNewPrivileges") === "yes") args.push("--no-new-privs");
  return args;
}

async function waitFor(what: string, test: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await test()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test({
  name:
    "service: unprivileged with only the unit's capabilities, sealert captures; logrotate + SIGHUP",
  ignore: skipBecause("service run", serviceRunProblem),
  sanitizeResources: false,
  fn: async () => {
    // A world-readable copy of the sources (the checkout may sit under /root)
    // and the unit's log directory: owned by the service user, mode 0750.
    const base = await Deno.makeTempDir({ prefix: "sealert-service-" });
    await Deno.chmod(base, 0o755);
    const app = `${base}/app`;
    const logDir = `${base}/log`;
    const denoDir = `${base}/deno-dir`;
    try {
      await Deno.mkdir(app);
      const copied = await exec("cp", ["-r", "main.ts", "deno.json", "src", "ffi", app], {
        cwd: ROOT,
      });
      assert.equal(copied.code, 0, copied.stderr);
      await exec("chmod", ["-R", "a+rX", app]);
      for (const d of [logDir, denoDir]) {
        await Deno.mkdir(d);
        await Deno.chown(d, 65534, 65534);
      }
      await Deno.chmod(logDir, 0o750);
      const log = `${logDir}/sealert.log`;
      const json = `${logDir}/sealert.json`;
      // Last rotation's leftovers: logrotate rotates only non-empty files.
      for (const f of [log, json]) {
        await Deno.writeTextFile(f, "before rotation\n");
        await Deno.chown(f, 65534, 65534);
      }

      // Permissions exactly as the compile task bakes them into the binary.
      const perms = (await readCompileTask()).flags.filter((f) => f.startsWith("--allow"));
      const umask = single(unit, "Service", "UMask");
      const sealert = (caps: string[], args: string[]) =>
        new Deno.Command("sh", {
          args: [
            "-c",
            `umask ${umask} && exec setpriv "$@"`,
            "sh",
            ...setprivArgs(caps),
            Deno.execPath(),
            "run",
            ...perms,
            `${app}/main.ts`,
            ...args,
          ],
          cwd: base,
          env: { DENO_DIR: denoDir, HOME: base, NO_COLOR: "1" },
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        });

      // Without the capabilities: refused, one line, exit 2 (so the run below
      // proves the unit's capabilities are what makes capture work).
      const denied = await sealert([], ["lo", "--log", "none", "--quiet"]).output();
      const deniedErr = new TextDecoder().decode(denied.stderr);
      assert.equal(denied.code, 2, deniedErr);
      assert.match(deniedErr, /permission denied.*CAP_NET_RAW/);

      const caps = single(unit, "Service", "AmbientCapabilities").split(/\s+/);
      const child = sealert(caps, ["lo", "--log", log, "--json", json, "--quiet", "--status", "0"])
        .spawn();
      let stderr = "";
      let stdout = "";
      const dec = new TextDecoder();
      const pump = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
        for await (const chunk of s) add(dec.decode(chunk));
      };
      const pumps = Promise.all([
        pump(child.stdout, (t) => (stdout += t)),
        pump(child.stderr, (t) => (stderr += t)),
      ]);
      try {
        await waitFor("capture start", () => Promise.resolve(stdout.includes("Starting Capture")));

        // logrotate with the shipped snippet: paths moved to the test's
        // directory, `systemctl reload` replaced by what ExecReload does.
        const reload = single(unit, "Service", "ExecReload").replace("$MAINPID", String(child.pid));
        const conf = logrotateText
          .replaceAll("/var/log/sealert", logDir)
          .replace(/systemctl reload sealert\.service.*$/m, reload);
        await Deno.writeTextFile(`${base}/logrotate.conf`, conf);
        const rotated = await exec("logrotate", [
          "-f",
          "-s",
          `${base}/logrotate.state`,
          `${base}/logrotate.conf`,
        ]);
        assert.equal(rotated.code, 0, rotated.stderr);
        await waitFor(
          "log files reopened",
          () => Promise.resolve(stderr.includes("log files reopened")),
        );
        const names = [...Deno.readDirSync(logDir)].map((e) => e.name).sort();
        assert.equal(names.length, 4, names.join(", ")); // 2 new + 2 rotated (delaycompress)
        for (const f of [log, json]) {
          const st = await Deno.stat(f); // recreated by sealert itself (nocreate)
          assert.equal(st.uid, 65534);
          assert.equal(st.size, 0);
          assert.equal(st.mode! & 0o777, 0o640, `${f}: mode ${(st.mode! & 0o777).toString(8)}`);
        }
        assert.ok(names.some((n) => n.startsWith("sealert.log-")), names.join(", "));
      } finally {
        child.kill("SIGINT");
        const status = await child.status;
        await pumps;
        assert.equal(status.code, 0, stderr);
      }
      assert.match(stderr, /Packets:/); // the summary after SIGINT
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});

Deno.test("install-service.ps1: wrapper modes, Npcap and admin checks, dry run", async () => {
  const ps1 = await Deno.readTextFile(repoPath("packaging/windows/install-service.ps1"));
  for (
    const needle of [
      "[ValidateSet('auto', 'nssm', 'task')]",
      "[switch]$DryRun",
      "[switch]$Uninstall",
      "WindowsBuiltInRole]::Administrator",
      "System32\\Npcap\\wpcap.dll",
      "https://npcap.com/#download",
      "'DependOnService', 'npcap'",
      "'AppStopMethodConsole'",
      "'AppExit', 'Default', 'Restart'",
      "Register-ScheduledTask",
      "'--log', $logFile, '--json', $jsonFile, '--quiet'",
    ]
  ) {
    assert.ok(ps1.includes(needle), `install-service.ps1 lacks ${needle}`);
  }
  // Brace/paren balance outside strings and comments (the CI Windows job runs
  // PowerShell's own parser on it).
  const code = ps1
    .replace(/<#[\s\S]*?#>/g, "")
    .replace(/'[^']*'/g, "''")
    .replace(/"(?:`.|[^"`])*"/g, '""')
    .replace(/#.*$/gm, "");
  for (const [open, close] of [["{", "}"], ["(", ")"], ["[", "]"]]) {
    assert.equal(code.split(open).length, code.split(close).length, `${open}${close} unbalanced`);
  }
});
