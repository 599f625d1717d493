import assert from "node:assert/strict";
import { findSni } from "../../src/proto/tls_sni.ts";
import { concat } from "../helpers/bytes.ts";
import { ascii } from "./fixture.ts";
import { clientHello, ext, records, sniExt, u16 } from "./tls_builder.ts";

const CIPHERS = [0x1301, 0x1302, 0xc02f];

function sniOf(buf: Uint8Array, off = 0, len = buf.length): string | null {
  const out = new Int32Array(2);
  if (!findSni(buf, off, len, out)) return null;
  return new TextDecoder().decode(buf.subarray(out[0], out[0] + out[1]));
}

const hello = (extensions: Uint8Array[] | null, sessionId = 32) =>
  records(22, clientHello({ ciphers: CIPHERS, extensions, sessionId }));

Deno.test("tls sni: the host_name, wherever the extension sits", () => {
  assert.equal(sniOf(hello([sniExt("DDNS")])), "DDNS");
  const others = [ext(0x0b, new Uint8Array([1, 0])), ext(0x0a, new Uint8Array([0, 2, 0, 0x1d]))];
  assert.equal(
    sniOf(hello([...others, sniExt("a.vpnazure.net"), ext(0x2b, u16(0x0304))])),
    "a.vpnazure.net",
  );
  assert.equal(sniOf(hello([sniExt("x.example")], 0)), "x.example");
  // at an offset inside a larger buffer
  const h = hello([sniExt("k.softether.net")]);
  assert.equal(
    sniOf(concat(new Uint8Array(7), h, new Uint8Array(3)), 7, h.length),
    "k.softether.net",
  );
});

Deno.test("tls sni: nothing without the extension, or when it lies beyond the bytes", () => {
  assert.equal(sniOf(hello([ext(0x0b, new Uint8Array([1, 0]))])), null);
  assert.equal(sniOf(hello(null)), null);
  const h = hello([ext(0x15, new Uint8Array(300)), sniExt("late.example")]);
  assert.equal(sniOf(h), "late.example");
  assert.equal(sniOf(h, 0, h.length - 5), null, "cut inside the name");
  assert.equal(sniOf(h, 0, 120), null, "cut before the extension");
  // a hello split over two records: only the first record is read
  const body = clientHello({
    ciphers: CIPHERS,
    extensions: [ext(0x15, new Uint8Array(100)), sniExt("two.example")],
  });
  assert.equal(sniOf(records(22, body, 120)), null);
  assert.equal(sniOf(records(22, body, 400)), "two.example");
});

Deno.test("tls sni: other records, other messages and bad lengths give nothing", () => {
  const h = hello([sniExt("ok.example")]);
  const mutate = (at: number, v: number) => {
    const c = h.slice();
    c[at] = v;
    return c;
  };
  assert.equal(sniOf(mutate(0, 23)), null, "application data record");
  assert.equal(sniOf(mutate(1, 2)), null, "SSL 2 version byte");
  assert.equal(sniOf(mutate(5, 2)), null, "ServerHello");
  assert.equal(sniOf(ascii("GET / HTTP/1.1\r\n\r\n")), null);
  assert.equal(sniOf(new Uint8Array(0)), null);
  // server_name list with a non-host_name entry first, then the host name
  const other = ascii("zz");
  const name = ascii("second.example");
  const list = concat(
    new Uint8Array([1]),
    u16(other.length),
    other,
    new Uint8Array([0]),
    u16(name.length),
    name,
  );
  assert.equal(sniOf(hello([ext(0, concat(u16(list.length), list))])), "second.example");
  // a name length running past its list
  const bad = concat(new Uint8Array([0]), u16(200), name);
  assert.equal(sniOf(hello([ext(0, concat(u16(bad.length), bad))])), null);
  // an empty host name
  const empty = concat(new Uint8Array([0]), u16(0));
  assert.equal(sniOf(hello([ext(0, concat(u16(empty.length), empty))])), null);
  // every truncation of a valid hello is handled without throwing
  for (let n = 0; n <= h.length; n++) sniOf(h, 0, n);
});
