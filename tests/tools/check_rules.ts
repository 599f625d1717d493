/**
 * House rules checked by `deno task check` (run: `deno run --allow-read tests/tools/check_rules.ts
 * [--root DIR]`). Prints one `path:line: rule: message` line per violation and exits 1 if any.
 *
 * Rules:
 *
 * - `layer`: the pipeline is main.ts → ffi/ → src/capture/ → src/decode/ → src/flow/ → src/proto/
 *   → src/detect/ → src/output/, with src/pipeline.ts and src/cli/ as wiring above output and
 *   main.ts on top. A module never imports one of a later (higher) layer; nothing in ffi/ or src/
 *   imports main.ts or tests/; a file under src/ outside every layer is itself a violation (place
 *   it in the table below). Counted edges: `import` (also `import type`), `export … from`,
 *   dynamic `import("literal")` and `new URL("literal", import.meta.url)` (Worker modules).
 *   ffi/ and src/capture/ stay two layers: ffi/ imports nothing from src/, so what it shares
 *   with capture lives in ffi/ (`CaptureDeviceError` in ffi/errors.ts) and the little it needs
 *   from higher layers is its own (the DLT_RAW link type, device address text).
 * - `native`: only ffi/ and src/capture/ touch native memory. src/decode, flow, proto, detect,
 *   output and src/pipeline.ts must not import ffi/, and no product file outside ffi/ and
 *   src/capture/ may use `Deno.dlopen` or `Deno.Unsafe*`. A higher layer that needs a native
 *   call gets it from src/cli (syslog's Unix datagram socket: src/output/unix_datagram.ts keeps
 *   the socket logic, ffi/unix_socket.ts the libc calls, handed over by src/cli/sinks.ts).
 * - `proto-pure`: src/proto/ parsers are pure byte parsers: they import only src/proto/ modules
 *   and `node:` built-ins, nothing else in the tree.
 * - `dead-export`: every name exported by ffi/ or src/ has a caller in product code (main.ts,
 *   ffi/, src/) other than its own file. Tests and tools (tests/bench, tests/eval, tests/lab,
 *   tests/release) are not callers. Uses are resolved through the import graph: a named import
 *   whose binding the importing file uses, `ns.Name` of an `import * as ns`, `import("x").Name`,
 *   and re-exports (`export { a } from`, `export *`, `export { imported }`) followed to the
 *   original, so a barrel re-exporting a name is not a caller of it. Exceptions live in
 *   `tests/tools/check_rules_allow.txt`, one `path name -- reason` a line; an entry without a
 *   reason or matching no violation is itself reported (`allowlist`).
 *
 * Source is scanned with a small lexer (comments, strings, template literals and regular
 * expression literals are recognised) so that examples in JSDoc are not taken for imports.
 *
 * @module
 */

import { posix } from "node:path";
import { fileURLToPath } from "node:url";

/** One rule violation, printed as `path:line: rule: message`. */
export interface Violation {
  /** Path relative to the checked root, with `/` separators. */
  path: string;
  /** 1-based line. */
  line: number;
  /** Rule id: `layer`, `native`, `proto-pure`, `dead-export` or `allowlist`. */
  rule: string;
  /** Human-readable explanation. */
  message: string;
}

/** Layers from bottom to top; a module may import only its own or lower layers. */
const LAYERS: readonly { name: string; test: (p: string) => boolean }[] = [
  { name: "ffi/", test: (p) => p.startsWith("ffi/") },
  { name: "src/capture/", test: (p) => p.startsWith("src/capture/") },
  { name: "src/decode/", test: (p) => p.startsWith("src/decode/") },
  { name: "src/flow/", test: (p) => p.startsWith("src/flow/") },
  { name: "src/proto/", test: (p) => p.startsWith("src/proto/") },
  { name: "src/detect/", test: (p) => p.startsWith("src/detect/") },
  { name: "src/output/", test: (p) => p.startsWith("src/output/") },
  { name: "src/pipeline.ts", test: (p) => p === "src/pipeline.ts" },
  { name: "src/cli/", test: (p) => p.startsWith("src/cli/") },
  { name: "main.ts", test: (p) => p === "main.ts" },
];

/** Layers that must not import ffi/ (they never touch native memory). */
const NO_FFI = new Set([
  "src/decode/",
  "src/flow/",
  "src/proto/",
  "src/detect/",
  "src/output/",
  "src/pipeline.ts",
]);

