// The server-face detector on real captures (lab4 positives and negatives,
// the earlier labs' negatives, SoftEther's own TLS 1.2 sessions) and on
// synthetic flows that change one SoftEther trait at a time.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { ServerFaceDetector } from "../../src/detect/server_face_detector.ts";
import { formatAlertLine } from "../../src/output/text_log.ts";
import { Pipeline } from "../../src/pipeline.ts";
import { concat } from "../helpers/bytes.ts";
import {
  basicConstraints,
  buildCert,
  type CertSpec,
  extKeyUsage,
  keyUsage,
  softEtherCertSpec,
  softEtherNotAfter,
  tlv,
} from "../helpers/der_builder.ts";
import { ethernet, ipPacket } from "../helpers/frames.ts";
import { clientHello, ext, records, sniExt, u16 } from "../proto/tls_builder.ts";

const TESTDATA = fileURLToPath(new URL("../../testdata/", import.meta.url));

interface Frame {
  bytes: Uint8Array;
  ts: number;
}

async function loadFrames(file: string): Promise<Frame[]> {
  const src = await openCaptureFiles([`${TESTDATA}${file}`]);
  const raw = new RawPacket();
  const out: Frame[] = [];
  do {
    while (src.next(raw)) {
      out.push({
        bytes: raw.buf.slice(raw.offset, raw.offset + raw.capLen),
        ts: raw.tsSec + raw.tsNsec / 1e9,
      });
    }
  } while (await src.refill());
  src.close();
  return out;
}

interface Run {
  events: DetectionEvent[];
  det: ServerFaceDetector;
  weirds: Weirds;
}

function run(frames: Frame[], maxInspections?: number, tickAt?: number): Run {
  const events: DetectionEvent[] = [];
  const weirds = new Weirds();
  const det = new ServerFaceDetector((e) => events.push(e), weirds, { maxInspections });
  const pipeline = new Pipeline([det], {}, weirds);
  const raw = new RawPacket();
  for (const f of frames) {
    raw.buf = f.bytes;
    raw.offset = 0;
    raw.capLen = raw.wireLen = f.bytes.length;
    raw.tsSec = Math.floor(f.ts);
    raw.tsNsec = Math.round((f.ts - raw.tsSec) * 1e9);
    raw.linkType = LinkType.ETHERNET;
    pipeline.handle(raw);
  }
  if (tickAt !== undefined) pipeline.tick(tickAt);
  else pipeline.finish();
  return { events, det, weirds };
}

async function runFile(file: string): Promise<Run> {
  return run(await loadFrames(file));
}

/** The fields a test compares. */
function brief(e: DetectionEvent) {
  return {
    kind: e.kind,
    face: e.face,
    variant: e.variant,
    client: `${e.client.ip}:${e.client.port}`,
    server: `${e.server.ip}:${e.server.port}`,
    name: e.name,
    evidence: e.evidence.join(","),
    confidence: e.confidence,
  };
}

// --- real captures ---------------------------------------------------------

Deno.test("faces: SoftEther's OpenVPN server over UDP shows its certificate in the control channel", async () => {
  const { events, det } = await runFile("lab4/openvpn_udp_softether.pcap");
  assert.deepEqual(events.map(brief), [{
    kind: "server",
    face: "OpenVPN",
    variant: "UDP",
    client: "10.77.1.2:44322",
    server: "10.77.2.2:1194",
    name: "vm",
    evidence: "openvpn_plain_reset,openvpn_ctrl_chunk_1200,tls_cert_softether_default",
    confidence: 0.95,
  }]);
  assert.equal(det.live, 0);
  assert.equal(det.stats.inspected, 1);
  assert.match(
    formatAlertLine(events[0], 0),
    /SoftEther Server Detected \(server 10\.77\.2\.2:1194, face OpenVPN, client 10\.77\.1\.2:44322, name vm\)$/,
  );
});

Deno.test("faces: SoftEther's OpenVPN server on its TCP 443 listener", async () => {
  const { events } = await runFile("lab4/openvpn_tcp_softether.pcap");
  assert.deepEqual(events.map(brief), [{
    kind: "server",
    face: "OpenVPN",
    variant: "TCP",
    client: "10.77.1.2:54368",
    server: "10.77.2.2:443",
    name: "vm",
    evidence: "openvpn_plain_reset,openvpn_ctrl_chunk_1200,tls_cert_softether_default",
    confidence: 0.95,
  }]);
});

