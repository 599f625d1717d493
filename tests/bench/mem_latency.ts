/**
 * Memory latency of this machine, as the flow table meets it
 * (`deno run tests/bench/mem_latency.ts`): random reads over working sets
 * of 0.5 MiB to 512 MiB, one per cache line, either dependent (each address
 * comes from the previous load: a lookup chain, one miss at a time) or
 * independent (addresses known in advance: the misses overlap, as in
 * `FlowTable.prefetch`). Prints nanoseconds per read.
 *
 * @module
 */

const STEPS = 2_000_000;

function shuffled(n: number): Int32Array {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let s = 12345;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

console.log("working set   dependent   independent   (ns per random cache-line read)");
for (const mib of [0.5, 2, 8, 32, 128, 512]) {
  const n = Math.floor(mib * 1048576 / 64);
  const a = new Int32Array(n * 16);
  const perm = shuffled(n);
  for (let i = 0; i < n; i++) a[perm[i] * 16] = perm[(i + 1) % n] * 16; // one cycle
  let p = 0;
  let t = performance.now();
  for (let i = 0; i < STEPS; i++) p = a[p];
  const dep = (performance.now() - t) * 1e6 / STEPS;
  let x = 0;
  t = performance.now();
  for (let i = 0; i < STEPS; i++) x += a[perm[i % n] * 16];
  const ind = (performance.now() - t) * 1e6 / STEPS;
  console.log(
    `${String(mib).padStart(7)} MiB ${dep.toFixed(1).padStart(9)} ${ind.toFixed(1).padStart(12)}` +
      (p + x === -1 ? " " : ""),
  );
}
