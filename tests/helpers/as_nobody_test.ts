/**
 * The nobody helper: from a checkout under a directory only root can read
 * (as a clone in /root is), `nobody` cannot run main.ts in place — that is
 * what failed the unreadable-file test there — but runs the helper's copy.
 */
import assert from "node:assert/strict";
import { asNobody, readableCopy } from "./as_nobody.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const canSetpriv = Deno.build.os === "linux" && Deno.uid() === 0 &&
  new Deno.Command("sh", { args: ["-c", "command -v setpriv"] }).outputSync().code === 0;
if (!canSetpriv && Deno.env.get("CI") !== "true") {
  console.log("nobody helper test skipped: needs root and setpriv");
}

Deno.test({
  name: "helpers: nobody runs sealert from a readable copy of a checkout under a 0700 directory",
  ignore: !canSetpriv && Deno.env.get("CI") !== "true",
  fn: async () => {
    const locked = await Deno.makeTempDir({ prefix: "sealert-locked-" }); // mode 0700
    let dir = "";
    try {
      const copied = await new Deno.Command("cp", {
        args: ["-R", "main.ts", "deno.json", "src", "ffi", locked],
        cwd: ROOT,
      }).output();
      assert.equal(copied.code, 0);
      assert.equal((await Deno.stat(locked)).mode! & 0o777, 0o700);
      {
        await using app = await readableCopy(locked);
        dir = app.dir;
        // In place, as the test did before: nobody cannot read the checkout.
        const inPlace = await asNobody(app, ["--version"], `${locked}/main.ts`).output();
        assert.notEqual(inPlace.code, 0);
        // The copy runs.
        const out = await asNobody(app, ["--version"]).output();
        const err = new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, err);
        assert.match(new TextDecoder().decode(out.stdout), /^sealert \d+\.\d+\.\d+/);
      }
      // Disposed: the copy is gone.
      await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
    } finally {
      await Deno.remove(locked, { recursive: true });
    }
  },
});