Deno.test("faces: TLS 1.2 to SoftEther's 443 shows the certificate (curl's SSTP-like request is not MS-SSTP-sized)", async () => {
  // Two connections: curl --tls-max 1.2 -X SSTP_DUPLEX_POST (with its own
  // User-Agent and Accept headers: 226 bytes, where an MS-SSTP request to
  // 10.77.2.2 is 188), then openssl s_client -tls1_2. Both show the
  // certificate: one event for (10.77.2.2, 443, certificate).
  const { events, det } = await runFile("lab4/sstp_tls12_softether.pcap");
  assert.deepEqual(events.map(brief), [{
    kind: "server",
    face: "certificate",
    variant: "TCP",
    client: "10.77.1.2:40806",
    server: "10.77.2.2:443",
    name: "vm",
    evidence: "tls_cert_softether_default",
    confidence: 0.95,
  }]);
  assert.equal(det.stats.inspected, 2);
  assert.equal(det.stats.repeated, 1);
});

Deno.test("faces: SoftEther's own sessions over TLS 1.2 reveal the server by its certificate too", async () => {
  // lab2/tls12_server*.pcap are SoftEther VPN sessions (the TCP detector's
  // job) with the server limited to TLS 1.2: its self-generated certificate
  // is in clear, so this detector reports the server's "certificate" face —
  // correctly. Behind the HTTP proxy the TLS starts after a CONNECT: not inspected.
  for (const file of ["lab2/tls12_server.pcap", "lab2/tls12_server_idle.pcap"]) {
    const { events, det } = await runFile(file);
    assert.deepEqual(
      events.map((e) => [e.face, e.server.ip, e.server.port, e.name, e.evidence.join(",")]),
      [["certificate", "10.77.2.2", 443, "vm", "tls_cert_softether_default"]],
      file,
    );
    assert.equal(det.stats.inspected, 2, file); // main and extra connection
    assert.equal(det.stats.repeated, 1, file);
  }
  assert.deepEqual((await runFile("lab2/tls12_server_http_proxy.pcap")).events, []);
});

Deno.test("faces: look-alikes stay silent (real OpenVPN servers, openssl self-signed certificates)", async () => {
  for (
    const file of [
      "lab4/neg_openvpn_udp_plain.pcap",
      "lab4/neg_openvpn_tcp_plain.pcap",
      "lab4/neg_tls12_selfsigned.pcap",
      "lab4/neg_tls12_selfsigned_cnonly.pcap",
      "lab4/neg_ocserv.pcap",
      "lab/neg_openvpn_tcp.pcap",
      "lab2/neg_openvpn_squid.pcap",
      "lab2/neg_stunnel.pcap",
      "lab2/neg_openssl_post.pcap",
      "lookalike/soap_noalpn.pcap",
    ]
  ) {
    const { events, det } = await runFile(file);
    assert.deepEqual(events, [], file);
    assert.equal(det.live, 0, file);
  }
  // The real OpenVPN servers are looked at (plain resets), then let go.
  assert.equal((await runFile("lab4/neg_openvpn_udp_plain.pcap")).det.stats.inspected, 1);
  assert.equal((await runFile("lab4/neg_tls12_selfsigned.pcap")).det.stats.inspected, 2);
});

Deno.test("faces: every other capture of the labs gives nothing (TLS 1.3 SoftEther sessions hide the certificate)", async () => {
  const files: string[] = [];
  for (const dir of ["lab", "lab2", "lab3", "lab4", "lookalike"]) {
    for (const e of Deno.readDirSync(`${TESTDATA}${dir}`)) {
      if (!/\.pcap(ng)?(\.gz)?$/.test(e.name)) continue;
      if (/^(tls12_server|tls12_server_idle|openvpn_|sstp_)/.test(e.name)) continue;
      files.push(`${dir}/${e.name}`);
    }
  }
  assert.ok(files.length > 60, `${files.length}`);
  for (const f of files) assert.deepEqual((await runFile(f)).events, [], f);
});

/** Frames with the serial number of every certificate changed from 0 to 1. */
function patchSerial(frames: Frame[]): number {
  const pattern = [0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x00];
  let n = 0;
  for (const f of frames) {
    const b = f.bytes;
    for (let i = 0; i + pattern.length <= b.length; i++) {
      if (pattern.every((v, k) => b[i + k] === v)) {
        b[i + pattern.length - 1] = 0x01;
        n++;
      }
    }
  }
  return n;
}

