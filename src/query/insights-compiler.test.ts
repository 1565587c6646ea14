// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { compileInsightsQuery } from './insights-query.js';
import { DUCKDB_INSIGHTS_DIALECT } from '../sql/insights-dialect.js';
import { globToRe2 } from './insights-compiler.js';
import { sampleStore } from './insights-test-support.js';
import type { Store } from '../store/store.js';

/**
 * Golden tests: the exact SQL and parameters for representative queries (most from the EKS
 * corpus), each then run on a real DuckDB store. Results are checked against independently
 * computed rows in insights-query.test.ts.
 */
interface Golden {
  readonly name: string;
  readonly query: string;
  readonly options: { start?: Date; end?: Date; limit?: number };
  readonly sql: string;
  readonly parameters: readonly unknown[];
  readonly columns: readonly string[];
}

const GOLDEN: readonly Golden[] = [
  {
    name: 'EKS-001 filters, like, in, default columns',
    query:
      'fields @timestamp, @message\n| filter @logStream like "kube-apiserver-audit"\n| filter verb in ["update", "patch"]\n| filter objectRef.resource = "configmaps" and objectRef.name = "aws-auth" and objectRef.namespace = "kube-system"\n| sort @timestamp desc',
    options: {},
    sql: 'SELECT strftime("time", \'%Y-%m-%d %H:%M:%S.%g\') AS "c1", "raw" AS "c2" FROM "events" WHERE contains("log_stream", CAST($1 AS VARCHAR)) AND "verb" IN (CAST($2 AS VARCHAR), CAST($3 AS VARCHAR)) AND ((("resource" = CAST($4 AS VARCHAR)) AND ("name" = CAST($5 AS VARCHAR))) AND ("namespace" = CAST($6 AS VARCHAR))) ORDER BY "time" DESC NULLS LAST LIMIT CAST($7 AS BIGINT)',
    parameters: ['kube-apiserver-audit', 'update', 'patch', 'configmaps', 'aws-auth', 'kube-system', 10000],
    columns: ['@timestamp', '@message'],
  },
  {
    name: 'EKS-008 sourceIPs.0, numeric strings in a list, filter hoisted over sort/limit',
    query:
      'fields @timestamp, @message, sourceIPs.0\n| sort @timestamp desc\n| limit 100\n| filter user.username="system:anonymous" and responseStatus.code in ["401", "403"]',
    options: {},
    sql: 'SELECT strftime("time", \'%Y-%m-%d %H:%M:%S.%g\') AS "c1", "raw" AS "c2", "source_ips"[CAST($1 AS BIGINT)] AS "c3" FROM "events" WHERE (("user_username" = CAST($2 AS VARCHAR)) AND "response_code" IN (CAST($3 AS DOUBLE), CAST($4 AS DOUBLE))) ORDER BY "time" DESC NULLS LAST LIMIT CAST($5 AS BIGINT)',
    parameters: [1, 'system:anonymous', 401, 403, 100],
    columns: ['@timestamp', '@message', 'sourceIPs.0'],
  },
  {
    name: 'EKS-007 sort/limit before stats pick the rows; bin()',
    query:
      'fields @timestamp, @message\n| sort @timestamp desc\n| limit 100\n| filter objectRef.resource="secrets" and verb in ["get", "watch", "list"] and responseStatus.code="401"\n| stats count() by bin(1m)',
    options: {},
    sql: 'SELECT strftime(make_timestamp(TRY_CAST(CAST("s1_1" AS DOUBLE) * 1000 AS BIGINT)), \'%Y-%m-%d %H:%M:%S.%g\') AS "c1", "s1_2" AS "c2" FROM (SELECT TRY_CAST(floor(epoch_ms("time") / CAST($1 AS DOUBLE)) * CAST($1 AS DOUBLE) AS BIGINT) AS "s1_1", count(*) AS "s1_2" FROM (SELECT * FROM "events" WHERE ((("resource" = CAST($2 AS VARCHAR)) AND "verb" IN (CAST($3 AS VARCHAR), CAST($4 AS VARCHAR), CAST($5 AS VARCHAR))) AND ("response_code" = CAST($6 AS DOUBLE))) ORDER BY "time" DESC NULLS LAST LIMIT CAST($7 AS BIGINT)) AS "rows" GROUP BY 1) AS "stats1" ORDER BY "s1_1" ASC NULLS LAST LIMIT CAST($8 AS BIGINT)',
    parameters: [60000, 'secrets', 'get', 'watch', 'list', 401, 100, 10000],
    columns: ['bin(1m)', 'count()'],
  },
  {
    name: 'EKS-018 backticked flattened key',
    query: 'fields @message | filter `annotations.k8s.io/deprecated`="true"',
    options: {},
    sql: 'SELECT "raw" AS "c1" FROM "events" WHERE (COALESCE(json_extract_string("raw", $1), json_extract_string("raw", $2), json_extract_string("raw", $3), json_extract_string("raw", $4)) = CAST($5 AS VARCHAR)) ORDER BY "time" DESC NULLS LAST LIMIT CAST($6 AS BIGINT)',
    parameters: [
      '$."annotations"."k8s.io/deprecated"',
      '$."annotations.k8s.io/deprecated"',
      '$."annotations.k8s"."io/deprecated"',
      '$."annotations"."k8s"."io/deprecated"',
      'true',
      10000,
    ],
    columns: ['@message'],
  },
  {
    name: 'EKS-022 stats alias named count, regex like',
    query:
      'fields @logStream, @timestamp, @message\n| filter @logStream like /^kube-apiserver-audit/\n| stats count(*) as count by responseStatus.code\n| sort count desc',
    options: {},
    sql: 'SELECT "s1_1" AS "c1", "s1_2" AS "c2" FROM (SELECT "response_code" AS "s1_1", count(*) AS "s1_2" FROM "events" WHERE regexp_matches("log_stream", CAST($1 AS VARCHAR)) GROUP BY 1) AS "stats1" ORDER BY "s1_2" DESC NULLS LAST LIMIT CAST($2 AS BIGINT)',
    parameters: ['^kube-apiserver-audit', 10000],
    columns: ['responseStatus.code', 'count'],
  },
  {
    name: 'EKS-041 glob parse',
    query:
      'fields @timestamp\n|filter @logStream like /kube-apiserver-audit/\n|parse @message "subject: *, seconds after warning threshold:*\\"" as subject, elapsedtime',
    options: {},
    sql: 'SELECT strftime("time", \'%Y-%m-%d %H:%M:%S.%g\') AS "c1", CASE WHEN regexp_matches("raw", CAST($1 AS VARCHAR)) THEN regexp_extract("raw", CAST($1 AS VARCHAR), 1) END AS "c2", CASE WHEN regexp_matches("raw", CAST($1 AS VARCHAR)) THEN regexp_extract("raw", CAST($1 AS VARCHAR), 2) END AS "c3" FROM "events" WHERE regexp_matches("log_stream", CAST($2 AS VARCHAR)) ORDER BY "time" DESC NULLS LAST LIMIT CAST($3 AS BIGINT)',
    parameters: ['(?s)subject: (.*?), seconds after warning threshold:(.*?)"', 'kube-apiserver-audit', 10000],
    columns: ['@timestamp', 'subject', 'elapsedtime'],
  },
  {
    name: 'EKS-009 filter after stats on event fields is hoisted',
    query:
      'fields @timestamp, @message\n| sort @timestamp desc\n| limit 100\n| stats count(*) by objectRef.name as secret\n| filter verb="get" and objectRef.resource="secrets"',
    options: {},
    sql: 'SELECT "s1_1" AS "c1", "s1_2" AS "c2" FROM (SELECT "name" AS "s1_1", count(*) AS "s1_2" FROM (SELECT * FROM "events" WHERE (("verb" = CAST($1 AS VARCHAR)) AND ("resource" = CAST($2 AS VARCHAR))) ORDER BY "time" DESC NULLS LAST LIMIT CAST($3 AS BIGINT)) AS "rows" GROUP BY 1) AS "stats1" ORDER BY regexp_full_match("s1_1", CAST($4 AS VARCHAR)) ASC NULLS LAST, CASE WHEN regexp_full_match("s1_1", CAST($4 AS VARCHAR)) THEN TRY_CAST("s1_1" AS DOUBLE) END ASC NULLS LAST, CASE WHEN regexp_full_match("s1_1", CAST($4 AS VARCHAR)) THEN "s1_1" ELSE array_to_string(list_transform(regexp_extract_all("s1_1", CAST($5 AS VARCHAR)), nat_chunk -> CASE WHEN regexp_full_match(nat_chunk, CAST($4 AS VARCHAR)) THEN lpad(CAST(length(nat_chunk) AS VARCHAR), 6, \'0\') || nat_chunk ELSE nat_chunk END), \'\') END ASC NULLS LAST LIMIT CAST($6 AS BIGINT)',
    parameters: ['get', 'secrets', 100, '[0-9]+', '[0-9]+|[^0-9]+', 10000],
    columns: ['secret', 'count(*)'],
  },
  {
    name: 'EKS-039 filter on a stats result written before stats runs after it',
    query:
      'fields requestURI\n| filter requestURI like /pods/\n| filter count > 8\n| stats count(*) as count by requestURI, responseStatus.code\n| filter responseStatus.code not like /500/\n| sort count desc',
    options: {},
    sql: 'SELECT "s1_1" AS "c1", "s1_2" AS "c2", "s1_3" AS "c3" FROM (SELECT "request_uri" AS "s1_1", "response_code" AS "s1_2", count(*) AS "s1_3" FROM "events" WHERE regexp_matches("request_uri", CAST($1 AS VARCHAR)) GROUP BY 1, 2) AS "stats1" WHERE ("s1_3" > CAST($2 AS DOUBLE)) AND (NOT COALESCE(regexp_matches(CAST("s1_2" AS VARCHAR), CAST($3 AS VARCHAR)), FALSE)) ORDER BY "s1_3" DESC NULLS LAST LIMIT CAST($4 AS BIGINT)',
    parameters: ['pods', 8, '500', 10000],
    columns: ['requestURI', 'responseStatus.code', 'count'],
  },
  {
    name: 'functions, natural sort, dedup',
    query:
      'fields user.username, substr(verb, 0, 3) as v3 | filter strcontains(user.username, "admin") | sort user.username asc | dedup user.username | limit 5',
    options: {},
    sql: 'SELECT "user_username" AS "c1", substr("verb", (TRY_CAST(CAST($1 AS DOUBLE) AS BIGINT) + 1), greatest(TRY_CAST(CAST($2 AS DOUBLE) AS BIGINT), 0)) AS "c2" FROM "events" WHERE (CAST(COALESCE(contains("user_username", CAST($3 AS VARCHAR)), FALSE) AS INTEGER) <> 0) QUALIFY "user_username" IS NULL OR row_number() OVER (PARTITION BY "user_username" ORDER BY regexp_full_match("user_username", CAST($4 AS VARCHAR)) ASC NULLS LAST, CASE WHEN regexp_full_match("user_username", CAST($4 AS VARCHAR)) THEN TRY_CAST("user_username" AS DOUBLE) END ASC NULLS LAST, CASE WHEN regexp_full_match("user_username", CAST($4 AS VARCHAR)) THEN "user_username" ELSE array_to_string(list_transform(regexp_extract_all("user_username", CAST($5 AS VARCHAR)), nat_chunk -> CASE WHEN regexp_full_match(nat_chunk, CAST($4 AS VARCHAR)) THEN lpad(CAST(length(nat_chunk) AS VARCHAR), 6, \'0\') || nat_chunk ELSE nat_chunk END), \'\') END ASC NULLS LAST) = 1 ORDER BY regexp_full_match("user_username", CAST($4 AS VARCHAR)) ASC NULLS LAST, CASE WHEN regexp_full_match("user_username", CAST($4 AS VARCHAR)) THEN TRY_CAST("user_username" AS DOUBLE) END ASC NULLS LAST, CASE WHEN regexp_full_match("user_username", CAST($4 AS VARCHAR)) THEN "user_username" ELSE array_to_string(list_transform(regexp_extract_all("user_username", CAST($5 AS VARCHAR)), nat_chunk -> CASE WHEN regexp_full_match(nat_chunk, CAST($4 AS VARCHAR)) THEN lpad(CAST(length(nat_chunk) AS VARCHAR), 6, \'0\') || nat_chunk ELSE nat_chunk END), \'\') END ASC NULLS LAST LIMIT CAST($6 AS BIGINT)',
    parameters: [0, 3, 'admin', '[0-9]+', '[0-9]+|[^0-9]+', 5],
    columns: ['user.username', 'v3'],
  },
  {
    name: 'JSON paths with coercion, regex parse, two stats, time range and row cap',
    query:
      'filter level = "Metadata" and stage =~ /(?i)responsecomplete/ | parse requestURI /namespaces\\/(?<ns>[^\\/]+)/ | stats count(*) as n by ns, kind | stats sum(n) as total, count(*) as kinds by ns | sort total desc',
    options: { start: new Date('2024-05-01T10:00:00Z'), end: new Date('2024-05-01T11:00:00Z'), limit: 50 },
    sql: 'SELECT "s2_1" AS "c1", "s2_2" AS "c2", "s2_3" AS "c3" FROM (SELECT "s1_1" AS "s2_1", sum("s1_3") AS "s2_2", count(*) AS "s2_3" FROM (SELECT CASE WHEN regexp_matches("request_uri", CAST($1 AS VARCHAR)) THEN regexp_extract("request_uri", CAST($1 AS VARCHAR), 1) END AS "s1_1", json_extract_string("raw", $2) AS "s1_2", count(*) AS "s1_3" FROM "events" WHERE "time" >= make_timestamp(TRY_CAST(CAST($3 AS DOUBLE) * 1000 AS BIGINT)) AND "time" < make_timestamp(TRY_CAST(CAST($4 AS DOUBLE) * 1000 AS BIGINT)) AND (("level" = CAST($5 AS VARCHAR)) AND regexp_matches("stage", CAST($6 AS VARCHAR))) GROUP BY 1, 2) AS "stats1" GROUP BY 1) AS "stats2" ORDER BY "s2_2" DESC NULLS LAST LIMIT CAST($7 AS BIGINT)',
    parameters: [
      'namespaces/(?P<ns>[^/]+)',
      '$."kind"',
      1714557600000,
      1714561200000,
      'Metadata',
      '(?i)responsecomplete',
      50,
    ],
    columns: ['ns', 'total', 'kinds'],
  },
  {
    name: 'JSON value of unknown type vs numeric string and number',
    query:
      'fields auditID | filter responseStatus.metadata.code = "401" or objectRef.resourceVersion > 10 or `weird"name` = 1',
    options: {},
    sql: 'SELECT "audit_id" AS "c1" FROM "events" WHERE ((COALESCE(TRY_CAST(json_extract_string("raw", $1) AS DOUBLE) = CAST($2 AS DOUBLE), json_extract_string("raw", $1) = CAST($3 AS VARCHAR)) OR (TRY_CAST(json_extract_string("raw", $4) AS DOUBLE) > CAST($5 AS DOUBLE))) OR (TRY_CAST(json_extract_string("raw", $6) AS DOUBLE) = CAST($7 AS DOUBLE))) ORDER BY "time" DESC NULLS LAST LIMIT CAST($8 AS BIGINT)',
    parameters: [
      '$."responseStatus"."metadata"."code"',
      401,
      '401',
      '$."objectRef"."resourceVersion"',
      10,
      '$."weird\\"name"',
      1,
      10000,
    ],
    columns: ['auditID'],
  },
];

