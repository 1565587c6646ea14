// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInsightsQuery, compileInsightsQuery, explainInsightsQuery } from './insights-query.js';
import { AUDIT_STREAM_A, cwTime, jsonPath, repoRoot, sampleEvents, sampleStore } from './insights-test-support.js';
import { openDuckDbStore } from '../store/duckdb/duckdb-store.js';
import { normalizeText } from '../normalize/normalize.js';
import { ParseError } from '../model/errors.js';
import type { AuditEvent } from '../model/audit-event.js';
import type { Row, Store } from '../store/store.js';

/**
 * End-to-end: Logs Insights text → SQL → a real DuckDB store holding the sample events. Every
 * expected result is computed here in plain JS over the same AuditEvents, never by SQL.
 */

interface CorpusQuery {
  readonly id: string;
  readonly expectation: 'valid' | 'valid?' | 'invalid?';
  readonly query: string;
}

const corpus: CorpusQuery[] = JSON.parse(
  readFileSync(join(repoRoot(), '..', 'shared', 'corpus', 'insights', 'eks-queries.json'), 'utf8'),
);

let shared: Store | null = null;
async function db(): Promise<Store> {
  shared ??= await sampleStore();
  return shared;
}
const extra: Store[] = [];
after(async () => {
  await shared?.close();
  for (const s of extra) await s.close();
});

const events = (): AuditEvent[] => sampleEvents();
const inAuditStream = (e: AuditEvent): boolean => (e.logStream ?? '').includes('kube-apiserver-audit');

async function run(
  query: string,
  options: { start?: Date; end?: Date; limit?: number } = {},
  store?: Store,
): Promise<{ columns: string[]; rows: Row[] }> {
  const r = await runInsightsQuery(store ?? (await db()), query, options);
  return { columns: r.columns, rows: r.rows };
}

/** Rows as comparable strings, sorted: for results whose order has ties. */
const asSet = (rows: readonly Row[]): string[] => rows.map((r) => JSON.stringify(r)).sort();

test('the sample store holds every sample event', async () => {
  assert.equal(await (await db()).countEvents(), events().length);
  assert.ok(events().length > 300);
});

for (const q of corpus) {
  if (q.expectation === 'invalid?') {
    test(`corpus ${q.id} (${q.expectation}) fails with a clear message`, async () => {
      const c = compileInsightsQuery(q.query);
      assert.equal(c.value, undefined);
      assert.equal(c.errors.length, 1);
      assert.equal(c.errors[0]!.message, "'count' is not a command");
      assert.match(c.errors[0]!.hint ?? '', /stats count/);
      await assert.rejects(
        runInsightsQuery(await db(), q.query),
        (e: unknown) => e instanceof ParseError && /count' is not a command/.test(e.message),
      );
    });
  } else {
    test(`corpus ${q.id} (${q.expectation}) parses, compiles and runs`, async () => {
      const c = compileInsightsQuery(q.query);
      assert.deepEqual(c.errors, []);
      const r = await run(q.query);
      assert.deepEqual(r.columns, [...c.value!.columns]);
      for (const row of r.rows) assert.deepEqual(Object.keys(row), r.columns);
    });
  }
}

const corpusQuery = (id: string): string => corpus.find((q) => q.id === id)!.query;

test('EKS-001: aws-auth updates, newest first, @timestamp and @message', async () => {
  const expected = events()
    .filter(
      (e) =>
        inAuditStream(e) &&
        ['update', 'patch'].includes(e.verb) &&
        e.resource === 'configmaps' &&
        e.name === 'aws-auth' &&
        e.namespace === 'kube-system',
    )
    .sort((a, b) => b.time - a.time)
    .map((e) => ({ '@timestamp': cwTime(e.time), '@message': e.rawText }));
  assert.equal(expected.length, 1);
  const r = await run(corpusQuery('EKS-001'));
  assert.deepEqual(r.columns, ['@timestamp', '@message']);
  assert.deepEqual(r.rows, expected);
});

