import assert from "node:assert/strict";
import {
  createPacketRing,
  PacketRingReader,
  PacketRingWriter,
  ringBytes,
  RingRecord,
} from "../../src/capture/packet_ring.ts";
import { RawPacket } from "../../src/capture/raw_packet.ts";

/** A frame of `len` bytes whose content tells its number. */
function frame(n: number, len: number): RawPacket {
  const raw = new RawPacket();
  raw.buf = new Uint8Array(len + 3);
  raw.offset = 3;
  raw.capLen = len;
  raw.wireLen = len + 100;
  raw.tsSec = 1_700_000_000 + n;
  raw.tsNsec = n * 1000;
  raw.linkType = 1 + (n % 3);
  raw.ifIndex = n % 2;
  for (let i = 0; i < len; i++) raw.buf[3 + i] = (n * 7 + i) & 255;
  return raw;
}

function assertFrame(raw: RawPacket, n: number, len: number, frameNo: number): void {
  assert.deepEqual(raw.capLen, len);
  assert.deepEqual(raw.wireLen, len + 100);
  assert.deepEqual(raw.tsSec, 1_700_000_000 + n);
  assert.deepEqual(raw.tsNsec, n * 1000);
  assert.deepEqual(raw.linkType, 1 + (n % 3));
  assert.deepEqual(raw.ifIndex, n % 2);
  assert.deepEqual(raw.frame, frameNo);
  // The frame sits at its source's address modulo 8 (sources: offset 3 in a fresh buffer).
  assert.deepEqual((raw.buf.byteOffset + raw.offset) % 8, 3);
  for (let i = 0; i < len; i++) {
    if (raw.buf[raw.offset + i] !== ((n * 7 + i) & 255)) assert.fail(`byte ${i} of frame ${n}`);
  }
}

Deno.test("packet ring: records come out in order, in place, with every field", () => {
  const sab = createPacketRing(ringBytes(1500, 64 * 1024));
  const w = new PacketRingWriter(sab), r = new PacketRingReader(sab);
  const raw = new RawPacket();
  assert(!r.next(raw), "empty");
  for (let n = 0; n < 10; n++) assert(w.tryPacket(frame(n, 60 + n * 13), 1000 + n));
  assert(w.tryMark(RingRecord.SYNC, 2000));
  assert(!r.next(raw), "nothing published yet");
  w.publish();
  for (let n = 0; n < 10; n++) {
    assert(r.next(raw));
    assert.deepEqual(r.type, RingRecord.PACKET);
    assertFrame(raw, n, 60 + n * 13, 1000 + n);
  }
  assert(r.next(raw));
  assert.deepEqual([r.type, r.frame], [RingRecord.SYNC, 2000]);
  assert(!r.next(raw));
  assert(!r.available());
});

Deno.test("packet ring: wraps around the end many times without losing a byte", () => {
  const sab = createPacketRing(ringBytes(1000, 16 * 1024));
  const w = new PacketRingWriter(sab), r = new PacketRingReader(sab);
  const raw = new RawPacket();
  let written = 0, read = 0;
  // Odd sizes so records end everywhere relative to the end of the area.
  const size = (n: number) => 1 + ((n * 389) % 997);
  while (read < 5000) {
    while (written < 5000 && w.tryPacket(frame(written, size(written)), written + 1)) written++;
    w.publish();
    let got = 0;
    while (got < 3 && r.next(raw)) { // consume a few, release, let the writer go on
      assertFrame(raw, read, size(read), read + 1);
      read++;
      got++;
    }
    r.release();
  }
  assert.deepEqual(written, 5000);
});

Deno.test("packet ring: a full ring refuses until the reader releases (back-pressure)", async () => {
  const sab = createPacketRing(ringBytes(4000, 32 * 1024));
  const w = new PacketRingWriter(sab), r = new PacketRingReader(sab);
  const raw = new RawPacket();
  let n = 0;
  while (w.tryPacket(frame(n, 4000), n + 1)) n++;
  assert(n >= 4 && n < 10, `${n} records of 4 kB in a 32 kB ring`);
  let marks = 0;
  while (w.tryMark(RingRecord.SYNC, 99)) marks++; // what room is left takes marks only
  assert(marks < 100);
  // Read two without releasing: still full.
  w.publish();
  assert(r.next(raw));
  assertFrame(raw, 0, 4000, 1);
  assert(r.next(raw));
  assert(!w.tryPacket(frame(n, 4000), n + 1));
  // The writer waits; a release wakes it before its timeout.
  const t0 = performance.now();
  const waiting = w.waitForRoom(5000);
  setTimeout(() => r.release(), 20);
  await waiting;
  assert(performance.now() - t0 < 2000, "woken by the release, not the timeout");
  assert(w.tryPacket(frame(n, 4000), n + 1));
  w.publish();
  for (let i = 2; i < n; i++) {
    assert(r.next(raw));
    assertFrame(raw, i, 4000, i + 1);
  }
  for (let i = 0; i < marks; i++) {
    assert(r.next(raw));
    assert.deepEqual([r.type, r.frame], [RingRecord.SYNC, 99]);
  }
  assert(r.next(raw));
  assertFrame(raw, n, 4000, n + 1);
  assert(!r.next(raw));
});

