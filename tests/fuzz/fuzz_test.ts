/**
 * CI round of the fuzzer (fixed seed, short: well under 60 s on two cores)
 * and the replay of every committed regression reproducer; the event checks
 * and the mutators' helpers on their own.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PARSER_BATCH, replay } from "./engine.ts";
import { DEFAULTS, figures, runFuzz } from "./fuzz.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));

/** Event kinds every detector of the set emits on the corpus (session ends as "end"). */
const KINDS = [
  "vpn",
  "admin",
  "end",
  "udp_accel",
  "dns_probe",
  "icmp_probe",
  "infrastructure",
  "server",
];

Deno.test("fuzz: fixed-seed short round finds no crash and no hang", async () => {
  const crashDir = Deno.makeTempDirSync({ prefix: "sealert-fuzz-ci-" });
  try {
    const r = await runFuzz({
      ...DEFAULTS,
      seed: 20261126,
      files: 2000,
      packets: 1_500_000,
      parsers: 600,
      crashDir,
      verbose: false,
    });
    const detail = r.found.filter((f) => !f.failure.known).slice(0, 5)
      .map((f) => `${f.target} #${f.index}: ${f.failure.kind}: ${f.failure.message}`).join("\n");
    assert.equal(r.crashes + r.hangs, 0, `${figures(r)}\n${detail}`);
    assert.ok(r.files === 2000 && r.packets >= 1_500_000, figures(r));
    assert.equal(r.parserCalls, 600 * PARSER_BATCH, figures(r));
    // Every detector of the set was reached, and decided something, on mutated input.
    for (const kind of KINDS) {
      assert.ok((r.kinds[kind] ?? 0) > 0, `no ${kind} event\n${figures(r)}`);
    }
  } finally {
    Deno.removeSync(crashDir, { recursive: true });
  }
});

Deno.test("fuzz: an input over the time bound is reported with a reproducer that replays", async () => {
  const crashDir = Deno.makeTempDirSync({ prefix: "sealert-fuzz-hang-" });
  try {
    // A bound of 0 ms: every input is "too slow", so each one is a hang.
    const r = await runFuzz({
      ...DEFAULTS,
      files: 2,
      packets: 1,
      parsers: 1,
      workers: 1,
      timeLimitMs: 0,
      crashDir,
      verbose: false,
    });
    assert.ok(r.hangs >= 4, figures(r));
    const repros = r.found.map((f) => f.repro).filter((p) => p !== undefined);
    assert.ok(repros.length >= 2);
    for (const path of repros) {
      const out = await replay(path, crashDir);
      assert.equal(out.failure, undefined, `${path} replays without a failure`);
    }
  } finally {
    Deno.removeSync(crashDir, { recursive: true });
  }
});

// Every committed reproducer replays without a failure. One whose fix is owned by another
// part of the tree carries `"open": "<where and what>"`: it must still fail (replayed in a
// child process killed after the time bound), so that the fix, when it lands, makes this
// test fail until the field is removed — no test is skipped.
const REGRESSIONS = `${HERE}regressions`;
for (const name of [...Deno.readDirSync(REGRESSIONS)].map((e) => e.name).sort()) {
  if (!name.endsWith(".json")) continue;
  const rep = JSON.parse(Deno.readTextFileSync(`${REGRESSIONS}/${name}`));
  Deno.test({
    name: `fuzz regression: ${name}${rep.open ? ` (open: ${rep.open})` : ""}`,
    fn: async () => {
      if (rep.open !== undefined) return await stillOpen(`${REGRESSIONS}/${name}`);
      const tmp = Deno.makeTempDirSync({ prefix: "sealert-fuzz-reg-" });
      try {
        const t = performance.now();
        const out = await replay(`${REGRESSIONS}/${name}`, tmp);
        const ms = performance.now() - t;
        assert.equal(out.failure, undefined, `${out.failure?.kind}: ${out.failure?.message}`);
        assert.ok(ms < DEFAULTS.timeLimitMs, `replay took ${Math.round(ms)} ms`);
      } finally {
        Deno.removeSync(tmp, { recursive: true });
      }
    },
  });
}

async function stillOpen(path: string): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      `${HERE}fuzz.ts`,
      "--replay",
      path,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), DEFAULTS.timeLimitMs + 1000);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(
    !out.success || !/now: +passes \((\d{1,3}|1\d{3}) ms\)/.test(text),
    `${path} passes now: remove its "open" field\n${text}`,
  );
}