test('EKS-008: filter after sort|limit is applied to the scan; "401" matches the integer 401; sourceIPs.0', async () => {
  const expected = events()
    .filter((e) => e.username === 'system:anonymous' && (e.responseCode === 401 || e.responseCode === 403))
    .sort((a, b) => b.time - a.time)
    .slice(0, 100)
    .map((e) => ({ '@timestamp': cwTime(e.time), '@message': e.rawText, 'sourceIPs.0': e.sourceIPs[0] ?? null }));
  assert.equal(expected.length, 3);
  const r = await run(corpusQuery('EKS-008'));
  assert.deepEqual(r.rows, expected);
});

test('EKS-007: the 100 newest matching events, counted per 1-minute bin', async () => {
  const picked = events()
    .filter((e) => e.resource === 'secrets' && ['get', 'watch', 'list'].includes(e.verb) && e.responseCode === 401)
    .sort((a, b) => b.time - a.time)
    .slice(0, 100);
  const bins = new Map<number, number>();
  for (const e of picked) {
    const b = Math.floor(e.time / 60_000) * 60_000;
    bins.set(b, (bins.get(b) ?? 0) + 1);
  }
  const expected = [...bins].sort((a, b) => a[0] - b[0]).map(([b, n]) => ({ 'bin(1m)': cwTime(b), 'count()': n }));
  assert.deepEqual(
    expected.map((r) => r['bin(1m)']),
    ['2024-05-01 10:01:00.000', '2024-05-01 10:03:00.000'],
  );
  assert.deepEqual((await run(corpusQuery('EKS-007'))).rows, expected);
});

test('EKS-009: a post-stats filter on event fields narrows the events counted', async () => {
  const picked = events()
    .sort((a, b) => b.time - a.time)
    .filter((e) => e.verb === 'get' && e.resource === 'secrets')
    .slice(0, 100);
  const counts = new Map<string | null, number>();
  for (const e of picked) counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
  const expected = [...counts].map(([secret, n]) => ({ secret, 'count(*)': n }));
  assert.deepEqual(expected, [{ secret: 'db-password', 'count(*)': 2 }]);
  assert.deepEqual((await run(corpusQuery('EKS-009'))).rows, expected);
});

test('EKS-014: comments between stages, not like as literal substring (? stays literal), count by user', async () => {
  const counts = new Map<string | null, number>();
  for (const e of events()) {
    const uri = e.requestURI ?? '';
    if (!inAuditStream(e) || !(e.userAgent ?? '').includes('kube-controller-manager')) continue;
    if (
      uri.includes('apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager') ||
      uri.includes('?timeout=32s')
    )
      continue;
    if (e.verb === 'watch') continue;
    counts.set(e.username, (counts.get(e.username) ?? 0) + 1);
  }
  const expected = [...counts].sort((a, b) => b[1] - a[1]).map(([u, n]) => ({ 'user.username': u, count: n }));
  assert.equal(expected.length, 1);
  assert.deepEqual((await run(corpusQuery('EKS-014'))).rows, expected);
});

test('EKS-022: count by response code, sorted by the count', async () => {
  const counts = new Map<number | null, number>();
  for (const e of events())
    if (/^kube-apiserver-audit/.test(e.logStream ?? ''))
      counts.set(e.responseCode, (counts.get(e.responseCode) ?? 0) + 1);
  const expected = [...counts].map(([code, n]) => ({ 'responseStatus.code': code, count: n }));
  const r = await run(corpusQuery('EKS-022'));
  assert.deepEqual(asSet(r.rows), asSet(expected));
  const ns = r.rows.map((row) => row['count'] as number);
  assert.deepEqual(
    ns,
    [...ns].sort((a, b) => b - a),
  );
});

