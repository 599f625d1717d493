import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { RawPacket } from "../../src/capture/raw_packet.ts";
import { Decoder } from "../../src/decode/decoder.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { InfrastructureDetector } from "../../src/detect/infrastructure_detector.ts";
import { nameToWire } from "../../src/proto/dns_message.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { concat } from "../helpers/bytes.ts";
import { ethernet, ipBytes, ipPacket, type SegmentSpec } from "../helpers/frames.ts";
import { be32, pack, packWithHash } from "../helpers/pack_builder.ts";
import { readLabels } from "../eval/evaluate.ts";
import { clientHello, records, sniExt } from "../proto/tls_builder.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

/** The detector in a pipeline of its own. */
function harness() {
  const events: DetectionEvent[] = [];
  const weirds = new Weirds();
  const det = new InfrastructureDetector((e) => events.push(e), weirds);
  const pipe = new Pipeline([det], { maxFlows: 200_000 }, weirds);
  return { events, weirds, det, pipe };
}

/** Runs `files` through the detector; `skipDns` leaves out every UDP packet to or from port 53. */
async function runFiles(files: string[], skipDns = false) {
  const h = harness();
  const src = await openCaptureFiles(files);
  const dec = new Decoder(new Weirds());
  const raw = new RawPacket();
  try {
    do {
      while (src.next(raw)) {
        if (skipDns) {
          dec.decode(raw);
          const q = dec.pkt;
          if (q.proto === 17 && (q.srcPort === 53 || q.dstPort === 53)) continue;
        }
        h.pipe.handle(raw);
      }
    } while (await src.refill());
  } finally {
    src.close();
  }
  h.pipe.finish();
  return h;
}

/** The fields a reader of the log sees. */
function brief(e: DetectionEvent) {
  return {
    service: e.service,
    variant: e.variant,
    client: `${e.client.ip}:${e.client.port}`,
    server: `${e.server.ip}:${e.server.port}`,
    name: e.name,
    evidence: e.evidence.join(","),
    confidence: e.confidence,
  };
}

Deno.test("infra_server.pcap: DDNS, NAT-T and keep-alive of the server, each once, from its DNS questions", async () => {
  const { events, det } = await runFiles(["testdata/lab3/infra_server.pcap"]);
  assert.deepEqual(events.map(brief), [
    {
      service: "DDNS",
      variant: "UDP",
      client: "10.78.1.2:57038",
      server: "10.78.2.53:53",
      name: "x3.x8.dev.open.servers.ddns.softether-network.net",
      evidence: "dns_question",
      confidence: 0.9,
    },
    {
      service: "NAT-T",
      variant: "UDP",
      client: "10.78.1.2:35534",
      server: "10.78.2.53:53",
      name: "xe.xb.dev.servers.nat-traversal.softether-network.net",
      evidence: "dns_question",
      confidence: 0.9,
    },
    {
      service: "Keep-alive",
      variant: "UDP",
      client: "10.78.1.2:60347",
      server: "10.78.2.53:53",
      name: "keepalive.softether.org",
      evidence: "dns_question",
      confidence: 0.9,
    },
  ]);
  for (const e of events) assert.equal(e.kind, "infrastructure");
  // Contacts: DDNS 22 questions (x3.x8… ×3, servers-v6 ×4, get-my-ip ×2, get-my-ip-v6 ×2;
  // A + AAAA each) + 11 HTTP connections to the answered address; NAT-T 1 question + the
  // UDP 5004 flow; keep-alive 1 question + the UDP flow to port 80. msftncsi is no contact.
  assert.deepEqual(det.stats, {
    events: 3,
    contacts: { "DDNS": 33, "NAT-T": 2, "VPN Azure": 0, "Keep-alive": 2 },
    repeated: 34,
    hostsForgotten: 0,
    addresses: 3,
    addressesForgotten: 0,
  });
});