Deno.test("faces: without the certificate, SoftEther's OpenVPN behaviour alone decides (real sessions, serial changed)", async () => {
  for (
    const [file, variant, server] of [
      ["lab4/openvpn_udp_softether.pcap", "UDP", "10.77.2.2:1194"],
      ["lab4/openvpn_tcp_softether.pcap", "TCP", "10.77.2.2:443"],
    ]
  ) {
    const frames = await loadFrames(file);
    assert.equal(patchSerial(frames), 1, file);
    const { events } = run(frames);
    assert.deepEqual(
      events.map((e) => [e.face, e.variant, e.server.ip + ":" + e.server.port, e.name]),
      [["OpenVPN", variant, server, undefined]],
      file,
    );
    assert.equal(
      events[0].evidence.join(","),
      "openvpn_plain_reset,openvpn_ctrl_chunk_1200,openvpn_acks_once,openvpn_data_v1",
    );
    assert.equal(events[0].confidence, 0.8);
  }
  const sstp = await loadFrames("lab4/sstp_tls12_softether.pcap");
  assert.equal(patchSerial(sstp), 2);
  assert.deepEqual(run(sstp).events, []);
});

// --- synthetic TLS ---------------------------------------------------------

const T0 = 1_790_000_000;

/** A TCP connection's frames with consistent sequence numbers. */
class TcpConv {
  readonly frames: Frame[] = [];
  #cseq = 1000;
  #sseq = 500_000;
  t: number;
  constructor(
    readonly client: string,
    readonly server: string,
    readonly cport: number,
    readonly sport: number,
    t0 = T0,
  ) {
    this.t = t0;
  }

  #seg(fromClient: boolean, flags: number, payload: Uint8Array, dt: number): void {
    this.t += dt;
    const seq = fromClient ? this.#cseq : this.#sseq;
    const ack = fromClient ? this.#sseq : this.#cseq;
    this.frames.push({
      bytes: ethernet(ipPacket({
        src: fromClient ? this.client : this.server,
        dst: fromClient ? this.server : this.client,
        sport: fromClient ? this.cport : this.sport,
        dport: fromClient ? this.sport : this.cport,
        flags,
        seq,
        ack: flags === 0x02 ? 0 : ack,
        payload,
      })),
      ts: this.t,
    });
    const used = payload.length + ((flags & 0x03) !== 0 ? 1 : 0);
    if (fromClient) this.#cseq = (this.#cseq + used) >>> 0;
    else this.#sseq = (this.#sseq + used) >>> 0;
  }

  handshake(): this {
    this.#seg(true, 0x02, new Uint8Array(0), 0);
    this.#seg(false, 0x12, new Uint8Array(0), 0.001);
    this.#seg(true, 0x10, new Uint8Array(0), 0.001);
    return this;
  }

  c(payload: Uint8Array, dt = 0.001, mss = 1448): this {
    for (let o = 0; o < payload.length; o += mss) {
      this.#seg(true, 0x18, payload.subarray(o, o + mss), o === 0 ? dt : 0.0001);
    }
    return this;
  }

  s(payload: Uint8Array, dt = 0.001, mss = 1448): this {
    for (let o = 0; o < payload.length; o += mss) {
      this.#seg(false, 0x18, payload.subarray(o, o + mss), o === 0 ? dt : 0.0001);
    }
    return this;
  }

  fin(dt = 0.01): this {
    this.#seg(true, 0x11, new Uint8Array(0), dt);
    this.#seg(false, 0x11, new Uint8Array(0), 0.001);
    return this;
  }
}

/** A handshake message: type, u24 length, body. */
function msg(type: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  return concat(new Uint8Array([type, n >> 16, (n >> 8) & 0xff, n & 0xff]), body);
}

function serverHello(cipher: number, tls13 = false): Uint8Array {
  const e = tls13 ? ext(0x2b, u16(0x0304)) : ext(0xff01, new Uint8Array([0]));
  return msg(
    2,
    concat(
      u16(0x0303),
      new Uint8Array(32).fill(3),
      new Uint8Array([32]),
      new Uint8Array(32).fill(4),
      u16(cipher),
      new Uint8Array([0]),
      u16(e.length),
      e,
    ),
  );
}

function certificateMsg(der: Uint8Array): Uint8Array {
  const entry = concat(new Uint8Array([0, der.length >> 8, der.length & 0xff]), der);
  return msg(11, concat(new Uint8Array([0, entry.length >> 8, entry.length & 0xff]), entry));
}

/** The server's TLS 1.2 flight with `der` (ECDHE key exchange, ServerHelloDone). */
function serverFlight(der: Uint8Array, cipher = 0xc030): Uint8Array {
  return records(
    22,
    concat(
      serverHello(cipher),
      certificateMsg(der),
      msg(12, new Uint8Array(329).fill(7)),
      msg(14, new Uint8Array(0)),
    ),
    16384,
    0x0303,
  );
}

