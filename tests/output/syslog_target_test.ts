import assert from "node:assert/strict";
import { formatSyslogTarget, parseSyslogTarget } from "../../src/output/syslog_target.ts";

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
    ]
  ) {
    assert.throws(() => parseSyslogTarget(bad), RangeError, bad);
  }
});

Deno.test("formatSyslogTarget round-trips", () => {
  for (const t of ["udp://h:514", "tcp://[::1]:601", "unix:///dev/log"]) {
    assert.equal(formatSyslogTarget(parseSyslogTarget(t)), t);
  }
});
