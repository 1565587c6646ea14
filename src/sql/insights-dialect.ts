/**
 * What the Logs Insights compiler needs from a SQL engine beyond the shared `Dialect` seam:
 * the spelling of casts, list access, regex extraction, timestamps and aggregates. DuckDB is
 * the first implementation; a ClickHouse one implements the same interface.
 *
 * Every method takes SQL fragments the compiler already built (column references, bound
 * placeholders, or constants written by this file) and never sees raw user text.
 */
import { DUCKDB_DIALECT, type Dialect } from './dialect.js';

export type SqlCastType = 'VARCHAR' | 'DOUBLE' | 'BIGINT' | 'INTEGER' | 'BOOLEAN';

export interface InsightsDialect extends Dialect {
  /** CAST that fails (error) on bad input: only for values the compiler knows convert. */
  cast(expr: string, type: SqlCastType): string;
  /** CAST that yields NULL on bad input ('abc' → DOUBLE). */
  tryCast(expr: string, type: SqlCastType): string;
  /** A SQL string literal for a constant written by the compiler itself (never user text). */
  constant(s: string): string;
  /** Epoch milliseconds (BIGINT) of a TIMESTAMP column. */
  epochMs(timestampColumn: string): string;
  /** TIMESTAMP for epoch milliseconds. */
  timestampFromMs(ms: string): string;
  /** CloudWatch's display form of a timestamp, `2023-07-31 01:58:12.101` (UTC), from epoch ms. */
  formatMs(ms: string): string;
  /** The same display form from a TIMESTAMP column. */
  formatTimestamp(column: string): string;
  /** Calendar bucket start (epoch ms) of `ms` for a bucket of `months` months. */
  monthBucketMs(ms: string, months: string): string;
  /** 1-based element of a list column; NULL when out of range. */
  listElement(list: string, oneBasedIndex: string): string;
  listLength(list: string): string;
  /** A list rendered as JSON text (`["10.0.0.1"]`); NULL for an empty list. */
  listToJson(list: string): string;
  /** Text of capturing group `group` (1-based) of the first match; '' when it did not take part. */
  regexExtract(expr: string, patternParam: string, group: string): string;
  /** Substring test that treats the needle literally (no LIKE wildcards). */
  contains(haystack: string, needleParam: string): string;
  /** 1-based substring; `length` may be null (to the end). */
  substring(expr: string, oneBasedStart: string, length: string | null): string;
  /** Part `k` (1-based) of `expr` split on the separator constant. */
  splitPart(expr: string, separator: string, k: number): string;
  /** 1-based position of `needle` in `haystack`, 0 when absent. */
  position(haystack: string, needle: string): string;
  /** Trim `chars` (a set of characters) or whitespace when null. */
  trim(side: 'both' | 'left' | 'right', expr: string, chars: string | null): string;
  /** Value of `value` on the row where `key` is smallest/largest. */
  argMin(value: string, key: string): string;
  argMax(value: string, key: string): string;
  quantile(expr: string, fraction: string): string;
  stddev(expr: string): string;
  countDistinct(expr: string): string;
  /**
   * Key that orders strings in CloudWatch's "natural" order when compared as text: runs of
   * digits compare by length then value; everything else by code point. `digitsParam` and
   * `chunksParam` are placeholders bound to the regexes returned by `naturalSortPatterns`.
   */
  naturalKey(expr: string, digitsParam: string, chunksParam: string): string;
  /** The text of each row's `digitsParam` test, used to sort pure numbers after other strings. */
  fullMatch(expr: string, patternParam: string): string;
  /** The 32 lower-case hex digits of a valid, lower-cased IPv6 text address (`::` expanded). */
  ipv6Hex(expr: string): string;
  /** Row filter keeping the first row of each group in the given order (DuckDB QUALIFY). */
  firstPerGroup(partition: readonly string[], orderBy: readonly string[], keepWhenNull: readonly string[]): string;
  /**
   * Renumber placeholders in order of first use and drop parameters the SQL no longer uses
   * (the engine rejects unused ones). Quoted identifiers and literals are skipped, so a result
   * column named `$1` stays intact.
   */
  compactParameters(sql: string, parameters: readonly unknown[]): { sql: string; parameters: unknown[] };
}

/** Regexes bound as parameters for natural sorting: a pure run of digits, and the chunking. */
export const NATURAL_SORT_PATTERNS = { digits: '[0-9]+', chunks: '[0-9]+|[^0-9]+' } as const;

const TIMESTAMP_FORMAT = '%Y-%m-%d %H:%M:%S.%g';
const micros = (ms: string): string => `TRY_CAST(CAST(${ms} AS DOUBLE) * 1000 AS BIGINT)`;

