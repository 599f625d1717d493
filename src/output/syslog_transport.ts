/**
 * Fire-and-forget syslog transports: UDP (node:dgram), TCP or Unix stream
 * (node:net) and Unix datagram (libc through FFI, calls handed in by src/cli). `send` never throws and
 * never blocks; failures go to a {@linkcode TransportReport}.
 *
 * @module
 */

import dgram from "node:dgram";
import net from "node:net";
import { SinkError } from "./sink.ts";
import { errorReason } from "./line_file.ts";
import { UnixDatagramSocket, type UnixSocketCalls, UnixSocketError } from "./unix_datagram.ts";
import { formatSyslogTarget, type SyslogTarget } from "./syslog_target.ts";

/** Where a transport reports the fate of messages. */
interface TransportReport {
  /** A message was handed to the kernel. */
  ok(): void;
  /** Something failed; `lost` messages (possibly 0) were not sent. */
  fail(err: SinkError, lost: number): void;
}

/** Tuning of the transports. */
interface TransportOptions {
  /** Seconds to wait after a failed connection before the first retry (then doubled). */
  retrySeconds: number;
  /** Longest wait between two connection attempts, in seconds. */
  maxRetrySeconds: number;
  /** Seconds allowed for a TCP connection to be established. */
  connectTimeoutSeconds: number;
  /** Bytes of messages a stream transport may hold unsent before new ones are dropped. */
  maxBufferedBytes: number;
  /** libc's Unix datagram calls; null: a Unix socket is always used as a stream socket. */
  unixDatagram: UnixSocketCalls | null;
}

/** A way to deliver syslog messages. */
export interface SyslogTransport {
  /** Queues one message (unframed); never throws. */
  send(message: Uint8Array): void;
  /** Resolves once every message given so far was sent or reported lost (and, after close, the socket released). */
  drain(): Promise<void>;
  /** Stops accepting messages; pending ones are still sent. Safe to call twice. */
  close(): void;
  /** Connection state and queue, for the status line. */
  status(): TransportStatus;
}

/** State of a transport: "up" (connected or last send worked), "connecting", "down" (waiting to retry), "idle" (not connected, nothing to send), "failing" (datagram sends fail). */
export interface TransportStatus {
  /** The connection state. */
  state: "up" | "connecting" | "down" | "idle" | "failing";
  /** Messages waiting to be sent. */
  queued: number;
  /** When down: seconds until the next connection attempt. */
  retryInSeconds: number;
  /** The failure that caused the state, when not up. */
  lastError: SinkError | undefined;
}

const encoder = new TextEncoder();

/** Concatenates two byte arrays. */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** RFC 6587 octet-counting frame: "LEN SP MSG". */
function octetCountingFrame(message: Uint8Array): Uint8Array {
  return concat(encoder.encode(`${message.length} `), message);
}

/** Newline-terminated frame (local Unix stream sockets). */
function newlineFrame(message: Uint8Array): Uint8Array {
  return concat(message, encoder.encode("\n"));
}

/** Tracks pending work and the promises waiting for it to end. */
class Waiters {
  #waiting: (() => void)[] = [];
  /** Resolves when `idle()` holds at a later `check`. */
  wait(idle: () => boolean): Promise<void> {
    if (idle()) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  /** Wakes every waiter if idle. */
  check(idle: boolean): void {
    if (!idle) return;
    const w = this.#waiting;
    this.#waiting = [];
    for (const resolve of w) resolve();
  }
}

/** Most datagrams waiting for their turn before new ones are dropped. */
const MAX_UDP_QUEUE = 10_000;

/**
 * Syslog over UDP (RFC 5426): one message per datagram. Datagrams are sent
 * one at a time, each after the previous one's completion, because Deno's
 * node:dgram reorders sends issued in the same tick.
 */
class UdpTransport implements SyslogTransport {
  #socket: dgram.Socket;
  #host: string;
  #port: number;
  #label: string;
  #report: TransportReport;
  #queue: Uint8Array[] = [];
  #inFlight = false;
  #closing = false;
  #closed = false;
  #lastError: SinkError | undefined;
  #waiters = new Waiters();

  /** Creates the (unbound) UDP socket. */
  constructor(host: string, port: number, report: TransportReport) {
    this.#host = host;
    this.#port = port;
    this.#label = formatSyslogTarget({ transport: "udp", host, port });
    this.#report = report;
    this.#socket = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
    this.#socket.on("error", (err) => this.#report.fail(this.#error(err), 0));
  }

