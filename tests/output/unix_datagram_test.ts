import assert from "node:assert/strict";
import { unixDatagramLibc } from "../../ffi/unix_socket.ts";
import { UnixDatagramSocket, UnixSocketError } from "../../src/output/unix_datagram.ts";
import { tempDir } from "./_event.ts";

const unixOs = Deno.build.os === "linux" || Deno.build.os === "darwin";
/** libc's datagram calls (tests run with --allow-ffi). */
const libc = unixDatagramLibc()!;

Deno.test({
  name: "UnixDatagramSocket sends and receives datagrams",
  ignore: !unixOs,
  fn() {
    assert.ok(unixDatagramLibc() !== null);
    const { dir, cleanup } = tempDir();
    const path = `${dir}/d.sock`;
    const server = UnixDatagramSocket.bind(path, libc);
    const client = UnixDatagramSocket.connect(path, libc);
    try {
      assert.equal(server.tryReceive(), null);
      client.send(new TextEncoder().encode("one"));
      client.send(new TextEncoder().encode("two"));
      assert.equal(new TextDecoder().decode(server.tryReceive()!), "one");
      assert.equal(new TextDecoder().decode(server.tryReceive()!), "two");
      assert.equal(server.tryReceive(), null);
    } finally {
      client.close();
      client.close();
      server.close();
      cleanup();
    }
    assert.throws(() => client.send(new Uint8Array(1)), UnixSocketError);
  },
});

Deno.test({
  name: "UnixDatagramSocket errors: missing path, stream socket, full queue",
  ignore: !unixOs,
  fn() {
    const { dir, cleanup } = tempDir();
    try {
      assert.throws(() => UnixDatagramSocket.connect(`${dir}/none`, libc), (e: unknown) => {
        assert.ok(e instanceof UnixSocketError);
        assert.match(e.message, /^Cannot connect to .*\/none: No such file or directory$/);
        assert.equal(e.wrongType, false);
        return true;
      });
      const listener = Deno.listen({ transport: "unix", path: `${dir}/s.sock` });
      try {
        assert.throws(() => UnixDatagramSocket.connect(`${dir}/s.sock`, libc), (e: unknown) => {
          assert.ok(e instanceof UnixSocketError && e.wrongType);
          return true;
        });
      } finally {
        listener.close();
      }
      const server = UnixDatagramSocket.bind(`${dir}/q.sock`, libc);
      const client = UnixDatagramSocket.connect(`${dir}/q.sock`, libc);
      try {
        assert.throws(() => {
          for (let i = 0; i < 100_000; i++) client.send(new Uint8Array(1024));
        }, (e: unknown) => e instanceof UnixSocketError && e.wouldBlock);
      } finally {
        client.close();
        server.close();
      }
      assert.throws(() => UnixDatagramSocket.connect("x".repeat(200), libc), UnixSocketError);
    } finally {
      cleanup();
    }
  },
});