test('EKS-012 (lower threshold): regex parse of JSON timestamps, chained aliases, stats, post-stats filter', async () => {
  const query = corpusQuery('EKS-012').replace('CountTime >=50', 'CountTime >=2');
  const re = (prefix: string): RegExp =>
    new RegExp(
      `\\d+-\\d+-(?<${prefix}Day>\\d+)T(?<${prefix}Hour>\\d+):(?<${prefix}Minute>\\d+):(?<${prefix}Sec>\\d+).(?<${prefix}Msec>\\d+)Z`,
    );
  const secs = (s: unknown, prefix: string): number | null => {
    if (typeof s !== 'string') return null;
    const g = re(prefix).exec(s)?.groups;
    if (g === undefined) return null;
    return (
      Number(g[`${prefix}Hour`]) * 3600 +
      Number(g[`${prefix}Minute`]) * 60 +
      Number(g[`${prefix}Sec`]) +
      Number(g[`${prefix}Msec`]) / 1_000_000
    );
  };
  const groups = new Map<string, { uri: string | null; ua: string | null; deltas: number[]; n: number }>();
  for (const e of events()) {
    if (!inAuditStream(e) || e.requestURI === null || e.verb !== 'list') continue;
    const start = secs(jsonPath(e, 'requestReceivedTimestamp'), 'Start');
    const end = secs(jsonPath(e, 'stageTimestamp'), 'End');
    const key = JSON.stringify([e.requestURI, e.userAgent]);
    const g = groups.get(key) ?? { uri: e.requestURI, ua: e.userAgent, deltas: [], n: 0 };
    g.n++;
    if (start !== null && end !== null) g.deltas.push(end - start);
    groups.set(key, g);
  }
  const expected = [...groups.values()]
    .filter((g) => g.n >= 2)
    .map((g) => ({
      requestURI: g.uri,
      userAgent: g.ua,
      AverageDeltaTime: g.deltas.length === 0 ? null : g.deltas.reduce((a, b) => a + b, 0) / g.deltas.length,
      CountTime: g.n,
    }));
  assert.ok(expected.length > 0);
  const r = await run(query);
  assert.deepEqual(r.columns, ['requestURI', 'userAgent', 'AverageDeltaTime', 'CountTime']);
  const key = (x: Row): string => JSON.stringify([x['requestURI'], x['userAgent'], x['CountTime']]);
  assert.deepEqual(r.rows.map(key).sort(), expected.map(key).sort());
  for (const row of r.rows) {
    const want = expected.find((x) => key(x) === key(row))!.AverageDeltaTime;
    if (want === null) assert.equal(row['AverageDeltaTime'], null);
    else assert.ok(Math.abs((row['AverageDeltaTime'] as number) - want) < 1e-6);
  }
});

test('EKS-039: a filter naming a stats result runs after the stats', async () => {
  const query = corpusQuery('EKS-039').replace('count > 8', 'count > 1');
  const counts = new Map<string, { uri: string | null; code: number | null; n: number }>();
  for (const e of events()) {
    if (!inAuditStream(e) || !/pods/.test(e.requestURI ?? '') || !/patch/.test(e.verb)) continue;
    const k = JSON.stringify([e.requestURI, e.responseCode]);
    const g = counts.get(k) ?? { uri: e.requestURI, code: e.responseCode, n: 0 };
    g.n++;
    counts.set(k, g);
  }
  const expected = [...counts.values()]
    .filter((g) => g.n > 1 && !/500/.test(String(g.code)))
    .map((g) => ({ requestURI: g.uri, 'responseStatus.code': g.code, count: g.n }));
  // web-1 was patched twice with 200 and twice with 500: only the 200 group survives.
  assert.deepEqual(expected, [
    { requestURI: '/api/v1/namespaces/default/pods/web-1', 'responseStatus.code': 200, count: 2 },
  ]);
  assert.deepEqual((await run(query)).rows, expected);
  // With the corpus's own threshold nothing in the sample qualifies.
  assert.deepEqual((await run(corpusQuery('EKS-039'))).rows, []);
});

