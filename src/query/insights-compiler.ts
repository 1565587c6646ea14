/**
 * Logs Insights AST → `{ sql, parameters }` over the stored `events` table.
 *
 * Security: every value from the query (strings, numbers, regexes, JSON paths, periods) is a
 * bound parameter; identifiers (column names, result names) pass `quoteIdentifier`. The only
 * literals pasted into SQL are constants written in this folder.
 *
 * Semantics chosen where AWS is silent (grammar-notes.md §3; each is tested and in README.md):
 *  - Pipeline planning ("aws-compat"). `filter` is hoisted to the event scan unless it names a
 *    stats result, so `sort @timestamp desc | limit 100 | filter verb = "get"` returns the 100
 *    newest *matching* events (the intent of AWS's own EKS queries EKS-003…008), and
 *    `stats count(*) by objectRef.name as secret | filter verb = "get"` counts only gets
 *    (EKS-009). A filter naming a stats result (`filter count > 8`, even written before the
 *    stats as in EKS-039) runs on that stats' output. Mixing both in one filter is an error.
 *  - `sort`/`limit`/`dedup` apply where they are written: before `stats` they pick the rows
 *    that are aggregated (EKS-007 bins the 100 newest matching events), after it they shape
 *    the result. Between two stats they are an error, as AWS documents.
 *  - `fields` adds result columns and never hides fields from later commands. Without
 *    fields/display/stats the columns are @timestamp and @message; fields created by `parse`
 *    are always appended (unless `display` names the columns).
 *  - No `sort`: events come newest first (@timestamp desc); stats results ordered by their
 *    `by` columns ascending. `sort x` without a direction sorts descending (as moto does).
 *  - Rows: at most 10,000 (`limit` above that is an error; the `limit` option lowers it).
 *  - Coercion: a number compared with a numeric string compares as numbers
 *    (`responseStatus.code = "401"` and `in ["401","403"]` match the integer 401); JSON values
 *    of unknown type compare as numbers when both sides are numeric, else as text.
 *  - Missing fields are NULL: comparisons with them are false, `not like` / `not in` true.
 */
import { fieldByName, type FieldDef } from '../model/field-catalog.js';
import {
  createField,
  visitExpr,
  walkExpr,
  type CallNode,
  type CommandKind,
  type CommandNode,
  type ExprNode,
  type FieldNode,
  type InNode,
  type MatchNode,
  type PeriodNode,
  type ProjectionItem,
  type QueryNode,
  type RegexNode,
  type Span,
  type StatsCommand,
} from './insights-ast.js';
import { DUCKDB_INSIGHTS_DIALECT, NATURAL_SORT_PATTERNS, type InsightsDialect } from '../sql/insights-dialect.js';
import type { CompiledSql } from '../sql/dialect.js';
import { locate } from './insights-lexer.js';
import { MAX_LIMIT, regexGroups, type ParseResult } from './insights-parser.js';

export interface InsightsCompileOptions {
  /** Only events at or after this time. */
  readonly start?: Date | undefined;
  /** Only events before this time. */
  readonly end?: Date | undefined;
  /** Row cap when lower than 10,000 (CloudWatch's maximum). */
  readonly limit?: number | undefined;
  readonly dialect?: InsightsDialect | undefined;
}

export interface CompiledInsightsQuery extends CompiledSql {
  /**
   * Result column names in order, named as CloudWatch names them. The SQL names its result
   * columns c1, c2, … in the same order (user names never become SQL identifiers there).
   */
  readonly columns: readonly string[];
}

/** The stored events table (store/duckdb/duckdb-schema.ts). */
export const EVENTS_TABLE = 'events';

// Static type of a compiled expression. 'timestamp' values are epoch milliseconds (BIGINT);
// 'text' is a JSON value of unknown type read as text; 'list' is a VARCHAR[] column.
type ValueType = 'string' | 'text' | 'number' | 'bool' | 'timestamp' | 'list' | 'null';

interface Value {
  readonly sql: string;
  readonly type: ValueType;
  /** Set for literals, so comparisons can coerce at compile time. */
  readonly literal?: string | number;
  /** For 'timestamp' values read straight from a TIMESTAMP column: the column, to sort and show it natively. */
  readonly column?: string;
}

interface Scope {
  field(node: FieldNode): Value;
  /** A stats result named by an expression's text (`sort count(*) desc` after `stats count(*)`). */
  result?(sourceText: string): Value | undefined;
  /** Compiles an aggregate call; absent where aggregates are not allowed. */
  aggregate?(call: CallNode): Value;
}

class CompileFailure {
  constructor(
    readonly span: Span,
    readonly message: string,
    readonly hint: string,
  ) {}
}

const AGGREGATES = new Set([
  'count',
  'count_distinct',
  'sum',
  'avg',
  'min',
  'max',
  'pct',
  'stddev',
  'earliest',
  'latest',
  'sortsfirst',
  'sortslast',
]);

const SCALAR_FUNCTIONS = [
  'strlen',
  'toupper',
  'tolower',
  'trim',
  'ltrim',
  'rtrim',
  'substr',
  'replace',
  'strcontains',
  'concat',
  'isempty',
  'isblank',
  'abs',
  'ceil',
  'floor',
  'greatest',
  'least',
  'log',
  'sqrt',
  'bin',
  'datefloor',
  'dateceil',
  'frommillis',
  'tomillis',
  'ispresent',
  'coalesce',
  'unmask',
  'isvalidip',
  'isvalidipv4',
  'isvalidipv6',
  'isipinsubnet',
  'isipv4insubnet',
  'isipv6insubnet',
] as const;
type ScalarFunction = (typeof SCALAR_FUNCTIONS)[number];

type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
const COMPARISON_SQL = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' } as const satisfies Record<
  ComparisonOp,
  string
>;

const PERIOD_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const PERIOD_MONTHS = { mo: 1, q: 3, y: 12 } as const;

// Our own constant patterns (never user text), RE2 syntax.
const IPV4_RE = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}';
const IPV6_RE =
  '(([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(([0-9A-Fa-f]{1,4}:){0,7}[0-9A-Fa-f]{1,4})?::(([0-9A-Fa-f]{1,4}:){0,7}[0-9A-Fa-f]{1,4})?|([0-9A-Fa-f]{1,4}:){6}' +
  IPV4_RE +
  '|(([0-9A-Fa-f]{1,4}:){0,5}[0-9A-Fa-f]{1,4})?::(([0-9A-Fa-f]{1,4}:){0,5})?' +
  IPV4_RE +
  ')';

/** Catalog fields whose stored column is a parsed form of a JSON string: read the JSON text instead. */
const JSON_TEXT_TYPES = new Set<FieldDef['type']>(['timestamp']);

/** Collects bound parameters and hands out placeholders. */
class Params {
  readonly values: unknown[] = [];
  private readonly shared = new Map<string, string>();
  constructor(private readonly d: InsightsDialect) {}
  add(v: unknown): string {
    this.values.push(v);
    return this.d.placeholder(this.values.length);
  }
  /** One placeholder per distinct constant the compiler reuses (natural-sort patterns). */
  constant(key: string, v: string): string {
    let ph = this.shared.get(key);
    if (ph === undefined) {
      ph = this.str(v);
      this.shared.set(key, ph);
    }
    return ph;
  }
  str(s: string): string {
    return this.d.cast(this.add(s), 'VARCHAR');
  }
  num(n: number): string {
    return this.d.cast(this.add(Params.bindable(n)), 'DOUBLE');
  }
  int(n: number): string {
    return this.d.cast(this.add(Params.bindable(n)), 'BIGINT');
  }
  /**
   * Numbers a driver binds as BIGINT must be safe integers, and ±Infinity (a 400-digit literal)
   * binds nowhere: those travel as text and the SQL CAST converts them.
   */
  private static bindable(n: number): number | string {
    return Number.isFinite(n) && (!Number.isInteger(n) || Number.isSafeInteger(n)) ? n : String(n);
  }
}

