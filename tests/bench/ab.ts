/**
 * A/B comparison of two sealert source trees on the same packets, in one
 * process: each tree's `src/pipeline.ts` and classifier are imported, the
 * capture is read into memory once, and fresh pipelines of A and B process
 * it in alternation (ABBA order), so both see the same machine load. Prints
 * the best and median time of each and the speed-up of B over A. Meant for
 * checking a proposed hot-path change (copy the tree, edit, compare).
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc tests/bench/ab.ts --a /path/to/treeA --b /path/to/treeB \
 *   --file /tmp/sealert-bench/X.pcap [--rounds 8] [--max-flows 1000000] [--limit 1000000]
 * ```
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface Tree {
  name: string;
  Pipeline: new (c: unknown, o: { maxFlows: number }) => {
    handle(raw: unknown): void;
    finish(): void;
  };
  Classifier: new (emit: (ev: unknown) => void) => { stats: { alerts: number } };
  RawPacket: new () => Record<string, unknown>;
}

async function load(name: string, dir: string): Promise<Tree> {
  const base = `file://${dir.replace(/\/$/, "")}/src/`;
  const [p, c, r] = await Promise.all([
    import(`${base}pipeline.ts`),
    import(`${base}detect/softether_classifier.ts`),
    import(`${base}capture/raw_packet.ts`),
  ]);
  return { name, Pipeline: p.Pipeline, Classifier: c.SoftEtherClassifier, RawPacket: r.RawPacket };
}

/** Record offsets of a classic little-endian pcap held in memory. */
function index(buf: Uint8Array, limit: number): { offs: Uint32Array; ns: boolean } {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = v.getUint32(0, true);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error("not a LE classic pcap");
  const offs: number[] = [];
  for (let p = 24; p + 16 <= buf.length && offs.length < limit;) {
    const cap = v.getUint32(p + 8, true);
    offs.push(p);
    p += 16 + cap;
  }
  return { offs: Uint32Array.from(offs), ns: magic === 0xa1b23c4d };
}

function pass(t: Tree, buf: Uint8Array, offs: Uint32Array, ns: boolean, maxFlows: number): number {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const classifier = new t.Classifier(() => {});
  const pipeline = new t.Pipeline(classifier, { maxFlows });
  const raw = new t.RawPacket();
  raw.buf = buf;
  raw.linkType = 1;
  const t0 = performance.now();
  for (let i = 0; i < offs.length; i++) {
    const p = offs[i];
    raw.tsSec = v.getUint32(p, true);
    raw.tsNsec = ns ? v.getUint32(p + 4, true) : v.getUint32(p + 4, true) * 1000;
    raw.capLen = v.getUint32(p + 8, true);
    raw.wireLen = v.getUint32(p + 12, true);
    raw.offset = p + 16;
    pipeline.handle(raw);
  }
  pipeline.finish();
  return (performance.now() - t0) / 1000;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      a: { type: "string" },
      b: { type: "string" },
      file: { type: "string" },
      rounds: { type: "string", default: "8" },
      "max-flows": { type: "string", default: "1000000" },
      limit: { type: "string", default: "1000000" },
    },
  });
  if (!values.a || !values.b || !values.file) {
    console.error("usage: ab.ts --a TREE --b TREE --file X.pcap [--rounds 8]");
    Deno.exit(2);
  }
  const [a, b] = [await load("A", values.a), await load("B", values.b)];
  const buf = new Uint8Array(readFileSync(values.file));
  const { offs, ns } = index(buf, Number(values.limit));
  const maxFlows = Number(values["max-flows"]);
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const times = new Map<Tree, number[]>([[a, []], [b, []]]);
  pass(a, buf, offs, ns, maxFlows); // warm-up both
  pass(b, buf, offs, ns, maxFlows);
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const t of r % 2 === 0 ? [a, b, b, a] : [b, a, a, b]) {
      gc();
      times.get(t)!.push(pass(t, buf, offs, ns, maxFlows));
    }
  }
  const n = offs.length;
  for (const t of [a, b]) {
    const ts = times.get(t)!;
    console.log(
      `${t.name} ${t === a ? values.a : values.b}: best ${Math.min(...ts).toFixed(3)} s ` +
        `(${(n / Math.min(...ts) / 1e6).toFixed(3)} M pkt/s), median ${median(ts).toFixed(3)} s; ` +
        `all: ${ts.map((x) => x.toFixed(3)).join(" ")}`,
    );
  }
  const ta = times.get(a)!, tb = times.get(b)!;
  console.log(
    `B vs A: ${((median(ta) / median(tb) - 1) * 100).toFixed(1)} % faster (median), ` +
      `${((Math.min(...ta) / Math.min(...tb) - 1) * 100).toFixed(1)} % (best); ${n} packets`,
  );
}
