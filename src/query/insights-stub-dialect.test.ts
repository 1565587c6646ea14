/**
 * The Logs Insights compiler speaks SQL only through its dialect: compiled with a stub dialect
 * whose every method writes a neutral STUB_ token, no query (one per command, function and
 * aggregate, and every real query of the corpus) leaves a DuckDB-specific token in its SQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DUCKDB_INSIGHTS_DIALECT, type InsightsDialect } from '../sql/insights-dialect.js';
import { needsShared, sharedPath } from '../util/repo-root.js';
import { compileInsightsQuery } from './insights-query.js';

const DUCKDB_TOKENS = [
  /regexp_/i,
  /try_cast/i,
  /\blist_/i,
  /\bjson_/i,
  /epoch_ms/i,
  /strftime/i,
  /make_timestamp|time_bucket|to_months|date_trunc/i,
  /\blambda\b|->/i,
  /string_split|split_part|array_to_string/i,
  /\bQUALIFY\b/i,
  /::[A-Za-z]/,
  /\blen\(/i,
  /\bAS (VARCHAR|DOUBLE|BIGINT|INTEGER|BOOLEAN|TIMESTAMP)\b/,
  /arg_min|arg_max|quantile_cont|stddev_samp/i,
  /\b(substr|ltrim|rtrim|lpad|contains|strpos)\(/i,
];

/** One query per command, function and aggregate the compiler knows. */
const QUERIES = [
  'fields @timestamp, @message, @logStream, @log | sort @timestamp desc | limit 5',
  'filter verb = "get" and responseStatus.code >= 400 or user.username like /admin/ | display verb',
  'filter user.username =~ /^system:/ and objectRef.resource in ["pods", "secrets"] and not ispresent(objectRef.name)',
  'filter sourceIPs.0 like "10.0." | stats count(*) as n by bin(5m) | sort n desc',
  'stats count_distinct(user.username), sum(responseStatus.code), avg(responseStatus.code), min(@timestamp), max(@timestamp) by verb',
  'stats pct(responseStatus.code, 95), stddev(responseStatus.code), earliest(verb), latest(verb), sortsFirst(verb), sortsLast(verb) by objectRef.namespace',
  'stats count(*) by bin(1mo)',
  'fields strlen(verb) as a, toupper(verb) as b, tolower(verb) as c, trim(verb) as d, ltrim(verb) as e, rtrim(verb) as f',
  'fields substr(requestURI, 1, 5) as a, replace(requestURI, "/api", "") as b, strcontains(requestURI, "exec") as c, concat(verb, ":", objectRef.resource) as d',
  'fields isempty(objectRef.name) as a, isblank(objectRef.name) as b, abs(-1) as c, ceil(1.5) as d, floor(1.5) as e, greatest(1, 2) as f, least(1, 2) as g, log(10) as h, sqrt(4) as i',
  'fields datefloor(@timestamp, 1h) as a, dateceil(@timestamp, 1d) as b, frommillis(0) as c, tomillis(@timestamp) as d, coalesce(objectRef.name, "none") as e, unmask(verb) as f',
  'fields isvalidip(sourceIPs.0) as a, isvalidipv4(sourceIPs.0) as b, isvalidipv6(sourceIPs.0) as c',
  'filter isipinsubnet(sourceIPs.0, "10.0.0.0/8") or isipv4insubnet(sourceIPs.0, "192.168.0.0/16") or isipv6insubnet(sourceIPs.0, "fd00::/8")',
  'parse requestURI "/api/*/namespaces/*/pods" as version, ns | stats count(*) by ns',
  'parse @message /"verb":"(?<v>[a-z]+)"/ | stats count(*) by v',
  'fields verb, objectRef.resource | sort verb asc | dedup verb | limit 5',
  'fields sourceIPs, user.groups | limit 3',
];

function stubDialect(): InsightsDialect {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(DUCKDB_INSIGHTS_DIALECT)) {
    out[key] =
      typeof value === 'function'
        ? (...args: unknown[]) => `STUB_${key}(${args.map(String).join(', ')})`
        : `STUB_${key}`;
  }
  out['name'] = 'clickhouse';
  out['quoteIdentifier'] = (id: string) => `"${id.replaceAll('"', '""')}"`;
  out['placeholder'] = (n: number) => `{p${n}}`;
  out['jsonPath'] = DUCKDB_INSIGHTS_DIALECT.jsonPath;
  out['constant'] = DUCKDB_INSIGHTS_DIALECT.constant;
  out['compactParameters'] = (sql: string, parameters: readonly unknown[]) => ({ sql, parameters: [...parameters] });
  return out as unknown as InsightsDialect;
}

function assertNoDuckDbToken(query: string, dialect: InsightsDialect): string {
  const c = compileInsightsQuery(query, {}, dialect);
  assert.ok(c.value !== undefined, `${query}: ${c.errors.map((e) => e.message).join('; ')}`);
  const sql = c.value.sql;
  for (const token of DUCKDB_TOKENS) assert.doesNotMatch(sql, token, `${query}: DuckDB token ${token} in\n${sql}`);
  return sql;
}

test('the DuckDB dialect itself trips the token list (the check can fail)', () => {
  const tripped = QUERIES.filter((q) => {
    const sql = compileInsightsQuery(q).value?.sql ?? '';
    return DUCKDB_TOKENS.some((t) => t.test(sql));
  });
  assert.ok(tripped.length >= QUERIES.length / 2, `${tripped.length} of ${QUERIES.length}`);
});

test('every command, function and aggregate compiles with no DuckDB token', () => {
  const dialect = stubDialect();
  for (const q of QUERIES) assert.match(assertNoDuckDbToken(q, dialect), /STUB_|\{p1\}/, q);
});

test('every valid corpus query compiles with no DuckDB token', { skip: needsShared('corpus', 'insights') }, () => {
  const corpus = JSON.parse(readFileSync(sharedPath('corpus', 'insights', 'eks-queries.json'), 'utf8')) as {
    id: string;
    expectation: string;
    query: string;
  }[];
  const dialect = stubDialect();
  let n = 0;
  for (const q of corpus.filter((x) => x.expectation === 'valid')) {
    assertNoDuckDbToken(q.query, dialect);
    n++;
  }
  assert.ok(n >= 36, `${n} valid queries`);
});
