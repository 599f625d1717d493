/**
 * Each permission the compile task bakes into the binaries is used: taking
 * one away loses a feature. Run on `deno run main.ts` with the task's flags
 * minus one (what a binary built without it would do).
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { compiledStandIn, run, SMOKE_CAPTURE } from "./smoke.ts";

/** The stand-in command without `flag`. */
async function without(flag: string): Promise<string[]> {
  const cmd = await compiledStandIn();
  assert.ok(cmd.includes(flag), `${flag} is not in the compile task`);
  return cmd.filter((w) => w !== flag);
}

/** Reads SMOKE_CAPTURE with `--syslog udp://127.0.0.1:PORT`; returns the exit code and datagrams. */
async function syslogRun(cmd: string[]): Promise<{ code: number; stderr: string; got: string[] }> {
  const socket = dgram.createSocket("udp4");
  const got: string[] = [];
  socket.on("message", (m: Uint8Array) => got.push(new TextDecoder().decode(m)));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const port = socket.address().port;
  try {
    const r = await run(cmd, [
      "--read",
      SMOKE_CAPTURE,
      "--log",
      "none",
      "--no-progress",
      "--syslog",
      `udp://127.0.0.1:${port}`,
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the datagram arrive
    return { code: r.code, stderr: r.stderr, got };
  } finally {
    socket.close();
  }
}

Deno.test("permissions: --allow-net for --syslog udp://, --allow-sys=hostname for its HOSTNAME", async () => {
  const full = await syslogRun(await compiledStandIn());
  assert.equal(full.code, 0, full.stderr);
  assert.equal(full.got.length, 1, full.stderr);
  // RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME …
  assert.equal(full.got[0].split(" ")[2], Deno.hostname());

  const noNet = await syslogRun(await without("--allow-net"));
  assert.equal(noNet.got.length, 0);
  assert.notEqual(noNet.code, 0);
  assert.match(noNet.stderr, /net access/);

  const noSys = await syslogRun(await without("--allow-sys=hostname"));
  assert.equal(noSys.code, 0, noSys.stderr);
  assert.equal(noSys.got.length, 1);
  assert.equal(noSys.got[0].split(" ")[2], "-");
});

Deno.test("permissions: --allow-ffi for libpcap, --allow-env for SEALERT_LIBPCAP", async () => {
  const noFfi = await run(await without("--allow-ffi"), ["--list"]);
  assert.equal(noFfi.code, 2);
  assert.match(noFfi.stderr, /--allow-ffi/);

  const missing = { SEALERT_LIBPCAP: "/sealert-missing/libpcap.so" };
  const withEnv = await run(await compiledStandIn(), ["--list"], missing);
  assert.equal(withEnv.code, 2);
  assert.match(withEnv.stderr, /SEALERT_LIBPCAP=\/sealert-missing/);
  const noEnv = await run(await without("--allow-env"), ["--list"], missing);
  assert.doesNotMatch(noEnv.stderr, /SEALERT_LIBPCAP=\/sealert-missing/); // override unseen
});

Deno.test("permissions: --allow-read for --read, --allow-write for the logs", async () => {
  const noRead = await run(await without("--allow-read"), [
    "--read",
    SMOKE_CAPTURE,
    "--log",
    "none",
    "--no-progress",
  ]);
  assert.notEqual(noRead.code, 0, noRead.stderr);
  assert.match(noRead.stderr, /--allow-read/);
  const dir = await Deno.makeTempDir({ prefix: "sealert-perm-" });
  try {
    const noWrite = await run(await without("--allow-write"), [
      "--read",
      SMOKE_CAPTURE,
      "--log",
      `${dir}/sealert.log`,
      "--no-progress",
    ]);
    assert.notEqual(noWrite.code, 0, noWrite.stderr);
    assert.equal([...Deno.readDirSync(dir)].length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
