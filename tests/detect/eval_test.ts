/**
 * Detection on the committed real captures (testdata/lab, made by the lab in
 * tests/lab with the real SoftEther 5.01 server and client, squid, dante,
 * OpenSSH, nginx, OpenVPN): every labelled session found with the right
 * variant, outcome, client and server; no alert on the look-alike negatives.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { evaluate, table } from "../eval/evaluate.ts";

Deno.test("eval: 100 % of real SoftEther sessions, 0 false alerts", async () => {
  const results = await evaluate([
    new URL("../../testdata/lab/labels.tsv", import.meta.url).pathname,
  ]);
  const t = table(results);
  console.log(t.text);
  const problems = results.flatMap((r) => r.problems.map((p) => `${r.label.file}: ${p}`));
  assert.deepEqual(problems, []);
  assert.equal(t.recall, 1);
  assert.equal(t.falseAlerts, 0);
  // The set must contain both kinds, or the test proves nothing.
  assert.ok(results.some((r) => r.label.label === "positive"));
  assert.ok(results.some((r) => r.label.label === "negative"));
});
