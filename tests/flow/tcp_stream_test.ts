import assert from "node:assert/strict";
import { TcpStream } from "../../src/flow/tcp_stream.ts";

function collector() {
  const got: string[] = [];
  return {
    got,
    data: (d: number, b: Uint8Array, o: number, n: number) =>
      got.push(`${d}:${new TextDecoder().decode(b.subarray(o, o + n))}`),
    gap: (d: number, n: number) => got.push(`${d}:gap${n}`),
  };
}

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("tcp stream: in order, retransmission, overlap", () => {
  const s = new TcpStream(), c = collector();
  s.segment(0, 0x02, 99, new Uint8Array(0), 0, 0, 0, 0, c); // SYN: next = 100
  s.segment(0, 0x18, 100, enc("abc"), 0, 3, 3, 0, c);
  s.segment(0, 0x18, 100, enc("abc"), 0, 3, 3, 0, c); // retransmission
  s.segment(0, 0x18, 102, enc("cde"), 0, 3, 3, 0, c); // overlap of 1
  assert.deepEqual(c.got, ["0:abc", "0:de"]);
});

Deno.test("tcp stream: a lost segment retransmitted later is put back in order", () => {
  const s = new TcpStream(), c = collector();
  s.segment(1, 0x12, 0, new Uint8Array(0), 0, 0, 0, 0, c);
  s.segment(1, 0x18, 1, enc("AA"), 0, 2, 2, 0, c);
  s.segment(1, 0x18, 5, enc("CC"), 0, 2, 2, 0, c); // ahead: held
  s.segment(1, 0x18, 7, enc("DD"), 0, 2, 2, 0, c); // ahead: held
  assert.deepEqual(c.got, ["1:AA"]);
  s.segment(1, 0x18, 3, enc("BB"), 0, 2, 2, 0, c); // the hole is filled
  assert.deepEqual(c.got, ["1:AA", "1:BB", "1:CC", "1:DD"]);
});

Deno.test("tcp stream: unfilled hole and snaplen cut become gaps", () => {
  const s = new TcpStream(), c = collector();
  s.segment(0, 0x18, 1000, enc("xx"), 0, 2, 2, 0, c);
  s.segment(0, 0x18, 1010, enc("yy"), 0, 2, 2, 0, c);
  s.flush(0, c);
  s.segment(0, 0x18, 1012, enc("zzzz"), 0, 4, 1, 0, c); // only 1 byte captured
  assert.deepEqual(c.got, ["0:xx", "0:gap8", "0:yy", "0:z", "0:gap3"]);
});

Deno.test("tcp stream: sequence numbers wrap around 2^32", () => {
  const s = new TcpStream(), c = collector();
  s.segment(0, 0x02, 0xfffffffe, new Uint8Array(0), 0, 0, 0, 0, c);
  s.segment(0, 0x18, 0xffffffff, enc("ab"), 0, 2, 2, 0, c);
  s.segment(0, 0x18, 1, enc("cd"), 0, 2, 2, 0, c);
  assert.deepEqual(c.got, ["0:ab", "0:cd"]);
});
