import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { detect } from "../eval/evaluate.ts";

const LAB = fileURLToPath(new URL("../../testdata/lab/direct_443.pcap", import.meta.url));

/** The classic pcap `file` from its record `first` (0-based) on, as if the sensor started there. */
function startAt(file: string, first: number): string {
  const b = Deno.readFileSync(file);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  assert.equal(v.getUint32(0, true), 0xa1b2c3d4, "little-endian µs pcap expected");
  let pos = 24;
  for (let i = 0; i < first; i++) pos += 16 + v.getUint32(pos + 8, true);
  const out = new Uint8Array(24 + b.length - pos);
  out.set(b.subarray(0, 24));
  out.set(b.subarray(pos), 24);
  const path = Deno.makeTempFileSync({ suffix: ".pcap" });
  Deno.writeFileSync(path, out);
  return path;
}

Deno.test("mid-stream: the server speaks first after the TLS handshake — the watermark's sender is the client", async () => {
  // Record 10 of direct_443.pcap is the server's first TLS 1.3 ticket after
  // the client's Finished: the flow table takes the server for the client,
  // and only the set-up's direction can tell the roles.
  const path = startAt(LAB, 9);
  try {
    const events = await detect(path);
    assert.equal(events.length, 1, JSON.stringify(events));
    const ev = events[0];
    assert.equal(ev.variant, "TCP");
    assert.deepEqual(ev.client, { ip: "10.77.1.2", port: 51348 });
    assert.deepEqual(ev.server, { ip: "10.77.2.2", port: 443 });
    assert.equal(ev.flow_id, 1); // the main connection itself, not its extra connection
    assert.equal(ev.evidence[0], "handshake_sequence(watermark,hello,login,welcome)");
  } finally {
    Deno.removeSync(path);
  }
});
