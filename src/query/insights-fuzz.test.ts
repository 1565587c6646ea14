// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInsightsQuery } from './insights-parser.js';
import { compileInsightsQuery, runInsightsQuery } from './insights-query.js';
import { repoRoot, sampleStore } from './insights-test-support.js';
import { SleuthError } from '../model/errors.js';
import type { Store } from '../store/store.js';
import { mulberry32 } from '../util/prng.js';

/**
 * Fuzzing with a fixed seed: random token soup, mutated corpus queries and grammar-generated
 * queries full of hostile text. The parser and compiler must never throw or hang, user text
 * must never reach the SQL outside parameters and quoted identifiers, and running the compiled
 * SQL must leave the events table exactly as it was.
 */

/** mulberry32: small, fast, reproducible. */
const rng = mulberry32;

const MARK = 'PWNED';
/** Payloads that would change the database if they ever reached the SQL text. */
const HOSTILE = [
  `x'; DROP TABLE events; --${MARK}`,
  `x"); DELETE FROM events; /*${MARK}*/`,
  `${MARK}' OR '1'='1`,
  `$1; ATTACH '/tmp/${MARK}.db' AS p; --`,
  `\\'; COPY events TO '/tmp/${MARK}.csv'; --`,
  `${MARK}\`; CREATE TABLE t(x INT); --`,
  `${MARK} # | filter x`,
  `${MARK}\u0000\u001b[31m`,
  `${MARK}"" ; SELECT 1`,
];

const FIELDS = [
  'verb',
  'user.username',
  'sourceIPs.0',
  'responseStatus.code',
  '@timestamp',
  '@message',
  '@logStream',
  'objectRef.namespace',
  'annotations.k8s.io',
  'a.b.c',
  'requestURI',
  'user.groups.1',
  'x',
];
const FUNCS = [
  'strlen',
  'toupper',
  'tolower',
  'trim',
  'ltrim',
  'rtrim',
  'substr',
  'replace',
  'strcontains',
  'concat',
  'isempty',
  'isblank',
  'abs',
  'ceil',
  'floor',
  'greatest',
  'least',
  'log',
  'sqrt',
  'ispresent',
  'coalesce',
  'isValidIp',
  'isValidIpV4',
  'isValidIpV6',
  'toMillis',
  'fromMillis',
  'unmask',
];
const AGGS = [
  'count',
  'count_distinct',
  'sum',
  'avg',
  'min',
  'max',
  'stddev',
  'earliest',
  'latest',
  'sortsFirst',
  'sortsLast',
];

function quote(s: string, r: () => number): string {
  const q = r() < 0.5 ? '"' : "'";
  return q + s.replaceAll('\\', '\\\\').replaceAll(q, `\\${q}`) + q;
}
function regex(s: string): string {
  // Escape regex metacharacters so the pattern is valid RE2 and matches the text literally.
  return `/${s.replace(/[\\^$.|?*+()[\]{}/]/g, '\\$&')}/`;
}
function backtick(s: string): string {
  return `\`${s.replaceAll('`', '')}\``;
}

