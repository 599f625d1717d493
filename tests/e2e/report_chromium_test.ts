/**
 * The HTML report in a real browser: sealert runs offline over several lab
 * captures with `--report` and `--servers`, then headless Chromium renders
 * the page — `--dump-dom` must hold every server of the inventory as a
 * table row and a timeline, and `--screenshot` must be a real picture: a
 * PNG of the window's size, decoded here (node:zlib, the five scanline
 * filters), with many distinct colours, among them the exact fills of the
 * TCP, HTTP proxy and SSH session bars.
 *
 * Needs Debian's `chromium` (CI installs it; as root it runs only with
 * --no-sandbox). Without it the test is skipped with a message, except with
 * CI=true, where it fails.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { inflateSync } from "node:zlib";

const ROOT = new URL("../../", import.meta.url).pathname;
const CAPTURES = [
  "lab/direct_443.pcap",
  "lab/http_proxy.pcap",
  "lab/socks5.pcap",
  "lab/ssh_forward.pcap",
  "lab/fail_password.pcap",
  "lab/admin.pcap",
  "lab2/hostname_http_proxy.pcap",
  "lab2/multi_session4.pcap",
].map((f) => `${ROOT}testdata/${f}`);
const WIDTH = 1280, HEIGHT = 2000;

const inCi = Deno.env.get("CI") === "true";

/** The Chromium binary on PATH, if any. */
function findChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      const out = new Deno.Command("sh", {
        args: ["-c", `command -v ${name}`],
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      if (out.success) return new TextDecoder().decode(out.stdout).trim();
    } catch {
      // No shell: no browser either.
    }
  }
  return undefined;
}

const CHROMIUM = findChromium();
if (CHROMIUM === undefined && !inCi) {
  console.log('skipping "report in Chromium": chromium is not installed (apt install chromium)');
}

/** Runs Chromium headless on `url` with `args`; killed by PID after 90 s. */
async function chromium(args: string[], url: string, profile: string): Promise<string> {
  const child = new Deno.Command(CHROMIUM!, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--hide-scrollbars",
      `--user-data-dir=${profile}`,
      ...args,
      url,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }, 90_000);
  try {
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return text;
  } finally {
    clearTimeout(timer);
  }
}

/** A decoded PNG: size and RGBA pixels. */
interface Image {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes). */
function decodePng(png: Uint8Array): Image {
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  assert.deepEqual([...png.subarray(0, 8)], sig, "PNG signature");
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let width = 0, height = 0, colorType = -1;
  const idat: Uint8Array[] = [];
  for (let pos = 8; pos + 8 <= png.length;) {
    const len = v.getUint32(pos);
    const type = new TextDecoder().decode(png.subarray(pos + 4, pos + 8));
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = v.getUint32(pos + 8);
      height = v.getUint32(pos + 12);
      assert.equal(data[8], 8, "bit depth 8");
      colorType = data[9];
      assert.ok(colorType === 2 || colorType === 6, `colour type ${colorType}`);
      assert.equal(data[12], 0, "not interlaced");
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const bpp = colorType === 6 ? 4 : 3, stride = width * bpp;
  assert.equal(raw.length, height * (stride + 1), "scanlines");
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? px[out + i - bpp] : 0;
      const b = y > 0 ? px[out - stride + i] : 0;
      const c = i >= bpp && y > 0 ? px[out - stride + i - bpp] : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.equal(filter, 0, `filter ${filter}`);
      px[out + i] = (line[i] + pred) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0, j = 0; i < px.length; i += bpp, j += 4) {
    rgba[j] = px[i];
    rgba[j + 1] = px[i + 1];
    rgba[j + 2] = px[i + 2];
    rgba[j + 3] = bpp === 4 ? px[i + 3] : 255;
  }
  return { width, height, rgba };
}

