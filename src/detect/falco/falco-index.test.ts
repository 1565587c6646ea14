/**
 * The (verb, resource) index is sound (it never hides a match: the indexed pack and the same
 * rules forced to always-run give identical detections, rule for rule, in both match modes) and
 * real (on the shipped k8s_audit_rules.yaml it skips most rule evaluations).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { AuditEvent } from '../../model/audit-event.js';
import { alwaysRunPack } from './falco-bench.js';
import { loadFalcoRulesFromText, loadFalcoRulesSync } from './falco-loader.js';
import type { FalcoRulePack } from './falco-pack.js';
import { auditEvent, repoRoot } from './falco-test-support.js';

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'impersonate'];
const RESOURCES = [
  'pods',
  'secrets',
  'configmaps',
  'clusterrolebindings',
  'rolebindings',
  'namespaces',
  'serviceaccounts',
  'nodes',
  'leases',
  '',
];

function rng(seed: number): () => number {
  let a = seed;
  return () => (a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 4294967296;
}

function randomEvents(rand: () => number, n: number): AuditEvent[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const resource = pick(RESOURCES);
    const user = pick(['alice', 'system:anonymous', 'system:serviceaccount:kube-system:x', 'kubernetes-admin']);
    return auditEvent({
      auditID: `e${i}`,
      verb: pick(VERBS),
      user: { username: user, groups: ['system:authenticated'] },
      requestURI: `/api/v1/namespaces/${pick(['default', 'kube-system'])}/${resource}`,
      objectRef:
        resource === ''
          ? { namespace: 'default', name: 'x' }
          : { resource, namespace: pick(['default', 'kube-system']), name: `n${i % 5}` },
      responseStatus: { metadata: {}, code: pick([200, 201, 403]) },
      ...(resource === 'pods'
        ? {
            requestObject: {
              spec: {
                containers: [
                  { name: 'c', image: pick(['nginx', 'busybox']), securityContext: { privileged: rand() < 0.5 } },
                ],
              },
            },
          }
        : {}),
    });
  });
}

function detections(pack: FalcoRulePack, events: readonly AuditEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) pack.evaluate(e, (d) => out.push(`${e.auditID}:${d.info.rule}`));
  return out;
}

test('the index never changes the result: random rules over verbs/resources, and/or/not/in/macros', () => {
  const rand = rng(0xfa1c0);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const some = (xs: readonly string[]): string =>
    [...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(xs)))]
      .map((x) => (x === '' ? '""' : x))
      .join(', ');
  const atom = (depth: number): string => {
    const r = rand();
    if (depth > 2 || r < 0.45) {
      return pick([
        () => `ka.verb = ${pick(VERBS)}`,
        () => `ka.verb in (${some(VERBS)})`,
        () => `ka.target.resource in (${some(RESOURCES)})`,
        () => `ka.target.resource = ${pick(RESOURCES.filter((x) => x !== ''))}`,
        () => `ka.verb intersects (${some(VERBS)})`,
        () => `ka.target.resource != ${pick(RESOURCES.filter((x) => x !== ''))}`,
        () => `ka.user.name startswith system`,
        () => `ka.response.code = 403`,
        () => `ka.req.pod.containers.privileged intersects (true)`,
        () => 'mverb',
        () => 'mres',
      ])();
    }
    if (r < 0.7) return `(${atom(depth + 1)} and ${atom(depth + 1)})`;
    if (r < 0.9) return `(${atom(depth + 1)} or ${atom(depth + 1)})`;
    return `not ${atom(depth + 1)}`;
  };
  const events = randomEvents(rand, 600);
  let rulesTried = 0;
  let indexed = 0;
  for (let round = 0; round < 25; round++) {
    let text = `- macro: mverb\n  condition: ka.verb in (${some(VERBS)})\n- macro: mres\n  condition: (ka.target.resource = ${pick(RESOURCES.filter((x) => x !== ''))} or ka.verb = ${pick(VERBS)})\n`;
    for (let i = 0; i < 12; i++)
      text += `- rule: R${i}\n  desc: d\n  condition: ${atom(0)}\n  output: "%ka.verb %ka.target.resource"\n  priority: INFO\n  source: k8s_audit\n`;
    for (const match of ['first', 'all'] as const) {
      const r = loadFalcoRulesFromText([{ name: `r${round}.yaml`, text }], { match });
      assert.deepEqual(r.problems, [], text);
      const pack = r.pack!;
      rulesTried += pack.detectors.length;
      indexed += pack.detectors.filter((d) => d.index.verbs !== undefined || d.index.resources !== undefined).length;
      assert.deepEqual(detections(pack, events), detections(alwaysRunPack(pack), events), text);
    }
  }
  // The generator must exercise the index, not only always-run rules.
  assert.ok(indexed > rulesTried / 3, `${indexed} of ${rulesTried} rules indexed`);
});

test('the shipped k8s_audit_rules.yaml: same detections with and without the index, far fewer evaluations', () => {
  const loaded = loadFalcoRulesSync([join(repoRoot(), 'rules', 'falco', 'k8s_audit_rules.yaml')], { match: 'first' });
  assert.ok(loaded.pack !== null);
  const pack = loaded.pack;
  const plain = alwaysRunPack(pack);
  const events = randomEvents(rng(7), 2000);
  const a = detections(pack, events);
  const b = detections(plain, events);
  assert.deepEqual(a, b);
  assert.ok(a.length > 100, `the events must trigger rules (${a.length})`);
  // Every rule of that file names its verbs or resources except a few catch-alls.
  assert.ok(
    loaded.stats.unindexed < loaded.stats.activeRules / 4,
    `${loaded.stats.unindexed} unindexed of ${loaded.stats.activeRules}`,
  );
  assert.ok(
    pack.ruleEvaluations * 3 < plain.ruleEvaluations,
    `indexed ${pack.ruleEvaluations} vs always-run ${plain.ruleEvaluations}`,
  );
  // A get of a lease can only reach rules that do not constrain the verb to writes.
  const names = pack.candidates('get', 'leases').map((d) => d.info.rule);
  assert.ok(!names.includes('Create Privileged Pod') && !names.includes('K8s Secret Deleted'), names.join(', '));
  assert.ok(pack.candidates('create', 'pods').some((d) => d.info.rule === 'Create Privileged Pod'));
});
