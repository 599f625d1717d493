import assert from "node:assert/strict";
import { FrameFlag, FrameTimeLog } from "../../src/capture/frame_time_log.ts";

Deno.test("frame time log: owners, flags and times by frame number, shared through the buffer", () => {
  const log = new FrameTimeLog(3000);
  assert.equal(log.size, 4096, "rounded up to a power of two");
  const other = new FrameTimeLog(log.buffer); // a worker's view
  assert.equal(other.size, 4096);
  log.set(1, 2, FrameFlag.FLOW, 1700000000.25);
  log.set(2, 0, 0, 7);
  log.set(3, 63, FrameFlag.FRAGMENT | FrameFlag.FLOW, 9);
  log.set(4097, 1, FrameFlag.FRAGMENT, 5); // the slot of frame 1, one lap later
  assert.deepEqual([other.owner(2), other.flags(2)], [0, 0]);
  assert.deepEqual(
    [other.owner(3), other.flags(3), other.time(3)],
    [63, FrameFlag.FRAGMENT | FrameFlag.FLOW, 9],
  );
  assert.deepEqual([other.owner(4097), other.flags(4097), other.time(4097)], [
    1,
    FrameFlag.FRAGMENT,
    5,
  ]);
  assert.equal(other.time(1), 5, "frame 1 is gone once frame 4097 is written");
});

Deno.test("frame time log: the reader may not run a whole log ahead of the slowest worker", () => {
  const log = new FrameTimeLog(1024);
  const worker = new FrameTimeLog(log.buffer);
  assert.ok(log.room(1023, 2));
  assert.ok(!log.room(1024, 2), "progress 0: frame 1024 would overwrite frame 0's slot");
  worker.setProgress(0, 500);
  assert.ok(!log.room(1024, 2), "worker 1 still at 0");
  worker.setProgress(1, 10);
  assert.ok(log.room(1033, 2));
  assert.ok(!log.room(1034, 2));
  assert.equal(log.progress(0), 500);
  // Frame numbers past 2^31 compare by their low 32 bits.
  worker.setProgress(0, 2 ** 32 + 7);
  worker.setProgress(1, 2 ** 32 + 7);
  assert.ok(log.room(2 ** 32 + 1000, 2));
  assert.ok(!log.room(2 ** 32 + 1031, 2));
});
