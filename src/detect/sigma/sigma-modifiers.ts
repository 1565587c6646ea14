/**
 * Sigma value modifiers (appendix-modifiers v2.1.0): turns `field|mod1|mod2: values` into a
 * FieldItemNode whose values carry the modifiers' meaning. Modifiers apply in order, as in
 * pySigma: encoders (wide/utf16*, base64, base64offset, windash) transform the value text,
 * contains/startswith/endswith add wildcards, and the rest choose the kind of test.
 * Unsupported or misused modifiers are errors with the reason, never silently ignored.
 */
import { prepareRuleRegex } from './sigma-safe-regex.js';
import type {
  CompareOp,
  FieldRefMode,
  PatternPart,
  RegexFlags,
  SigmaValueNode,
  StringPattern,
  TimePart,
} from './sigma-ast.js';

const TIME_PARTS: readonly TimePart[] = ['minute', 'hour', 'day', 'week', 'month', 'year'];
import type { ResolvedField, SigmaFieldMapping } from './sigma-field-mapping.js';

const KNOWN_MODIFIERS = new Set([
  'contains',
  'startswith',
  'endswith',
  'all',
  'exists',
  'cased',
  'neq',
  'windash',
  're',
  'i',
  'ignorecase',
  'm',
  'multiline',
  's',
  'dotall',
  'base64',
  'base64offset',
  'utf16le',
  'wide',
  'utf16be',
  'utf16',
  'lt',
  'lte',
  'gt',
  'gte',
  'cidr',
  'fieldref',
  'expand',
  'minute',
  'hour',
  'day',
  'week',
  'month',
  'year',
]);

const UNSUPPORTED_REASON: Readonly<Record<string, string>> = {
  expand: 'placeholders (%name%) have no values in EKS Sleuth; a tool that cannot resolve them must reject the rule',
};

// windash permutations grow as 5^n; beyond this many dashes the rule is rejected.
const WINDASH_MAX_DASHES = 4;
const WINDASH_CHARS = ['-', '/', '\u2013', '\u2014', '\u2015'] as const;

export interface ModifiedItem {
  readonly values: readonly SigmaValueNode[];
  readonly all: boolean;
  readonly negated: boolean;
}

export type ItemResult =
  { readonly ok: true; readonly item: ModifiedItem } | { readonly ok: false; readonly message: string };

/** Split `field|mod|mod` into the field name and the modifiers. */
export function splitFieldKey(key: string): { field: string; modifiers: string[] } {
  const [field = '', ...modifiers] = key.split('|');
  return { field, modifiers };
}

/** Parse a Sigma string (wildcards `*` `?`, backslash escapes) into a pattern. */
export function parseSigmaString(s: string): StringPattern {
  const parts: PatternPart[] = [];
  let lit = '';
  const flush = (): void => {
    if (lit.length > 0) parts.push({ kind: 'literal', text: lit });
    lit = '';
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const n = s[i + 1];
      // pySigma: `\` escapes `*`, `?` and `\`; before anything else it is a literal backslash.
      if (n === '*' || n === '?' || n === '\\') {
        lit += n;
        i++;
      } else lit += '\\';
    } else if (c === '*') {
      flush();
      if (parts[parts.length - 1]?.kind !== 'star') parts.push({ kind: 'star' });
    } else if (c === '?') {
      flush();
      parts.push({ kind: 'one' });
    } else lit += c;
  }
  flush();
  return Object.freeze({ parts: Object.freeze(parts) });
}

export function literalPattern(text: string): StringPattern {
  const parts: PatternPart[] = text.length === 0 ? [] : [{ kind: 'literal', text }];
  return Object.freeze({ parts: Object.freeze(parts) });
}

export function patternHasWildcards(p: StringPattern): boolean {
  return p.parts.some((x) => x.kind !== 'literal');
}

/** Literal text of a pattern without wildcards. */
export function patternText(p: StringPattern): string {
  return p.parts.map((x) => (x.kind === 'literal' ? x.text : '')).join('');
}

function withStar(p: StringPattern, before: boolean, after: boolean): StringPattern {
  const parts = [...p.parts];
  if (before && parts[0]?.kind !== 'star') parts.unshift({ kind: 'star' });
  if (after && parts[parts.length - 1]?.kind !== 'star') parts.push({ kind: 'star' });
  return Object.freeze({ parts: Object.freeze(parts) });
}

/** Working value while string modifiers run: text plus whether it is already a byte string. */
interface WorkValue {
  pattern: StringPattern;
  binary: boolean;
}

/**
 * Build a field item. `raw` is the YAML value: scalar, null or list of scalars.
 */
