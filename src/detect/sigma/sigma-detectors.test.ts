// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
/**
 * Loader, filters, lint and indexing: what `--sigma PATH` and `sleuth rules lint` rely on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblem } from '../../model/errors.js';
import { deriveIndex, lintSigmaRules, loadSigmaRules, mitreFromTags, severityOfLevel } from './sigma-detectors.js';
import { createFieldMapping } from './sigma-field-mapping.js';
import { parseSigmaText } from './sigma-rule-loader.js';
import type { SigmaDetectionRule } from './sigma-ast.js';
import { SIGMAHQ_RULES, auditEvent, runDetectors } from './sigma-test-helpers.js';

function tempRules(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sigma-rules-'));
  for (const [name, text] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, text);
  }
  return dir;
}

const RULE = (id: string, extra = ''): string =>
  `title: Secret read ${id}\nid: ${id}\nlogsource:\n  product: kubernetes\n  service: audit\ndetection:\n  sel:\n    verb: get\n    objectRef.resource: secrets\n  condition: sel\nlevel: high\n${extra}`;

test('filters (type filter documents) apply as `rule and not filter` to the rules they name', () => {
  const dir = tempRules({
    'rules/secret.yml': RULE('sec-1') + 'name: secret_read\n',
    'rules/other.yml': RULE('sec-2'),
    'filters/mf_ignore_ci.yml':
      'title: Ignore CI\nid: f-1\nlogsource:\n  product: kubernetes\n  service: audit\nfilter:\n  rules:\n    - secret_read\n  selection:\n    user.username|startswith: "system:serviceaccount:ci:"\n  condition: not selection\n',
  });
  // Filter condition here is `not selection`: the rule keeps only CI events (filter removes the rest).
  const set = loadSigmaRules([dir]);
  assert.deepEqual(
    set.problems.filter((p) => p.severity !== 'warning'),
    [],
  );
  const ci = auditEvent({
    verb: 'get',
    objectRef: { resource: 'secrets', namespace: 'a' },
    user: { username: 'system:serviceaccount:ci:builder' },
  });
  const human = auditEvent({
    verb: 'get',
    objectRef: { resource: 'secrets', namespace: 'a' },
    user: { username: 'alice' },
  });
  const fired = runDetectors(set.detectors, [ci, human]).map((d) => `${d.info.rule}:${d.event.username ?? ''}`);
  assert.deepEqual(fired.sort(), [
    'sec-1:system:serviceaccount:ci:builder',
    'sec-2:alice',
    'sec-2:system:serviceaccount:ci:builder',
  ]);
});

test('a filter for a rule that is not loaded is a warning', () => {
  const dir = tempRules({
    'f.yml':
      'title: F\nid: f-2\nlogsource: {product: kubernetes}\nfilter:\n  rules: [missing-rule]\n  selection: {verb: get}\n  condition: selection\n',
  });
  const set = loadSigmaRules([dir]);
  assert.equal(set.problems.length, 1);
  assert.equal(set.problems[0]!.severity, 'warning');
  assert.match(set.problems[0]!.message, /filter names rule 'missing-rule', which is not loaded/);
});

test('lint reports every problem of every file with file, line and column, and keeps loading the rest', () => {
  const dir = tempRules({
    'a-good.yml': RULE('good-1'),
    'b-bad-modifier.yml': `title: Bad\nid: bad-1\nlogsource: {product: kubernetes, service: audit}\ndetection:\n  sel:\n    verb|startswith|wat: get\n  condition: sel\n`,
    'c-bad-yaml.yml': 'title: [unclosed\nid: y\n',
    'd-missing.yml': 'title: No detection\nid: nd\nlogsource: {product: kubernetes, service: audit}\n',
    'e-unused.yml': `title: Unused\nid: un-1\nlogsource: {product: kubernetes, service: audit}\ndetection:\n  sel:\n    verb: get\n  other:\n    verb: list\n  condition: sel\n`,
    'f-never.yml': `title: Never\nid: nv-1\nlogsource: {product: kubernetes, service: audit}\ndetection:\n  sel:\n    responseStatus.code: Forbidden\n    verb: get\n  condition: sel\n`,
    'g-dup.yml': RULE('good-1').replace('level: high', 'level: low'),
    'h-copy.yml': RULE('good-1'),
    'notes.txt': 'not a rule',
  });
  const problems = lintSigmaRules([dir]).map((p) =>
    formatProblem({ ...p, file: (p.file ?? '').slice(dir.length + 1) }),
  );
  assert.deepEqual(problems, [
    "b-bad-modifier.yml:6:5 [bad-1]: error: verb|startswith|wat: unknown modifier 'wat'",
    'c-bad-yaml.yml:2:1: error: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    "d-missing.yml:1:1 [nd]: error: missing mandatory 'detection'",
    "e-unused.yml:7:3 [un-1]: warning: search identifier 'other' is not used by the condition",
    "f-never.yml:6:5 [nv-1]: warning: rule can never match real audit events: responseStatus.code is an integer in audit events (e.g. the HTTP status 200, 403), so 'Forbidden' never matches (the authorization decision is annotations.authorization.k8s.io/decision: allow|forbid)",
    "g-dup.yml:1:1 [good-1]: error: duplicate rule id 'good-1' (also in " +
      join(dir, 'a-good.yml') +
      '); this one is ignored',
    // The same file twice (a pack and the checkout it came from) runs once: only a warning.
    'h-copy.yml:1:1 [good-1]: warning: same rule as ' + join(dir, 'a-good.yml') + ' (identical file); loaded once',
  ]);
  const set = loadSigmaRules([dir]);
  assert.deepEqual(set.detectors.map((d) => d.info.rule).sort(), ['good-1', 'nv-1', 'un-1']);
});

test('lint on the SigmaHQ rules: the known defects are warnings with reasons', () => {
  const problems = lintSigmaRules([SIGMAHQ_RULES()]);
  assert.ok(problems.every((p) => p.severity === 'warning'));
  const never = problems.filter((p) => p.message.startsWith('rule can never match'));
  assert.deepEqual(
    never.map((p) => p.rule),
    ['597a7e84-187d-458b-9e4f-2f5a0e676711'],
  );
  const replace = problems.filter((p) => p.message.includes("'replace' is not a Kubernetes audit verb"));
  assert.equal(replace.length, 4);
  const caps = problems.filter((p) =>
    p.message.includes('containers with securityContext.privileged: true are not matched'),
  );
  assert.deepEqual(
    caps.map((p) => p.rule),
    ['c5cd1b20-36bb-488d-8c05-486be3d0cb97'],
  );
  const bodies = problems.filter((p) => p.message.includes('only logs at audit level'));
  assert.deepEqual(bodies.map((p) => p.rule).sort(), [
    '402b955c-8fe0-4a8c-b635-622b4ac5f902',
    'c5cd1b20-36bb-488d-8c05-486be3d0cb97',
  ]);
});

test('unsupported features are rejected with a clear error', () => {
  const problems = (detection: string): string[] =>
    parseSigmaText(
      `title: t\nid: u\nlogsource: {product: kubernetes, service: audit}\ndetection:\n${detection}`,
      'u.yml',
      createFieldMapping(),
    ).problems.map((p) => p.message);
  assert.deepEqual(problems('  sel:\n    verb: get\n  timeframe: 5m\n  condition: sel\n'), [
    "'timeframe' is Sigma 1.0 aggregation syntax; use a correlation rule's timespan",
  ]);
  assert.deepEqual(problems('  sel:\n    verb|expand: "%admins%"\n  condition: sel\n'), [
    "verb|expand: modifier 'expand' is not supported: placeholders (%name%) have no values in EKS Sleuth; a tool that cannot resolve them must reject the rule",
  ]);
  assert.deepEqual(problems('  sel:\n    - verb: get\n    - list\n  condition: sel\n'), [
    'a search identifier list must hold only maps or only keyword values',
  ]);
  assert.deepEqual(problems('  sel:\n    verb: get\n  condition: sel | count() > 3\n'), [
    "condition: aggregation expressions ('| count() by …') are Sigma 1.0 syntax; write a correlation rule instead",
  ]);
});

test('index derivation from the detection', () => {
  const rule = (sel: string, cond = 'sel'): SigmaDetectionRule =>
    parseSigmaText(
      `title: t\nid: i\nlogsource: {product: kubernetes, service: audit}\ndetection:\n${sel}\n  condition: ${cond}\n`,
      'i.yml',
      createFieldMapping(),
    ).documents[0] as SigmaDetectionRule;
  assert.deepEqual(deriveIndex(rule('  sel:\n    verb: create\n    resource: pods').expr), {
    verbs: ['create'],
    resources: ['pods'],
  });
  assert.deepEqual(deriveIndex(rule('  sel:\n    verb|startswith: cre').expr), {});
  assert.deepEqual(deriveIndex(rule('  sel:\n    verb: create\n  other:\n    verb: delete', 'sel or other').expr), {
    verbs: ['create', 'delete'],
  });
  assert.deepEqual(deriveIndex(rule('  sel:\n    verb: create\n  other:\n    userAgent: x', 'sel or other').expr), {});
  assert.deepEqual(deriveIndex(rule('  sel:\n    verb: create', 'not sel').expr), {});
  assert.deepEqual(
    deriveIndex(rule('  sel:\n    verb: [create, get]\n  other:\n    verb: get', 'sel and other').expr),
    { verbs: ['get'] },
  );
});

test('severity and MITRE mapping', () => {
  assert.equal(severityOfLevel('informational').label, 'LOW');
  assert.equal(severityOfLevel('low').label, 'LOW');
  assert.equal(severityOfLevel('medium').label, 'MEDIUM');
  assert.equal(severityOfLevel('high').label, 'HIGH');
  assert.equal(severityOfLevel('critical').label, 'CRITICAL');
  assert.equal(severityOfLevel(undefined).label, 'LOW');
  assert.deepEqual(mitreFromTags(['attack.credential-access', 'attack.t1552.007', 'attack.t1552']), {
    tactic: 'Credential Access',
    technique: 'T1552.007',
  });
  assert.deepEqual(mitreFromTags(['cve.2024-1234']), null);
  assert.deepEqual(mitreFromTags(['attack.t1609']), { tactic: '', technique: 'T1609' });
});