/** Names referenced by an expression. */
function referencedNames(e: ExprNode): Set<string> {
  const names = new Set<string>();
  for (const n of walkExpr(e)) {
    if (n.kind === 'field') names.add(n.name);
    // bin() reads @timestamp implicitly.
    if (n.kind === 'call' && n.name === 'bin') names.add('@timestamp');
  }
  return names;
}

/** RE2 source for a user regex: flags inline, `(?<name>` as RE2's `(?P<name>`. */
export function re2Pattern(node: RegexNode): string {
  for (const f of node.flags) {
    if (!'ims'.includes(f))
      throw new CompileFailure(
        node.span,
        `unknown regex flag '${f}'`,
        'supported flags: i (ignore case), m (multi-line), s (dot matches newline)',
      );
  }
  let out = '';
  const p = node.pattern;
  for (let k = 0; k < p.length; k++) {
    const c = p[k]!;
    if (c === '\\' && k + 1 < p.length) {
      out += c + p[k + 1];
      k++;
      continue;
    }
    out += c;
    if (c === '(' && p[k + 1] === '?' && p[k + 2] === '<' && /[A-Za-z_]/.test(p[k + 3] ?? '')) {
      out += '?P<';
      k += 2;
    }
  }
  return node.flags === '' ? out : `(?${[...new Set(node.flags)].join('')})${out}`;
}

/** Regex for a glob parse pattern: `*` captures lazily, a trailing `*` to the end (grammar-notes §3.7). */
export function globToRe2(glob: string): string {
  const parts = glob.split('*');
  let out = '(?s)';
  parts.forEach((part, k) => {
    out += part.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
    if (k < parts.length - 1) out += k === parts.length - 2 && parts[parts.length - 1] === '' ? '(.*)' : '(.*?)';
  });
  return out;
}

function parseCidrV4(cidr: string): { network: number; prefix: number } | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (m === null) return null;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return null;
  const ip = ((octets[0]! * 256 + octets[1]!) * 256 + octets[2]!) * 256 + octets[3]!;
  const block = 2 ** (32 - prefix);
  return { network: Math.floor(ip / block), prefix };
}

/** The 32 hex digits of an IPv6 CIDR's address and its prefix length, or null. */
export function parseCidrV6(cidr: string): { hex: string; prefix: number } | null {
  const m = /^([0-9A-Fa-f:]+)\/(\d{1,3})$/.exec(cidr.trim());
  if (m === null) return null;
  const prefix = Number(m[2]);
  const addr = m[1]!.toLowerCase();
  if (prefix > 128 || addr.split('::').length > 2) return null;
  const [l, r] = addr.includes('::') ? addr.split('::') : [addr, null];
  const left = l === '' || l === undefined ? [] : l.split(':');
  const right = r === null || r === '' || r === undefined ? [] : r.split(':');
  const missing = 8 - left.length - right.length;
  if ((r === null && missing !== 0) || (r !== null && missing < 1)) return null;
  const groups = [...left, ...Array<string>(r === null ? 0 : missing).fill('0'), ...right];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return { hex: groups.map((g) => g.padStart(4, '0')).join(''), prefix };
}

interface OrderTerm {
  readonly value: Value;
  readonly descending: boolean;
}

type StageOp =
  | { readonly kind: 'sort'; readonly keys: readonly OrderTerm[] }
  | { readonly kind: 'limit'; readonly count: number }
  | { readonly kind: 'dedup'; readonly keys: readonly Value[] };

interface Layer {
  order: readonly OrderTerm[] | null;
  limit: number | null;
  dedup: readonly Value[] | null;
}

/** Output columns by name, in first-definition order. */
type Outputs = Map<string, Value>;

class Compiler {
  readonly params: Params;
  private readonly q: (id: string) => string;

  constructor(
    private readonly d: InsightsDialect,
    private readonly text: string,
  ) {
    this.params = new Params(d);
    this.q = (id) => d.quoteIdentifier(id);
  }

  // ── coercions ───────────────────────────────────────────────────────────────────────────

  asText(v: Value): string {
    switch (v.type) {
      case 'string':
      case 'text':
        return v.sql;
      case 'number':
        return this.d.cast(v.sql, 'VARCHAR');
      case 'bool':
        return this.d.cast(this.d.cast(v.sql, 'INTEGER'), 'VARCHAR');
      case 'timestamp':
        return v.column !== undefined ? this.d.formatTimestamp(v.column) : this.d.formatMs(v.sql);
      case 'list':
        return this.d.listToJson(v.sql);
      case 'null':
        return this.d.cast('NULL', 'VARCHAR');
    }
  }

  asNumber(v: Value): string {
    switch (v.type) {
      case 'number':
      case 'timestamp':
        return v.sql;
      case 'string':
      case 'text':
        return this.d.tryCast(v.sql, 'DOUBLE');
      case 'bool':
        return this.d.cast(v.sql, 'INTEGER');
      case 'list':
      case 'null':
        return this.d.cast('NULL', 'DOUBLE');
    }
  }

  /** Truthiness: booleans; non-zero numbers (strcontains, isempty return 1/0); the text "true". */
  asBool(v: Value): string {
    switch (v.type) {
      case 'bool':
        return v.sql;
      case 'number':
      case 'timestamp':
        return `(${v.sql} <> 0)`;
      case 'string':
      case 'text':
        return `COALESCE(${this.d.tryCast(v.sql, 'DOUBLE')} <> 0, lower(${v.sql}) = 'true')`;
      case 'list':
        return `(${this.d.listLength(v.sql)} > 0)`;
      case 'null':
        return this.d.cast('NULL', 'BOOLEAN');
    }
  }

  /** The SQL of a result column as CloudWatch shows it. */
  display(v: Value): string {
    switch (v.type) {
      case 'timestamp':
        return v.column !== undefined ? this.d.formatTimestamp(v.column) : this.d.formatMs(v.sql);
      case 'bool':
        return this.d.cast(v.sql, 'INTEGER');
      case 'list':
        return this.d.listToJson(v.sql);
      default:
        return v.sql;
    }
  }

  // ── fields ──────────────────────────────────────────────────────────────────────────────

