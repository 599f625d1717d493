/**
 * Test helper for tests/capture/live_faults_test.ts: replays the Ethernet
 * frames of a classic pcap file onto a network device through an AF_PACKET
 * raw socket (libc via FFI), run inside a test's network namespace.
 *
 * ```sh
 * deno run -A tests/capture/live_faults_replay.ts <device> <file.pcap> [loops] [maxGapMs] [first]
 * ```
 *
 * `loops` copies of the capture are sent one after the other, numbered from
 * `first` (default 0); copy `i` moves the client (the source address of the
 * first TCP SYN) to the address `i` above it, so every copy is a new connection. Gaps between frames follow
 * the capture, each cut to `maxGapMs` (0: as fast as the socket takes them).
 * Prints `sent <frames>` when done. Linux only; needs CAP_NET_RAW.
 *
 * @module
 */

const AF_PACKET = 17;
const SOCK_RAW = 3;
const ETH_P_ALL_BE = 0x0300; // htons(0x0003)

interface Frame {
  /** Capture time in microseconds. */
  us: number;
  /** The frame bytes. */
  bytes: Uint8Array;
}

/** The frames of a little-endian microsecond classic pcap file (Ethernet). */
function readPcap(data: Uint8Array): Frame[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (view.getUint32(0, true) !== 0xa1b2c3d4) throw new Error("not a little-endian µs pcap");
  if (view.getUint32(20, true) !== 1) throw new Error("not Ethernet");
  const frames: Frame[] = [];
  for (let off = 24; off + 16 <= data.length;) {
    const sec = view.getUint32(off, true);
    const usec = view.getUint32(off + 4, true);
    const capLen = view.getUint32(off + 8, true);
    frames.push({ us: sec * 1e6 + usec, bytes: data.slice(off + 16, off + 16 + capLen) });
    off += 16 + capLen;
  }
  return frames;
}

/** Source IPv4 address (as a number) of the first TCP SYN without ACK. */
function clientAddress(frames: Frame[]): number | undefined {
  for (const { bytes } of frames) {
    if (bytes.length < 54 || bytes[12] !== 0x08 || bytes[13] !== 0x00 || bytes[23] !== 6) continue;
    const ihl = (bytes[14] & 0x0f) * 4;
    const flags = bytes[14 + ihl + 13];
    if ((flags & 0x12) === 0x02) return new DataView(bytes.buffer).getUint32(26);
  }
  return undefined;
}

/** A copy of `bytes` with IPv4 address `from` replaced by `to` (checksums not updated). */
function moved(bytes: Uint8Array, from: number, to: number): Uint8Array {
  if (from === to || bytes.length < 34 || bytes[12] !== 0x08 || bytes[13] !== 0x00) return bytes;
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  if (view.getUint32(26) === from) view.setUint32(26, to);
  if (view.getUint32(30) === from) view.setUint32(30, to);
  return out;
}

function main(args: string[]): void {
  const [device, file, loopsArg = "1", gapArg = "1000", firstArg = "0"] = args;
  const first = Number(firstArg);
  const loops = Number(loopsArg);
  const maxGapUs = Number(gapArg) * 1000;
  const frames = readPcap(Deno.readFileSync(file));
  const client = clientAddress(frames) ?? 0;
  const ifindex = Number(Deno.readTextFileSync(`/sys/class/net/${device}/ifindex`).trim());

  const lib = Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    sendto: {
      parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
      result: "isize",
    },
    close: { parameters: ["i32"], result: "i32" },
  });
  const fd = lib.symbols.socket(AF_PACKET, SOCK_RAW, ETH_P_ALL_BE);
  if (fd < 0) throw new Error("socket(AF_PACKET) failed (needs CAP_NET_RAW)");
  // struct sockaddr_ll: family u16, protocol be16, ifindex i32, hatype u16,
  // pkttype u8, halen u8, addr[8].
  const sll = new Uint8Array(20);
  const sv = new DataView(sll.buffer);
  sv.setUint16(0, AF_PACKET, true);
  sv.setUint16(2, 0x0003);
  sv.setInt32(4, ifindex, true);
  let sent = 0;
  try {
    for (let i = first; i < first + loops; i++) {
      let prevUs = frames[0]?.us ?? 0;
      for (const frame of frames) {
        const gapUs = Math.min(Math.max(frame.us - prevUs, 0), maxGapUs);
        prevUs = frame.us;
        if (gapUs >= 1000) sleepMs(gapUs / 1000);
        const bytes = moved(frame.bytes, client, (client + i) >>> 0);
        for (let tries = 0;; tries++) {
          const n = lib.symbols.sendto(fd, bytes, BigInt(bytes.length), 0, sll, sll.length);
          if (Number(n) === bytes.length) break;
          if (tries > 1000) throw new Error(`sendto failed on ${device}`);
          sleepMs(1); // socket buffer full: wait a little
        }
        sent++;
      }
    }
  } finally {
    lib.symbols.close(fd);
    lib.close();
  }
  console.log(`sent ${sent}`);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

if (import.meta.main) main(Deno.args);
