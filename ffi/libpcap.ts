/**
 * The libpcap / Npcap foreign-function interface: one symbols table and a lazy,
 * per-OS loader.
 *
 * Nothing is loaded at import time: the library is opened the first time
 * {@linkcode libpcap} is called (live capture or device listing), so offline
 * analysis of capture files never needs libpcap nor `--allow-ffi`.
 *
 * Where the library is looked for (first that loads wins):
 *
 * - `SEALERT_LIBPCAP=/path/to/lib` (environment) replaces the list below.
 * - Linux: `libpcap.so.0.8` (Debian/Ubuntu runtime package), `libpcap.so.1`
 *   (Fedora/RHEL/Arch), `libpcap.so` (only with the -dev package).
 * - macOS: `libpcap.A.dylib`, `libpcap.dylib` (both ship with the OS).
 * - Windows: `%SystemRoot%\System32\Npcap\wpcap.dll` (Npcap). `wpcap.dll`
 *   needs `Packet.dll` from the same directory, which is not on the default DLL
 *   search path: the loader first calls `SetDllDirectoryW` (kernel32) with the
 *   Npcap directory and also preloads `Packet.dll` by its full path, so Npcap's
 *   "WinPcap API-compatible mode" is not needed.
 *
 * Permissions: `--allow-ffi` (unscoped: a path-scoped `--allow-ffi=PATH` lets
 * dlopen through but reading packet memory then fails) and `--allow-env` for
 * the override (without it the override is ignored).
 *
 * @module
 */

import { CaptureDeviceError } from "./errors.ts";

/** Operating systems the loader knows (values of `Deno.build.os`). */
export type PcapOs = typeof Deno.build.os;

/** Environment variable that names the libpcap (or wpcap.dll) file to load. */
const LIBPCAP_ENV = "SEALERT_LIBPCAP";

/** Size of libpcap's error buffers (`PCAP_ERRBUF_SIZE`). */
export const PCAP_ERRBUF_SIZE = 256;

/** `pcap_init` option: strings (errors, descriptions) in UTF-8 (Windows). */
const PCAP_CHAR_ENC_UTF_8 = 1;

/**
 * The libpcap functions sealert calls, with the signatures measured in
 * `/work/shared/docs/deno-ffi-libpcap.md` (pointer parameters for the hot
 * `pcap_next_ex`, buffers for out slots and strings).
 */
