/**
 * The fanout program on the real kernel: two libpcap handles in one fanout
 * group on one end of a veth pair (in a network namespace of the test's
 * own), frames sent onto the other end (`fanout_live_child.ts`). Every frame
 * must reach exactly one handle, the one src/decode/pair_hash.ts names
 * (member `hash % 2`): IPv4 and IPv6 pairs both ways, 802.1Q and QinQ tags
 * (the kernel strips the outer one), and IPv4 fragments, which
 * PACKET_FANOUT_FLAG_DEFRAG reassembles into one datagram before choosing.
 *
 * Root and `ip` needed: skipped with a reason outside CI, never with CI=true.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Decoder, DecodeResult } from "../../src/decode/decoder.ts";
import { packetPairHash } from "../../src/decode/pair_hash.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import { concat } from "../helpers/bytes.ts";
import { ethernet, ipFragments, ipPacket } from "../helpers/frames.ts";
import { inCi, privilegeProblem, skipPrivileged } from "../ffi/_privilege.ts";

const CHILD = new URL("./fanout_live_child.ts", import.meta.url).pathname;

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${text}${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** 8 bytes naming frame `seq`, placed at the start of its UDP payload. */
function marker(seq: number): Uint8Array {
  const m = new Uint8Array(8);
  m.set([0xfa, 0x0e, 0x5a, 0x17]);
  new DataView(m.buffer).setUint32(4, seq);
  return m;
}

function findMarker(frame: Uint8Array): number | undefined {
  for (let i = 0; i + 8 <= frame.length; i++) {
    if (
      frame[i] === 0xfa && frame[i + 1] === 0x0e && frame[i + 2] === 0x5a && frame[i + 3] === 0x17
    ) {
      return new DataView(frame.buffer, frame.byteOffset).getUint32(i + 4);
    }
  }
  return undefined;
}

function hashOf(frame: Uint8Array): number {
  const raw = new RawPacket();
  raw.buf = frame;
  raw.capLen = raw.wireLen = frame.length;
  raw.linkType = LinkType.ETHERNET;
  const d = new Decoder(new Weirds());
  const rc = d.decode(raw);
  assert.ok(rc === DecodeResult.OK || rc === DecodeResult.FRAGMENT);
  return packetPairHash(d.pkt);
}

Deno.test({
  name: "fanout on the kernel: each frame on the member pair_hash names, fragments reassembled",
  ignore: skipPrivileged("fanout on the kernel"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (inCi) assert.equal(privilegeProblem(), undefined);
    // Frames: seq → [frame bytes, expected member]; fragments count once (reassembled).
    const sent: Uint8Array[] = [];
    const want = new Map<number, number>();
    let seq = 0;
    const udp = (src: string, dst: string, sport: number, dport: number, size = 32) => {
      const s = seq++;
      const payload = concat(marker(s), new Uint8Array(size));
      return { s, ip: ipPacket({ src, dst, sport, dport, proto: 17, payload }) };
    };
    let rnd = 7;
    const next = () => (rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0);
    const v4 = (n: number) => `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${(n & 254) + 1}`;
    for (let i = 0; i < 200; i++) {
      const a = v4(next()), b = v4(next());
      const tags: Array<Array<[number, number]>> = [[], [[0x8100, 5]], [[0x88a8, 30], [0x8100, 5]]];
      for (const [src, dst, sp, dp] of [[a, b, 40000 + i, 443], [b, a, 443, 40000 + i]] as const) {
        const { s, ip } = udp(src, dst, sp, dp);
        const frame = ethernet(ip, tags[i % 3]);
        sent.push(frame);
        want.set(s, hashOf(frame) % 2);
      }
    }
    for (let i = 0; i < 40; i++) {
      const a = `2001:db8:${(next() & 0xfff).toString(16)}::${(next() & 0xfff).toString(16)}`;
      const b = `2001:db8:${(next() & 0xfff).toString(16)}::1`;
      for (const [src, dst] of [[a, b], [b, a]]) {
        const { s, ip } = udp(src, dst, 5000, 6000);
        const frame = ethernet(ip, i % 2 === 0 ? [] : [[0x8100, 9]]);
        sent.push(frame);
        want.set(s, hashOf(frame) % 2);
      }
    }
    const fragmented: number[] = [];
    for (let i = 0; i < 8; i++) {
      const { s, ip } = udp(v4(next()), v4(next()), 1000 + i, 2000, 2000);
      const h = hashOf(ethernet(ip)) % 2;
      ipFragments(ip, 800, { id: 100 + i }).forEach((f) => sent.push(ethernet(f)));
      want.set(s, h);
      fragmented.push(s);
    }
    const split = [0, 0];
    for (const m of want.values()) split[m]++;
    assert.ok(split[0] > 100 && split[1] > 100, `test frames split ${split}`);

    const ns = `sealert-fo-${Deno.pid}`;
    const cap = `vfo${Deno.pid}`.slice(0, 15), snd = `vfs${Deno.pid}`.slice(0, 15);
    const dir = await Deno.makeTempDir({ prefix: "sealert-fanout-" });
    try {
      await run("ip", ["netns", "add", ns]);
      // No IPv6 autoconfiguration chatter on the test link.
      await run("ip", [
        "netns",
        "exec",
        ns,
        "sysctl",
        "-qw",
        "net.ipv6.conf.default.disable_ipv6=1",
      ]);
      await run("ip", ["-n", ns, "link", "add", cap, "type", "veth", "peer", "name", snd]);
      for (const dev of [cap, snd]) await run("ip", ["-n", ns, "link", "set", dev, "up"]);
      await Deno.writeTextFile(`${dir}/frames.json`, JSON.stringify(sent.map(hex)));
      const out = await run("ip", [
        "netns",
        "exec",
        ns,
        Deno.execPath(),
        "run",
        "-A",
        CHILD,
        cap,
        snd,
        `${dir}/frames.json`,
      ]);
      const result = JSON.parse(out.trim().split("\n").at(-1)!) as {
        group: number;
        received: Array<[number, string]>;
        errors: Record<string, string>;
      };
      assert.ok(result.group >= 0 && result.group <= 0xffff);
      const got = new Map<number, number[]>();
      const sizes = new Map<number, number>();
      for (const [member, text] of result.received) {
        const bytes = new Uint8Array(text.match(/../g)!.map((h) => parseInt(h, 16)));
        const s = findMarker(bytes);
        if (s === undefined) continue; // not ours (none expected: no IPv6, no addresses)
        got.set(s, [...got.get(s) ?? [], member]);
        sizes.set(s, bytes.length);
      }
      const wrong: string[] = [];
      for (const [s, member] of want) {
        const members = got.get(s) ?? [];
        if (members.length !== 1 || members[0] !== member) {
          wrong.push(`#${s}: want member ${member}, got [${members}]`);
        }
      }
      assert.deepEqual(wrong, [], `${wrong.length} of ${want.size} frames misplaced`);
      // The fragments arrived as one reassembled datagram (14 + 20 + 8 + 8 + 2000 bytes).
      for (const s of fragmented) assert.equal(sizes.get(s), 14 + 20 + 8 + 8 + 2000);
      assert.equal(
        result.errors.again,
        `Cannot share capture on "${cap}" between workers: the socket is already in a fanout group`,
      );
      assert.equal(
        result.errors.otherDevice,
        `Cannot share capture on "${snd}" between workers: ` +
          `fanout group ${result.group} exists with other settings or on another device`,
      );
    } finally {
      await run("ip", ["netns", "del", ns]).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
