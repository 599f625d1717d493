import assert from "node:assert/strict";
import { fanoutProgram } from "../../src/capture/fanout_bpf.ts";
import { openCaptureFiles } from "../../src/capture/file_source.ts";
import { LinkType, RawPacket } from "../../src/capture/raw_packet.ts";
import { Decoder, DecodeResult } from "../../src/decode/decoder.ts";
import { packetPairHash } from "../../src/decode/pair_hash.ts";
import { Weirds } from "../../src/decode/weirds.ts";
import { ethernet, ipFragments, ipPacket, ipv6WithExtensions } from "../helpers/frames.ts";
import { rawIpSkb, runCbpf, rxSkb, txSkb } from "./cbpf_interpreter.ts";

const PROGRAM = fanoutProgram();
const ROOT = new URL("../../", import.meta.url).pathname;

/** What pair_hash.ts says for an Ethernet frame: the hash, 0 for non-IP, undefined when malformed. */
function expected(frame: Uint8Array, decoder = new Decoder(new Weirds())): number | undefined {
  const raw = new RawPacket();
  raw.buf = frame;
  raw.offset = 0;
  raw.capLen = raw.wireLen = frame.length;
  raw.linkType = LinkType.ETHERNET;
  const nonIp = decoder.counters.nonIp;
  const rc = decoder.decode(raw);
  if (rc === DecodeResult.OK || rc === DecodeResult.FRAGMENT) return packetPairHash(decoder.pkt);
  return decoder.counters.nonIp > nonIp ? 0 : undefined;
}

function captureFiles(): string[] {
  const files: string[] = [];
  for (const dir of ["lab", "lab2", "lab3", "lab4", "lookalike"]) {
    for (const e of Deno.readDirSync(`${ROOT}testdata/${dir}`)) {
      if (e.name.endsWith(".pcap")) files.push(`${ROOT}testdata/${dir}/${e.name}`);
    }
  }
  return files.sort();
}

Deno.test("fanout program: the kernel's static rules (forward jumps in range, RET at the end, M[] stored before loaded)", () => {
  assert.ok(PROGRAM.length > 0 && PROGRAM.length <= 4096, `${PROGRAM.length} instructions`);
  const last = PROGRAM[PROGRAM.length - 1];
  assert.equal(last.code & 0x07, 0x06, "ends with RET");
  // check_load_and_stores(): one bit per memory word valid on every path.
  const masks = new Array(PROGRAM.length).fill(0xffff);
  let valid = 0;
  PROGRAM.forEach((insn, pc) => {
    valid &= masks[pc];
    for (const v of [insn.jt, insn.jf]) assert.ok(v >= 0 && v <= 255);
    const cls = insn.code & 0x07;
    if (cls === 0x02 || cls === 0x03) valid |= 1 << insn.k;
    else if ((cls === 0x00 || cls === 0x01) && (insn.code & 0xe0) === 0x60) {
      assert.ok((valid & (1 << insn.k)) !== 0, `M[${insn.k}] loaded before stored at ${pc}`);
    } else if (cls === 0x05) {
      const targets = (insn.code & 0xf0) === 0 ? [insn.k] : [insn.jt, insn.jf];
      for (const t of targets) {
        assert.ok(pc + 1 + t < PROGRAM.length, `jump out of the program at ${pc}`);
        masks[pc + 1 + t] &= valid;
      }
      valid = 0xffff;
    }
  });
});

Deno.test("fanout program = pair_hash.ts on every frame of the lab captures (received and transmitted views)", async () => {
  const src = await openCaptureFiles(captureFiles());
  const raw = new RawPacket();
  const decoder = new Decoder(new Weirds());
  let compared = 0, nonIp = 0, ipv6 = 0;
  const hashes = new Set<number>();
  try {
    do {
      while (src.next(raw)) {
        assert.equal(raw.linkType, LinkType.ETHERNET);
        const frame = raw.buf.subarray(raw.offset, raw.offset + raw.capLen);
        const want = expected(frame, decoder);
        if (want === undefined) continue;
        assert.equal(runCbpf(PROGRAM, rxSkb(frame)), want);
        assert.equal(runCbpf(PROGRAM, txSkb(frame)), want);
        compared++;
        if (want === 0) nonIp++;
        else hashes.add(want);
        if (decoder.pkt.ipVersion === 6 && want !== 0) ipv6++;
      }
    } while (await src.refill());
  } finally {
    src.close();
  }
  assert.ok(compared > 45_000, `${compared} frames compared`); // every frame of the 80-odd files
  assert.ok(hashes.size >= 20, `${hashes.size} distinct pairs`); // the labs reuse their addresses
  assert.ok(nonIp > 0, "some non-IP frames (ARP) compared too");
  console.log(`${compared} frames, ${hashes.size} pair hashes, ${ipv6} IPv6, ${nonIp} non-IP`);
});

