/**
 * Sigma → SQL over the stored `events` table, for hunting over history. Same semantics as the
 * streaming matcher (sigma-matcher-compiler.ts): case-insensitive strings, JSON text form of
 * numbers and booleans, any element over arrays, null = absent. Every leaf predicate is wrapped
 * so it is never SQL NULL, so `not` means the same as in streaming.
 *
 * Columns: catalog fields map to their typed columns (string, int, string[]); timestamps and
 * every other path are read from the `raw` JSON text, with `[*]` on array segments (see
 * sigma-field-mapping.ts). Values and JSON paths are always bound parameters; the only numbers
 * written into SQL text are window sizes and list indexes the compiler computed itself.
 *
 * Correlations use window functions over epoch milliseconds with the streaming evaluator's
 * semantics: a SLIDING window [t - timespan, t] ending at each matching event, per group,
 * `RANGE` frames so events with equal timestamps are in each other's windows.
 */
import type { CompiledSql } from '../../sql/dialect.js';
import type { Row, Store } from '../../store/store.js';
import { SleuthError } from '../../model/errors.js';
import type {
  FieldItemNode,
  SigmaCorrelationRule,
  SigmaDetectionRule,
  SigmaExpr,
  SigmaValueNode,
  StringPattern,
} from './sigma-ast.js';
import { effectiveCondition, groupFieldFor } from './sigma-correlation-evaluator.js';
import type { ResolvedField, SigmaFieldMapping } from './sigma-field-mapping.js';
import { DATE_TEXT_PATTERN, REGEX_INPUT_CAP } from './sigma-matcher-compiler.js';
import { DUCKDB_SIGMA_DIALECT, type SigmaSqlDialect } from '../../sql/sigma-dialect.js';
import { dialectsFor } from '../../sql/dialects.js';
import type { SigmaRuleSet } from './sigma-detectors.js';

/** A rule that cannot be expressed in SQL (e.g. IPv6 cidr). */
export class SigmaSqlError extends SleuthError {
  constructor(message: string) {
    super('E_SIGMA_SQL', message);
  }
}

export interface SigmaSqlOptions {
  readonly dialect?: SigmaSqlDialect;
  /** Events table; default `events`. */
  readonly table?: string;
  /** Only events with startMs <= time < endMs (epoch ms), e.g. `--start/--end`. */
  readonly startMs?: number;
  readonly endMs?: number;
  /**
   * Which stored stages rules see. 'request' (default): one event per request, the one
   * `sleuth scan` hands to detectors (StageDeduper: ResponseComplete, else Panic, else
   * ResponseStarted, else RequestReceived, else another stage), so hunting over history finds
   * what streaming found. 'all': every stored (auditID, stage).
   */
  readonly stages?: 'request' | 'all';
}

const STAGE_RANK: readonly (readonly [string, number])[] = [
  ['ResponseComplete', 0],
  ['Panic', 1],
  ['ResponseStarted', 2],
  ['RequestReceived', 3],
];

/**
 * SQL that is true when the row of `outer` is the stage detectors see for its request: no
 * other stored stage of the same auditID ranks before it. The common case (ResponseComplete)
 * is decided without the subquery.
 */
function representativeStage(d: SigmaSqlDialect, table: string, outer: string): string {
  const q = d.quoteIdentifier;
  // Stage names are the compiler's own constants (plain ASCII words), so they are written as
  // literals: no log text reaches this SQL.
  const rank = (col: string): string =>
    `CASE ${STAGE_RANK.map(([s, r]) => `WHEN ${col} = '${s}' THEN ${r}`).join(' ')} ELSE ${STAGE_RANK.length} END`;
  const inner = q('sx_stage');
  return `(${q(outer)}.${q('stage')} = '${STAGE_RANK[0]![0]}' OR NOT EXISTS (SELECT 1 FROM ${table} AS ${inner} WHERE ${inner}.${q('audit_id')} = ${q(outer)}.${q('audit_id')} AND ${rank(`${inner}.${q('stage')}`)} < ${rank(`${q(outer)}.${q('stage')}`)}))`;
}