  /** An event field: system field, catalog column, list element, or JSON extraction from raw. */
  eventField(node: FieldNode): Value {
    const name = node.name;
    const def = fieldByName(name);
    if (def !== undefined) {
      const col = this.q(def.column);
      if (def.path === null)
        return def.type === 'timestamp'
          ? { sql: this.d.epochMs(col), type: 'timestamp', column: col }
          : { sql: col, type: 'string' };
      if (!JSON_TEXT_TYPES.has(def.type)) {
        return { sql: col, type: def.type === 'int' ? 'number' : def.type === 'string[]' ? 'list' : 'string' };
      }
      return this.jsonField([def.path.map((s) => s)]);
    }
    // `sourceIPs.0`, `user.groups.1`: an element of a list column (0-based in Insights).
    const last = node.segments[node.segments.length - 1]!;
    if (node.segments.length >= 2 && !node.quoted[node.segments.length - 1] && /^\d+$/.test(last)) {
      const listDef = fieldByName(node.segments.slice(0, -1).join('.'));
      if (listDef !== undefined && listDef.type === 'string[]') {
        const idx = Number(last);
        if (!Number.isSafeInteger(idx + 1)) return { sql: this.d.cast('NULL', 'VARCHAR'), type: 'null' };
        return { sql: this.d.listElement(this.q(listDef.column), this.params.int(idx + 1)), type: 'string' };
      }
    }
    const first = node.segments[0]!;
    if (first.startsWith('@')) {
      // `@@key` is how Insights shows a JSON key that itself starts with @ (D-DISC).
      if (!first.startsWith('@@')) return { sql: this.d.cast('NULL', 'VARCHAR'), type: 'null' };
      return this.jsonField(this.pathAlternatives([first.slice(1), ...node.segments.slice(1)], node.quoted));
    }
    return this.jsonField(this.pathAlternatives(node.segments, node.quoted));
  }

  /**
   * JSON paths a flattened name may stand for. Unquoted segments are keys (all-digit ones are
   * array positions). A backticked segment with dots is ambiguous: `annotations.k8s.io/x` is
   * {annotations: {"k8s.io/x": …}} in Kubernetes, so the first dotted backticked segment is
   * tried as: split after its first dot, whole, split before its last dot, fully split.
   */
  private pathAlternatives(segments: readonly string[], quoted: readonly boolean[]): (string | number)[][] {
    const base: (string | number)[][] = [[]];
    let expanded = false;
    segments.forEach((seg, k) => {
      if (!quoted[k]) {
        for (const p of base) p.push(/^\d+$/.test(seg) && Number.isSafeInteger(Number(seg)) ? Number(seg) : seg);
        return;
      }
      const parts = seg.split('.');
      if (expanded || parts.length < 2) {
        for (const p of base) p.push(seg);
        return;
      }
      expanded = true;
      const options = [
        [parts[0]!, parts.slice(1).join('.')],
        [seg],
        [parts.slice(0, -1).join('.'), parts[parts.length - 1]!],
        parts,
      ];
      const seen = new Set<string>();
      const next: (string | number)[][] = [];
      for (const p of base) {
        for (const o of options) {
          const key = JSON.stringify(o);
          if (seen.has(key)) continue;
          seen.add(key);
          next.push([...p, ...o]);
        }
      }
      base.splice(0, base.length, ...next);
    });
    return base;
  }

  private jsonField(paths: readonly (readonly (string | number)[])[]): Value {
    const raw = this.q('raw');
    const parts = paths.map((p) => this.d.jsonExtractText(raw, this.params.add(this.d.jsonPath(p))));
    return { sql: parts.length === 1 ? parts[0]! : `COALESCE(${parts.join(', ')})`, type: 'text' };
  }

  // ── expressions ─────────────────────────────────────────────────────────────────────────

  expr(node: ExprNode, scope: Scope): Value {
    return visitExpr<Value>(node, {
      string: (n) => this.literal('string', n.value, () => this.params.str(n.value)),
      number: (n) => this.literal('number', n.value, () => this.params.num(n.value)),
      regex: (n) => {
        throw new CompileFailure(
          n.span,
          'a /regex/ is only allowed after like, =~ or in parse',
          'e.g. filter requestURI like /secrets/',
        );
      },
      period: (n) => {
        throw new CompileFailure(
          n.span,
          `a time period (${this.source(n.span)}) is only allowed in bin, datefloor or dateceil`,
          'e.g. stats count(*) by bin(5m)',
        );
      },
      field: (n) => scope.field(n),
      call: (n) => scope.result?.(this.source(n.span)) ?? this.call(n, scope),
      binary: (n) => {
        if (n.op === 'and' || n.op === 'or') {
          return {
            sql: `(${this.asBool(this.expr(n.left, scope))} ${n.op.toUpperCase()} ${this.asBool(this.expr(n.right, scope))})`,
            type: 'bool',
          };
        }
        const l = this.expr(n.left, scope);
        const r = this.expr(n.right, scope);
        switch (n.op) {
          case '=':
          case '!=':
          case '<':
          case '<=':
          case '>':
          case '>=':
            return this.compare(n.op, l, r);
          case '^':
            return { sql: `power(${this.asNumber(l)}, ${this.asNumber(r)})`, type: 'number' };
          default:
            return { sql: `(${this.asNumber(l)} ${n.op} ${this.asNumber(r)})`, type: 'number' };
        }
      },
      unary: (n) => {
        const v = this.expr(n.operand, scope);
        if (n.op === 'not') return { sql: `(NOT ${this.asBool(v)})`, type: 'bool' };
        return { sql: `(- ${this.asNumber(v)})`, type: 'number' };
      },
      match: (n) => this.match(n, scope),
      in: (n) => this.inList(n, scope),
    });
  }

  /**
   * A literal binds its parameter only when its SQL is used: comparisons may coerce it at
   * compile time instead (`code = "401"` binds 401), and DuckDB rejects unused parameters.
   */
  private literal(type: 'string' | 'number', value: string | number, bind: () => string): Value {
    let sql: string | null = null;
    return {
      get sql(): string {
        sql ??= bind();
        return sql;
      },
      type,
      literal: value,
    };
  }

  private source(span: Span): string {
    return this.text.slice(span.start, span.end);
  }

