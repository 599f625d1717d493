import assert from "node:assert/strict";
import { SinkError } from "../../src/output/sink.ts";
import {
  formatAlertLine,
  formatAlertMessage,
  formatEndpoint,
  TextLogSink,
} from "../../src/output/text_log.ts";
import { sampleEvent, tempDir } from "./_event.ts";

const JST = 9 * 60;

Deno.test("formatAlertLine reproduces the SoftEther Alert 1.00 line", () => {
  assert.equal(
    formatAlertLine(sampleEvent(), JST),
    "[2004/08/28 20:01:00] SoftEther TCP Connection Detected " +
      "(client 192.168.126.229:1027, server 61.197.235.210:7777)",
  );
});

Deno.test("formatAlertLine uses the packet time in the given zone", () => {
  const ev = sampleEvent();
  assert.match(formatAlertLine(ev, 0), /^\[2004\/08\/28 11:01:00\] /);
  assert.match(formatAlertLine(ev, -7 * 60), /^\[2004\/08\/28 04:01:00\] /);
});

Deno.test("formatAlertLine follows TZ by default", () => {
  const line = formatAlertLine(sampleEvent());
  const offset = -new Date(sampleEvent().ts * 1000).getTimezoneOffset();
  assert.equal(line, formatAlertLine(sampleEvent(), offset));
});

