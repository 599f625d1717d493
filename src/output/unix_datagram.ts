/**
 * Unix datagram sockets through libc (Deno FFI), for syslog to /dev/log:
 * Deno has no stable Unix datagram API and node:dgram has none at all.
 * Needs --allow-ffi; Linux and macOS only.
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

let loaded: { libc: Libc; errno: () => number; platform: Platform } | null = null;

/** Opens libc once. */
function load(): { libc: Libc; errno: () => number; platform: Platform } {
  if (loaded !== null) return loaded;
  const platform = Deno.build.os === "linux" ? LINUX : Deno.build.os === "darwin" ? DARWIN : null;
  if (platform === null) {
    throw new UnixSocketError(`Unix datagram sockets are not supported on ${Deno.build.os}`, 0);
  }
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
  loaded = { libc: lib.symbols as Libc, errno, platform };
  return loaded;
}

/** Whether Unix datagram sockets can be used here (FFI permission granted, Linux or macOS). */
export function unixDatagramAvailable(): boolean {
  if (Deno.build.os !== "linux" && Deno.build.os !== "darwin") return false;
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

/** A failed socket call; `errno` is the C errno value (0 when not from libc). */
export class UnixSocketError extends Error {
  /** C errno of the failure, 0 if none. */
  readonly errno: number;
  /** Whether the peer is not a datagram socket (EPROTOTYPE: it is a stream socket). */
  readonly wrongType: boolean;
  /** Whether the send would have blocked (receiver queue full, EAGAIN). */
  readonly wouldBlock: boolean;
  /** Creates the error with a one-line message. */
  constructor(message: string, errno: number, wrongType = false, wouldBlock = false) {
    super(message);
    this.name = "UnixSocketError";
    this.errno = errno;
    this.wrongType = wrongType;
    this.wouldBlock = wouldBlock;
  }
}

/** Builds a sockaddr_un for `path`. */
function sockaddr(path: string, platform: Platform): Uint8Array {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length === 0 || bytes.length >= platform.pathMax) {
    throw new UnixSocketError(`Unix socket path too long or empty: ${path}`, 0);
  }
  const addr = new Uint8Array(2 + platform.pathMax);
  if (platform.bsdSockaddr) {
    addr[0] = addr.length; // sun_len
    addr[1] = 1; // AF_UNIX
  } else {
    new DataView(addr.buffer).setUint16(0, 1, true); // AF_UNIX, host order (little endian)
  }
  addr.set(bytes, 2);
  return addr;
}

/** An error from the last libc call. */
function lastError(what: string, path: string): UnixSocketError {
  const { libc, errno, platform } = load();
  const code = errno();
  const p = libc.strerror(code);
  const reason = p === null ? `errno ${code}` : new Deno.UnsafePointerView(p).getCString();
  return new UnixSocketError(
    `${what} ${path}: ${reason}`,
    code,
    code === platform.eProtoType,
    code === platform.eAgain,
  );
}

/** A Unix datagram socket (SOCK_DGRAM), connected to a peer or bound to a path. */
export class UnixDatagramSocket {
  /** Peer path (connected socket) or own path (bound socket). */
  readonly path: string;
  #fd: number;

  private constructor(fd: number, path: string) {
    this.#fd = fd;
    this.path = path;
  }

  static #create(path: string, op: "connect" | "bind"): UnixDatagramSocket {
    const { libc, platform } = load();
    const addr = sockaddr(path, platform);
    const fd = libc.socket(1, platform.sockDgram, 0);
    if (fd < 0) throw lastError("Cannot create socket for", path);
    if (libc[op](fd, addr, addr.length) !== 0) {
      const err = lastError(op === "connect" ? "Cannot connect to" : "Cannot bind", path);
      libc.close(fd);
      throw err;
    }
    return new UnixDatagramSocket(fd, path);
  }

  /**
   * Opens a datagram socket connected to `path` (e.g. "/dev/log").
   *
   * @throws {UnixSocketError} With `wrongType` set when `path` is a stream socket.
   */
  static connect(path: string): UnixDatagramSocket {
    return UnixDatagramSocket.#create(path, "connect");
  }

  /**
   * Opens a datagram socket bound to `path` (a receiver; the path must not exist).
   *
   * @throws {UnixSocketError} When the socket cannot be created or bound.
   */
  static bind(path: string): UnixDatagramSocket {
    return UnixDatagramSocket.#create(path, "bind");
  }

  /**
   * Sends one datagram without blocking.
   *
   * @throws {UnixSocketError} On failure (`wouldBlock` when the receiver's queue is full).
   */
  send(data: Uint8Array): void {
    if (this.#fd < 0) throw new UnixSocketError(`Socket ${this.path} is closed`, 0);
    const { libc, platform } = load();
    const n = libc.send(this.#fd, data, BigInt(data.length), platform.msgDontWait);
    if (Number(n) < 0) throw lastError("Cannot send to", this.path);
  }

  /**
   * Receives one datagram without blocking; null when none is waiting.
   *
   * @throws {UnixSocketError} On failure other than "nothing to read".
   */
  tryReceive(maxSize = 65536): Uint8Array | null {
    if (this.#fd < 0) throw new UnixSocketError(`Socket ${this.path} is closed`, 0);
    const { libc, errno, platform } = load();
    const buf = new Uint8Array(maxSize);
    const n = Number(libc.recv(this.#fd, buf, BigInt(buf.length), platform.msgDontWait));
    if (n >= 0) return buf.slice(0, n);
    if (errno() === platform.eAgain) return null;
    throw lastError("Cannot receive from", this.path);
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    if (this.#fd < 0) return;
    load().libc.close(this.#fd);
    this.#fd = -1;
  }
}