test('EKS-018 and EKS-055: backticked flattened key; ~= with a string is a substring match', async () => {
  const deprecated = events().filter(
    (e) =>
      jsonPath(e, 'annotations.k8s.io/deprecated') === 'true' ||
      (e.raw['annotations'] as Record<string, unknown> | undefined)?.['k8s.io/deprecated'] === 'true',
  );
  assert.equal(deprecated.length, 1);
  assert.deepEqual(
    (await run(corpusQuery('EKS-018'))).rows,
    deprecated.map((e) => ({ '@message': e.rawText })),
  );
  const byUa = new Map<string | null, number>();
  for (const e of events())
    if ((e.logStream ?? '').includes('kube-apiserver-audit') && e.userAgent !== null)
      byUa.set(e.userAgent, (byUa.get(e.userAgent) ?? 0) + 1);
  const r = await run(corpusQuery('EKS-055'));
  // count(userAgent) counts present values only: the null-userAgent group counts 0.
  const expected = [...byUa].map(([ua, n]) => ({ userAgent: ua, count: n }));
  assert.deepEqual(asSet(r.rows.filter((row) => row['userAgent'] !== null)), asSet(expected));
  assert.deepEqual(
    r.rows.filter((row) => row['userAgent'] === null),
    [{ userAgent: null, count: 0 }],
  );
});

test('columns: @timestamp and @message by default, parse fields appended, fields adds (never drops)', async () => {
  const eksAdmin = events().filter((e) => e.auditID === 'eks-0001');
  const r1 = await run('filter auditID = "eks-0001" | parse @message \'"verb":"*"\' as v');
  assert.deepEqual(r1.columns, ['@timestamp', '@message', 'v']);
  assert.deepEqual(
    r1.rows,
    eksAdmin.map((e) => ({ '@timestamp': cwTime(e.time), '@message': e.rawText, v: 'patch' })),
  );
  const r2 = await run(
    'fields verb | filter auditID = "eks-0001" | fields user.username, objectRef.name as n | filter n = "aws-auth"',
  );
  assert.deepEqual(r2.columns, ['verb', 'user.username', 'n']);
  assert.deepEqual(r2.rows, [{ verb: 'patch', 'user.username': 'kubernetes-admin', n: 'aws-auth' }]);
  const r3 = await run('fields verb | display auditID | filter auditID = "eks-0001"');
  assert.deepEqual(r3.rows, [{ auditID: 'eks-0001' }]);
});

test('string functions: 0-based substr, trim sets, replace, strcontains, concat, isempty, isblank', async () => {
  const r = await run(
    'filter auditID = "eks-0002" | fields substr("xyZfooxyZ", 3, 3) as a, substr(verb, 1) as b, ltrim("xyZxyfooxyZ", "xyZ") as c, rtrim("xyZfooxyxyZ", "xyZ") as d, trim("xyZxyfooxyxyZ", "xyZ") as e, replace(requestURI, "/", "_") as f, strcontains(userAgent, "curl") as g, concat(verb, ":", responseStatus.code) as h, isempty(objectRef.name) as i, isblank("  ") as j, strlen("héllo") as k, toupper(verb) as l',
  );
  const e = events().find((x) => x.auditID === 'eks-0002')!;
  assert.deepEqual(r.rows, [
    {
      a: 'foo',
      b: 'ist',
      c: 'fooxyZ',
      d: 'xyZfoo',
      e: 'foo',
      f: e.requestURI!.replaceAll('/', '_'),
      g: 1,
      h: 'list:401',
      i: 1,
      j: 1,
      k: 5,
      l: 'LIST',
    },
  ]);
});

test('like is a case-sensitive literal substring; % and _ are not wildcards; regex flags and (?i)', async () => {
  const count = async (filter: string): Promise<number> =>
    (await run(`filter ${filter} | stats count(*) as n`)).rows[0]!['n'] as number;
  const js = (pred: (e: AuditEvent) => boolean): number => events().filter(pred).length;
  assert.equal(
    await count('userAgent like "%_"'),
    js((e) => (e.userAgent ?? '').includes('%_')),
  );
  assert.equal(await count('userAgent like "%_"'), 1);
  assert.equal(await count('userAgent like "CURL"'), 0);
  assert.equal(
    await count('userAgent like /CURL/i'),
    js((e) => /curl/i.test(e.userAgent ?? '')),
  );
  assert.equal(
    await count('userAgent =~ /(?i)^CURL/'),
    js((e) => /^curl/i.test(e.userAgent ?? '')),
  );
  assert.equal(
    await count('userAgent not like "curl"'),
    js((e) => !(e.userAgent ?? '').includes('curl')),
  );
  assert.equal(
    await count('responseStatus.code like /^40[13]$/'),
    js((e) => e.responseCode === 401 || e.responseCode === 403),
  );
});