function stageFilter(d: SigmaSqlDialect, table: string, outer: string, options: SigmaSqlOptions): string {
  return (options.stages ?? 'request') === 'request' ? ` AND ${representativeStage(d, table, outer)}` : '';
}

function timeFilter(d: SigmaSqlDialect, p: Params, options: SigmaSqlOptions): string {
  const t = d.epochMs(d.quoteIdentifier('time'));
  let out = '';
  if (options.startMs !== undefined) out += ` AND ${t} >= ${p.add(Math.trunc(options.startMs))}`;
  if (options.endMs !== undefined) out += ` AND ${t} < ${p.add(Math.trunc(options.endMs))}`;
  return out;
}

const NUMERIC_PATTERN = '-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?';
const IPV4_PATTERN = '[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}';

/** Collects bound parameters and hands out placeholders. */
class Params {
  readonly values: unknown[] = [];
  constructor(readonly dialect: SigmaSqlDialect) {}
  add(v: unknown): string {
    this.values.push(v);
    return this.dialect.placeholder(this.values.length);
  }
}

/** Where a field's values come from in SQL: one text value, or a list of elements. */
type Source =
  | { readonly kind: 'scalar'; readonly text: string; readonly present: string; readonly int: string | null }
  | {
      readonly kind: 'list';
      readonly list: string;
      readonly text: (v: string) => string;
      readonly present: (v: string) => string;
    };

class ExprCompiler {
  #lambda = 0;
  constructor(
    readonly p: Params,
    readonly d: SigmaSqlDialect,
  ) {}

  source(f: ResolvedField): Source {
    const d = this.d;
    const cat = f.catalog;
    if (cat !== undefined) {
      const col = d.quoteIdentifier(cat.column);
      if (cat.type === 'string[]')
        return { kind: 'list', list: col, text: (v) => v, present: (v) => `${v} IS NOT NULL` };
      if (cat.type === 'int') return { kind: 'scalar', text: d.castText(col), present: `${col} IS NOT NULL`, int: col };
      return { kind: 'scalar', text: col, present: `${col} IS NOT NULL`, int: null };
    }
    const raw = d.quoteIdentifier('raw');
    const hasArray = f.arrays.some((a) => a);
    const pathText = jsonPathWithArrays(d, f.path, f.arrays);
    const pp = this.p.add(pathText);
    if (hasArray) {
      return {
        kind: 'list',
        list: d.jsonExtractList(raw, pp),
        text: (v) => `CASE WHEN ${d.jsonValueType(v)} IN ${d.jsonScalarTypes} THEN ${d.jsonValueText(v)} END`,
        present: (v) =>
          `(${v} IS NOT NULL AND ${d.jsonValueType(v)} <> ${d.jsonNullType} AND NOT (${d.jsonValueType(v)} = ${d.jsonArrayType} AND ${d.jsonValueText(v)} = '[]'))`,
      };
    }
    const type = d.jsonType(raw, pp);
    return {
      kind: 'scalar',
      text: `CASE WHEN ${type} IN ${d.jsonScalarTypes} THEN ${d.jsonExtractText(raw, pp)} END`,
      present: `(${type} IS NOT NULL AND ${type} <> ${d.jsonNullType} AND NOT (${type} = ${d.jsonArrayType} AND ${d.jsonExtractText(raw, pp)} = '[]'))`,
      int: null,
    };
  }

  /** Some value of the source satisfies `pred(textExpr)`. Never NULL. */
  any(s: Source, pred: (text: string, intExpr: string | null) => string): string {
    if (s.kind === 'scalar') return `coalesce(${pred(s.text, s.int)}, false)`;
    const v = `sx${++this.#lambda}`;
    return this.d.listAny(s.list, v, pred(s.text(v), null));
  }

