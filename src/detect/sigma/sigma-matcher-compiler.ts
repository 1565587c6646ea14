/**
 * Compiles a resolved Sigma expression into a closure over AuditEvent, once per rule.
 * Semantics (shared with sigma-sql-compiler.ts, which must give the same answers):
 * - strings compare case-insensitively unless `cased`; numbers and booleans compare by their
 *   JSON text (`403` matches 403 and "403");
 * - a field matches when ANY of its values matches (arrays are walked element by element);
 *   `all` needs every listed value to match (each by some element); `neq` negates the item;
 * - `null` matches a missing field or JSON null; `*` alone and `exists: true` need a non-null value;
 * - regexes search (unanchored), case-sensitive unless `|i`; they fall back to V8's
 *   linear-time engine when they backtrack too much (sigma-safe-regex.ts), and inputs are
 *   capped at REGEX_INPUT_CAP characters, so a hostile event cannot make a rule's regex run long;
 * - keywords search the raw event JSON text.
 */
import type { AuditEvent } from '../../model/audit-event.js';
import type {
  CompareOp,
  FieldItemNode,
  KeywordItemNode,
  SigmaExpr,
  SigmaValueNode,
  StringPattern,
  TimePart,
} from './sigma-ast.js';
import { compileValueVisitor, type ValueVisitor } from './sigma-field-mapping.js';
import { parseIp } from './sigma-modifiers.js';
import { prepareRuleRegex } from './sigma-safe-regex.js';

export type EventPredicate = (event: AuditEvent) => boolean;
type ValueTest = (v: unknown) => boolean;

// 64 KiB: far above any real field value, low enough that a regex cannot stall a scan.
export const REGEX_INPUT_CAP = 65_536;

export function compileSigmaExpr(expr: SigmaExpr): EventPredicate {
  switch (expr.kind) {
    case 'const': {
      const v = expr.value;
      return () => v;
    }
    case 'and': {
      const fs = expr.items.map(compileSigmaExpr);
      if (fs.length === 2) {
        const [a, b] = fs as [EventPredicate, EventPredicate];
        return (e) => a(e) && b(e);
      }
      return (e) => {
        for (let i = 0; i < fs.length; i++) if (!fs[i]!(e)) return false;
        return true;
      };
    }
    case 'or': {
      const fs = expr.items.map(compileSigmaExpr);
      return (e) => {
        for (let i = 0; i < fs.length; i++) if (fs[i]!(e)) return true;
        return false;
      };
    }
    case 'not': {
      const f = compileSigmaExpr(expr.item);
      return (e) => !f(e);
    }
    case 'field':
      return compileFieldItem(expr);
    case 'keyword':
      return compileKeywordItem(expr);
  }
}

function compileFieldItem(item: FieldItemNode): EventPredicate {
  const visit = compileValueVisitor(item.field);
  // The common case (`verb: [create, patch, update]`): one set lookup per value instead of a
  // test per listed value.
  if (!item.all && item.values.length > 1 && item.values.every(isPlainLiteral)) {
    const set = new Set(item.values.map((v) => literalOf(v)!.toLowerCase()));
    const test = (x: unknown): boolean => {
      const s = scalarText(x);
      return s !== null && set.has(s.toLowerCase());
    };
    return item.negated ? (e) => !visit(e, test) : (e) => visit(e, test);
  }
  const tests = item.values.map((v) => compileValueTest(v, visit));
  let f: EventPredicate;
  if (tests.length === 1) f = tests[0]!;
  else if (item.all) f = (e) => tests.every((t) => t(e));
  else f = (e) => tests.some((t) => t(e));
  return item.negated ? (e) => !f(e) : f;
}

function isPlainLiteral(v: SigmaValueNode): boolean {
  return v.kind === 'string' && !v.cased && v.pattern.parts.length === 1 && v.pattern.parts[0]!.kind === 'literal';
}

function literalOf(v: SigmaValueNode): string | null {
  if (v.kind !== 'string') return null;
  const p = v.pattern.parts[0];
  return v.pattern.parts.length === 1 && p !== undefined && p.kind === 'literal' ? p.text : null;
}

// Keyword rules search the whole event text; several keyword values (and rules) ask for the
// same event in a row, so the text is read once per event, not once per value.
let keywordEvent: AuditEvent | null = null;