  /** Comparison with CloudWatch's coercions (see the header). */
  compare(op: ComparisonOp, a: Value, b: Value): Value {
    const sqlOp = COMPARISON_SQL[op];
    const bool = (sql: string): Value => ({ sql, type: 'bool' });
    if (a.type === 'null' || b.type === 'null') return bool(this.d.cast('NULL', 'BOOLEAN'));
    const norm = (v: Value): Value =>
      v.type === 'bool'
        ? { sql: this.d.cast(v.sql, 'INTEGER'), type: 'number' }
        : v.type === 'timestamp'
          ? { ...v, type: 'number' }
          : v.type === 'list'
            ? { sql: this.d.listToJson(v.sql), type: 'string' }
            : v;
    const l = norm(a);
    const r = norm(b);
    const numeric = (v: Value): boolean => v.type === 'number';
    const numericLiteral = (v: Value): number | null =>
      typeof v.literal === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v.literal) ? Number(v.literal) : null;
    if (numeric(l) && numeric(r)) return bool(`(${l.sql} ${sqlOp} ${r.sql})`);
    if (numeric(l) || numeric(r)) {
      const [n, s, flipped] = numeric(l) ? [l, r, false] : [r, l, true];
      const lit = numericLiteral(s);
      let other: string;
      if (lit !== null) other = this.params.num(lit);
      else if (typeof s.literal === 'string') {
        // A number never equals a non-numeric string; compare as text so <, > still order.
        const sql = flipped ? `(${s.sql} ${sqlOp} ${this.asText(n)})` : `(${this.asText(n)} ${sqlOp} ${s.sql})`;
        return bool(sql);
      } else other = this.d.tryCast(s.sql, 'DOUBLE');
      return bool(flipped ? `(${other} ${sqlOp} ${n.sql})` : `(${n.sql} ${sqlOp} ${other})`);
    }
    // Both sides are text. Typed string columns and literals compare as text; a JSON value of
    // unknown type compares numerically when both sides are numbers.
    if (l.type !== 'text' && r.type !== 'text') return bool(`(${l.sql} ${sqlOp} ${r.sql})`);
    const lit = numericLiteral(l) ?? numericLiteral(r);
    if (typeof l.literal === 'string' || typeof r.literal === 'string') {
      if (lit === null) return bool(`(${l.sql} ${sqlOp} ${r.sql})`);
      const num = this.params.num(lit);
      const [t, litOnLeft] = typeof l.literal === 'string' ? [r, true] : [l, false];
      const numCmp = litOnLeft
        ? `${num} ${sqlOp} ${this.d.tryCast(t.sql, 'DOUBLE')}`
        : `${this.d.tryCast(t.sql, 'DOUBLE')} ${sqlOp} ${num}`;
      return bool(`COALESCE(${numCmp}, ${l.sql} ${sqlOp} ${r.sql})`);
    }
    return bool(
      `COALESCE(${this.d.tryCast(l.sql, 'DOUBLE')} ${sqlOp} ${this.d.tryCast(r.sql, 'DOUBLE')}, ${l.sql} ${sqlOp} ${r.sql})`,
    );
  }

  private match(n: MatchNode, scope: Scope): Value {
    const left = this.asText(this.expr(n.operand, scope));
    const m =
      n.pattern.kind === 'string'
        ? // Case-sensitive substring: not SQL LIKE, so % and _ in the text stay literal.
          this.d.contains(left, this.params.str(n.pattern.value))
        : this.d.regexMatch(left, this.params.str(re2Pattern(n.pattern)), { caseInsensitive: false });
    return { sql: n.negated ? `(NOT COALESCE(${m}, FALSE))` : m, type: 'bool' };
  }

  private inList(n: InNode, scope: Scope): Value {
    const left = this.expr(n.operand, scope);
    let sql: string;
    if (n.items.length === 0) sql = 'FALSE';
    else if (left.type === 'string' && n.items.every((i) => i.kind === 'string')) {
      sql = `${left.sql} IN (${n.items.map((i) => this.params.str(String(i.value))).join(', ')})`;
    } else if (
      left.type === 'number' &&
      n.items.every((i) => i.kind === 'number' || /^\s*-?\d+(\.\d+)?\s*$/.test(i.value))
    ) {
      sql = `${left.sql} IN (${n.items.map((i) => this.params.num(Number(i.value))).join(', ')})`;
    } else {
      sql = `(${n.items.map((i) => this.compare('=', left, this.expr(i, scope)).sql).join(' OR ')})`;
    }
    return { sql: n.negated ? `(NOT COALESCE(${sql}, FALSE))` : sql, type: 'bool' };
  }

  // ── functions ───────────────────────────────────────────────────────────────────────────

  private call(n: CallNode, scope: Scope): Value {
    if (AGGREGATES.has(n.name)) {
      if (scope.aggregate === undefined) {
        throw new CompileFailure(
          n.span,
          `${n.name}() is an aggregate function, only allowed in stats`,
          `e.g. stats ${n.name}(…) by verb`,
        );
      }
      return scope.aggregate(n);
    }
    if (n.star)
      throw new CompileFailure(
        n.span,
        `${n.name}(*) is not valid; only count(*) takes *`,
        `pass a field, e.g. ${n.name}(verb)`,
      );
    if (!(SCALAR_FUNCTIONS as readonly string[]).includes(n.name)) {
      throw new CompileFailure(
        n.span,
        `unknown or unsupported function '${n.name}'`,
        `supported functions: ${[...SCALAR_FUNCTIONS, ...AGGREGATES].join(', ')}`,
      );
    }
    const name = n.name as ScalarFunction;
    const arity = (min: number, max: number): void => {
      if (n.args.length < min || n.args.length > max) {
        const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
        throw new CompileFailure(
          n.span,
          `${n.name}() takes ${want} argument(s), got ${n.args.length}`,
          'see README.md in src/query for the function list',
        );
      }
    };
    const arg = (k: number): Value => this.expr(n.args[k]!, scope);
    const text = (k: number): string => this.asText(arg(k));
    const num = (k: number): string => this.asNumber(arg(k));
    const S = (sql: string): Value => ({ sql, type: 'string' });
    const N = (sql: string): Value => ({ sql, type: 'number' });
    const B = (sql: string): Value => ({ sql, type: 'bool' });
    switch (name) {
      case 'strlen':
        arity(1, 1);
        return N(`length(${text(0)})`);
      case 'toupper':
        arity(1, 1);
        return S(`upper(${text(0)})`);
      case 'tolower':
        arity(1, 1);
        return S(`lower(${text(0)})`);
      case 'trim':
      case 'ltrim':
      case 'rtrim': {
        arity(1, 2);
        const side = name === 'trim' ? 'both' : name === 'ltrim' ? 'left' : 'right';
        return S(this.d.trim(side, text(0), n.args.length === 2 ? text(1) : null));
      }
      case 'substr': {
        arity(2, 3);
        // Insights is 0-based (substr("xyZfooxyZ", 3, 3) = "foo"); SQL is 1-based.
        const start = `(${this.d.tryCast(num(1), 'BIGINT')} + 1)`;
        return S(
          this.d.substring(
            text(0),
            start,
            n.args.length === 3 ? `greatest(${this.d.tryCast(num(2), 'BIGINT')}, 0)` : null,
          ),
        );
      }
      case 'replace':
        arity(3, 3);
        return S(`replace(${text(0)}, ${text(1)}, ${text(2)})`);
      case 'strcontains':
        arity(2, 2);
        return N(this.d.cast(`COALESCE(${this.d.contains(text(0), text(1))}, FALSE)`, 'INTEGER'));
      case 'concat':
        arity(1, Infinity);
        return S(`concat(${n.args.map((_, k) => text(k)).join(', ')})`);
      case 'isempty':
        arity(1, 1);
        return N(this.d.cast(`(COALESCE(${text(0)}, '') = '')`, 'INTEGER'));
      case 'isblank':
        arity(1, 1);
        return N(this.d.cast(`(trim(COALESCE(${text(0)}, '')) = '')`, 'INTEGER'));
      case 'abs':
      case 'ceil':
      case 'floor':
        arity(1, 1);
        return N(`${name}(${num(0)})`);
      case 'log': {
        arity(1, 1);
        const x = num(0);
        return N(`CASE WHEN ${x} > 0 THEN ln(${x}) END`);
      }
      case 'sqrt': {
        arity(1, 1);
        const x = num(0);
        return N(`CASE WHEN ${x} >= 0 THEN sqrt(${x}) END`);
      }
      case 'greatest':
      case 'least':
        arity(1, Infinity);
        return N(`${name}(${n.args.map((_, k) => num(k)).join(', ')})`);
      case 'bin': {
        arity(1, 1);
        const ts = scope.field(createField(['@timestamp'], [false], n.span));
        return this.bucket(ts, this.periodArg(n, 0), 'floor');
      }
      case 'datefloor':
      case 'dateceil': {
        arity(2, 2);
        const ts = arg(0);
        return this.bucket(
          { sql: this.asNumber(ts), type: 'timestamp' },
          this.periodArg(n, 1),
          name === 'datefloor' ? 'floor' : 'ceil',
        );
      }
      case 'frommillis':
        arity(1, 1);
        return { sql: this.d.tryCast(num(0), 'BIGINT'), type: 'timestamp' };
      case 'tomillis':
        arity(1, 1);
        return N(num(0));
      case 'ispresent': {
        arity(1, 1);
        const v = arg(0);
        return B(v.type === 'list' ? `(${this.d.listLength(v.sql)} > 0)` : `(${v.sql} IS NOT NULL)`);
      }
      case 'coalesce': {
        arity(1, Infinity);
        const vs = n.args.map((_, k) => arg(k));
        const t = vs[0]!.type;
        if (vs.every((v) => v.type === t)) return { sql: `COALESCE(${vs.map((v) => v.sql).join(', ')})`, type: t };
        return { sql: `COALESCE(${vs.map((v) => this.asText(v)).join(', ')})`, type: 'text' };
      }
      case 'unmask':
        // Nothing is masked in the local store, so unmask returns its argument unchanged.
        arity(1, 1);
        return arg(0);
      case 'isvalidip':
      case 'isvalidipv4':
      case 'isvalidipv6': {
        arity(1, 1);
        const t = text(0);
        const v4 = this.d.fullMatch(t, this.d.constant(IPV4_RE));
        const v6 = this.d.fullMatch(t, this.d.constant(IPV6_RE));
        return B(`COALESCE(${name === 'isvalidipv4' ? v4 : name === 'isvalidipv6' ? v6 : `(${v4} OR ${v6})`}, FALSE)`);
      }
      case 'isipinsubnet':
      case 'isipv4insubnet':
      case 'isipv6insubnet': {
        arity(2, 2);
        const cidrNode = n.args[1]!;
        if (cidrNode.kind !== 'string')
          throw new CompileFailure(
            cidrNode.span,
            `${n.name}() needs the subnet as a string`,
            'e.g. isIpInSubnet(sourceIPs.0, "10.0.0.0/8")',
          );
        const t = text(0);
        const v6 = name !== 'isipv4insubnet' ? parseCidrV6(cidrNode.value) : null;
        if (v6 !== null) return B(`COALESCE(${this.ipv6InSubnet(t, v6)}, FALSE)`);
        const cidr = name !== 'isipv6insubnet' ? parseCidrV4(cidrNode.value) : null;
        if (cidr === null) {
          const want =
            name === 'isipv4insubnet' ? 'an IPv4' : name === 'isipv6insubnet' ? 'an IPv6' : 'an IPv4 or IPv6';
          throw new CompileFailure(
            cidrNode.span,
            `'${cidrNode.value}' is not ${want} CIDR`,
            name === 'isipv6insubnet' ? 'e.g. "fe80::/10"' : 'e.g. "10.0.0.0/8"',
          );
        }
        const part = (k: number): string => this.d.cast(this.d.splitPart(t, this.d.constant('.'), k), 'BIGINT');
        const asInt = `(${part(1)} * 16777216 + ${part(2)} * 65536 + ${part(3)} * 256 + ${part(4)})`;
        const block = this.params.num(2 ** (32 - cidr.prefix));
        const test = `CASE WHEN ${this.d.fullMatch(t, this.d.constant(IPV4_RE))} THEN floor(${asInt} / ${block}) = ${this.params.num(cidr.network)} END`;
        return B(`COALESCE(${test}, FALSE)`);
      }
    }
  }

  /** IPv6 prefix test: compare whole hex digits, then the leading bits of the next digit. */
  private ipv6InSubnet(t: string, cidr: { hex: string; prefix: number }): string {
    const lower = `lower(${t})`;
    const hex = this.d.ipv6Hex(lower);
    const whole = Math.floor(cidr.prefix / 4);
    const bits = cidr.prefix % 4;
    const tests: string[] = [];
    if (whole > 0)
      tests.push(
        `${this.d.substring(hex, '1', this.params.int(whole))} = ${this.params.str(cidr.hex.slice(0, whole))}`,
      );
    if (bits > 0) {
      const digit = (h: string): string => `(${this.d.position(this.d.constant('0123456789abcdef'), h)} - 1)`;
      const div = this.params.num(2 ** (4 - bits));
      const want = Math.floor(parseInt(cidr.hex[whole]!, 16) / 2 ** (4 - bits));
      tests.push(
        `floor(${digit(this.d.substring(hex, this.params.int(whole + 1), '1'))} / ${div}) = ${this.params.num(want)}`,
      );
    }
    const valid = this.d.fullMatch(t, this.d.constant(IPV6_RE));
    return `CASE WHEN ${valid} THEN ${tests.length === 0 ? 'TRUE' : tests.join(' AND ')} END`;
  }

  private periodArg(n: CallNode, k: number): PeriodNode {
    const p = n.args[k]!;
    if (p.kind !== 'period')
      throw new CompileFailure(p.span, `${n.name}() needs a time period`, 'periods look like 5m, 30s, 1h, 1d');
    if (!(p.amount > 0)) throw new CompileFailure(p.span, 'the period must be greater than zero', 'e.g. 5m');
    return p;
  }

  /**
   * Floor/ceil of epoch ms to a period, aligned to the Unix epoch for fixed units. (AWS caps
   * bin(300s) to 60s; we honour the period as written — see README.)
   */
  private bucket(ts: Value, p: PeriodNode, mode: 'floor' | 'ceil'): Value {
    const ms = this.asNumber(ts);
    if (p.unit in PERIOD_MS) {
      const size = this.params.num(p.amount * PERIOD_MS[p.unit as keyof typeof PERIOD_MS]);
      return { sql: this.d.tryCast(`${mode}(${ms} / ${size}) * ${size}`, 'BIGINT'), type: 'timestamp' };
    }
    if (mode === 'ceil')
      throw new CompileFailure(
        p.span,
        'dateceil supports ms, s, m, h, d and w periods',
        'use datefloor for months, quarters and years',
      );
    if (!Number.isInteger(p.amount))
      throw new CompileFailure(p.span, 'month, quarter and year periods must be whole numbers', 'e.g. 1mo, 3mo, 1y');
    if (p.amount > 10_000)
      throw new CompileFailure(p.span, 'the period is too long', 'periods up to 10000y are supported');
    const months = this.params.int(p.amount * PERIOD_MONTHS[p.unit as keyof typeof PERIOD_MONTHS]);
    return { sql: this.d.monthBucketMs(ms, months), type: 'timestamp' };
  }

  // ── aggregates ──────────────────────────────────────────────────────────────────────────

  aggregate(n: CallNode, input: Scope): Value {
    const arity = (min: number, max: number): void => {
      if (n.args.length < min || n.args.length > max || (n.star && n.name !== 'count')) {
        throw new CompileFailure(
          n.span,
          `${n.name}() takes ${min === max ? min : `${min} to ${max}`} argument(s)`,
          n.name === 'count'
            ? 'count(*) counts events, count(field) events that have the field'
            : `e.g. ${n.name}(responseStatus.code)`,
        );
      }
    };
    const arg = (k: number): Value => {
      for (const inner of walkExpr(n.args[k]!)) {
        if (inner.kind === 'call' && AGGREGATES.has(inner.name))
          throw new CompileFailure(
            inner.span,
            'aggregate functions cannot be nested',
            'aggregate in a first stats, then again in a second one',
          );
      }
      return this.expr(n.args[k]!, input);
    };
    const N = (sql: string): Value => ({ sql, type: 'number' });
    switch (n.name) {
      case 'count':
        if (n.star || n.args.length === 0) return N('count(*)');
        arity(1, 1);
        return N(`count(${arg(0).sql})`);
      case 'count_distinct':
        arity(1, 1);
        return N(this.d.countDistinct(arg(0).sql));
      case 'sum':
      case 'avg':
        arity(1, 1);
        return N(`${n.name}(${this.asNumber(arg(0))})`);
      case 'stddev':
        arity(1, 1);
        return N(this.d.stddev(this.asNumber(arg(0))));
      case 'min':
      case 'max': {
        arity(1, 1);
        const v = arg(0);
        if (v.type === 'timestamp') return { sql: `${n.name}(${v.sql})`, type: 'timestamp' };
        return N(`${n.name}(${this.asNumber(v)})`);
      }
      case 'pct': {
        arity(2, 2);
        const p = n.args[1]!;
        if (p.kind !== 'number' || p.value < 0 || p.value > 100)
          throw new CompileFailure(p.span, 'pct() needs a percentile from 0 to 100', 'e.g. pct(latency, 95)');
        return N(this.d.quantile(this.asNumber(arg(0)), this.params.num(p.value / 100)));
      }
      case 'earliest':
      case 'latest': {
        arity(1, 1);
        const v = arg(0);
        const ts = input.field(createField(['@timestamp'], [false], n.span));
        return {
          sql: n.name === 'earliest' ? this.d.argMin(v.sql, ts.sql) : this.d.argMax(v.sql, ts.sql),
          type: v.type,
        };
      }
      case 'sortsfirst':
      case 'sortslast': {
        arity(1, 1);
        const v = arg(0);
        const first = n.name === 'sortsfirst';
        if (v.type === 'number' || v.type === 'timestamp')
          return { sql: `${first ? 'min' : 'max'}(${v.sql})`, type: v.type };
        const t = this.asText(v);
        // The ORDER BY of orderTerms as one comparable list: [is a number, natural key, text].
        // Leading zeros are dropped from numbers so "01" and "1" tie on value, then text breaks it.
        const isNumber = this.d.fullMatch(t, this.params.constant('digits', NATURAL_SORT_PATTERNS.digits));
        const natural = `CASE WHEN ${isNumber} THEN ${this.naturalKey(`COALESCE(NULLIF(${this.d.trim('left', t, this.d.constant('0'))}, ''), '0')`)} ELSE ${this.naturalKey(t)} END`;
        const key = `CASE WHEN ${t} IS NOT NULL THEN [${this.d.cast(isNumber, 'VARCHAR')}, ${natural}, ${t}] END`;
        return {
          sql: first ? this.d.argMin(t, key) : this.d.argMax(t, key),
          type: v.type === 'list' ? 'string' : v.type,
        };
      }
    }
    throw new CompileFailure(n.span, `unknown aggregate ${n.name}`, `aggregates: ${[...AGGREGATES].join(', ')}`);
  }

  private naturalKey(t: string): string {
    return this.d.naturalKey(
      t,
      this.params.constant('digits', NATURAL_SORT_PATTERNS.digits),
      this.params.constant('chunks', NATURAL_SORT_PATTERNS.chunks),
    );
  }

  /** ORDER BY terms for one key: numbers and times numerically, text in CloudWatch's natural order. */
  orderTerms(t: OrderTerm): string[] {
    const dir = t.descending ? 'DESC' : 'ASC';
    const v = t.value;
    if (v.column !== undefined) return [`${v.column} ${dir} NULLS LAST`];
    if (v.type === 'number' || v.type === 'timestamp' || v.type === 'null') return [`${v.sql} ${dir} NULLS LAST`];
    if (v.type === 'bool') return [`${this.d.cast(v.sql, 'INTEGER')} ${dir} NULLS LAST`];
    const s = this.asText(v);
    const isNumber = this.d.fullMatch(s, this.params.constant('digits', NATURAL_SORT_PATTERNS.digits));
    // Ascending: every non-number before every number (D-SORT); descending is the exact reverse.
    return [
      `${isNumber} ${dir} NULLS LAST`,
      `CASE WHEN ${isNumber} THEN ${this.d.tryCast(s, 'DOUBLE')} END ${dir} NULLS LAST`,
      // Equal numbers ("01", "1") fall back to their text, as in the AWS example (01 before 1).
      `CASE WHEN ${isNumber} THEN ${s} ELSE ${this.naturalKey(s)} END ${dir} NULLS LAST`,
    ];
  }

  // ── stats ───────────────────────────────────────────────────────────────────────────────

  /** Compile one stats command over `input`: SELECT list, GROUP BY size, and its output scope. */
  stats(cmd: StatsCommand, input: Scope, stageNo: number): { select: string[]; groupCount: number; columns: Outputs } {
    const outputs: Outputs = new Map();
    const columns: Outputs = new Map();
    const select: string[] = [];
    const define = (item: ProjectionItem, v: Value): void => {
      if (outputs.has(item.outputName)) {
        throw new CompileFailure(
          item.span,
          `stats produces two results named '${item.outputName}'`,
          'give one of them a different name with as',
        );
      }
      outputs.set(item.outputName, v);
      // Results get synthetic column names: user names may differ only in case (DuckDB
      // identifiers do not) or hold characters an identifier cannot (NUL).
      const column = this.q(`s${stageNo}_${select.length + 1}`);
      columns.set(item.outputName, { sql: column, type: v.type });
      select.push(`${v.sql} AS ${column}`);
    };
    const byValues = new Map<string, Value>();
    for (const item of cmd.by) {
      for (const inner of walkExpr(item.expr)) {
        if (inner.kind === 'call' && AGGREGATES.has(inner.name))
          throw new CompileFailure(
            inner.span,
            'aggregate functions are not allowed in the by clause',
            'group by fields or bin(period)',
          );
      }
      const v = this.expr(item.expr, input);
      byValues.set(item.outputName, v);
      define(item, v);
    }
    const itemValues = new Map<string, Value>();
    for (const item of cmd.items) {
      let aggregated = false;
      const scope: Scope = {
        field: (f) => {
          const earlier = itemValues.get(f.name);
          if (earlier !== undefined) {
            aggregated = true;
            return earlier;
          }
          const by = byValues.get(f.name);
          if (by !== undefined) return by;
          throw new CompileFailure(
            f.span,
            `'${f.name}' must be inside an aggregate function such as count() or named in by`,
            `e.g. stats count(*) by ${f.name}`,
          );
        },
        aggregate: (call) => {
          aggregated = true;
          return this.aggregate(call, input);
        },
      };
      const v = this.expr(item.expr, scope);
      if (!aggregated)
        throw new CompileFailure(
          item.expr.span,
          'each stats item needs an aggregate function',
          'e.g. count(*), avg(x), max(x)',
        );
      itemValues.set(item.outputName, v);
      define(item, v);
    }
    return { select, groupCount: cmd.by.length, columns };
  }

  // ── layers: sort / limit / dedup ────────────────────────────────────────────────────────

  static layers(ops: readonly StageOp[]): Layer[] {
    const layers: Layer[] = [];
    let cur: Layer = { order: null, limit: null, dedup: null };
    for (const op of ops) {
      if (op.kind === 'sort') {
        // A sort after a limit or dedup re-orders the rows they kept: a new layer.
        if (cur.limit !== null || cur.dedup !== null) {
          layers.push(cur);
          cur = { order: null, limit: null, dedup: null };
        }
        cur.order = op.keys;
      } else if (op.kind === 'limit') {
        cur.limit = Math.min(cur.limit ?? Infinity, op.count);
      } else {
        if (cur.limit !== null || cur.dedup !== null) {
          layers.push(cur);
          cur = { order: null, limit: null, dedup: null };
        }
        cur.dedup = op.keys;
      }
    }
    layers.push(cur);
    return layers;
  }

  /** SELECT statements for the layers over `from`, innermost first; the last selects `select`. */
  buildLayers(
    from: string,
    where: readonly string[],
    layers: readonly Layer[],
    defaultOrder: readonly OrderTerm[],
    select: string,
    cap: number | null,
  ): string {
    let source = from;
    let conditions = where;
    let inherited: readonly OrderTerm[] = defaultOrder;
    let sql = '';
    layers.forEach((layer, k) => {
      const last = k === layers.length - 1;
      const order = layer.order ?? inherited;
      inherited = order;
      const orderSql = order.flatMap((t) => this.orderTerms(t));
      const parts = [`SELECT ${last ? select : '*'} FROM ${source}`];
      if (conditions.length > 0) parts.push(`WHERE ${conditions.join(' AND ')}`);
      if (layer.dedup !== null) {
        const keys = layer.dedup.map((v) => v.sql);
        parts.push(this.d.firstPerGroup(keys, orderSql, keys));
      }
      if (orderSql.length > 0) parts.push(`ORDER BY ${orderSql.join(', ')}`);
      const limit = last && cap !== null ? Math.min(layer.limit ?? cap, cap) : layer.limit;
      if (limit !== null) parts.push(`LIMIT ${this.params.int(limit)}`);
      sql = parts.join(' ');
      source = `(${sql}) AS ${this.q(`t${k}`)}`;
      conditions = [];
    });
    return sql;
  }
}

