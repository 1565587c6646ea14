// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
/**
 * The 16 SigmaHQ Kubernetes audit rules, unmodified, against realistic positive and negative
 * audit events (testdata/sigma-rule-fixtures.jsonl) and the Falco k8saudit fixtures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadSigmaRules } from './sigma-detectors.js';
import {
  FIXTURES,
  SHARED,
  SIGMAHQ_RULES,
  auditEvent,
  hitsByRule,
  loadJsonl,
  runDetectors,
} from './sigma-test-helpers.js';

const RC = 'ResponseComplete';
const k = (...ids: string[]): string[] => ids.map((id) => `${id}/${RC}`).sort();

/** Expected hits of every SigmaHQ rule on the fixture file; every other fixture event is a negative. */
const EXPECTED: Readonly<Record<string, readonly string[]>> = {
  'eed82177-38f5-4299-8a76-098d50d225ab': k('pos-admission-create', 'pos-admission-patch'),
  '0c9b3bda-41a6-4442-9345-356ae86343dc': k('pos-cronjob-create', 'pos-job-delete'),
  '40967487-139b-4811-81d9-c9767a92aa5a': k('pos-deployment-delete'),
  '3132570d-cab2-4561-9ea6-1743644b2290': k('pos-events-delete'),
  // The enumeration-tool exec is also an exec.
  'a1b0ca4e-7835-413e-8471-3ff2b8a66be6': k('pos-exec', 'neg-enum-shell-exec'),
  '402b955c-8fe0-4a8c-b635-622b4ac5f902': k('pos-hostpath-pod'),
  'a80d927d-ac6e-443f-a867-e8d6e3897318': k('pos-kube-system-pod'),
  // Never fires on real audit events: it compares responseStatus.code with 'ALLOW'.
  '597a7e84-187d-458b-9e4f-2f5a0e676711': [],
  // Tests added capabilities, not securityContext.privileged.
  'c5cd1b20-36bb-488d-8c05-486be3d0cb97': k('pos-caps-pod'),
  '84b777bd-c946-4d17-aa2e-c39f5a454325': k('pos-rbac-rules-review'),
  '10b97915-ec8d-455f-a815-9a78926585f6': k('pos-crb-create'),
  'eeb3e9e1-b685-44e4-9232-6bb701f925b5': k('pos-secrets-list'),
  '58d31a75-a4f8-4c40-985b-373d58162ca2': k('pos-secret-update'),
  // create serviceaccounts/token (token requests) matches too: the rule has no subresource test.
  'e31bae15-83ed-473e-bf31-faf4f8a17d36': k('pos-sa-create', 'pos-sa-token'),
  'ad9012a6-e518-4432-9890-f3b82b8fc71f': k('pos-sidecar-patch'),
  '0d933542-1f1f-420d-97d4-21b2c3c492d9': k('pos-forbidden', 'pos-unauthorized'),
};

test('all 16 SigmaHQ Kubernetes audit rules load unmodified, with no errors', () => {
  const set = loadSigmaRules([SIGMAHQ_RULES()]);
  assert.deepEqual(
    set.problems.filter((p) => p.severity !== 'warning'),
    [],
  );
  assert.equal(set.detectors.length, 16);
  assert.deepEqual(set.skipped, []);
  assert.deepEqual(set.detectors.map((d) => d.info.rule).sort(), Object.keys(EXPECTED).sort());
});

test('each SigmaHQ rule hits exactly its positive fixtures', () => {
  const set = loadSigmaRules([SIGMAHQ_RULES()]);
  const events = loadJsonl(FIXTURES());
  assert.equal(events.length, 33);
  const hits = hitsByRule(runDetectors(set.detectors, events));
  for (const [id, expected] of Object.entries(EXPECTED)) {
    assert.deepEqual(hits.get(id) ?? [], expected, `rule ${id}`);
  }
});

