import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySuppression, parseSuppressionRules, wildcardMatch } from './suppression.js';
import { sampleFindings } from './test-findings.js';

const findings = sampleFindings();
const PRIV = 'PrivilegeEscalation:Kubernetes/PrivilegedContainer';
const EXEC = 'Execution:Kubernetes/ExecInKubeSystemPod';
const CUSTOM = 'CredentialAccess:Kubernetes/MaliciousIPCaller.Custom';

function suppressedBy(yaml: string): Record<string, string | undefined> {
  const r = parseSuppressionRules(yaml);
  assert.deepEqual(r.errors, []);
  const out: Record<string, string | undefined> = {};
  for (const f of applySuppression(findings, r.value)) out[f.type] = f.suppressedBy;
  return out;
}

test('sample has the three findings the suppression tests use', () => {
  assert.deepEqual(findings.map((f) => f.type).sort(), [CUSTOM, EXEC, PRIV].sort());
});

test('GuardDuty field names with eq, prefix and imagePrefix; findings are kept and marked', () => {
  const yaml = `
rules:
  - name: argocd-privileged
    criteria:
      type: { eq: ["${PRIV}"] }
      resource.kubernetesDetails.kubernetesWorkloadDetails.containers.imagePrefix: { eq: [public.ecr.aws/amazonlinux] }
      resource.kubernetesDetails.kubernetesUserDetails.username: { prefix: "system:serviceaccount:argocd:" }
`;
  const r = parseSuppressionRules(yaml);
  const out = applySuppression(findings, r.value);
  assert.equal(out.length, findings.length, 'nothing is dropped');
  const priv = out.find((f) => f.type === PRIV)!;
  assert.equal(priv.suppressed, true);
  assert.equal(priv.suppressedBy, 'argocd-privileged');
  assert.equal(out.filter((f) => f.suppressed === true).length, 1);
});

test('GuardDuty findingCriteria form, equals/notEquals and remote IP', () => {
  const yaml = `
- name: office-ips
  action: ARCHIVE
  findingCriteria:
    criterion:
      service.action.kubernetesApiCallAction.remoteIpDetails.ipAddressV4: { equals: ["198.51.100.4"] }
      type: { notEquals: ["${EXEC}"] }
`;
  assert.deepEqual(suppressedBy(yaml), { [PRIV]: undefined, [EXEC]: undefined, [CUSTOM]: 'office-ips' });
});

test('severity by label, by GuardDuty integer bucket, and by comparison', () => {
  assert.equal(suppressedBy(`- name: highs\n  criteria:\n    severity: { eq: [HIGH] }\n`)[CUSTOM], 'highs');
  assert.equal(suppressedBy(`- name: highs\n  criteria:\n    severity: { eq: [high] }\n`)[EXEC], undefined);
  const buckets = suppressedBy(`- name: mediums\n  criteria:\n    severity: { eq: ["4", "5", "6"] }\n`);
  assert.deepEqual(buckets, { [PRIV]: 'mediums', [EXEC]: 'mediums', [CUSTOM]: undefined });
  assert.deepEqual(suppressedBy(`- name: below-7\n  criteria:\n    severity: { lt: 7 }\n`), {
    [PRIV]: 'below-7',
    [EXEC]: 'below-7',
    [CUSTOM]: undefined,
  });
  assert.deepEqual(suppressedBy(`- name: gte-8\n  criteria:\n    severity: { gte: 8 }\n`), {
    [PRIV]: undefined,
    [EXEC]: undefined,
    [CUSTOM]: 'gte-8',
  });
});

test('short names, native paths, counts and timestamps', () => {
  assert.equal(
    suppressedBy(`- name: by-ns\n  criteria:\n    namespace: { eq: [kube-system] }\n    count: { gte: 2 }\n`)[EXEC],
    'by-ns',
  );
  assert.equal(
    suppressedBy(`- name: by-ns\n  criteria:\n    namespace: { eq: [kube-system] }\n    count: { gt: 2 }\n`)[EXEC],
    undefined,
  );
  assert.equal(
    suppressedBy(
      `- name: by-arn\n  criteria:\n    actor.iamArn: { matches: ["arn:aws:iam::*:role/Admin"] }\n    rule: { eq: [exec-in-kube-system-pod] }\n`,
    )[EXEC],
    'by-arn',
  );
  assert.equal(suppressedBy(`- name: list\n  criteria:\n    threatListName: { eq: [acme-list] }\n`)[CUSTOM], 'list');
  assert.equal(
    suppressedBy(`- name: late\n  criteria:\n    service.eventLastSeen: { greaterThan: 1714557600000 }\n`)[CUSTOM],
    'late',
    'after 2024-05-01T10:00Z',
  );
  assert.equal(
    suppressedBy(`- name: late\n  criteria:\n    service.eventLastSeen: { greaterThan: "2024-05-01T11:00:00Z" }\n`)[
      CUSTOM
    ],
    undefined,
  );
  assert.equal(
    suppressedBy(`- name: groups\n  criteria:\n    groups: { eq: ["system:serviceaccounts:argocd"] }\n`)[PRIV],
    'groups',
  );
});

