import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { buildFixtures, conversation } from "../../testdata/capture/make_fixtures.ts";
import { LinkType } from "../../src/capture/raw_packet.ts";
import { readAll } from "./pcap_helpers_test.ts";

const dir = new URL("../../testdata/capture/", import.meta.url);

Deno.test("fixtures: the committed files are what make_fixtures.ts generates", () => {
  for (const [name, bytes] of Object.entries(buildFixtures())) {
    if (name.endsWith(".gz")) {
      // Compressed bytes may change with the zlib version; the content must not.
      deepStrictEqual(
        new Uint8Array(gunzipSync(Deno.readFileSync(new URL(name, dir)))),
        new Uint8Array(gunzipSync(bytes)),
        `${name} is stale: rerun make_fixtures.ts`,
      );
      continue;
    }
    deepStrictEqual(
      Deno.readFileSync(new URL(name, dir)),
      bytes,
      `${name} is stale: rerun make_fixtures.ts`,
    );
  }
});

Deno.test("fixtures: the four containers read as the same conversation", async () => {
  const want = conversation().map((p) => ({
    data: Array.from(p.frame),
    capLen: p.frame.length,
    wireLen: p.frame.length,
    tsSec: p.tsSec,
    tsNsec: p.tsNsec,
    linkType: LinkType.ETHERNET,
    ifIndex: 0,
  }));
  strictEqual(want.length, 12);
  for (const name of Object.keys(buildFixtures())) {
    const { packets, error } = await readAll([new URL(name, dir).pathname]);
    strictEqual(error, null, name);
    deepStrictEqual(packets, want, name);
  }
});
