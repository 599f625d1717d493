/**
 * Shrinks a packet-round reproducer: drops frames (halves, then smaller
 * runs, then single frames) as long as the round still fails the same way
 * (same kind, same message with its numbers ignored), and writes the
 * smaller reproducer. `deno task fuzz --minimize FILE [OUT]`.
 *
 * @module
 */

import { type Failure, type Reproducer, runPacketInput } from "./engine.ts";
import type { Frame } from "./packet_mutators.ts";

function signature(f: Failure | undefined): string {
  return f === undefined ? "" : `${f.kind}:${f.message.replace(/\d+/g, "#")}`;
}

function unb64(s: string): Uint8Array {
  const t = atob(s);
  const b = new Uint8Array(t.length);
  for (let i = 0; i < t.length; i++) b[i] = t.charCodeAt(i);
  return b;
}

/** The reproducer at `path` shrunk; resolves to it (unchanged when it does not fail now). */
export async function minimize(
  path: string,
  log: (s: string) => void = () => {},
): Promise<Reproducer> {
  const rep = JSON.parse(Deno.readTextFileSync(path)) as Reproducer;
  if (rep.target !== "packets" || rep.frames === undefined) return rep;
  const all = rep.frames;
  const toFrames = (fs: typeof all): Frame[] =>
    fs.map((f) => ({
      linkType: f.link,
      wireLen: f.wire,
      tsSec: f.sec,
      tsNsec: f.nsec,
      data: unb64(f.data),
    }));
  const run = async (fs: typeof all) =>
    signature(
      (await runPacketInput({
        frames: toFrames(fs),
        mutations: rep.mutations,
        feedSeed: rep.feedSeed!,
      })).failure,
    );
  const want = await run(all);
  if (want === "") return rep;
  let cur = all;
  for (let size = Math.max(1, cur.length >> 1); size >= 1; size = size === 1 ? 0 : size >> 1) {
    for (let at = 0; at < cur.length;) {
      const next = [...cur.slice(0, at), ...cur.slice(at + size)];
      if (next.length > 0 && await run(next) === want) cur = next;
      else at += size;
    }
    log(`minimize: ${cur.length} frames after runs of ${size}`);
  }
  return {
    ...rep,
    frames: cur,
    mutations: [`minimized from ${all.length} frames`, ...rep.mutations],
  };
}