test('number/string coercion: code = "401", code in ["401", 403], JSON numbers vs strings, missing fields', async () => {
  const count = async (filter: string): Promise<number> =>
    (await run(`filter ${filter} | stats count(*) as n`)).rows[0]!['n'] as number;
  const n401 = events().filter((e) => e.responseCode === 401).length;
  assert.equal(n401, 2);
  assert.equal(await count('responseStatus.code = "401"'), n401);
  assert.equal(
    await count('responseStatus.code in ["401", 403]'),
    events().filter((e) => e.responseCode === 401 || e.responseCode === 403).length,
  );
  assert.equal(
    await count('responseStatus.code >= "500"'),
    events().filter((e) => (e.responseCode ?? 0) >= 500).length,
  );
  // Not a catalog field: read from the JSON, where it is a number.
  assert.equal(await count('responseStatus.metadata.x = 1'), 0);
  assert.equal(await count('`responseStatus`.code = 401 and responseStatus.code = 401.0'), n401);
  assert.equal(await count('nosuchfield = "x"'), 0);
  assert.equal(await count('nosuchfield != "x"'), 0);
  assert.equal(await count('nosuchfield not in ["x"]'), events().length);
});

test('stats functions against JS: count(f), count_distinct, min/max/avg/sum, earliest/latest, pct, stddev', async () => {
  const ev = events().filter((e) => e.logStream === AUDIT_STREAM_A);
  const codes = ev.map((e) => e.responseCode).filter((c): c is number => c !== null);
  const sorted = [...ev].sort((a, b) => a.time - b.time);
  const mean = codes.reduce((a, b) => a + b, 0) / codes.length;
  const sd = Math.sqrt(codes.reduce((a, b) => a + (b - mean) ** 2, 0) / (codes.length - 1));
  const sortedCodes = [...codes].sort((a, b) => a - b);
  const rank = 0.9 * (sortedCodes.length - 1);
  const pct90 =
    sortedCodes[Math.floor(rank)]! +
    (sortedCodes[Math.ceil(rank)]! - sortedCodes[Math.floor(rank)]!) * (rank - Math.floor(rank));
  const r = await run(
    `filter @logStream = "${AUDIT_STREAM_A}" | stats count(*) as n, count(userAgent) as ua, count_distinct(verb) as verbs, min(responseStatus.code) as lo, max(responseStatus.code) as hi, avg(responseStatus.code) as mean, sum(responseStatus.code) as total, earliest(auditID) as first, latest(auditID) as last, max(@timestamp) as newest, pct(responseStatus.code, 90) as p90, stddev(responseStatus.code) as sd`,
  );
  const row = r.rows[0]!;
  assert.deepEqual(
    {
      ...row,
      mean: Math.round((row['mean'] as number) * 1e6),
      p90: Math.round((row['p90'] as number) * 1e6),
      sd: Math.round((row['sd'] as number) * 1e6),
    },
    {
      n: ev.length,
      ua: ev.filter((e) => e.userAgent !== null).length,
      verbs: new Set(ev.map((e) => e.verb)).size,
      lo: Math.min(...codes),
      hi: Math.max(...codes),
      mean: Math.round(mean * 1e6),
      total: codes.reduce((a, b) => a + b, 0),
      first: sorted[0]!.auditID,
      last: sorted[sorted.length - 1]!.auditID,
      newest: cwTime(sorted[sorted.length - 1]!.time),
      p90: Math.round(pct90 * 1e6),
      sd: Math.round(sd * 1e6),
    },
  );
});

test("two stats: the second sees only the first one's results", async () => {
  const perVerb = new Map<string, number>();
  for (const e of events()) perVerb.set(e.verb, (perVerb.get(e.verb) ?? 0) + 1);
  const r = await run('stats count(*) as c by verb | stats max(c) as peak, count(*) as verbs, sum(c) as total');
  assert.deepEqual(r.rows, [{ peak: Math.max(...perVerb.values()), verbs: perVerb.size, total: events().length }]);
});

