/**
 * Choosing the capture device, with SoftEther Alert 1.00's console UX:
 *
 * ```text
 * Network Devices:
 *   1: eth0
 *   2: Intel(R) Ethernet Connection I219-V
 * Device ID> 2
 * ```
 *
 * A device argument on the command line (its number in that list, or its
 * exact name) skips the prompt; several arguments capture on several
 * devices ({@linkcode chooseDevices}). Input and output are injectable (the `io`
 * parameter of {@linkcode chooseDevice}) for tests.
 *
 * @module
 */

import { type Device, deviceLabel } from "../../ffi/devices.ts";
import { UsageError } from "./usage_error.ts";

/** Line-oriented console: the chooser's only contact with stdin/stdout. */
interface LineIO {
  /** The next input line without its line ending; null at end of input. */
  readLine(): Promise<string | null>;
  /** Writes `text` as-is (no newline added). */
  write(text: string): void;
}

/** The prompt printed before reading a device number. */
const DEVICE_PROMPT = "Device ID> ";

/**
 * The numbered device list: `Network Devices:` then one line per device,
 * `  N: <description or name>`, each ending in a newline.
 */
export function formatDeviceList(devices: readonly Device[]): string {
  let text = "Network Devices:\n";
  devices.forEach((device, i) => (text += `  ${i + 1}: ${deviceLabel(device)}\n`));
  return text;
}

function rangeText(count: number): string {
  return count === 1 ? "1" : `1–${count}`;
}

/** The usage error for a device argument or input that selects nothing. */
function invalidDeviceError(input: string, count: number): UsageError {
  return new UsageError(
    `Invalid device ID "${input}": choose ${rangeText(count)} (sealert --list shows them)`,
  );
}

/** The device `input` selects (a number from 1, or an exact name), or undefined. */
function selectDevice(devices: readonly Device[], input: string): Device | undefined {
  const text = input.trim();
  if (/^[0-9]+$/.test(text)) {
    const id = Number(text);
    if (id >= 1 && id <= devices.length) return devices[id - 1];
  }
  return devices.find((device) => device.name === input || device.name === text);
}

/**
 * The device to capture on. With `arg` (a 1-based number from
 * {@linkcode formatDeviceList} or an exact device name) it is selected
 * directly, else a {@linkcode UsageError} (exit code 2) is thrown. Without
 * `arg`, prints the list and `Device ID> ` to `io` and reads lines until one
 * selects a device (invalid input prompts again); end of input throws a
 * {@linkcode UsageError}. No devices at all also throws one.
 */
export async function chooseDevice(
  devices: readonly Device[],
  arg?: string,
  io: LineIO = stdioLineIO(),
): Promise<Device> {
  if (devices.length === 0) {
    throw new UsageError(
      "No capture devices found (run as root or Administrator; check that libpcap or Npcap is installed)",
    );
  }
  if (arg !== undefined) {
    const device = selectDevice(devices, arg);
    if (device === undefined) throw invalidDeviceError(arg, devices.length);
    return device;
  }
  io.write(formatDeviceList(devices));
  for (;;) {
    io.write(DEVICE_PROMPT);
    const line = await io.readLine();
    if (line === null) {
      io.write("\n");
      throw new UsageError(
        `No device chosen (end of input): give a device ID ${rangeText(devices.length)}`,
      );
    }
    if (line.trim() === "") continue;
    const device = selectDevice(devices, line);
    if (device !== undefined) return device;
  }
}

/**
 * The devices to capture on: each of `args` selected as in
 * {@linkcode chooseDevice} (an invalid one throws its {@linkcode UsageError}),
 * in order; the same device named twice (by number and name too) is a
 * {@linkcode UsageError}. Without `args`, the one device the prompt gives.
 */
export async function chooseDevices(
  devices: readonly Device[],
  args: readonly string[],
  io?: LineIO,
): Promise<Device[]> {
  if (args.length === 0) return [await chooseDevice(devices, undefined, io)];
  const chosen: Device[] = [];
  for (const arg of args) {
    const device = await chooseDevice(devices, arg, io);
    if (chosen.includes(device)) {
      throw new UsageError(`Device "${arg}" is given twice (${deviceLabel(device)})`);
    }
    chosen.push(device);
  }
  return chosen;
}

/** A {@linkcode LineIO} on the process's stdin and stdout. */
function stdioLineIO(): LineIO {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const chunk = new Uint8Array(4096);
  let pending = "";
  let eof = false;
  return {
    async readLine(): Promise<string | null> {
      for (;;) {
        const newline = pending.indexOf("\n");
        if (newline >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          return line.endsWith("\r") ? line.slice(0, -1) : line;
        }
        if (eof) {
          if (pending === "") return null;
          const line = pending;
          pending = "";
          return line;
        }
        const n = await Deno.stdin.read(chunk);
        if (n === null) {
          eof = true;
          pending += decoder.decode();
        } else {
          pending += decoder.decode(chunk.subarray(0, n), { stream: true });
        }
      }
    },
    write(text: string): void {
      const bytes = encoder.encode(text);
      let off = 0;
      while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
    },
  };
}