let store: Store | null = null;
async function db(): Promise<Store> {
  store ??= await sampleStore();
  return store;
}
after(async () => {
  await store?.close();
});

for (const g of GOLDEN) {
  test(`golden: ${g.name}`, async () => {
    const c = compileInsightsQuery(g.query, g.options);
    assert.deepEqual(c.errors, []);
    assert.equal(c.value?.sql, g.sql);
    assert.deepEqual(c.value?.parameters, g.parameters);
    assert.deepEqual(c.value?.columns, g.columns);
    const s = await db();
    const r = await s.queryWithColumns(g.sql, g.parameters);
    assert.deepEqual(
      r.columns,
      g.columns.map((_, i) => `c${i + 1}`),
    );
  });
}

function compileError(query: string): string {
  const c = compileInsightsQuery(query);
  assert.equal(c.value, undefined, `expected ${query} not to compile`);
  assert.ok(c.errors.length > 0);
  return c.errors.map((e) => e.message).join('; ');
}

test('compile errors are located and explain the AWS rule', () => {
  const c = compileInsightsQuery('stats count(*) by verb\n| stats count(*) by verb\n| stats count(*)');
  assert.deepEqual(
    c.errors.map((e) => [e.line, e.column, e.message]),
    [[3, 3, 'a query can have at most two stats commands']],
  );
  assert.match(
    compileError('stats count(*) as n by verb | sort n | stats sum(n)'),
    /sort must come after the second stats command/,
  );
  assert.match(compileError('dedup verb | sort verb'), /only limit can follow dedup/);
  assert.match(compileError('stats count(*) by verb | parse verb "a*" as x'), /parse must come before stats/);
  assert.match(compileError('stats verb'), /'verb' must be inside an aggregate function/);
  assert.match(compileError('stats count(*) by count(*)'), /not allowed in the by clause/);
  assert.match(compileError('fields count(*)'), /aggregate function, only allowed in stats/);
  assert.match(compileError('stats count(*) as n, sum(n) as n'), /two results named 'n'/);
  assert.match(
    compileError('stats count(*) as n by verb | filter n > 1 and user.username = "x"'),
    /mixes event fields \(user\.username\) with stats results \(n\)/,
  );
  assert.match(
    compileError('stats count(*) as n by verb | display user.username'),
    /'user.username' does not exist after stats/,
  );
  assert.match(
    compileError('stats count(*) as n by verb | stats max(n) by bin(5m)'),
    /'@timestamp' does not exist after stats/,
  );
  assert.match(compileError('fields frobnicate(x)'), /unknown or unsupported function 'frobnicate'/);
  assert.match(compileError('fields strlen(a, b)'), /strlen\(\) takes 1 argument\(s\), got 2/);
  assert.match(compileError('fields bin(x)'), /needs a time period/);
  assert.match(compileError('fields x + 5m'), /time period \(5m\) is only allowed in bin/);
  assert.match(compileError('filter x like /a/z'), /unknown regex flag 'z'/);
  assert.match(compileError('stats pct(x, 101)'), /percentile from 0 to 100/);
  assert.match(compileError('fields isIpv4InSubnet(ip, "fe80::/10")'), /'fe80::\/10' is not an IPv4 CIDR/);
  assert.match(compileError('fields isIpInSubnet(ip, "10.0.0.0/33")'), /is not an IPv4 or IPv6 CIDR/);
  assert.match(compileError('fields isIpInSubnet(ip, cidrField)'), /needs the subnet as a string/);
  assert.match(compileError('stats count(count(*))'), /cannot be nested/);
});