  #error(err: unknown): SinkError {
    return new SinkError(`Cannot send to syslog ${this.#label}: ${errorReason(err)}`);
  }

  /** Queues one datagram. */
  send(message: Uint8Array): void {
    if (this.#closing) {
      this.#report.fail(new SinkError(`Cannot send to syslog ${this.#label}: closed`), 1);
      return;
    }
    if (this.#queue.length >= MAX_UDP_QUEUE) {
      this.#report.fail(this.#error("too many unsent messages"), 1);
      return;
    }
    this.#queue.push(message);
    this.#pump();
  }

  #pump(): void {
    if (this.#inFlight) return;
    const message = this.#queue.shift();
    if (message === undefined) return this.#settle();
    this.#inFlight = true;
    const done = (err: unknown) => {
      this.#inFlight = false;
      if (err) this.#report.fail(this.#lastError = this.#error(err), 1);
      else {
        this.#lastError = undefined;
        this.#report.ok();
      }
      this.#pump();
    };
    try {
      this.#socket.send(message, this.#port, this.#host, (err) => done(err));
    } catch (err) {
      done(err ?? new Error("send failed"));
    }
  }

  #idle(): boolean {
    return !this.#inFlight && this.#queue.length === 0;
  }

  #settle(): void {
    if (this.#closing && this.#idle() && !this.#closed) {
      this.#closed = true;
      try {
        this.#socket.close();
      } catch {
        // Never bound: nothing to close.
      }
    }
    this.#waiters.check(this.#idle());
  }

  /** Resolves once every datagram was handed to the kernel or reported lost. */
  drain(): Promise<void> {
    return this.#waiters.wait(() => this.#idle());
  }

  /** Closes the socket once pending datagrams are sent. */
  close(): void {
    this.#closing = true;
    this.#settle();
  }

  /** "failing" while the last datagram could not be sent (a target that is down is not seen over UDP). */
  status(): TransportStatus {
    const failing = this.#lastError !== undefined;
    return {
      state: failing ? "failing" : "up",
      queued: this.#queue.length,
      retryInSeconds: 0,
      lastError: this.#lastError,
    };
  }
}

/** Most messages a stream transport holds while its server is unreachable. */
const MAX_STREAM_QUEUE = 10_000;

/**
 * Syslog over a stream socket (TCP with octet counting, or a Unix stream
 * socket). Messages wait in a bounded queue (at most {@linkcode MAX_STREAM_QUEUE}
 * messages and `maxBufferedBytes` bytes; a message beyond either bound is
 * counted lost) until the kernel took them. While the server is unreachable
 * the connection is retried with exponential back-off: `retrySeconds`,
 * doubled after each failed attempt up to `maxRetrySeconds`. A message is
 * removed from the queue only once written; one written to a connection that
 * broke before the write completed is sent again on the next one. After
 * `close`, one more attempt is made at once; if it fails too, what is still
 * queued is counted lost.
 */
class StreamTransport implements SyslogTransport {
  #connect: net.NetConnectOpts;
  #frame: (m: Uint8Array) => Uint8Array;
  #label: string;
  #report: TransportReport;
  #options: TransportOptions;
  #socket: net.Socket | null = null;
  #connected = false;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #written = 0; // the first #written messages of #queue are written to #socket
  #failures = 0; // consecutive failed connection attempts
  #timer: ReturnType<typeof setTimeout> | undefined;
  #retryAt = 0;
  #lastError: SinkError | null = null;
  #closing = false;
  #lastChance = false;
  #waiters = new Waiters();

  /**
   * Prepares the transport; connects on the first message.
   *
   * @param connect node:net connection options ({host, port} or {path}).
   * @param frame Framing of one message on the stream.
   * @param label Target name for error messages.
   */
  constructor(
    connect: net.NetConnectOpts,
    frame: (m: Uint8Array) => Uint8Array,
    label: string,
    report: TransportReport,
    options: TransportOptions,
  ) {
    this.#connect = connect;
    this.#frame = frame;
    this.#label = label;
    this.#report = report;
    this.#options = options;
  }

