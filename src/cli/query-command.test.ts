import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.js';
import { captureIo } from './cli-test-io.js';
import { EXAMPLES_DIR } from './paths.js';

/**
 * `sleuth query` end to end: stores built by `sleuth scan` from the shipped samples (JSONL and a
 * CloudWatch S3 export), queried through main() exactly as a user types it. Expected rows are
 * computed here from the JSONL with plain JS, never by SQL.
 */

const SAMPLE = join(EXAMPLES_DIR, 'audit-sample.jsonl');
const CW_EXPORT = join(EXAMPLES_DIR, 'cloudwatch-export');
const dir = mkdtempSync(join(tmpdir(), 'sleuth-query-'));
const DB = join(dir, 'jsonl.duckdb');
const CW_DB = join(dir, 'cw.duckdb');

interface SampleEvent {
  readonly time: number;
  readonly username: string;
  readonly verb: string;
  readonly code: number | null;
}

const events: SampleEvent[] = readFileSync(SAMPLE, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => {
    const e = JSON.parse(l) as {
      requestReceivedTimestamp: string;
      user: { username: string };
      verb: string;
      responseStatus?: { code?: number };
    };
    return {
      time: Date.parse(e.requestReceivedTimestamp),
      username: e.user.username,
      verb: e.verb,
      code: e.responseStatus?.code ?? null,
    };
  });

async function sleuth(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(args, io);
  return { code, out: io.out(), err: io.err() };
}

async function query(args: string[], db = DB): Promise<{ code: number; out: string; err: string }> {
  return sleuth(['query', '--db', db, ...args]);
}

async function json(args: string[], db = DB): Promise<Record<string, unknown>[]> {
  const r = await query(['--format', 'json', ...args], db);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Record<string, unknown>[];
}

before(async () => {
  for (const [input, db] of [
    [SAMPLE, DB],
    [CW_EXPORT, CW_DB],
  ] as const) {
    const r = await sleuth(['scan', input, '--db', db, '--format', 'jsonl', '--quiet']);
    assert.equal(r.code, 0, r.err);
  }
});

const forbiddenCodes = (): SampleEvent[] => events.filter((e) => e.code === 403).sort((a, b) => b.time - a.time);
const FORBIDDEN_QUERY = 'fields user.username, verb, responseStatus.code | filter responseStatus.code = "403"';

test('--format json: an array of row objects keyed by CloudWatch column names, as computed from the JSONL', async () => {
  const want = forbiddenCodes();
  assert.ok(want.length >= 2);
  assert.equal(new Set(want.map((e) => e.time)).size, want.length, 'sample times must be distinct for a stable order');
  const rows = await json([FORBIDDEN_QUERY]);
  assert.deepEqual(
    rows,
    want.map((e) => ({ 'user.username': e.username, verb: e.verb, 'responseStatus.code': 403 })),
  );

  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.verb, (counts.get(e.verb) ?? 0) + 1);
  const stats = await json(['stats count(*) as n by verb | sort n desc']);
  assert.deepEqual(
    stats.map((r) => JSON.stringify(r)).sort(),
    [...counts].map(([verb, n]) => JSON.stringify({ verb, n })).sort(),
  );
  const ns = stats.map((r) => r['n'] as number);
  assert.deepEqual(
    ns,
    [...ns].sort((a, b) => b - a),
  );
  // Unaliased aggregates are named by their text, as CloudWatch shows them.
  assert.deepEqual(await json(['stats count(*)']), [{ 'count(*)': events.length }]);
});

test('--format jsonl, csv and table print the same rows', async () => {
  const want = forbiddenCodes();
  const jsonl = await query(['--format', 'jsonl', FORBIDDEN_QUERY]);
  assert.equal(jsonl.code, 0, jsonl.err);
  assert.deepEqual(
    jsonl.out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown),
    want.map((e) => ({ 'user.username': e.username, verb: e.verb, 'responseStatus.code': 403 })),
  );
  const csv = await query(['--format', 'csv', FORBIDDEN_QUERY]);
  assert.equal(csv.code, 0, csv.err);
  assert.deepEqual(csv.out.trimEnd().split('\n'), [
    'user.username,verb,responseStatus.code',
    ...want.map((e) => `${e.username},${e.verb},403`),
  ]);
  const table = await query(['--format', 'table', FORBIDDEN_QUERY]);
  assert.equal(table.code, 0, table.err);
  const lines = table.out.trimEnd().split('\n');
  assert.match(lines[0]!, /^user\.username\s+verb\s+responseStatus\.code$/);
  assert.equal(lines.length, want.length + 2);
  assert.deepEqual(
    lines.slice(2).map((l) => l.trim().split(/\s+/)),
    want.map((e) => [e.username, e.verb, '403']),
  );
  const bad = await query(['--format', 'xml', FORBIDDEN_QUERY]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--format must be one of/);
});