Deno.test("formatAlertLine is in local time of a child process with TZ set", async () => {
  const code = `import { formatAlertLine } from ${
    JSON.stringify(
      new URL("../../src/output/text_log.ts", import.meta.url).href,
    )
  };
import { sampleEvent } from ${JSON.stringify(new URL("./_event.ts", import.meta.url).href)};
console.log(formatAlertLine(sampleEvent()));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { TZ: "Asia/Tokyo", NO_COLOR: "1" },
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(new TextDecoder().decode(out.stdout), /^\[2004\/08\/28 20:01:00\] SoftEther TCP/);
});

Deno.test("variants, attempts and admin connections", () => {
  const msg = (over: Parameters<typeof sampleEvent>[0]) => formatAlertMessage(sampleEvent(over));
  const tail = "(client 192.168.126.229:1027, server 61.197.235.210:7777)";
  for (const v of ["TCP", "HTTP Proxy", "SOCKS4 Proxy", "SOCKS5 Proxy", "SSH"] as const) {
    assert.equal(msg({ variant: v }), `SoftEther ${v} Connection Detected ${tail}`);
  }
  assert.equal(
    msg({ variant: "HTTP Proxy", outcome: "attempt" }),
    `SoftEther HTTP Proxy Connection Attempt Detected ${tail}`,
  );
  assert.equal(msg({ kind: "admin" }), `SoftEther Admin Connection Detected ${tail}`);
  assert.equal(
    msg({ kind: "admin", outcome: "attempt" }),
    `SoftEther Admin Connection Attempt Detected ${tail}`,
  );
});

Deno.test("IPv6 endpoints are bracketed", () => {
  assert.equal(formatEndpoint({ ip: "2001:db8::1", port: 443 }), "[2001:db8::1]:443");
  assert.equal(formatEndpoint({ ip: "10.0.0.1", port: 443 }), "10.0.0.1:443");
  const ev = sampleEvent({
    client: { ip: "2001:db8::2", port: 50000 },
    server: { ip: "2001:db8::1", port: 443 },
  });
  assert.equal(
    formatAlertLine(ev, 0),
    "[2004/08/28 11:01:00] SoftEther TCP Connection Detected " +
      "(client [2001:db8::2]:50000, server [2001:db8::1]:443)",
  );
});

/** Reads a text file as lines (without the final empty string). */
function lines(path: string): string[] {
  const text = Deno.readTextFileSync(path);
  assert.ok(text.endsWith("\n"));
  return text.slice(0, -1).split("\n");
}

Deno.test("TextLogSink appends, never truncates, and creates the file", () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = `${dir}/sealert.log`;
    Deno.writeTextFileSync(path, "existing line\n");
    const a = new TextLogSink({ path, quiet: true, tz: 0 });
    const b = new TextLogSink({ path, quiet: true, tz: 0 });
    a.write(sampleEvent({ flow_id: 1 }));
    b.write(sampleEvent({ variant: "SSH" }));
    a.write(sampleEvent({ outcome: "attempt" }));
    a.close();
    b.close();
    const c = new TextLogSink({ path, quiet: true, tz: 0 });
    c.write(sampleEvent({ kind: "admin" }));
    c.close();
    c.close(); // twice is fine
    const got = lines(path);
    assert.equal(got.length, 5);
    assert.equal(got[0], "existing line");
    assert.match(got[1], /SoftEther TCP Connection Detected/);
    assert.match(got[2], /SoftEther SSH Connection Detected/);
    assert.match(got[3], /SoftEther TCP Connection Attempt Detected/);
    assert.match(got[4], /SoftEther Admin Connection Detected/);

    const fresh = `${dir}/new.log`;
    const d = new TextLogSink({ path: fresh, quiet: true });
    d.close();
    assert.equal(Deno.statSync(fresh).size, 0);
  } finally {
    cleanup();
  }
});

Deno.test("TextLogSink.reopen follows logrotate's rename", () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = `${dir}/sealert.log`;
    const sink = new TextLogSink({ path, quiet: true, tz: 0 });
    sink.write(sampleEvent({ variant: "TCP" }));
    Deno.renameSync(path, `${path}.1`);
    sink.write(sampleEvent({ variant: "SSH" })); // still goes to the renamed file
    sink.reopen();
    sink.write(sampleEvent({ variant: "SOCKS5 Proxy" }));
    sink.close();
    assert.equal(lines(`${path}.1`).length, 2);
    assert.match(lines(`${path}.1`)[1], /SSH/);
    assert.deepEqual(lines(path).map((l) => l.includes("SOCKS5 Proxy")), [true]);
  } finally {
    cleanup();
  }
});

Deno.test("TextLogSink reopen failure is reported, and the next write retries", () => {
  const { dir, cleanup } = tempDir();
  try {
    const sub = `${dir}/sub`;
    Deno.mkdirSync(sub);
    const path = `${sub}/sealert.log`;
    const sink = new TextLogSink({ path, quiet: true, tz: 0 });
    Deno.renameSync(sub, `${dir}/moved`);
    assert.throws(() => sink.reopen(), (e: unknown) => {
      assert.ok(e instanceof SinkError);
      assert.equal(e.message, `Cannot open log file "${path}": No such file or directory`);
      return true;
    });
    assert.throws(() => sink.write(sampleEvent()), SinkError);
    Deno.mkdirSync(sub);
    sink.write(sampleEvent());
    sink.close();
    assert.equal(lines(path).length, 1);
  } finally {
    cleanup();
  }
});

Deno.test("TextLogSink: a directory cannot be opened", () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.throws(() => new TextLogSink({ path: dir, quiet: true }), (e: unknown) => {
      assert.ok(e instanceof SinkError);
      assert.equal(e.message, `Cannot open log file "${dir}": Is a directory`);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  } finally {
    cleanup();
  }
});

Deno.test({
  name: "TextLogSink: write failure on /dev/full throws SinkError",
  ignore: Deno.build.os !== "linux",
  fn() {
    const sink = new TextLogSink({ path: "/dev/full", quiet: true });
    assert.throws(() => sink.write(sampleEvent()), (e: unknown) => {
      assert.ok(e instanceof SinkError);
      assert.equal(e.message, `Cannot write to log file "/dev/full": No space left on device`);
      return true;
    });
    sink.close();
  },
});

Deno.test("TextLogSink: writing after close throws SinkError", () => {
  const { dir, cleanup } = tempDir();
  try {
    const sink = new TextLogSink({ path: `${dir}/x.log`, quiet: true });
    sink.close();
    assert.throws(() => sink.write(sampleEvent()), SinkError);
  } finally {
    cleanup();
  }
});

/** Runs `body` in a child Deno with the sink module loaded, returning its stdout. */
async function runChild(body: string, cwd: string): Promise<string> {
  const mod = new URL("../../src/output/text_log.ts", import.meta.url).href;
  const ev = new URL("./_event.ts", import.meta.url).href;
  const code = `import { TextLogSink } from ${JSON.stringify(mod)};
import { sampleEvent } from ${JSON.stringify(ev)};
${body}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    cwd,
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("TextLogSink echoes to stdout unless quiet; default path is ./sealert.log", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = await runChild(
      `const s = new TextLogSink({ tz: 540 }); s.write(sampleEvent()); s.close();
const q = new TextLogSink({ tz: 540, quiet: true }); q.write(sampleEvent()); q.close();`,
      dir,
    );
    const expected = formatAlertLine(sampleEvent(), JST);
    assert.equal(out, expected + "\n");
    assert.equal(Deno.readTextFileSync(`${dir}/sealert.log`), `${expected}\n${expected}\n`);
  } finally {
    cleanup();
  }
});

Deno.test("TextLogSink path '-' writes to stdout only", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = await runChild(
      `const s = new TextLogSink({ path: "-", tz: 540 }); s.write(sampleEvent()); s.reopen(); s.close();
console.log("still open");`,
      dir,
    );
    assert.equal(out, formatAlertLine(sampleEvent(), JST) + "\nstill open\n");
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    cleanup();
  }
});