function hello(sni?: string): Uint8Array {
  return records(
    22,
    clientHello({
      ciphers: [0xc030, 0xc02f, 0xcca8, 0x003c],
      extensions: sni === undefined ? [ext(0xff01, new Uint8Array([0]))] : [sniExt(sni)],
    }),
    16384,
    0x0301,
  );
}

/** The client's second flight (ClientKeyExchange, ChangeCipherSpec, Finished). */
const CLIENT_FINISH = concat(
  records(22, msg(16, new Uint8Array(33).fill(5)), 16384, 0x0303),
  records(20, new Uint8Array([1]), 16384, 0x0303),
  records(22, new Uint8Array(40).fill(6), 16384, 0x0303),
);
const SERVER_FINISH = concat(
  records(20, new Uint8Array([1]), 16384, 0x0303),
  records(22, new Uint8Array(40).fill(8), 16384, 0x0303),
);

interface TlsOpts {
  sni?: string;
  cipher?: number;
  /** Length of the client's first application-data record (none when undefined). */
  appRecord?: number;
  sport?: number;
  cport?: number;
  client?: string;
  server?: string;
  mss?: number;
  t0?: number;
  fin?: boolean;
}

/** A full TLS 1.2 connection whose server shows `der`. */
function tlsConn(der: Uint8Array, o: TlsOpts = {}): TcpConv {
  const conv = new TcpConv(
    o.client ?? "10.9.1.2",
    o.server ?? "10.9.2.2",
    o.cport ?? 40001,
    o.sport ?? 443,
    o.t0,
  );
  conv.handshake().c(hello(o.sni)).s(serverFlight(der, o.cipher), 0.001, o.mss).c(CLIENT_FINISH).s(
    SERVER_FINISH,
  );
  if (o.appRecord !== undefined) {
    conv.c(records(23, new Uint8Array(o.appRecord).fill(0x99), 16384, 0x0303), 0.002);
    conv.s(records(23, new Uint8Array(300).fill(0x98), 16384, 0x0303), 0.01);
  }
  if (o.fin !== false) conv.fin();
  return conv;
}

const SE = (cn = "vpn-host"): Uint8Array => buildCert(softEtherCertSpec(cn));
const MS_SSTP_FIXED = 179; // request line, Host: + CRLF, Content-Length, SSTPCORRELATIONID, blank line

Deno.test("faces: SoftEther's certificate in a synthetic TLS 1.2 flight, any segmentation", () => {
  for (const mss of [1448, 100, 7, 1]) {
    const { events, det } = run(tlsConn(SE("Vpn-Server01"), { mss, appRecord: 3000 }).frames);
    assert.deepEqual(
      events.map((e) => [e.face, e.name, e.server.port, e.client.port, e.variant]),
      [["certificate", "Vpn-Server01", 443, 40001, "TCP"]],
      `mss ${mss}`,
    );
    assert.equal(det.live, 0);
  }
});

