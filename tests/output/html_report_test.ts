/**
 * The HTML report: one self-contained page (no script, no external asset,
 * a CSP that forbids loading any), the servers' table in the static HTML,
 * a timeline per server (a bar per session, markers, cuts in the time
 * axis), the hosts inside; every wire string escaped.
 */
import assert from "node:assert/strict";
import { renderHtmlReport } from "../../src/output/html_report.ts";
import { ServerInventory } from "../../src/output/server_inventory.ts";
import { formatAlertTime } from "../../src/output/timestamp.ts";
import { sampleEvent } from "./_event.ts";
import { end, inventoryOf, scenario, session, T0 } from "./_inventory.ts";

const INFO = { writtenAt: Date.UTC(2026, 11, 6, 12, 0, 0), generator: "sealert 9.9.9" };

const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

/** The text of each `<article class="server">` of the page. */
function articles(html: string): string[] {
  return [...html.matchAll(/<article class="server" id="server-(\d+)">([\s\S]*?)<\/article>/g)]
    .map((m) => m[2]);
}

Deno.test("report: self-contained page: no script, no external asset, a CSP", () => {
  const html = renderHtmlReport(inventoryOf(scenario()), INFO);
  assert.ok(html.startsWith('<!DOCTYPE html>\n<html lang="en">'));
  assert.ok(html.trimEnd().endsWith("</body></html>"));
  assert.match(
    html,
    /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/,
  );
  assert.equal(count(html, /<script/gi), 0);
  assert.equal(count(html, /<(link|img|iframe|object|embed|image)\b/gi), 0);
  assert.equal(count(html, /\b(src|href)="(?!#)/gi), 0); // only links within the page
  assert.equal(count(html, /url\(/gi), 0);
  // The only URL is SVG's namespace name.
  assert.deepEqual(
    [...new Set(html.match(/https?:\/\/[^"\s]*/g))],
    ["http://www.w3.org/2000/svg"],
  );
  assert.ok(!/NaN|undefined|Infinity/.test(html), "no NaN, undefined or Infinity in the page");
});

Deno.test("report: the servers' table and the hosts inside, in the static HTML", () => {
  const html = renderHtmlReport(inventoryOf(scenario()), INFO);
  const rows = [...html.matchAll(/<tr class="server" data-host="([^"]*)">(.*?)<\/tr>/g)];
  assert.deepEqual(rows.map((r) => r[1]), [
    "192.0.2.10",
    "vpn.example.com",
    "10.9.9.8",
    "2001:db8::10",
  ]);
  const cells = (row: string) => [...row.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]);
  assert.deepEqual(cells(rows[0][2]), [
    '<a href="#server-1">192.0.2.10</a>',
    "443, 1194, 5555",
    "SoftEther, OpenVPN, admin",
    "TCP, HTTP Proxy",
    "2",
    "1",
    "1",
    "1",
    "4",
    "1.4 kB / 5.3 kB",
    formatAlertTime(T0 + 0.5),
    formatAlertTime(T0 + 700),
    "10.9.9.9:3128",
    "side flows: UDP acceleration 1<br>names: vpn.example.org<br>contacts: DDNS",
  ]);
  assert.deepEqual(cells(rows[2][2]).slice(0, 4), [
    '<a href="#server-3">10.9.9.8</a>',
    "22",
    "SoftEther",
    "SSH",
  ]);
  const inside = [...html.matchAll(/<tr class="inside" data-host="([^"]*)">(.*?)<\/tr>/g)];
  assert.deepEqual(inside.map((r) => cells(r[2])), [
    [
      "192.0.2.10",
      "DDNS",
      "1",
      '<a href="#server-1">yes</a>',
      formatAlertTime(T0 + 700),
      formatAlertTime(T0 + 700),
      "x.softether.net",
    ],
    [
      "10.0.0.50",
      "NAT-T",
      "1",
      "no",
      formatAlertTime(T0 + 800),
      formatAlertTime(T0 + 800),
      "–",
    ],
  ]);
  assert.match(html, /4 servers, 2 hosts inside contacting SoftEther's infrastructure/);
  assert.match(html, /written [0-9/: ]+ by sealert 9\.9\.9\./);
});

Deno.test("report: a timeline per server: bars, markers, lanes, cuts", () => {
  const html = renderHtmlReport(inventoryOf(scenario()), INFO);
  const [main, named, ssh, v6] = articles(html);
  assert.equal(articles(html).length, 4);
  for (const a of articles(html)) assert.equal(count(a, /<svg class="timeline"/g), 1);
  // 192.0.2.10: four sessions (one attempt, one admin, one still open) on three client lanes.
  assert.equal(count(main, /<rect class="bar[ "]/g), 4);
  assert.equal(count(main, /<rect class="bar attempt"/g), 1);
  assert.equal(count(main, /<rect class="bar admin"/g), 1);
  assert.equal(count(main, /<rect class="bar open"/g), 1);
  assert.deepEqual(
    [...main.matchAll(/<text class="lane"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]),
    ["faces, contacts", "10.0.0.1", "10.0.0.2", "10.0.0.3"],
  );
  assert.equal(count(main, /<circle class="side"/g), 1);
  assert.equal(count(main, /<path class="face"/g), 1);
  assert.equal(count(main, /<path class="infra"/g), 1);
  // Idle stretches of over a minute are cut: busy 0.5–101 s (39.5 s idle is kept), then
  // 199.5–201, then 299.5 on (the open session lasts to the last event, 950 s).
  assert.equal(count(main, /<path class="cut"/g), 2);
  assert.deepEqual([...main.matchAll(/<title>(idle [^<]*)<\/title>/g)].map((m) => m[1]), [
    "idle 98.5 s cut out",
    "idle 98.5 s cut out",
  ]);
  // The bar's tooltip says what it is.
  assert.match(
    main,
    /<title>TCP session, client 10\.0\.0\.1 → 192\.0\.2\.10, [0-9/: ]+ – [0-9/: ]+ \(59\.5 s\), 2 connections, 1\.0 kB to server, 5\.0 kB to client<\/title>/,
  );
  assert.match(
    main,
    /<title>HTTP Proxy session, client 10\.0\.0\.3 → 192\.0\.2\.10, via 10\.9\.9\.9:3128, [0-9/: ]+ – open/,
  );
  // One session each, no markers, no cut.
  for (const a of [named, ssh]) {
    assert.equal(count(a, /<rect class="bar/g), 1);
    assert.equal(count(a, /<path class="cut"/g), 0);
    assert.equal(count(a, /<text class="lane"/g), 1);
  }
  assert.equal(count(v6, /<rect class="bar/g), 2);
  assert.match(v6, /<text class="lane"[^>]*>2001:db8::5<\/text>/);
  // The inside hosts' contacts.
  assert.match(html, /<svg class="timeline"[^>]*aria-label="infrastructure contacts">/);
});

Deno.test("report: overlapping sessions of one client get rows of their own", () => {
  const events = [0, 1, 2, 3].map((i) => session(i + 1, T0 + i, "10.0.0.1", "192.0.2.10", 443));
  const html = renderHtmlReport(
    inventoryOf([...events, ...events.map((e) => end(e, T0 + 20, 1, 1))]),
    INFO,
  );
  const ys = [...html.matchAll(/<rect class="bar" x="[^"]*" y="([^"]*)"/g)].map((m) => m[1]);
  assert.equal(new Set(ys).size, 4);
  // Sessions one after the other share a row.
  const seq = [0, 100, 200].map((s, i) => session(i + 1, T0 + s, "10.0.0.1", "192.0.2.10", 443));
  const html2 = renderHtmlReport(
    inventoryOf(seq.flatMap((e) => [e, end(e, e.ts + 10, 1, 1)])),
    INFO,
  );
  const ys2 = [...html2.matchAll(/<rect class="bar" x="[^"]*" y="([^"]*)"/g)].map((m) => m[1]);
  assert.equal(new Set(ys2).size, 1);
});

Deno.test("report: every wire string is escaped (table, attributes, SVG titles and labels)", () => {
  const evil = `<script>alert(1)</script>"'&</title><image href=x>\u0007\ud800`;
  const html = renderHtmlReport(
    inventoryOf([
      session(1, T0, "10.0.0.1", "10.9.9.9", 3128, {
        variant: "HTTP Proxy",
        target: { host: evil, port: 443 },
      }),
      sampleEvent({
        kind: "server",
        face: "SSTP",
        name: evil,
        ts: T0 + 1,
        client: { ip: "10.0.0.2", port: 1 },
        server: { ip: "192.0.2.20", port: 443 },
      }),
      sampleEvent({
        kind: "infrastructure",
        service: "VPN Azure",
        name: evil,
        ts: T0 + 2,
        client: { ip: "10.0.0.3", port: 1 },
        server: { ip: "203.0.113.9", port: 443 },
      }),
    ]),
    INFO,
  );
  assert.equal(count(html, /<script/gi), 0);
  assert.equal(count(html, /<image/gi), 0);
  assert.ok(!html.includes("\u0007") && !html.includes("\ud800"));
  const safe = "&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#39;&#38;&#60;/title&#62;" +
    "&#60;image href=x&#62;?\ufffd";
  // The row's attribute and cell, the heading, the SVG's label and tooltip, the names.
  assert.ok(html.includes(`data-host="${safe}"`));
  assert.ok(html.includes(`<h3>${safe}</h3>`));
  assert.ok(html.includes(`aria-label="timeline of ${safe}"`));
  assert.ok(html.includes(`<td>names: ${safe}</td>`));
  assert.equal(html.split(safe).length - 1, 7); // and the link, the inside host, the tooltip
  // Every "<" in the page opens a tag the report writes.
  const known = new Set(
    ("!doctype a article body br circle g h1 h2 h3 head header html line meta p path rect " +
      "section style svg table tbody td text th thead title tr").split(" "),
  );
  const tags = [...html.matchAll(/<\/?([^\s>/]+)/g)].map((m) => m[1].toLowerCase());
  assert.deepEqual(tags.filter((t) => !known.has(t)), []);
  assert.ok(tags.length > 100);
});

Deno.test("report: nothing seen → the page says so, no timelines", () => {
  const html = renderHtmlReport(new ServerInventory(), INFO);
  assert.match(html, /<p class="none">No SoftEther server seen\.<\/p>/);
  assert.match(html, /No host seen contacting SoftEther's infrastructure\./);
  assert.match(html, /no packet time yet/);
  assert.equal(count(html, /<svg/g), 0);
  assert.equal(count(html, /<table/g), 0);
});
