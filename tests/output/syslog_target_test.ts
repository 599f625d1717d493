import assert from "node:assert/strict";
import {
  formatSyslogTarget,
  parseSyslogTarget,
  SyslogTargetError,
} from "../../src/output/syslog_target.ts";

Deno.test("parseSyslogTarget: network targets", () => {
  assert.deepEqual(parseSyslogTarget("udp://host:514"), {
    transport: "udp",
    host: "host",
    port: 514,
  });
  assert.deepEqual(parseSyslogTarget("udp://10.0.0.1"), {
    transport: "udp",
    host: "10.0.0.1",
    port: 514,
  });
  assert.deepEqual(parseSyslogTarget("tcp://log.example.com:601"), {
    transport: "tcp",
    host: "log.example.com",
    port: 601,
  });
  assert.deepEqual(parseSyslogTarget("tcp://siem"), { transport: "tcp", host: "siem", port: 601 });
  assert.deepEqual(parseSyslogTarget("udp://[2001:db8::1]:5514"), {
    transport: "udp",
    host: "2001:db8::1",
    port: 5514,
  });
});

Deno.test("parseSyslogTarget: unix sockets", () => {
  assert.deepEqual(parseSyslogTarget("unix:///dev/log"), { transport: "unix", path: "/dev/log" });
  assert.deepEqual(parseSyslogTarget("unix:/run/x.sock"), {
    transport: "unix",
    path: "/run/x.sock",
  });
  assert.deepEqual(parseSyslogTarget("/dev/log"), { transport: "unix", path: "/dev/log" });
});

Deno.test("parseSyslogTarget rejects malformed targets", () => {
  for (
    const bad of [
      "",
      "host:514",
      "http://host",
      "udp://",
      "udp://host:0",
      "udp://host:70000",
      "tcp://host:abc",
      "udp://[10.0.0.1]:514",
      "udp://a b:514",
      "unix://",
      "unix:///",
      "garbage",
      "ftp://host",
      "udp:host",
      "udp://host:",
      "udp://host:99999",
      "udp://host:-1",
      "udp://host:+5",
      "udp://host:1e3",
      "udp://host:0x10",
      "udp://host/path",
      "udp://u@host",
      "udp://2001:db8::1",
      "udp://[::1",
      "udp://[fe80::1%eth0]:514",
      "udp://300.1.1.1",
      "udp://1.2.3",
      "udp://a..b",
      "unix:rel.sock",
    ]
  ) {
    assert.throws(() => parseSyslogTarget(bad), SyslogTargetError, bad);
    assert.throws(() => parseSyslogTarget(bad), RangeError, bad);
  }
});

Deno.test("parseSyslogTarget says what is wrong", () => {
  const reason = (text: string): string => {
    try {
      parseSyslogTarget(text);
    } catch (e) {
      assert.ok(e instanceof SyslogTargetError);
      assert.equal(e.message, `Invalid syslog target ${JSON.stringify(text)}: ${e.reason}`);
      return e.reason;
    }
    return assert.fail(`accepted: ${text}`);
  };
  assert.equal(reason(""), "empty");
  assert.equal(reason("udp://"), "no host");
  assert.equal(reason("tcp://:601"), "no host");
  assert.equal(reason("udp://h:99999"), "the port 99999 is not from 1 to 65535");
  assert.equal(reason("udp://h:"), 'no port after ":"');
  assert.equal(reason("udp://h:1e3"), 'the port "1e3" is not a whole number from 1 to 65535');
  assert.equal(reason("http://h"), 'the scheme "http" is not udp, tcp or unix');
  assert.equal(reason("unix://"), "the socket path must be absolute: unix:///PATH");
  assert.match(reason("garbage"), /^not a URL: expected udp:\/\/HOST/);
  assert.match(reason("udp://::1"), /IPv6 addresses go in brackets/);
  assert.match(reason("udp://[1.2.3.4]"), /not an IPv6 address/);
  assert.match(reason("udp://999.0.0.1"), /not an IPv4 address/);
});

Deno.test("parseSyslogTarget: edge forms that are accepted", () => {
  assert.deepEqual(parseSyslogTarget("udp://h:1"), { transport: "udp", host: "h", port: 1 });
  assert.deepEqual(parseSyslogTarget("tcp://h:65535/"), {
    transport: "tcp",
    host: "h",
    port: 65535,
  });
  assert.deepEqual(parseSyslogTarget("udp://log.example.com."), {
    transport: "udp",
    host: "log.example.com.",
    port: 514,
  });
  assert.deepEqual(parseSyslogTarget("udp://[::ffff:192.0.2.1]"), {
    transport: "udp",
    host: "::ffff:192.0.2.1",
    port: 514,
  });
});

Deno.test("formatSyslogTarget round-trips", () => {
  for (const t of ["udp://h:514", "tcp://[::1]:601", "unix:///dev/log"]) {
    assert.equal(formatSyslogTarget(parseSyslogTarget(t)), t);
  }
});