/** Grammar-based generator: mostly valid queries with hostile literals and names. */
function genQuery(r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const hostile = (): string => pick(HOSTILE);
  const field = (): string => (r() < 0.2 ? backtick(hostile()) : pick(FIELDS));
  const literal = (): string =>
    r() < 0.5
      ? quote(hostile(), r)
      : r() < 0.4
        ? String(Math.floor(r() * 1000))
        : r() < 0.2
          ? pick(['99999999999999999999', `1${'0'.repeat(400)}`, '0.5'])
          : quote(String(Math.floor(r() * 600)), r);
  const value = (depth: number): string => {
    const k = r();
    if (depth > 2 || k < 0.35) return field();
    if (k < 0.55) return literal();
    if (k < 0.8) {
      const f = pick(FUNCS);
      const n =
        f === 'substr'
          ? 2
          : f === 'replace'
            ? 3
            : f === 'concat' || f === 'coalesce'
              ? 2
              : f.startsWith('l') || f === 'trim' || f === 'rtrim'
                ? 1
                : 1;
      return `${f}(${Array.from({ length: n }, () => value(depth + 1)).join(', ')})`;
    }
    return `(${value(depth + 1)} ${pick(['+', '-', '*', '/', '%'])} ${value(depth + 1)})`;
  };
  const cond = (depth: number): string => {
    const k = r();
    if (depth < 2 && k < 0.2) return `(${cond(depth + 1)} ${pick(['and', 'or'])} ${cond(depth + 1)})`;
    if (k < 0.3) return `${value(depth)} ${pick(['=', '!=', '<', '<=', '>', '>='])} ${value(depth)}`;
    if (k < 0.5)
      return `${field()} ${pick(['like', 'not like'])} ${r() < 0.5 ? quote(hostile(), r) : regex(hostile())}`;
    if (k < 0.6) return `${field()} =~ ${regex(hostile())}`;
    if (k < 0.75) return `${field()} ${pick(['in', 'not in'])} [${literal()}, ${literal()}]`;
    if (k < 0.85) return `not ${cond(depth + 1)}`;
    return `ispresent(${field()})`;
  };
  const alias = (): string => (r() < 0.5 ? backtick(hostile()) : pick(['n', 'count', 'x_1', '@t']));
  const commands: string[] = [];
  const n = 1 + Math.floor(r() * 5);
  let stats = 0;
  for (let k = 0; k < n; k++) {
    const c = r();
    if (c < 0.35) commands.push(`filter ${cond(0)}`);
    else if (c < 0.5) commands.push(`fields ${value(0)}${r() < 0.5 ? ` as ${alias()}` : ''}, ${field()}`);
    else if (c < 0.6) commands.push(`parse ${field()} ${quote(`${hostile()}*`, r)} as ${alias()}`);
    else if (c < 0.72 && stats < 2) {
      stats++;
      const agg = pick(AGGS);
      commands.push(
        `stats ${agg}(${agg === 'count' && r() < 0.5 ? '*' : field()}) as ${alias()} by ${r() < 0.3 ? `bin(${pick(['5m', '1h', '1mo', '1q', '999999999999999999999s'])})` : field()}`,
      );
    } else if (c < 0.82) commands.push(`sort ${field()} ${pick(['asc', 'desc', ''])}`);
    else if (c < 0.9) commands.push(`limit ${1 + Math.floor(r() * 50)}`);
    else if (c < 0.95) commands.push(`display ${field()}`);
    else commands.push(`dedup ${field()}`);
  }
  return commands.join(r() < 0.5 ? '\n| ' : ' | ');
}

const SOUP = [
  'fields',
  'filter',
  'stats',
  'sort',
  'limit',
  'parse',
  'dedup',
  'display',
  'as',
  'by',
  'and',
  'or',
  'not',
  'like',
  'in',
  'asc',
  'desc',
  '|',
  '|',
  ',',
  '(',
  ')',
  '[',
  ']',
  '=',
  '==',
  '!=',
  '<',
  '>=',
  '=~',
  '~=',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '#',
  '\n',
  '"',
  "'",
  '`',
  '@',
  '.',
  '5m',
  '0',
  '10000',
  '1e9',
  '99999999999999999999',
  `1${'0'.repeat(400)}`,
  '999999mo',
  '-',
  'sourceIPs.99999999999999999999',
  'count(*)',
  'bin(1h)',
  ...FIELDS,
  ...HOSTILE,
];

function soup(r: () => number): string {
  const n = Math.floor(r() * 25);
  let s = '';
  for (let k = 0; k < n; k++) s += SOUP[Math.floor(r() * SOUP.length)]! + (r() < 0.7 ? ' ' : '');
  return s;
}

function mutate(base: string, r: () => number): string {
  let s = base;
  const edits = 1 + Math.floor(r() * 4);
  for (let k = 0; k < edits; k++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = r();
    if (op < 0.3) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 5));
    else if (op < 0.6) s = s.slice(0, at) + SOUP[Math.floor(r() * SOUP.length)]! + s.slice(at);
    else if (op < 0.8) s = s.slice(0, at) + String.fromCharCode(Math.floor(r() * 128)) + s.slice(at);
    else s = s.slice(0, at) + HOSTILE[Math.floor(r() * HOSTILE.length)]! + s.slice(at);
  }
  return s;
}

/** SQL with quoted identifiers removed: what is left must contain no user text. */
function outsideIdentifiers(sql: string): string {
  return sql.replace(/"(?:[^"]|"")*"/g, '""');
}

const corpus: { query: string }[] = JSON.parse(
  readFileSync(join(repoRoot(), '..', 'shared', 'corpus', 'insights', 'eks-queries.json'), 'utf8'),
);