Deno.test("packet ring: frames up to maxFrame fit, several times over", () => {
  const sab = createPacketRing(ringBytes(262_144));
  const w = new PacketRingWriter(sab), r = new PacketRingReader(sab);
  assert(w.maxFrame >= 262_144);
  const raw = new RawPacket();
  for (let round = 0; round < 12; round++) {
    const len = round % 2 === 0 ? w.maxFrame : 262_144;
    assert(w.tryPacket(frame(round, len), round + 1), `round ${round}`);
    assert(w.tryPacket(frame(round + 100, 64), round + 101));
    w.publish();
    assert(r.next(raw));
    assertFrame(raw, round, len, round + 1);
    assert(r.next(raw));
    assertFrame(raw, round + 100, 64, round + 101);
    r.release();
  }
});

Deno.test("packet ring: the reader waits for a publish without blocking its thread", async () => {
  const sab = createPacketRing(ringBytes(1500, 64 * 1024));
  const w = new PacketRingWriter(sab), r = new PacketRingReader(sab);
  const raw = new RawPacket();
  let ticked = false;
  setTimeout(() => {
    ticked = true; // this thread's timers still run while the reader waits
    w.tryPacket(frame(1, 100), 7);
    w.publish();
  }, 20);
  const t0 = performance.now();
  await r.waitForData(5000);
  assert(ticked);
  assert(performance.now() - t0 < 2000);
  assert(r.next(raw));
  assertFrame(raw, 1, 100, 7);
});

Deno.test("packet ring: across threads (a Worker reads 20,000 frames while the writer waits on it)", async () => {
  const sab = createPacketRing(ringBytes(2000, 64 * 1024));
  const w = new PacketRingWriter(sab);
  const code = `
    import { PacketRingReader, RingRecord } from ${
    JSON.stringify(
      new URL("../../src/capture/packet_ring.ts", import.meta.url).href,
    )
  };
    import { RawPacket } from ${
    JSON.stringify(
      new URL("../../src/capture/raw_packet.ts", import.meta.url).href,
    )
  };
    self.onmessage = async (e) => {
      const r = new PacketRingReader(e.data);
      const raw = new RawPacket();
      let sum = 0, count = 0, frames = 0;
      for (;;) {
        if (!r.next(raw)) { await r.waitForData(); continue; }
        if (r.type === RingRecord.END) break;
        count++;
        frames += raw.frame;
        for (let i = 0; i < raw.capLen; i++) sum = (sum + raw.buf[raw.offset + i]) % 1000003;
        if (count % 7 === 0) r.release();
      }
      self.postMessage({ sum, count, frames });
    };`;
  const url = `data:application/typescript,${encodeURIComponent(code)}`;
  const worker = new Worker(url, { type: "module" });
  const result = new Promise<{ sum: number; count: number; frames: number }>((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
  });
  worker.postMessage(sab);
  let sum = 0, frames = 0;
  for (let n = 0; n < 20_000; n++) {
    const f = frame(n, 1 + ((n * 31) % 2000));
    for (let i = 0; i < f.capLen; i++) sum = (sum + f.buf[f.offset + i]) % 1000003;
    frames += n + 1;
    while (!w.tryPacket(f, n + 1)) await w.waitForRoom();
    if (n % 50 === 0) w.publish();
  }
  while (!w.tryMark(RingRecord.END, 20_000)) await w.waitForRoom();
  w.publish();
  assert.deepEqual(await result, { sum, count: 20_000, frames });
  worker.terminate();
});

Deno.test("packet ring: a buffer too small or misaligned is refused", () => {
  assert.throws(() => new PacketRingWriter(new SharedArrayBuffer(512)), RangeError);
  assert.throws(() => new PacketRingReader(new SharedArrayBuffer(4096 + 4)), RangeError);
});
