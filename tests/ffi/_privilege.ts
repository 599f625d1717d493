/**
 * Gate for tests that need root and the `ip` tool: outside CI they are
 * skipped with a printed reason; with `CI=true` they always run (and fail
 * if the machine cannot run them).
 *
 * @module
 */

/** Why privileged tests cannot run here, or undefined when they can. */
export function privilegeProblem(): string | undefined {
  if (Deno.build.os !== "linux") return "needs Linux network namespaces";
  if (Deno.uid() !== 0) return "needs root (live capture, ip netns)";
  try {
    const out = new Deno.Command("ip", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync();
    if (!out.success) return "the `ip` tool (iproute2) does not run";
  } catch {
    return "the `ip` tool (iproute2) is not installed";
  }
  return undefined;
}

/** True in CI (`CI=true`), where privileged tests must not be skipped. */
export const inCi = Deno.env.get("CI") === "true";

/**
 * `ignore` value for a privileged `Deno.test`: true (with the reason printed
 * once per test name) when it cannot run and we are not in CI.
 */
export function skipPrivileged(name: string): boolean {
  const problem = privilegeProblem();
  // Not Linux: there are no network namespaces to test with, CI or not.
  if (Deno.build.os !== "linux") {
    console.log(`skipping "${name}": ${problem}`);
    return true;
  }
  if (problem === undefined || inCi) return false;
  console.log(`skipping "${name}": ${problem}`);
  return true;
}