test('--start, --end and --since select events by time; an empty or reversed range is an error', async () => {
  const start = Date.parse('2024-06-03T08:30:00Z');
  const end = Date.parse('2024-06-03T08:40:00Z');
  const inRange = events.filter((e) => e.time >= start && e.time < end).length;
  const after = events.filter((e) => e.time >= start).length;
  assert.ok(inRange > 0 && inRange < after && after < events.length);
  assert.deepEqual(
    await json(['--start', '2024-06-03T08:30:00Z', '--end', '2024-06-03T08:40:00Z', 'stats count(*) as n']),
    [{ n: inRange }],
  );
  assert.deepEqual(await json(['--start', String(start), 'stats count(*) as n']), [{ n: after }]);
  assert.deepEqual(await json(['--end', '2024-06-03T08:30:00Z', 'stats count(*) as n']), [
    { n: events.length - after },
  ]);
  // The sample is from 2024: nothing happened in the last hour, everything in the last 100,000 days.
  assert.deepEqual(await json(['--since', '1h', 'stats count(*) as n']), [{ n: 0 }]);
  assert.deepEqual(await json(['--since', '100000d', 'stats count(*) as n']), [{ n: events.length }]);
  const reversed = await query(['--start', '2024-06-04T00:00:00Z', '--end', '2024-06-03T00:00:00Z', 'stats count(*)']);
  assert.equal(reversed.code, 2);
  assert.match(reversed.err, /--end .* must be after --start/);
  const both = await query(['--start', '2024-06-03T00:00:00Z', '--since', '1h', 'stats count(*)']);
  assert.equal(both.code, 2);
  assert.match(both.err, /--since or --start, not both/);
  const garbage = await query(['--start', 'yesterday-ish', 'stats count(*)']);
  assert.equal(garbage.code, 2);
  assert.match(garbage.err, /cannot read "yesterday-ish" as a time/);
});

