/**
 * The house-rule checker must pass a clean tree and fail a violating one, both as a library and
 * as the command `deno task check` runs.
 */
import assert from "node:assert/strict";
import { checkTree, formatViolation } from "./check_rules.ts";

type Tree = Record<string, string>;

/** A tree obeying every rule: each layer imports only lower ones, every export has a caller. */
const CLEAN: Tree = {
  "main.ts": `import { run } from "./src/cli/run.ts";\nrun();\n`,
  "ffi/lib.ts": [
    `export function open(): number {`,
    `  return Deno.dlopen === undefined ? 0 : new Deno.UnsafePointerView(null!).getInt32();`,
    `}`,
  ].join("\n"),
  "src/capture/live.ts": [
    `import { open } from "../../ffi/lib.ts";`,
    `/** Example: import { x } from "../cli/run.ts"; */`,
    `export function capture(): number {`,
    `  new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });`,
    `  return open();`,
    `}`,
  ].join("\n"),
  "src/capture/worker.ts": `self.onmessage = () => {};\n`,
  "src/decode/packet.ts": [
    `// import { log } from "../output/log.ts";`,
    `export interface Packet { n: number }`,
    `export const DEFAULTS = { n: 1 };`,
    'const TEXT = `import { log } from "../output/log.ts" ${{ a: 1 }.a} }`;',
    `const RE = /["'\\/]+\\/\\/import "x"/g;`,
    `export function decode(n: number): Packet { return { n: n + TEXT.length + RE.source.length }; }`,
  ].join("\n"),
  "src/flow/table.ts": `import { DEFAULTS, type Packet } from "../decode/packet.ts";\n` +
    `export class Table { o = { ...DEFAULTS }; add(_p: Packet): void {} }\n`,
  "src/proto/tls.ts": `import { createHash } from "node:crypto";\n` +
    `export function parse(b: Uint8Array): string {\n` +
    `  return createHash("md5").update(b).digest("hex");\n}\n`,
  "src/proto/mod.ts": `export * from "./tls.ts";\n`,
  "src/detect/classify.ts": [
    `import { decode, type Packet } from "../decode/packet.ts";`,
    `import { Table } from "../flow/table.ts";`,
    `import * as proto from "../proto/mod.ts";`,
    `const s = "Deno.dlopen is not called here";`,
    `/** The verdict. */`,
    `export function classify(): Packet {`,
    `  new Table();`,
    `  return decode(proto.parse(new Uint8Array()).length + s.length);`,
    `}`,
  ].join("\n"),
  "src/output/log.ts": `import { classify } from "../detect/classify.ts";\n` +
    `export function log(): void { console.log(classify()); }\n`,
  "src/pipeline.ts": `import { capture } from "./capture/live.ts";\n` +
    `import { log } from "./output/log.ts";\n` +
    `export function pump(): void { capture(); log(); }\n`,
  "src/cli/run.ts": `export { pump as run } from "../pipeline.ts";\n`,
  "tests/helpers.ts": `export const H = 1;\n`,
  "tests/x_test.ts": `import { decode } from "../src/decode/packet.ts";\ndecode(1);\n`,
};

/** CLEAN plus one or more violations of every rule. */
const VIOLATING: Tree = {
  ...CLEAN,
  "src/decode/up.ts": `import { log } from "../output/log.ts";\nlog();\n`,
  "src/detect/up.ts": `import type { Sink } from "../output/sink.ts";\nlet s: Sink;\n`,
  "src/flow/up.ts": `export { parse } from "../proto/tls.ts";\n`,
  "src/detect/dyn.ts": `await import("../cli/run.ts");\n`,
  "src/output/native.ts": `import { open } from "../../ffi/lib.ts";\n` +
    `open();\nconst v = new Deno.UnsafePointerView(null!);\n`,
  "src/proto/impure.ts": `import type { Packet } from "../decode/packet.ts";\nlet p: Packet;\n`,
  "src/detect/tests.ts": `import { H } from "../../tests/helpers.ts";\n` +
    `import "../../main.ts";\nH;\n`,
  "src/misc/x.ts": `console.log(1);\n`,
  "main.ts": `import { run } from "./src/cli/run.ts";\nDeno.dlopen("x", {});\nrun();\n`,
  "src/decode/dead.ts": [
    `export const UNUSED = 1;`,
    `export const LOCAL = 2;`,
    `export function testOnly(): number { return LOCAL + 1; }`,
    `export const ALLOWED = 3;`,
  ].join("\n"),
  "tests/dead_test.ts": `import { testOnly } from "../src/decode/dead.ts";\ntestOnly();\n`,
  "tests/tools/check_rules_allow.txt": [
    "# comment",
    "src/decode/dead.ts ALLOWED -- kept for the report",
    "src/decode/dead.ts GONE -- stale",
    "src/decode/dead.ts NOREASON",
  ].join("\n"),
};