const LIBPCAP_SYMBOLS = {
  /** libpcap >= 1.10 / Npcap: select UTF-8 strings. Absent in older libpcap. */
  pcap_init: { parameters: ["u32", "buffer"], result: "i32", optional: true },
  pcap_lib_version: { parameters: [], result: "pointer" },
  pcap_findalldevs: { parameters: ["buffer", "buffer"], result: "i32" },
  pcap_freealldevs: { parameters: ["pointer"], result: "void" },
  pcap_create: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_set_snaplen: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_promisc: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_buffer_size: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_immediate_mode: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_activate: { parameters: ["pointer"], result: "i32" },
  pcap_datalink: { parameters: ["pointer"], result: "i32" },
  pcap_snapshot: { parameters: ["pointer"], result: "i32" },
  pcap_next_ex: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  pcap_setnonblock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  /** Not exported by Npcap (Windows waits with the read timeout instead). */
  pcap_get_selectable_fd: { parameters: ["pointer"], result: "i32", optional: true },
  /** The capture's socket (Linux: the AF_PACKET socket, for PACKET_FANOUT). */
  pcap_fileno: { parameters: ["pointer"], result: "i32", optional: true },
  pcap_compile: {
    parameters: ["pointer", "buffer", "buffer", "i32", "u32"],
    result: "i32",
  },
  pcap_setfilter: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  pcap_statustostr: { parameters: ["i32"], result: "pointer" },
  pcap_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_close: { parameters: ["pointer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library's functions. */
export type Libpcap = Deno.DynamicLibrary<typeof LIBPCAP_SYMBOLS>["symbols"];

/** Reads one environment variable; undefined when unset. */
type EnvLookup = (name: string) => string | undefined;

/** The Npcap installation directory, e.g. `C:\Windows\System32\Npcap`. */
function npcapDirectory(env: EnvLookup): string {
  const root = env("SystemRoot") ?? env("SYSTEMROOT") ?? env("windir") ?? "C:\\Windows";
  return `${root.replace(/[\\/]+$/, "")}\\System32\\Npcap`;
}

/**
 * The files to try, in order, on `os`: the `SEALERT_LIBPCAP` override alone
 * when it is set (and not empty), else the OS's usual names.
 */
export function libpcapCandidates(os: PcapOs, env: EnvLookup): string[] {
  const override = env(LIBPCAP_ENV);
  if (override !== undefined && override !== "") return [override];
  switch (os) {
    case "windows":
      return [`${npcapDirectory(env)}\\wpcap.dll`];
    case "darwin":
      return ["libpcap.A.dylib", "libpcap.dylib"];
    default:
      return ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];
  }
}

/** How to install the library on `os`, as a sentence fragment. */
function installHint(os: PcapOs): string {
  switch (os) {
    case "windows":
      return `install Npcap from https://npcap.com/#download ("WinPcap API-compatible mode" is not needed)`;
    case "darwin":
      return "libpcap ships with macOS; reinstall it with `brew install libpcap`";
    default:
      return "install it (Debian/Ubuntu: `apt install libpcap0.8`, Fedora/RHEL: `dnf install libpcap`)";
  }
}

/** The one-line message for "no candidate could be loaded". */
export function missingLibraryMessage(
  os: PcapOs,
  tried: readonly string[],
  overridden: boolean,
): string {
  const what = os === "windows" ? "Npcap (wpcap.dll)" : "libpcap";
  if (overridden) {
    return `Cannot load ${what} from ${LIBPCAP_ENV}=${tried[0]}: ` +
      `fix the path or unset ${LIBPCAP_ENV} and ${installHint(os)}`;
  }
  return `Cannot load ${what} (tried ${tried.join(", ")}): ${installHint(os)}, ` +
    `or set ${LIBPCAP_ENV}=/path/to/library`;
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: behave as if unset
  }
}

/** UTF-16LE, NUL-terminated: the `LPCWSTR` Windows APIs take. */
function wideString(text: string): Uint16Array<ArrayBuffer> {
  const out = new Uint16Array(text.length + 1);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Puts the Npcap directory on the DLL search path (best effort). */
function prepareNpcap(env: EnvLookup): void {
  const dir = npcapDirectory(env);
  try {
    const kernel32 = Deno.dlopen(
      "kernel32.dll",
      {
        SetDllDirectoryW: { parameters: ["buffer"], result: "i32" },
      } as const,
    );
    kernel32.symbols.SetDllDirectoryW(wideString(dir));
    // Keep kernel32 open: it is always loaded in the process anyway.
  } catch {
    // Fall through: preloading Packet.dll below is the second way.
  }
  try {
    Deno.dlopen(`${dir}\\Packet.dll`, {}); // kept loaded for wpcap.dll's import
  } catch {
    // wpcap.dll's own load error below names the problem.
  }
}

/**
 * Opens the first loadable file of `candidates` (no caching), throwing a
 * one-line {@linkcode CaptureDeviceError} (exit code 2) when none loads.
 */
function openLibpcap(
  candidates: readonly string[],
  os: PcapOs = Deno.build.os,
  overridden = false,
): Deno.DynamicLibrary<typeof LIBPCAP_SYMBOLS> {
  let permission: unknown;
  for (const path of candidates) {
    try {
      return Deno.dlopen(path, LIBPCAP_SYMBOLS);
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        permission = err;
      }
    }
  }
  if (permission !== undefined) {
    throw new CaptureDeviceError(
      "Live capture needs the --allow-ffi permission (run sealert with --allow-ffi)",
    );
  }
  throw new CaptureDeviceError(missingLibraryMessage(os, candidates, overridden));
}

let loaded: Libpcap | undefined;

/**
 * The process-wide libpcap binding, loaded on first use (see the module
 * documentation for the search order). Throws {@linkcode CaptureDeviceError}
 * (exit code 2, one line with the OS's install hint) when it cannot be loaded;
 * a failure is not cached, a success is.
 */
export function libpcap(): Libpcap {
  if (loaded !== undefined) return loaded;
  const os = Deno.build.os;
  const override = readEnv(LIBPCAP_ENV);
  if (os === "windows" && (override === undefined || override === "")) prepareNpcap(readEnv);
  const lib = openLibpcap(
    libpcapCandidates(os, readEnv),
    os,
    override !== undefined && override !== "",
  );
  const symbols = lib.symbols;
  if (symbols.pcap_init !== null) {
    // UTF-8 device descriptions and errors on Windows; a no-op elsewhere.
    symbols.pcap_init(PCAP_CHAR_ENC_UTF_8, new Uint8Array(PCAP_ERRBUF_SIZE));
  }
  loaded = symbols;
  return symbols;
}