test('option limit lowers the cap but never raises it above 10,000', () => {
  const sqlLimit = (limit: number | undefined): unknown => {
    const c = compileInsightsQuery('fields verb', limit === undefined ? {} : { limit });
    return c.value?.parameters.at(-1);
  };
  assert.equal(sqlLimit(undefined), 10000);
  assert.equal(sqlLimit(25), 25);
  assert.equal(sqlLimit(50000), 10000);
  assert.equal(compileInsightsQuery('fields verb | limit 30', { limit: 10 }).value?.parameters.at(-1), 10);
  assert.match(compileInsightsQuery('fields verb', { limit: 0 }).errors[0]?.message ?? '', /row limit/);
});

test('identifiers are quoted and parameters compacted: a result named $1 stays an identifier', () => {
  const c = compileInsightsQuery('stats count(*) as `$1"; DROP TABLE events; --` by verb');
  assert.ok(c.value !== undefined);
  assert.ok(!c.value.sql.includes('DROP'));
  assert.deepEqual(c.value.columns, ['verb', '$1"; DROP TABLE events; --']);
  assert.deepEqual(DUCKDB_INSIGHTS_DIALECT.compactParameters(`SELECT $3, '$2', "$1", $3, $1`, ['a', 'b', 'c']), {
    sql: `SELECT $1, '$2', "$1", $1, $2`,
    parameters: ['c', 'a'],
  });
});

test('glob patterns become anchored-free RE2 with lazy captures and a greedy trailing *', () => {
  assert.equal(globToRe2('user=*, method:*, latency := *'), '(?s)user=(.*?), method:(.*?), latency := (.*)');
  assert.equal(globToRe2('[*] (*).*'), '(?s)\\[(.*?)\\] \\((.*?)\\)\\.(.*)');
});