function compileKeywordItem(item: KeywordItemNode): EventPredicate {
  const tests = item.values.map((v) => {
    const t = v.kind === 'string' && !v.cased ? compileStringTest(lowerPattern(v.pattern), true) : compileScalarTest(v);
    const lowered = v.kind === 'string' && !v.cased;
    return (e: AuditEvent) => t(lowered ? loweredText(e) : e.rawText);
  });
  return item.all ? (e) => tests.every((t) => t(e)) : (e) => tests.some((t) => t(e));
}

let keywordLower = '';

function loweredText(e: AuditEvent): string {
  if (keywordEvent !== e) {
    keywordEvent = e;
    keywordLower = e.rawText.toLowerCase();
  }
  return keywordLower;
}

function lowerPattern(p: StringPattern): StringPattern {
  return { parts: p.parts.map((x) => (x.kind === 'literal' ? { kind: 'literal', text: x.text.toLowerCase() } : x)) };
}

/** A test over the whole event for one value of an item (any element of the field). */
function compileValueTest(v: SigmaValueNode, visit: ValueVisitor): EventPredicate {
  switch (v.kind) {
    case 'null':
      return (e) => !visit(e, () => true);
    case 'present':
      return (e) => visit(e, () => true);
    case 'fieldref': {
      const other = compileValueVisitor(v.field);
      const cmp = fieldRefComparator(v.mode, v.cased);
      return (e) =>
        visit(e, (a) => {
          const sa = scalarText(a);
          return (
            sa !== null &&
            other(e, (b) => {
              const sb = scalarText(b);
              return sb !== null && cmp(sa, sb);
            })
          );
        });
    }
    default: {
      const t = compileScalarTest(v);
      return (e) => visit(e, t);
    }
  }
}

function fieldRefComparator(mode: string, cased: boolean): (a: string, b: string) => boolean {
  const norm = cased ? (s: string) => s : (s: string) => s.toLowerCase();
  switch (mode) {
    case 'contains':
      return (a, b) => norm(a).includes(norm(b));
    case 'startswith':
      return (a, b) => norm(a).startsWith(norm(b));
    case 'endswith':
      return (a, b) => norm(a).endsWith(norm(b));
    default:
      return (a, b) => norm(a) === norm(b);
  }
}

/** JSON scalar as Sigma compares it; objects and arrays are not scalars. */
export function scalarText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/** A test of one leaf value. */
export function compileScalarTest(v: SigmaValueNode): ValueTest {
  switch (v.kind) {
    case 'string':
      return compileStringTest(v.pattern, v.cased);
    case 'regex': {
      // The loader already refused regexes prepareRuleRegex cannot make safe.
      const safe = prepareRuleRegex(v.source, v.flags);
      if ('error' in safe) throw new Error(`regex ${v.source}: ${safe.error}`);
      const re = new RegExp(safe.source, safe.flags);
      return (x) => {
        const s = scalarText(x);
        return s !== null && re.test(s.length > REGEX_INPUT_CAP ? s.slice(0, REGEX_INPUT_CAP) : s);
      };
    }
    case 'compare':
      return compileCompare(v.op, v.value);
    case 'timepart': {
      const { part, op, value } = v;
      return (x) => {
        const s = scalarText(x);
        const n = s === null ? null : timePartOf(s, part);
        if (n === null) return false;
        switch (op) {
          case 'eq':
            return n === value;
          case 'lt':
            return n < value;
          case 'lte':
            return n <= value;
          case 'gt':
            return n > value;
          case 'gte':
            return n >= value;
        }
      };
    }
    case 'cidr': {
      const { bytes, prefix } = v;
      return (x) => {
        if (typeof x !== 'string') return false;
        const ip = parseIp(x);
        return ip !== null && ip.length === bytes.length && prefixEqual(ip, bytes, prefix);
      };
    }
    case 'present':
      return () => true;
    case 'null':
    case 'fieldref':
      return () => false;
  }
}

/** `YYYY-MM-DD[T ]hh:mm` at the start of a date text; the SQL compiler uses the same pattern. */
export const DATE_TEXT_PATTERN = '^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})';
const DATE_TEXT = new RegExp(DATE_TEXT_PATTERN);

/**
 * A Sigma time part of a date text, as written (the spec: no time-zone conversion); `week` is
 * the ISO-8601 week. Null when the text does not start with a date and time, or (week) the
 * date does not exist.
 */