test('sort: natural order from the AWS docs example; descending is the exact reverse', async () => {
  const order = [
    '!:',
    '#',
    '*%04',
    '0#',
    '5A',
    '111A',
    '2345_',
    '@',
    '@_',
    'A',
    'A9876fghj',
    'a12345hfh',
    '0',
    '01',
    '1',
    '2',
    '3',
  ];
  const store = await openDuckDbStore(':memory:');
  extra.push(store);
  const shuffled = [...order].reverse().sort((a, b) => (a.length % 3) - (b.length % 3));
  await store.appendEvents(
    shuffled.map((ua, k) => {
      const r = normalizeText(
        JSON.stringify({
          kind: 'Event',
          apiVersion: 'audit.k8s.io/v1',
          auditID: `n${k}`,
          stage: 'ResponseComplete',
          verb: 'get',
          userAgent: ua,
          requestReceivedTimestamp: '2024-01-01T00:00:00Z',
        }),
        {
          file: 'n.jsonl',
          line: k + 1,
          logGroup: null,
          logStream: null,
          cwTimestamp: null,
          cwEventId: null,
          ingestionTime: null,
        },
      );
      assert.ok(r.ok);
      return r.event;
    }),
  );
  const asc = await run('fields userAgent | sort userAgent asc', {}, store);
  assert.deepEqual(
    asc.rows.map((r) => r['userAgent']),
    order,
  );
  const desc = await run('fields userAgent | sort userAgent desc', {}, store);
  assert.deepEqual(
    desc.rows.map((r) => r['userAgent']),
    [...order].reverse(),
  );
  const firstLast = await run('stats sortsFirst(userAgent) as f, sortsLast(userAgent) as l', {}, store);
  assert.deepEqual(firstLast.rows, [{ f: '!:', l: '3' }]);
});

test('default sort is @timestamp desc; sort without direction is desc; limit and sort layers apply in order', async () => {
  const newest = [...events()].sort((a, b) => b.time - a.time);
  const r = await run('fields auditID, @timestamp | limit 5');
  assert.deepEqual(
    r.rows.map((x) => x['@timestamp']),
    newest.slice(0, 5).map((e) => cwTime(e.time)),
  );
  const r2 = await run('fields @timestamp | sort @timestamp | limit 3');
  assert.deepEqual(
    r2.rows.map((x) => x['@timestamp']),
    newest.slice(0, 3).map((e) => cwTime(e.time)),
  );
  // The 3 oldest events, shown newest first.
  const r3 = await run('fields @timestamp | sort @timestamp asc | limit 3 | sort @timestamp desc');
  const oldest = [...events()]
    .sort((a, b) => a.time - b.time)
    .slice(0, 3)
    .reverse();
  assert.deepEqual(
    r3.rows.map((x) => x['@timestamp']),
    oldest.map((e) => cwTime(e.time)),
  );
});

test('dedup keeps the first row of each value in sort order, and every row whose value is null', async () => {
  const r = await run(
    'fields auditID, objectRef.namespace, toMillis(@timestamp) as ms | filter @logStream like "audit" | sort @timestamp desc | dedup objectRef.namespace',
  );
  const pool = events().filter(inAuditStream);
  const newest = new Map<string, number>();
  for (const e of pool)
    if (e.namespace !== null) newest.set(e.namespace, Math.max(newest.get(e.namespace) ?? -Infinity, e.time));
  const nulls = pool.filter((e) => e.namespace === null);
  assert.ok(nulls.length > 0);
  const kept = r.rows.filter((row) => row['objectRef.namespace'] !== null);
  // One row per namespace, and it is (one of) that namespace's newest events.
  assert.deepEqual(kept.map((row) => row['objectRef.namespace']).sort(), [...newest.keys()].sort());
  for (const row of kept) assert.equal(row['ms'], newest.get(row['objectRef.namespace'] as string));
  assert.deepEqual(
    r.rows
      .filter((row) => row['objectRef.namespace'] === null)
      .map((row) => row['auditID'])
      .sort(),
    nulls.map((e) => e.auditID).sort(),
  );
  const ms = r.rows.map((row) => row['ms'] as number);
  assert.deepEqual(
    ms,
    [...ms].sort((x, y) => y - x),
  );
});

