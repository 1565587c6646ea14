/**
 * Entry points for `sleuth query`: CloudWatch Logs Insights text → SQL → rows from a Store.
 * Parse and compile problems come back as data (`errors`, each located with a hint); running a
 * query that does not compile throws a ParseError carrying all of them.
 */
import { ParseError, SleuthError, formatProblem } from '../model/errors.js';
import type { Row, Store } from '../store/store.js';
import type { CompiledSql } from '../sql/dialect.js';
import { compileInsightsAst, re2Pattern, type CompiledInsightsQuery } from './insights-compiler.js';
import type { RegexNode } from './insights-ast.js';
import { locate } from './insights-lexer.js';
import { DUCKDB_INSIGHTS_DIALECT, type InsightsDialect } from '../sql/insights-dialect.js';
import { dialectsFor } from '../sql/dialects.js';
import { parseInsightsQuery, type InsightsProblem } from './insights-parser.js';

export type { CompiledInsightsQuery } from './insights-compiler.js';
export type { InsightsProblem } from './insights-parser.js';

export interface InsightsQueryOptions {
  /** Only events at or after this time (StartQuery startTime). */
  readonly start?: Date | undefined;
  /** Only events before this time (StartQuery endTime). */
  readonly end?: Date | undefined;
  /** Row cap below CloudWatch's 10,000. */
  readonly limit?: number | undefined;
}

export interface InsightsCompileResult {
  readonly value?: CompiledInsightsQuery;
  readonly errors: readonly InsightsProblem[];
}

export interface InsightsQueryResult {
  /** Result column names in CloudWatch's naming (`user.username`, `count(*)`, `bin(5m)`). */
  readonly columns: string[];
  readonly rows: Row[];
  readonly sql: CompiledSql;
}

/** Parse and compile a query for a dialect (DuckDB unless said otherwise). */
export function compileInsightsQuery(
  query: string,
  options: InsightsQueryOptions = {},
  dialect: InsightsDialect = DUCKDB_INSIGHTS_DIALECT,
): InsightsCompileResult {
  const parsed = parseInsightsQuery(query);
  if (parsed.value === null) return { errors: parsed.errors };
  const compiled = compileInsightsAst(parsed.value, query, { ...options, dialect });
  if (compiled.value === null) return { errors: compiled.errors };
  return { value: compiled.value, errors: [] };
}

/** Human-readable plan: the SQL, its parameters and the result columns; or the problems. */
export function explainInsightsQuery(
  query: string,
  options: InsightsQueryOptions = {},
): { value?: string; errors: readonly InsightsProblem[] } {
  const c = compileInsightsQuery(query, options);
  if (c.value === undefined) return { errors: c.errors };
  const params = c.value.parameters.map((p, i) => `  $${i + 1} = ${JSON.stringify(p)}`).join('\n');
  return {
    value: `${c.value.sql}\n-- parameters:\n${params || '  (none)'}\n-- columns: ${c.value.columns.join(', ')}`,
    errors: [],
  };
}

/** Run a query on a store. Throws ParseError (all problems) when it does not compile. */
export async function runInsightsQuery(
  store: Store,
  query: string,
  options: InsightsQueryOptions = {},
): Promise<InsightsQueryResult> {
  const dialect = dialectsFor(store.capabilities.dialect).insights;
  const c = compileInsightsQuery(query, options, dialect);
  if (c.value === undefined) {
    throw new ParseError(
      `the query has ${c.errors.length} problem(s):\n${c.errors.map((p) => `${formatProblem(p)} (hint: ${p.hint})`).join('\n')}`,
      c.errors,
    );
  }
  let result: { columns: string[]; rows: Row[] };
  try {
    result = await store.queryWithColumns(c.value.sql, c.value.parameters);
  } catch (e) {
    // A regex the engine's RE2 rejects (look-behind, back-references, unbalanced groups) only
    // shows up when the database runs it: point at the culprit, with line, column and a hint.
    const bad = await firstRejectedRegex(store, dialect, query);
    if (bad !== null)
      throw new ParseError(`the query has 1 problem(s):\n${formatProblem(bad)} (hint: ${bad.hint})`, [bad]);
    if (e instanceof SleuthError) throw e;
    throw new SleuthError('E_QUERY', `the query failed to run: ${(e as Error).message}`);
  }
  const columns = [...c.value.columns];
  const rows = result.rows.map((row) => {
    const named: Row = {};
    columns.forEach((name, i) => {
      // defineProperty: a result named `__proto__` must stay a plain key.
      Object.defineProperty(named, name, {
        value: row[`c${i + 1}`],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    });
    return named;
  });
  return { columns, rows, sql: { sql: c.value.sql, parameters: c.value.parameters } };
}

/** Every regex literal of the query, in source order. */
function regexNodes(node: unknown, out: RegexNode[] = []): RegexNode[] {
  if (node === null || typeof node !== 'object') return out;
  if (Array.isArray(node)) {
    for (const n of node) regexNodes(n, out);
    return out;
  }
  if ((node as { kind?: unknown }).kind === 'regex') {
    out.push(node as RegexNode);
    return out;
  }
  for (const v of Object.values(node)) regexNodes(v, out);
  return out;
}

/**
 * After a failed run: the first regex literal the engine refuses on its own, as a located
 * problem, or null when every regex compiles (the failure was something else). Each pattern is
 * tried as a bound parameter, like in the query itself.
 */
async function firstRejectedRegex(
  store: Store,
  dialect: InsightsDialect,
  query: string,
): Promise<InsightsProblem | null> {
  const parsed = parseInsightsQuery(query);
  if (parsed.value === null) return null;
  const probe = `SELECT ${dialect.regexMatch(dialect.constant(''), `CAST(${dialect.placeholder(1)} AS VARCHAR)`, { caseInsensitive: false })}`;
  for (const node of regexNodes(parsed.value)) {
    let pattern: string;
    try {
      pattern = re2Pattern(node);
    } catch {
      continue;
    }
    try {
      await store.query(probe, [pattern]);
    } catch (e) {
      const { line, column } = locate(query, node.span.start);
      const reason = (e as Error).message.replace(/^query failed:\s*/, '').replace(/^Invalid Input Error:\s*/, '');
      return {
        line,
        column,
        length: Math.max(1, node.span.end - node.span.start),
        message: `this regex is not valid RE2: ${reason}`,
        hint: 'regexes run on RE2: no look-around ((?=…), (?<=…)) or back-references (\\1); check that every ( has its )',
      };
    }
  }
  return null;
}