/** Pixels of each colour ("r,g,b"). */
function colours(img: Image): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < img.rgba.length; i += 4) {
    const k = `${img.rgba[i]},${img.rgba[i + 1]},${img.rgba[i + 2]}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

Deno.test({
  name: "report in Chromium: the DOM has every server, the screenshot is a real picture",
  ignore: CHROMIUM === undefined && !inCi,
  sanitizeResources: false,
  async fn() {
    assert.ok(CHROMIUM !== undefined, "CI must have chromium (apt install chromium)");
    const work = Deno.makeTempDirSync({ prefix: "sealert-report-" });
    // A directory every user can read: Chromium must be able to open the page.
    const view = Deno.makeTempDirSync({ prefix: "sealert-report-view-" });
    try {
      const run = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${ROOT}main.ts`,
          "--read",
          ...CAPTURES,
          "--log",
          "none",
          "--no-progress",
          "--servers",
          `${work}/servers.jsonl`,
          "--report",
          `${work}/report.html`,
        ],
        env: { TZ: "UTC", NO_COLOR: "1" },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      const servers = Deno.readTextFileSync(`${work}/servers.jsonl`).trim().split("\n")
        .map((l) => JSON.parse(l)).filter((r) => r.type === "server");
      const hosts = servers.map((s) => s.server as string);
      for (const h of ["10.77.2.2", "10.77.3.2", "vpn.lab"]) assert.ok(hosts.includes(h), h);

      Deno.chmodSync(view, 0o755);
      const page = `${view}/report.html`;
      Deno.copyFileSync(`${work}/report.html`, page);
      Deno.chmodSync(page, 0o644);
      const url = `file://${page}`;

      const dom = await chromium(["--dump-dom"], url, `${work}/profile-dom`);
      assert.match(dom, /<table id="server-table">/);
      const rows = [...dom.matchAll(/<tr class="server" data-host="([^"]*)">/g)].map((m) => m[1]);
      assert.deepEqual(rows, hosts);
      assert.equal((dom.match(/<svg class="timeline"/g) ?? []).length, hosts.length);
      // 10.77.2.2's row, as the browser parsed it.
      const row = dom.match(/<tr class="server" data-host="10\.77\.2\.2">(.*?)<\/tr>/)![1];
      const cells = [...row.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]);
      const s = servers.find((x) => x.server === "10.77.2.2");
      assert.equal(cells[1], s.ports.join(", "));
      assert.equal(Number(cells[4]), s.sessions.established);
      assert.equal(Number(cells[5]), s.sessions.attempt);
      assert.equal(Number(cells[7]), s.admin);
      assert.ok(s.sessions.established >= 6 && s.sessions.attempt === 1 && s.admin === 1);

      const shot = `${work}/report.png`;
      await chromium(
        [`--screenshot=${shot}`, `--window-size=${WIDTH},${HEIGHT}`],
        url,
        `${work}/profile-shot`,
      );
      const png = Deno.readFileSync(shot);
      const img = decodePng(png);
      const counts = colours(img);
      const exact = (hex: string) =>
        counts.get(
          [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(","),
        ) ?? 0;
      console.log(
        `screenshot: ${png.length} bytes, ${img.width}x${img.height}, ${counts.size} colours; ` +
          `TCP bar pixels ${exact("#1f77b4")}, HTTP proxy ${exact("#ff7f0e")}, SSH ${
            exact("#9467bd")
          }, background ${exact("#ffffff")}`,
      );
      assert.equal(img.width, WIDTH);
      assert.equal(img.height, HEIGHT);
      assert.ok(png.length > 20_000, `screenshot of ${png.length} bytes`);
      assert.ok(counts.size >= 50, `${counts.size} colours`);
      // No single colour covers the picture, and the session bars are drawn in their colours.
      assert.ok(Math.max(...counts.values()) < 0.98 * WIDTH * HEIGHT);
      assert.ok(exact("#1f77b4") >= 100, "TCP session bars");
      assert.ok(exact("#ff7f0e") >= 100, "HTTP proxy session bars");
      assert.ok(exact("#9467bd") >= 100, "SSH session bars");
      assert.ok(exact("#ffffff") > WIDTH * HEIGHT / 4, "page background");
    } finally {
      Deno.removeSync(work, { recursive: true });
      Deno.removeSync(view, { recursive: true });
    }
  },
});