let store: Store | null = null;
after(async () => {
  await store?.close();
});

test(
  'fuzz: parser and compiler never throw or hang; user text only reaches parameters and quoted identifiers; DuckDB is untouched',
  { timeout: 180_000 },
  async () => {
    const r = rng(0x5eed1234);
    store = await sampleStore();
    const before = await store.countEvents();
    const tablesBefore = await store.query('SELECT table_name FROM information_schema.tables ORDER BY table_name');
    let compiled = 0;
    let ran = 0;
    let runtimeErrors = 0;
    const ITERATIONS = 3000;
    for (let k = 0; k < ITERATIONS; k++) {
      const kind = k % 3;
      const query =
        kind === 0 ? soup(r) : kind === 1 ? mutate(corpus[Math.floor(r() * corpus.length)]!.query, r) : genQuery(r);
      const t0 = performance.now();
      let c: ReturnType<typeof compileInsightsQuery>;
      try {
        parseInsightsQuery(query);
        c = compileInsightsQuery(query);
      } catch (e) {
        assert.fail(`compile threw on ${JSON.stringify(query)}: ${(e as Error).stack}`);
      }
      const ms = performance.now() - t0;
      assert.ok(ms < 500, `compile took ${ms} ms on ${JSON.stringify(query)}`);
      if (c.value === undefined) {
        for (const e of c.errors) {
          assert.ok(
            e.line >= 1 && e.column >= 1 && e.length >= 1 && e.message.length > 0 && e.hint.length > 0,
            `bad problem ${JSON.stringify(e)} for ${JSON.stringify(query)}`,
          );
        }
        continue;
      }
      compiled++;
      // Names from the query never become SQL identifiers (results are c1, c2 …), so no user
      // text may appear anywhere in the SQL, quoted or not.
      assert.ok(!c.value.sql.includes(MARK) && !c.value.sql.includes(';'), `user text reached the SQL: ${c.value.sql}`);
      const bare = outsideIdentifiers(c.value.sql);
      // Every placeholder has a parameter and every parameter is used (DuckDB rejects both mistakes).
      const used = new Set([...bare.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
      assert.deepEqual(
        [...used].sort((a, b) => a - b),
        c.value.parameters.map((_, i) => i + 1),
        `placeholders vs parameters in ${c.value.sql}`,
      );
      if (kind === 2 || ran < 150) {
        ran++;
        try {
          await runInsightsQuery(store, query);
        } catch (e) {
          // A query can still fail in the engine (a regex RE2 rejects, an overflow); it must be reported, not crash.
          assert.ok(e instanceof SleuthError, `unexpected error type for ${JSON.stringify(query)}: ${String(e)}`);
          runtimeErrors++;
        }
      }
    }
    assert.equal(await store.countEvents(), before);
    assert.deepEqual(
      await store.query('SELECT table_name FROM information_schema.tables ORDER BY table_name'),
      tablesBefore,
    );
    // The generator must exercise the compiler and the database, not just the error paths.
    assert.ok(compiled > 600, `only ${compiled} of ${ITERATIONS} fuzz queries compiled`);
    assert.ok(ran > 600, `only ${ran} fuzz queries ran`);
    // Only regexes RE2 rejects (mutated corpus regexes) may fail in the engine.
    assert.ok(runtimeErrors < ran / 20, `${runtimeErrors} of ${ran} compiled queries failed in DuckDB`);
  },
);

test('hostile strings, regexes and backticked names round-trip as data', async () => {
  store ??= await sampleStore();
  const user = "robert'); DROP TABLE events;--";
  const r = await runInsightsQuery(
    store,
    `filter user.username = ${JSON.stringify(user)} | stats count(*) as \`n"; DROP TABLE events; --\` by user.username`,
  );
  assert.deepEqual(r.rows, [{ 'user.username': user, 'n"; DROP TABLE events; --': 1 }]);
  const like = await runInsightsQuery(store, 'filter requestURI like /"; DROP TABLE events;--/ | fields auditID');
  assert.deepEqual(like.rows, [{ auditID: "eks-0011'; DROP TABLE events; --" }]);
  const glob = await runInsightsQuery(
    store,
    `filter auditID like "DROP" | parse @message '"userAgent":"*"' as ua | display ua`,
  );
  // The lazy * stops at the first quote, which here is the JSON-escaped one inside the value.
  assert.deepEqual(glob.rows, [{ ua: '%_\\\\ like \\' }]);
});
