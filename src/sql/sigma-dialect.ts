/**
 * What the Sigma hunting compiler needs from a SQL engine beyond the shared `Dialect` seam:
 * JSON extraction that keeps any-element semantics over arrays, list predicates, LIKE with an
 * escape character, and window frames over epoch milliseconds. DuckDB first; a ClickHouse
 * dialect implements the same interface.
 *
 * Methods take SQL fragments the compiler built (column references, placeholders, constants
 * written by the compiler) and never raw user text.
 */
import { DUCKDB_DIALECT, type Dialect } from './dialect.js';

export interface SigmaSqlDialect extends Dialect {
  /** JSON type name of the value at a path ('VARCHAR', 'BIGINT', 'OBJECT', 'NULL' …), NULL when absent. */
  jsonType(column: string, pathParam: string): string;
  /** List of JSON values matched by a path containing `[*]`. */
  jsonExtractList(column: string, pathParam: string): string;
  /** Type name of one JSON value (an element of jsonExtractList). */
  jsonValueType(json: string): string;
  /** Text of one JSON scalar value (an element of jsonExtractList). */
  jsonValueText(json: string): string;
  /** SQL list of the type names that are JSON scalars (string, number, boolean). */
  readonly jsonScalarTypes: string;
  /** SQL literals of the type names jsonType gives a JSON null and a JSON array. */
  readonly jsonNullType: string;
  readonly jsonArrayType: string;
  /** True when some element of `list` satisfies `predicate(element)`; never NULL. */
  listAny(list: string, variable: string, predicate: string): string;
  /** 1-based list element. */
  listElement(list: string, index: number): string;
  /** `expr LIKE pattern` with `\` as escape character. */
  like(expr: string, patternParam: string): string;
  lower(expr: string): string;
  castText(expr: string): string;
  castDouble(expr: string): string;
  /** Epoch milliseconds (BIGINT) of a TIMESTAMP column. */
  epochMs(column: string): string;
  /** Regex full match (the pattern is a bound parameter). */
  regexFullMatch(expr: string, patternParam: string): string;
  /** Split text on a literal separator parameter into a list of text. */
  split(expr: string, separatorParam: string): string;
  /** String prefix / suffix / substring tests with bound needles. */
  startsWith(expr: string, needle: string): string;
  endsWith(expr: string, needle: string): string;
  contains(expr: string, needle: string): string;
  left(expr: string, n: number): string;
  /** Text of capturing group `group` of the first match ('' when it did not take part). */
  regexGroup(expr: string, patternParam: string, group: number): string;
  /** Casts that yield NULL on bad input. */
  tryCastInteger(expr: string): string;
  tryCastBigint(expr: string): string;
  tryCastDate(expr: string): string;
  /** ISO week number of a DATE. */
  isoWeek(date: string): string;
  /** `list` with `expr` (written in terms of `variable`) applied to each element. */
  listMap(list: string, variable: string, expr: string): string;
  listMax(list: string): string;
  /** `list` without its NULL elements. */
  listWithoutNulls(list: string, variable: string): string;
}

export const DUCKDB_SIGMA_DIALECT: SigmaSqlDialect = {
  ...DUCKDB_DIALECT,
  jsonType: (column, pathParam) => `json_type(${column}, ${pathParam})`,
  jsonExtractList: (column, pathParam) => `json_extract(${column}, ${pathParam})`,
  jsonValueType: (json) => `json_type(${json})`,
  jsonValueText: (json) => `json_extract_string(${json}, '$')`,
  jsonScalarTypes: `('VARCHAR', 'BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT', 'DOUBLE', 'BOOLEAN')`,
  jsonNullType: `'NULL'`,
  jsonArrayType: `'ARRAY'`,
  listAny: (list, variable, predicate) =>
    `coalesce(len(list_filter(${list}, lambda ${variable}: ${predicate})) > 0, false)`,
  listElement: (list, index) => `${list}[${Math.trunc(index)}]`,
  like: (expr, patternParam) => `${expr} LIKE ${patternParam} ESCAPE '\\'`,
  lower: (expr) => `lower(${expr})`,
  castText: (expr) => `CAST(${expr} AS VARCHAR)`,
  castDouble: (expr) => `CAST(${expr} AS DOUBLE)`,
  epochMs: (column) => `epoch_ms(${column})`,
  regexFullMatch: (expr, patternParam) => `regexp_full_match(${expr}, ${patternParam})`,
  split: (expr, separatorParam) => `string_split(${expr}, ${separatorParam})`,
  startsWith: (expr, needle) => `starts_with(${expr}, ${needle})`,
  endsWith: (expr, needle) => `ends_with(${expr}, ${needle})`,
  contains: (expr, needle) => `contains(${expr}, ${needle})`,
  left: (expr, n) => `left(${expr}, ${Math.trunc(n)})`,
  regexGroup: (expr, patternParam, group) => `regexp_extract(${expr}, ${patternParam}, ${Math.trunc(group)})`,
  tryCastInteger: (expr) => `TRY_CAST(${expr} AS INTEGER)`,
  tryCastBigint: (expr) => `TRY_CAST(${expr} AS BIGINT)`,
  tryCastDate: (expr) => `TRY_CAST(${expr} AS DATE)`,
  isoWeek: (date) => `week(${date})`,
  listMap: (list, variable, expr) => `list_transform(${list}, lambda ${variable}: ${expr})`,
  listMax: (list) => `list_max(${list})`,
  listWithoutNulls: (list, variable) => `list_filter(${list}, lambda ${variable}: ${variable} IS NOT NULL)`,
};
