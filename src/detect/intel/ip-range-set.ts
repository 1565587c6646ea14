/**
 * IP addresses and CIDR ranges, IPv4 and IPv6, in a set that answers "is this IP listed, and
 * under which entry?" in O(log n): ranges are cut into disjoint segments once at build time, and
 * a lookup is one binary search
 * (numbers for IPv4, BigInt for IPv6). Lists of a million entries cost a few MB and a lookup
 * stays under a microsecond.
 */

export interface ParsedIp {
  readonly v: 4 | 6;
  /** IPv4 as an unsigned 32-bit number, IPv6 as a 128-bit BigInt. */
  readonly value: number | bigint;
}

/** Dotted-quad IPv4 → unsigned 32-bit number, or null. */
export function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (p.length === 0 || p.length > 3) return null;
    let x = 0;
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return null;
      x = x * 10 + c;
    }
    if (x > 255) return null;
    n = n * 256 + x;
  }
  return n;
}

/** IPv6 text (with `::`, embedded IPv4, zone id) → 128-bit BigInt, or null. */
export function parseIPv6(input: string): bigint | null {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (s.length < 2 || s.length > 45 || !s.includes(':')) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const toGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (v4 === null) return null;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
      out.push(parseInt(p, 16));
    }
    return out;
  };
  const head = toGroups(halves[0]!);
  const tail = halves.length === 2 ? toGroups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  let groups: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;

/** Parse an IP; IPv4-mapped IPv6 (::ffff:1.2.3.4) becomes IPv4 so both spellings match. */
export function parseIp(s: string): ParsedIp | null {
  const v4 = parseIPv4(s);
  if (v4 !== null) return { v: 4, value: v4 };
  const v6 = parseIPv6(s);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { v: 4, value: Number(v6 - V4_MAPPED_PREFIX) };
  return { v: 6, value: v6 };
}

export interface IpRange {
  readonly v: 4 | 6;
  readonly start: number | bigint;
  readonly end: number | bigint;
}

/** `1.2.3.4`, `1.2.3.0/24`, `2001:db8::/32` → the range it covers, or null. */
export function parseIpOrCidr(text: string): IpRange | null {
  const s = text.trim();
  const slash = s.indexOf('/');
  const addr = slash >= 0 ? s.slice(0, slash) : s;
  const ip = parseIp(addr);
  if (ip === null) return null;
  const v6Mapped = ip.v === 4 && addr.includes(':');
  const bits = ip.v === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const ptxt = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(ptxt)) return null;
    prefix = Number(ptxt);
    // ::ffff:0:0/96-style prefixes count the 96 mapped bits.
    if (v6Mapped) prefix -= 96;
    if (prefix < 0 || prefix > bits) return null;
  }
  if (ip.v === 4) {
    const size = 2 ** (32 - prefix);
    const start = Math.floor((ip.value as number) / size) * size;
    return { v: 4, start, end: start + size - 1 };
  }
  const host = 128n - BigInt(prefix);
  const mask = (1n << host) - 1n;
  const start = (ip.value as bigint) & ~mask;
  return { v: 6, start, end: start | mask };
}

interface Built<T> {
  starts: T[];
  ends: T[];
  labels: string[];
}

interface Arith<T> {
  next(x: T): T;
  prev(x: T): T;
  size(start: T, end: T): T;
}
const NUM: Arith<number> = { next: (x) => x + 1, prev: (x) => x - 1, size: (a, b) => b - a };
const BIG: Arith<bigint> = { next: (x) => x + 1n, prev: (x) => x - 1n, size: (a, b) => b - a };

/**
 * Cut the listed ranges into disjoint segments, each labelled with the most specific entry that
 * covers it (the smallest range; the first listed on a tie), so a lookup names an entry that
 * really contains the address: with `10.0.0.0/8` and `10.1.2.3` listed, 10.1.2.3 reports itself
 * and 10.200.0.1 reports the /8. One sweep over the sorted boundaries; the set of ranges open at
 * once is at most the nesting depth (33 for IPv4 CIDRs, 129 for IPv6). Adjacent segments with the
 * same label are merged.
 */
function build<T extends number | bigint>(entries: { start: T; end: T; label: string }[], ar: Arith<T>): Built<T> {
  const points: { at: T; open: boolean; i: number }[] = [];
  entries.forEach((e, i) => {
    points.push({ at: e.start, open: true, i }, { at: ar.next(e.end), open: false, i });
  });
  points.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const out: Built<T> = { starts: [], ends: [], labels: [] };
  const active = new Set<number>();
  let k = 0;
  while (k < points.length) {
    const at = points[k]!.at;
    for (; k < points.length && points[k]!.at === at; k++) {
      const p = points[k]!;
      if (p.open) active.add(p.i);
      else active.delete(p.i);
    }
    if (active.size === 0 || k === points.length) continue;
    let best = -1;
    for (const i of active) {
      if (best < 0) best = i;
      else {
        const si = ar.size(entries[i]!.start, entries[i]!.end);
        const sb = ar.size(entries[best]!.start, entries[best]!.end);
        if (si < sb || (si === sb && i < best)) best = i;
      }
    }
    // The segment runs from `at` up to just before the next boundary.
    const nextAt = points[k]!.at;
    const label = entries[best]!.label;
    const n = out.ends.length;
    if (n > 0 && out.labels[n - 1] === label && ar.next(out.ends[n - 1]!) === at) {
      out.ends[n - 1] = ar.prev(nextAt);
    } else {
      out.starts.push(at);
      out.ends.push(ar.prev(nextAt));
      out.labels.push(label);
    }
  }
  return out;
}

function search<T extends number | bigint>(b: Built<T>, x: T): string | null {
  let lo = 0;
  let hi = b.starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (b.starts[mid]! <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0 || b.ends[found]! < x) return null;
  return b.labels[found]!;
}

export class IpRangeSet {
  readonly #v4: Built<number>;
  readonly #v6: Built<bigint>;
  /** Entries as listed (before merging). */
  readonly size: number;

  constructor(entries: readonly { readonly range: IpRange; readonly label: string }[]) {
    const v4: { start: number; end: number; label: string }[] = [];
    const v6: { start: bigint; end: bigint; label: string }[] = [];
    for (const { range, label } of entries) {
      if (range.v === 4) v4.push({ start: range.start as number, end: range.end as number, label });
      else v6.push({ start: range.start as bigint, end: range.end as bigint, label });
    }
    this.#v4 = build(v4, NUM);
    this.#v6 = build(v6, BIG);
    this.size = entries.length;
  }

  /** The listed entry (as written) that covers `ip`, or null. Unparseable input is null. */
  match(ip: string): string | null {
    const p = parseIp(ip);
    if (p === null) return null;
    return p.v === 4 ? search(this.#v4, p.value as number) : search(this.#v6, p.value as bigint);
  }
}