  present(s: Source): string {
    if (s.kind === 'scalar') return `coalesce(${s.present}, false)`;
    const v = `sx${++this.#lambda}`;
    return this.d.listAny(s.list, v, s.present(v));
  }

  expr(e: SigmaExpr): string {
    switch (e.kind) {
      case 'and':
        return `(${e.items.map((i) => this.expr(i)).join(' AND ')})`;
      case 'or':
        return `(${e.items.map((i) => this.expr(i)).join(' OR ')})`;
      case 'not':
        return `(NOT ${this.expr(e.item)})`;
      case 'const':
        return e.value ? 'TRUE' : 'FALSE';
      case 'field':
        return this.fieldItem(e);
      case 'keyword': {
        const src: Source = { kind: 'scalar', text: this.d.quoteIdentifier('raw'), present: 'TRUE', int: null };
        const parts = e.values.map((v) => this.value(v, src));
        return `(${parts.join(e.all ? ' AND ' : ' OR ')})`;
      }
    }
  }

  fieldItem(item: FieldItemNode): string {
    const src = this.source(item.field);
    const parts = item.values.map((v) => this.value(v, src));
    const joined = parts.length === 1 ? parts[0]! : `(${parts.join(item.all ? ' AND ' : ' OR ')})`;
    return item.negated ? `(NOT ${joined})` : joined;
  }

  value(v: SigmaValueNode, src: Source): string {
    const d = this.d;
    switch (v.kind) {
      case 'null':
        return `(NOT ${this.present(src)})`;
      case 'present':
        return this.present(src);
      case 'string':
        return this.any(src, (t, int) => this.stringTest(t, int, v.pattern, v.cased));
      case 'regex': {
        const flags = `${v.flags.ignoreCase ? 'i' : ''}${v.flags.multiline ? 'm' : ''}${v.flags.dotAll ? 's' : ''}`;
        const pp = this.p.add(flags.length > 0 ? `(?${flags})${v.source}` : v.source);
        return this.any(src, (t) => d.regexMatch(d.left(t, REGEX_INPUT_CAP), pp, { caseInsensitive: false }));
      }
      case 'compare': {
        const op = { lt: '<', lte: '<=', gt: '>', gte: '>=' }[v.op];
        const n = this.p.add(v.value);
        return this.any(src, (t, int) => {
          if (int !== null) return `${int} ${op} ${n}`;
          const re = this.p.add(NUMERIC_PATTERN);
          return `(CASE WHEN ${d.regexFullMatch(t, re)} THEN ${d.castDouble(t)} END) ${op} ${n}`;
        });
      }
      case 'timepart': {
        const op = { eq: '=', lt: '<', lte: '<=', gt: '>', gte: '>=' }[v.op];
        const n = this.p.add(v.value);
        return this.any(src, (t) => {
          const re = this.p.add(DATE_TEXT_PATTERN);
          if (v.part === 'week') {
            const date = d.tryCastDate(
              `${d.regexGroup(t, re, 1)} || '-' || ${d.regexGroup(t, re, 2)} || '-' || ${d.regexGroup(t, re, 3)}`,
            );
            return `${d.isoWeek(date)} ${op} ${n}`;
          }
          const group = { year: 1, month: 2, day: 3, hour: 4, minute: 5 }[v.part];
          return `${d.tryCastInteger(`NULLIF(${d.regexGroup(t, re, group)}, '')`)} ${op} ${n}`;
        });
      }
      case 'cidr': {
        if (v.version !== 4)
          throw new SigmaSqlError(
            `cidr ${v.cidr}: IPv6 ranges are not supported in SQL hunting (streaming detection supports them)`,
          );
        const base = v.bytes.reduce((acc, b) => acc * 256 + b, 0);
        const size = 2 ** (32 - v.prefix);
        const lo = Math.floor(base / size) * size;
        const hi = lo + size - 1;
        return this.any(src, (t) => {
          const re = this.p.add(IPV4_PATTERN);
          const dot = this.p.add('.');
          const o = this.#lambda++;
          const l = d.listMap(d.split(t, dot), `so${o}`, d.tryCastBigint(`so${o}`));
          const num = `(${d.listElement(l, 1)} * 16777216 + ${d.listElement(l, 2)} * 65536 + ${d.listElement(l, 3)} * 256 + ${d.listElement(l, 4)})`;
          return `(${d.regexFullMatch(t, re)} AND ${d.listMax(l)} <= 255 AND ${num} BETWEEN ${this.p.add(lo)} AND ${this.p.add(hi)})`;
        });
      }
      case 'fieldref': {
        const other = this.source(v.field);
        const norm = (x: string): string => (v.cased ? x : d.lower(x));
        return this.any(src, (a) =>
          this.any(other, (b) => {
            switch (v.mode) {
              case 'contains':
                return d.contains(norm(a), norm(b));
              case 'startswith':
                return d.startsWith(norm(a), norm(b));
              case 'endswith':
                return d.endsWith(norm(a), norm(b));
              default:
                return `${norm(a)} = ${norm(b)}`;
            }
          }),
        );
      }
    }
  }

