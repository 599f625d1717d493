/**
 * docs/install.md stays true to what ships: the asset names the release
 * workflow publishes, the Deno version the workflows pin, the capabilities
 * the unit grants, and sealert's real "Npcap missing" message.
 */
import assert from "node:assert/strict";
import { libpcapCandidates, missingLibraryMessage } from "../../ffi/libpcap.ts";
import { TARGETS } from "./compile_all.ts";
import { repoPath } from "./_tools.ts";
import { parseUnitFile, single } from "./_unit_file.ts";

const doc = await Deno.readTextFile(repoPath("docs/install.md"));

Deno.test("install.md: every release asset is named", () => {
  for (const t of TARGETS) {
    assert.ok(doc.includes(`sealert-${t}${t.includes("windows") ? ".exe" : ""}`), t);
  }
  for (
    const f of ["sealert.service", "sealert.default", "sealert.logrotate", "install-service.ps1"]
  ) {
    assert.ok(doc.includes(f), f);
  }
  assert.match(doc, /sha256sum -c --ignore-missing SHA256SUMS/);
});

Deno.test("install.md: building from source with the pinned Deno; the download is explained", async () => {
  const ci = await Deno.readTextFile(repoPath(".github/workflows/ci.yml"));
  const pinned = /DENO_VERSION: ([\d.]+)/.exec(ci)![1];
  assert.ok(doc.includes(`npx -y deno@${pinned} task compile`));
  assert.ok(doc.includes(`https://dl.deno.land/release/v${pinned}/denort-`));
  assert.match(doc, /dl\.deno\.land/);
});

Deno.test("install.md: setcap grants exactly the unit's capabilities", async () => {
  const unit = parseUnitFile(await Deno.readTextFile(repoPath("packaging/sealert.service")));
  const caps = single(unit, "Service", "AmbientCapabilities").split(/\s+/)
    .map((c) => c.toLowerCase()).sort();
  const setcap = /setcap ([a-z_,]+)\+eip \/usr\/local\/bin\/sealert/.exec(doc);
  assert.ok(setcap, "no setcap line");
  assert.deepEqual(setcap[1].split(",").sort(), caps);
});

Deno.test("install.md: the quoted Npcap-missing message is sealert's own", () => {
  const tried = libpcapCandidates(
    "windows",
    (name) => (name === "SystemRoot" ? "C:\\Windows" : undefined),
  );
  const message = `sealert: ${missingLibraryMessage("windows", tried, false)}`;
  assert.ok(
    doc.includes(`\`\`\`text\n${message}\n\`\`\``),
    `docs/install.md should quote:\n${message}`,
  );
});
