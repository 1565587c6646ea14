/**
 * The SQL dialect seam shared by every compiler that targets the store (Logs Insights queries,
 * Sigma hunting). Compilers build `{ sql, parameters }`: user values are always parameters,
 * identifiers pass `quoteIdentifier`, and nothing from a log or a user is pasted into SQL text.
 * Add methods here when a compiler needs one; implement them for every dialect.
 */

export interface CompiledSql {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/** The SQL engines a Store can be backed by (StoreCapabilities.dialect). */
export type DialectName = 'duckdb' | 'clickhouse';

export interface Dialect {
  readonly name: DialectName;
  /** Quote an identifier (column or alias); safe for any input string. */
  quoteIdentifier(id: string): string;
  /** Placeholder for the n-th parameter (1-based). */
  placeholder(n: number): string;
  /**
   * Expression extracting the value at `path` from the JSON text column as VARCHAR (NULL when
   * absent). `pathParam` is the placeholder of a parameter holding the JSON path string made
   * by `jsonPath(path)`, so path segments from users are never pasted into SQL.
   */
  jsonExtractText(column: string, pathParam: string): string;
  /** The JSON path string (bound as a parameter) for the given segments. */
  jsonPath(path: readonly (string | number)[]): string;
  /** Boolean expression: `expr` matches the regular expression bound at `patternParam`. */
  regexMatch(expr: string, patternParam: string, flags: { caseInsensitive: boolean }): string;
}

export const DUCKDB_DIALECT: Dialect = {
  name: 'duckdb',
  quoteIdentifier(id: string): string {
    return `"${id.replaceAll('"', '""')}"`;
  },
  placeholder(n: number): string {
    return `$${n}`;
  },
  jsonExtractText(column: string, pathParam: string): string {
    return `json_extract_string(${column}, ${pathParam})`;
  },
  jsonPath(path: readonly (string | number)[]): string {
    // DuckDB JSONPath: $."key"[0]."other"; keys are quoted so dots and slashes inside a key
    // (annotations' authorization.k8s.io/decision) stay one segment.
    let out = '$';
    for (const seg of path) {
      if (typeof seg === 'number') out += `[${seg}]`;
      else out += `."${seg.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
    }
    return out;
  },
  regexMatch(expr: string, patternParam: string, flags: { caseInsensitive: boolean }): string {
    return flags.caseInsensitive
      ? `regexp_matches(${expr}, ${patternParam}, 'i')`
      : `regexp_matches(${expr}, ${patternParam})`;
  },
};
