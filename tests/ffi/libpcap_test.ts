import assert from "node:assert/strict";
import { libpcap, libpcapCandidates, missingLibraryMessage } from "../../ffi/libpcap.ts";
import { listDevices } from "../../ffi/devices.ts";
import { libc } from "../../ffi/libc.ts";

const LIBPCAP_ENV = "SEALERT_LIBPCAP";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("libpcapCandidates: Linux tries the runtime package names in order", () => {
  assert.deepEqual(libpcapCandidates("linux", env({})), [
    "libpcap.so.0.8",
    "libpcap.so.1",
    "libpcap.so",
  ]);
});

Deno.test("libpcapCandidates: macOS", () => {
  assert.deepEqual(libpcapCandidates("darwin", env({})), ["libpcap.A.dylib", "libpcap.dylib"]);
});

Deno.test("libpcapCandidates: Windows uses the full Npcap path under %SystemRoot%", () => {
  assert.deepEqual(libpcapCandidates("windows", env({ SystemRoot: "D:\\WINNT" })), [
    "D:\\WINNT\\System32\\Npcap\\wpcap.dll",
  ]);
  assert.deepEqual(libpcapCandidates("windows", env({})), [
    "C:\\Windows\\System32\\Npcap\\wpcap.dll",
  ]);
  assert.deepEqual(libpcapCandidates("windows", env({ SYSTEMROOT: "C:\\Win\\" })), [
    "C:\\Win\\System32\\Npcap\\wpcap.dll",
  ]);
  assert.deepEqual(libpcapCandidates("windows", env({ windir: "E:\\W" })), [
    "E:\\W\\System32\\Npcap\\wpcap.dll",
  ]);
});

Deno.test("libpcapCandidates: SEALERT_LIBPCAP replaces the list on every OS", () => {
  for (const os of ["linux", "darwin", "windows"] as const) {
    assert.deepEqual(libpcapCandidates(os, env({ [LIBPCAP_ENV]: "/opt/lib/libpcap.so" })), [
      "/opt/lib/libpcap.so",
    ]);
  }
  // An empty override is ignored.
  assert.equal(libpcapCandidates("linux", env({ [LIBPCAP_ENV]: "" })).length, 3);
});

Deno.test("missing-library messages name each OS's package", () => {
  const hint = (os: "linux" | "darwin" | "windows") => missingLibraryMessage(os, ["x"], false);
  assert.match(hint("linux"), /apt install libpcap0\.8/);
  assert.match(hint("linux"), /dnf install libpcap/);
  assert.match(hint("windows"), /https:\/\/npcap\.com\/#download/);
  assert.match(hint("windows"), /"WinPcap API-compatible mode" is not needed/);
  assert.match(hint("darwin"), /macOS/);
  for (const os of ["linux", "darwin", "windows"] as const) {
    for (const overridden of [false, true]) {
      const msg = missingLibraryMessage(os, libpcapCandidates(os, env({})), overridden);
      assert.ok(!msg.includes("\n"), msg);
    }
  }
  assert.equal(
    missingLibraryMessage("windows", ["C:\\Windows\\System32\\Npcap\\wpcap.dll"], false),
    "Cannot load Npcap (wpcap.dll) (tried C:\\Windows\\System32\\Npcap\\wpcap.dll): " +
      'install Npcap from https://npcap.com/#download ("WinPcap API-compatible mode" is not needed), ' +
      "or set SEALERT_LIBPCAP=/path/to/library",
  );
});

Deno.test("SEALERT_LIBPCAP=/nonexistent: listDevices and LiveCapture.open fail with one line, exit 2", async () => {
  const here = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const code = `
    import { listDevices } from ${here("../../ffi/devices.ts")};
    import { LiveCapture } from ${here("../../src/capture/live.ts")};
    const out = [];
    try { listDevices(); out.push("listed"); } catch (e) {
      out.push({ name: e.name, message: e.message, exitCode: e.exitCode });
    }
    try { await LiveCapture.open({ device: "lo" }); out.push("opened"); } catch (e) {
      out.push({ name: e.name, message: e.message, exitCode: e.exitCode });
    }
    console.log(JSON.stringify(out));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    env: { [LIBPCAP_ENV]: "/nonexistent" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const results = JSON.parse(new TextDecoder().decode(out.stdout));
  const expected = "Cannot load libpcap from SEALERT_LIBPCAP=/nonexistent: fix the path or unset " +
    "SEALERT_LIBPCAP and install it (Debian/Ubuntu: `apt install libpcap0.8`, Fedora/RHEL: " +
    "`dnf install libpcap`)";
  assert.deepEqual(results, [
    { name: "CaptureDeviceError", message: expected, exitCode: 2 },
    { name: "CaptureDeviceError", message: expected, exitCode: 2 },
  ]);
});

Deno.test("without --allow-ffi: a clear one-line error, exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sealert-ffi-test-" });
  try {
    const file = `${dir}/no_ffi.ts`;
    await Deno.writeTextFile(
      file,
      `import { listDevices } from ${
        JSON.stringify(new URL("../../ffi/devices.ts", import.meta.url).href)
      };
      try { listDevices(); } catch (e) { console.log(JSON.stringify([e.name, e.message, e.exitCode])); }`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--allow-read", "--allow-env", file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [
      "CaptureDeviceError",
      "Live capture needs the --allow-ffi permission (run sealert with --allow-ffi)",
      2,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "libpcap: loads on this machine, version and device list",
  ignore: Deno.build.os !== "linux",
  fn() {
    const version = libpcap().pcap_lib_version();
    assert.ok(version !== null);
    assert.match(Deno.UnsafePointerView.getCString(version), /^libpcap version \d+\.\d+/);
    const devices = listDevices();
    const lo = devices.find((d) => d.name === "lo");
    assert.ok(lo, JSON.stringify(devices.map((d) => d.name)));
    assert.equal(lo.flags.loopback, true);
    assert.ok(lo.addresses.includes("127.0.0.1"), lo.addresses.join(","));
  },
});

Deno.test("libc: memcpy and poll load on Linux", () => {
  if (Deno.build.os !== "linux") return;
  const c = libc();
  assert.ok(c !== null);
  const src = new Uint8Array([1, 2, 3, 4, 5]);
  const dst = new Uint8Array(8);
  const addr = (b: Uint8Array) =>
    BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b.buffer as ArrayBuffer)));
  c.memcpy(addr(dst) + 2n, addr(src) + 1n, 3n);
  assert.deepEqual([...dst], [0, 0, 2, 3, 4, 0, 0, 0]);
  assert.ok(c.poll !== null);
});
