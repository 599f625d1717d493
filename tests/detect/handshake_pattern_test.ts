import assert from "node:assert/strict";
import { advance, SIZES, Stage } from "../../src/detect/handshake_pattern.ts";

function run(msgs: Array<[number, number]>): number {
  let st: number = Stage.NONE;
  for (const [d, n] of msgs) st = advance(st, d, n);
  return st;
}

Deno.test("pattern: login answered by welcome", () => {
  assert.equal(run([[0, 1949], [1, 934], [0, 3934], [1, 3641]]), Stage.WELCOME);
  // Smallest and largest watermark the protocol allows (1,411 + 0..1,999 + header).
  assert.equal(run([[0, 1411 + 120], [1, 330], [0, 2900], [1, 2100]]), Stage.WELCOME);
  assert.equal(run([[0, 1411 + 1999 + 300], [1, 1350], [0, 4300], [1, 3800]]), Stage.WELCOME);
});

Deno.test("pattern: additional connection and failed login", () => {
  assert.equal(run([[0, 2076], [1, 514], [0, 989], [1, 855]]), Stage.SHORT_REPLY);
  assert.equal(run([[0, 2076], [1, 514], [0, 3500], [1, 300]]), Stage.LOGIN_REFUSED);
});

Deno.test("pattern: ordinary HTTPS exchanges do not match", () => {
  // GET, page
  assert.equal(run([[0, 300], [1, 15000]]), Stage.MISMATCH);
  // server speaks first (HTTP/2 SETTINGS)
  assert.equal(run([[1, 40]]), Stage.MISMATCH);
  // POST of a watermark-sized body answered with a large page
  assert.equal(run([[0, 2000], [1, 9000]]), Stage.MISMATCH);
  // two client messages in a row are one message; a third exchange too big
  assert.equal(run([[0, 2000], [1, 600], [0, 12000]]), Stage.MISMATCH);
});

Deno.test("pattern: ranges follow the protocol's fixed parts", () => {
  assert.ok(SIZES.watermark.min > 1411, "the GIF watermark alone is 1,411 bytes");
  assert.ok(SIZES.watermark.max >= 1411 + 1999, "up to 1,999 random bytes follow it");
  assert.ok(SIZES.shortRequest.max < SIZES.login.min, "login and additional_connect separable");
});
