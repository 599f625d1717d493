/**
 * Helper process of `fanout_live_test.ts`, run inside the test's network
 * namespace:
 *
 * ```sh
 * deno run -A fanout_live_child.ts CAPTURE_DEV SEND_DEV FRAMES_FILE
 * ```
 *
 * Opens two libpcap handles on CAPTURE_DEV and joins them to one new fanout
 * group (`PcapHandle.joinFanout` with the program of
 * src/capture/fanout_bpf.ts; the first handle creates it, so it is member
 * 0), then sends the frames of FRAMES_FILE (JSON: an array of hex strings)
 * onto SEND_DEV through an AF_PACKET socket, reads both handles until they
 * stay idle for 500 ms and prints one JSON line:
 * `{"group":N,"received":[[member,"hex"],…],"errors":{…}}`. `errors` holds
 * the one-line messages of joins that must fail (a second join of a member,
 * a handle on another device joining the group).
 *
 * @module
 */

import { fanoutProgram } from "../../src/capture/fanout_bpf.ts";
import { PcapHandle } from "../../ffi/pcap_handle.ts";

const AF_PACKET = 17, SOCK_RAW = 3;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(text: string): Uint8Array {
  return new Uint8Array(text.match(/../g)!.map((h) => parseInt(h, 16)));
}

function message(fn: () => unknown): string {
  try {
    fn();
    return "no error";
  } catch (e) {
    return (e as Error).message;
  }
}

function send(device: string, frames: Uint8Array[]): void {
  const ifindex = Number(Deno.readTextFileSync(`/sys/class/net/${device}/ifindex`).trim());
  const lib = Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
  });
  const fd = lib.symbols.socket(AF_PACKET, SOCK_RAW, 0x0300);
  if (fd < 0) throw new Error("socket(AF_PACKET) failed");
  const sll = new Uint8Array(20);
  const sv = new DataView(sll.buffer);
  sv.setUint16(0, AF_PACKET, true);
  sv.setUint16(2, 0x0003);
  sv.setInt32(4, ifindex, true);
  for (const f of frames) {
    if (Number(lib.symbols.sendto(fd, f, BigInt(f.length), 0, sll, sll.length)) !== f.length) {
      throw new Error("sendto failed");
    }
  }
  lib.symbols.close(fd);
  lib.close();
}

function main([captureDev, sendDev, framesFile]: string[]): void {
  const frames = (JSON.parse(Deno.readTextFileSync(framesFile)) as string[]).map(unhex);
  const program = fanoutProgram();
  const handles = [0, 1].map(() => PcapHandle.open({ device: captureDev, timeoutMs: 100 }));
  const group = handles[0].joinFanout("new", program);
  handles[1].joinFanout(group, program);
  const errors = {
    again: message(() => handles[1].joinFanout(group, program)),
    otherDevice: message(() => {
      const other = PcapHandle.open({ device: sendDev, timeoutMs: 100 });
      try {
        other.joinFanout(group, program);
      } finally {
        other.close();
      }
    }),
  };
  send(sendDev, frames);
  const received: Array<[number, string]> = [];
  let idleSince = performance.now();
  while (performance.now() - idleSince < 500) {
    for (let m = 0; m < 2; m++) {
      const h = handles[m];
      while (h.next() === 1) {
        received.push([m, hex(h.data.subarray(0, h.header.capLen))]);
        idleSince = performance.now();
      }
    }
  }
  for (const h of handles) h.close();
  console.log(JSON.stringify({ group, received, errors }));
}

if (import.meta.main) main(Deno.args);