Deno.test("infra_server.pcap without its DNS: the plaintext markers alone find the same contacts", async () => {
  const { events, det } = await runFiles(["testdata/lab3/infra_server.pcap"], true);
  assert.deepEqual(events.map(brief), [
    {
      service: "NAT-T",
      variant: "UDP",
      client: "10.78.1.2:27879",
      server: "10.78.2.20:5004",
      name: undefined,
      evidence: "pack_get_token",
      confidence: 0.95,
    },
    {
      service: "DDNS",
      variant: "TCP",
      client: "10.78.1.2:36256",
      server: "10.78.2.10:80",
      name: "x3.x8.dev.open.servers.ddns.softether-network.net",
      evidence: "http_host,http_ddns_request,softether_http_headers",
      confidence: 0.99,
    },
    {
      service: "Keep-alive",
      variant: "UDP",
      client: "10.78.1.2:47313",
      server: "10.78.2.40:80",
      name: undefined,
      evidence: "keepalive_text",
      confidence: 0.95,
    },
  ]);
  // 11 DDNS requests, 6 get_token Packs (the 1-byte 'A' checks do not count), 2 keep-alives.
  assert.deepEqual(det.stats.contacts, { "DDNS": 11, "NAT-T": 6, "VPN Azure": 0, "Keep-alive": 2 });
});

Deno.test("synthetic_azure.pcap: the VPN server and a VPN client contacting VPN Azure", async () => {
  const withDns = await runFiles(["testdata/lab4/synthetic_azure.pcap"]);
  assert.deepEqual(withDns.events.map(brief), [
    {
      service: "VPN Azure",
      variant: "UDP",
      client: "10.79.5.2:41877",
      server: "10.79.5.53:53",
      name: "relay-lab01.vpnazure.net",
      evidence: "dns_question",
      confidence: 0.9,
    },
    {
      service: "VPN Azure",
      variant: "UDP",
      client: "10.79.7.2:38211",
      server: "10.79.5.53:53",
      name: "vpnlab4711.vpnazure.net",
      evidence: "dns_question",
      confidence: 0.9,
    },
  ]);
  const noDns = await runFiles(["testdata/lab4/synthetic_azure.pcap"], true);
  assert.deepEqual(noDns.events.map(brief), [
    {
      service: "VPN Azure",
      variant: "TCP",
      client: "10.79.5.2:52311",
      server: "10.79.6.30:443",
      name: undefined,
      evidence: "azure_actl,azure_relay_pack",
      confidence: 0.95,
    },
    {
      service: "VPN Azure",
      variant: "TCP",
      client: "10.79.7.2:50644",
      server: "10.79.6.30:443",
      name: "vpnlab4711.vpnazure.net",
      evidence: "tls_sni",
      confidence: 0.9,
    },
  ]);
});

Deno.test("no contact in any capture that is not of SoftEther's infrastructure (negatives, VPN sessions, server faces, DDNS clients, DNSSEC)", async () => {
  const labels = [
    "testdata/lab/labels.tsv",
    "testdata/lab2/labels.tsv",
    "testdata/lab3/labels.tsv",
    "testdata/lab4/neg_labels.tsv",
    "testdata/lab4/faces_labels.tsv",
    "testdata/lookalike/labels.tsv",
  ].filter((l) => existsSync(l));
  const files = labels.flatMap((l) => readLabels(l))
    .filter((r) => !r.file.endsWith("synthetic_azure.pcap") && existsSync(r.file))
    .map((r) => r.file);
  for (const f of ["testdata/lab4/neg_ddns_clients.pcap", "testdata/lab4/neg_dns_dnssec.pcap"]) {
    assert.ok(files.includes(f), f);
  }
  assert.ok(files.length >= 80, `${files.length} captures`);
  for (const f of files) {
    const { events } = await runFiles([f]);
    assert.deepEqual(events.map(brief), [], f);
  }
});

// ---------------------------------------------------------------- synthetic traffic

const T0 = 1_790_000_000;

/** Frames fed one by one at increasing times. */
class Feed {
  readonly h = harness();
  readonly #raw = new RawPacket();
  t = T0;

