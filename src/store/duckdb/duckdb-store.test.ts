import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { AuditEvent } from '../../model/audit-event.js';
import { SleuthError } from '../../model/errors.js';
import type { Finding } from '../../model/finding.js';
import { fileOrigin, normalizeText } from '../../normalize/normalize.js';
import { openStore, DEFAULT_DB_PATH } from '../open-store.js';
import { EVENT_COLUMNS, SCHEMA_VERSION } from './duckdb-schema.js';
import { openDuckDbStore } from './duckdb-store.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sleuth-store-'));
}

function eventText(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: 'a-1',
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/default/pods',
    verb: 'list',
    user: {
      username: 'kubernetes-admin',
      uid: 'aws-iam-authenticator:111122223333:AROAEXAMPLE',
      groups: ['system:masters', 'system:authenticated'],
    },
    sourceIPs: ['192.0.2.10'],
    userAgent: 'kubectl/v1.29.0',
    objectRef: { resource: 'pods', namespace: 'default', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: '2024-03-01T10:00:00.123456Z',
    stageTimestamp: '2024-03-01T10:00:00.130001Z',
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
    ...over,
  });
}

function ev(over: Record<string, unknown> = {}, line = 1): AuditEvent {
  const r = normalizeText(eventText(over), fileOrigin('/logs/audit.jsonl', line));
  if (!r.ok) throw new Error(`fixture is not an audit event: ${r.reason}`);
  return r.event;
}

