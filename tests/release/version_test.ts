/**
 * One version, in two places: deno.json "version" (what releases are tagged
 * with, checked against the tag by the release workflow) and
 * src/cli/version.ts (what `sealert --version` prints; a compiled binary
 * cannot read deno.json).
 */
import assert from "node:assert/strict";
import { BANNER, NAME, VERSION } from "../../src/cli/version.ts";
import { repoPath } from "./_tools.ts";

const denoJson = JSON.parse(await Deno.readTextFile(repoPath("deno.json")));

Deno.test("version: deno.json and src/cli/version.ts agree", () => {
  assert.equal(
    VERSION,
    denoJson.version,
    `src/cli/version.ts says ${VERSION}, deno.json says ${denoJson.version}: bump both`,
  );
});

Deno.test("version: semantic version without a leading v; the banner carries it", () => {
  assert.match(VERSION, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  assert.equal(NAME, "sealert");
  assert.ok(BANNER.includes(VERSION), BANNER);
});

Deno.test("version: the release workflow reads VERSION the way version.ts writes it", async () => {
  // release.yml extracts it with: sed -n 's/^export const VERSION = "\(.*\)";$/\1/p'
  const text = await Deno.readTextFile(repoPath("src/cli/version.ts"));
  const lines = text.split("\n").filter((l) => /^export const VERSION = "(.*)";$/.test(l));
  assert.deepEqual(lines, [`export const VERSION = "${VERSION}";`]);
});
