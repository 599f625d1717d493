/**
 * Offline `--workers N`: the CLI over the lab captures and a generated bench
 * capture with 1, 2 and 3 workers must write the same JSON records (every
 * field: ts, flow_id, community_id, session, side_flows, bytes…), the same
 * flow log and the same summary (the output order aside).
 *
 * The exception, stated in README "Scaling": correlations between different
 * address pairs are made within one worker only. A proxied or SSH-forwarded
 * session whose UDP acceleration goes straight to the VPN server (another
 * address pair than the session's connections) gets that side flow only
 * when both pairs fall on one worker; the connect race's probes are decided
 * at the sweep times of their own worker (RudpTunnelTracker reschedules a
 * waiting probe relative to the latest sweep, which any flow may trigger);
 * infrastructure contacts with an address remembered from a DNS answer seen
 * on another pair are counted by the worker that saw the answer. Those
 * captures are compared by {@linkcode compareLoose}: every record but the
 * side-flow events identical, each side-flow event of the workers' run in
 * the one-thread run (same kind, flow and session; its decision time may
 * differ), and each one missing a cross-pair side flow of a proxied session.
 *
 * @module
 */

import assert from "node:assert/strict";
import { generate } from "../bench/gen_bench.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

/** Lab captures whose results involve cross-pair correlations (see the module doc). */
const CROSS_PAIR = new Set([
  "testdata/lab/ssh_forward_hostname.pcap",
  "testdata/lab/ssh_forward_lanaddr.pcap",
  "testdata/lab3/infra_server.pcap",
  "testdata/lab4/synthetic_azure.pcap",
]);

const LABELS = [
  "testdata/lab/labels.tsv",
  "testdata/lab2/labels.tsv",
  "testdata/lab3/labels.tsv",
  "testdata/lab3/infra_labels.tsv",
  "testdata/lab4/faces_labels.tsv",
  "testdata/lab4/neg_labels.tsv",
  "testdata/lookalike/labels.tsv",
];

/** Every capture named by a labels file, once, in a stable order. */
function labCaptures(): string[] {
  const files = new Set<string>();
  for (const labels of LABELS) {
    const dir = labels.slice(0, labels.lastIndexOf("/"));
    for (const line of Deno.readTextFileSync(ROOT + labels).split("\n").slice(1)) {
      const name = line.split("\t")[0];
      if (name !== "" && !name.startsWith("#")) files.add(`${dir}/${name}`);
    }
  }
  return [...files].sort();
}

interface RunOutput {
  code: number;
  records: string[];
  flows: string[];
  /** Summary lines without the timing ("in 0.12 s, 3456 packets/s"). */
  summary: string[];
  stderr: string;
}

