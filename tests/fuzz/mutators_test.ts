/**
 * The footprint mutators keep the structure they promise (SHA-1 framing,
 * consistent lengths), so that most mutated inputs still reach the parsers
 * past their first checks; and every parser of the parser target has seeds.
 */
import assert from "node:assert/strict";
import { DnsMessage } from "../../src/proto/dns_message.ts";
import { parseClientHello } from "../../src/proto/tls_client_hello.ts";
import { FlightState, TlsServerFlight } from "../../src/proto/tls_server_flight.ts";
import { findSni } from "../../src/proto/tls_sni.ts";
import { X509Certificate } from "../../src/proto/x509_cert.ts";
import { findCertificate, mutateServerFlight } from "./cert_mutators.ts";
import { mutateDns } from "./dns_mutators.ts";
import { loadCorpus } from "./engine.ts";
import {
  frameSha1,
  mutateIcmp,
  mutateOpenVpnTcp,
  openVpnTcpChain,
  replaceSni,
  sha1Framed,
} from "./footprint_mutators.ts";
import { PARSERS } from "./parser_target.ts";
import { Rng } from "./rng.ts";

const corpus = await loadCorpus();

/** Payloads of one capture's parsed frames that `pick` accepts. */
function payloads(name: string, pick: (b: Uint8Array, proto: number) => boolean): Uint8Array[] {
  const cap = corpus.captures.find((c) => c.name === name);
  assert.ok(cap, name);
  return cap.frames.map((f) => f.pkt).filter((p) => p !== undefined && pick(p.payload, p.proto))
    .map((p) => p!.payload);
}

Deno.test("mutators: ICMP data reframed keeps SoftEther's SHA-1 framing", () => {
  const data = frameSha1(new Uint8Array(64).fill(7));
  assert.ok(sha1Framed(data));
  let reframed = 0;
  for (let i = 0; i < 400; i++) {
    const log: string[] = [];
    const out = mutateIcmp(new Rng(i, "icmp"), new Uint8Array(8), data, log);
    if (log.some((l) => l.startsWith("icmp_reframe") || l === "icmp_min_data")) {
      reframed++;
      assert.ok(sha1Framed(out), log.join(","));
    }
    if (log.includes("icmp_bad_digest")) assert.ok(!sha1Framed(out));
  }
  assert.ok(reframed > 100, `${reframed}`);
});

Deno.test("mutators: an SNI replaced keeps every enclosing length consistent", () => {
  const span = new Int32Array(2);
  const hellos = payloads(
    "lab4/synthetic_azure.pcap",
    (b, proto) => proto === 6 && b[0] === 22 && b[5] === 1 && findSni(b, 0, b.length, span),
  );
  assert.ok(hellos.length > 0);
  for (const name of ["keepalive.softether.org", "x", "a".repeat(200)]) {
    const out = replaceSni(hellos[0], new TextEncoder().encode(name))!;
    assert.ok(findSni(out, 0, out.length, span));
    assert.equal(new TextDecoder().decode(out.subarray(span[0], span[0] + span[1])), name);
    const h = parseClientHello(out, 5, out.length - 5);
    assert.equal(h.status, "ok");
    assert.equal(h.sni, name);
  }
});

Deno.test("mutators: mutated certificate flights still reach the certificate and the DER reader", () => {
  const flights = payloads(
    "lab4/sstp_tls12_softether.pcap",
    (b, proto) => proto === 6 && findCertificate(b) >= 0,
  );
  assert.ok(flights.length > 0);
  const cert = new X509Certificate();
  let certified = 0, parsed = 0, der = 0;
  for (let i = 0; i < 300; i++) {
    const log: string[] = [];
    const out = mutateServerFlight(new Rng(i, "flight"), flights[0], log);
    if (log.some((l) => l.startsWith("der_"))) der++;
    const f = new TlsServerFlight();
    f.feed(out, 0, out.length);
    if (f.state !== FlightState.CERTIFICATE) continue;
    certified++;
    if (cert.parse(f.buffer, f.certOff, f.certLen) === "ok") parsed++;
  }
  // Most mutations are of the certificate; most keep the TLS framing; many still parse.
  assert.ok(der > 150, `${der} DER mutations`);
  assert.ok(certified > 150, `${certified} flights reached their certificate`);
  assert.ok(parsed > 60, `${parsed} certificates parsed`);
});

Deno.test("mutators: mutated DNS tunnel queries mostly still parse", () => {
  const queries = payloads("lab3/dns_vpn.pcap", (b, proto) => proto === 17 && b.length > 60);
  assert.ok(queries.length > 10);
  const m = new DnsMessage();
  let ok = 0;
  for (let i = 0; i < 400; i++) {
    const out = mutateDns(new Rng(i, "dns"), queries[i % queries.length], []);
    if (m.parse(out, 0, out.length)) ok++;
  }
  assert.ok(ok > 150 && ok < 400, `${ok} of 400 parse`);
});

Deno.test("mutators: OpenVPN over TCP chains are found and mostly kept chains", () => {
  const chains = payloads(
    "lab4/openvpn_tcp_softether.pcap",
    (b, proto) => proto === 6 && openVpnTcpChain(b) !== undefined,
  );
  assert.ok(chains.length >= 5, `${chains.length}`);
  let still = 0;
  for (let i = 0; i < 200; i++) {
    const b = chains[i % chains.length];
    const out = mutateOpenVpnTcp(new Rng(i, "ovpn"), b, openVpnTcpChain(b)!, []);
    if (openVpnTcpChain(out) !== undefined) still++;
  }
  assert.ok(still > 80 && still < 200, `${still} of 200`);
});

Deno.test("parser target: every parser has seeds from the corpus", () => {
  for (const p of PARSERS) {
    assert.ok(corpus.parsers[p].length > 0, `${p} has no seed`);
  }
  assert.ok(corpus.parsers.x509.length >= 3);
});