  send(spec: SegmentSpec, dt = 0.01): void {
    this.t += dt;
    const f = ethernet(ipPacket(spec));
    const raw = this.#raw;
    raw.buf = f;
    raw.offset = 0;
    raw.capLen = raw.wireLen = f.length;
    raw.tsSec = Math.floor(this.t);
    raw.tsNsec = Math.round((this.t - raw.tsSec) * 1e9);
    this.h.pipe.handle(raw);
  }

  udp(src: string, sport: number, dst: string, dport: number, payload: Uint8Array): void {
    this.send({ src, dst, sport, dport, proto: 17, payload });
  }

  /** A TCP connection: handshake, then payloads (true = from the client), optionally no FIN. */
  tcp(
    client: string,
    cport: number,
    server: string,
    sport: number,
    payloads: [boolean, Uint8Array][],
    close = true,
  ): void {
    let cs = 1000, ss = 5000;
    const c = (flags: number, payload: Uint8Array = new Uint8Array(0)) => {
      this.send({
        src: client,
        dst: server,
        sport: cport,
        dport: sport,
        flags,
        seq: cs,
        ack: ss,
        payload,
      });
      cs += payload.length + (flags & 3 ? 1 : 0);
    };
    const s = (flags: number, payload: Uint8Array = new Uint8Array(0)) => {
      this.send({
        src: server,
        dst: client,
        sport,
        dport: cport,
        flags,
        seq: ss,
        ack: cs,
        payload,
      });
      ss += payload.length + (flags & 3 ? 1 : 0);
    };
    c(0x02);
    s(0x12);
    c(0x10);
    for (const [fromClient, p] of payloads) (fromClient ? c : s)(0x18, p);
    if (close) {
      c(0x11);
      s(0x11);
      c(0x10);
    }
  }

  finish(): void {
    this.h.pipe.finish();
  }

  get events(): DetectionEvent[] {
    return this.h.events;
  }
}

const KEEPALIVE = ascii("Internet Connection Keep Alive Packet");

Deno.test("keep-alive: the exact text over UDP or as a connection's first client payload", () => {
  const f = new Feed();
  f.udp("10.0.0.5", 40001, "198.51.100.40", 80, KEEPALIVE);
  f.udp("10.0.0.5", 40001, "198.51.100.40", 80, KEEPALIVE); // 50 s later, same socket
  f.udp("10.0.0.6", 40002, "198.51.100.40", 8080, KEEPALIVE); // any port
  f.udp("10.0.0.7", 40003, "198.51.100.40", 80, concat(KEEPALIVE, ascii("\n"))); // not the text
  f.udp("10.0.0.7", 40003, "198.51.100.40", 80, ascii("Internet Connection Keep Alive Packer"));
  f.tcp("10.0.0.8", 40004, "198.51.100.40", 80, [[true, KEEPALIVE]]);
  f.tcp("10.0.0.9", 40005, "198.51.100.40", 80, [[false, KEEPALIVE]]); // the server's text: no
  f.tcp("10.0.0.9", 40006, "198.51.100.40", 80, [[true, ascii("hello")], [true, KEEPALIVE]]); // not first
  f.finish();
  assert.deepEqual(f.events.map(brief), [
    {
      service: "Keep-alive",
      variant: "UDP",
      client: "10.0.0.5:40001",
      server: "198.51.100.40:80",
      name: undefined,
      evidence: "keepalive_text",
      confidence: 0.95,
    },
    {
      service: "Keep-alive",
      variant: "UDP",
      client: "10.0.0.6:40002",
      server: "198.51.100.40:8080",
      name: undefined,
      evidence: "keepalive_text",
      confidence: 0.95,
    },
    {
      service: "Keep-alive",
      variant: "TCP",
      client: "10.0.0.8:40004",
      server: "198.51.100.40:80",
      name: undefined,
      evidence: "keepalive_text",
      confidence: 0.95,
    },
  ]);
  assert.equal(f.h.det.stats.contacts["Keep-alive"], 4);
  assert.equal(f.h.det.stats.repeated, 1);
});

