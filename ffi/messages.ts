/**
 * The one-line messages for libpcap failures, as pure functions of the OS so
 * every platform's wording is unit-tested anywhere.
 *
 * @module
 */

import type { PcapOs } from "./libpcap.ts";

/** libpcap status codes (`PCAP_ERROR_*`, `PCAP_WARNING_*`). */
export const PcapStatus = {
  WARNING: 1,
  WARNING_PROMISC_NOTSUP: 2,
  WARNING_TSTAMP_TYPE_NOTSUP: 3,
  ERROR: -1,
  ERROR_BREAK: -2,
  ERROR_NOT_ACTIVATED: -3,
  ERROR_ACTIVATED: -4,
  ERROR_NO_SUCH_DEVICE: -5,
  ERROR_RFMON_NOTSUP: -6,
  ERROR_NOT_RFMON: -7,
  ERROR_PERM_DENIED: -8,
  ERROR_IFACE_NOT_UP: -9,
  ERROR_CANTSET_TSTAMP_TYPE: -10,
  ERROR_PROMISC_PERM_DENIED: -11,
  ERROR_TSTAMP_PRECISION_NOTSUP: -12,
} as const;

/** What to do about Npcap's admin-only mode (Windows). */
const windowsAdminHint =
  "run as Administrator or reinstall Npcap without 'Restrict Npcap driver's access to Administrators only'";

/** What to do about a capture permission error on `os`. */
function permissionHint(os: PcapOs): string {
  switch (os) {
    case "windows":
      return windowsAdminHint;
    case "darwin":
      return "run as root or give your user read access to /dev/bpf*";
    case "linux":
    case "android":
      return "run as root or grant CAP_NET_RAW,CAP_NET_ADMIN";
    default:
      return "run as root";
  }
}

/** `text` with whitespace runs (including newlines) folded to one space, trimmed. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** The NUL-terminated C string at the start of `buf` (an errbuf). */
export function cText(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return new TextDecoder().decode(end < 0 ? buf : buf.subarray(0, end));
}

/**
 * The one-line message for a failed `pcap_create`/`pcap_activate` of `device`
 * (`code`: the PCAP_ERROR_* value, `errText`: pcap_geterr or errbuf text).
 */
export function activateErrorMessage(
  os: PcapOs,
  device: string,
  code: number,
  errText: string,
): string {
  const text = oneLine(errText);
  switch (code) {
    case PcapStatus.ERROR_NO_SUCH_DEVICE:
      return `No such capture device "${device}"`;
    case PcapStatus.ERROR_PERM_DENIED:
      return `Cannot open device "${device}": permission denied (${permissionHint(os)})`;
    case PcapStatus.ERROR_PROMISC_PERM_DENIED:
      return `Cannot open device "${device}" in promiscuous mode: permission denied ` +
        `(${permissionHint(os)})`;
    case PcapStatus.ERROR_IFACE_NOT_UP:
      return `Cannot open device "${device}": the interface is down (bring it up first)`;
    default:
      if (os === "windows" && /access is denied|access denied/i.test(text)) {
        return `Cannot open device "${device}": ${text} (${windowsAdminHint})`;
      }
      return `Cannot open device "${device}": ${text || `libpcap error ${code}`}`;
  }
}

/** A readable text for a positive `pcap_activate` warning code. */
export function activateWarningMessage(device: string, code: number, errText: string): string {
  const text = oneLine(errText);
  switch (code) {
    case PcapStatus.WARNING_PROMISC_NOTSUP:
      return `Device "${device}" does not support promiscuous mode${text ? ` (${text})` : ""}`;
    case PcapStatus.WARNING_TSTAMP_TYPE_NOTSUP:
      return `Device "${device}" does not support the requested time stamp type`;
    default:
      return `Device "${device}": ${text || `libpcap warning ${code}`}`;
  }
}

/** The one-line message for a failed `pcap_findalldevs` on `os`. */
export function findAllDevsErrorMessage(os: PcapOs, errText: string): string {
  const text = oneLine(errText) || "unknown error";
  if (os === "windows" && /access|denied|admin|privilege/i.test(text)) {
    return `Cannot list capture devices: ${text} (${windowsAdminHint})`;
  }
  return `Cannot list capture devices: ${text}`;
}

/** The one-line message for a BPF expression libpcap rejected. */
export function filterErrorMessage(filter: string, errText: string): string {
  return `Invalid capture filter "${oneLine(filter)}": ${oneLine(errText) || "syntax error"}`;
}