test('--file reads the query from a file, comments and all', async () => {
  const file = join(dir, 'forbidden.insights');
  writeFileSync(file, `# who was refused?\n${FORBIDDEN_QUERY.replace(' | ', '\n| ')}\n`);
  assert.deepEqual(await json(['--file', file]), await json([FORBIDDEN_QUERY]));
  const both = await query(['--file', file, 'fields verb']);
  assert.equal(both.code, 2);
  assert.match(both.err, /either as an argument or with --file/);
  const missing = await query(['--file', join(dir, 'nope.insights')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /no such file/);
});

test('--explain prints the SQL: catalog fields read typed columns, other paths the JSON, values are parameters', async () => {
  // No --db needed: nothing runs.
  const r = await sleuth([
    'query',
    '--explain',
    'fields user.username, objectRef.namespace, sourceIPs.0 | filter responseStatus.code >= 400 and verb = "delete" | stats count(*) as n by user.username',
  ]);
  assert.equal(r.code, 0, r.err);
  const [sql = '', ...rest] = r.out.split('\n');
  assert.match(sql, /"user_username"/);
  assert.match(sql, /"response_code" >= /);
  assert.match(sql, /"verb" = /);
  assert.doesNotMatch(sql, /json_extract|"raw"/, 'catalog fields must not be read from the JSON');
  assert.doesNotMatch(sql, /delete|400/, 'values must be bound, not pasted');
  const text = rest.join('\n');
  assert.match(text, /-- parameters:\n(.|\n)*= 400\n(.|\n)*= "delete"/);
  assert.match(text, /-- columns: user\.username, n$/m);

  const fromJson = await sleuth(['query', '--explain', 'fields requestObject.spec.replicas']);
  assert.equal(fromJson.code, 0, fromJson.err);
  assert.match(fromJson.out, /json_extract_string\("raw", \$\d\)/);
  assert.match(fromJson.out, /"\$\.\\"requestObject\\"\.\\"spec\\"\.\\"replicas\\""/);
});

test('--sql runs read-only SQL; writes and file access are refused with a clear message and no stack', async () => {
  const count = async (): Promise<unknown> => (await json(['--sql', 'SELECT count(*) AS n FROM events']))[0]?.['n'];
  assert.equal(await count(), events.length);
  const leak = join(dir, 'leak.csv');
  const refusals: [string, RegExp][] = [
    ['DELETE FROM events', /--sql is read-only: DELETE statements cannot change the store/],
    ['DROP TABLE events', /--sql is read-only: DROP statements/],
    ['INSERT INTO events SELECT * FROM events LIMIT 1', /--sql is read-only: INSERT statements/],
    ['CREATE TABLE t AS SELECT 1', /--sql is read-only: CREATE statements/],
    ['SELECT 1; DELETE FROM events', /--sql is read-only/],
    [`COPY events TO '${leak}'`, /--sql cannot read or write files/],
    ["SELECT * FROM read_text('/etc/passwd')", /--sql cannot read or write files/],
    [`ATTACH '${join(dir, 'other.duckdb')}' AS other`, /--sql cannot read or write files/],
    ['SET enable_external_access = true', /--sql cannot .* change settings/],
  ];
  for (const [sql, message] of refusals) {
    const r = await query(['--sql', sql]);
    assert.equal(r.code, 2, sql);
    assert.match(r.err, message, sql);
    assert.doesNotMatch(r.err, /\n\s+at /, `stack trace for ${sql}`);
    assert.equal(r.out, '', sql);
  }
  assert.equal(existsSync(leak), false);
  assert.equal(existsSync(join(dir, 'other.duckdb')), false);
  assert.equal(await count(), events.length);
});

test('a query that does not parse exits 2 with line, column and hint, on run and on --explain', async () => {
  for (const extra of [[], ['--explain']]) {
    const r = await query([...extra, 'fields verb\n| filtr verb = "get"']);
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.match(
      r.err,
      /^sleuth: the query has 1 problem\(s\):\n2:3: error: unknown command 'filtr' \(hint: commands are fields, display, filter/,
    );
  }
  const invalid = await query(['fields @timestamp\n| count(*) as count by bin(1m)']);
  assert.equal(invalid.code, 2);
  assert.match(invalid.err, /2:3: error: 'count' is not a command \(hint: aggregate with stats/);
  // A regex RE2 refuses only fails when DuckDB runs it: still reported at its place.
  const re = await query(['fields verb\n| filter requestURI like /(?<=api)v1/']);
  assert.equal(re.code, 2);
  assert.match(re.err, /2:26: error: this regex is not valid RE2: .*\(hint: regexes run on RE2: no look-around/);
  // Log-controlled text in messages never reaches the terminal raw.
  const esc = await query(['filtr\u001b[2J']);
  assert.equal(esc.code, 2);
  assert.ok(!esc.err.includes('\u001b'));
});

test('the CloudWatch export and the JSONL give the same answers; @logStream is the export stream', async () => {
  const q = 'stats count(*) as n by user.username, responseStatus.code';
  const asSet = (rows: Record<string, unknown>[]): string[] => rows.map((r) => JSON.stringify(r)).sort();
  const fromJsonl = await json([q], DB);
  assert.ok(fromJsonl.length > 5);
  assert.deepEqual(asSet(await json([q], CW_DB)), asSet(fromJsonl));
  const streams = await json(['stats count(*) as n by @logStream'], CW_DB);
  assert.equal(streams.length, 1);
  assert.match(String(streams[0]!['@logStream']), /^kube-apiserver-audit-/);
  assert.equal(streams[0]!['n'], events.length);
  // The AWS guide's queries filter on the audit stream: they find the export's events.
  assert.deepEqual(await json(['filter @logStream like "kube-apiserver-audit" | stats count(*) as n'], CW_DB), [
    { n: events.length },
  ]);
});

test('a missing database is a usage error that says how to make one', async () => {
  const r = await query(['fields verb'], join(dir, 'absent.duckdb'));
  assert.equal(r.code, 2);
  assert.match(r.err, /no database at .*absent\.duckdb.*sleuth scan/);
});

test('--db naming a log file or a directory says what is wrong', async () => {
  const file = await query(['fields verb'], SAMPLE);
  assert.equal(file.code, 2);
  assert.match(file.err, /is not a store written by `sleuth scan`.*scan it first/);
  const folder = await query(['fields verb'], dir);
  assert.equal(folder.code, 2);
  assert.match(folder.err, /is a directory/);
});