const UNSAFE_API =
  /(?<![\w$])Deno\s*\.\s*(dlopen|UnsafePointer|UnsafePointerView|UnsafeCallback|UnsafeFnPointer)(?![\w$])/g;

const ALLOWLIST = "tests/tools/check_rules_allow.txt";

function layerOf(p: string): number {
  return LAYERS.findIndex((l) => l.test(p));
}

function isProduct(p: string): boolean {
  return p === "main.ts" || p.startsWith("ffi/") || p.startsWith("src/");
}

// ---------------------------------------------------------------------------------------------
// Lexing

const CODE = 0;
const COMMENT = 1;
const STRING = 2;

const REGEX_AFTER_CHAR = new Set("(,=:[!&|?{};+-*%<>~^".split(""));
const REGEX_AFTER_WORD = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "yield",
  "await",
  "instanceof",
]);
const isIdent = (c: string) => /[\w$]/.test(c);

/**
 * Classifies every character of `src` as code, comment or string/regex content (quotes and
 * template `${`/`}` count as code).
 */
function lex(src: string): Uint8Array {
  const n = src.length;
  const mask = new Uint8Array(n);
  const stack: number[] = []; // brace depth at which each open `${` closes
  let depth = 0;
  let i = 0;
  const template = (): void => {
    // i is just after an opening backtick or a closing `}` of a substitution.
    while (i < n) {
      const c = src[i];
      if (c === "\\") {
        mask[i] = STRING;
        if (i + 1 < n) mask[i + 1] = STRING;
        i += 2;
      } else if (c === "`") {
        i++;
        return;
      } else if (c === "$" && src[i + 1] === "{") {
        stack.push(depth);
        i += 2;
        return;
      } else {
        mask[i++] = STRING;
      }
    }
  };
  const previous = (): { ch: string; word: string } => {
    let j = i - 1;
    while (j >= 0 && (mask[j] === COMMENT || /\s/.test(src[j]))) j--;
    if (j < 0) return { ch: "", word: "" };
    let k = j;
    while (k >= 0 && isIdent(src[k])) k--;
    return { ch: src[j], word: src.slice(k + 1, j + 1) };
  };
  while (i < n) {
    const c = src[i];
    if (c === "/" && src[i + 1] === "/") {
      while (i < n && src[i] !== "\n") mask[i++] = COMMENT;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      for (; i < stop; i++) if (src[i] !== "\n") mask[i] = COMMENT;
    } else if (c === '"' || c === "'") {
      i++;
      while (i < n && src[i] !== c && src[i] !== "\n") {
        if (src[i] === "\\") mask[i++] = STRING;
        mask[i++] = STRING;
      }
      i++;
    } else if (c === "`") {
      i++;
      template();
    } else if (c === "{") {
      depth++;
      i++;
    } else if (c === "}") {
      if (stack.length > 0 && stack[stack.length - 1] === depth) {
        stack.pop();
        i++;
        template();
      } else {
        depth--;
        i++;
      }
    } else if (c === "/") {
      const { ch, word } = previous();
      const regex = ch === "" || REGEX_AFTER_CHAR.has(ch) ||
        (isIdent(ch) && REGEX_AFTER_WORD.has(word));
      i++;
      if (regex) {
        let inClass = false;
        while (i < n && src[i] !== "\n") {
          const d = src[i];
          if (d === "\\") {
            mask[i++] = STRING;
          } else if (d === "[") {
            inClass = true;
          } else if (d === "]") {
            inClass = false;
          } else if (d === "/" && !inClass) {
            break;
          }
          mask[i++] = STRING;
        }
        i++;
      }
    } else {
      i++;
    }
  }
  return mask;
}

/** `src` with comments blanked (`code`) and also string contents blanked (`bare`). */
function views(src: string, mask: Uint8Array): { code: string; bare: string } {
  const code: string[] = [];
  const bare: string[] = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    const m = mask[i];
    const blank = c === "\n" ? "\n" : " ";
    code.push(m === COMMENT ? blank : c);
    bare.push(m === CODE ? c : blank);
  }
  return { code: code.join(""), bare: bare.join("") };
}

// ---------------------------------------------------------------------------------------------
// Module scanning

interface Edge {
  target: string | null; // resolved path relative to root, null when not a relative .ts path
  spec: string;
  line: number;
}

interface ExportEntry {
  line: number;
  reexport: boolean;
}

