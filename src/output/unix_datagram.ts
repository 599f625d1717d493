/**
 * Unix datagram sockets, for syslog to /dev/log: Deno has no stable Unix
 * datagram API and node:dgram has none at all, so the socket calls are libc's
 * through FFI. They are handed in as {@linkcode UnixSocketCalls} (src/cli
 * passes `unixDatagramLibc()` of `ffi/unix_socket.ts`): this module keeps the
 * socket's logic and errors but never touches native memory itself.
 *
 * @module
 */

/**
 * The C library calls a {@linkcode UnixDatagramSocket} makes
 * (`ffi/unix_socket.ts`). Calls return -1 on failure with `errno()` set;
 * `send` and `recv` never block.
 */
export interface UnixSocketCalls {
  /** EPROTOTYPE: the peer is not a datagram socket. */
  readonly EPROTOTYPE: number;
  /** EAGAIN: the call would block. */
  readonly EAGAIN: number;
  /** Longest socket path, in bytes. */
  readonly maxPathBytes: number;
  /** A new Unix datagram socket: its descriptor, or -1. */
  socket(): number;
  /** Connects `fd` to the socket file `path` (UTF-8, 1 to `maxPathBytes` bytes): 0, or -1. */
  connect(fd: number, path: Uint8Array): number;
  /** Binds `fd` to the socket file `path` (UTF-8, 1 to `maxPathBytes` bytes): 0, or -1. */
  bind(fd: number, path: Uint8Array): number;
  /** Sends one datagram: bytes sent, or -1. */
  send(fd: number, data: Uint8Array): number;
  /** Receives one datagram into `buf`: its length, or -1. */
  recv(fd: number, buf: Uint8Array): number;
  /** Closes `fd`. */
  close(fd: number): void;
  /** errno of the last failed call. */
  errno(): number;
  /** The text of an errno value. */
  strerror(code: number): string;
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

/** An error from the last failed call of `calls`. */
function lastError(calls: UnixSocketCalls, what: string, path: string): UnixSocketError {
  const code = calls.errno();
  return new UnixSocketError(
    `${what} ${path}: ${calls.strerror(code)}`,
    code,
    code === calls.EPROTOTYPE,
    code === calls.EAGAIN,
  );
}

/** A Unix datagram socket (SOCK_DGRAM), connected to a peer or bound to a path. */
export class UnixDatagramSocket {
  /** Peer path (connected socket) or own path (bound socket). */
  readonly path: string;
  #calls: UnixSocketCalls;
  #fd: number;

  private constructor(calls: UnixSocketCalls, fd: number, path: string) {
    this.#calls = calls;
    this.#fd = fd;
    this.path = path;
  }

  static #create(
    calls: UnixSocketCalls,
    path: string,
    op: "connect" | "bind",
  ): UnixDatagramSocket {
    const bytes = new TextEncoder().encode(path);
    if (bytes.length === 0 || bytes.length > calls.maxPathBytes) {
      throw new UnixSocketError(`Unix socket path too long or empty: ${path}`, 0);
    }
    const fd = calls.socket();
    if (fd < 0) throw lastError(calls, "Cannot create socket for", path);
    if (calls[op](fd, bytes) !== 0) {
      const err = lastError(calls, op === "connect" ? "Cannot connect to" : "Cannot bind", path);
      calls.close(fd);
      throw err;
    }
    return new UnixDatagramSocket(calls, fd, path);
  }

  /**
   * Opens a datagram socket connected to `path` (e.g. "/dev/log").
   *
   * @throws {UnixSocketError} With `wrongType` set when `path` is a stream socket.
   */
  static connect(path: string, calls: UnixSocketCalls): UnixDatagramSocket {
    return UnixDatagramSocket.#create(calls, path, "connect");
  }

  /**
   * Opens a datagram socket bound to `path` (a receiver; the path must not exist).
   *
   * @throws {UnixSocketError} When the socket cannot be created or bound.
   */
  static bind(path: string, calls: UnixSocketCalls): UnixDatagramSocket {
    return UnixDatagramSocket.#create(calls, path, "bind");
  }

  /**
   * Sends one datagram without blocking.
   *
   * @throws {UnixSocketError} On failure (`wouldBlock` when the receiver's queue is full).
   */
  send(data: Uint8Array): void {
    if (this.#fd < 0) throw new UnixSocketError(`Socket ${this.path} is closed`, 0);
    if (this.#calls.send(this.#fd, data) < 0) {
      throw lastError(this.#calls, "Cannot send to", this.path);
    }
  }

  /**
   * Receives one datagram without blocking; null when none is waiting.
   *
   * @throws {UnixSocketError} On failure other than "nothing to read".
   */
  tryReceive(maxSize = 65536): Uint8Array | null {
    if (this.#fd < 0) throw new UnixSocketError(`Socket ${this.path} is closed`, 0);
    const buf = new Uint8Array(maxSize);
    const n = this.#calls.recv(this.#fd, buf);
    if (n >= 0) return buf.slice(0, n);
    if (this.#calls.errno() === this.#calls.EAGAIN) return null;
    throw lastError(this.#calls, "Cannot receive from", this.path);
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    if (this.#fd < 0) return;
    this.#calls.close(this.#fd);
    this.#fd = -1;
  }
}
