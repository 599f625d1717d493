import assert from "node:assert/strict";
import { deviceLabel, parseDeviceList } from "../../ffi/devices.ts";
import type { PcapOs } from "../../ffi/libpcap.ts";

/**
 * Builds a pcap_if_t list in JavaScript memory, laid out as libpcap does on
 * `os`, and returns its head pointer plus the buffers to keep alive.
 */
function buildList(os: PcapOs) {
  const keep: ArrayBuffer[] = [];
  const alloc = (size: number) => {
    const buf = new ArrayBuffer(size);
    keep.push(buf);
    return buf;
  };
  const addr = (buf: ArrayBuffer) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
  const cstr = (text: string) => {
    const bytes = new TextEncoder().encode(`${text}\0`);
    const buf = alloc(bytes.length);
    new Uint8Array(buf).set(bytes);
    return addr(buf);
  };
  const af6 = os === "windows" ? 23 : os === "darwin" ? 30 : 10;
  const sockaddr = (family: number, bytes: number[]) => {
    const buf = alloc(28);
    const u8 = new Uint8Array(buf);
    if (os === "darwin") {
      u8[0] = family === 2 ? 16 : family === af6 ? 28 : 20;
      u8[1] = family;
    } else {
      new DataView(buf).setUint16(0, family, true);
    }
    u8.set(bytes, family === 2 ? 4 : 8);
    return addr(buf);
  };
  const pcapAddr = (sa: bigint, next: bigint) => {
    const buf = alloc(40);
    const v = new DataView(buf);
    v.setBigUint64(0, next, true);
    v.setBigUint64(8, sa, true);
    return addr(buf);
  };
  const pcapIf = (name: bigint, desc: bigint, addresses: bigint, flags: number, next: bigint) => {
    const buf = alloc(40);
    const v = new DataView(buf);
    v.setBigUint64(0, next, true);
    v.setBigUint64(8, name, true);
    v.setBigUint64(16, desc, true);
    v.setBigUint64(24, addresses, true);
    v.setUint32(32, flags, true);
    return addr(buf);
  };
  const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const lo = pcapIf(
    cstr("lo"),
    0n,
    pcapAddr(sockaddr(2, [127, 0, 0, 1]), pcapAddr(sockaddr(af6, [...Array(15).fill(0), 1]), 0n)),
    0x1 | 0x2 | 0x4,
    0n,
  );
  const packetFamily = os === "darwin" ? 18 : 17; // AF_PACKET / AF_LINK: skipped
  const npf = pcapIf(
    cstr("\\Device\\NPF_{4E1F5C5A-2B7C-4D3E-9F10-0123456789AB}"),
    cstr("Intel(R) Ethernet Connection I219-V"),
    pcapAddr(
      sockaddr(packetFamily, [1, 2, 3, 4]),
      pcapAddr(sockaddr(2, [192, 0, 2, 7]), pcapAddr(sockaddr(af6, v6), pcapAddr(0n, 0n))),
    ),
    0x2 | 0x8,
    lo,
  );
  return { head: Deno.UnsafePointer.create(npf), keep };
}

for (const os of ["linux", "windows", "darwin"] as const) {
  Deno.test(`parseDeviceList: a hand-built pcap_if_t list (${os} sockaddrs)`, () => {
    const { head, keep } = buildList(os);
    const devices = parseDeviceList(head, os);
    assert.ok(keep.length > 0);
    assert.deepEqual(devices, [
      {
        name: "\\Device\\NPF_{4E1F5C5A-2B7C-4D3E-9F10-0123456789AB}",
        description: "Intel(R) Ethernet Connection I219-V",
        addresses: ["192.0.2.7", "2001:db8::1"],
        flags: { loopback: false, up: true, running: false, wireless: true },
      },
      {
        name: "lo",
        description: "",
        addresses: ["127.0.0.1", "::1"],
        flags: { loopback: true, up: true, running: true, wireless: false },
      },
    ]);
    assert.equal(deviceLabel(devices[0]), "Intel(R) Ethernet Connection I219-V");
    assert.equal(deviceLabel(devices[1]), "lo");
  });
}

Deno.test("parseDeviceList: empty list", () => {
  assert.deepEqual(parseDeviceList(null, "linux"), []);
});

Deno.test("deviceLabel: the trimmed description, else the name", () => {
  const flags = { loopback: false, up: false, running: false, wireless: false };
  assert.equal(deviceLabel({ name: "eth0", description: "  ", addresses: [], flags }), "eth0");
  assert.equal(deviceLabel({ name: "x", description: " Wi-Fi ", addresses: [], flags }), "Wi-Fi");
});
