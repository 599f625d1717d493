/**
 * The same real SoftEther session carried over IPv6: each IPv4 packet of a
 * lab capture is re-framed as IPv6 (addresses mapped into 2001:db8::/32,
 * TCP segments unchanged), with an 802.1Q tag for good measure. Detection
 * must not depend on the IP version or the link framing.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import { SoftEtherTcpDetector } from "../../src/detect/softether_tcp_detector.ts";
import type { DetectionEvent } from "../../src/detect/event.ts";
import { formatAlertLine } from "../../src/output/text_log.ts";
import { Pipeline } from "../../src/pipeline.ts";

const LAB = fileURLToPath(new URL("../../testdata/lab/", import.meta.url));

/** Ethernet+IPv4 frame → Ethernet+802.1Q+IPv6 frame with the same transport bytes. */
function toIpv6(frame: Uint8Array): Uint8Array | undefined {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00) return undefined;
  const ihl = (frame[14] & 15) * 4;
  const total = (frame[16] << 8) | frame[17];
  const l4 = frame.subarray(14 + ihl, 14 + Math.min(total, frame.length - 14));
  const out = new Uint8Array(14 + 4 + 40 + l4.length);
  out.set(frame.subarray(0, 12));
  out.set([0x81, 0x00, 0x00, 0x2a, 0x86, 0xdd], 12);
  const ip = 18;
  out[ip] = 0x60;
  out[ip + 4] = l4.length >> 8;
  out[ip + 5] = l4.length & 255;
  out[ip + 6] = frame[14 + 9];
  out[ip + 7] = 64;
  for (const [src, dst] of [[14 + 12, ip + 8], [14 + 16, ip + 24]]) {
    out.set([0x20, 0x01, 0x0d, 0xb8], dst);
    out.set(frame.subarray(src, src + 4), dst + 12);
  }
  out.set(l4, ip + 40);
  return out;
}

Deno.test("detect: a real SoftEther session over IPv6 (VLAN-tagged) is found", async () => {
  const events: DetectionEvent[] = [];
  const weirds = new Weirds();
  const pipeline = new Pipeline(
    [new SoftEtherTcpDetector((ev) => events.push(ev), { weirds })],
    {},
    weirds,
  );
  const src = await openCaptureFiles([`${LAB}http_proxy.pcap`]);
  const raw = new RawPacket();
  const out = new RawPacket();
  do {
    while (src.next(raw)) {
      const f = toIpv6(raw.buf.subarray(raw.offset, raw.offset + raw.capLen));
      if (f === undefined) continue;
      out.buf = f;
      out.offset = 0;
      out.capLen = out.wireLen = f.length;
      out.tsSec = raw.tsSec;
      out.tsNsec = raw.tsNsec;
      out.linkType = LinkType.ETHERNET;
      pipeline.handle(out);
    }
  } while (await src.refill());
  src.close();
  pipeline.finish();
  const alerts = events.filter((e) => e.phase !== "end");
  assert.equal(alerts.length, 1, JSON.stringify(alerts));
  assert.equal(alerts[0].variant, "HTTP Proxy");
  assert.equal(alerts[0].client.ip, "2001:db8::a4d:102");
  assert.match(
    formatAlertLine(alerts[0], 0),
    /SoftEther HTTP Proxy Connection Detected \(client \[2001:db8::a4d:102\]:\d+, server \[2001:db8::a4d:302\]:3128\)$/,
  );
  assert.match(alerts[0].community_id, /^1:[A-Za-z0-9+/]{27}=$/);
});
