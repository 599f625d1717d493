import assert from "node:assert/strict";
import dgram from "node:dgram";
import { SinkError } from "../../src/output/sink.ts";
import { SyslogSink } from "../../src/output/syslog.ts";
import { unixDatagramLibc } from "../../ffi/unix_socket.ts";
import { UnixDatagramSocket } from "../../src/output/unix_datagram.ts";
import { sampleEvent, tempDir } from "./_event.ts";

const decoder = new TextDecoder();

/** RFC 5424 message parts, parsed loosely for the tests. */
interface Parsed {
  pri: number;
  version: string;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: Record<string, string>;
  sdId: string;
  msg: string;
}

/** Parses one RFC 5424 message with a single SD element. */
function parse5424(text: string): Parsed {
  const m =
    /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) \[(\S+)((?: [a-z_]+="(?:[^"\\]|\\.)*")*)\] (.*)$/s
      .exec(text);
  assert.ok(m, `not RFC 5424: ${text}`);
  const sd: Record<string, string> = {};
  for (const p of m[9].matchAll(/ ([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) {
    sd[p[1]] = p[2].replace(/\\(["\\\]])/g, "$1");
  }
  return {
    pri: Number(m[1]),
    version: m[2],
    timestamp: m[3],
    hostname: m[4],
    appName: m[5],
    procId: m[6],
    msgId: m[7],
    sdId: m[8],
    sd,
    msg: m[10],
  };
}

const OPTS = { hostname: "sensor1", procId: "77" };

/** Resolves after `ms` milliseconds. */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

Deno.test("SyslogSink over UDP: one RFC 5424 datagram per event", async () => {
  const server = dgram.createSocket("udp4");
  const received: string[] = [];
  const got = new Promise<void>((resolve) => {
    server.on("message", (buf) => {
      received.push(decoder.decode(buf));
      if (received.length === 2) resolve();
    });
  });
  await new Promise<void>((r) => server.bind(0, "127.0.0.1", r));
  const port = server.address().port;
  const sink = new SyslogSink(`udp://127.0.0.1:${port}`, OPTS);
  try {
    sink.write(sampleEvent());
    sink.write(sampleEvent({
      outcome: "attempt",
      variant: "SOCKS5 Proxy",
      target: { host: "vpn.example.org", port: 443 },
    }));
    await got;
    sink.close();
    await sink.drain();
    assert.equal(sink.errors, 0);
    assert.equal(sink.sent, 2);
    assert.equal(sink.lastError, undefined);

    const a = parse5424(received[0]);
    assert.equal(a.pri, 16 * 8 + 4);
    assert.equal(a.version, "1");
    assert.equal(a.timestamp, "2004-08-28T11:01:00.250000Z");
    assert.deepEqual([a.hostname, a.appName, a.procId, a.msgId], [
      "sensor1",
      "sealert",
      "77",
      "softether",
    ]);
    assert.equal(a.sdId, "sealert@32473");
    assert.deepEqual(a.sd, {
      kind: "vpn",
      variant: "TCP",
      outcome: "established",
      client: "192.168.126.229:1027",
      server: "61.197.235.210:7777",
      confidence: "0.988",
      community_id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
    });
    assert.equal(
      a.msg,
      "SoftEther TCP Connection Detected (client 192.168.126.229:1027, server 61.197.235.210:7777)",
    );
    const b = parse5424(received[1]);
    assert.equal(b.pri, 16 * 8 + 5);
    assert.equal(b.sd.target, "vpn.example.org:443");
    assert.match(b.msg, /^SoftEther SOCKS5 Proxy Connection Attempt Detected /);
  } finally {
    sink.close();
    server.close();
  }
});

Deno.test("SyslogSink over UDP keeps the order of events", async () => {
  const server = dgram.createSocket("udp4");
  const ids: string[] = [];
  const got = new Promise<void>((resolve) => {
    server.on("message", (buf) => {
      ids.push(parse5424(decoder.decode(buf)).sd.client);
      if (ids.length === 30) resolve();
    });
  });
  await new Promise<void>((r) => server.bind(0, "127.0.0.1", r));
  const sink = new SyslogSink(`udp://127.0.0.1:${server.address().port}`, OPTS);
  try {
    for (let i = 0; i < 30; i++) {
      sink.write(sampleEvent({ client: { ip: "10.0.0.1", port: i + 1 } }));
    }
    await sink.drain();
    await got;
    assert.deepEqual(ids, Array.from({ length: 30 }, (_, i) => `10.0.0.1:${i + 1}`));
  } finally {
    sink.close();
    await sink.drain();
    server.close();
  }
});

Deno.test("SyslogSink: facility is configurable; write after close throws", async () => {
  const server = dgram.createSocket("udp4");
  const got = new Promise<string>((resolve) =>
    server.on("message", (b) => resolve(decoder.decode(b)))
  );
  await new Promise<void>((r) => server.bind(0, "127.0.0.1", r));
  const sink = new SyslogSink(
    { transport: "udp", host: "127.0.0.1", port: server.address().port },
    { ...OPTS, facility: 3 },
  );
  try {
    sink.write(sampleEvent({ kind: "admin" }));
    assert.equal(parse5424(await got).pri, 3 * 8 + 5);
  } finally {
    sink.close();
    sink.close();
    await sink.drain();
    server.close();
  }
  assert.throws(() => sink.write(sampleEvent()), SinkError);
  assert.throws(() => new SyslogSink("udp://h", { facility: 24 }), RangeError);
  assert.throws(() => new SyslogSink("ftp://h"), RangeError);
});

/** Reads a stream connection to its end. */
async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Splits RFC 6587 octet-counted frames. */
function octetFrames(bytes: Uint8Array): string[] {
  const frames: string[] = [];
  let off = 0;
  while (off < bytes.length) {
    const sp = bytes.indexOf(0x20, off);
    assert.ok(sp > off, "missing frame length");
    const len = Number(decoder.decode(bytes.subarray(off, sp)));
    assert.ok(Number.isInteger(len) && len > 0);
    frames.push(decoder.decode(bytes.subarray(sp + 1, sp + 1 + len)));
    off = sp + 1 + len;
  }
  assert.equal(off, bytes.length);
  return frames;
}

Deno.test("SyslogSink over TCP: octet-counting frames, flushed by close", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received = (async () => {
    const conn = await listener.accept();
    try {
      return await readAll(conn);
    } finally {
      conn.close();
    }
  })();
  const sink = new SyslogSink(`tcp://127.0.0.1:${listener.addr.port}`, OPTS);
  try {
    sink.write(sampleEvent());
    sink.write(
      sampleEvent({ target: { host: "héllo-ü.example", port: 443 }, variant: "HTTP Proxy" }),
    );
    sink.write(sampleEvent({ kind: "admin", outcome: "attempt" }));
    sink.close();
    await sink.drain();
    const frames = octetFrames(await received);
    assert.equal(frames.length, 3);
    const parsed = frames.map(parse5424);
    assert.equal(parsed[0].sd.variant, "TCP");
    assert.equal(parsed[1].sd.target, "héllo-ü.example:443");
    assert.equal(parsed[2].msg.startsWith("SoftEther Admin Connection Attempt Detected"), true);
    assert.equal(sink.errors, 0);
    assert.equal(sink.sent, 3);
  } finally {
    sink.close();
    listener.close();
  }
});

Deno.test("SyslogSink over TCP: close does not wait for the server to hang up", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const sink = new SyslogSink(`tcp://127.0.0.1:${listener.addr.port}`, OPTS);
  sink.write(sampleEvent()); // connects on the first event
  const conn = await accepted;
  try {
    sink.close();
    await sink.drain(); // the server never closes its side
    const frames = octetFrames(await readAll(conn));
    assert.equal(frames.length, 1);
    assert.equal(sink.sent, 1);
  } finally {
    conn.close();
    listener.close();
  }
});

/** A local TCP port with nothing listening on it. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** Resolves once `cond()` holds (polling), or fails after `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await sleep(5);
  }
}

Deno.test("SyslogSink over TCP: a refused target queues, is reported once, loses the queue at close", async () => {
  const port = closedPort();
  const reported: SinkError[] = [];
  const sink = new SyslogSink(`tcp://127.0.0.1:${port}`, {
    ...OPTS,
    retrySeconds: 60,
    onError: (e) => reported.push(e),
  });
  try {
    sink.write(sampleEvent());
    sink.write(sampleEvent());
    await until(() => sink.status().state === "down");
    assert.equal(sink.errors, 0); // queued, not lost yet
    assert.equal(sink.status().queued, 2);
    assert.ok(sink.status().retryInSeconds > 50);
    sink.write(sampleEvent()); // while waiting to retry: queued too
    assert.equal(sink.status().queued, 3);
    assert.equal(reported.length, 1);
    assert.ok(reported[0] instanceof SinkError);
    assert.match(
      reported[0].message,
      new RegExp(`^Cannot send to syslog tcp://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
    assert.equal(sink.status().lastError?.message, reported[0].message);
    sink.close(); // one last attempt at once, refused: the queue is lost
    await sink.drain();
    assert.equal(sink.errors, 3);
    assert.equal(sink.sent, 0);
    assert.equal(reported.length, 1);
    assert.equal(sink.lastError?.message, reported[0].message);
  } finally {
    sink.close();
    await sink.drain();
  }
});

Deno.test("SyslogSink over TCP: the queue is bounded; overflow is counted lost", async () => {
  const port = closedPort();
  const sink = new SyslogSink(`tcp://127.0.0.1:${port}`, {
    ...OPTS,
    retrySeconds: 60,
    maxBufferedBytes: 1000,
  });
  try {
    for (let i = 0; i < 10; i++) sink.write(sampleEvent({ flow_id: i }));
    const queued = sink.status().queued;
    assert.ok(queued > 0 && queued < 10, `queued ${queued}`);
    assert.equal(sink.errors, 10 - queued);
    assert.match(sink.lastError!.message, /queue full/);
  } finally {
    sink.close();
    await sink.drain();
  }
  assert.equal(sink.errors, 10);
});

Deno.test("SyslogSink over TCP: retries with back-off and delivers the queue when the server comes back", async () => {
  const port = closedPort();
  const reported: SinkError[] = [];
  const sink = new SyslogSink(`tcp://127.0.0.1:${port}`, {
    ...OPTS,
    retrySeconds: 0.02,
    maxRetrySeconds: 0.1,
    onError: (e) => reported.push(e),
  });
  try {
    sink.write(sampleEvent({ flow_id: 1, variant: "TCP" }));
    await until(() => sink.status().state === "down");
    await sleep(150); // several attempts fail meanwhile
    sink.write(sampleEvent({ flow_id: 2, variant: "SOCKS5 Proxy" }));
    const listener = Deno.listen({ hostname: "127.0.0.1", port });
    try {
      const received = (async () => {
        const conn = await listener.accept();
        try {
          return await readAll(conn);
        } finally {
          conn.close();
        }
      })();
      await until(() => sink.status().state === "up");
      sink.write(sampleEvent({ flow_id: 3, variant: "SSH" }));
      sink.close();
      await sink.drain();
      const frames = octetFrames(await received).map(parse5424);
      assert.deepEqual(frames.map((f) => f.sd.variant), ["TCP", "SOCKS5 Proxy", "SSH"]);
      assert.equal(sink.errors, 0);
      assert.equal(sink.sent, 3);
      assert.equal(reported.length, 1);
    } finally {
      listener.close();
    }
  } finally {
    sink.close();
  }
});

Deno.test({
  name: "SyslogSink over a Unix datagram socket",
  ignore: Deno.build.os !== "linux" && Deno.build.os !== "darwin",
  async fn() {
    const { dir, cleanup } = tempDir();
    const path = `${dir}/log.sock`;
    const libc = unixDatagramLibc()!;
    const server = UnixDatagramSocket.bind(path, libc);
    const sink = new SyslogSink(`unix://${path}`, { ...OPTS, unixDatagram: libc });
    const bsd = new SyslogSink(`unix://${path}`, {
      ...OPTS,
      unixDatagram: libc,
      format: "bsd",
      tz: 540,
    });
    try {
      sink.write(sampleEvent());
      bsd.write(sampleEvent({ outcome: "attempt" }));
      const a = server.tryReceive();
      const b = server.tryReceive();
      assert.ok(a !== null && b !== null);
      assert.equal(server.tryReceive(), null);
      assert.equal(parse5424(decoder.decode(a)).sd.community_id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
      assert.equal(
        decoder.decode(b),
        "<133>Aug 28 20:01:00 sealert[77]: SoftEther TCP Connection Attempt Detected " +
          "(client 192.168.126.229:1027, server 61.197.235.210:7777)",
      );
      assert.equal(sink.sent + bsd.sent, 2);
      assert.equal(sink.errors + bsd.errors, 0);
    } finally {
      sink.close();
      bsd.close();
      await sink.drain();
      server.close();
      cleanup();
    }
  },
});

Deno.test({
  name: "SyslogSink over a Unix stream socket: newline-framed",
  ignore: Deno.build.os === "windows",
  async fn() {
    const { dir, cleanup } = tempDir();
    const path = `${dir}/log.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    const received = (async () => {
      const conn = await listener.accept();
      try {
        return decoder.decode(await readAll(conn));
      } finally {
        conn.close();
      }
    })();
    // A datagram socket is tried first (EPROTOTYPE), then the stream.
    const sink = new SyslogSink(`unix://${path}`, { ...OPTS, unixDatagram: unixDatagramLibc() });
    try {
      sink.write(sampleEvent());
      sink.write(sampleEvent({ variant: "SOCKS4 Proxy" }));
      sink.close();
      await sink.drain();
      const lines = (await received).split("\n");
      assert.equal(lines.pop(), "");
      assert.deepEqual(lines.map((l) => parse5424(l).sd.variant), ["TCP", "SOCKS4 Proxy"]);
      assert.equal(sink.errors, 0);
    } finally {
      sink.close();
      listener.close();
      cleanup();
    }
  },
});

Deno.test("SyslogSink to a missing Unix socket counts errors", async () => {
  const { dir, cleanup } = tempDir();
  const path = `${dir}/missing.sock`;
  const reported: SinkError[] = [];
  const sink = new SyslogSink(`unix://${path}`, {
    ...OPTS,
    unixDatagram: unixDatagramLibc(),
    onError: (e) => reported.push(e),
  });
  try {
    sink.write(sampleEvent());
    sink.write(sampleEvent());
    await sink.drain();
    assert.equal(sink.errors, 2);
    assert.equal(reported.length, 1);
    assert.match(
      reported[0].message,
      new RegExp(`^Cannot send to syslog unix://${path}: .*(No such file|ENOENT)`),
    );
  } finally {
    sink.close();
    await sink.drain();
    cleanup();
  }
});
