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
  /** Seconds to wait after a failed connection before trying again (messages meanwhile are lost). */
  retrySeconds: number;
  /** Seconds allowed for a TCP connection to be established. */
  connectTimeoutSeconds: number;
  /** Bytes allowed to wait in a stream socket's buffer before messages are dropped. */
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
      if (err) this.#report.fail(this.#error(err), 1);
      else this.#report.ok();
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
}

/** Syslog over a stream socket (TCP with octet counting, or a Unix stream socket), reconnecting after failures. */
class StreamTransport implements SyslogTransport {
  #connect: net.NetConnectOpts;
  #frame: (m: Uint8Array) => Uint8Array;
  #label: string;
  #report: TransportReport;
  #options: TransportOptions;
  #socket: net.Socket | null = null;
  #lastError: SinkError | null = null;
  #lastFailure = -Infinity;
  #pending = 0;
  #closing = false;
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

  #open(): net.Socket {
    const s = net.createConnection(this.#connect);
    s.setTimeout(this.#options.connectTimeoutSeconds * 1000);
    s.once("connect", () => s.setTimeout(0));
    s.on("timeout", () => s.destroy(new Error("connection timed out")));
    s.on("error", (err) => {
      this.#lastError = this.#error(err);
      this.#lastFailure = Date.now();
      this.#report.fail(this.#lastError, 0);
    });
    s.on("close", () => {
      if (this.#socket === s) this.#socket = null;
      this.#settle();
    });
    s.on("data", () => {}); // a syslog server says nothing; ignore whatever it sends
    return s;
  }

  /** Writes one framed message, connecting first if needed. */
  send(message: Uint8Array): void {
    if (this.#closing) {
      this.#report.fail(new SinkError(`Cannot send to syslog ${this.#label}: closed`), 1);
      return;
    }
    if (this.#socket === null) {
      if (Date.now() - this.#lastFailure < this.#options.retrySeconds * 1000) {
        this.#report.fail(this.#lastError ?? this.#error("not connected"), 1);
        return;
      }
      this.#socket = this.#open();
    }
    const s = this.#socket;
    if (s.writableLength > this.#options.maxBufferedBytes) {
      this.#report.fail(this.#error("too much unsent data, server too slow"), 1);
      return;
    }
    this.#pending++;
    s.write(this.#frame(message), (err) => {
      this.#pending--;
      if (err) this.#report.fail(this.#lastError ?? this.#error(err), 1);
      else this.#report.ok();
      this.#settle();
    });
  }

  #idle(): boolean {
    return this.#pending === 0 && (!this.#closing || this.#socket === null);
  }

  #settle(): void {
    this.#waiters.check(this.#idle());
  }

  /** Resolves once pending writes are flushed to the kernel (and, after close, the socket closed). */
  drain(): Promise<void> {
    return this.#waiters.wait(() => this.#idle());
  }

  /** Flushes pending writes, then closes the connection. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    const s = this.#socket;
    s?.end(() => s.destroy()); // do not wait for the server to close its side
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
