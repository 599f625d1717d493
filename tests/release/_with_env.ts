/**
 * `deno run -A _with_env.ts LIBPATH CMD ARGS…`: runs CMD ARGS… with
 * SEALERT_LIBPCAP=LIBPATH unless the caller set it, passing the exit code and
 * output through (simulates a machine without libpcap for smoke_test.ts).
 *
 * @module
 */
const [lib, cmd, ...args] = Deno.args;
const env: Record<string, string> = Deno.env.get("SEALERT_LIBPCAP") === undefined
  ? { SEALERT_LIBPCAP: lib }
  : {};
const { code } = await new Deno.Command(cmd, { args, env, stdin: "inherit" }).spawn().status;
Deno.exit(code);