interface Alias {
  name: string; // name exported by this module
  target: string;
  imported: string; // name in target
}

interface Ref {
  target: string;
  name: string; // "*" = every export of target
}

interface Module {
  path: string;
  bare: string;
  edges: Edge[];
  exports: Map<string, ExportEntry>;
  aliases: Alias[];
  stars: { target: string; line: number }[];
  refs: Ref[];
  declSites: Map<string, number>;
}

interface Binding {
  imported: string;
  local: string;
}

function lineAt(starts: number[], index: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function resolve(from: string, spec: string): string | null {
  if (!spec.startsWith("./") && !spec.startsWith("../")) return null;
  const p = posix.normalize(posix.join(posix.dirname(from), spec));
  return p.startsWith("../") ? null : p;
}

/** Not after an identifier character or a member-access dot (a spread `...` is fine). */
const NOT_MEMBER = String.raw`(?<![\w$])(?<!(?<!\.)\.)`;

function wordRe(name: string, flags = "g"): RegExp {
  return new RegExp(`${NOT_MEMBER}${name.replace(/\$/g, "\\$")}(?![\\w$])`, flags);
}

function countWord(text: string, name: string): number {
  return (text.match(wordRe(name)) ?? []).length;
}

function parseNamed(list: string): Binding[] {
  const out: Binding[] = [];
  for (let part of list.split(",")) {
    part = part.trim();
    if (part === "") continue;
    const m = /^(?:type\s+)?([\w$]+|"[^"]*")(?:\s+as\s+([\w$]+))?$/.exec(part);
    if (!m) continue;
    out.push({ imported: m[1].replace(/"/g, ""), local: m[2] ?? m[1] });
  }
  return out;
}

const IMPORT_FROM =
  /(?<![\w$.])import\s+(?:type\s+)?((?:[\w$]+\s*,?\s*)?(?:\*\s*as\s+[\w$]+|\{[^}]*\})?)\s*from\s*(["'])([^"'\n]+)\2/g;
const IMPORT_BARE = /(?<![\w$.])import\s*(["'])([^"'\n]+)\1/g;
const IMPORT_DYNAMIC = /(?<![\w$.])import\s*\(\s*(["'`])([^"'`$\n]+)\1\s*\)(\s*\.\s*([\w$]+))?/g;
const NEW_URL = /new\s+URL\s*\(\s*(["'`])([^"'`$\n]+)\1\s*,\s*import\.meta\.url\s*\)/g;
const EXPORT_FROM =
  /(?<![\w$.])export\s+(?:type\s+)?(\*(?:\s*as\s+([\w$]+))?|\{[^}]*\})\s*from\s*(["'])([^"'\n]+)\3/g;
const EXPORT_LIST = /(?<![\w$.])export\s+(?:type\s+)?\{([^}]*)\}(?!\s*from\b)/g;
const EXPORT_DECL =
  /(?<![\w$.])export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\s*\*?|class|const\s+enum|enum|const|let|var|type|interface|namespace)\s+([\w$]+)/g;
const EXPORT_DEFAULT = /(?<![\w$.])export\s+default\b/g;

function scan(path: string, src: string): Module {
  const mask = lex(src);
  const { code, bare } = views(src, mask);
  const starts = [0];
  for (let i = 0; i < src.length; i++) if (src[i] === "\n") starts.push(i + 1);
  const mod: Module = {
    path,
    bare,
    edges: [],
    exports: new Map(),
    aliases: [],
    stars: [],
    refs: [],
    declSites: new Map(),
  };
  const statements: [number, number][] = []; // import/export-list spans, blanked for use counts
  const addExport = (name: string, index: number, reexport = false) => {
    if (!mod.exports.has(name)) mod.exports.set(name, { line: lineAt(starts, index), reexport });
  };
  const each = (re: RegExp, fn: (m: RegExpExecArray) => void) => {
    re.lastIndex = 0;
    for (let m = re.exec(code); m; m = re.exec(code)) if (mask[m.index] === CODE) fn(m);
  };
  const edge = (spec: string, index: number): string | null => {
    const target = resolve(path, spec);
    mod.edges.push({ target, spec, line: lineAt(starts, index) });
    return target;
  };

  // Imports: bindings, resolved later against their uses.
  const imports = new Map<string, { target: string; imported: string }>();
  const namespaces = new Map<string, string>();
  each(IMPORT_FROM, (m) => {
    statements.push([m.index, m.index + m[0].length]);
    const target = edge(m[3], m.index);
    if (target === null) return;
    let clause = m[1].trim();
    const def = /^([\w$]+)\s*(?:,|$)/.exec(clause);
    if (def) {
      imports.set(def[1], { target, imported: "default" });
      clause = clause.slice(def[0].length).trim();
    }
    const ns = /^\*\s*as\s+([\w$]+)/.exec(clause);
    if (ns) namespaces.set(ns[1], target);
    const named = /^\{([^}]*)\}/.exec(clause);
    if (named) {
      for (const b of parseNamed(named[1])) imports.set(b.local, { target, imported: b.imported });
    }
  });
  each(IMPORT_BARE, (m) => void edge(m[2], m.index));
  each(IMPORT_DYNAMIC, (m) => {
    const target = edge(m[2], m.index);
    if (target === null) return;
    const before = code.slice(Math.max(0, m.index - 300), m.index);
    const destructured = /(?:const|let|var)\s*\{([^}]*)\}\s*=\s*(?:await\s*)?$/.exec(before);
    const bound = /(?:const|let|var)\s+([\w$]+)\s*=\s*(?:await\s*)?$/.exec(before);
    if (m[4]) mod.refs.push({ target, name: m[4] });
    else if (destructured) {
      for (const part of destructured[1].split(",")) {
        const name = /^\s*([\w$]+)/.exec(part)?.[1];
        if (name) mod.refs.push({ target, name });
      }
    } else if (bound) namespaces.set(bound[1], target);
    else mod.refs.push({ target, name: "*" });
  });
  each(NEW_URL, (m) => void edge(m[2], m.index));

  // Re-exports.
  each(EXPORT_FROM, (m) => {
    statements.push([m.index, m.index + m[0].length]);
    const target = edge(m[4], m.index);
    if (target === null) return;
    if (m[1].startsWith("*")) {
      if (m[2]) {
        addExport(m[2], m.index, true);
        mod.aliases.push({ name: m[2], target, imported: "*" });
      } else mod.stars.push({ target, line: lineAt(starts, m.index) });
      return;
    }
    for (const b of parseNamed(m[1].slice(1, -1))) {
      addExport(b.local, m.index, true);
      mod.aliases.push({ name: b.local, target, imported: b.imported });
    }
  });

  // Local exports.
  each(EXPORT_LIST, (m) => {
    statements.push([m.index, m.index + m[0].length]);
    for (const b of parseNamed(m[1])) {
      const imp = imports.get(b.imported);
      addExport(b.local, m.index, imp !== undefined);
      if (imp) {
        mod.aliases.push({ name: b.local, target: imp.target, imported: imp.imported });
      } else {
        mod.declSites.set(b.imported, (mod.declSites.get(b.imported) ?? 0) + 1);
      }
    }
  });
  each(EXPORT_DECL, (m) => {
    addExport(m[1], m.index);
    mod.declSites.set(m[1], (mod.declSites.get(m[1]) ?? 0) + 1);
  });
  each(EXPORT_DEFAULT, (m) => addExport("default", m.index));

  // Uses of imported bindings outside the import/export statements themselves.
  const chars = bare.split("");
  for (const [a, b] of statements) {
    for (let i = a; i < b; i++) if (chars[i] !== "\n") chars[i] = " ";
  }
  mod.bare = chars.join("");
  for (const [local, imp] of imports) {
    if (countWord(mod.bare, local) > 0) mod.refs.push({ target: imp.target, name: imp.imported });
  }
  for (const [ns, target] of namespaces) {
    const re = new RegExp(`${NOT_MEMBER}${ns.replace(/\$/g, "\\$")}\\s*(\\.\\s*([\\w$]+))?`, "g");
    for (const m of mod.bare.matchAll(re)) mod.refs.push({ target, name: m[2] ?? "*" });
  }
  return mod;
}

// ---------------------------------------------------------------------------------------------
// Tree walking

function listTs(root: string, dir: string, out: string[]): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(`${root}/${dir}`)];
  } catch {
    return;
  }
  for (const e of entries) {
    const rel = dir === "" ? e.name : `${dir}/${e.name}`;
    if (e.isDirectory) {
      if (e.name === "node_modules" || e.name.startsWith(".") || rel === "tests/lab/out") continue;
      listTs(root, rel, out);
    } else if (e.isFile && e.name.endsWith(".ts")) out.push(rel);
  }
}

/** Options of {@link checkTree}. */
export interface CheckOptions {
  /** Allowlist path relative to the root (default `tests/tools/check_rules_allow.txt`). */
  allowlist?: string;
}

/** Checks the tree at `root` and returns its violations sorted by path and line. */
export async function checkTree(root: string, options: CheckOptions = {}): Promise<Violation[]> {
  const files: string[] = [];
  for (const d of ["ffi", "src", "tests"]) listTs(root, d, files);
  try {
    if (Deno.statSync(`${root}/main.ts`).isFile) files.push("main.ts");
  } catch { /* no main.ts */ }
  const mods = new Map<string, Module>();
  files.sort();
  const texts = await Promise.all(files.map((p) => Deno.readTextFile(`${root}/${p}`)));
  files.forEach((p, i) => mods.set(p, scan(p, texts[i])));
  const out: Violation[] = [];
  const add = (path: string, line: number, rule: string, message: string) =>
    out.push({ path, line, rule, message });

  // Layering and native memory.
  for (const mod of mods.values()) {
    const from = mod.path;
    if (!isProduct(from)) continue;
    if (!from.startsWith("ffi/") && !from.startsWith("src/capture/")) {
      for (const m of mod.bare.matchAll(UNSAFE_API)) {
        const line = mod.bare.slice(0, m.index).split("\n").length;
        add(from, line, "native", `Deno.${m[1]} outside ffi/ and src/capture/`);
      }
    }
    if (from === "main.ts") continue; // the top layer may import anything
    const fl = layerOf(from);
    if (fl < 0) {
      add(from, 1, "layer", "file is in no layer (add its directory to LAYERS in check_rules.ts)");
      continue;
    }
    const fname = LAYERS[fl].name;
    for (const e of mod.edges) {
      if (e.target === null) {
        if (fname === "src/proto/" && !e.spec.startsWith("node:")) {
          add(from, e.line, "proto-pure", `imports "${e.spec}" (proto may import only src/proto/)`);
        }
        continue;
      }
      const to = e.target;
      if (to === "main.ts" || to.startsWith("tests/")) {
        add(from, e.line, "layer", `imports ${to} (ffi/ and src/ never import main.ts or tests/)`);
        continue;
      }
      const tl = layerOf(to);
      const tname = tl < 0 ? to : LAYERS[tl].name;
      if (tl > fl) {
        add(from, e.line, "layer", `${fname} imports higher layer ${tname} (${e.spec})`);
      } else if (tname === "ffi/" && NO_FFI.has(fname)) {
        add(from, e.line, "native", `${fname} imports ffi/ (${e.spec}); only capture may`);
      } else if (fname === "src/proto/" && tname !== "src/proto/") {
        add(
          from,
          e.line,
          "proto-pure",
          `imports ${tname} (${e.spec}); proto may import only proto`,
        );
      }
    }
  }

  // Dead exports: who uses (module, name)?
  const direct = new Map<string, Set<string>>(); // "path\0name" -> using files
  const key = (p: string, n: string) => `${p}\0${n}`;
  const reverseAlias = new Map<string, string[]>(); // original -> re-exporting keys
  const reverseStar = new Map<string, string[]>(); // module -> modules doing `export *` of it
  const push = <T>(m: Map<string, T[]>, k: string, v: T) => {
    const list = m.get(k);
    if (list) list.push(v);
    else m.set(k, [v]);
  };
  for (const mod of mods.values()) {
    for (const r of mod.refs) {
      const k = key(r.target, r.name);
      const set = direct.get(k) ?? new Set();
      set.add(mod.path);
      direct.set(k, set);
    }
    for (const a of mod.aliases) {
      push(reverseAlias, key(a.target, a.imported), key(mod.path, a.name));
    }
    for (const s of mod.stars) push(reverseStar, s.target, mod.path);
  }
  // Files using (path, name), directly or through re-exports. A result computed while a
  // re-export cycle was cut short is partial, so it is not memoised.
  const memo = new Map<string, Set<string>>();
  const active = new Set<string>();
  let cycles = 0;
  const users = (path: string, name: string): Set<string> => {
    const k = key(path, name);
    const done = memo.get(k);
    if (done) return done;
    if (active.has(k)) {
      cycles++;
      return new Set();
    }
    active.add(k);
    const cyclesBefore = cycles;
    const set = new Set<string>();
    for (const f of direct.get(k) ?? []) set.add(f);
    for (const f of direct.get(key(path, "*")) ?? []) set.add(f);
    for (const alias of reverseAlias.get(k) ?? []) {
      const [p, n] = alias.split("\0");
      for (const f of users(p, n)) set.add(f);
    }
    for (const b of reverseStar.get(path) ?? []) {
      if (name !== "default") { for (const f of users(b, name)) set.add(f); }
    }
    // `export * as ns` makes every name of the target reachable through ns.
    for (const alias of reverseAlias.get(key(path, "*")) ?? []) {
      const [p, n] = alias.split("\0");
      for (const f of users(p, n)) set.add(f);
    }
    set.delete(path);
    active.delete(k);
    if (cycles === cyclesBefore) memo.set(k, set);
    return set;
  };
  const exportNames = (path: string, seen = new Set<string>()): Set<string> => {
    const names = new Set<string>();
    const mod = mods.get(path);
    if (!mod || seen.has(path)) return names;
    seen.add(path);
    for (const n of mod.exports.keys()) names.add(n);
    for (const s of mod.stars) for (const n of exportNames(s.target, seen)) names.add(n);
    names.delete("default");
    return names;
  };
  const dead: { v: Violation; name: string }[] = [];
  for (const mod of mods.values()) {
    if (!mod.path.startsWith("src/") && !mod.path.startsWith("ffi/")) continue;
    for (const [name, entry] of mod.exports) {
      const all = [...users(mod.path, name)].sort();
      if (all.some(isProduct)) continue;
      let message: string;
      const label = entry.reexport ? `re-export '${name}'` : `'${name}'`;
      if (all.length > 0) {
        const more = all.length > 1 ? ` +${all.length - 1}` : "";
        message = `${label} has no caller outside tests/tools (${all[0]}${more})`;
      } else if (entry.reexport) {
        message = `${label} is unused (nobody imports it from here)`;
      } else {
        const own = countWord(mod.bare, name) - (mod.declSites.get(name) ?? 0);
        message = own > 0
          ? `'${name}' is used only in its own file (drop the export)`
          : `'${name}' is unused`;
      }
      dead.push({ v: { path: mod.path, line: entry.line, rule: "dead-export", message }, name });
    }
    for (const s of mod.stars) {
      const names = [...exportNames(s.target)];
      if (names.some((n) => [...users(mod.path, n)].some(isProduct))) continue;
      const rel = posix.relative(posix.dirname(mod.path), s.target);
      const message = `export * from "./${rel}": no product file imports any of its names here`;
      dead.push({ v: { path: mod.path, line: s.line, rule: "dead-export", message }, name: "*" });
    }
  }

  // Allowlist.
  const allowPath = options.allowlist ?? ALLOWLIST;
  const allowed = new Map<string, { line: number; used: boolean }>();
  let allowText = "";
  try {
    allowText = await Deno.readTextFile(`${root}/${allowPath}`);
  } catch { /* no allowlist */ }
  allowText.split("\n").forEach((raw, i) => {
    const text = raw.trim();
    if (text === "" || text.startsWith("#")) return;
    const m = /^(\S+)\s+(\S+)\s+--\s*(\S.*)$/.exec(text);
    if (!m) {
      add(allowPath, i + 1, "allowlist", "entry must be `path name -- reason`");
      return;
    }
    allowed.set(key(m[1], m[2]), { line: i + 1, used: false });
  });
  for (const d of dead) {
    const entry = allowed.get(key(d.v.path, d.name));
    if (entry) entry.used = true;
    else out.push(d.v);
  }
  for (const [k, entry] of allowed) {
    if (!entry.used) {
      add(allowPath, entry.line, "allowlist", `stale entry ${k.replace("\0", " ")} (no violation)`);
    }
  }

  return out.sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : a.line - b.line || (a.message < b.message ? -1 : 1)
  );
}

/** Formats a violation as `path:line: rule: message`. */
export function formatViolation(v: Violation): string {
  return `${v.path}:${v.line}: ${v.rule}: ${v.message}`;
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--root");
  const root = at >= 0
    ? Deno.args[at + 1]
    : fileURLToPath(new URL("../..", import.meta.url)).replace(/[\\/]$/, "");
  const violations = await checkTree(root);
  for (const v of violations) console.log(formatViolation(v));
  if (violations.length > 0) {
    console.error(`check_rules: ${violations.length} violation(s)`);
    Deno.exit(1);
  }
}
