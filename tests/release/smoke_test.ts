/**
 * The release smoke checks (tests/release/smoke.ts), run here on
 * `deno run main.ts` with exactly the compile task's permissions — the
 * stand-in for a binary that cannot be built without Deno's runtime
 * download — and shown to fail on a wrong program.
 */
import assert from "node:assert/strict";
import { compiledStandIn, smoke } from "./smoke.ts";

Deno.test("smoke: main.ts with the compile task's permissions passes every release check", async () => {
  const cmd = await compiledStandIn();
  assert.ok(cmd.includes("--allow-ffi") && !cmd.includes("-A") && !cmd.includes("--allow-all"));
  const checks = await smoke(cmd);
  const failed = checks.filter((c) => !c.ok);
  assert.deepEqual(failed, []);
  assert.equal(checks.length, 5);
});

Deno.test("smoke: a program that is not sealert fails the checks", async () => {
  const impostor = [Deno.execPath(), "eval", "console.log('sealert 0.0.0-impostor')"];
  const checks = await smoke(impostor, { noLibpcap: true });
  assert.ok(checks.every((c) => !c.ok), JSON.stringify(checks, null, 2));
  assert.equal(checks.length, 6);
});

Deno.test("smoke: --no-libpcap expects the one-line install hint (checked against a missing library)", async () => {
  // Where libpcap is installed, point the "no library" run at a missing file
  // so the check's expectations are exercised on every machine.
  const cmd = await compiledStandIn();
  const env = Deno.build.os === "windows" ? "C:\\nowhere\\wpcap.dll" : "/nowhere/libpcap.so";
  const wrapped = [
    Deno.execPath(),
    "run",
    "-A",
    new URL("./_with_env.ts", import.meta.url).href,
    env,
    ...cmd,
  ];
  const checks = await smoke(wrapped, { noLibpcap: true });
  assert.deepEqual(checks.filter((c) => !c.ok), []);
});