Deno.test("faces: what NewRootX509 fixes, one field changed at a time, is no longer SoftEther's certificate", () => {
  const created = new Date(Date.UTC(2026, 10, 26, 7, 9, 19));
  const variants: [string, (s: CertSpec) => void, boolean][] = [
    ["as generated", () => {}, true],
    ["ServerCertRegenerate with a name", (s) => {
      const n: [string, string][] = [["CN", "vpn.example.com"], ["O", "vpn.example.com"], [
        "OU",
        "vpn.example.com",
      ], ["C", "US"]];
      s.subject = s.issuer = n;
    }, true],
    ["made in 2031 (valid until 2049-12-29)", (s) => {
      s.notBefore = new Date(Date.UTC(2031, 4, 5, 6, 7, 8));
      s.notAfter = softEtherNotAfter(s.notBefore);
      assert.equal(s.notAfter.toISOString(), "2049-12-29T06:07:08.000Z");
    }, true],
    ["made at midnight (valid until 2038-01-01 00:00)", (s) => {
      s.notBefore = new Date(Date.UTC(2027, 0, 1));
      s.notAfter = softEtherNotAfter(s.notBefore);
      assert.equal(s.notAfter.toISOString(), "2038-01-01T00:00:00.000Z");
    }, true],
    ["serial 1", (s) => (s.serial = new Uint8Array([1])), false],
    ["serial 00 00", (s) => (s.serial = new Uint8Array([0, 0])), false],
    ["v1", (s) => (s.version = 1), false],
    [
      "issuer differs",
      (s) => (s.issuer = [["CN", "ca"], ["O", "ca"], ["OU", "ca"], ["C", "US"]]),
      false,
    ],
    [
      "O differs",
      (s) => (s.subject = s.issuer = [["CN", "h"], ["O", "x"], ["OU", "h"], ["C", "US"]]),
      false,
    ],
    [
      "OU differs",
      (s) => (s.subject = s.issuer = [["CN", "h"], ["O", "h"], ["OU", "x"], ["C", "US"]]),
      false,
    ],
    [
      "C = DE",
      (s) => (s.subject = s.issuer = [["CN", "h"], ["O", "h"], ["OU", "h"], ["C", "DE"]]),
      false,
    ],
    [
      "openssl order (C first)",
      (s) => (s.subject = s.issuer = [["C", "US"], ["CN", "h"], ["O", "h"], ["OU", "h"]]),
      false,
    ],
    [
      "extra ST",
      (
        s,
      ) => (s.subject = s.issuer = [["CN", "h"], ["O", "h"], ["OU", "h"], ["C", "US"], [
        "ST",
        "CA",
      ]]),
      false,
    ],
    [
      "empty CN",
      (s) => (s.subject = s.issuer = [["CN", ""], ["O", ""], ["OU", ""], ["C", "US"]]),
      false,
    ],
    [
      "basicConstraints not critical",
      (s) => (s.extensions[0] = basicConstraints(true, false)),
      false,
    ],
    ["CA:FALSE", (s) => (s.extensions[0] = basicConstraints(false)), false],
    ["pathLen", (s) => (s.extensions[0] = basicConstraints(true, true, 0)), false],
    ["keyUsage with keyAgreement", (s) => (s.extensions[1] = keyUsage([0x00, 0xfe])), false],
    ["keyUsage critical", (s) => (s.extensions[1] = keyUsage([0x01, 0xf6], true)), false],
    ["8 purposes", (s) => (s.extensions[2] = extKeyUsage([1, 2, 3, 4, 5, 6, 7, 8])), false],
    [
      "purposes reordered",
      (s) => (s.extensions[2] = extKeyUsage([2, 1, 3, 4, 5, 6, 7, 8, 9])),
      false,
    ],
    [
      "SKI added (openssl default)",
      (s) => s.extensions.unshift({ oid: "2.5.29.14", value: tlv(0x04, new Uint8Array(20)) }),
      false,
    ],
    [
      "subjectAltName added",
      (s) => s.extensions.push({ oid: "2.5.29.17", value: tlv(0x30) }),
      false,
    ],
    ["extensions reordered", (s) => s.extensions.reverse(), false],
    ["GeneralizedTime", (s) => (s.timeTag = 0x18), false],
    [
      "valid a day longer",
      (s) => (s.notAfter = new Date(s.notAfter.getTime() + 86_400_000)),
      false,
    ],
    [
      "valid until 2037-12-30",
      (s) => (s.notAfter = new Date(s.notAfter.getTime() - 86_400_000)),
      false,
    ],
    ["time of day differs", (s) => (s.notAfter = new Date(s.notAfter.getTime() + 1000)), false],
    [
      "ten years (openssl -days 3650)",
      (s) => (s.notAfter = new Date(s.notBefore.getTime() + 3650 * 86_400_000)),
      false,
    ],
  ];
  for (const [label, mutate, expected] of variants) {
    const spec = softEtherCertSpec("h", created);
    mutate(spec);
    const { events } = run(tlsConn(buildCert(spec), { appRecord: 2000 }).frames);
    assert.equal(events.length, expected ? 1 : 0, label);
  }
});

Deno.test("faces: SSTP when the client's first data record is an MS-SSTP request's size", () => {
  // AES-GCM (record = request + 24): with SNI, Host is the SNI (with or without :port);
  // without, the server's address (10.9.2.22: 9 characters).
  const sni = "vpn.example.org";
  const cases: [string, TlsOpts, string][] = [
    ["GCM, SNI", { sni, cipher: 0xc030, appRecord: MS_SSTP_FIXED + sni.length + 24 }, "SSTP"],
    [
      "GCM, SNI:443",
      { sni, cipher: 0xc02f, appRecord: MS_SSTP_FIXED + sni.length + 4 + 24 },
      "SSTP",
    ],
    ["ChaCha20, SNI", { sni, cipher: 0xcca8, appRecord: MS_SSTP_FIXED + sni.length + 16 }, "SSTP"],
    [
      "GCM, no SNI: Host is the address",
      { cipher: 0xc030, appRecord: MS_SSTP_FIXED + 9 + 24 },
      "SSTP",
    ],
    ["GCM, no SNI, port 8443", {
      sport: 8443,
      cipher: 0xc030,
      appRecord: MS_SSTP_FIXED + 9 + 5 + 24,
    }, "SSTP"],
    ["CBC-SHA256 window", { sni, cipher: 0x003c, appRecord: 16 + 32 + 208 }, "SSTP"],
    [
      "GCM, one byte more",
      { sni, cipher: 0xc030, appRecord: MS_SSTP_FIXED + sni.length + 25 },
      "certificate",
    ],
    [
      "GCM, curl-like extra headers",
      { cipher: 0xc030, appRecord: MS_SSTP_FIXED + 9 + 38 + 24 },
      "certificate",
    ],
    ["SoftEther's own watermark POST", { sni, appRecord: 2500 }, "certificate"],
    ["no data record (handshake only)", {}, "certificate"],
  ];
  for (const [label, o, face] of cases) {
    const { events } = run(tlsConn(SE(), { server: "10.9.2.22", ...o }).frames);
    assert.deepEqual(events.map((e) => e.face), [face], label);
    assert.equal(
      events[0].evidence.join(","),
      face === "SSTP"
        ? "tls_cert_softether_default,sstp_request_size"
        : "tls_cert_softether_default",
      label,
    );
  }
});

