import assert from "node:assert/strict";
import { PcapHandle } from "../../ffi/pcap_handle.ts";
import { CaptureDeviceError } from "../../ffi/errors.ts";
import { LinkType } from "../../src/capture/raw_packet.ts";
import { skipPrivileged } from "./_privilege.ts";

function openError(fn: () => unknown): CaptureDeviceError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CaptureDeviceError, String(err));
    assert.ok(!err.message.includes("\n"), err.message);
    return err;
  }
  assert.fail("no error");
}

Deno.test({
  name: "PcapHandle: nonexistent device → one-line CaptureDeviceError, exit 2",
  ignore: skipPrivileged("PcapHandle: nonexistent device"),
  fn() {
    const err = openError(() => PcapHandle.open({ device: "sealert-nodev0" }));
    assert.equal(err.message, 'No such capture device "sealert-nodev0"');
    assert.equal(err.exitCode, 2);
    const labelled = openError(() =>
      PcapHandle.open({ device: "sealert-nodev0", label: "My Adapter" })
    );
    assert.equal(labelled.message, 'No such capture device "My Adapter"');
  },
});

Deno.test({
  name: "PcapHandle: bad BPF filter → one-line CaptureDeviceError, exit 2",
  ignore: skipPrivileged("PcapHandle: bad BPF filter"),
  fn() {
    const err = openError(() => PcapHandle.open({ device: "lo", filter: "tcp port" }));
    assert.match(err.message, /^Invalid capture filter "tcp port": .*syntax error/);
    assert.equal(err.exitCode, 2);
    const err2 = openError(() => PcapHandle.open({ device: "lo", filter: "port 99999" }));
    assert.match(err2.message, /^Invalid capture filter "port 99999": .*99999/);
  },
});

Deno.test({
  name: "PcapHandle: reads loopback TCP packets, stats, idle timeout, idempotent close",
  ignore: skipPrivileged("PcapHandle: reads loopback TCP packets"),
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const handle = PcapHandle.open({ device: "lo", filter: `tcp port ${port}`, timeoutMs: 20 });
    try {
      assert.equal(handle.linkType, LinkType.ETHERNET);
      assert.equal(handle.snaplen, 65535);
      const accepted = listener.accept();
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const server = await accepted;
      await conn.write(new TextEncoder().encode("hello sealert"));
      const buf = new Uint8Array(64);
      assert.equal(await server.read(buf), 13);
      conn.close();
      server.close();

      const seen: { capLen: number; flags: number; payload: string }[] = [];
      const copy = new Uint8Array(65536);
      const copyAddr = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(copy.buffer)));
      const libc = Deno.dlopen(
        "libc.so.6",
        {
          memcpy: { parameters: ["u64", "u64", "usize"], result: "void" },
        } as const,
      );
      let timeouts = 0;
      const started = performance.now();
      while (timeouts < 3 && performance.now() - started < 5000) {
        const rc = handle.next();
        if (rc === 0) {
          timeouts++;
          continue;
        }
        assert.equal(rc, 1);
        const h = handle.header;
        assert.ok(h.capLen === h.wireLen && h.capLen >= 54, `${h.capLen}/${h.wireLen}`);
        assert.ok(Math.abs(h.tsSec - Date.now() / 1000) < 60 && h.tsUsec < 1e6);
        const d = handle.data;
        assert.equal(d[12], 0x08); // IPv4 ethertype
        // The mapped view and memcpy from dataAddress agree.
        libc.symbols.memcpy(copyAddr, BigInt(handle.dataAddress), BigInt(h.capLen));
        assert.deepEqual(copy.subarray(0, h.capLen), d.subarray(0, h.capLen));
        const ihl = (d[14] & 0x0f) * 4;
        const tcp = 14 + ihl;
        const thl = (d[tcp + 12] >> 4) * 4;
        seen.push({
          capLen: h.capLen,
          flags: d[tcp + 13],
          payload: new TextDecoder().decode(d.subarray(tcp + thl, h.capLen)),
        });
      }
      libc.close();
      assert.ok(seen.length >= 7, JSON.stringify(seen)); // 3 handshake + data + ack + 2 FIN
      assert.equal(seen[0].flags & 0x12, 0x02); // SYN first
      assert.ok(seen.some((p) => p.payload === "hello sealert"));
      // Idle: next() returns 0 within about the timeout (poll), not never.
      const t0 = performance.now();
      assert.equal(handle.next(), 0);
      assert.ok(performance.now() - t0 < 1000);
      const stats = handle.stats();
      assert.ok(stats.received >= seen.length, JSON.stringify(stats));
      assert.equal(stats.dropped, 0);
    } finally {
      listener.close();
      handle.close();
      handle.close();
    }
    assert.equal(handle.closed, true);
    assert.equal(handle.next(), -2);
    assert.throws(() => handle.stats(), CaptureDeviceError);
  },
});
