// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
/**
 * Sigma → SQL: exact SQL for a representative rule, then the real check: on the benign
 * datasets and on the positive fixtures, SQL over the DuckDB store returns exactly the events
 * the streaming detectors flag (same auditID/stage), for all 16 SigmaHQ rules and the
 * correlation examples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { AuditEvent } from '../../model/audit-event.js';
import { openDuckDbStore } from '../../store/duckdb/duckdb-store.js';
import type { SigmaCorrelationRule, SigmaDetectionRule } from './sigma-ast.js';
import { buildSigmaRuleSet, loadSigmaRules } from './sigma-detectors.js';
import { createFieldMapping } from './sigma-field-mapping.js';
import { parseSigmaText } from './sigma-rule-loader.js';
import { compileSigmaCorrelationSql, compileSigmaRuleSql, huntSigma } from './sigma-sql-compiler.js';
import {
  CORRELATION_RULES,
  FIXTURES,
  SHARED,
  SIGMAHQ_RULES,
  auditEvent,
  hitsByRule,
  loadJsonl,
  repoRoot,
  runDetectors,
} from './sigma-test-helpers.js';

const HEAD = 'title: t\nid: r\nlogsource: {product: kubernetes, service: audit}\n';

test('golden SQL: typed columns, JSON any-element path, list column, not', async () => {
  const text = `${HEAD}detection:\n  sel:\n    verb: create\n    objectRef.resource: pods\n    hostPath: '*'\n  filter:\n    user.groups: 'system:node*'\n  condition: sel and not filter\n`;
  const rule = parseSigmaText(text, 'g.yml', createFieldMapping()).documents[0] as SigmaDetectionRule;
  const c = compileSigmaRuleSql(rule, { stages: 'all' });
  assert.equal(
    c.sql,
    'SELECT "audit_id", "stage", epoch_ms("time") AS "t" FROM "events" AS "sx_event" WHERE (' +
      'coalesce(lower("verb") = $1, false) AND coalesce(lower("resource") = $2, false) AND ' +
      "coalesce(len(list_filter(json_extract(\"raw\", $3), lambda sx1: (sx1 IS NOT NULL AND json_type(sx1) <> 'NULL' AND NOT (json_type(sx1) = 'ARRAY' AND json_extract_string(sx1, '$') = '[]')))) > 0, false) AND " +
      '(NOT coalesce(len(list_filter("user_groups", lambda sx2: lower(sx2) LIKE $4 ESCAPE \'\\\')) > 0, false))' +
      ') ORDER BY "t", "audit_id", "stage"',
  );
  assert.deepEqual(c.parameters, [
    'create',
    'pods',
    '$."requestObject"."spec"."volumes"[*]."hostPath"',
    'system:node%',
  ]);
  const events = loadJsonl(FIXTURES());
  const store = await openDuckDbStore(':memory:');
  try {
    await store.appendEvents(events);
    const rows = await store.query(c.sql, c.parameters);
    assert.deepEqual(
      rows.map((r) => r['audit_id']),
      ['pos-hostpath-pod'],
    );
  } finally {
    await store.close();
  }
});

test('one stage per request by default, as scan hands detectors: ResponseComplete, else the latest earlier stage', async () => {
  const text = `${HEAD}detection:\n  sel:\n    verb: create\n    objectRef.resource: pods\n    objectRef.subresource: exec\n  condition: sel\n`;
  const rule = parseSigmaText(text, 's.yml', createFieldMapping()).documents[0] as SigmaDetectionRule;
  const at = '2024-03-05T10:00:00Z';
  const ev = (auditID: string, stage: string, extra: Record<string, unknown> = {}): AuditEvent =>
    auditEvent(
      {
        auditID,
        stage,
        verb: 'create',
        objectRef: { resource: 'pods', subresource: 'exec', namespace: 'default', name: 'web' },
        requestURI: '/api/v1/namespaces/default/pods/web/exec?command=sh',
        ...extra,
      },
      at,
    );
  const events = [
    ev('both', 'ResponseStarted'),
    ev('both', 'ResponseComplete'),
    ev('early', 'RequestReceived'),
    ev('early', 'ResponseStarted'),
    ev('received', 'RequestReceived'),
    // The rule matches only the earlier stage; detectors see the final one, so no hit.
    ev('final-differs', 'RequestReceived'),
    ev('final-differs', 'ResponseComplete', { verb: 'get' }),
  ];
  const c = compileSigmaRuleSql(rule);
  assert.match(
    c.sql,
    /NOT EXISTS \(SELECT 1 FROM "events" AS "sx_stage" WHERE "sx_stage"\."audit_id" = "sx_event"\."audit_id"/,
  );
  const store = await openDuckDbStore(':memory:');
  try {
    await store.appendEvents(events);
    const rows = await store.query(c.sql, c.parameters);
    const got = rows.map((r) => `${String(r['audit_id'])}/${String(r['stage'])}`).sort();
    assert.deepEqual(got, ['both/ResponseComplete', 'early/ResponseStarted', 'received/RequestReceived']);
    const set = buildSigmaRuleSet([rule], createFieldMapping());
    assert.deepEqual(hitsByRule(runDetectors(set.detectors, events)).get('r'), got);
    const all = compileSigmaRuleSql(rule, { stages: 'all' });
    assert.equal((await store.query(all.sql, all.parameters)).length, 6);
  } finally {
    await store.close();
  }
});

test('values never reach SQL text: hostile strings are parameters', () => {
  const text = `${HEAD}detection:\n  sel:\n    "user.username|contains": "'; DROP TABLE events; --"\n    "objectRef.name\\"x": a\n  condition: sel\n`;
  const rule = parseSigmaText(text, 'h.yml', createFieldMapping()).documents[0] as SigmaDetectionRule;
  const c = compileSigmaRuleSql(rule);
  assert.ok(!c.sql.includes('DROP'), c.sql);
  assert.ok(c.parameters.includes("%'; drop table events; --%"));
  assert.ok(c.parameters.includes('$."objectRef"."name\\"x"'));
});

test('golden SQL: event_count correlation is a sliding RANGE window per group', () => {
  const set = loadSigmaRules([join(CORRELATION_RULES(), 'kubernetes_audit_forbidden_list_burst.yml')]);
  const corr = set.correlations[0] as SigmaCorrelationRule;
  const c = compileSigmaCorrelationSql(corr, [set.rules[0]!], set.mapping);
  assert.match(
    c.sql,
    /count\(\*\) OVER \(PARTITION BY "g1" ORDER BY "t" RANGE BETWEEN 300000 PRECEDING AND CURRENT ROW\) AS "n"/,
  );
  assert.match(c.sql, /WHERE "n" > \$\d+ ORDER BY/);
  assert.deepEqual(c.parameters, ['list', 403, 20]);
});

test('time range: only events with start <= time < end', async () => {
  const set = loadSigmaRules([join(SIGMAHQ_RULES(), 'kubernetes_audit_unauthorized_unauthenticated_actions.yml')]);
  const rule = set.rules[0]!;
  const events = loadJsonl(FIXTURES());
  const store = await openDuckDbStore(':memory:');
  try {
    await store.appendEvents(events);
    const all = compileSigmaRuleSql(rule);
    assert.deepEqual(
      (await store.query(all.sql, all.parameters)).map((r) => r['audit_id']),
      ['pos-forbidden', 'pos-unauthorized'],
    );
    const c = compileSigmaRuleSql(rule, {
      startMs: Date.parse('2024-03-05T10:00:32Z'),
      endMs: Date.parse('2024-03-05T10:00:40Z'),
    });
    assert.deepEqual(
      (await store.query(c.sql, c.parameters)).map((r) => r['audit_id']),
      ['pos-unauthorized'],
    );
  } finally {
    await store.close();
  }
});

async function compareOn(events: readonly AuditEvent[], label: string): Promise<Map<string, string[]>> {
  const set = loadSigmaRules([SIGMAHQ_RULES(), CORRELATION_RULES()]);
  assert.deepEqual(
    set.problems.filter((p) => p.severity !== 'warning'),
    [],
  );
  const streaming = hitsByRule(runDetectors(set.detectors, events));
  const store = await openDuckDbStore(':memory:');
  try {
    await store.appendEvents(events);
    const res = await huntSigma(store, set);
    assert.deepEqual(res.errors, []);
    const sql = new Map<string, Set<string>>();
    for (const h of res.hits) {
      let s = sql.get(h.rule);
      if (s === undefined) sql.set(h.rule, (s = new Set()));
      s.add(`${h.auditID}/${h.stage}`);
    }
    const rules = new Set([...streaming.keys(), ...sql.keys()]);
    for (const r of rules)
      assert.deepEqual([...(sql.get(r) ?? [])].sort(), streaming.get(r) ?? [], `${label}: rule ${r}`);
    return streaming;
  } finally {
    await store.close();
  }
}

test('streaming and SQL agree on the hkerma benign dataset (16.5k events)', async () => {
  const events = loadJsonl(
    join(SHARED(), 'corpus', 'datasets', 'hkerma-kubernetes-event-dataset', 'audit-logs.reconstructed.jsonl'),
  );
  assert.equal(events.length, 16_563);
  const hits = await compareOn(events, 'hkerma');
  // Benign Helm installs still modify secrets, create service accounts, bind roles …
  assert.equal(hits.get('58d31a75-a4f8-4c40-985b-373d58162ca2')?.length, 630);
  // 71 stored events, 56 requests: detectors see each request once.
  assert.equal(hits.get('0d933542-1f1f-420d-97d4-21b2c3c492d9')?.length, 56);
  assert.equal(
    hits.get('3f343dbe-565a-44e2-9d04-43dca9267e6f')?.length,
    140,
    'namespace sweep by the Helm installer identity',
  );
  assert.equal(hits.get('6a227def-f0df-4f09-8e29-6c947515af6b'), undefined, 'no forbidden list burst');
});

test('streaming and SQL agree on the audit2rbac dataset', async () => {
  const events = loadJsonl(join(SHARED(), 'corpus', 'datasets', 'audit2rbac', 'demo.log'));
  const hits = await compareOn(events, 'audit2rbac');
  assert.equal(hits.get('0d933542-1f1f-420d-97d4-21b2c3c492d9')?.length, 11);
});

test('streaming and SQL agree on examples/audit-sample.jsonl (requests logged in several stages)', async () => {
  const events = loadJsonl(join(repoRoot(), 'examples', 'audit-sample.jsonl'));
  assert.ok(new Set(events.map((e) => e.auditID)).size < events.length, 'the sample has multi-stage requests');
  const hits = await compareOn(events, 'audit-sample');
  assert.deepEqual(
    hits.get('a1b0ca4e-7835-413e-8471-3ff2b8a66be6'),
    ['aa24f3e0-b8d4-45ba-b14f-124b0b0f8f96/ResponseComplete'],
    'exec: once per request',
  );
});

test('streaming and SQL agree on the positive fixtures', async () => {
  const hits = await compareOn(loadJsonl(FIXTURES()), 'fixtures');
  assert.equal(hits.size, 15);
});