export function timePartOf(text: string, part: TimePart): number | null {
  const m = DATE_TEXT.exec(text);
  if (m === null) return null;
  switch (part) {
    case 'year':
      return Number(m[1]);
    case 'month':
      return Number(m[2]);
    case 'day':
      return Number(m[3]);
    case 'hour':
      return Number(m[4]);
    case 'minute':
      return Number(m[5]);
    case 'week': {
      const y = Number(m[1]);
      const mo = Number(m[2]);
      const d = Number(m[3]);
      const date = new Date(Date.UTC(y, mo - 1, d));
      if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
      // ISO week: the week of the Thursday of this date's Monday-based week.
      const dow = (date.getUTCDay() + 6) % 7;
      date.setUTCDate(date.getUTCDate() - dow + 3);
      // That Thursday's year is the ISO year; count whole weeks from its 1 January.
      return 1 + Math.floor((date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / 86_400_000 / 7);
    }
  }
}

function prefixEqual(a: readonly number[], b: readonly number[], prefix: number): boolean {
  let bits = prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

const NUMERIC_TEXT = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** Number from a JSON number or a numeric string (what DuckDB's TRY_CAST to DOUBLE accepts). */
export function numericValue(x: unknown): number | null {
  if (typeof x === 'number') return Number.isFinite(x) ? x : null;
  if (typeof x === 'string' && x.length < 64 && NUMERIC_TEXT.test(x)) return Number(x);
  return null;
}

function compileCompare(op: CompareOp, n: number): ValueTest {
  switch (op) {
    case 'lt':
      return (x) => {
        const v = numericValue(x);
        return v !== null && v < n;
      };
    case 'lte':
      return (x) => {
        const v = numericValue(x);
        return v !== null && v <= n;
      };
    case 'gt':
      return (x) => {
        const v = numericValue(x);
        return v !== null && v > n;
      };
    case 'gte':
      return (x) => {
        const v = numericValue(x);
        return v !== null && v >= n;
      };
  }
}

/** Specialised string tests: equality, prefix, suffix, substring, else a linear glob matcher. */
export function compileStringTest(pattern: StringPattern, cased: boolean): ValueTest {
  const parts = pattern.parts.map((p) =>
    p.kind === 'literal' && !cased ? { kind: 'literal' as const, text: p.text.toLowerCase() } : p,
  );
  const norm = cased ? (s: string) => s : (s: string) => s.toLowerCase();
  const lit = (p: (typeof parts)[number] | undefined): string | null =>
    p !== undefined && p.kind === 'literal' ? p.text : null;
  const n = parts.length;
  if (n === 0) return (x) => scalarText(x) === '';
  if (n === 1 && lit(parts[0]) !== null) {
    const t = lit(parts[0])!;
    return (x) => {
      const s = scalarText(x);
      return s !== null && norm(s) === t;
    };
  }
  if (n === 2 && parts[1]!.kind === 'star' && lit(parts[0]) !== null) {
    const t = lit(parts[0])!;
    return (x) => {
      const s = scalarText(x);
      return s !== null && norm(s).startsWith(t);
    };
  }
  if (n === 2 && parts[0]!.kind === 'star' && lit(parts[1]) !== null) {
    const t = lit(parts[1])!;
    return (x) => {
      const s = scalarText(x);
      return s !== null && norm(s).endsWith(t);
    };
  }
  if (n === 3 && parts[0]!.kind === 'star' && parts[2]!.kind === 'star' && lit(parts[1]) !== null) {
    const t = lit(parts[1])!;
    return (x) => {
      const s = scalarText(x);
      return s !== null && norm(s).includes(t);
    };
  }
  // General glob: expand literals to single-character tokens and run the classic
  // star-backtracking matcher (O(n·m) worst case, never exponential).
  const toks: (string | 0 | 1)[] = [];
  for (const p of parts) {
    if (p.kind === 'star') toks.push(0);
    else if (p.kind === 'one') toks.push(1);
    else for (const ch of p.text) toks.push(ch);
  }
  return (x) => {
    const s = scalarText(x);
    return s !== null && globMatch(toks, [...norm(s)]);
  };
}

function globMatch(p: readonly (string | 0 | 1)[], s: readonly string[]): boolean {
  let pi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    const t = p[pi];
    if (t !== undefined && t !== 0 && (t === 1 || t === s[si])) {
      pi++;
      si++;
    } else if (t === 0) {
      star = pi++;
      mark = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else return false;
  }
  while (p[pi] === 0) pi++;
  return pi === p.length;
}