interface PlannedFilter {
  readonly phase: 0 | 1 | 2;
}

/** Compile a parsed query. `text` is the query source (result names of unaliased items). */
export function compileInsightsAst(
  query: QueryNode,
  text: string,
  options: InsightsCompileOptions = {},
): ParseResult<CompiledInsightsQuery> {
  const d = options.dialect ?? DUCKDB_INSIGHTS_DIALECT;
  const c = new Compiler(d, text);
  try {
    return { value: compileChecked(c, d, query, options), errors: [] };
  } catch (e) {
    if (!(e instanceof CompileFailure)) throw e;
    const { line, column } = locate(text, e.span.start);
    return {
      value: null,
      errors: [{ line, column, length: Math.max(1, e.span.end - e.span.start), message: e.message, hint: e.hint }],
    };
  }
}

function compileChecked(
  c: Compiler,
  d: InsightsDialect,
  query: QueryNode,
  options: InsightsCompileOptions,
): CompiledInsightsQuery {
  const cmds = query.commands;
  const q = (id: string): string => d.quoteIdentifier(id);
  const cap = Math.min(options.limit ?? MAX_LIMIT, MAX_LIMIT);
  if (!Number.isInteger(cap) || cap < 1)
    throw new CompileFailure(
      { start: 0, end: 0 },
      `the row limit must be a whole number from 1 to ${MAX_LIMIT}`,
      `CloudWatch returns at most ${MAX_LIMIT} rows`,
    );

  // ── structure checks (D-STATS, D-DEDUP) ──
  const statsAt: number[] = [];
  cmds.forEach((cmd, k) => {
    if (cmd.kind === 'stats') statsAt.push(k);
  });
  if (statsAt.length > 2)
    throw new CompileFailure(
      cmds[statsAt[2]!]!.span,
      'a query can have at most two stats commands',
      'AWS allows two; combine the aggregates into fewer stats',
    );
  const stageOf = (k: number): number => statsAt.filter((s) => s < k).length;
  const lastStage = statsAt.length;
  cmds.forEach((cmd, k) => {
    if ((cmd.kind === 'sort' || cmd.kind === 'limit' || cmd.kind === 'dedup') && lastStage === 2 && stageOf(k) === 1) {
      throw new CompileFailure(
        cmd.span,
        `${cmd.kind} must come after the second stats command`,
        'move it to the end of the query',
      );
    }
    if (cmd.kind === 'parse' && stageOf(k) > 0)
      throw new CompileFailure(cmd.span, 'parse must come before stats', 'after stats only its results exist');
    const prev = cmds.slice(0, k).findIndex((p) => p.kind === 'dedup');
    if (prev >= 0 && cmd.kind !== 'limit')
      throw new CompileFailure(
        cmd.span,
        `only limit can follow dedup, not ${cmd.kind}`,
        'move dedup to the end of the query',
      );
  });

  // ── names each stats stage produces, and filter phases ──
  // allNames[s]: every result of stats s (by keys, aggregates, later `fields`); aggNames[s]: the
  // names that exist only because of stats s (aggregates and `fields` after it).
  const allNames: Set<string>[] = [new Set(), new Set(), new Set()];
  const aggNames: Set<string>[] = [new Set(), new Set(), new Set()];
  cmds.forEach((cmd, k) => {
    const stage = stageOf(k);
    if (cmd.kind === 'stats') {
      for (const i of cmd.by) allNames[stage + 1]!.add(i.outputName);
      for (const i of cmd.items) {
        allNames[stage + 1]!.add(i.outputName);
        aggNames[stage + 1]!.add(i.outputName);
      }
    }
    if (cmd.kind === 'fields' && stage > 0) {
      for (const i of cmd.items) {
        allNames[stage]!.add(i.outputName);
        aggNames[stage]!.add(i.outputName);
      }
    }
  });
  const rowDefinedBefore = (k: number): Set<string> => {
    const s = new Set<string>();
    cmds.slice(0, Math.min(k, statsAt[0] ?? k)).forEach((cmd) => {
      if (cmd.kind === 'fields') for (const i of cmd.items) if (i.alias !== null) s.add(i.alias);
      if (cmd.kind === 'parse') for (const name of cmd.names) s.add(name);
    });
    return s;
  };
  const phases = new Map<number, PlannedFilter>();
  cmds.forEach((cmd, k) => {
    if (cmd.kind !== 'filter') return;
    const stage = stageOf(k);
    const rowNames = rowDefinedBefore(k);
    // Could this name be an event field at this point? Then a filter before stats keeps it.
    const eventSide = (name: string): boolean =>
      rowNames.has(name) || fieldByName(name) !== undefined || name.startsWith('@');
    const byPhase: [string[], string[], string[]] = [[], [], []];
    for (const name of referencedNames(cmd.expr)) {
      let phase: 0 | 1 | 2 = 0;
      if (stage === 0) {
        // EKS-039 `filter count > 8 | stats count(*) as count …`: the name only exists as a result.
        if (!eventSide(name) && aggNames[1]!.has(name)) phase = 1;
        else if (!eventSide(name) && aggNames[2]!.has(name)) phase = 2;
      } else if (stage === 1) {
        if (allNames[1]!.has(name)) phase = 1;
        else if (aggNames[2]!.has(name)) phase = 2;
      } else if (allNames[2]!.has(name)) {
        phase = 2;
      } else if (allNames[1]!.has(name)) {
        throw new CompileFailure(
          cmd.span,
          `'${name}' is a result of the first stats and no longer exists after the second`,
          'filter before the second stats, or output it from the second stats',
        );
      }
      byPhase[phase].push(name);
    }
    const used = ([0, 1, 2] as const).filter((p) => byPhase[p].length > 0);
    if (used.length > 1) {
      throw new CompileFailure(
        cmd.span,
        `this filter mixes event fields (${byPhase[0].join(', ') || '-'}) with stats results (${[...byPhase[1], ...byPhase[2]].join(', ')})`,
        'split it into one filter before stats and one after',
      );
    }
    const phase = used[0] ?? (stage as 0 | 1 | 2);
    phases.set(k, { phase });
  });

  // ── walk the pipeline ──
  const rowAliases = new Map<string, Value>();
  const rowScope: Scope = { field: (f) => rowAliases.get(f.name) ?? c.eventField(f) };
  const rowOutputs: Outputs = new Map();
  const parseOutputs: Outputs = new Map();
  const where: string[] = [];
  if (options.start !== undefined)
    where.push(`${q('time')} >= ${d.timestampFromMs(c.params.add(options.start.getTime()))}`);
  if (options.end !== undefined) where.push(`${q('time')} < ${d.timestampFromMs(c.params.add(options.end.getTime()))}`);
  const ops: StageOp[][] = [[], [], []];
  const deferredFilters: ExprNode[][] = [[], [], []];
  const stages: { select: string[]; groupCount: number; outputs: Outputs; scope: Scope }[] = [];
  let display: readonly ProjectionItem[] | null = null as readonly ProjectionItem[] | null;
  const scopeOf = (stage: number): Scope => (stage === 0 ? rowScope : stages[stage - 1]!.scope);

  // One handler per command kind: a new kind nobody handles fails to compile.
  type Handler<K extends CommandKind> = (cmd: Extract<CommandNode, { kind: K }>, k: number, stage: number) => void;
  const handlers: { readonly [K in CommandKind]: Handler<K> } = {
    fields: (cmd, _k, stage) => {
      for (const item of cmd.items) {
        const v = c.expr(item.expr, scopeOf(stage));
        if (stage === 0) {
          rowAliases.set(item.outputName, v);
          rowOutputs.set(item.outputName, v);
        } else {
          stages[stage - 1]!.outputs.set(item.outputName, v);
        }
      }
    },
    display: (cmd) => {
      display = cmd.items;
    },
    parse: (cmd) => {
      const src = c.asText(rowScope.field(cmd.source));
      const pattern = cmd.pattern.kind === 'string' ? globToRe2(cmd.pattern.value) : re2Pattern(cmd.pattern);
      const pat = c.params.str(pattern);
      const groups =
        cmd.pattern.kind === 'string'
          ? cmd.names.map((name, i) => ({ name, index: i + 1 }))
          : regexGroups(cmd.pattern.pattern);
      cmd.names.forEach((name, i) => {
        // Named groups define the names; with `as`, names take the capturing groups in order.
        const group = groups.find((g) => g.name === name) ?? groups[i]!;
        // A non-matching event keeps its row without the fields (D-PARSE): NULL, not ''.
        const v: Value = {
          sql: `CASE WHEN ${d.regexMatch(src, pat, { caseInsensitive: false })} THEN ${d.regexExtract(src, pat, String(group.index))} END`,
          type: 'text',
        };
        rowAliases.set(name, v);
        parseOutputs.set(name, v);
      });
    },
    filter: (cmd, k) => {
      const phase = phases.get(k)!.phase;
      if (phase === 0) where.push(c.asBool(c.expr(cmd.expr, rowScope)));
      else deferredFilters[phase]!.push(cmd.expr);
    },
    stats: (cmd, _k, stage) => {
      const built = c.stats(cmd, scopeOf(stage), stage + 1);
      // Later commands see each result through its column.
      const columns = built.columns;
      const scope: Scope = {
        field: (f) => {
          const v = columns.get(f.name);
          if (v !== undefined) return v;
          throw new CompileFailure(
            f.span,
            `'${f.name}' does not exist after stats`,
            `after stats only its results exist: ${[...columns.keys()].join(', ')}`,
          );
        },
        result: (text) => columns.get(text),
      };
      stages.push({ select: built.select, groupCount: built.groupCount, outputs: columns, scope });
    },
    sort: (cmd, _k, stage) => {
      ops[stage]!.push({
        kind: 'sort',
        keys: cmd.keys.map((key) => ({ value: c.expr(key.expr, scopeOf(stage)), descending: key.descending })),
      });
    },
    limit: (cmd, _k, stage) => {
      ops[stage]!.push({ kind: 'limit', count: cmd.count });
    },
    dedup: (cmd, _k, stage) => {
      ops[stage]!.push({ kind: 'dedup', keys: cmd.fields.map((f) => scopeOf(stage).field(f)) });
    },
    // Nothing is masked in the local store (README: unmask).
    unmask: () => {},
  };
  cmds.forEach((cmd, k) => {
    (handlers[cmd.kind] as Handler<CommandKind>)(cmd as never, k, stageOf(k));
  });

  // ── result columns ──
  const finalScope = scopeOf(lastStage);
  let outputs: Outputs;
  if (display !== null) {
    outputs = new Map();
    for (const item of display) outputs.set(item.outputName, c.expr(item.expr, finalScope));
  } else if (lastStage > 0) {
    outputs = stages[lastStage - 1]!.outputs;
  } else {
    outputs = new Map(rowOutputs);
    if (outputs.size === 0) {
      for (const name of ['@timestamp', '@message'])
        outputs.set(name, rowScope.field(createField([name], [false], { start: 0, end: 0 })));
    }
    for (const [name, v] of parseOutputs) if (!outputs.has(name)) outputs.set(name, v);
  }
  // Result columns are positional (c1, c2, …): `columns` names them (see stats() for why).
  const select = [...outputs.values()].map((v, i) => `${c.display(v)} AS ${q(`c${i + 1}`)}`).join(', ');
  const timestampDesc: OrderTerm[] = [
    { value: rowScope.field(createField(['@timestamp'], [false], { start: 0, end: 0 })), descending: true },
  ];

  // ── assemble ──
  let sql: string;
  if (lastStage === 0) {
    sql = c.buildLayers(q(EVENTS_TABLE), where, Compiler.layers(ops[0]!), timestampDesc, select, cap);
  } else {
    // Rows feeding the first stats: the scan, narrowed by any sort/limit/dedup written before it.
    let from = q(EVENTS_TABLE);
    let conditions: readonly string[] = where;
    if (ops[0]!.length > 0) {
      from = `(${c.buildLayers(from, where, Compiler.layers(ops[0]!), timestampDesc, '*', null)}) AS ${q('rows')}`;
      conditions = [];
    }
    stages.forEach((stage, s) => {
      const filters = deferredFilters[s + 1]!.map((e) => c.asBool(c.expr(e, stage.scope)));
      const parts = [`SELECT ${stage.select.join(', ')} FROM ${from}`];
      if (conditions.length > 0) parts.push(`WHERE ${conditions.join(' AND ')}`);
      if (stage.groupCount > 0)
        parts.push(`GROUP BY ${Array.from({ length: stage.groupCount }, (_, i) => String(i + 1)).join(', ')}`);
      from = `(${parts.join(' ')}) AS ${q(`stats${s + 1}`)}`;
      conditions = filters;
    });
    const last = stages[lastStage - 1]!;
    const groupOrder: OrderTerm[] = [...last.outputs]
      .slice(0, last.groupCount)
      .map(([, v]) => ({ value: v, descending: false }));
    sql = c.buildLayers(from, conditions, Compiler.layers(ops[lastStage]!), groupOrder, select, cap);
  }
  const compact = d.compactParameters(sql, c.params.values);
  return { sql: compact.sql, parameters: compact.parameters, columns: [...outputs.keys()] };
}
