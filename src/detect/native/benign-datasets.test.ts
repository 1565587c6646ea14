// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FindingAggregator } from '../../findings/aggregator.js';
import { nativeDetectors } from './index.js';
import { readJsonl, runAll, sharedPath } from './test-events.js';

const DATASETS = [
  ['audit2rbac', sharedPath('corpus', 'datasets', 'audit2rbac', 'demo.log'), 37],
  [
    'hkerma',
    sharedPath('corpus', 'datasets', 'hkerma-kubernetes-event-dataset', 'audit-logs.reconstructed.jsonl'),
    16_563,
  ],
] as const;

for (const [name, path, expectedEvents] of DATASETS) {
  test(`benign dataset ${name}: no native finding of Medium or higher`, () => {
    const events = readJsonl(path);
    assert.equal(events.length, expectedEvents, 'every line normalizes');
    const agg = new FindingAggregator();
    for (const d of runAll(nativeDetectors(), events)) agg.add(d);
    const findings = agg.findings();
    const mediumPlus = findings.filter((f) => f.severity.label !== 'LOW');
    assert.deepEqual(
      mediumPlus.map((f) => `${f.type} ${f.actor.username} ${f.resource.resource}`),
      [],
    );
    // README.md lists the Low findings that remain; the native catalogue has no Low type today.
    assert.equal(findings.length, 0);
  });
}

test('the hkerma dataset does contain anonymous health probes the exclusion must absorb', () => {
  const events = readJsonl(DATASETS[1][1]);
  const anonymousHealth = events.filter((e) => e.username === 'system:anonymous' && e.resource === null);
  assert.equal(anonymousHealth.length, 262);
});