Deno.test("NAT-T: Pack opcodes either way, the IP/PORT answer from port 5004, nothing else", () => {
  const f = new Feed();
  const natt = "203.0.113.20";
  f.udp(
    "10.0.1.1",
    27879,
    natt,
    5004,
    pack([["opcode", { str: "get_token" }], ["tran_id", { int64: 7n }]]),
  );
  // The NAT-T server's relay to a VPN server: the VPN server is the contacting host.
  f.udp(
    natt,
    5004,
    "10.0.1.2",
    31000,
    pack([["ok", { int: 1 }], ["opcode", { str: "nat_t_connect_relay" }]]),
  );
  f.udp("10.0.1.3", 31001, natt, 5004, ascii("A")); // the 1-byte NAT check alone: no
  f.udp(natt, 5004, "10.0.1.3", 31001, ascii("IP=198.51.100.7,PORT=31001#"));
  f.udp(natt, 5004, "10.0.1.4", 31002, ascii("IP=198.51.100.7,PORT=#"));
  f.udp(natt, 5005, "10.0.1.4", 31002, ascii("IP=198.51.100.7,PORT=31002#"));
  f.udp(natt, 5004, "10.0.1.4", 31002, ascii("IP=2001:db8::7,PORT=123456#"));
  f.udp("10.0.1.5", 31003, natt, 5004, pack([["opcode", { str: "get_tokens" }]]));
  f.udp("10.0.1.5", 31003, natt, 5004, pack([["opcode", { int: 1 }]]));
  f.udp("10.0.1.5", 31003, natt, 5004, pack([["op", { str: "get_token" }]]));
  f.udp("10.0.1.6", 31004, "10.0.1.60", 7777, pack([["OpCode", { str: "nat_t_connect_request" }]]));
  f.finish();
  assert.deepEqual(f.events.map(brief), [
    {
      service: "NAT-T",
      variant: "UDP",
      client: "10.0.1.1:27879",
      server: `${natt}:5004`,
      name: undefined,
      evidence: "pack_get_token",
      confidence: 0.95,
    },
    {
      service: "NAT-T",
      variant: "UDP",
      client: "10.0.1.2:31000",
      server: `${natt}:5004`,
      name: undefined,
      evidence: "pack_nat_t_connect_relay",
      confidence: 0.95,
    },
    {
      service: "NAT-T",
      variant: "UDP",
      client: "10.0.1.3:31001",
      server: `${natt}:5004`,
      name: undefined,
      evidence: "nat_t_ip_reply",
      confidence: 0.85,
    },
    {
      service: "NAT-T",
      variant: "UDP",
      client: "10.0.1.6:31004",
      server: "10.0.1.60:7777",
      name: undefined,
      evidence: "pack_nat_t_connect_request",
      confidence: 0.95,
    },
  ]);
});

/** An HTTP request head as SoftEther's Wpc.c sends it (its headers sorted, as on the wire). */
function wpcRequest(method: string, target: string, host: string | null, extra = ""): Uint8Array {
  return ascii(
    `${method} ${target} HTTP/1.1\r\nAccept-Language: ja\r\nCache-Control: no-cache\r\n` +
      `Connection: Keep-Alive\r\n${host === null ? "" : `Host: ${host}\r\n`}` +
      `Keep-Alive: timeout=15; max=19\r\nPragma: no-cache\r\n` +
      `User-Agent: Mozilla/5.0 (Windows NT 6.3; WOW64; rv:29.0) Gecko/20100101 Firefox/29.0\r\n${extra}\r\n`,
  );
}