Deno.test("faces: IPv6, and a connection picked up mid-stream whose roles the flow table got backwards", () => {
  // IPv6 without SNI: Host is the bracketed address.
  const v6 = tlsConn(SE(), {
    client: "2001:db8::1",
    server: "2001:db8::2",
    cipher: 0xc030,
    appRecord: MS_SSTP_FIXED + "[2001:db8::2]".length + 24,
  });
  assert.deepEqual(
    run(v6.frames).events.map((e) => [e.face, e.server.ip, e.client.ip, e.variant]),
    [["SSTP", "2001:db8::2", "2001:db8::1", "TCP"]],
  );
  // No handshake seen; the first packet is the server's bare ACK: the flow
  // table takes the server for the client. The ClientHello tells the roles.
  const conv = tlsConn(SE(), { appRecord: 2000 });
  const bareAck = conv.frames[1]; // SYN-ACK from the server...
  const frames = [
    { bytes: bareAck.bytes.slice(), ts: bareAck.ts },
    ...conv.frames.slice(3),
  ];
  frames[0].bytes[14 + 20 + 13] = 0x10; // ...made a bare ACK
  const { events } = run(frames);
  assert.deepEqual(
    events.map((
      e,
    ) => [e.face, `${e.client.ip}:${e.client.port}`, `${e.server.ip}:${e.server.port}`]),
    [["certificate", "10.9.1.2:40001", "10.9.2.2:443"]],
  );
});

Deno.test("faces: a silent client after the certificate is decided after 5 s of packet time (tick)", () => {
  const conv = tlsConn(SE(), { fin: false });
  const last = conv.frames[conv.frames.length - 1].ts;
  assert.deepEqual(run(conv.frames, undefined, last + 4).events, []);
  const { events, det } = run(conv.frames, undefined, last + 5.1);
  assert.equal(events.length, 1);
  assert.equal(events[0].face, "certificate");
  assert.equal(det.live, 0);
  // The deadline dates the event: 5 s after the certificate.
  assert.ok(Math.abs(events[0].ts - (conv.frames[5].ts + 5)) < 0.01, `${events[0].ts}`);
});

Deno.test("faces: one event per (server address, port, face); TLS 1.3 and other certificates let go at once", () => {
  const frames = [
    ...tlsConn(SE(), { cport: 40001, appRecord: 2000 }).frames,
    ...tlsConn(SE(), { cport: 40002, appRecord: 2000, t0: T0 + 1 }).frames,
    ...tlsConn(SE(), { cport: 40003, sport: 992, appRecord: 2000, t0: T0 + 2 }).frames,
    ...tlsConn(SE(), { cport: 40004, server: "10.9.2.3", appRecord: 2000, t0: T0 + 3 }).frames,
    ...tlsConn(SE(), { cport: 40005, sni: "a.b", appRecord: MS_SSTP_FIXED + 3 + 24, t0: T0 + 4 })
      .frames,
  ];
  const { events, det } = run(frames);
  assert.deepEqual(
    events.map((e) => `${e.server.ip}:${e.server.port}/${e.face}/${e.client.port}`),
    [
      "10.9.2.2:443/certificate/40001",
      "10.9.2.2:992/certificate/40003",
      "10.9.2.3:443/certificate/40004",
      "10.9.2.2:443/SSTP/40005",
    ],
  );
  assert.equal(det.stats.repeated, 1);
  // TLS 1.3: stops at the ServerHello.
  const t13 = new TcpConv("10.9.1.2", "10.9.2.2", 40010, 443).handshake().c(hello("x")).s(
    concat(records(22, serverHello(0x1302, true), 16384, 0x0303), records(23, new Uint8Array(900))),
  );
  const r13 = run(t13.frames, undefined, T0 + 1);
  assert.deepEqual(r13.events, []);
  assert.equal(r13.det.live, 0);
  assert.equal(r13.det.stats.inspected, 1);
  // An ordinary certificate: let go at the Certificate message.
  const other = run(
    tlsConn(buildCert({ ...softEtherCertSpec("h"), serial: new Uint8Array([7]) }), { fin: false })
      .frames,
    undefined,
    T0 + 1,
  );
  assert.deepEqual(other.events, []);
  assert.equal(other.det.live, 0);
});

