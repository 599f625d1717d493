import assert from "node:assert/strict";
import {
  formatBsdLocal,
  formatRfc5424,
  type SyslogHeader,
} from "../../src/output/syslog_message.ts";
import { sampleEvent } from "./_event.ts";

const HEADER: SyslogHeader = {
  facility: 16,
  hostname: "sensor1",
  appName: "sealert",
  procId: "4242",
  enterpriseId: 32473,
};

Deno.test("formatRfc5424: header, structured data, message", () => {
  assert.equal(
    formatRfc5424(sampleEvent(), HEADER),
    "<132>1 2004-08-28T11:01:00.250000Z sensor1 sealert 4242 softether " +
      '[sealert@32473 kind="vpn" variant="TCP" outcome="established" ' +
      'client="192.168.126.229:1027" server="61.197.235.210:7777" confidence="0.988" ' +
      'community_id="1:LQU9qZlK+B5F3KDmev6m5PMibrg="] ' +
      "SoftEther TCP Connection Detected (client 192.168.126.229:1027, server 61.197.235.210:7777)",
  );
});

Deno.test("severity: warning for an established VPN, notice otherwise", () => {
  assert.match(formatRfc5424(sampleEvent(), HEADER), /^<132>1 /); // 16 * 8 + 4
  assert.match(formatRfc5424(sampleEvent({ outcome: "attempt" }), HEADER), /^<133>1 /);
  assert.match(formatRfc5424(sampleEvent({ kind: "admin" }), HEADER), /^<133>1 /);
  assert.match(formatRfc5424(sampleEvent(), { ...HEADER, facility: 3 }), /^<28>1 /);
});

Deno.test("SD-PARAM values: '\"', '\\\\' and ']' escaped, control characters removed", () => {
  const target = (host: string) => {
    const msg = formatRfc5424(sampleEvent({ target: { host, port: 1 } }), HEADER);
    return / target="((?:[^"\\]|\\.)*)" /.exec(msg)?.[1];
  };
  assert.equal(target('a"b\\c]d[e'), 'a\\"b\\\\c\\]d[e:1');
  assert.equal(target("x\ny\r\u0000z\u2028"), "x?y??z?:1");
});

Deno.test("structured data: IPv6 endpoints and a hostile target stay inside the element", () => {
  const msg = formatRfc5424(
    sampleEvent({
      client: { ip: "2001:db8::2", port: 50000 },
      server: { ip: "2001:db8::1", port: 443 },
      target: { host: 'evil"] [x y="z\n', port: 8080 },
    }),
    HEADER,
  );
  assert.equal(
    msg.slice(msg.indexOf(" softether ") + 11, msg.indexOf("] SoftEther ") + 1),
    '[sealert@32473 kind="vpn" variant="TCP" outcome="established" ' +
      'client="[2001:db8::2\\]:50000" server="[2001:db8::1\\]:443" ' +
      'target="evil\\"\\] [x y=\\"z?:8080" confidence="0.988" ' +
      'community_id="1:LQU9qZlK+B5F3KDmev6m5PMibrg="]',
  );
});

Deno.test("header fields are printable ASCII or '-'", () => {
  const msg = formatRfc5424(sampleEvent(), { ...HEADER, hostname: "", procId: "a b" });
  assert.match(msg, /^<132>1 \S+ - sealert ab softether \[/);
});

Deno.test("formatBsdLocal: the syslog(3) form", () => {
  assert.equal(
    formatBsdLocal(sampleEvent(), HEADER, 9 * 60),
    "<132>Aug 28 20:01:00 sealert[4242]: SoftEther TCP Connection Detected " +
      "(client 192.168.126.229:1027, server 61.197.235.210:7777)",
  );
  const early = sampleEvent({ ts: Date.UTC(2026, 0, 5, 3, 4, 5) / 1000 });
  assert.match(formatBsdLocal(early, HEADER, 0), /^<132>Jan {2}5 03:04:05 sealert\[4242\]: /);
});