  stringTest(t: string, int: string | null, pattern: StringPattern, cased: boolean): string {
    const d = this.d;
    const wild = pattern.parts.some((x) => x.kind !== 'literal');
    if (!wild) {
      const text = pattern.parts.map((x) => (x.kind === 'literal' ? x.text : '')).join('');
      // An integer column compared with an integer literal: compare numbers (same answer, uses the column).
      if (int !== null && /^-?\d{1,9}$/.test(text) && String(Number(text)) === text)
        return `${int} = ${this.p.add(Number(text))}`;
      return cased ? `${t} = ${this.p.add(text)}` : `${d.lower(t)} = ${this.p.add(text.toLowerCase())}`;
    }
    const like = pattern.parts
      .map((x) => (x.kind === 'star' ? '%' : x.kind === 'one' ? '_' : x.text.replace(/[\\%_]/g, (c) => `\\${c}`)))
      .join('');
    return d.like(cased ? t : d.lower(t), this.p.add(cased ? like : like.toLowerCase()));
  }

  /** First non-null scalar value as text (group-by, value_count field). */
  firstText(f: ResolvedField): string {
    const s = this.source(f);
    if (s.kind === 'scalar') return s.text;
    const v = `sx${++this.#lambda}`;
    const w = `sx${++this.#lambda}`;
    return this.d.listElement(this.d.listWithoutNulls(this.d.listMap(s.list, v, s.text(v)), w), 1);
  }
}

function jsonPathWithArrays(d: SigmaSqlDialect, path: readonly string[], arrays: readonly boolean[]): string {
  // d.jsonPath quotes each key; `[*]` after an array key keeps any-element semantics.
  let out = '$';
  path.forEach((k, i) => {
    out += d.jsonPath([k]).slice(1);
    if (arrays[i] === true) out += '[*]';
  });
  return out;
}

/** Events matched by a detection rule: columns audit_id, stage, t (epoch ms). */
export function compileSigmaRuleSql(rule: SigmaDetectionRule, options: SigmaSqlOptions = {}): CompiledSql {
  const d = options.dialect ?? DUCKDB_SIGMA_DIALECT;
  const p = new Params(d);
  const q = d.quoteIdentifier;
  const table = q(options.table ?? 'events');
  const where =
    new ExprCompiler(p, d).expr(rule.expr) + timeFilter(d, p, options) + stageFilter(d, table, 'sx_event', options);
  const sql = `SELECT ${q('audit_id')}, ${q('stage')}, ${d.epochMs(q('time'))} AS ${q('t')} FROM ${table} AS ${q('sx_event')} WHERE ${where} ORDER BY ${q('t')}, ${q('audit_id')}, ${q('stage')}`;
  return { sql, parameters: p.values };
}

