/**
 * Capture device listing (`pcap_findalldevs`).
 *
 * Npcap names devices by GUID (`\Device\NPF_{...}`); lists shown to people use
 * {@linkcode deviceLabel}: the description when there is one, else the name.
 *
 * @module
 */

import { CaptureDeviceError } from "./errors.ts";
import { PCAP_ADDR, PCAP_IF, sockaddrFamily, sockaddrLayout } from "./layout.ts";
import { libpcap, PCAP_ERRBUF_SIZE, type PcapOs } from "./libpcap.ts";
import { cText, findAllDevsErrorMessage } from "./messages.ts";

/** Interface state flags (`PCAP_IF_*`). */
interface DeviceFlags {
  /** PCAP_IF_LOOPBACK. */
  loopback: boolean;
  /** PCAP_IF_UP. */
  up: boolean;
  /** PCAP_IF_RUNNING. */
  running: boolean;
  /** PCAP_IF_WIRELESS. */
  wireless: boolean;
}

/** One capture device as libpcap lists it. */
export interface Device {
  /** Name to open (`eth0`, `\Device\NPF_{GUID}`). */
  name: string;
  /** Human-readable description; empty when libpcap has none (usual on Linux). */
  description: string;
  /** IPv4 and IPv6 addresses in text form, in libpcap's order. */
  addresses: string[];
  /** State flags. */
  flags: DeviceFlags;
}

/** The label to show for a device: its description when present, else its name. */
export function deviceLabel(device: Device): string {
  return device.description.trim() !== "" ? device.description.trim() : device.name;
}

/** Decodes the `PCAP_IF_*` bits. */
function deviceFlags(bits: number): DeviceFlags {
  return {
    loopback: (bits & 0x1) !== 0,
    up: (bits & 0x2) !== 0,
    running: (bits & 0x4) !== 0,
    wireless: (bits & 0x8) !== 0,
  };
}

const SOCKADDR_BYTES = 28; // sockaddr_in6, the largest family read

// Address text, as src/decode/ip_text.ts writes it (ffi/ may not import src/).

/** `bytes[offset .. offset + 4)` as a dotted quad. */
function ipv4Text(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** `bytes[offset .. offset + 16)` in RFC 5952 form (`::` for the longest zero run of 2+). */
function ipv6Text(bytes: Uint8Array, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[offset + i] << 8) | bytes[offset + i + 1]);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${ipv4Text(bytes, offset + 12)}`;
  }
  let start = -1;
  let len = 1; // a single zero group is not compressed
  for (let i = 0, j = 0; i < 8; i = j + 1) {
    for (j = i; j < 8 && groups[j] === 0; j++);
    if (j - i > len) [start, len] = [i, j - i];
  }
  const hex = (from: number, to: number) =>
    groups.slice(from, to).map((g) => g.toString(16)).join(":");
  return start < 0 ? hex(0, 8) : `${hex(0, start)}::${hex(start + len, 8)}`;
}

/** The text form of the address a sockaddr pointer points to, or "" for other families. */
function sockaddrText(ptr: Deno.PointerObject, os: PcapOs, scratch: Uint8Array): string {
  Deno.UnsafePointerView.copyInto(ptr, scratch);
  const layout = sockaddrLayout(os);
  const family = sockaddrFamily(scratch, layout);
  if (family === layout.afInet) return ipv4Text(scratch, layout.inetAddrOffset);
  if (family === layout.afInet6) return ipv6Text(scratch, layout.inet6AddrOffset);
  return "";
}

/**
 * Walks a `pcap_if_t` list in memory (the layout is the same on every 64-bit
 * OS; `os` selects the sockaddr layout). Exposed for tests, which build the
 * list in JavaScript memory.
 */
export function parseDeviceList(first: Deno.PointerValue, os: PcapOs): Device[] {
  const devices: Device[] = [];
  const scratch = new Uint8Array(SOCKADDR_BYTES);
  for (let node = first; node !== null;) {
    const view = new Deno.UnsafePointerView(node);
    const namePtr = view.getPointer(PCAP_IF.name);
    const descPtr = view.getPointer(PCAP_IF.description);
    const addresses: string[] = [];
    for (let a = view.getPointer(PCAP_IF.addresses); a !== null;) {
      const av = new Deno.UnsafePointerView(a);
      const sa = av.getPointer(PCAP_ADDR.addr);
      if (sa !== null) {
        const text = sockaddrText(sa, os, scratch);
        if (text !== "") addresses.push(text);
      }
      a = av.getPointer(PCAP_ADDR.next);
    }
    devices.push({
      name: namePtr === null ? "" : Deno.UnsafePointerView.getCString(namePtr),
      description: descPtr === null ? "" : Deno.UnsafePointerView.getCString(descPtr),
      addresses,
      flags: deviceFlags(view.getUint32(PCAP_IF.flags)),
    });
    node = view.getPointer(PCAP_IF.next);
  }
  return devices;
}

/**
 * Lists the capture devices (loads libpcap on first use). Throws
 * {@linkcode CaptureDeviceError} (exit code 2) when libpcap is missing or the
 * listing fails; on Windows an access error names Npcap's admin-only option.
 * An empty array means libpcap found no device.
 */
export function listDevices(): Device[] {
  const lib = libpcap();
  const os = Deno.build.os;
  const slot = new BigUint64Array(1);
  const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
  if (lib.pcap_findalldevs(slot, errbuf) !== 0) {
    throw new CaptureDeviceError(findAllDevsErrorMessage(os, cText(errbuf)));
  }
  const first = Deno.UnsafePointer.create(slot[0]);
  try {
    return parseDeviceList(first, os);
  } finally {
    if (first !== null) lib.pcap_freealldevs(first);
  }
}
