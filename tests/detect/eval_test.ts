/**
 * Detection on the committed real captures (testdata/lab, made by the lab in
 * tests/lab with the real SoftEther 5.01 server and client, squid, dante,
 * OpenSSH, nginx, OpenVPN; testdata/lookalike): every labelled session found
 * with the right variant, outcome, client and server; no alert on the
 * look-alike negatives — with whole frames, and with frames cut to 128 bytes
 * (a short snaplen hides the TLS records: sizes alone must do).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { evaluate, table } from "../eval/evaluate.ts";

const LAB = [
  fileURLToPath(new URL("../../testdata/lab/labels.tsv", import.meta.url)),
  // Lab 2 was recorded after the detector was written, to test generalisation:
  // TLS 1.2 server, host-name SNI, 500 ms RTT, long account names, bulk and
  // single-connection sessions, non-AEAD SSH, harder look-alikes.
  fileURLToPath(new URL("../../testdata/lab2/labels.tsv", import.meta.url)),
];
const LOOKALIKE = fileURLToPath(new URL("../../testdata/lookalike/labels.tsv", import.meta.url));

for (const snaplen of [0, 128]) {
  const name = snaplen > 0 ? `, frames cut to ${snaplen} bytes` : "";
  Deno.test(`eval: 100 % of real SoftEther sessions, 0 false alerts${name}`, async () => {
    // Cut to 128 bytes the ClientHello details are gone, and the deliberate
    // no-ALPN look-alike is indistinguishable by sizes alone: lab set only.
    const results = await evaluate(snaplen > 0 ? LAB : [...LAB, LOOKALIKE], snaplen);
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
}
