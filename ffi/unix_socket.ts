/**
 * Unix datagram socket calls through libc (Deno FFI), for syslog to /dev/log:
 * Deno has no stable Unix datagram API and node:dgram has none at all. This is
 * the native half; the socket itself (`UnixDatagramSocket`, its errors and
 * checks) is `src/output/unix_datagram.ts`, which gets these calls from
 * src/cli (src/output/ never touches native memory). Needs --allow-ffi; Linux
 * and macOS only.
 *
 * @module
 */

/** libc functions used here. */
const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Per-platform constants. */
interface Platform {
  libc: string;
  errnoSymbol: string;
  sockDgram: number;
  msgDontWait: number;
  eProtoType: number;
  eAgain: number;
  pathMax: number;
  bsdSockaddr: boolean;
}

const LINUX: Platform = {
  libc: "libc.so.6",
  errnoSymbol: "__errno_location",
  sockDgram: 2 | 0x80000, // SOCK_DGRAM | SOCK_CLOEXEC
  msgDontWait: 0x40,
  eProtoType: 91,
  eAgain: 11,
  pathMax: 108,
  bsdSockaddr: false,
};

const DARWIN: Platform = {
  libc: "/usr/lib/libSystem.B.dylib",
  errnoSymbol: "__error",
  sockDgram: 2,
  msgDontWait: 0x80,
  eProtoType: 41,
  eAgain: 35,
  pathMax: 104,
  bsdSockaddr: true,
};

let loaded: { libc: Libc; errno: () => number } | null = null;

/** Opens libc once (throws when it cannot be loaded). */
function load(platform: Platform): { libc: Libc; errno: () => number } {
  if (loaded !== null) return loaded;
  const lib = Deno.dlopen(platform.libc, {
    ...SYMBOLS,
    [platform.errnoSymbol]: { parameters: [], result: "pointer" },
  });
  const symbols = lib.symbols as unknown as Record<string, () => Deno.PointerValue>;
  const errnoFn = symbols[platform.errnoSymbol];
  const errno = () => {
    const p = errnoFn();
    return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
  };
  loaded = { libc: lib.symbols as Libc, errno };
  return loaded;
}

/** A sockaddr_un for `path`, which must be 1 to `pathMax - 1` bytes long. */
function sockaddr(path: Uint8Array, platform: Platform): Uint8Array<ArrayBuffer> {
  const addr = new Uint8Array(2 + platform.pathMax);
  if (platform.bsdSockaddr) {
    addr[0] = addr.length; // sun_len
    addr[1] = 1; // AF_UNIX
  } else {
    new DataView(addr.buffer).setUint16(0, 1, true); // AF_UNIX, host order (little endian)
  }
  addr.set(path, 2);
  return addr;
}

/**
 * The libc calls of a Unix datagram socket (the shape `UnixSocketCalls` of
 * src/output/unix_datagram.ts expects). Calls return -1 on failure, with
 * `errno()` set; `send` and `recv` never block.
 */
interface UnixDatagramLibc {
  /** EPROTOTYPE: the peer is not a datagram socket. */
  readonly EPROTOTYPE: number;
  /** EAGAIN: the call would block. */
  readonly EAGAIN: number;
  /** Longest socket path, in bytes. */
  readonly maxPathBytes: number;
  /** `socket(AF_UNIX, SOCK_DGRAM, 0)`, close-on-exec on Linux: a descriptor, or -1. */
  socket(): number;
  /** `connect(2)` to the socket file `path` (UTF-8, 1 to `maxPathBytes` bytes): 0, or -1. */
  connect(fd: number, path: Uint8Array): number;
  /** `bind(2)` to the socket file `path` (UTF-8, 1 to `maxPathBytes` bytes): 0, or -1. */
  bind(fd: number, path: Uint8Array): number;
  /** Sends one datagram: bytes sent, or -1. */
  send(fd: number, data: Uint8Array): number;
  /** Receives one datagram into `buf`: its length, or -1. */
  recv(fd: number, buf: Uint8Array): number;
  /** `close(2)`. */
  close(fd: number): void;
  /** errno of the last failed call. */
  errno(): number;
  /** `strerror(code)`. */
  strerror(code: number): string;
}

/**
 * The libc calls of a Unix datagram socket, or null when they cannot be used
 * here (not Linux or macOS, or no FFI permission). libc is loaded on the
 * first call, which throws when it cannot be.
 */
export function unixDatagramLibc(): UnixDatagramLibc | null {
  const platform = Deno.build.os === "linux" ? LINUX : Deno.build.os === "darwin" ? DARWIN : null;
  if (platform === null) return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
  } catch {
    return null;
  }
  const libc = () => load(platform).libc;
  return {
    EPROTOTYPE: platform.eProtoType,
    EAGAIN: platform.eAgain,
    maxPathBytes: platform.pathMax - 1,
    socket: () => libc().socket(1, platform.sockDgram, 0),
    connect: (fd, path) => {
      const addr = sockaddr(path, platform);
      return libc().connect(fd, addr, addr.length);
    },
    bind: (fd, path) => {
      const addr = sockaddr(path, platform);
      return libc().bind(fd, addr, addr.length);
    },
    send: (fd, data) => Number(libc().send(fd, data, BigInt(data.length), platform.msgDontWait)),
    recv: (fd, buf) => Number(libc().recv(fd, buf, BigInt(buf.length), platform.msgDontWait)),
    close: (fd) => void libc().close(fd),
    errno: () => load(platform).errno(),
    strerror: (code) => {
      const p = libc().strerror(code);
      return p === null ? `errno ${code}` : new Deno.UnsafePointerView(p).getCString();
    },
  };
}
