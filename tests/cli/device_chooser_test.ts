import assert from "node:assert/strict";
import type { Device } from "../../ffi/devices.ts";
import { chooseDevice, chooseDevices, formatDeviceList } from "../../src/cli/device_chooser.ts";
import { UsageError } from "../../src/cli/usage_error.ts";

/** The prompt printed before reading a device number. */
const DEVICE_PROMPT = "Device ID> ";

const flags = { loopback: false, up: true, running: true, wireless: false };

const devices: Device[] = [
  { name: "eth0", description: "", addresses: ["192.0.2.2"], flags },
  {
    name: "\\Device\\NPF_{4E1F5C5A-2B7C-4D3E-9F10-0123456789AB}",
    description: "Intel(R) Ethernet Connection I219-V",
    addresses: [],
    flags,
  },
  { name: "lo", description: "  ", addresses: ["127.0.0.1", "::1"], flags },
];

/** Scripted console: feeds `lines`, records everything written. */
function script(lines: string[]): NonNullable<Parameters<typeof chooseDevice>[2]> & {
  output: string;
} {
  const queue = [...lines];
  const io = {
    output: "",
    readLine: () => Promise.resolve(queue.length > 0 ? queue.shift()! : null),
    write: (text: string) => {
      io.output += text;
    },
  };
  return io;
}

Deno.test("formatDeviceList: SoftEther Alert layout, description else name", () => {
  assert.equal(
    formatDeviceList(devices),
    "Network Devices:\n" +
      "  1: eth0\n" +
      "  2: Intel(R) Ethernet Connection I219-V\n" +
      "  3: lo\n",
  );
  assert.equal(formatDeviceList([]), "Network Devices:\n");
});

Deno.test("chooseDevice: numeric argument selects directly, no prompt", async () => {
  const io = script([]);
  assert.equal((await chooseDevice(devices, "2", io)).description, devices[1].description);
  assert.equal(await chooseDevice(devices, " 3 ", io), devices[2]);
  assert.equal(io.output, "");
});

Deno.test("chooseDevice: exact device name argument", async () => {
  assert.equal(await chooseDevice(devices, "lo", script([])), devices[2]);
  assert.equal(await chooseDevice(devices, devices[1].name, script([])), devices[1]);
});

Deno.test("chooseDevice: out-of-range or non-numeric argument → UsageError, exit 2", async () => {
  for (const arg of ["7", "0", "abc", "-1", "1.5", ""]) {
    const err = await chooseDevice(devices, arg, script([])).then(
      () => assert.fail(`"${arg}" accepted`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof UsageError, String(err));
    assert.equal(err.exitCode, 2);
    assert.equal(
      err.message,
      `Invalid device ID "${arg}": choose 1–3 (sealert --list shows them)`,
    );
    assert.ok(!err.message.includes("\n"));
  }
});

Deno.test("chooseDevice: prompts, re-prompts after invalid input, then selects", async () => {
  const io = script(["", "9", "wlan0", "x2", "2"]);
  const device = await chooseDevice(devices, undefined, io);
  assert.equal(device, devices[1]);
  assert.equal(
    io.output,
    formatDeviceList(devices) + DEVICE_PROMPT.repeat(5),
  );
});

Deno.test("chooseDevice: prompt accepts a device name too", async () => {
  assert.equal(await chooseDevice(devices, undefined, script(["eth0"])), devices[0]);
});

Deno.test("chooseDevice: end of input → UsageError, exit 2", async () => {
  const io = script(["nope"]);
  await assert.rejects(chooseDevice(devices, undefined, io), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /^No device chosen \(end of input\)/);
    return true;
  });
  assert.equal(io.output, formatDeviceList(devices) + DEVICE_PROMPT + DEVICE_PROMPT + "\n");
});

Deno.test("chooseDevice: no devices → UsageError", async () => {
  await assert.rejects(chooseDevice([], "1", script([])), UsageError);
  await assert.rejects(chooseDevice([], undefined, script(["1"])), /No capture devices found/);
});

Deno.test("chooseDevice: single device range text", async () => {
  await assert.rejects(
    chooseDevice([devices[0]], "2", script([])),
    { message: 'Invalid device ID "2": choose 1 (sealert --list shows them)' },
  );
});

Deno.test("chooseDevice: a device argument is a 1-based number or an exact name", async () => {
  const none = script([]);
  assert.equal(await chooseDevice(devices, "1", none), devices[0]);
  assert.equal(await chooseDevice(devices, " 3 ", none), devices[2]);
  assert.equal(await chooseDevice(devices, "eth0", none), devices[0]);
  await assert.rejects(
    chooseDevice(devices, "4", none),
    /^UsageError: Invalid device ID "4": choose 1–3/,
  );
  await assert.rejects(chooseDevice(devices, "ETH0", none), UsageError);
  assert.equal(none.output, "");
});

Deno.test("stdioLineIO: reads lines from a piped stdin (subprocess)", async () => {
  const code = `
    import { chooseDevice } from ${
    JSON.stringify(new URL("../../src/cli/device_chooser.ts", import.meta.url).href)
  };
    /** The prompt printed before reading a device number. */
const DEVICE_PROMPT = "Device ID> ";

const flags = { loopback: false, up: true, running: true, wireless: false };
    const d = await chooseDevice([
      { name: "a0", description: "", addresses: [], flags },
      { name: "b0", description: "Bee", addresses: [], flags },
    ]);
    console.log("\\nchosen " + d.name);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("x\r\n5\n2\n"));
  await writer.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(
    text,
    "Network Devices:\n  1: a0\n  2: Bee\nDevice ID> Device ID> Device ID> \nchosen b0\n",
  );
});

Deno.test("chooseDevices: several arguments (numbers or names) in order, no prompt", async () => {
  const io = script([]);
  assert.deepEqual(await chooseDevices(devices, ["3", "eth0"], io), [devices[2], devices[0]]);
  assert.deepEqual(await chooseDevices(devices, ["2"], io), [devices[1]]);
  assert.equal(io.output, "");
});

Deno.test("chooseDevices: one device twice, or an invalid one → UsageError", async () => {
  await assert.rejects(
    chooseDevices(devices, ["1", "eth0"], script([])),
    (e: Error) => e instanceof UsageError && e.message === 'Device "eth0" is given twice (eth0)',
  );
  await assert.rejects(
    chooseDevices(devices, ["eth0", "9"], script([])),
    (e: Error) => e instanceof UsageError && /Invalid device ID "9": choose 1–3/.test(e.message),
  );
});

Deno.test("chooseDevices: no argument → the prompt's one device", async () => {
  const io = script(["2"]);
  assert.deepEqual(await chooseDevices(devices, [], io), [devices[1]]);
  assert.ok(io.output.endsWith("Device ID> "));
});