Deno.test("DDNS over HTTP: SoftEther's names in Host or the proxy form, or its endpoints with its fixed headers", () => {
  const f = new Feed();
  const srv = "198.51.100.10";
  // Through an HTTP proxy: absolute target, no Host header needed.
  f.tcp("10.0.2.1", 40000, "10.0.9.9", 3128, [[
    true,
    wpcRequest(
      "POST",
      "http://x1.x2.dev.open.servers.ddns.softether-network.net/ddns/ddns.aspx?v=1",
      null,
    ),
  ]]);
  // A lab name: endpoint + fixed headers.
  f.tcp("10.0.2.2", 40001, srv, 80, [[
    true,
    wpcRequest("GET", "/ddns/getmyip.ashx?v=2", "ddns.lab:80"),
  ]]);
  // A browser at a user's DDNS host name.
  f.tcp("10.0.2.3", 40002, srv, 80, [[
    true,
    ascii("GET / HTTP/1.1\r\nHost: VPN1.SoftEther.NET.\r\nUser-Agent: curl/8\r\n\r\n"),
  ]]);
  // The endpoint with another client's headers: no.
  f.tcp("10.0.2.4", 40003, srv, 80, [[
    true,
    ascii("GET /ddns/getmyip.ashx HTTP/1.1\r\nHost: ddns.lab\r\nUser-Agent: curl/8\r\n\r\n"),
  ]]);
  // ddclient's dyndns2 update: no.
  f.tcp("10.0.2.5", 40004, srv, 80, [[
    true,
    ascii(
      "GET /nic/update?system=dyndns&hostname=myhost.lab&myip=10.0.2.5 HTTP/1.1\r\nHost: ddns.lab\r\nUser-Agent: ddclient/3.10.0\r\n\r\n",
    ),
  ]]);
  // SoftEther's website, and look-alike names: no.
  for (
    const [i, host] of [
      "www.softether.org",
      "softether.net.example.com",
      "evilsoftether.net",
      "sedns.cn.example",
    ].entries()
  ) {
    f.tcp("10.0.2.6", 40010 + i, srv, 80, [[
      true,
      ascii(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
    ]]);
  }
  // The endpoint path must be the endpoint: a longer path is not.
  f.tcp("10.0.2.7", 40020, srv, 80, [[true, wpcRequest("GET", "/ddns/ddns.aspxx", "ddns.lab")]]);
  // A proxy's CONNECT to a SoftEther name (HTTPS through a proxy), and to another name.
  f.tcp("10.0.2.8", 40021, "10.0.9.9", 3128, [[
    true,
    ascii("CONNECT relay2.VPNAzure.net:443 HTTP/1.0\r\n\r\n"),
  ]]);
  f.tcp("10.0.2.9", 40022, "10.0.9.9", 3128, [[
    true,
    ascii("CONNECT www.example.com:443 HTTP/1.1\r\nHost: x.softether.net\r\n\r\n"),
  ]]);
  f.finish();
  assert.deepEqual(f.events.map(brief), [
    {
      service: "DDNS",
      variant: "TCP",
      client: "10.0.2.1:40000",
      server: "10.0.9.9:3128",
      name: "x1.x2.dev.open.servers.ddns.softether-network.net",
      evidence: "http_host,http_ddns_request,softether_http_headers",
      confidence: 0.99,
    },
    {
      service: "DDNS",
      variant: "TCP",
      client: "10.0.2.2:40001",
      server: `${srv}:80`,
      name: "ddns.lab",
      evidence: "http_ddns_request,softether_http_headers",
      confidence: 0.9,
    },
    {
      service: "DDNS",
      variant: "TCP",
      client: "10.0.2.3:40002",
      server: `${srv}:80`,
      name: "vpn1.softether.net.",
      evidence: "http_host",
      confidence: 0.85,
    },
    {
      service: "VPN Azure",
      variant: "TCP",
      client: "10.0.2.8:40021",
      server: "10.0.9.9:3128",
      name: "relay2.vpnazure.net",
      evidence: "http_connect",
      confidence: 0.85,
    },
  ]);
});

const hello = (sni: string) =>
  records(22, clientHello({ ciphers: [0x1301, 0xc02f], extensions: [sniExt(sni)] }));

Deno.test("TLS: SNI DDNS or one of SoftEther's names, as the first client payload", () => {
  const f = new Feed();
  f.tcp("10.0.3.1", 40000, "198.51.100.11", 443, [[true, hello("DDNS")]]);
  f.tcp("10.0.3.2", 40001, "198.51.100.30", 443, [[true, hello("myvpn.vpnazure.net")]]);
  f.tcp("10.0.3.2", 40002, "198.51.100.31", 443, [[true, hello("myvpn.vpnazure.net")]]); // repeated
  f.tcp("10.0.3.3", 40003, "198.51.100.30", 443, [[true, hello("vpnazure.net.example.com")]]);
  f.tcp("10.0.3.3", 40004, "198.51.100.30", 443, [[true, hello("www.example.com")]]);
  f.tcp("10.0.3.4", 40005, "198.51.100.30", 443, [[true, hello("ddnsx")]]);
  f.finish();
  assert.deepEqual(f.events.map(brief), [
    {
      service: "DDNS",
      variant: "TCP",
      client: "10.0.3.1:40000",
      server: "198.51.100.11:443",
      name: "ddns",
      evidence: "tls_sni",
      confidence: 0.9,
    },
    {
      service: "VPN Azure",
      variant: "TCP",
      client: "10.0.3.2:40001",
      server: "198.51.100.30:443",
      name: "myvpn.vpnazure.net",
      evidence: "tls_sni",
      confidence: 0.9,
    },
  ]);
  assert.equal(f.h.det.stats.repeated, 1);
});

Deno.test("VPN Azure: ACTL confirmed by a Pack with hash, or alone when the relay never answered", () => {
  const f = new Feed();
  const relay = "198.51.100.30";
  const params = pack([["ControlKeepAlive", { int: 30000 }], ["ControlTimeout", { int: 60000 }]]);
  f.tcp("10.0.4.1", 40000, relay, 443, [[true, ascii("ACTL")], [false, packWithHash(params)]]);
  // The relay answers something else: no.
  f.tcp("10.0.4.2", 40001, relay, 443, [[true, ascii("ACTL")], [
    false,
    ascii("HTTP/1.1 400 Bad Request\r\n\r\n"),
  ]]);
  // A Pack with hash but without the protocol's elements: no.
  f.tcp("10.0.4.3", 40002, relay, 443, [[true, ascii("ACTL")], [
    false,
    packWithHash(pack([["x", { int: 1 }]])),
  ]]);
  // The relay stays silent: reported when the connection ends, on the signature alone.
  f.tcp("10.0.4.4", 40003, relay, 443, [[true, ascii("ACTL")]]);
  // The signature retransmitted, then the relay's Pack.
  f.tcp("10.0.4.7", 40006, relay, 443, [[true, ascii("ACTL")], [true, ascii("ACTL")], [
    false,
    packWithHash(params),
  ]]);
  // Only the server's side on the wire: ACTL, then its own status Pack.
  const status = pack([["CurrentHostName", { str: "vpn1" }], ["CurrentAzureIp", { str: relay }]]);
  f.tcp("10.0.4.8", 40007, relay, 443, [[true, ascii("ACTL")], [true, packWithHash(status)]]);
  // ACTL later in a connection: no.
  f.tcp("10.0.4.5", 40004, relay, 443, [[true, ascii("x")], [true, ascii("ACTL")]]);
  // Still open at the end of input, relay silent: reported at the end.
  f.tcp("10.0.4.6", 40005, relay, 443, [[true, ascii("ACTL")]], false);
  f.finish();
  // (Flows still tracked end at the end of input, by timeout class: the order is the table's.)
  const sorted = f.events.map(brief).sort((a, b) => a.client < b.client ? -1 : 1);
  assert.deepEqual(sorted, [
    {
      service: "VPN Azure",
      variant: "TCP",
      client: "10.0.4.1:40000",
      server: `${relay}:443`,
      name: undefined,
      evidence: "azure_actl,azure_relay_pack",
      confidence: 0.95,
    },
    {
      service: "VPN Azure",
      variant: "TCP",
      client: "10.0.4.4:40003",
      server: `${relay}:443`,
      name: undefined,
      evidence: "azure_actl",
      confidence: 0.6,
    },
    {
      service: "VPN Azure",
      variant: "TCP",
      client: "10.0.4.6:40005",
      server: `${relay}:443`,
      name: undefined,
      evidence: "azure_actl",
      confidence: 0.6,
    },
    {
      service: "VPN Azure",
      variant: "TCP",
      client: "10.0.4.7:40006",
      server: `${relay}:443`,
      name: undefined,
      evidence: "azure_actl,azure_relay_pack",
      confidence: 0.95,
    },
    {
      service: "VPN Azure",
      variant: "TCP",
      client: "10.0.4.8:40007",
      server: `${relay}:443`,
      name: undefined,
      evidence: "azure_actl,azure_server_pack",
      confidence: 0.95,
    },
  ]);
});

// ---------------------------------------------------------------- DNS

function dnsName(name: string): Uint8Array {
  return nameToWire(name);
}

function u16(v: number): Uint8Array {
  return new Uint8Array([v >> 8, v & 255]);
}

function dnsQuery(id: number, name: string, qtype = 1): Uint8Array {
  return concat(
    u16(id),
    u16(0x0100),
    u16(1),
    u16(0),
    u16(0),
    u16(0),
    dnsName(name),
    u16(qtype),
    u16(1),
  );
}

/** A response with the question and A/AAAA answers (by address form), rcode `rcode`. */
function dnsResponse(id: number, name: string, addrs: string[], rcode = 0, qtype = 1): Uint8Array {
  const answers = addrs.map((a) => {
    const b = ipBytes(a);
    return concat(u16(0xc00c), u16(b.length === 4 ? 1 : 28), u16(1), be32(60), u16(b.length), b);
  });
  return concat(
    u16(id),
    u16(0x8180 | rcode),
    u16(1),
    u16(addrs.length),
    u16(0),
    u16(0),
    dnsName(name),
    u16(qtype),
    u16(1),
    ...answers,
  );
}

Deno.test("DNS: questions, answers whose query went unseen, and contacts with the answered addresses", () => {
  const f = new Feed();
  const dns = "10.0.5.53";
  // A question for a user's DDNS host name: a DDNS contact, its address not remembered.
  f.udp("10.0.5.1", 50000, dns, 53, dnsQuery(1, "myvpn.softether.net"));
  f.udp(dns, 53, "10.0.5.1", 50000, dnsResponse(1, "myvpn.softether.net", ["198.51.100.50"]));
  f.tcp("10.0.5.9", 40000, "198.51.100.50", 443, []);
  // Only the answer seen (asymmetric capture): the host it is addressed to made the contact.
  f.udp(
    dns,
    53,
    "10.0.5.2",
    50001,
    dnsResponse(
      2,
      "X9.X1.dev.servers.nat-traversal.softether-network.net",
      ["198.51.100.20", "2001:db8::20"],
      0,
      1,
    ),
  );
  // Another host talks to the answered addresses (no name of its own on the wire).
  f.udp("10.0.5.3", 27000, "198.51.100.20", 5004, ascii("A"));
  f.udp("2001:db8::3", 27001, "2001:db8::20", 5004, ascii("B"));
  // NXDOMAIN: the question counts, nothing is remembered.
  f.udp("10.0.5.4", 50002, dns, 53, dnsQuery(3, "keepalive.softether.org"));
  f.udp(dns, 53, "10.0.5.4", 50002, dnsResponse(3, "keepalive.softether.org", [], 3));
  // Look-alike names and other software's names: nothing.
  for (
    const [i, n] of [
      "softether.net.example.org",
      "xsoftether.net",
      "www.softether.org",
      "ddns.lab",
      "vpnazure.com",
    ].entries()
  ) {
    f.udp("10.0.5.5", 50010 + i, dns, 53, dnsQuery(10 + i, n));
  }
  // Not DNS on port 53: nothing, no exception.
  f.udp("10.0.5.6", 50020, dns, 53, ascii("hello, world"));
  f.finish();
  assert.deepEqual(f.events.map(brief), [
    {
      service: "DDNS",
      variant: "UDP",
      client: "10.0.5.1:50000",
      server: `${dns}:53`,
      name: "myvpn.softether.net",
      evidence: "dns_question",
      confidence: 0.9,
    },
    {
      service: "NAT-T",
      variant: "UDP",
      client: "10.0.5.2:50001",
      server: `${dns}:53`,
      name: "x9.x1.dev.servers.nat-traversal.softether-network.net",
      evidence: "dns_answer",
      confidence: 0.9,
    },
    {
      service: "NAT-T",
      variant: "UDP",
      client: "10.0.5.3:27000",
      server: "198.51.100.20:5004",
      name: "x9.x1.dev.servers.nat-traversal.softether-network.net",
      evidence: "resolved_address",
      confidence: 0.7,
    },
    {
      service: "NAT-T",
      variant: "UDP",
      client: "2001:db8::3:27001",
      server: "2001:db8::20:5004",
      name: "x9.x1.dev.servers.nat-traversal.softether-network.net",
      evidence: "resolved_address",
      confidence: 0.7,
    },
    {
      service: "Keep-alive",
      variant: "UDP",
      client: "10.0.5.4:50002",
      server: `${dns}:53`,
      name: "keepalive.softether.org",
      evidence: "dns_question",
      confidence: 0.9,
    },
  ]);
  assert.equal(f.h.det.stats.addresses, 2);
});

Deno.test("de-duplication is bounded: past 65,536 hosts the oldest are forgotten and counted", () => {
  const f = new Feed();
  const host = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const N = 70_000;
  for (let i = 0; i < N; i++) f.udp(host(i), 40000, "198.51.100.40", 80, KEEPALIVE);
  assert.equal(f.events.length, N);
  // Two generations of 32,768: the first generation went when the third began.
  assert.equal(f.h.det.stats.hostsForgotten, 32_768);
  assert.equal(f.h.weirds.get("infra_host_forgotten"), 32_768);
  f.udp(host(N - 1), 40000, "198.51.100.40", 80, KEEPALIVE); // still known: counted only
  assert.equal(f.events.length, N);
  f.udp(host(0), 40000, "198.51.100.40", 80, KEEPALIVE); // forgotten: reported again
  assert.equal(f.events.length, N + 1);
  assert.equal(f.h.det.stats.repeated, 1);
  f.finish();
});

Deno.test("remembered addresses are bounded: past 4,096 the oldest are forgotten and counted", () => {
  const f = new Feed();
  const addr = (i: number) => `198.18.${i >> 8}.${i & 255}`;
  const N = 5_000;
  for (let r = 0; r < N / 100; r++) {
    const addrs = Array.from({ length: 100 }, (_, k) => addr(r * 100 + k));
    f.udp("10.0.6.53", 53, "10.0.6.1", 50000 + r, dnsResponse(r, "relay.vpnazure.net", addrs));
  }
  assert.equal(f.h.det.stats.addressesForgotten, 2_048);
  assert.equal(f.h.weirds.get("infra_address_forgotten"), 2_048);
  assert.equal(f.h.det.stats.addresses, N - 2_048);
  f.tcp("10.0.6.2", 40000, addr(0), 443, []); // forgotten
  f.tcp("10.0.6.3", 40001, addr(N - 1), 443, []);
  f.finish();
  assert.deepEqual(f.events.slice(1).map(brief), [{
    service: "VPN Azure",
    variant: "TCP",
    client: "10.0.6.3:40001",
    server: `${addr(N - 1)}:443`,
    name: "relay.vpnazure.net",
    evidence: "resolved_address",
    confidence: 0.7,
  }]);
});
