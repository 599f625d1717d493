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

const LAB_TCP = [
  fileURLToPath(new URL("../../testdata/lab/labels.tsv", import.meta.url)),
  // Lab 2 was recorded after the detector was written, to test generalisation:
  // TLS 1.2 server, host-name SNI, 500 ms RTT, long account names, bulk and
  // single-connection sessions, non-AEAD SSH, harder look-alikes.
  fileURLToPath(new URL("../../testdata/lab2/labels.tsv", import.meta.url)),
];
const LAB = [
  ...LAB_TCP,
  // Lab 3 and 4: VPN over ICMP / DNS, infrastructure contacts, server faces,
  // and their real look-alikes (DNSSEC, ping patterns, DDNS clients, ocserv,
  // NBNS, plain OpenVPN, openssl self-signed certificates).
  fileURLToPath(new URL("../../testdata/lab3/labels.tsv", import.meta.url)),
  fileURLToPath(new URL("../../testdata/lab3/infra_labels.tsv", import.meta.url)),
  fileURLToPath(new URL("../../testdata/lab4/faces_labels.tsv", import.meta.url)),
  fileURLToPath(new URL("../../testdata/lab4/neg_labels.tsv", import.meta.url)),
];
const LOOKALIKE = fileURLToPath(new URL("../../testdata/lookalike/labels.tsv", import.meta.url));

Deno.test("eval: 100 % of real SoftEther sessions and footprints, 0 false alerts", async () => {
  const results = await evaluate([...LAB, LOOKALIKE]);
  const t = table(results);
  console.log(t.text);
  const problems = results.flatMap((r) => r.problems.map((p) => `${r.label.file}: ${p}`));
  assert.deepEqual(problems, []);
  assert.equal(t.recall, 1);
  assert.equal(t.falseAlerts, 0);
  // The set must contain both kinds, or the test proves nothing.
  assert.ok(results.some((r) => r.label.label === "positive"));
  assert.ok(results.some((r) => r.label.label === "negative"));
  // Every footprint kind is in the table, or the footprint part proves nothing.
  for (
    const kind of [
      "ICMP",
      "DNS",
      "udp_accel",
      "dns_probe",
      "icmp_probe",
      "infrastructure DDNS",
      "infrastructure NAT-T",
      "infrastructure Keep-alive",
      "infrastructure VPN Azure",
      "server OpenVPN",
      "server certificate",
    ]
  ) {
    assert.ok(results.some((r) => r.tallies.some((t) => t.key === kind && t.want > 0)), kind);
  }
});

Deno.test("eval: sessions over TCP with frames cut to 128 bytes, 0 false alerts", async () => {
  // Cut to 128 bytes the ClientHello details are gone, and the deliberate
  // no-ALPN look-alike is indistinguishable by sizes alone: lab set only.
  // Footprints need the packets' content (SHA-1 of ICMP data, certificates,
  // DNS payloads) and are not judged here; sessions must still all be found.
  const results = await evaluate(LAB_TCP, 128, { sessionsOnly: true });
  const t = table(results);
  console.log(t.text);
  const problems = results.flatMap((r) => r.problems.map((p) => `${r.label.file}: ${p}`));
  assert.deepEqual(problems, []);
  assert.equal(t.recall, 1);
  assert.equal(t.falseAlerts, 0);
  assert.ok(results.some((r) => r.label.label === "positive"));
  assert.ok(results.some((r) => r.label.label === "negative"));
});
