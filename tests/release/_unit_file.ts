/**
 * A small parser for systemd unit files (the subset of systemd.syntax(7)
 * that unit files use): `[Section]` headers, `Key=Value` lines, `#`/`;`
 * comments, trailing-backslash continuation lines. Repeated keys keep every
 * value, in order. Anything else is an error, with its line number.
 *
 * @module
 */

/** Section name → key → values (in file order). */
export type UnitFile = Map<string, Map<string, string[]>>;

/** A line the parser does not accept. */
export class UnitSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

/** Parses unit file text; throws {@linkcode UnitSyntaxError}. */
export function parseUnitFile(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i].trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) {
      line = `${line.slice(0, -1).trimEnd()} ${lines[++i].trim()}`;
    }
    const header = /^\[([^\[\]]+)\]$/.exec(line);
    if (header) {
      if (unit.has(header[1])) throw new UnitSyntaxError(lineNo, `section [${header[1]}] twice`);
      section = new Map();
      unit.set(header[1], section);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) throw new UnitSyntaxError(lineNo, `not "Key=Value": ${line}`);
    const key = line.slice(0, eq).trim();
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(key)) {
      throw new UnitSyntaxError(lineNo, `bad key "${key}"`);
    }
    if (section === undefined) throw new UnitSyntaxError(lineNo, `"${key}" before any [Section]`);
    const values = section.get(key) ?? [];
    values.push(line.slice(eq + 1).trim());
    section.set(key, values);
  }
  return unit;
}

/** The only value of `key` in `section`; throws when absent or repeated. */
export function single(unit: UnitFile, section: string, key: string): string {
  const values = unit.get(section)?.get(key);
  if (values === undefined) throw new Error(`[${section}] ${key}= is missing`);
  if (values.length !== 1) throw new Error(`[${section}] ${key}= is set ${values.length} times`);
  return values[0];
}

/** All values of `key` in `section` (empty when absent). */
export function all(unit: UnitFile, section: string, key: string): string[] {
  return unit.get(section)?.get(key) ?? [];
}

/** Parses a systemd EnvironmentFile / /etc/default file: `NAME=value` lines, `#` comments. */
export function parseEnvironmentFile(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new UnitSyntaxError(i + 1, `not "NAME=value": ${line}`);
    let value = m[2];
    if (/^".*"$|^'.*'$/.test(value)) value = value.slice(1, -1);
    env.set(m[1], value);
  }
  return env;
}