test('detector info: type, engine, severity from level, MITRE from tags', () => {
  const set = loadSigmaRules([SIGMAHQ_RULES()]);
  const byId = new Map(set.detectors.map((d) => [d.info.rule, d]));
  const exec = byId.get('a1b0ca4e-7835-413e-8471-3ff2b8a66be6')!;
  assert.equal(exec.info.type, 'Sigma:a1b0ca4e-7835-413e-8471-3ff2b8a66be6');
  assert.equal(exec.info.engine, 'sigma');
  assert.equal(exec.info.title, 'Potential Remote Command Execution In Pod Container');
  assert.deepEqual(exec.info.severity, { label: 'MEDIUM', score: 5 });
  assert.deepEqual(exec.info.mitre, { tactic: 'Execution', technique: 'T1609' });
  assert.deepEqual(exec.index, { verbs: ['create'], resources: ['pods'] });
  const sa = byId.get('e31bae15-83ed-473e-bf31-faf4f8a17d36')!;
  assert.deepEqual(sa.info.severity, { label: 'LOW', score: 2 });
  assert.deepEqual(sa.info.mitre, { tactic: 'Persistence', technique: 'T1136' });
  const unauth = byId.get('0d933542-1f1f-420d-97d4-21b2c3c492d9')!;
  assert.deepEqual(unauth.index, {}, 'no verb/resource constraint: every event');
  const admission = byId.get('eed82177-38f5-4299-8a76-098d50d225ab')!;
  assert.deepEqual(admission.index.resources, ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']);
});

test('the enumeration rule is flagged by lint and fires once responseStatus.code is remapped', () => {
  const set = loadSigmaRules([SIGMAHQ_RULES()]);
  const lint = set.problems.find(
    (p) => p.rule === '597a7e84-187d-458b-9e4f-2f5a0e676711' && p.message.startsWith('rule can never match'),
  );
  assert.ok(lint !== undefined);
  assert.equal(lint.severity, 'warning');
  assert.equal(lint.line, 24);
  assert.match(lint.message, /responseStatus\.code is an integer.*'ALLOW' never matches/);
  // A user mapping sends the rule's responseStatus.code to the authorization decision.
  const fixed = loadSigmaRules([join(SIGMAHQ_RULES(), 'kubernetes_audit_potential_enumeration_activity.yml')], {
    fieldMapping: { 'responseStatus.code': 'annotations.authorization.k8s.io/decision' },
  });
  const hits = hitsByRule(runDetectors(fixed.detectors, loadJsonl(FIXTURES())));
  assert.deepEqual(hits.get('597a7e84-187d-458b-9e4f-2f5a0e676711'), k('neg-enum-shell-exec', 'pos-exec'));
});

test('Falco k8saudit fixtures: the expected SigmaHQ rules fire', () => {
  const set = loadSigmaRules([SIGMAHQ_RULES()]);
  const dir = join(SHARED(), 'corpus', 'falco', 'fixtures');
  const cases: [string, string[]][] = [
    ['exec_pod.json', ['a1b0ca4e-7835-413e-8471-3ff2b8a66be6']],
    ['create_nginx_pod_sensitive_mount.json', ['402b955c-8fe0-4a8c-b635-622b4ac5f902']],
    ['create_pod_kube_system_namespace.json', ['a80d927d-ac6e-443f-a867-e8d6e3897318']],
    ['create_clusterrolebinding.json', ['10b97915-ec8d-455f-a815-9a78926585f6']],
    ['delete_deployment.json', ['40967487-139b-4811-81d9-c9767a92aa5a']],
    ['create_serviceaccount.json', ['e31bae15-83ed-473e-bf31-faf4f8a17d36']],
    ['create_nginx_pod_privileged.json', []],
    ['create_nginx_pod_unprivileged.json', []],
    ['create_configmap.json', []],
  ];
  for (const [file, rules] of cases) {
    const events = loadJsonl(join(dir, file));
    assert.ok(events.length > 0, file);
    const fired = [...hitsByRule(runDetectors(set.detectors, events)).keys()].sort();
    assert.deepEqual(fired, [...rules].sort(), file);
  }
});

test('rules for other log sources are skipped and reported, not run', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'sigma-ls-'));
  writeFileSync(
    join(dir, 'win.yml'),
    'title: Windows thing\nid: w-1\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: \\cmd.exe\n  condition: sel\n',
  );
  writeFileSync(
    join(dir, 'k8s.yml'),
    'title: K8s\nid: k-1\nlogsource:\n  product: kubernetes\n  service: audit\ndetection:\n  sel:\n    verb: delete\n  condition: sel\n',
  );
  const set = loadSigmaRules([dir]);
  assert.deepEqual(
    set.detectors.map((d) => d.info.rule),
    ['k-1'],
  );
  assert.equal(set.skipped.length, 1);
  assert.equal(set.skipped[0]!.id, 'w-1');
  assert.match(set.skipped[0]!.reason, /not Kubernetes audit/);
  const hits = runDetectors(set.detectors, [auditEvent({ verb: 'delete' }), auditEvent({ verb: 'get' })]);
  assert.equal(hits.length, 1);
});