export function buildFieldItem(
  _field: ResolvedField,
  modifiers: readonly string[],
  raw: unknown,
  mapping: SigmaFieldMapping,
): ItemResult {
  for (const m of modifiers) {
    if (!KNOWN_MODIFIERS.has(m)) return { ok: false, message: `unknown modifier '${m}'` };
    const why = UNSUPPORTED_REASON[m];
    if (why !== undefined) return { ok: false, message: `modifier '${m}' is not supported: ${why}` };
  }
  const has = (m: string): boolean => modifiers.includes(m);
  const rawList: unknown[] = Array.isArray(raw) ? raw : [raw];
  const all = has('all');
  const negated = has('neq');
  if (all && rawList.length < 2) return { ok: false, message: "modifier 'all' needs a list of at least two values" };
  for (const v of rawList) {
    if (v !== null && typeof v === 'object')
      return { ok: false, message: 'values must be scalars (string, number, boolean or null)' };
  }

  if (has('exists')) {
    if (modifiers.length !== 1)
      return { ok: false, message: "modifier 'exists' cannot be combined with other modifiers" };
    if (rawList.length !== 1 || typeof rawList[0] !== 'boolean')
      return { ok: false, message: "modifier 'exists' needs the value true or false" };
    return ok([rawList[0] ? { kind: 'present' } : { kind: 'null' }], false, false);
  }

  if (rawList.some((v) => v === null)) {
    if (rawList.length !== 1)
      return { ok: false, message: 'null must be the only value of its item (use a separate selection)' };
    if (modifiers.some((m) => m !== 'neq'))
      return { ok: false, message: 'null cannot be combined with value modifiers' };
    return ok([{ kind: 'null' }], false, negated);
  }

  const cmp = modifiers.filter((m) => m === 'lt' || m === 'lte' || m === 'gt' || m === 'gte');
  const parts = modifiers.filter((m): m is TimePart => (TIME_PARTS as readonly string[]).includes(m));
  if (parts.length > 0) {
    const extra = modifiers.filter(
      (m) => !(TIME_PARTS as readonly string[]).includes(m) && !['lt', 'lte', 'gt', 'gte', 'neq', 'all'].includes(m),
    );
    if (parts.length > 1 || cmp.length > 1 || extra.length > 0) {
      return {
        ok: false,
        message: `time modifier '${parts[0]}' takes at most one of lt, lte, gt, gte (and neq, all), not ${modifiers.filter((m) => m !== parts[0]).join(', ')}`,
      };
    }
    const out: SigmaValueNode[] = [];
    for (const v of rawList) {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
      if (!Number.isInteger(n))
        return { ok: false, message: `modifier '${parts[0]}' needs a whole number, got ${JSON.stringify(v)}` };
      out.push({ kind: 'timepart', part: parts[0]!, op: (cmp[0] as CompareOp | undefined) ?? 'eq', value: n });
    }
    return ok(out, all, negated);
  }
  if (cmp.length > 0) {
    if (cmp.length > 1 || modifiers.some((m) => !['lt', 'lte', 'gt', 'gte', 'neq', 'all'].includes(m))) {
      return {
        ok: false,
        message: `numeric modifier '${cmp[0]}' cannot be combined with ${modifiers.filter((m) => m !== cmp[0]).join(', ')}`,
      };
    }
    const out: SigmaValueNode[] = [];
    for (const v of rawList) {
      const n = typeof v === 'number' ? v : typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v) : NaN;
      if (!Number.isFinite(n))
        return { ok: false, message: `modifier '${cmp[0]}' needs a number, got ${JSON.stringify(v)}` };
      out.push({ kind: 'compare', op: cmp[0] as 'lt', value: n });
    }
    return ok(out, all, negated);
  }

  if (has('cidr')) {
    const extra = modifiers.filter((m) => m !== 'cidr' && m !== 'neq' && m !== 'all');
    if (extra.length > 0) return { ok: false, message: `modifier 'cidr' cannot be combined with ${extra.join(', ')}` };
    const out: SigmaValueNode[] = [];
    for (const v of rawList) {
      const c = typeof v === 'string' ? parseCidr(v) : null;
      if (c === null) return { ok: false, message: `invalid CIDR ${JSON.stringify(v)}` };
      out.push(c);
    }
    return ok(out, all, negated);
  }

  if (has('fieldref')) {
    const extra = modifiers.filter(
      (m) => !['fieldref', 'contains', 'startswith', 'endswith', 'cased', 'neq', 'all'].includes(m),
    );
    if (extra.length > 0)
      return { ok: false, message: `modifier 'fieldref' cannot be combined with ${extra.join(', ')}` };
    const mode: FieldRefMode = has('contains')
      ? 'contains'
      : has('startswith')
        ? 'startswith'
        : has('endswith')
          ? 'endswith'
          : 'equals';
    const out: SigmaValueNode[] = [];
    for (const v of rawList) {
      if (typeof v !== 'string' || v.length === 0)
        return { ok: false, message: "modifier 'fieldref' needs a field name" };
      out.push({ kind: 'fieldref', field: mapping.resolve(v), mode, cased: has('cased') });
    }
    return ok(out, all, negated);
  }

  if (has('re')) {
    const flagMods = new Set(['i', 'ignorecase', 'm', 'multiline', 's', 'dotall']);
    const extra = modifiers.filter((m) => m !== 're' && m !== 'neq' && m !== 'all' && !flagMods.has(m));
    if (extra.length > 0) return { ok: false, message: `modifier 're' cannot be combined with ${extra.join(', ')}` };
    const flags: RegexFlags = {
      ignoreCase: has('i') || has('ignorecase'),
      multiline: has('m') || has('multiline'),
      dotAll: has('s') || has('dotall'),
    };
    const out: SigmaValueNode[] = [];
    for (const v of rawList) {
      if (typeof v !== 'string') return { ok: false, message: "modifier 're' needs a string" };
      const bad = checkRegex(v, flags);
      if (bad !== null) return { ok: false, message: bad };
      out.push({ kind: 'regex', source: v, flags });
    }
    return ok(out, all, negated);
  }
  for (const f of ['i', 'ignorecase', 'm', 'multiline', 's', 'dotall']) {
    if (has(f)) return { ok: false, message: `modifier '${f}' is only valid after 're'` };
  }

  // String modifiers, applied in the order written.
  const cased = has('cased');
  let values: WorkValue[] = rawList.map((v) => ({
    pattern: typeof v === 'string' ? parseSigmaString(v) : literalPattern(String(v)),
    binary: false,
  }));
  for (const m of modifiers) {
    switch (m) {
      case 'contains':
        values = values.map((w) => ({ ...w, pattern: withStar(w.pattern, true, true) }));
        break;
      case 'startswith':
        values = values.map((w) => ({ ...w, pattern: withStar(w.pattern, false, true) }));
        break;
      case 'endswith':
        values = values.map((w) => ({ ...w, pattern: withStar(w.pattern, true, false) }));
        break;
      case 'wide':
      case 'utf16le':
      case 'utf16be':
      case 'utf16': {
        for (const w of values) {
          if (patternHasWildcards(w.pattern))
            return { ok: false, message: `modifier '${m}' cannot encode a value with wildcards` };
          const text = patternText(w.pattern);
          let bytes: Buffer;
          if (m === 'utf16be') bytes = Buffer.from(text, 'utf16le').swap16();
          else if (m === 'utf16') bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
          else bytes = Buffer.from(text, 'utf16le');
          w.pattern = literalPattern(bytes.toString('latin1'));
          w.binary = true;
        }
        break;
      }
      case 'base64':
      case 'base64offset': {
        const next: WorkValue[] = [];
        for (const w of values) {
          if (patternHasWildcards(w.pattern))
            return { ok: false, message: `modifier '${m}' cannot encode a value with wildcards` };
          const bytes = Buffer.from(patternText(w.pattern), w.binary ? 'latin1' : 'utf8');
          if (m === 'base64') next.push({ pattern: literalPattern(bytes.toString('base64')), binary: false });
          else for (const s of base64Offsets(bytes)) next.push({ pattern: literalPattern(s), binary: false });
        }
        values = next;
        break;
      }
      case 'windash': {
        const next: WorkValue[] = [];
        for (const w of values) {
          const variants = windashVariants(w.pattern);
          if (variants === null)
            return { ok: false, message: `modifier 'windash': more than ${WINDASH_MAX_DASHES} dashes in one value` };
          for (const p of variants) next.push({ pattern: p, binary: w.binary });
        }
        values = next;
        break;
      }
      default:
        break; // all, cased, neq: item-level flags handled above/below
    }
  }
  const out: SigmaValueNode[] = values.map((w) => {
    const only = w.pattern.parts;
    // A lone `*` stands for "any value" (SigmaHQ k8s rules use it where `exists` was meant).
    if (only.length === 1 && only[0]!.kind === 'star') return { kind: 'present' };
    return { kind: 'string', pattern: w.pattern, cased };
  });
  return ok(out, all, negated);
}