  #error(err: unknown): SinkError {
    return new SinkError(`Cannot send to syslog ${this.#label}: ${errorReason(err)}`);
  }

  #open(): void {
    const s = net.createConnection(this.#connect);
    this.#socket = s;
    s.setTimeout(this.#options.connectTimeoutSeconds * 1000);
    s.once("connect", () => {
      s.setTimeout(0);
      this.#connected = true;
      this.#failures = 0;
      this.#pump();
    });
    s.on("timeout", () => s.destroy(new Error("connection timed out")));
    s.on("error", (err) => {
      this.#lastError = this.#error(err);
      this.#report.fail(this.#lastError, 0);
    });
    s.on("close", () => this.#closed(s));
    s.on("data", () => {}); // a syslog server says nothing; ignore whatever it sends
  }

  /** Queues one framed message, connecting first if needed. */
  send(message: Uint8Array): void {
    if (this.#closing) {
      this.#report.fail(new SinkError(`Cannot send to syslog ${this.#label}: closed`), 1);
      return;
    }
    const framed = this.#frame(message);
    if (
      this.#queue.length >= MAX_STREAM_QUEUE ||
      this.#queuedBytes + framed.length > this.#options.maxBufferedBytes
    ) {
      const why = this.#connected ? "server too slow" : "server unreachable";
      this.#report.fail(this.#error(`queue full (${why}), message dropped`), 1);
      return;
    }
    this.#queue.push(framed);
    this.#queuedBytes += framed.length;
    if (this.#connected) this.#pump();
    else if (this.#socket === null && this.#timer === undefined) this.#open();
  }

  /** Writes the queued messages not yet written to the connection. */
  #pump(): void {
    const s = this.#socket;
    if (s === null || !this.#connected) return;
    while (this.#written < this.#queue.length) {
      s.write(this.#queue[this.#written++], (err) => {
        if (err || this.#socket !== s || this.#written === 0) return; // resent on the next connection
        const m = this.#queue.shift()!;
        this.#written--;
        this.#queuedBytes -= m.length;
        this.#report.ok();
        this.#settle();
      });
    }
    if (this.#closing) s.end(() => s.destroy()); // do not wait for the server to close its side
  }

  /** The connection `s` closed: plan the next attempt, or give up after close. */
  #closed(s: net.Socket): void {
    if (this.#socket !== s) return;
    this.#socket = null;
    if (!this.#connected) this.#failures++;
    this.#connected = false;
    this.#written = 0;
    if (this.#queue.length > 0) {
      if (!this.#closing) this.#retryLater();
      else if (!this.#lastChance) this.#retryNow();
      else this.#dropAll();
    }
    this.#settle();
  }

  #retryLater(): void {
    const o = this.#options;
    const delay = Math.min(
      o.retrySeconds * 2 ** Math.max(0, this.#failures - 1),
      o.maxRetrySeconds,
    );
    this.#retryAt = Date.now() + delay * 1000;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#open();
    }, delay * 1000);
  }

  #retryNow(): void {
    this.#lastChance = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#open();
  }

  #dropAll(): void {
    const lost = this.#queue.length;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#written = 0;
    this.#report.fail(this.#lastError ?? this.#error("not connected"), lost);
  }

  #idle(): boolean {
    return this.#queue.length === 0 && (!this.#closing || this.#socket === null);
  }

  #settle(): void {
    this.#waiters.check(this.#idle());
  }

  /** Connection state, queue and next attempt. */
  status(): TransportStatus {
    const state = this.#connected
      ? "up"
      : this.#socket !== null
      ? "connecting"
      : this.#timer !== undefined
      ? "down"
      : "idle";
    return {
      state,
      queued: this.#queue.length,
      retryInSeconds: state === "down" ? Math.max(0, (this.#retryAt - Date.now()) / 1000) : 0,
      lastError: state === "up" ? undefined : this.#lastError ?? undefined,
    };
  }

  /**
   * Resolves once every message was written or counted lost (after close:
   * and the connection closed). Before close, waits for a server that is down.
   */
  drain(): Promise<void> {
    return this.#waiters.wait(() => this.#idle());
  }

  /**
   * Stops accepting messages: writes what is queued, then closes. A target
   * that is down gets one more attempt at once; if that fails, the queue is lost.
   */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#connected) this.#pump();
    else if (this.#socket === null && this.#queue.length > 0) this.#retryNow();
    else if (this.#socket !== null) this.#lastChance = true;
    this.#settle();
  }
}

/**
 * Syslog to a local Unix socket such as /dev/log: datagrams when the socket
 * is a datagram socket and the datagram calls are given (FFI allowed),
 * otherwise a newline-framed stream.
 */
class UnixTransport implements SyslogTransport {
  #path: string;
  #label: string;
  #report: TransportReport;
  #options: TransportOptions;
  #calls: UnixSocketCalls | null;
  #dgram: UnixDatagramSocket | null = null;
  #stream: StreamTransport | null = null;
  #lastError: SinkError | null = null;
  #lastFailure = -Infinity;
  #closing = false;

  /** Prepares the transport; connects on the first message. */
  constructor(path: string, report: TransportReport, options: TransportOptions) {
    this.#path = path;
    this.#label = formatSyslogTarget({ transport: "unix", path });
    this.#report = report;
    this.#options = options;
    this.#calls = options.unixDatagram;
    if (this.#calls === null) this.#useStream();
  }

  #useStream(): StreamTransport {
    this.#stream = new StreamTransport(
      { path: this.#path },
      newlineFrame,
      this.#label,
      this.#report,
      this.#options,
    );
    return this.#stream;
  }

  #error(err: unknown): SinkError {
    return new SinkError(`Cannot send to syslog ${this.#label}: ${errorReason(err)}`);
  }

  /** Sends one datagram (or stream line). */
  send(message: Uint8Array): void {
    if (this.#stream !== null) return this.#stream.send(message);
    if (this.#closing) {
      this.#report.fail(new SinkError(`Cannot send to syslog ${this.#label}: closed`), 1);
      return;
    }
    if (this.#dgram === null) {
      if (Date.now() - this.#lastFailure < this.#options.retrySeconds * 1000) {
        this.#report.fail(this.#lastError ?? this.#error("not connected"), 1);
        return;
      }
      try {
        this.#dgram = UnixDatagramSocket.connect(this.#path, this.#calls!); // null: #stream is set
      } catch (err) {
        if (err instanceof UnixSocketError && err.wrongType) {
          return this.#useStream().send(message);
        }
        this.#failConnection(err);
        return;
      }
    }
    try {
      this.#dgram.send(message);
      this.#report.ok();
    } catch (err) {
      if (err instanceof UnixSocketError && err.wouldBlock) {
        this.#report.fail(this.#error("receiver queue full"), 1);
        return;
      }
      this.#dgram.close();
      this.#dgram = null;
      this.#failConnection(err);
    }
  }

  #failConnection(err: unknown): void {
    this.#lastError = this.#error(err instanceof UnixSocketError ? reasonOnly(err) : err);
    this.#lastFailure = Date.now();
    this.#report.fail(this.#lastError, 1);
  }

  /** Datagrams are sent synchronously; waits only for a stream fallback. */
  drain(): Promise<void> {
    return this.#stream?.drain() ?? Promise.resolve();
  }

  /** The stream fallback's state, or "failing" while the datagram socket cannot be used. */
  status(): TransportStatus {
    if (this.#stream !== null) return this.#stream.status();
    const failing = this.#dgram === null && this.#lastError !== null;
    return {
      state: failing ? "failing" : "up",
      queued: 0,
      retryInSeconds: 0,
      lastError: failing ? this.#lastError ?? undefined : undefined,
    };
  }

  /** Closes the socket. */
  close(): void {
    this.#closing = true;
    this.#stream?.close();
    this.#dgram?.close();
    this.#dgram = null;
  }
}

/** "Cannot connect to /dev/log: No such file" → "No such file". */
function reasonOnly(err: UnixSocketError): string {
  const i = err.message.lastIndexOf(": ");
  return i < 0 ? err.message : err.message.slice(i + 2);
}

/** Creates the transport for a parsed target. */
export function openTransport(
  target: SyslogTarget,
  report: TransportReport,
  options: TransportOptions,
): SyslogTransport {
  switch (target.transport) {
    case "udp":
      return new UdpTransport(target.host, target.port, report);
    case "tcp":
      return new StreamTransport(
        { host: target.host, port: target.port },
        octetCountingFrame,
        formatSyslogTarget(target),
        report,
        options,
      );
    case "unix":
      return new UnixTransport(target.path, report, options);
  }
}
