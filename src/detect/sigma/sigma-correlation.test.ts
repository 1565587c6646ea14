/**
 * Correlation rules (rules/sigma/correlations/*.yml), streaming and over history: both must
 * give the same triggering events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { AuditEvent } from '../../model/audit-event.js';
import { openDuckDbStore } from '../../store/duckdb/duckdb-store.js';
import type { Detection } from '../detector.js';
import type { SigmaCorrelationRule } from './sigma-ast.js';
import { CorrelationEvaluator } from './sigma-correlation-evaluator.js';
import { buildSigmaRuleSet, infoOf, loadSigmaRules, type SigmaRuleSet } from './sigma-detectors.js';
import { createFieldMapping } from './sigma-field-mapping.js';
import { compileSigmaExpr } from './sigma-matcher-compiler.js';
import { parseSigmaText } from './sigma-rule-loader.js';
import { huntSigma } from './sigma-sql-compiler.js';
import { CORRELATION_RULES, auditEvent, runDetectors } from './sigma-test-helpers.js';

const BURST = '6a227def-f0df-4f09-8e29-6c947515af6b';
const SWEEP = '3f343dbe-565a-44e2-9d04-43dca9267e6f';
const RBAC_EXEC = '8f6b0e1c-5d7a-4c2e-9b3a-2e4f6a8c0d12';
const T0 = Date.parse('2024-03-05T10:00:00Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();
const S = 1000;
const M = 60 * S;

function forbiddenList(id: string, user: string, ms: number, code = 403): AuditEvent {
  return auditEvent(
    {
      auditID: id,
      verb: 'list',
      requestURI: '/api/v1/secrets',
      user: { username: user, groups: ['system:authenticated'] },
      objectRef: { resource: 'secrets', apiVersion: 'v1' },
      responseStatus:
        code === 403 ? { metadata: {}, status: 'Failure', reason: 'Forbidden', code } : { metadata: {}, code },
    },
    at(ms),
  );
}

function read(id: string, user: string, ns: string, ms: number): AuditEvent {
  return auditEvent(
    {
      auditID: id,
      verb: 'get',
      requestURI: `/api/v1/namespaces/${ns}/secrets/x`,
      user: { username: user, groups: ['system:authenticated'] },
      objectRef: { resource: 'secrets', namespace: ns, name: 'x', apiVersion: 'v1' },
    },
    at(ms),
  );
}

function rbac(id: string, user: string, ms: number): AuditEvent {
  return auditEvent(
    {
      auditID: id,
      verb: 'create',
      requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      user: { username: user, groups: ['system:authenticated'] },
      objectRef: {
        resource: 'clusterrolebindings',
        apiGroup: 'rbac.authorization.k8s.io',
        name: 'pwn',
        apiVersion: 'v1',
      },
      responseStatus: { metadata: {}, code: 201 },
    },
    at(ms),
  );
}

function exec(id: string, user: string, ms: number): AuditEvent {
  return auditEvent(
    {
      auditID: id,
      verb: 'create',
      requestURI: '/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true&tty=true',
      user: { username: user, groups: ['system:authenticated'] },
      objectRef: { resource: 'pods', subresource: 'exec', namespace: 'default', name: 'web-0', apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 101 },
    },
    at(ms),
  );
}

function streamHits(
  set: SigmaRuleSet,
  events: readonly AuditEvent[],
  rule: string,
): { ids: string[]; detections: Detection[] } {
  const detections = runDetectors(set.detectors, events).filter((d) => d.info.rule === rule);
  return { ids: detections.map((d) => d.event.auditID).sort(), detections };
}

async function sqlHits(set: SigmaRuleSet, events: readonly AuditEvent[], rule: string): Promise<string[]> {
  const store = await openDuckDbStore(':memory:');
  try {
    await store.appendEvents(events);
    const res = await huntSigma(store, set);
    assert.deepEqual(res.errors, []);
    return res.hits
      .filter((h) => h.rule === rule)
      .map((h) => h.auditID)
      .sort();
  } finally {
    await store.close();
  }
}

test('event_count: more than 20 forbidden list calls by one user within 5 minutes', async () => {
  const set = loadSigmaRules([join(CORRELATION_RULES(), 'kubernetes_audit_forbidden_list_burst.yml')]);
  assert.deepEqual(
    set.problems.filter((p) => p.severity !== 'warning'),
    [],
  );
  // generate: false (default): the base rule feeds the correlation and emits nothing itself.
  assert.deepEqual(
    set.detectors.map((d) => d.info.rule),
    [BURST],
  );
  assert.deepEqual(set.detectors[0]!.index, { verbs: ['list'] });
  const events: AuditEvent[] = [];
  // mallory: 21 forbidden lists 10 s apart (200 s), with allowed lists in between that do not count.
  for (let i = 0; i < 21; i++) {
    events.push(forbiddenList(`mallory-${i + 1}`, 'mallory', i * 10 * S));
    events.push(forbiddenList(`mallory-ok-${i + 1}`, 'mallory', i * 10 * S + 5 * S, 200));
  }
  // carol: exactly 20 → not more than 20.
  for (let i = 0; i < 20; i++) events.push(forbiddenList(`carol-${i + 1}`, 'carol', i * 5 * S));
  // dave: 25, but 20 s apart: at most 16 in any 5-minute window.
  for (let i = 0; i < 25; i++) events.push(forbiddenList(`dave-${i + 1}`, 'dave', i * 20 * S));
  // erin: 21 with the first and last exactly 5 minutes apart: the window includes both ends.
  events.push(forbiddenList('erin-1', 'erin', 0));
  for (let i = 0; i < 19; i++) events.push(forbiddenList(`erin-${i + 2}`, 'erin', 100 * S + i * S));
  events.push(forbiddenList('erin-21', 'erin', 5 * M));
  // frank: the same, last one 1 ms later: the first falls out.
  events.push(forbiddenList('frank-1', 'frank', 0));
  for (let i = 0; i < 19; i++) events.push(forbiddenList(`frank-${i + 2}`, 'frank', 100 * S + i * S));
  events.push(forbiddenList('frank-21', 'frank', 5 * M + 1));
  events.sort((a, b) => a.time - b.time);

  const { ids, detections } = streamHits(set, events, BURST);
  assert.deepEqual(ids, ['erin-21', 'mallory-21']);
  const d = detections.find((x) => x.event.auditID === 'mallory-21')!;
  assert.equal(d.info.type, `Sigma:${BURST}`);
  assert.equal(d.time, T0 + 200 * S);
  assert.equal(d.related?.length, 20);
  assert.equal(d.related?.[0]?.auditID, 'mallory-1');
  assert.deepEqual(d.details?.['group'], { 'user.username': 'mallory' });
  assert.equal(d.details?.['eventCount'], 21);
  assert.deepEqual(await sqlHits(set, events, BURST), ids);
});

test('event_count: arrival order within the window does not change the hits', async () => {
  // Detectors keep state: a fresh rule set per run.
  const load = (): SigmaRuleSet =>
    loadSigmaRules([join(CORRELATION_RULES(), 'kubernetes_audit_forbidden_list_burst.yml')]);
  const events: AuditEvent[] = [];
  for (let i = 0; i < 22; i++) events.push(forbiddenList(`m-${i + 1}`, 'mallory', i * 10 * S));
  // Deterministic shuffle.
  const shuffled = events
    .map((e, i) => [((i * 7919) % 23) as number, e] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([, e]) => e);
  assert.notDeepEqual(shuffled, events);
  assert.deepEqual(streamHits(load(), shuffled, BURST).ids, ['m-21', 'm-22']);
  assert.deepEqual(streamHits(load(), events, BURST).ids, ['m-21', 'm-22']);
  assert.deepEqual(await sqlHits(load(), shuffled, BURST), ['m-21', 'm-22']);
});

test('value_count: distinct namespaces touched by one identity', async () => {
  const set = loadSigmaRules([join(CORRELATION_RULES(), 'kubernetes_audit_namespace_sweep.yml')]);
  assert.deepEqual(
    set.problems.filter((p) => p.severity !== 'warning'),
    [],
  );
  const events: AuditEvent[] = [];
  for (let i = 0; i < 5; i++) events.push(read(`intruder-${i + 1}`, 'intruder', `ns-${i + 1}`, i * 2 * M));
  events.push(read('intruder-6', 'intruder', 'ns-1', 9 * M)); // still 5 distinct in [-1m, 9m]
  events.push(read('intruder-7', 'intruder', 'ns-1', 17 * M)); // window [7m, 17m]: ns-5, ns-1 only
  for (let i = 0; i < 6; i++) events.push(read(`wanderer-${i + 1}`, 'wanderer', `ns-${i + 1}`, i * 15 * M));
  for (let i = 0; i < 6; i++)
    events.push(read(`node-${i + 1}`, 'system:node:ip-10-0-0-1.ec2.internal', `ns-${i + 1}`, i * S));
  // Many reads in one namespace do not make distinct values.
  for (let i = 0; i < 30; i++) events.push(read(`busy-${i + 1}`, 'busy', 'shop', i * S));
  events.sort((a, b) => a.time - b.time);
  const { ids, detections } = streamHits(set, events, SWEEP);
  assert.deepEqual(ids, ['intruder-5', 'intruder-6']);
  assert.equal(detections[0]!.details?.['distinctValues'], 5);
  assert.deepEqual(await sqlHits(set, events, SWEEP), ids);
});

test('temporal_ordered: an RBAC change followed by an exec by the same user within 10 minutes', async () => {
  const set = loadSigmaRules([join(CORRELATION_RULES(), 'kubernetes_audit_rbac_change_then_exec.yml')]);
  assert.deepEqual(
    set.problems.filter((p) => p.severity !== 'warning'),
    [],
  );
  const corr = set.detectors.find((d) => d.info.rule === RBAC_EXEC)!;
  assert.deepEqual(corr.info.severity, { label: 'HIGH', score: 8 });
  assert.deepEqual(corr.info.mitre, { tactic: 'Privilege Escalation', technique: 'T1078' });
  assert.deepEqual(corr.index, {
    verbs: ['create', 'patch', 'update'],
    resources: ['clusterrolebindings', 'pods', 'rolebindings'],
  });
  const events = [
    rbac('eve-rbac', 'eve', 0),
    exec('eve-exec', 'eve', 5 * M),
    exec('eve-exec-late', 'eve', 10 * M + 1), // 10 min + 1 ms after the change
    exec('frank-exec', 'frank', 0), // wrong order …
    rbac('frank-rbac', 'frank', 2 * M), // … and no exec afterwards
    rbac('gina-rbac', 'gina', 0),
    exec('gina-exec', 'gina', 11 * M),
    rbac('hank-rbac', 'hank', 0),
    exec('ivan-exec', 'ivan', 1 * M), // a different user
    rbac('judy-rbac', 'judy', 3 * M),
    exec('judy-exec', 'judy', 3 * M), // same millisecond counts as in order
  ].sort((a, b) => a.time - b.time);
  const { ids, detections } = streamHits(set, events, RBAC_EXEC);
  assert.deepEqual(ids, ['eve-exec', 'judy-exec']);
  const eve = detections.find((d) => d.event.auditID === 'eve-exec')!;
  assert.deepEqual(
    eve.related?.map((e) => e.auditID),
    ['eve-rbac'],
  );
  assert.deepEqual(await sqlHits(set, events, RBAC_EXEC), ids);
});

const TEMPORAL = `title: Base A
id: base-a
name: base_a
logsource: {product: kubernetes, service: audit}
detection:
  sel: {verb: create, objectRef.resource: clusterrolebindings}
  condition: sel
---
title: Base B
id: base-b
name: base_b
logsource: {product: kubernetes, service: audit}
detection:
  sel: {verb: create, objectRef.subresource: exec}
  condition: sel
---
title: A and B in any order
id: corr-any
correlation:
  type: temporal
  rules: [base_a, base_b]
  group-by: [user.username]
  timespan: 10m
generate: true
level: high
`;

test('temporal (any order) and generate: true', async () => {
  const parsed = parseSigmaText(TEMPORAL, 'temporal.yml', createFieldMapping());
  assert.deepEqual(parsed.problems, []);
  const set = buildSigmaRuleSet(parsed.documents, createFieldMapping());
  assert.deepEqual(set.detectors.map((d) => d.info.rule).sort(), ['base-a', 'base-b', 'corr-any']);
  const events = [
    exec('f-exec', 'frank', 0),
    rbac('f-rbac', 'frank', 2 * M),
    rbac('g-rbac', 'gina', 0),
    exec('g-exec', 'gina', 11 * M),
  ];
  const { ids } = streamHits(set, events, 'corr-any');
  assert.deepEqual(ids, ['f-rbac']);
  assert.deepEqual(await sqlHits(set, events, 'corr-any'), ids);
  assert.deepEqual(streamHits(set, events, 'base-a').ids, ['f-rbac', 'g-rbac']);
});

test('correlation errors: unknown rule, missing condition, bad timespan, unsupported type', () => {
  const doc = (body: string): string => `title: c\nid: c1\ncorrelation:\n${body}`;
  const problems = (text: string): string[] => {
    const m = createFieldMapping();
    const parsed = parseSigmaText(text, 'c.yml', m);
    return [...parsed.problems, ...buildSigmaRuleSet(parsed.documents, m).problems].map(
      (p) => `${p.line}:${p.column} ${p.message}`,
    );
  };
  assert.deepEqual(
    problems(
      doc('  type: event_count\n  rules: [nope]\n  group-by: [user.username]\n  timespan: 5m\n  condition: {gt: 3}\n'),
    ),
    ["1:1 correlation references unknown rule 'nope'"],
  );
  assert.deepEqual(problems(doc('  type: event_count\n  rules: [a]\n  timespan: 5x\n')), [
    "6:3 invalid timespan '5x' (expected a number followed by s, m, h, d, w, M or y)",
    '4:3 event_count needs a condition such as {gte: 10}',
  ]);
  assert.deepEqual(problems(doc('  type: value_sum\n  rules: [a]\n  timespan: 5m\n')), [
    "4:3 correlation type 'value_sum' is not supported (supported: event_count, value_count, temporal, temporal_ordered)",
  ]);
  assert.deepEqual(problems(doc('  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 3}\n')), [
    "7:14 value_count needs 'field' in its condition",
  ]);
});

test('correlation state stays bounded: idle groups expire by event time', () => {
  const parsed = parseSigmaText(TEMPORAL.replace('generate: true\n', ''), 't.yml', createFieldMapping());
  const docs = parsed.documents;
  const corr = docs.find((d) => d.kind === 'correlation') as SigmaCorrelationRule;
  const a = docs.find((d) => d.id === 'base-a');
  const b = docs.find((d) => d.id === 'base-b');
  assert.ok(a?.kind === 'rule' && b?.kind === 'rule');
  const ev = new CorrelationEvaluator(
    corr,
    infoOf(corr),
    [
      { ref: 'base_a', names: ['base-a', 'base_a'], match: compileSigmaExpr(a.expr) },
      { ref: 'base_b', names: ['base-b', 'base_b'], match: compileSigmaExpr(b.expr) },
    ],
    createFieldMapping(),
  );
  let emitted = 0;
  for (let i = 0; i < 20_000; i++) ev.observe(rbac(`r-${i}`, `user-${i}`, i * M), () => emitted++);
  assert.equal(emitted, 0);
  // 10-minute timespan, one event per minute, swept every 4096 events.
  assert.ok(ev.openGroups <= 4096 + 11, `open groups: ${ev.openGroups}`);
});

const ALIASED = `title: RBAC change made while impersonating
id: imp-rbac
name: imp_rbac
logsource: {product: kubernetes, service: audit}
detection:
  sel: {verb: create, objectRef.resource: clusterrolebindings, impersonatedUser.username|exists: true}
  condition: sel
---
title: Exec
id: any-exec
name: any_exec
logsource: {product: kubernetes, service: audit}
detection:
  sel: {verb: create, objectRef.subresource: exec}
  condition: sel
---
title: Identity set up by impersonation then used for exec
id: corr-alias
correlation:
  type: temporal_ordered
  rules: [imp_rbac, any_exec]
  group-by: [actor]
  timespan: 10m
  aliases:
    actor:
      imp_rbac: impersonatedUser.username
      any_exec: user.username
level: high
`;

test('correlation aliases: group-by reads a different field per referenced rule', async () => {
  const m = createFieldMapping();
  const parsed = parseSigmaText(ALIASED, 'alias.yml', m);
  assert.deepEqual(parsed.problems, []);
  const load = (): SigmaRuleSet => buildSigmaRuleSet(parsed.documents, m);
  const impRbac = (id: string, as: string, ms: number): AuditEvent =>
    auditEvent(
      {
        auditID: id,
        verb: 'create',
        user: { username: 'admin', groups: ['system:masters'] },
        impersonatedUser: { username: as },
        objectRef: {
          resource: 'clusterrolebindings',
          apiGroup: 'rbac.authorization.k8s.io',
          name: 'x',
          apiVersion: 'v1',
        },
      },
      at(ms),
    );
  const events = [
    impRbac('imp-bob', 'bob', 0),
    exec('exec-bob', 'bob', 2 * M),
    exec('exec-admin', 'admin', 3 * M),
    exec('exec-carl', 'carl', 4 * M),
  ];
  const { ids, detections } = streamHits(load(), events, 'corr-alias');
  assert.deepEqual(ids, ['exec-bob']);
  assert.deepEqual(detections[0]!.details?.['group'], { actor: 'bob' });
  assert.deepEqual(await sqlHits(load(), events, 'corr-alias'), ids);
});

test('temporal_ordered with out-of-order arrival: order is by event time, not arrival', async () => {
  const load = (): SigmaRuleSet =>
    loadSigmaRules([join(CORRELATION_RULES(), 'kubernetes_audit_rbac_change_then_exec.yml')]);
  // The exec is read first, the (earlier) RBAC change afterwards: still change → exec in time.
  const arrival = [
    exec('kim-exec', 'kim', 4 * M),
    rbac('kim-rbac', 'kim', 1 * M),
    rbac('lee-rbac', 'lee', 6 * M),
    exec('lee-exec', 'lee', 5 * M),
  ];
  const { ids } = streamHits(load(), arrival, RBAC_EXEC);
  assert.deepEqual(ids, ['kim-exec']);
  assert.deepEqual(await sqlHits(load(), arrival, RBAC_EXEC), ids);
});

test('value_count with out-of-order arrival matches SQL', async () => {
  const load = (): SigmaRuleSet => loadSigmaRules([join(CORRELATION_RULES(), 'kubernetes_audit_namespace_sweep.yml')]);
  const times = [0, 9, 1, 8, 2, 7, 3, 6, 4, 5, 12, 11];
  const arrival = times.map((m, i) => read(`x-${i + 1}`, 'xavier', `ns-${(i % 6) + 1}`, m * M));
  const { ids } = streamHits(load(), arrival, SWEEP);
  // By time: ns-1@0 ns-3@1 ns-5@2 ns-1@3 ns-3@4 ns-4@5 ns-2@6 ns-6@7 ns-4@8 ns-2@9 ns-6@11 ns-5@12;
  // 5 distinct first at 6m (x-8), then every later event.
  assert.deepEqual(ids, ['x-11', 'x-12', 'x-2', 'x-4', 'x-6', 'x-8']);
  assert.deepEqual(await sqlHits(load(), arrival, SWEEP), ids);
});