export const DUCKDB_INSIGHTS_DIALECT: InsightsDialect = {
  ...DUCKDB_DIALECT,
  cast: (expr, type) => `CAST(${expr} AS ${type})`,
  tryCast: (expr, type) => `TRY_CAST(${expr} AS ${type})`,
  constant: (s) => `'${s.replaceAll("'", "''")}'`,
  epochMs: (col) => `epoch_ms(${col})`,
  // Microseconds computed in DOUBLE and TRY_CAST: an absurd value becomes NULL, not an overflow error.
  timestampFromMs: (ms) => `make_timestamp(${micros(ms)})`,
  formatMs: (ms) => `strftime(make_timestamp(${micros(ms)}), '${TIMESTAMP_FORMAT}')`,
  formatTimestamp: (col) => `strftime(${col}, '${TIMESTAMP_FORMAT}')`,
  monthBucketMs: (ms, months) =>
    `epoch_ms(time_bucket(to_months(CAST(${months} AS INTEGER)), make_timestamp(${micros(ms)})))`,
  listElement: (list, idx) => `${list}[${idx}]`,
  listLength: (list) => `len(${list})`,
  // Normalization stores a missing list as [], so an empty list reads as missing (NULL).
  listToJson: (list) => `CASE WHEN len(${list}) > 0 THEN CAST(to_json(${list}) AS VARCHAR) END`,
  regexExtract: (expr, pattern, group) => `regexp_extract(${expr}, ${pattern}, ${group})`,
  contains: (haystack, needle) => `contains(${haystack}, ${needle})`,
  substring: (expr, start, length) =>
    length === null ? `substr(${expr}, ${start})` : `substr(${expr}, ${start}, ${length})`,
  splitPart: (expr, separator, k) => `split_part(${expr}, ${separator}, ${Math.trunc(k)})`,
  position: (haystack, needle) => `strpos(${haystack}, ${needle})`,
  trim: (side, expr, chars) => {
    const fn = side === 'both' ? 'trim' : side === 'left' ? 'ltrim' : 'rtrim';
    return chars === null ? `${fn}(${expr})` : `${fn}(${expr}, ${chars})`;
  },
  argMin: (value, key) => `arg_min(${value}, ${key})`,
  argMax: (value, key) => `arg_max(${value}, ${key})`,
  quantile: (expr, fraction) => `quantile_cont(${expr}, ${fraction})`,
  stddev: (expr) => `stddev_samp(${expr})`,
  countDistinct: (expr) => `count(DISTINCT ${expr})`,
  naturalKey: (expr, digits, chunks) =>
    `array_to_string(list_transform(regexp_extract_all(${expr}, ${chunks}), nat_chunk -> CASE WHEN regexp_full_match(nat_chunk, ${digits}) THEN lpad(CAST(length(nat_chunk) AS VARCHAR), 6, '0') || nat_chunk ELSE nat_chunk END), '')`,
  fullMatch: (expr, pattern) => `regexp_full_match(${expr}, ${pattern})`,
  ipv6Hex: (t) => {
    const groups = (part: string): string => `CASE WHEN ${part} = '' THEN [] ELSE string_split(${part}, ':') END`;
    const left = groups(`split_part(${t}, '::', 1)`);
    const right = groups(`split_part(${t}, '::', 2)`);
    const pad = (list: string): string => `array_to_string(list_transform(${list}, ip6_g -> lpad(ip6_g, 4, '0')), '')`;
    const zeros = `list_transform(range(8 - len(${left}) - len(${right})), ip6_z -> '0')`;
    return `CASE WHEN contains(${t}, '::') THEN ${pad(`list_concat(${left}, ${zeros}, ${right})`)} ELSE ${pad(`string_split(${t}, ':')`)} END`;
  },
  firstPerGroup: (partition, orderBy, keepWhenNull) => {
    const nulls = keepWhenNull.map((k) => `${k} IS NULL`);
    const rank = `row_number() OVER (PARTITION BY ${partition.join(', ')}${orderBy.length > 0 ? ` ORDER BY ${orderBy.join(', ')}` : ''}) = 1`;
    return `QUALIFY ${[...nulls, rank].join(' OR ')}`;
  },
  compactParameters(sql, parameters) {
    const renumber = new Map<number, number>();
    const out: unknown[] = [];
    let result = '';
    let k = 0;
    while (k < sql.length) {
      const c = sql[k]!;
      if (c === "'" || c === '"') {
        // Copy a quoted literal or identifier; a doubled quote is an escaped quote.
        let end = k + 1;
        for (;;) {
          const next = sql.indexOf(c, end);
          if (next < 0) {
            end = sql.length;
            break;
          }
          if (sql[next + 1] === c) {
            end = next + 2;
            continue;
          }
          end = next + 1;
          break;
        }
        result += sql.slice(k, end);
        k = end;
        continue;
      }
      if (c === '$' && /[0-9]/.test(sql[k + 1] ?? '')) {
        let end = k + 1;
        while (end < sql.length && /[0-9]/.test(sql[end]!)) end++;
        const old = Number(sql.slice(k + 1, end));
        let n = renumber.get(old);
        if (n === undefined) {
          out.push(parameters[old - 1]);
          n = out.length;
          renumber.set(old, n);
        }
        result += `$${n}`;
        k = end;
        continue;
      }
      result += c;
      k++;
    }
    return { sql: result, parameters: out };
  },
};
