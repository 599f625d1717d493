/**
 * Test helper of `live_workers_test.ts` and `tests/bench/live_bench.ts`'s
 * lab replay: replays lab captures onto a device through an AF_PACKET socket
 * (libc via FFI; tcpreplay is not needed), each capture `loops` times with
 * the client moved per copy, and says where a 2-member fanout group must
 * put each frame.
 *
 * ```sh
 * deno run -A tests/e2e/fanout_replay.ts DEVICE PLAN_JSON
 * ```
 *
 * PLAN_JSON: `[{"file": "testdata/lab/x.pcap", "loops": 3, "first": 0, "gapMs": 20}, …]`.
 * Copy `i` (from `first`) of a capture moves its client — the source of the
 * first TCP SYN, else of the first IPv4 packet — to the address `i` above it
 * (every occurrence, both directions; checksums are not fixed: sealert does
 * not check them), so each copy is a new address pair. Gaps between frames
 * follow the capture, cut to `gapMs`. Prints one JSON line:
 * `{"sent": N, "members": [a, b], "clients": ["10.77.1.2", …]}`, `members`
 * counting the frames `src/decode/pair_hash.ts` sends to member 0 and 1 of
 * a two-member group (non-IP frames: member 0). Linux, CAP_NET_RAW.
 *
 * @module
 */

import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Decoder, DecodeResult } from "../../src/decode/decoder.ts";
import { packetPairHash } from "../../src/decode/pair_hash.ts";
import { Weirds } from "../../src/decode/weirds.ts";

/** One capture of a replay plan. */
export interface ReplayItem {
  /** Capture file (Ethernet). */
  file: string;
  /** Copies to send. */
  loops: number;
  /** Number of the first copy (client moved by `first`); default 0. */
  first?: number;
  /** Longest gap kept between frames (ms); default 20. */
  gapMs?: number;
}

interface Frame {
  us: number;
  bytes: Uint8Array;
}

async function readFrames(file: string): Promise<Frame[]> {
  const src = await openCaptureFiles([file]);
  const raw = new RawPacket();
  const frames: Frame[] = [];
  try {
    do {
      while (src.next(raw)) {
        if (raw.linkType !== LinkType.ETHERNET) throw new Error(`${file}: not Ethernet`);
        frames.push({
          us: raw.tsSec * 1e6 + raw.tsNsec / 1000,
          bytes: raw.buf.slice(raw.offset, raw.offset + raw.capLen),
        });
      }
    } while (await src.refill());
  } finally {
    src.close();
  }
  return frames;
}

const isIpv4 = (b: Uint8Array) => b.length >= 34 && b[12] === 0x08 && b[13] === 0x00;
const word = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at);

/** The client: source of the first SYN without ACK, else of the first IPv4 packet. */
function clientOf(frames: Frame[]): number {
  for (const { bytes } of frames) {
    if (!isIpv4(bytes) || bytes[23] !== 6) continue;
    const ihl = (bytes[14] & 15) * 4;
    if ((bytes[14 + ihl + 13] & 0x12) === 0x02) return word(bytes, 26);
  }
  const first = frames.find((f) => isIpv4(f.bytes));
  if (first === undefined) throw new Error("no IPv4 packet");
  return word(first.bytes, 26);
}

function moved(bytes: Uint8Array, from: number, to: number): Uint8Array {
  if (from === to || !isIpv4(bytes)) return bytes;
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  if (view.getUint32(26) === from) view.setUint32(26, to);
  if (view.getUint32(30) === from) view.setUint32(30, to);
  return out;
}

const dotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");

/** The frames of `plan`, in sending order, with the gap (µs) before each. */
export async function planFrames(
  plan: readonly ReplayItem[],
): Promise<{ frames: { gapUs: number; bytes: Uint8Array }[]; clients: string[] }> {
  const out: { gapUs: number; bytes: Uint8Array }[] = [];
  const clients: string[] = [];
  for (const item of plan) {
    const frames = await readFrames(item.file);
    const client = clientOf(frames);
    const maxGap = (item.gapMs ?? 20) * 1000;
    const first = item.first ?? 0;
    for (let i = first; i < first + item.loops; i++) {
      const to = (client + i) >>> 0;
      clients.push(dotted(to));
      let prev = frames[0]?.us ?? 0;
      for (const f of frames) {
        out.push({
          gapUs: Math.min(Math.max(f.us - prev, 0), maxGap),
          bytes: moved(f.bytes, client, to),
        });
        prev = f.us;
      }
    }
  }
  return { frames: out, clients };
}

/** Frames per member of a `members`-member group (pair hash; non-IP to member 0). */
export function memberCounts(frames: readonly { bytes: Uint8Array }[], members: number): number[] {
  const counts = new Array(members).fill(0);
  const decoder = new Decoder(new Weirds());
  const raw = new RawPacket();
  for (const { bytes } of frames) {
    raw.buf = bytes;
    raw.offset = 0;
    raw.capLen = raw.wireLen = bytes.length;
    raw.linkType = LinkType.ETHERNET;
    const rc = decoder.decode(raw);
    if (rc === DecodeResult.FRAGMENT) throw new Error("fragments are reassembled by the kernel");
    counts[rc === DecodeResult.OK ? packetPairHash(decoder.pkt) % members : 0]++;
  }
  return counts;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Sends `frames` on `device` (AF_PACKET), keeping their gaps. */
export function sendFrames(
  device: string,
  frames: readonly { gapUs: number; bytes: Uint8Array }[],
): void {
  const ifindex = Number(Deno.readTextFileSync(`/sys/class/net/${device}/ifindex`).trim());
  const lib = Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
  });
  const fd = lib.symbols.socket(17, 3, 0x0300); // AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)
  if (fd < 0) throw new Error("socket(AF_PACKET) failed (needs CAP_NET_RAW)");
  const sll = new Uint8Array(20); // struct sockaddr_ll
  const sv = new DataView(sll.buffer);
  sv.setUint16(0, 17, true);
  sv.setUint16(2, 0x0003);
  sv.setInt32(4, ifindex, true);
  try {
    for (const { gapUs, bytes } of frames) {
      if (gapUs >= 1000) Atomics.wait(sleeper, 0, 0, gapUs / 1000);
      for (let tries = 0;; tries++) {
        const n = lib.symbols.sendto(fd, bytes, BigInt(bytes.length), 0, sll, sll.length);
        if (Number(n) === bytes.length) break;
        if (tries > 1000) throw new Error(`sendto failed on ${device}`);
        Atomics.wait(sleeper, 0, 0, 1); // socket buffer full
      }
    }
  } finally {
    lib.symbols.close(fd);
    lib.close();
  }
}

if (import.meta.main) {
  const [device, planJson] = Deno.args;
  const { frames, clients } = await planFrames(JSON.parse(planJson));
  const members = memberCounts(frames, 2);
  sendFrames(device, frames);
  console.log(JSON.stringify({ sent: frames.length, members, clients }));
}
