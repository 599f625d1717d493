/**
 * Text forms of IP addresses for device listings: dotted quad and RFC 5952
 * IPv6 (lower case, longest run of two or more zero groups as `::`,
 * IPv4-mapped as `::ffff:a.b.c.d`).
 *
 * @module
 */

/** `bytes[offset .. offset + 4)` as a dotted quad. */
export function ipv4Text(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** `bytes[offset .. offset + 16)` in RFC 5952 form. */
export function ipv6Text(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[offset + 2 * i] << 8) | bytes[offset + 2 * i + 1]);
  if (
    groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 &&
    groups[4] === 0 && groups[5] === 0xffff
  ) {
    return `::ffff:${ipv4Text(bytes, offset + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups.slice(from, to).map((g) => g.toString(16)).join(":");
  if (bestLen < 2) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/**
 * Parses a dotted quad or an IPv6 text form (with `::` and an embedded
 * dotted quad) into big-endian 32-bit words, the layout of
 * `DecodedPacket.src` (IPv4: word 0, the rest 0). Returns 4 or 6, or 0 when
 * `text` is not an address (`out` is then unspecified).
 */
export function ipTextToWords(text: string, out: Uint32Array): number {
  out.fill(0);
  if (!text.includes(":")) {
    const v = ipv4Value(text);
    if (v < 0) return 0;
    out[0] = v;
    return 4;
  }
  const groups: number[] = [];
  const halves = text.split("::");
  if (halves.length > 2) return 0;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (i === items.length - 1 && it.includes(".")) {
        const v = ipv4Value(it);
        if (v < 0) return null;
        out.push(v >>> 16, v & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(it)) out.push(parseInt(it, 16));
      else return null;
    }
    return out;
  };
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  if (head === null || tail === null) return 0;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return 0;
  groups.push(...head, ...new Array(halves.length === 2 ? fill : 0).fill(0), ...tail);
  for (let i = 0; i < 4; i++) out[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return 6;
}

/** A dotted quad's value, or -1. */
function ipv4Value(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4) return -1;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return -1;
    v = v * 256 + Number(p);
  }
  return v;
}