Deno.test("faces: at most maxInspections at once; the oldest makes room, counted", () => {
  const frames: Frame[] = [];
  const halfOpen: Frame[] = [];
  // 20 TLS 1.2 connections stopping after the ServerHello, then a real one.
  for (let i = 0; i < 20; i++) {
    const conv = () =>
      new TcpConv("10.9.1.2", "10.9.2.9", 30000 + i, 443, T0 + i * 0.01).handshake().c(hello());
    frames.push(...conv().s(records(22, serverHello(0xc02f), 16384, 0x0303)).frames);
    halfOpen.push(...conv().frames);
  }
  frames.push(...tlsConn(SE(), { t0: T0 + 1, appRecord: 2000 }).frames);
  frames.sort((a, b) => a.ts - b.ts);
  const { events, det, weirds } = run(frames, 4);
  assert.equal(events.length, 1);
  assert.equal(det.stats.inspected, 21);
  assert.equal(det.stats.evicted, 17);
  assert.equal(weirds.get("face_inspection_evicted"), 17);
  // A ClientHello the server never answered takes no room: its inspection
  // waits for the server's first bytes.
  halfOpen.push(...tlsConn(SE(), { t0: T0 + 1, appRecord: 2000 }).frames);
  halfOpen.sort((a, b) => a.ts - b.ts);
  const waiting = run(halfOpen, 4);
  assert.equal(waiting.events.length, 1);
  assert.equal(waiting.det.stats.inspected, 21);
  assert.equal(waiting.det.stats.evicted, 0);
  // Flows that are neither TLS nor OpenVPN are never inspected.
  const http = new TcpConv("10.9.1.2", "10.9.2.2", 30500, 80).handshake().c(
    new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
  ).s(new TextEncoder().encode("HTTP/1.1 200 OK\r\n\r\n")).fin();
  assert.equal(run(http.frames).det.stats.inspected, 0);
});

// --- synthetic OpenVPN -----------------------------------------------------

