/**
 * Byte templates for the benchmark traffic generator: real-looking TLS
 * ClientHello records (SNI, ALPN, GREASE, key share, padding like a browser),
 * TLS 1.3 and TLS 1.2 server flights, HTTP heads, DNS queries and answers.
 * Every template is built once from the generator's seeded PRNG.
 *
 * @module
 */

/** A source of pseudo-random 32-bit words. */
export interface Rng {
  /** Next unsigned 32-bit value. */
  u32(): number;
}

/** Random bytes from `rng`. */
export function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.u32() & 0xff;
  return out;
}

function u16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}

function u24(v: number): number[] {
  return [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
}

function ext(type: number, body: number[]): number[] {
  return [...u16(type), ...u16(body.length), ...body];
}

function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

const GREASE = [
  0x0a0a,
  0x1a1a,
  0x2a2a,
  0x3a3a,
  0x4a4a,
  0x5a5a,
  0x6a6a,
  0x7a7a,
  0x8a8a,
  0x9a9a,
  0xaaaa,
  0xbaba,
];

const WORDS = [
  "www",
  "api",
  "cdn",
  "static",
  "mail",
  "img",
  "login",
  "video",
  "news",
  "shop",
  "docs",
  "update",
  "edge",
  "assets",
  "m",
  "app",
];
const DOMAINS = [
  "example",
  "contoso",
  "fabrikam",
  "northwind",
  "tailspin",
  "wingtip",
  "adatum",
  "litware",
  "proseware",
  "woodgrove",
  "lucerne",
  "alpineski",
];
const TLDS = ["com", "net", "org", "io", "de", "co.uk", "fr", "nl"];

/** A plausible random host name. */
export function hostName(rng: Rng): string {
  const w = WORDS[rng.u32() % WORDS.length];
  const d = DOMAINS[rng.u32() % DOMAINS.length];
  const t = TLDS[rng.u32() % TLDS.length];
  const n = rng.u32() % 4 === 0 ? String(rng.u32() % 100) : "";
  return `${w}${n}.${d}.${t}`;
}

/**
 * A ClientHello record like a current browser's: GREASE, 16 suites, SNI,
 * ALPN (h2, http/1.1), key share x25519, supported_versions 1.3/1.2,
 * padding to 512 bytes of handshake.
 */
export function clientHelloRecord(rng: Rng, sni: string): Uint8Array {
  const g = () => GREASE[rng.u32() % GREASE.length];
  const suites = [
    g(),
    0x1301,
    0x1302,
    0x1303,
    0xc02b,
    0xc02f,
    0xc02c,
    0xc030,
    0xcca9,
    0xcca8,
    0xc013,
    0xc014,
    0x009c,
    0x009d,
    0x002f,
    0x0035,
  ];
  const name = ascii(sni);
  const exts: number[][] = [
    ext(g(), []),
    ext(0x0000, [...u16(name.length + 3), 0, ...u16(name.length), ...name]),
    ext(0x0017, []),
    ext(0xff01, [0]),
    ext(0x000a, [...u16(8), ...u16(g()), ...u16(0x001d), ...u16(0x0017), ...u16(0x0018)]),
    ext(0x000b, [1, 0]),
    ext(0x0023, []),
    ext(0x0010, [...u16(12), 2, ...ascii("h2"), 8, ...ascii("http/1.1")]),
    ext(0x0005, [1, 0, 0, 0, 0]),
    ext(0x000d, [
      ...u16(16),
      ...[0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601].flatMap(u16),
    ]),
    ext(0x0012, []),
    ext(0x0033, [
      ...u16(43),
      ...u16(g()),
      ...u16(1),
      0,
      ...u16(0x001d),
      ...u16(32),
      ...randomBytes(rng, 32),
    ]),
    ext(0x002d, [1, 1]),
    ext(0x002b, [6, ...u16(g()), ...u16(0x0304), ...u16(0x0303)]),
    ext(0x001b, [2, ...u16(2)]),
    ext(g(), [0]),
  ];
  let extBytes = exts.flat();
  const bodyFixed = 2 + 32 + 1 + 32 + 2 + suites.length * 2 + 2 + 2;
  const helloLen = bodyFixed + extBytes.length;
  if (helloLen + 4 < 512) {
    const pad = Math.max(0, 512 - (helloLen + 4) - 4);
    extBytes = [...extBytes, ...ext(0x0015, new Array(pad).fill(0))];
  }
  const body = [
    ...u16(0x0303),
    ...randomBytes(rng, 32),
    32,
    ...randomBytes(rng, 32),
    ...u16(suites.length * 2),
    ...suites.flatMap(u16),
    1,
    0,
    ...u16(extBytes.length),
    ...extBytes,
  ];
  const hs = [1, ...u24(body.length), ...body];
  return Uint8Array.from([22, 3, 1, ...u16(hs.length), ...hs]);
}

/** TLS 1.3 ServerHello record + ChangeCipherSpec (the encrypted flight follows as app data). */
export function serverHello13(rng: Rng): Uint8Array {
  const exts = [
    ...ext(0x002b, u16(0x0304)),
    ...ext(0x0033, [...u16(0x001d), ...u16(32), ...randomBytes(rng, 32)]),
  ];
  const body = [
    ...u16(0x0303),
    ...randomBytes(rng, 32),
    32,
    ...randomBytes(rng, 32),
    ...u16(0x1301 + (rng.u32() % 3)),
    0,
    ...u16(exts.length),
    ...exts,
  ];
  const hs = [2, ...u24(body.length), ...body];
  return Uint8Array.from([22, 3, 3, ...u16(hs.length), ...hs, 20, 3, 3, 0, 1, 1]);
}

/** TLS 1.2 server flight: ServerHello, Certificate, ServerKeyExchange, ServerHelloDone. */
export function serverFlight12(rng: Rng): Uint8Array {
  const shInner = [
    ...u16(0x0303),
    ...randomBytes(rng, 32),
    32,
    ...randomBytes(rng, 32),
    ...u16(0xc02f),
    0,
    ...u16(0),
  ];
  const shBody = [2, ...u24(shInner.length), ...shInner];
  const certs: number[] = [];
  const nCerts = 2 + (rng.u32() % 2);
  for (let i = 0; i < nCerts; i++) {
    const len = 900 + (rng.u32() % 700);
    const c = [0x30, 0x82, ...u16(len - 4), ...randomBytes(rng, len - 4)];
    certs.push(...u24(c.length), ...c);
  }
  const cert = [11, ...u24(certs.length + 3), ...u24(certs.length), ...certs];
  const ske = [
    12,
    ...u24(4 + 65 + 4 + 256),
    3,
    ...u16(0x0017),
    65,
    ...randomBytes(rng, 65),
    ...u16(0x0804),
    ...u16(256),
    ...randomBytes(rng, 256),
  ];
  const shd = [14, 0, 0, 0];
  const rec = (hs: number[]) => [22, 3, 3, ...u16(hs.length), ...hs];
  return Uint8Array.from([...rec(shBody), ...rec(cert), ...rec(ske), ...rec(shd)]);
}

/** TLS 1.2 client ClientKeyExchange + ChangeCipherSpec + encrypted Finished. */
export function clientFinish12(rng: Rng): Uint8Array {
  const cke = [16, ...u24(66), 65, ...randomBytes(rng, 65)];
  return Uint8Array.from([
    22,
    3,
    3,
    ...u16(cke.length),
    ...cke,
    20,
    3,
    3,
    0,
    1,
    1,
    22,
    3,
    3,
    0,
    40,
    ...randomBytes(rng, 40),
  ]);
}

/** TLS 1.2 server ChangeCipherSpec + encrypted Finished (after a NewSessionTicket). */
export function serverFinish12(rng: Rng): Uint8Array {
  const ticket = [4, ...u24(6 + 192), 0, 0, 0x1c, 0x20, ...u16(192), ...randomBytes(rng, 192)];
  return Uint8Array.from([
    22,
    3,
    3,
    ...u16(ticket.length),
    ...ticket,
    20,
    3,
    3,
    0,
    1,
    1,
    22,
    3,
    3,
    0,
    40,
    ...randomBytes(rng, 40),
  ]);
}

/** TLS 1.3 client ChangeCipherSpec (the Finished follows as one app-data record). */
export const CLIENT_CCS13: Uint8Array = Uint8Array.of(20, 3, 3, 0, 1, 1);

const PATHS = ["/", "/index.html", "/api/v1/items", "/static/app.js", "/img/logo.png", "/search"];
const AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0",
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "curl/8.5.0",
  "Debian APT-HTTP/1.3 (2.6.1)",
];