/**
 * A correlation over history: the triggering events (audit_id, stage, t) with the window's
 * measure in `n`. `members` are the referenced rules in the order of `correlation.rules`.
 */
export function compileSigmaCorrelationSql(
  rule: SigmaCorrelationRule,
  members: readonly SigmaDetectionRule[],
  mapping: SigmaFieldMapping,
  options: SigmaSqlOptions = {},
): CompiledSql {
  const d = options.dialect ?? DUCKDB_SIGMA_DIALECT;
  const q = d.quoteIdentifier;
  const p = new Params(d);
  const c = new ExprCompiler(p, d);
  const span = Math.trunc(rule.timespanMs);
  const matchCols = members.map((_, i) => q(`m${i + 1}`));
  const preds = members.map((r) => c.expr(r.expr));
  const memberInfo = members.map((r) => ({
    ref: r.id,
    names: [r.id, ...(r.name !== undefined ? [r.name] : [])],
    match: () => false,
  }));
  // Group-by values: read with the first matching member's alias, as the streaming evaluator does.
  const groupCols = rule.groupBy.map((g, gi) => {
    const branches = members.map(
      (_, mi) => `WHEN ${matchCols[mi]} THEN ${c.firstText(mapping.resolve(groupFieldFor(rule, g, memberInfo[mi]!)))}`,
    );
    return `CASE ${branches.join(' ')} END AS ${q(`g${gi + 1}`)}`;
  });
  const valueCol =
    rule.type === 'value_count' && rule.valueField !== undefined
      ? `, ${c.firstText(mapping.resolve(rule.valueField))} AS ${q('v')}`
      : '';
  const table = q(options.table ?? 'events');
  const range = timeFilter(d, p, options) + stageFilter(d, table, 'sx_event', options);
  const base = `SELECT *, ${preds.map((pr, i) => `${pr} AS ${matchCols[i]}`).join(', ')} FROM ${table} AS ${q('sx_event')}${range.length > 0 ? ` WHERE TRUE${range}` : ''}`;
  const matched = `SELECT ${q('audit_id')}, ${q('stage')}, ${d.epochMs(q('time'))} AS ${q('t')}, ${matchCols.join(', ')}${groupCols.length > 0 ? ', ' + groupCols.join(', ') : ''}${valueCol} FROM base WHERE ${matchCols.join(' OR ')}`;
  const partition =
    rule.groupBy.length > 0 ? `PARTITION BY ${rule.groupBy.map((_, i) => q(`g${i + 1}`)).join(', ')} ` : '';
  const sliding = `(${partition}ORDER BY ${q('t')} RANGE BETWEEN ${span} PRECEDING AND CURRENT ROW)`;
  const history = `(${partition}ORDER BY ${q('t')} RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`;
  const conds = effectiveCondition(rule);
  const condSql = (x: string): string =>
    conds.length === 0
      ? 'TRUE'
      : conds
          .map((k) => `${x} ${{ gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '=', neq: '<>' }[k.op]} ${p.add(k.value)}`)
          .join(' AND ');
  let windows = '';
  let final = '';
  switch (rule.type) {
    case 'event_count':
      windows = `SELECT *, count(*) OVER ${sliding} AS ${q('n')} FROM matched`;
      final = condSql(q('n'));
      break;
    case 'value_count':
      windows = `SELECT *, count(DISTINCT ${q('v')}) OVER ${sliding} AS ${q('n')} FROM matched`;
      final = condSql(q('n'));
      break;
    case 'temporal':
      windows = `SELECT *, (${matchCols.map((m) => `max(CASE WHEN ${m} THEN 1 ELSE 0 END) OVER ${sliding}`).join(' + ')}) AS ${q('n')} FROM matched`;
      final = condSql(q('n'));
      break;
    case 'temporal_ordered': {
      // s_k = latest start of an in-order chain r1..rk ending at or before this row's time;
      // a row of the last rule is a hit when its chain starts inside [t - timespan, t].
      const steps: string[] = [];
      let prev = 'matched';
      for (let k = 1; k < members.length; k++) {
        const value = k === 1 ? q('t') : q(`s${k - 1}`);
        steps.push(
          `w${k} AS (SELECT *, max(CASE WHEN ${matchCols[k - 1]} THEN ${value} END) OVER ${history} AS ${q(`s${k}`)} FROM ${prev})`,
        );
        prev = `w${k}`;
      }
      const last = members.length - 1;
      const sql = `WITH base AS (${base}), matched AS (${matched}), ${steps.join(', ')} SELECT ${q('audit_id')}, ${q('stage')}, ${q('t')}, ${members.length} AS ${q('n')} FROM ${prev} WHERE ${matchCols[last]} AND ${q(`s${last}`)} >= ${q('t')} - ${span} ORDER BY ${q('t')}, ${q('audit_id')}, ${q('stage')}`;
      return { sql, parameters: p.values };
    }
  }
  const sql = `WITH base AS (${base}), matched AS (${matched}), counted AS (${windows}) SELECT ${q('audit_id')}, ${q('stage')}, ${q('t')}, ${q('n')} FROM counted WHERE ${final} ORDER BY ${q('t')}, ${q('audit_id')}, ${q('stage')}`;
  return { sql, parameters: p.values };
}