async function runCli(files: string[], workers: number, extra: string[] = []): Promise<RunOutput> {
  const dir = await Deno.makeTempDir({ prefix: "sealert-workers-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "--read",
        ...files,
        "--log",
        "none",
        "--json",
        `${dir}/a.json`,
        "--flows",
        `${dir}/f.json`,
        "--no-progress",
        "--workers",
        String(workers),
        ...extra,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const read = (p: string) => {
      try {
        return Deno.readTextFileSync(p).split("\n").filter((l) => l !== "");
      } catch {
        return [];
      }
    };
    const stderr = new TextDecoder().decode(out.stderr);
    return {
      code: out.code,
      records: read(`${dir}/a.json`).sort(),
      flows: read(`${dir}/f.json`).sort(),
      summary: stderr.split("\n").map((l) => l.replace(/ in [0-9.]+ s, [0-9]+ packets\/s/, "")),
      stderr,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function assertSame(one: RunOutput, many: RunOutput, what: string): void {
  assert.equal(many.code, one.code, `${what}: exit code\n${many.stderr}`);
  assert.equal(many.records.length, one.records.length, `${what}: number of JSON records`);
  assert.deepEqual(many.records, one.records, `${what}: JSON records`);
  assert.deepEqual(many.flows, one.flows, `${what}: flow log`);
  assert.deepEqual(many.summary, one.summary, `${what}: summary`);
}

// deno-lint-ignore no-explicit-any
type Rec = any;
const SIDE = new Set(["udp_accel", "dns_probe", "icmp_probe", "nbns"]);
const PROXIED = new Set(["HTTP Proxy", "SOCKS4 Proxy", "SOCKS5 Proxy", "SSH"]);

/**
 * The comparison for captures with cross-pair correlations (module doc);
 * returns what is not explained by them.
 */
function compareLoose(one: RunOutput, many: RunOutput): string[] {
  const problems: string[] = [];
  const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as Rec);
  const a = parse(one.records), b = parse(many.records);
  const sideKey = (r: Rec) => `${r.kind}|${r.flow_id}|${r.session}`;
  const plain = (rs: Rec[]) =>
    rs.filter((r) => !SIDE.has(r.kind)).map((r) => {
      const c = { ...r };
      delete c.side_flows; // compared below
      return JSON.stringify(c);
    }).sort();
  assert.deepEqual(plain(b), plain(a), "records other than side flows");
  const sessions = new Map<number, Rec>();
  for (const r of a) {
    if (r.event_type === "softether" && !SIDE.has(r.kind)) sessions.set(r.flow_id, r);
  }
  const sideA = new Map(a.filter((r) => SIDE.has(r.kind)).map((r) => [sideKey(r), r]));
  const sideB = new Map(b.filter((r) => SIDE.has(r.kind)).map((r) => [sideKey(r), r]));
  const missing = new Map<number, Record<string, number>>(); // session → kind → count
  for (const k of sideB.keys()) {
    if (!sideA.has(k)) problems.push(`side flow only with workers: ${k}`);
  }
  for (const [k, r] of sideA) {
    if (sideB.has(k)) continue;
    const s = sessions.get(r.session);
    const crossPair = s !== undefined && PROXIED.has(s.variant) &&
      r.server.ip !== s.server.ip && r.client.ip !== s.server.ip;
    if (!crossPair) problems.push(`side flow missing with workers: ${k}`);
    const m = missing.get(r.session) ?? {};
    m[r.kind] = (m[r.kind] ?? 0) + 1;
    missing.set(r.session, m);
  }
  // Session end records: their side-flow counts lack exactly the missing ones.
  const ends = (rs: Rec[]) =>
    new Map(
      rs.filter((r) => r.event_type === "softether_session_end").map((r) => [r.flow_id, r]),
    );
  const endsB = ends(b);
  for (const [id, r] of ends(a)) {
    const want = { ...r.side_flows };
    for (const [kind, n] of Object.entries(missing.get(id) ?? {})) want[kind] -= n;
    if (JSON.stringify(endsB.get(id)?.side_flows) !== JSON.stringify(want)) {
      problems.push(`session ${id}: side_flows ${JSON.stringify(endsB.get(id)?.side_flows)}`);
    }
  }
  assert.deepEqual(many.flows, one.flows, "flow log");
  // The summary: identical but for the footprint line's counts.
  const masked = (s: string[]) => s.filter((l) => !l.startsWith("Footprint:"));
  assert.deepEqual(masked(many.summary), masked(one.summary), "summary");
  assert.equal(many.code, one.code);
  return problems;
}

Deno.test({
  name:
    "offline --workers 2 and 3: the lab captures, as one stream, give exactly --workers 1's output",
  sanitizeResources: false,
  fn: async () => {
    const files = labCaptures().filter((f) => !CROSS_PAIR.has(f));
    assert.ok(files.length >= 70, `${files.length} lab captures`);
    const one = await runCli(files, 1);
    assert.equal(one.code, 0, one.stderr);
    assert.ok(one.records.length >= 100, `${one.records.length} records`);
    assert.ok(one.flows.length >= 300, `${one.flows.length} flows`);
    for (const n of [2, 3]) assertSame(one, await runCli(files, n), `--workers ${n}`);
  },
});

Deno.test({
  name:
    "offline --workers: each lab capture alone, identical (cross-pair captures: explained differences only)",
  sanitizeResources: false,
  fn: async () => {
    for (const file of labCaptures()) {
      const one = await runCli([file], 1);
      const two = await runCli([file], 2);
      if (CROSS_PAIR.has(file)) assert.deepEqual(compareLoose(one, two), [], file);
      else assertSame(one, two, file);
    }
  },
});

Deno.test({
  name: "offline --workers 2 and 3 on a generated 200 k-packet bench capture",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "sealert-workers-bench-" });
    try {
      const path = `${dir}/bench.pcap`;
      const r = await generate({ seed: 1, packets: 200_000, out: path });
      const one = await runCli([path], 1);
      assert.equal(one.code, 0, one.stderr);
      assert.ok(one.flows.length > 50_000, `${one.flows.length} flows`);
      const alerts = one.records.filter((l) =>
        JSON.parse(l).event_type === "softether" &&
        ["vpn", "admin"].includes(JSON.parse(l).kind)
      );
      assert.equal(alerts.length, r.expectedAlerts, "every spliced session alerted");
      for (const n of [2, 3]) {
        const many = await runCli([path], n);
        assert.deepEqual(compareLoose(one, many), [], `--workers ${n}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "offline --workers 2: a damaged file is analysed up to the damage, reported, exit 1 (as one thread)",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "sealert-workers-damaged-" });
    try {
      const good = `${ROOT}testdata/lab/direct_443.pcap`;
      const bytes = Deno.readFileSync(`${ROOT}testdata/lab/http_proxy.pcap`);
      const cut = `${dir}/cut.pcap`;
      Deno.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      const files = [cut, good, `${dir}/missing.pcap`];
      const one = await runCli(files, 1);
      assert.equal(one.code, 1);
      assert.match(one.stderr, /Capture file ".*cut\.pcap" is (damaged|truncated) at byte \d+/);
      assert.ok(one.summary.some((l) => l.startsWith("Files:    3 given, 1 read to the end")));
      assert.ok(one.records.length > 0, "the packets before the damage are analysed");
      for (const n of [2, 3]) assertSame(one, await runCli(files, n), `--workers ${n}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "offline --workers 2: evidence pcaps as one thread writes them",
  sanitizeResources: false,
  fn: async () => {
    const files = [
      `${ROOT}testdata/lab/direct_443.pcap`,
      `${ROOT}testdata/lab/socks5.pcap`,
      `${ROOT}testdata/lab/admin.pcap`,
    ];
    const listing = async (n: number) => {
      const dir = await Deno.makeTempDir({ prefix: "sealert-workers-evidence-" });
      try {
        const out = await runCli(files, n, ["--evidence-dir", dir]);
        assert.equal(out.code, 0, out.stderr);
        const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
        return names.map((name) => `${name} ${Deno.readFileSync(`${dir}/${name}`).length}`);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    };
    const one = await listing(1);
    assert.ok(one.length >= 3, one.join("\n"));
    assert.deepEqual(await listing(2), one);
  },
});