test('parse errors carry line numbers; bad rules are reported, not half-applied', () => {
  const yaml = [
    'rules:',
    '  - name: ok-rule',
    '    criteria:',
    '      type: { eq: [x] }',
    '  - name: x',
    '    criteria:',
    '      type: { eq: [x] }',
    '  - name: bad-field',
    '    criteria:',
    '      nosuch.field: { eq: [x] }',
    '  - name: bad-op',
    '    criteria:',
    '      type: { like: [x] }',
    '  - name: bad-num',
    '    criteria:',
    '      severity: { gt: high }',
  ].join('\n');
  const r = parseSuppressionRules(yaml, 's.yaml');
  assert.deepEqual(
    r.value.map((x) => x.name),
    ['ok-rule'],
  );
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.message]),
    [
      [5, 'rule name must be 3 to 64 characters of letters, digits, ".", "_" or "-"'],
      [10, 'unknown field "nosuch.field"'],
      [9, 'rule "bad-field" has no valid criteria (it would suppress everything)'],
      [13, 'unknown operator "like" (use eq, neq, prefix, gt, gte, lt, lte, matches, notMatches)'],
      [12, 'rule "bad-op" has no valid criteria (it would suppress everything)'],
      [16, 'gt takes one number or timestamp'],
      [15, 'rule "bad-num" has no valid criteria (it would suppress everything)'],
    ],
  );
  const syntax = parseSuppressionRules('rules:\n  - name: a\n   bad: [', 'y.yaml');
  assert.ok(syntax.errors.length > 0);
  assert.ok(syntax.errors[0]!.line >= 2);
});

test('a rule with a bad name still has its criteria checked: one run reports every problem', () => {
  const r = parseSuppressionRules(
    ['rules:', '  - name: x', '    criteria:', '      imagePrefx: { eq: [a] }', '      type: { between: [x] }'].join(
      '\n',
    ),
    's.yaml',
  );
  assert.deepEqual(r.value, []);
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.message]),
    [
      [2, 'rule name must be 3 to 64 characters of letters, digits, ".", "_" or "-"'],
      [4, 'unknown field "imagePrefx"'],
      [5, 'unknown operator "between" (use eq, neq, prefix, gt, gte, lt, lte, matches, notMatches)'],
      [3, 'rule "x" has no valid criteria (it would suppress everything)'],
    ],
  );
  // A bad name with good criteria is still not applied.
  assert.deepEqual(
    parseSuppressionRules('rules:\n  - name: x\n    criteria:\n      type: { eq: [x] }\n', 's.yaml').value,
    [],
  );
});

test('wildcard matching is linear and correct', () => {
  assert.equal(wildcardMatch('system:serviceaccount:ci:runner', 'system:serviceaccount:ci:*'), true);
  assert.equal(wildcardMatch('abc', 'a?c'), true);
  assert.equal(wildcardMatch('abc', 'a?d'), false);
  assert.equal(wildcardMatch('a'.repeat(20000), '*a*a*a*a*a*b'), false);
});

test('booleans and GuardDuty filter spellings hostPid/hostIpc', () => {
  const yaml = `- name: priv-no-hostpid
  criteria:
    resource.kubernetesDetails.kubernetesWorkloadDetails.containers.securityContext.privileged: { eq: [true] }
    resource.kubernetesDetails.kubernetesWorkloadDetails.hostPid: { eq: [false] }
`;
  assert.deepEqual(suppressedBy(yaml), { [PRIV]: 'priv-no-hostpid', [EXEC]: undefined, [CUSTOM]: undefined });
  const hostPidTrue = `- name: hostpid\n  criteria:\n    resource.kubernetesDetails.kubernetesWorkloadDetails.hostPid: { eq: [true] }\n`;
  assert.equal(suppressedBy(hostPidTrue)[PRIV], undefined);
});
