/**
 * Files rewritten whole (server inventory, HTML report): the rename makes
 * the replacement atomic — a reader that opened the old file keeps reading
 * all of it, a new reader sees all of the new one, no temporary file is
 * left, and a failed write leaves the old file as it was. The start check
 * names what is wrong in one line.
 */
import assert from "node:assert/strict";
import { checkRewritable, writeAtomic } from "../../src/output/atomic_file.ts";
import { SinkError } from "../../src/output/sink.ts";
import { tempDir } from "./_event.ts";

Deno.test("writeAtomic: the old file is replaced whole; a reader of it keeps the old content", () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = `${dir}/servers.jsonl`;
    writeAtomic(path, "old 1\nold 2\n", "server inventory");
    const reader = Deno.openSync(path);
    try {
      writeAtomic(path, "new\n".repeat(10_000), "server inventory");
      // The old inode is untouched: the open reader sees every old byte.
      const buf = new Uint8Array(64);
      const n = reader.readSync(buf) ?? 0;
      assert.equal(new TextDecoder().decode(buf.subarray(0, n)), "old 1\nold 2\n");
    } finally {
      reader.close();
    }
    assert.equal(Deno.readTextFileSync(path), "new\n".repeat(10_000));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["servers.jsonl"]);
  } finally {
    cleanup();
  }
});

Deno.test("writeAtomic: a failed write leaves the old file and no temporary file", () => {
  const { dir, cleanup } = tempDir();
  try {
    // The target is a directory: the rename fails after the temporary file was written.
    Deno.mkdirSync(`${dir}/report.html`);
    Deno.writeTextFileSync(`${dir}/report.html/keep`, "x");
    assert.throws(
      () => writeAtomic(`${dir}/report.html`, "<html>", "report"),
      (e: Error) =>
        e instanceof SinkError &&
        e.message.startsWith(`Cannot write report "${dir}/report.html": `),
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["report.html"]);
    assert.equal(Deno.readTextFileSync(`${dir}/report.html/keep`), "x");
    // A directory that is gone.
    assert.throws(
      () => writeAtomic(`${dir}/gone/x.jsonl`, "{}", "server inventory"),
      (e: Error) =>
        e instanceof SinkError &&
        e.message.startsWith(`Cannot write server inventory "${dir}/gone/x.jsonl": `) &&
        !e.message.includes("\n"),
    );
  } finally {
    cleanup();
  }
});

Deno.test("checkRewritable: a missing directory, a directory as the file, a file as the directory", () => {
  const { dir, cleanup } = tempDir();
  try {
    checkRewritable(`${dir}/servers.jsonl`, "server inventory");
    assert.deepEqual([...Deno.readDirSync(dir)], []); // the probe file is gone again
    assert.throws(
      () => checkRewritable(`${dir}/nope/servers.jsonl`, "server inventory"),
      {
        name: "SinkError",
        message:
          `Cannot write server inventory "${dir}/nope/servers.jsonl": directory "${dir}/nope" does not exist`,
      },
    );
    assert.throws(() => checkRewritable(dir, "report"), {
      message: `Cannot write report "${dir}": it is a directory`,
    });
    Deno.writeTextFileSync(`${dir}/file`, "");
    assert.throws(() => checkRewritable(`${dir}/file/report.html`, "report"), {
      message: `Cannot write report "${dir}/file/report.html": "${dir}/file" is not a directory`,
    });
  } finally {
    cleanup();
  }
});