const NUMERIC = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

function ok(values: readonly SigmaValueNode[], all: boolean, negated: boolean): ItemResult {
  return {
    ok: true,
    item: Object.freeze({ values: Object.freeze(values.map((v) => Object.freeze(v))), all, negated }),
  };
}

/** The three base64 strings that appear when `bytes` sits at offsets 0, 1, 2 of encoded data. */
export function base64Offsets(bytes: Buffer): string[] {
  const start = [0, 2, 3];
  const end = [0, -3, -2];
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    const enc = Buffer.concat([Buffer.alloc(i, 0x20), bytes]).toString('base64');
    const e = end[(bytes.length + i) % 3]!;
    out.push(enc.slice(start[i], e === 0 ? undefined : e));
  }
  return out;
}

function windashVariants(p: StringPattern): StringPattern[] | null {
  // pySigma: a dash or slash at the start of a word (\B[-/]\b) is an option prefix.
  let dashes = 0;
  for (const part of p.parts) if (part.kind === 'literal') dashes += [...part.text.matchAll(/\B[-/]\b/g)].length;
  if (dashes > WINDASH_MAX_DASHES) return null;
  let out: PatternPart[][] = [[]];
  for (const part of p.parts) {
    if (part.kind !== 'literal') {
      out = out.map((x) => [...x, part]);
      continue;
    }
    const pieces = part.text.split(/\B[-/]\b/);
    let texts = [pieces[0]!];
    for (let k = 1; k < pieces.length; k++) {
      const next: string[] = [];
      for (const t of texts) for (const d of WINDASH_CHARS) next.push(t + d + pieces[k]!);
      texts = next;
    }
    const grown: PatternPart[][] = [];
    for (const x of out) for (const t of texts) grown.push([...x, { kind: 'literal', text: t }]);
    out = grown;
  }
  return out.map((parts) =>
    Object.freeze({ parts: Object.freeze(parts.filter((q) => q.kind !== 'literal' || q.text.length > 0)) }),
  );
}