const V4 = { src: "10.77.1.2", dst: "10.77.2.2", sport: 40000, dport: 443, payload: 64 };
const V6 = { src: "2001:db8:1::2", dst: "2001:db8:2::2", sport: 40000, dport: 443, payload: 64 };

Deno.test("fanout program: VLAN tags (stripped by the kernel, or in the data), 0–3 tags", () => {
  for (const spec of [V4, V6]) {
    const want = expected(ethernet(ipPacket(spec)))!;
    assert.ok(want !== 0);
    const tagSets: Array<Array<[number, number]>> = [
      [],
      [[0x8100, 10]],
      [[0x88a8, 200], [0x8100, 10]],
      [[0x9100, 7]],
      [[0x88a8, 200], [0x8100, 10], [0x8100, 11]],
    ];
    for (const tags of tagSets) {
      const frame = ethernet(ipPacket(spec), tags);
      assert.equal(expected(frame), want, `decoder with ${tags.length} tags`);
      // Received: the outer 802.1Q/802.1ad tag stripped into metadata, the rest in the data.
      assert.equal(runCbpf(PROGRAM, rxSkb(frame)), want, `rx ${JSON.stringify(tags)}`);
      // Not stripped / transmitted: every tag in the data; three in the data is past the walk.
      const tx = runCbpf(PROGRAM, txSkb(frame));
      assert.equal(tx, tags.length <= 2 ? want : 0, `tx ${JSON.stringify(tags)}`);
      assert.equal(runCbpf(PROGRAM, rxSkb(frame, false)), tags.length <= 2 ? want : 0);
    }
  }
});

Deno.test("fanout program: fragments, extension headers, both directions, raw IP links", () => {
  for (const spec of [V4, V6]) {
    const whole = ipPacket({ ...spec, payload: 3000 });
    const want = expected(ethernet(whole))!;
    const reverse = ipPacket({ ...spec, src: spec.dst, dst: spec.src, sport: 443, dport: 40000 });
    assert.equal(runCbpf(PROGRAM, rxSkb(ethernet(reverse))), want, "reverse direction");
    assert.equal(runCbpf(PROGRAM, rawIpSkb(whole)), want, "raw IP link");
    for (const frag of ipFragments(whole, 1000)) {
      assert.equal(expected(ethernet(frag)), want);
      assert.equal(runCbpf(PROGRAM, rxSkb(ethernet(frag))), want, "fragment");
    }
  }
  const ext = ipv6WithExtensions(V6, [0, 60, 43]);
  assert.equal(runCbpf(PROGRAM, rxSkb(ethernet(ext))), expected(ethernet(ipPacket(V6))));
});

Deno.test("fanout program: non-IP and cut-off frames go to worker 0", () => {
  const arp = new Uint8Array(60);
  arp.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06]);
  assert.equal(runCbpf(PROGRAM, rxSkb(arp)), 0);
  const frame = ethernet(ipPacket(V4));
  assert.equal(runCbpf(PROGRAM, rxSkb(frame.subarray(0, 14 + 18))), 0, "destination cut off");
  const v6 = ethernet(ipPacket(V6));
  assert.equal(runCbpf(PROGRAM, rxSkb(v6.subarray(0, 14 + 39))), 0, "IPv6 destination cut off");
});

Deno.test("fanout program: pairs spread evenly over 2 and 3 workers, each pair whole", () => {
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (const n of [2, 3]) {
    const counts = new Array(n).fill(0);
    for (let i = 0; i < 3000; i++) {
      const a = rnd(), b = rnd();
      const ip = (v: number) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
      const fwd = ethernet(ipPacket({ ...V4, src: ip(a), dst: ip(b) }));
      const back = ethernet(ipPacket({ ...V4, src: ip(b), dst: ip(a), sport: 443, dport: 1 }));
      const w = runCbpf(PROGRAM, rxSkb(fwd)) % n;
      assert.equal(runCbpf(PROGRAM, rxSkb(back)) % n, w);
      counts[w]++;
    }
    for (const c of counts) assert.ok(Math.abs(c - 3000 / n) < 3000 / n * 0.1, `${n}: ${counts}`);
  }
  // One client, many servers in one subnet (sequential addresses) also split.
  const counts = [0, 0];
  for (let i = 1; i < 255; i++) {
    counts[runCbpf(PROGRAM, rxSkb(ethernet(ipPacket({ ...V4, dst: `10.0.0.${i}` })))) % 2]++;
  }
  assert.ok(counts[0] > 100 && counts[1] > 100, `${counts}`);
});
