/**
 * Entry points for `sleuth query`: CloudWatch Logs Insights text → SQL → rows from a Store.
 * Parse and compile problems come back as data (`errors`, each located with a hint); running a
 * query that does not compile throws a ParseError carrying all of them.
 */
import { ParseError, SleuthError, formatProblem } from '../model/errors.js';
import type { Row, Store } from '../store/store.js';
import type { CompiledSql } from './dialect.js';
import { compileInsightsAst, type CompiledInsightsQuery } from './insights-compiler.js';
import { DUCKDB_INSIGHTS_DIALECT, type InsightsDialect } from './insights-dialect.js';
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

const DIALECTS: Readonly<Record<string, InsightsDialect>> = { duckdb: DUCKDB_INSIGHTS_DIALECT };

/** Parse and compile a query for a dialect (DuckDB unless said otherwise). */
export function compileInsightsQuery(query: string, options: InsightsQueryOptions = {}, dialect: InsightsDialect = DUCKDB_INSIGHTS_DIALECT): InsightsCompileResult {
  const parsed = parseInsightsQuery(query);
  if (parsed.value === null) return { errors: parsed.errors };
  const compiled = compileInsightsAst(parsed.value, query, { ...options, dialect });
  if (compiled.value === null) return { errors: compiled.errors };
  return { value: compiled.value, errors: [] };
}

/** Human-readable plan: the SQL, its parameters and the result columns; or the problems. */
export function explainInsightsQuery(query: string, options: InsightsQueryOptions = {}): { value?: string; errors: readonly InsightsProblem[] } {
  const c = compileInsightsQuery(query, options);
  if (c.value === undefined) return { errors: c.errors };
  const params = c.value.parameters.map((p, i) => `  $${i + 1} = ${JSON.stringify(p)}`).join('\n');
  return {
    value: `${c.value.sql}\n-- parameters:\n${params || '  (none)'}\n-- columns: ${c.value.columns.join(', ')}`,
    errors: [],
  };
}

/** Run a query on a store. Throws ParseError (all problems) when it does not compile. */
export async function runInsightsQuery(store: Store, query: string, options: InsightsQueryOptions = {}): Promise<InsightsQueryResult> {
  const dialect = DIALECTS[store.capabilities.dialect];
  if (dialect === undefined) throw new SleuthError('E_QUERY_DIALECT', `Logs Insights queries do not support the ${store.capabilities.dialect} store yet`);
  const c = compileInsightsQuery(query, options, dialect);
  if (c.value === undefined) {
    throw new ParseError(`the query has ${c.errors.length} problem(s):\n${c.errors.map((p) => `${formatProblem(p)} (hint: ${p.hint})`).join('\n')}`, c.errors);
  }
  let result: { columns: string[]; rows: Row[] };
  try {
    result = await store.queryWithColumns(c.value.sql, c.value.parameters);
  } catch (e) {
    if (e instanceof SleuthError) throw e;
    // e.g. a regex RE2 rejects ("invalid perl operator") only shows up when the database runs it.
    throw new SleuthError('E_QUERY', `the query failed to run: ${(e as Error).message}`);
  }
  const columns = [...c.value.columns];
  const rows = result.rows.map((row) => {
    const named: Row = {};
    columns.forEach((name, i) => {
      // defineProperty: a result named `__proto__` must stay a plain key.
      Object.defineProperty(named, name, { value: row[`c${i + 1}`], enumerable: true, writable: true, configurable: true });
    });
    return named;
  });
  return { columns, rows, sql: { sql: c.value.sql, parameters: c.value.parameters } };
}