/**
 * Accept only the regex subset both JavaScript and DuckDB (RE2) read the same way: the spec's
 * PCRE subset plus common escapes. Backreferences and lookaround are RE2-incompatible.
 */
function checkRegex(source: string, flags: RegexFlags): string | null {
  if (/\\[1-9]|\(\?[=!<]/.test(source)) return 'regex uses backreferences or lookaround, which are not supported';
  // A quantified group that itself contains a quantifier ((a+)+, (\w*)*) backtracks
  // exponentially in JavaScript on crafted input; log values are attacker-controlled.
  if (/\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]/.test(source))
    return 'regex has nested quantifiers such as (a+)+, which can take exponential time on hostile input; rewrite it';
  try {
    new RegExp(source, (flags.ignoreCase ? 'i' : '') + (flags.multiline ? 'm' : '') + (flags.dotAll ? 's' : ''));
  } catch (e) {
    return `invalid regular expression: ${(e as Error).message}`;
  }
  // Other super-linear shapes (a.*a.*a.*b, (a|a)*) are caught at run time by V8's linear
  // engine fallback, which needs a regex that engine can run.
  const safe = prepareRuleRegex(source, flags);
  return 'error' in safe ? safe.error : null;
}

/** Parse `a.b.c.d/n` or an IPv6 CIDR into bytes and a prefix length. */
export function parseCidr(s: string): SigmaValueNode | null {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const bytes = parseIp(addr);
  if (bytes === null) return null;
  const max = bytes.length * 8;
  const prefix = slash < 0 ? max : Number(s.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (slash >= 0 && !/^\d+$/.test(s.slice(slash + 1))))
    return null;
  return { kind: 'cidr', cidr: s, version: bytes.length === 4 ? 4 : 6, bytes, prefix };
}

/** IPv4 dotted quad (4 bytes) or IPv6 (16 bytes); null when not an address. */
export function parseIp(s: string): number[] | null {
  if (s.length > 45) return null;
  if (s.includes('.') && !s.includes(':')) {
    const parts = s.split('.');
    if (parts.length !== 4) return null;
    const out: number[] = [];
    for (const p of parts) {
      if (!/^\d{1,3}$/.test(p)) return null;
      const n = Number(p);
      if (n > 255) return null;
      out.push(n);
    }
    return out;
  }
  if (!s.includes(':')) return null;
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return null;
  const parseGroups = (t: string): number[] | null => {
    if (t === '') return [];
    const out: number[] = [];
    const gs = t.split(':');
    for (let i = 0; i < gs.length; i++) {
      const g = gs[i]!;
      if (i === gs.length - 1 && g.includes('.')) {
        const v4 = parseIp(g);
        if (v4 === null) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const head = parseGroups(s.slice(0, dbl));
    const tail = parseGroups(s.slice(dbl + 2));
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const g = parseGroups(s);
    if (g === null || g.length !== 8) return null;
    groups = g;
  }
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  return bytes;
}