const u32 = (v: number) => new Uint8Array([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
const CSID = [1, 1, 1, 1, 2, 2, 2, 2];
const SSID = [9, 9, 9, 9, 8, 8, 8, 8];

function ovpn(
  opcode: number,
  sid: number[],
  acks: number[],
  remote: number[],
  id: number,
  payload: Uint8Array = new Uint8Array(0),
) {
  return concat(
    new Uint8Array([opcode << 3]),
    new Uint8Array(sid),
    new Uint8Array([acks.length]),
    ...acks.map(u32),
    acks.length > 0 ? new Uint8Array(remote) : new Uint8Array(0),
    opcode === 5 ? new Uint8Array(0) : u32(id),
    payload,
  );
}

interface OvpnOpts {
  der?: Uint8Array;
  tls13?: boolean;
  chunk?: number;
  reack?: boolean;
  fiveAcks?: boolean;
  dataOpcode?: number;
  resetPayload?: boolean;
}

/** A SoftEther-shaped OpenVPN exchange over UDP, one trait changeable at a time. */
function softEtherOpenVpn(o: OvpnOpts = {}): Frame[] {
  const frames: Frame[] = [];
  let t = T0;
  const push = (fromClient: boolean, payload: Uint8Array) => {
    t += 0.001;
    frames.push({
      bytes: ethernet(ipPacket({
        src: fromClient ? "10.9.1.2" : "10.9.2.2",
        dst: fromClient ? "10.9.2.2" : "10.9.1.2",
        sport: fromClient ? 41000 : 1194,
        dport: fromClient ? 1194 : 41000,
        proto: 17,
        payload,
      })),
      ts: t,
    });
  };
  push(true, ovpn(7, CSID, [], [], 0));
  push(
    false,
    ovpn(8, SSID, [0], CSID, 0, o.resetPayload ? new Uint8Array([0, 1, 0, 2, 0, 1]) : undefined),
  );
  push(true, ovpn(4, CSID, [0], SSID, 1, hello()));
  const flight = o.tls13
    ? concat(
      records(22, serverHello(0x1302, true), 16384, 0x0303),
      records(20, new Uint8Array([1])),
      records(23, new Uint8Array(1500)),
    )
    : serverFlight(o.der ?? SE());
  const chunk = o.chunk ?? 1200;
  let id = 1;
  for (let p = 0; p < flight.length; p += chunk, id++) {
    const acks = id === 1 ? (o.fiveAcks ? [1, 0, 0, 0, 0] : [1]) : [];
    push(false, ovpn(4, SSID, acks, CSID, id, flight.subarray(p, p + chunk)));
  }
  push(true, ovpn(5, CSID, [2, 1], SSID, 0)); // OpenVPN 2.6 clients re-ack: fine
  push(true, ovpn(4, CSID, [3, 2, 1], SSID, 2, CLIENT_FINISH));
  push(false, ovpn(4, SSID, o.reack ? [2, 1] : [2], CSID, id++, SERVER_FINISH));
  push(true, ovpn(5, CSID, [id - 1], SSID, 0));
  const data = new Uint8Array(69).fill(0x5a);
  data[0] = (o.dataOpcode ?? 6) << 3;
  push(false, data);
  push(true, data);
  return frames;
}

Deno.test("faces: OpenVPN, synthetic SoftEther exchange: certificate, or behaviour when hidden", () => {
  const cert = run(softEtherOpenVpn());
  assert.deepEqual(cert.events.map(brief), [{
    kind: "server",
    face: "OpenVPN",
    variant: "UDP",
    client: "10.9.1.2:41000",
    server: "10.9.2.2:1194",
    name: "vpn-host",
    evidence: "openvpn_plain_reset,openvpn_ctrl_chunk_1200,tls_cert_softether_default",
    confidence: 0.95,
  }]);
  const behaviour = "openvpn_plain_reset,openvpn_ctrl_chunk_1200,openvpn_acks_once,openvpn_data_v1";
  for (
    const [label, o] of [
      ["TLS 1.3", { tls13: true }],
      ["an imported certificate", {
        der: buildCert({ ...softEtherCertSpec("h"), serial: new Uint8Array([5]) }),
      }],
    ] as [string, OvpnOpts][]
  ) {
    const { events } = run(softEtherOpenVpn(o));
    assert.deepEqual(events.map((e) => [e.face, e.evidence.join(","), e.confidence, e.name]), [[
      "OpenVPN",
      behaviour,
      0.8,
      undefined,
    ]], label);
  }
});

Deno.test("faces: OpenVPN, one trait of a real OpenVPN server each: silent", () => {
  const hidden = { tls13: true };
  for (
    const [label, o] of [
      ["server re-acks (OpenVPN 2.6 ack_mru)", { ...hidden, reack: true }],
      ["five acks in a packet", { ...hidden, fiveAcks: true }],
      ["P_DATA_V2 (peer id)", { ...hidden, dataOpcode: 9 }],
      ["control payloads of 1,222 bytes", { ...hidden, chunk: 1222 }],
      ["control payloads of 1,100 bytes (no 1,200 chunk)", { ...hidden, chunk: 1100 }],
      ["reset with a payload (early negotiation TLVs)", { ...hidden, resetPayload: true }],
      ["reset with a payload, certificate shown", { resetPayload: true }],
    ] as [string, OvpnOpts][]
  ) {
    const { events, det } = run(softEtherOpenVpn(o));
    assert.deepEqual(events, [], label);
    assert.equal(det.live, 0, label);
  }
  // Only a plain client reset (key id 0, no acks, packet id 0) is inspected.
  const frames = softEtherOpenVpn();
  frames[0].bytes[42] = (7 << 3) | 1; // key id 1
  assert.equal(run(frames).det.stats.inspected, 0);
});

Deno.test("faces: OpenVPN over TCP only when the stream starts 00 0E (SoftEther's listener test)", () => {
  const tcp = (first: Uint8Array) => {
    const conv = new TcpConv("10.9.1.2", "10.9.2.2", 42000, 443).handshake().c(first);
    return run(conv.frames, undefined, T0 + 1).det.stats.inspected;
  };
  const reset = ovpn(7, CSID, [], [], 0);
  assert.equal(tcp(concat(u16(reset.length), reset)), 1);
  // tls-auth layout (longer reset): SoftEther's listener would not take it.
  const tlsAuth = concat(reset, new Uint8Array(28));
  assert.equal(tcp(concat(u16(tlsAuth.length), tlsAuth)), 0);
});