test('bin, datefloor, dateceil, fromMillis, toMillis; IP functions', async () => {
  const e = events().find((x) => x.auditID === 'eks-0002')!;
  const r = await run(
    'filter auditID = "eks-0002" | fields bin(5m) as b, datefloor(@timestamp, 1h) as f, dateceil(@timestamp, 1h) as c, toMillis(@timestamp) as ms, fromMillis(toMillis(@timestamp) + 1000) as later, isValidIp(sourceIPs.0) as v, isValidIpV6(sourceIPs.0) as v6, isIpv4InSubnet(sourceIPs.0, "198.51.100.0/24") as inNet, isIpInSubnet(sourceIPs.1, "198.51.100.0/24") as second',
  );
  const floorTo = (ms: number, p: number): number => Math.floor(ms / p) * p;
  assert.deepEqual(r.rows, [
    {
      b: cwTime(floorTo(e.time, 300_000)),
      f: cwTime(floorTo(e.time, 3_600_000)),
      c: cwTime(Math.ceil(e.time / 3_600_000) * 3_600_000),
      ms: e.time,
      later: cwTime(e.time + 1000),
      v: 1,
      v6: 0,
      inNet: 1,
      second: 0,
    },
  ]);
  // demo.log events come from ::1.
  const demo = await run(
    'filter @logStream = "demo.log" | fields isValidIpV6(sourceIPs.0) as v6, isIpInSubnet(sourceIPs.0, "::/127") as a, isIpv6InSubnet(sourceIPs.0, "fe80::/10") as b, isIpInSubnet("fe80::1:2", "fe80:0:0:0::/64") as c, isIpInSubnet("fe80::abcd", "fe80::/9") as d, isIpInSubnet("ff80::abcd", "fe80::/9") as e | limit 1',
  );
  assert.deepEqual(demo.rows, [{ v6: 1, a: 1, b: 0, c: 1, d: 1, e: 0 }]);
});

test('start/end options bound @timestamp (end exclusive); the limit option caps rows', async () => {
  const start = new Date('2024-05-01T10:01:00Z');
  const end = new Date('2024-05-01T10:06:30Z');
  const expected = events()
    .filter((e) => e.time >= start.getTime() && e.time < end.getTime())
    .sort((a, b) => b.time - a.time)
    .map((e) => ({ auditID: e.auditID }));
  assert.deepEqual((await run('fields auditID', { start, end })).rows, expected);
  assert.equal((await run('fields auditID', { limit: 7 })).rows.length, 7);
});

test('without a limit at most 10,000 rows come back; limit N returns N', async () => {
  const store = await openDuckDbStore(':memory:');
  extra.push(store);
  const many: AuditEvent[] = [];
  for (let k = 0; k < 10_005; k++) {
    const r = normalizeText(
      `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"m${k}","stage":"ResponseComplete","verb":"get","requestReceivedTimestamp":"${new Date(1_700_000_000_000 + k * 1000).toISOString()}"}`,
      {
        file: 'm.jsonl',
        line: k + 1,
        logGroup: null,
        logStream: null,
        cwTimestamp: null,
        cwEventId: null,
        ingestionTime: null,
      },
    );
    assert.ok(r.ok);
    many.push(r.event);
  }
  await store.appendEvents(many);
  const all = await run('fields auditID', {}, store);
  assert.equal(all.rows.length, 10_000);
  assert.equal(all.rows[0]!['auditID'], 'm10004');
  assert.equal((await run('fields auditID | limit 10000', {}, store)).rows.length, 10_000);
  assert.equal((await run('stats count(*) as n', {}, store)).rows[0]!['n'], 10_005);
});

test('explain shows SQL, parameters and columns; compile problems come back as data', () => {
  const x = explainInsightsQuery('fields verb | filter verb = "get"');
  assert.ok(x.value !== undefined);
  assert.match(x.value, /^SELECT "verb" AS "c1" FROM "events" WHERE \("verb" = CAST\(\$1 AS VARCHAR\)\)/);
  assert.match(x.value, /\$1 = "get"/);
  assert.match(x.value, /-- columns: verb$/);
  const bad = explainInsightsQuery('fields verb |');
  assert.equal(bad.value, undefined);
  assert.equal(bad.errors.length, 1);
});