export interface SigmaHuntHit {
  readonly type: string;
  readonly rule: string;
  readonly auditID: string;
  readonly stage: string;
  /** Event time, epoch ms. */
  readonly time: number;
  /** Correlations: the window's count / distinct values / rules matched. */
  readonly measure?: number;
}

export interface SigmaHuntResult {
  readonly hits: readonly SigmaHuntHit[];
  /** Rules that could not be compiled to SQL, with the reason. */
  readonly errors: readonly { readonly rule: string; readonly message: string }[];
}

/**
 * Run every rule of a rule set over the stored events. Rules that only feed correlations
 * (generate: false) are not reported on their own, as in streaming.
 */
export async function huntSigma(
  store: Store,
  set: SigmaRuleSet,
  options: SigmaSqlOptions = {},
): Promise<SigmaHuntResult> {
  // The store says which engine it is; the hunt compiles for that engine's dialect.
  options = { ...options, dialect: options.dialect ?? dialectsFor(store.capabilities.dialect).sigma };
  const hits: SigmaHuntHit[] = [];
  const errors: { rule: string; message: string }[] = [];
  const emitting = new Set(set.detectors.map((x) => x.info.rule));
  const byRef = new Map<string, SigmaDetectionRule>();
  for (const r of set.rules) {
    byRef.set(r.id, r);
    if (r.name !== undefined) byRef.set(r.name, r);
  }
  const run = async (type: string, rule: string, compiled: () => CompiledSql): Promise<void> => {
    let c: CompiledSql;
    try {
      c = compiled();
    } catch (e) {
      if (e instanceof SigmaSqlError) {
        errors.push({ rule, message: e.message });
        return;
      }
      throw e;
    }
    const rows: Row[] = await store.query(c.sql, c.parameters);
    for (const r of rows) {
      const hit: { type: string; rule: string; auditID: string; stage: string; time: number; measure?: number } = {
        type,
        rule,
        auditID: String(r['audit_id']),
        stage: String(r['stage']),
        time: Number(r['t']),
      };
      if (r['n'] !== undefined) hit.measure = Number(r['n']);
      hits.push(hit);
    }
  };
  for (const r of set.rules)
    if (emitting.has(r.id)) await run(`Sigma:${r.id}`, r.id, () => compileSigmaRuleSql(r, options));
  for (const c of set.correlations) {
    const members = c.rules.map((ref) => byRef.get(ref)).filter((x): x is SigmaDetectionRule => x !== undefined);
    if (members.length !== c.rules.length) continue;
    await run(`Sigma:${c.id}`, c.id, () => compileSigmaCorrelationSql(c, members, set.mapping, options));
  }
  return { hits, errors };
}