function finding(id: string, over: Partial<Finding> = {}): Finding {
  return {
    id,
    type: 'Execution:Kubernetes/ExecInKubeSystemPod',
    engine: 'native',
    rule: 'exec-in-kube-system-pod',
    title: 'Exec in kube-system pod',
    description: 'A command was executed inside a pod in kube-system',
    severity: { label: 'MEDIUM', score: 5 },
    cluster: 'prod',
    count: 1,
    firstSeen: '2024-03-01T10:00:00.123Z',
    lastSeen: '2024-03-01T10:05:00.000Z',
    actor: {
      username: 'alice',
      uid: null,
      groups: [],
      sourceIPs: ['203.0.113.7'],
      userAgent: null,
      iamArn: null,
      impersonatedUser: null,
    },
    resource: { apiGroup: null, resource: 'pods', subresource: 'exec', namespace: 'kube-system', name: 'coredns-1' },
    mitre: { tactic: 'Execution', technique: 'T1609' },
    evidence: [
      { auditID: 'a-1', time: '2024-03-01T10:00:00.123Z', verb: 'create', requestURI: '/api/v1/x', code: 101 },
    ],
    ...over,
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SleuthError, `expected SleuthError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  });
}

test('default path and capabilities', async () => {
  assert.equal(DEFAULT_DB_PATH, 'sleuth.duckdb');
  const mem = await openStore(':memory:');
  assert.deepEqual(mem.capabilities, { persistent: false, dialect: 'duckdb', readOnly: false });
  await mem.close();
});

test('a new store gets the catalog schema and the current schema version', async () => {
  const store = await openDuckDbStore(':memory:');
  const cols = await store.query(
    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position",
  );
  assert.deepEqual(
    cols.map((c) => [c['column_name'], c['data_type']]),
    EVENT_COLUMNS.map((c) => [c.column, c.sqlType]),
  );
  const meta = await store.query("SELECT value FROM meta WHERE key = 'schema_version'");
  assert.deepEqual(meta, [{ value: String(SCHEMA_VERSION) }]);
  const findingCols = await store.query(
    "SELECT column_name FROM information_schema.columns WHERE table_name = 'findings' ORDER BY ordinal_position",
  );
  assert.deepEqual(
    findingCols.map((c) => c['column_name']),
    [
      'id',
      'type',
      'engine',
      'rule',
      'severity_label',
      'severity_score',
      'cluster',
      'count',
      'first_seen',
      'last_seen',
      'suppressed',
      'finding',
    ],
  );
  await store.close();
});

test('persistent store: close, reopen writable and read-only keep the data', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'sleuth.duckdb');
    const s1 = await openDuckDbStore(path);
    assert.equal(s1.capabilities.persistent, true);
    assert.deepEqual(await s1.appendEvents([ev({ auditID: 'p-1' }), ev({ auditID: 'p-2' })]), {
      appended: 2,
      duplicates: 0,
    });
    assert.equal(await s1.settleDuplicates(), 0);
    await s1.close();

    const s2 = await openDuckDbStore(path);
    assert.equal(await s2.countEvents(), 2);
    assert.deepEqual(await s2.appendEvents([ev({ auditID: 'p-2' }), ev({ auditID: 'p-3' })]), {
      appended: 2,
      duplicates: 0,
    });
    assert.equal(await s2.settleDuplicates(), 1);
    await s2.close();

    const ro = await openDuckDbStore(path, { readOnly: true });
    assert.deepEqual(ro.capabilities, { persistent: true, dialect: 'duckdb', readOnly: true });
    assert.deepEqual(await ro.query('SELECT audit_id FROM events ORDER BY audit_id'), [
      { audit_id: 'p-1' },
      { audit_id: 'p-2' },
      { audit_id: 'p-3' },
    ]);
    await ro.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function writeMetaVersion(path: string, version: string): Promise<void> {
  const inst = await DuckDBInstance.create(path);
  const c = await inst.connect();
  await c.run('CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)');
  await c.run("INSERT OR REPLACE INTO meta VALUES ('schema_version', $1)", [version]);
  c.closeSync();
  inst.closeSync();
}

test('schema versions: newer refused everywhere, older refused read-only and migrated on a writable open', async () => {
  const dir = tempDir();
  try {
    const newer = join(dir, 'newer.duckdb');
    await writeMetaVersion(newer, String(SCHEMA_VERSION + 1));
    await rejectsWith(openDuckDbStore(newer), 'E_STORE_SCHEMA', /newer than this EKS Sleuth build/);
    await rejectsWith(openDuckDbStore(newer, { readOnly: true }), 'E_STORE_SCHEMA', /newer than this EKS Sleuth build/);

    const older = join(dir, 'older.duckdb');
    await writeMetaVersion(older, '0');
    await rejectsWith(
      openDuckDbStore(older, { readOnly: true }),
      'E_STORE_SCHEMA',
      /older than this EKS Sleuth build.*to migrate/,
    );
    const migrated = await openDuckDbStore(older);
    assert.deepEqual(await migrated.query("SELECT value FROM meta WHERE key = 'schema_version'"), [
      { value: String(SCHEMA_VERSION) },
    ]);
    assert.equal(await migrated.countEvents(), 0);
    await migrated.close();
    const ro = await openDuckDbStore(older, { readOnly: true });
    assert.equal(await ro.countEvents(), 0);
    await ro.close();

    const foreign = join(dir, 'foreign.duckdb');
    const inst = await DuckDBInstance.create(foreign);
    inst.closeSync();
    await rejectsWith(openDuckDbStore(foreign, { readOnly: true }), 'E_STORE_SCHEMA', /not an EKS Sleuth store/);
    await rejectsWith(
      openDuckDbStore(join(dir, 'missing.duckdb'), { readOnly: true }),
      'E_STORE_OPEN',
      /does not exist/,
    );
    await rejectsWith(openDuckDbStore(':memory:', { readOnly: true }), 'E_STORE_OPEN', /in-memory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('append drops duplicates inside a batch and across scans', async () => {
  const store = await openDuckDbStore(':memory:');
  const batch = [
    ev({ auditID: 'd-1', userAgent: 'first' }, 1),
    ev({ auditID: 'd-1', userAgent: 'second' }, 2),
    ev({ auditID: 'd-2' }, 3),
    ev({ auditID: 'd-1', stage: 'ResponseStarted' }, 4),
  ];
  assert.deepEqual(await store.appendEvents(batch), { appended: 3, duplicates: 1 });
  assert.equal(await store.settleDuplicates(), 0);
  assert.deepEqual(await store.appendEvents(batch), { appended: 3, duplicates: 1 });
  assert.equal(await store.settleDuplicates(), 3);
  assert.deepEqual(await store.appendEvents([]), { appended: 0, duplicates: 0 });
  assert.equal(await store.countEvents(), 3);
  // The first occurrence in a batch is the one kept.
  assert.deepEqual(
    await store.query(
      "SELECT user_agent, source_line FROM events WHERE audit_id = 'd-1' AND stage = 'ResponseComplete'",
    ),
    [{ user_agent: 'first', source_line: 1 }],
  );
  await store.close();
});

test('append handles more rows than one data chunk', async () => {
  const store = await openDuckDbStore(':memory:');
  const events = Array.from({ length: 5000 }, (_, i) => ev({ auditID: `bulk-${i}` }, i + 1));
  assert.deepEqual(await store.appendEvents(events), { appended: 5000, duplicates: 0 });
  assert.deepEqual(
    await store.query(
      'SELECT min(source_line) AS lo, max(source_line) AS hi, count(DISTINCT audit_id) AS n FROM events',
    ),
    [{ lo: 1, hi: 5000, n: 5000 }],
  );
  await store.close();
});

test('types round-trip: timestamps, arrays, nulls, ints and awkward strings', async () => {
  const store = await openDuckDbStore(':memory:');
  const awkward = 'eve"\'; DROP TABLE events; --\nline2\t☃ 日本 \u0000end';
  const e = ev({
    auditID: 'rt-1',
    user: { username: awkward, groups: ['g"1', 'g\n2', 'ünïcode'] },
    sourceIPs: [],
    objectRef: { resource: 'secrets', name: 'db-password' },
    responseStatus: { code: 403, status: 'Failure', reason: 'Forbidden' },
    requestReceivedTimestamp: '2024-03-01T10:00:00.123456Z',
    stageTimestamp: '2024-03-01T12:00:00+02:00',
  });
  await store.appendEvents([e]);
  const rows = await store.query(
    `SELECT user_username, user_groups, source_ips, namespace, name, response_code, response_status, response_reason,
            request_received_at, stage_at, time, ingestion_time, raw, cluster, log_stream, source_file
       FROM events WHERE audit_id = $1`,
    ['rt-1'],
  );
  assert.deepEqual(rows, [
    {
      user_username: awkward,
      user_groups: ['g"1', 'g\n2', 'ünïcode'],
      source_ips: [],
      namespace: null,
      name: 'db-password',
      response_code: 403,
      response_status: 'Failure',
      response_reason: 'Forbidden',
      request_received_at: '2024-03-01T10:00:00.123456Z',
      stage_at: '2024-03-01T10:00:00.000Z',
      time: '2024-03-01T10:00:00.123Z',
      ingestion_time: null,
      raw: e.rawText,
      cluster: 'default',
      log_stream: '/logs/audit.jsonl',
      source_file: '/logs/audit.jsonl',
    },
  ]);
  assert.equal(JSON.parse(rows[0]!['raw'] as string).user.username, awkward);
  await store.close();
});

test('query binds parameters and converts values to plain JS', async () => {
  const store = await openDuckDbStore(':memory:');
  await store.appendEvents([
    ev({ auditID: 'q-1' }),
    ev({ auditID: 'q-2', verb: 'get' }),
    ev({ auditID: 'q-3', user: { username: 'bob', groups: ['devs'] } }),
  ]);
  assert.deepEqual(await store.query('SELECT audit_id FROM events WHERE verb = $1 ORDER BY audit_id', ['list']), [
    { audit_id: 'q-1' },
    { audit_id: 'q-3' },
  ]);
  assert.deepEqual(await store.query('SELECT audit_id FROM events WHERE list_contains(user_groups, ?) ', ['devs']), [
    { audit_id: 'q-3' },
  ]);
  assert.deepEqual(
    await store.query('SELECT count(*) AS n FROM events WHERE list_has_any(user_groups, $1)', [
      ['devs', 'system:masters'],
    ]),
    [{ n: 3 }],
  );
  assert.deepEqual(await store.query('SELECT count(*) AS n FROM events WHERE list_has_any(user_groups, $1)', [[]]), [
    { n: 0 },
  ]);
  const { columns, rows } = await store.queryWithColumns(
    "SELECT 9007199254740993::BIGINT AS big, 42::BIGINT AS small, 1.25::DECIMAL(6,2) AS dec, [1, 2] AS l, {'a': 1} AS s, NULL AS n, $1 AS p, $2 AS t",
    [7, new Date('2024-01-02T03:04:05.006Z')],
  );
  assert.deepEqual(columns, ['big', 'small', 'dec', 'l', 's', 'n', 'p', 't']);
  assert.deepEqual(rows, [
    {
      big: '9007199254740993',
      small: 42,
      dec: 1.25,
      l: [1, 2],
      s: { a: 1 },
      n: null,
      p: 7,
      t: '2024-01-02T03:04:05.006Z',
    },
  ]);
  await rejectsWith(store.query('SELECT * FROM no_such_table'), 'E_QUERY', /no_such_table/);
  await store.close();
  await rejectsWith(store.query('SELECT 1'), 'E_STORE_CLOSED', /closed/);
});

test('findings are upserted by id, last write wins', async () => {
  const store = await openDuckDbStore(':memory:');
  await store.upsertFindings([finding('f-1'), finding('f-2', { severity: { label: 'HIGH', score: 8 } })]);
  await store.upsertFindings([
    finding('f-1', { count: 5 }),
    finding('f-1', { count: 7, suppressed: true, lastSeen: '2024-03-01T11:00:00.000Z' }),
  ]);
  const rows = await store.query(
    'SELECT id, severity_label, severity_score, count, first_seen, last_seen, suppressed, finding FROM findings ORDER BY id',
  );
  assert.equal(rows.length, 2);
  const f1 = rows[0]!;
  assert.deepEqual(
    { ...f1, finding: undefined },
    {
      id: 'f-1',
      severity_label: 'MEDIUM',
      severity_score: 5,
      count: 7,
      first_seen: '2024-03-01T10:00:00.123Z',
      last_seen: '2024-03-01T11:00:00.000Z',
      suppressed: true,
      finding: undefined,
    },
  );
  assert.deepEqual(
    JSON.parse(f1['finding'] as string),
    finding('f-1', { count: 7, suppressed: true, lastSeen: '2024-03-01T11:00:00.000Z' }),
  );
  assert.deepEqual(
    { id: rows[1]!['id'], label: rows[1]!['severity_label'], suppressed: rows[1]!['suppressed'] },
    { id: 'f-2', label: 'HIGH', suppressed: false },
  );
  await store.close();
});

test('read-only store refuses writes, in the API and in SQL', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 's.duckdb');
    const w = await openDuckDbStore(path);
    await w.appendEvents([ev({ auditID: 'ro-1' })]);
    await w.close();
    const ro = await openDuckDbStore(path, { readOnly: true });
    await assert.rejects(
      () => ro.appendEvents([ev({ auditID: 'ro-2' })]),
      (e: unknown) => e instanceof SleuthError && e.code === 'E_STORE_READ_ONLY',
    );
    await assert.rejects(
      () => ro.upsertFindings([finding('x')]),
      (e: unknown) => e instanceof SleuthError && e.code === 'E_STORE_READ_ONLY',
    );
    await rejectsWith(ro.query("INSERT INTO meta VALUES ('k', 'v')"), 'E_QUERY', /read-only/);
    await rejectsWith(ro.query('DROP TABLE events'), 'E_QUERY', /read-only/);
    assert.equal(await ro.countEvents(), 1);
    await ro.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('queries cannot reach the file system, and the setting cannot be turned back on', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 's.duckdb');
    const w = await openDuckDbStore(path);
    await rejectsWith(w.query("SELECT * FROM read_csv('/etc/passwd')"), 'E_QUERY', /disabled by configuration/);
    await w.close();
    const ro = await openDuckDbStore(path, { readOnly: true });
    for (const sql of [
      "SELECT * FROM read_csv('/etc/passwd')",
      "SELECT * FROM read_text('/etc/hostname')",
      `COPY (SELECT 1) TO '${join(dir, 'out.csv')}'`,
      `ATTACH '${join(dir, 'other.duckdb')}' AS other`,
      "SELECT * FROM glob('/etc/*')",
      `EXPORT DATABASE '${join(dir, 'export')}'`,
    ]) {
      await rejectsWith(ro.query(sql), 'E_QUERY', /disabled by configuration/);
    }
    await rejectsWith(ro.query('LOAD httpfs'), 'E_QUERY', /disabled through configuration/);
    await rejectsWith(ro.query('SET enable_external_access = true'), 'E_QUERY', /locked/);
    await rejectsWith(ro.query('RESET lock_configuration'), 'E_QUERY', /locked/);
    await ro.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

test('real events: the hkerma dataset stores once, round-trips its timestamps, and re-scans as duplicates', async (t) => {
  const file = join(
    repoRoot(),
    '..',
    'shared',
    'corpus',
    'datasets',
    'hkerma-kubernetes-event-dataset',
    'audit-logs.reconstructed.jsonl',
  );
  if (!existsSync(file)) {
    t.skip('shared corpus not available');
    return;
  }
  const events: AuditEvent[] = [];
  const keys = new Set<string>();
  for (const [i, line] of readFileSync(file, 'utf8').split('\n').entries()) {
    if (line === '') continue;
    const r = normalizeText(line, fileOrigin(file, i + 1));
    if (!r.ok) continue;
    events.push(r.event);
    keys.add(`${r.event.auditID}/${r.event.stage}`);
  }
  assert.ok(events.length > 16_000);
  const store = await openDuckDbStore(':memory:');
  assert.deepEqual(await store.appendEvents(events), { appended: keys.size, duplicates: events.length - keys.size });
  assert.equal(await store.settleDuplicates(), 0);
  assert.deepEqual(await store.appendEvents(events), { appended: keys.size, duplicates: events.length - keys.size });
  assert.equal(await store.settleDuplicates(), keys.size);
  assert.equal(await store.countEvents(), keys.size);
  const sample = events[1234]!;
  assert.deepEqual(
    await store.query(
      'SELECT request_received_at, verb, user_username, response_code FROM events WHERE audit_id = $1 AND stage = $2',
      [sample.auditID, sample.stage],
    ),
    [
      {
        request_received_at: sample.requestReceivedAt,
        verb: sample.verb,
        user_username: sample.username,
        response_code: sample.responseCode,
      },
    ],
  );
  const verbs = await store.query('SELECT verb, count(*) AS n FROM events GROUP BY verb ORDER BY n DESC LIMIT 1');
  assert.equal(verbs[0]!['verb'], 'get');
  await store.close();
});
