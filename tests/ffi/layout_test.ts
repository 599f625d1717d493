import assert from "node:assert/strict";
import {
  BPF_PROGRAM_SIZE,
  PCAP_ADDR,
  PCAP_IF,
  Pkthdr,
  pkthdrLayout,
  pkthdrWords,
  readPkthdr,
  sockaddrFamily,
  sockaddrLayout,
} from "../../ffi/layout.ts";

/** A pcap_pkthdr as the C compiler of `os` lays it out, little-endian. */
function pkthdrBytes(
  os: "linux" | "darwin" | "windows",
  sec: number,
  usec: number,
  caplen: number,
  len: number,
): Uint8Array {
  const size = os === "windows" ? 16 : 24;
  const bytes = new Uint8Array(size + 8).fill(0xee); // garbage padding + trailing bytes
  const dv = new DataView(bytes.buffer);
  if (os === "windows") {
    dv.setInt32(0, sec, true);
    dv.setInt32(4, usec, true);
    dv.setUint32(8, caplen, true);
    dv.setUint32(12, len, true);
  } else if (os === "darwin") {
    dv.setBigInt64(0, BigInt(sec), true);
    dv.setInt32(8, usec, true); // __darwin_suseconds_t, then 4 bytes of padding
    dv.setUint32(16, caplen, true);
    dv.setUint32(20, len, true);
  } else {
    dv.setBigInt64(0, BigInt(sec), true);
    dv.setBigInt64(8, BigInt(usec), true);
    dv.setUint32(16, caplen, true);
    dv.setUint32(20, len, true);
  }
  return bytes;
}

Deno.test("pkthdrLayout: 24 B on LP64 (Linux, macOS), 16 B on Windows LLP64", () => {
  assert.deepEqual(pkthdrLayout("linux"), {
    size: 24,
    secOffset: 0,
    secBytes: 8,
    usecOffset: 8,
    caplenOffset: 16,
    lenOffset: 20,
  });
  assert.deepEqual(pkthdrLayout("darwin"), pkthdrLayout("linux"));
  assert.deepEqual(pkthdrLayout("windows"), {
    size: 16,
    secOffset: 0,
    secBytes: 4,
    usecOffset: 4,
    caplenOffset: 8,
    lenOffset: 12,
  });
});

Deno.test("readPkthdr: decodes each OS's header bytes", () => {
  for (const os of ["linux", "darwin", "windows"] as const) {
    const bytes = pkthdrBytes(os, 1_700_000_123, 999_999, 1514, 9000);
    const words = new Uint32Array(bytes.buffer);
    const out = readPkthdr(words, 0, pkthdrWords(pkthdrLayout(os)), new Pkthdr());
    assert.deepEqual(
      { ...out },
      { tsSec: 1_700_000_123, tsUsec: 999_999, capLen: 1514, wireLen: 9000 },
      os,
    );
  }
});

Deno.test("readPkthdr: a 64-bit tv_sec beyond 2106 keeps its high word (LP64)", () => {
  const sec = 2 ** 33 + 5;
  const bytes = pkthdrBytes("linux", 0, 1, 2, 3);
  new DataView(bytes.buffer).setBigInt64(0, BigInt(sec), true);
  const out = readPkthdr(
    new Uint32Array(bytes.buffer),
    0,
    pkthdrWords(pkthdrLayout("linux")),
    new Pkthdr(),
  );
  assert.equal(out.tsSec, sec);
});

Deno.test("readPkthdr: base offsets index into a larger word array", () => {
  const a = pkthdrBytes("windows", 10, 20, 30, 40);
  const all = new Uint8Array(64);
  all.set(a.subarray(0, 16), 32);
  const out = readPkthdr(
    new Uint32Array(all.buffer),
    8,
    pkthdrWords(pkthdrLayout("windows")),
    new Pkthdr(),
  );
  assert.deepEqual({ ...out }, { tsSec: 10, tsUsec: 20, capLen: 30, wireLen: 40 });
});

Deno.test("pcap_if / pcap_addr / bpf_program offsets (64-bit)", () => {
  assert.deepEqual(
    [PCAP_IF.next, PCAP_IF.name, PCAP_IF.description, PCAP_IF.addresses, PCAP_IF.flags],
    [0, 8, 16, 24, 32],
  );
  assert.equal(PCAP_IF.size, 40);
  assert.deepEqual(
    [PCAP_ADDR.next, PCAP_ADDR.addr, PCAP_ADDR.netmask, PCAP_ADDR.broadaddr, PCAP_ADDR.dstaddr],
    [0, 8, 16, 24, 32],
  );
  assert.equal(BPF_PROGRAM_SIZE, 16);
});

Deno.test("sockaddrLayout: family width and AF_INET6 per OS", () => {
  assert.equal(sockaddrLayout("linux").afInet6, 10);
  assert.equal(sockaddrLayout("windows").afInet6, 23);
  assert.equal(sockaddrLayout("darwin").afInet6, 30);
  // Linux / Windows: host-order u16 family at 0.
  assert.equal(sockaddrFamily(new Uint8Array([10, 0, 0, 0]), sockaddrLayout("linux")), 10);
  assert.equal(sockaddrFamily(new Uint8Array([23, 0, 0, 0]), sockaddrLayout("windows")), 23);
  // macOS: u8 sa_len, u8 sa_family.
  assert.equal(sockaddrFamily(new Uint8Array([28, 30, 0, 0]), sockaddrLayout("darwin")), 30);
  assert.equal(sockaddrFamily(new Uint8Array([16, 2, 0, 0]), sockaddrLayout("darwin")), 2);
});
