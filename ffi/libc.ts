/**
 * The few C library functions the capture loop uses: `memcpy`, to copy
 * packets out of libpcap's buffer (measured: ~30 ns per 1,514 B packet with
 * BigInt addresses, against 117–160 ns for `UnsafePointerView.copyInto` and
 * ~50 ns for `Uint8Array.set(view.subarray())`), `poll`, to wait for
 * packets with a timeout that holds even when no traffic arrives, and
 * `setsockopt` / `getsockopt` (with `errno` and `strerror`), to join
 * libpcap's packet socket to a kernel fanout group (Linux).
 *
 * Loaded lazily with {@linkcode libc}; null when no C library loads (the
 * callers then fall back to JavaScript copies and blocking reads).
 *
 * @module
 */

import type { PcapOs } from "./libpcap.ts";

/** The C functions, with addresses as BigInt (fast FFI path). */
const LIBC_SYMBOLS = {
  /** `void *memcpy(void *dst, const void *src, size_t n)`. */
  // Addresses and length as plain numbers (no BigInt allocated per packet).
  memcpy: { parameters: ["usize", "usize", "usize"], result: "void" },
  /** `int poll(struct pollfd *fds, nfds_t nfds, int timeout)` (not on Windows). */
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", optional: true },
  /** `int setsockopt(int fd, int level, int name, const void *value, socklen_t len)`. */
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32", optional: true },
  /** `int getsockopt(int fd, int level, int name, void *value, socklen_t *len)`. */
  getsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "buffer"],
    result: "i32",
    optional: true,
  },
  /** `int *__errno_location(void)` (glibc, musl): the calling thread's `errno`. */
  __errno_location: { parameters: [], result: "pointer", optional: true },
  /** `char *strerror(int errnum)`. */
  strerror: { parameters: ["i32"], result: "pointer", optional: true },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded C functions. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/** `POLLIN`. */
export const POLLIN = 1;

/** The libraries that export `memcpy` on `os`, in the order tried. */
function libcCandidates(os: PcapOs): string[] {
  switch (os) {
    case "windows":
      return ["ntdll.dll", "msvcrt.dll"];
    case "darwin":
      return ["/usr/lib/libSystem.B.dylib"];
    default:
      return ["libc.so.6", "libc.so", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];
  }
}

let loaded: Libc | null | undefined;

/** The C library of this OS, loaded on first use; null when none loads. */
export function libc(): Libc | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  for (const path of libcCandidates(Deno.build.os)) {
    try {
      loaded = Deno.dlopen(path, LIBC_SYMBOLS).symbols;
      break;
    } catch {
      // try the next name
    }
  }
  return loaded;
}

/**
 * The calling thread's `errno` and its text after a failed call, e.g.
 * `{ code: 22, text: "Invalid argument" }`; code 0 and an empty text when
 * the C library does not tell.
 */
export function lastError(lib: Libc): { code: number; text: string } {
  const where = lib.__errno_location?.() ?? null;
  const code = where === null ? 0 : new Deno.UnsafePointerView(where).getInt32();
  const text = code !== 0 && lib.strerror !== null ? lib.strerror(code) : null;
  return { code, text: text === null ? "" : Deno.UnsafePointerView.getCString(text) };
}

/** The address of an ArrayBuffer's memory, as a number (exact below 2^53; for `memcpy`). */
export function bufferAddress(buffer: ArrayBuffer): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}
