import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeNativeRules, NATIVE_RULES } from './catalog.js';
import { nativeDetectors } from './index.js';
import { threatIntelFromLists } from '../intel/threat-intel.js';
import { parseThreatList } from '../intel/threat-list.js';
import { API_TACTIC_CRITERIA } from './criteria.js';

test('27 types: 20 API-caller, 5 single-rule active, 2 retired; ids and types unique', () => {
  const rules = describeNativeRules();
  assert.equal(rules.length, 27);
  assert.equal(new Set(rules.map((r) => r.type)).size, 27);
  assert.equal(new Set(NATIVE_RULES.map((r) => r.rule)).size, 27);
  assert.equal(NATIVE_RULES.filter((r) => r.retired === true).length, 2);
  assert.equal(rules.filter((r) => /IPCaller|AnonymousAccess$/.test(r.type)).length, 20);
  for (const r of NATIVE_RULES) {
    assert.match(r.technique, /^T\d{4}(\.\d{3})?$/, r.type);
    assert.ok(r.title.length > 10 && r.description.length > 40 && r.remediation.length > 40, r.type);
  }
  assert.deepEqual(
    rules.find((r) => r.type === 'Policy:Kubernetes/AdminAccessToDefaultServiceAccount'),
    {
      type: 'Policy:Kubernetes/AdminAccessToDefaultServiceAccount',
      severity: 'HIGH',
      tactic: 'Privilege Escalation',
      technique: 'T1098.006',
      title: 'Default service account bound to an admin role',
      needs: 'Request or RequestResponse audit level for RBAC (the binding body)',
    },
  );
});

test('with all threat lists every catalogue type has exactly one detector, each with an index', () => {
  const list = (kind: 'malicious' | 'custom' | 'tor') => parseThreatList('192.0.2.1\n', { file: kind, kind }).value;
  const ds = nativeDetectors({ intel: threatIntelFromLists([list('malicious'), list('custom'), list('tor')]) });
  assert.deepEqual(ds.map((d) => d.info.type).sort(), NATIVE_RULES.map((r) => r.type).sort());
  for (const d of ds)
    assert.ok(d.index.verbs !== undefined && d.index.verbs.length > 0, `${d.info.type} indexes verbs`);
});

test('every criteria entry says why', () => {
  for (const [tactic, list] of Object.entries(API_TACTIC_CRITERIA))
    for (const c of list) assert.ok(c.why.length > 20, tactic);
});

test('README.md documents every type', async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { repoRoot } = await import('./test-events.js');
  const readme = readFileSync(join(repoRoot(), 'src', 'detect', 'native', 'README.md'), 'utf8');
  for (const r of NATIVE_RULES) assert.ok(readme.includes('`' + r.type + '`'), r.type);
});