async function withTree<T>(tree: Tree, fn: (root: string) => Promise<T>): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "check_rules_" });
  try {
    for (const [path, text] of Object.entries(tree)) {
      const file = `${root}/${path}`;
      await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(file, text);
    }
    return await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function runScript(root: string): Promise<{ code: number; stdout: string }> {
  const script = new URL("./check_rules.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", script, "--root", root],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

Deno.test("check_rules: a clean tree passes (comments, strings, regexes are not code)", async () => {
  await withTree(CLEAN, async (root) => {
    assert.deepEqual((await checkTree(root)).map(formatViolation), []);
    const { code, stdout } = await runScript(root);
    assert.equal(stdout, "");
    assert.equal(code, 0);
  });
});

Deno.test("check_rules: a violating tree fails with one line per violation", async () => {
  await withTree(VIOLATING, async (root) => {
    const lines = (await checkTree(root)).map(formatViolation);
    const expected = [
      "src/decode/up.ts:1: layer: src/decode/ imports higher layer src/output/",
      "src/detect/up.ts:1: layer: src/detect/ imports higher layer src/output/",
      "src/flow/up.ts:1: layer: src/flow/ imports higher layer src/proto/",
      "src/detect/dyn.ts:1: layer: src/detect/ imports higher layer src/cli/",
      "src/output/native.ts:1: native: src/output/ imports ffi/",
      "src/output/native.ts:3: native: Deno.UnsafePointerView outside ffi/ and src/capture/",
      "src/proto/impure.ts:1: proto-pure: imports src/decode/",
      "src/detect/tests.ts:1: layer: imports tests/helpers.ts",
      "src/detect/tests.ts:2: layer: imports main.ts",
      "main.ts:2: native: Deno.dlopen outside ffi/ and src/capture/",
      "src/misc/x.ts:1: layer: file is in no layer",
      "src/decode/dead.ts:1: dead-export: 'UNUSED' is unused",
      "src/decode/dead.ts:2: dead-export: 'LOCAL' is used only in its own file",
      "src/decode/dead.ts:3: dead-export: 'testOnly' has no caller outside tests/tools " +
      "(tests/dead_test.ts)",
      "src/flow/up.ts:1: dead-export: re-export 'parse' is unused",
      "tests/tools/check_rules_allow.txt:3: allowlist: stale entry src/decode/dead.ts GONE",
      "tests/tools/check_rules_allow.txt:4: allowlist: entry must be `path name -- reason`",
    ];
    for (const prefix of expected) {
      assert.ok(lines.some((l) => l.startsWith(prefix)), `missing: ${prefix}\n${lines.join("\n")}`);
    }
    assert.equal(lines.length, expected.length, lines.join("\n"));
    assert.ok(!lines.some((l) => l.includes("ALLOWED")), "allowlisted export still reported");

    const { code, stdout } = await runScript(root);
    assert.equal(code, 1);
    assert.deepEqual(stdout.trim().split("\n"), lines);
  });
});

Deno.test("check_rules: a barrel's unused `export *` is dead, a used one is not", async () => {
  const tree: Tree = {
    ...CLEAN,
    "src/proto/extra.ts": `export function extra(): number { return 1; }\n`,
    "src/proto/mod2.ts": `export * from "./extra.ts";\n`,
  };
  await withTree(tree, async (root) => {
    assert.deepEqual((await checkTree(root)).map(formatViolation), [
      `src/proto/extra.ts:1: dead-export: 'extra' is unused`,
      `src/proto/mod2.ts:1: dead-export: export * from "./extra.ts": no product file imports ` +
      `any of its names here`,
    ]);
  });
});

Deno.test("check_rules: re-export cycles terminate and still find the product caller", async () => {
  const tree: Tree = {
    ...CLEAN,
    "src/proto/a.ts": `export * from "./b.ts";\nexport function fa(): number { return 1; }\n`,
    "src/proto/b.ts": `export * from "./a.ts";\nexport function fb(): number { return 2; }\n`,
    "src/detect/use.ts":
      `import { fa, fb } from "../proto/b.ts";\nexport const USE = fa() + fb();\n`,
    "src/output/use.ts": `import { USE } from "../detect/use.ts";\nconsole.log(USE);\n`,
  };
  await withTree(tree, async (root) => {
    assert.deepEqual((await checkTree(root)).map(formatViolation), []);
  });
});
