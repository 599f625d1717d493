/**
 * Helpers of the live end-to-end tests on the real-traffic lab (tests/lab):
 * what the lab needs, running its scripts, the per-machine lock, sealert
 * started live on the sensor interface inside the router's namespace, and
 * the check that nothing of the lab is left behind.
 *
 * @module
 */

/** The checkout's root directory (with a trailing slash). */
export const ROOT = new URL("../../", import.meta.url).pathname;
/** The lab's control script. */
export const LAB = `${ROOT}tests/lab/lab.sh`;
/** The lab's output directory (tests/lab/lib.sh). */
const LAB_OUT = Deno.env.get("LAB_OUT") ?? "/var/lib/sealert-lab";
/** One lab per machine: held while a test (or a recording) uses it. */
const LOCK = "/run/sealert-lab.lock";

/** Why the lab cannot run here (not root, a program missing), or undefined. */
export function labMissing(bins: string[]): string | undefined {
  if (Deno.uid() !== 0) return "needs root (network namespaces, live capture)";
  for (const bin of ["ip", ...bins]) {
    const r = new Deno.Command("sh", { args: ["-c", `command -v ${bin}`] }).outputSync();
    if (r.code !== 0) return `needs ${bin} (see tests/lab/README.md "packages")`;
  }
  return undefined;
}

/** Runs `cmd args`; its stdout and stderr, or an error with both when it fails. */
export async function sh(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (out.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}):\n${text}`);
  return text;
}

/** Takes the lab lock (waits while another run or a recording holds it); close the file to release. */
export async function lockLab(): Promise<Deno.FsFile> {
  const lock = await Deno.open(LOCK, { create: true, write: true });
  await lock.lock(true);
  return lock;
}

/** Lab namespaces still present, and recorded lab processes still alive. */
export async function labLeftovers(): Promise<string[]> {
  const left: string[] = [];
  const ns = await new Deno.Command("ip", { args: ["netns", "list"], stdin: "null" }).output();
  for (const line of new TextDecoder().decode(ns.stdout).split("\n")) {
    if (/^se-(cli|rtr|srv|px)\b/.test(line)) left.push(`namespace ${line.split(" ")[0]}`);
  }
  let pids = "";
  try {
    pids = await Deno.readTextFile(`${LAB_OUT}/pids`);
  } catch { /* none recorded */ }
  for (const line of pids.split("\n")) {
    const [name, pid, start] = line.trim().split(/\s+/);
    if (pid === undefined) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      if (stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] === start) {
        left.push(`${name} (PID ${pid})`);
      }
    } catch { /* gone */ }
  }
  return left;
}

/** Waits until `ok()` holds, checking every 200 ms; throws after `seconds`. */
export async function waitFor(what: string, ok: () => boolean, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** sealert running live on the lab's sensor interface. */
export interface LiveSealert {
  /** The process. */
  child: Deno.ChildProcess;
  /** The capture device. */
  dev: string;
  /** Its standard output so far. */
  stdout(): string;
  /** Its standard error so far. */
  stderr(): string;
}

/**
 * Starts main.ts live on the sensor interface inside the router's namespace
 * (lab up), writing `log` and `json`, and waits until it captures.
 */
export async function startLiveSealert(log: string, json: string): Promise<LiveSealert> {
  const ns = (await sh(LAB, ["sensor-ns"])).trim().split("\n").pop()!;
  const dev = (await sh(LAB, ["sensor-if"])).trim().split("\n").pop()!;
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      Deno.execPath(),
      "run",
      "-A",
      `${ROOT}main.ts`,
      dev,
      "--log",
      log,
      "--json",
      json,
      "--status",
      "0",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "", err = "";
  const dec = new TextDecoder();
  (async () => {
    for await (const chunk of child.stdout) out += dec.decode(chunk);
  })();
  (async () => {
    for await (const chunk of child.stderr) err += dec.decode(chunk);
  })();
  const live: LiveSealert = { child, dev, stdout: () => out, stderr: () => err };
  try {
    await waitFor("sealert to start capturing", () => out.includes("Starting Capture"), 30);
  } catch (e) {
    await stopLiveSealert(live);
    throw new Error(`${(e as Error).message}\n${err}`);
  }
  return live;
}

/** Kills sealert if it still runs and waits for it (for finally blocks). */
export async function stopLiveSealert(live: LiveSealert | undefined): Promise<void> {
  if (live === undefined) return;
  try {
    live.child.kill("SIGKILL");
  } catch { /* already exited */ }
  await live.child.status;
}