test('a regex RE2 rejects fails at run time with a located ParseError, not a crash', async () => {
  await assert.rejects(runInsightsQuery(await db(), 'filter verb like /(?<=a)b/'), (e: unknown) => {
    assert.ok(e instanceof ParseError);
    assert.equal(e.code, 'E_PARSE');
    assert.deepEqual(
      e.problems.map((p) => [p.line, p.column, p.length]),
      [[1, 18, 9]],
    );
    assert.match(e.problems[0]!.message, /^this regex is not valid RE2: invalid perl operator/);
    return true;
  });
  // The culprit is found among several regexes, on its own line; valid ones are not blamed.
  await assert.rejects(
    runInsightsQuery(await db(), 'filter verb like /^g/\n| filter requestURI =~ /api(/'),
    (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.deepEqual(
        e.problems.map((p) => [p.line, p.column]),
        [[2, 24]],
      );
      assert.match(e.problems[0]!.message, /missing \)/);
      return true;
    },
  );
});

test('where, head, unmask, text arithmetic, @timestamp as epoch ms, fields and display after stats', async () => {
  const e = events().find((x) => x.auditID === 'eks-0005')!;
  const r = await run(
    `where auditID = "eks-0005" and @timestamp >= ${e.time} and @timestamp < ${e.time + 1} | unmask | fields unmask(verb) as v, "12" * 2 as n, "x" * 2 as bad, ispresent(objectRef.namespace) as ns | head 3`,
  );
  assert.deepEqual(r.rows, [{ v: 'create', n: 24, bad: null, ns: 1 }]);
  const perVerb = new Map<string, number>();
  for (const x of events()) perVerb.set(x.verb, (perVerb.get(x.verb) ?? 0) + 1);
  const s = await run(
    'stats count(*) as n by verb | fields n * 2 as twice | filter twice > 20 | sort twice asc, verb asc',
  );
  assert.deepEqual(s.columns, ['verb', 'n', 'twice']);
  const expected = [...perVerb]
    .filter(([, n]) => n * 2 > 20)
    .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
    .map(([verb, n]) => ({ verb, n, twice: n * 2 }));
  assert.ok(expected.length >= 3);
  assert.deepEqual(s.rows, expected);
  const d = await run('stats count(*) as n by verb | display verb | sort n desc | limit 1');
  const top = [...perVerb].sort((a, b) => b[1] - a[1])[0]!;
  assert.ok(top[1] > [...perVerb].sort((a, b) => b[1] - a[1])[1]![1], 'the top verb is unique');
  assert.deepEqual(d.rows, [{ verb: top[0] }]);
});

test('unaliased results are referenced by their text after stats; whole lists read as JSON text, empty as missing', async () => {
  const perVerb = new Map<string, number>();
  for (const e of events()) perVerb.set(e.verb, (perVerb.get(e.verb) ?? 0) + 1);
  const r = await run('stats count(*) by verb | filter count(*) > 20 | sort count(*) desc');
  const expected = [...perVerb]
    .filter(([, n]) => n > 20)
    .sort((a, b) => b[1] - a[1])
    .map(([verb, n]) => ({ verb, 'count(*)': n }));
  assert.ok(new Set(expected.map((x) => x['count(*)'])).size === expected.length, 'no ties');
  assert.deepEqual(r.rows, expected);
  const l = await run(
    'filter auditID = "eks-0002" or auditID like "eks-0011" | fields auditID, sourceIPs, user.groups, ispresent(user.groups) as g | sort auditID asc',
  );
  assert.deepEqual(l.rows, [
    {
      auditID: 'eks-0002',
      sourceIPs: '["198.51.100.7","10.0.0.5"]',
      'user.groups': '["system:unauthenticated"]',
      g: 1,
    },
    { auditID: "eks-0011'; DROP TABLE events; --", sourceIPs: '["10.9.9.9"]', 'user.groups': null, g: 0 },
  ]);
});