/** A plain HTTP/1.1 GET request head. */
export function httpRequest(rng: Rng, host: string): Uint8Array {
  const path = PATHS[rng.u32() % PATHS.length];
  const ua = AGENTS[rng.u32() % AGENTS.length];
  return new TextEncoder().encode(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${ua}\r\n` +
      `Accept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n`,
  );
}

/** A plain HTTP/1.1 200 response head (the body follows as random bytes). */
export function httpResponseHead(rng: Rng): Uint8Array {
  const types = ["text/html; charset=utf-8", "image/png", "application/javascript"];
  return new TextEncoder().encode(
    `HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 26 Nov 2026 06:00:00 GMT\r\n` +
      `Content-Type: ${types[rng.u32() % types.length]}\r\nConnection: keep-alive\r\n` +
      `Cache-Control: max-age=3600\r\nETag: "${(rng.u32() >>> 0).toString(16)}"\r\n\r\n`,
  );
}

function qname(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split(".")) out.push(label.length, ...ascii(label));
  out.push(0);
  return out;
}

/** A DNS query for `name` (type A or AAAA) and its answer (1–4 records; CNAME sometimes). */
export function dnsPair(rng: Rng, name: string, aaaa: boolean): [Uint8Array, Uint8Array] {
  const q = [...qname(name), ...u16(aaaa ? 28 : 1), ...u16(1)];
  const edns = [0, ...u16(41), ...u16(1232), 0, 0, 0, 0, ...u16(0)];
  const query = [0, 0, 0x01, 0x20, ...u16(1), ...u16(0), ...u16(0), ...u16(1), ...q, ...edns];
  const n = 1 + (rng.u32() % 4);
  const answers: number[] = [];
  for (let i = 0; i < n; i++) {
    const rdata = randomBytes(rng, aaaa ? 16 : 4);
    answers.push(0xc0, 0x0c, ...u16(aaaa ? 28 : 1), ...u16(1), 0, 0, 0x0e, 0x10);
    answers.push(...u16(rdata.length), ...rdata);
  }
  const resp = [0, 0, 0x81, 0x80, ...u16(1), ...u16(n), ...u16(0), ...u16(1), ...q];
  resp.push(...answers, ...edns);
  return [Uint8Array.from(query), Uint8Array.from(resp)];
}
