import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FindingAggregator, findingId } from './aggregator.js';
import type { DetectorInfo } from '../detect/detector.js';
import { severityFromLabel } from '../model/finding.js';
import { event } from '../detect/native/test-events.js';

const INFO: DetectorInfo = {
  type: 'Execution:Kubernetes/ExecInKubeSystemPod',
  engine: 'native',
  rule: 'exec-in-kube-system-pod',
  title: 'Exec in kube-system pod',
  description: 'd',
  severity: severityFromLabel('MEDIUM'),
  mitre: { tactic: 'Execution', technique: 'T1609' },
};

function exec(time: string, ip = '203.0.113.10', name = 'coredns-1') {
  return event({
    verb: 'create',
    resource: 'pods',
    subresource: 'exec',
    namespace: 'kube-system',
    name,
    time,
    sourceIPs: [ip],
  });
}

test('repeats of the same actor and object fold into one finding with count, first/last seen', () => {
  const agg = new FindingAggregator();
  agg.add({ info: INFO, event: exec('2024-05-01T10:00:02Z', '198.51.100.2') });
  agg.add({ info: INFO, event: exec('2024-05-01T10:00:00Z', '198.51.100.1') });
  agg.add({ info: INFO, event: exec('2024-05-01T10:00:05Z', '198.51.100.3'), details: { n: 3 } });
  const fs = agg.findings();
  assert.equal(fs.length, 1);
  const f = fs[0]!;
  assert.equal(f.count, 3);
  assert.equal(f.firstSeen, '2024-05-01T10:00:00.000Z');
  assert.equal(f.lastSeen, '2024-05-01T10:00:05.000Z');
  assert.deepEqual(f.details, { n: 3 });
  assert.deepEqual(f.actor.sourceIPs, ['198.51.100.2', '198.51.100.1', '198.51.100.3']);
  assert.equal(f.actor.iamArn, 'arn:aws:iam::111122223333:role/Admin');
  assert.equal(f.actor.uid, 'aws-iam-authenticator:111122223333:AROAEXAMPLEID');
  assert.deepEqual(f.resource, {
    apiGroup: null,
    resource: 'pods',
    subresource: 'exec',
    namespace: 'kube-system',
    name: 'coredns-1',
  });
  assert.equal(f.evidence.length, 3);
  assert.deepEqual(
    f.evidence.map((x) => x.time),
    ['2024-05-01T10:00:00.000Z', '2024-05-01T10:00:02.000Z', '2024-05-01T10:00:05.000Z'],
  );
  assert.match(f.id, /^[0-9a-f]{32}$/);
  assert.equal(f.engine, 'native');
  assert.deepEqual(f.mitre, { tactic: 'Execution', technique: 'T1609' });
});

test('id is stable and depends on type, rule, cluster and group key', () => {
  const a = new FindingAggregator();
  const b = new FindingAggregator();
  a.add({ info: INFO, event: exec('2024-05-01T10:00:00Z') });
  b.add({ info: INFO, event: exec('2024-05-02T11:00:00Z', '192.0.2.99') });
  assert.equal(a.findings()[0]!.id, b.findings()[0]!.id);
  assert.notEqual(findingId('t', 'r', 'c1', 'k'), findingId('t', 'r', 'c2', 'k'));
  assert.notEqual(findingId('t', 'r', 'c', 'k1'), findingId('t', 'r', 'c', 'k2'));
});

test('different objects and explicit group keys give different findings', () => {
  const agg = new FindingAggregator();
  agg.add({ info: INFO, event: exec('2024-05-01T10:00:00Z', '1.1.1.1', 'a') });
  agg.add({ info: INFO, event: exec('2024-05-01T10:00:00Z', '1.1.1.1', 'b') });
  agg.add({ info: INFO, event: exec('2024-05-01T10:00:00Z', '1.1.1.1', 'c'), groupKey: 'same' });
  agg.add({ info: INFO, event: exec('2024-05-01T10:00:00Z', '1.1.1.1', 'd'), groupKey: 'same' });
  assert.equal(agg.size, 3);
  const grouped = agg.findings().find((f) => f.count === 2)!;
  assert.equal(grouped.resource.name, 'd', 'latest details win');
});

test('evidence is capped at 10 keeping the first and the latest, count is not capped', () => {
  const agg = new FindingAggregator();
  for (let i = 0; i < 25; i++) {
    const t = new Date(Date.UTC(2024, 4, 1, 10, 0, i)).toISOString();
    agg.add({ info: INFO, event: exec(t, `10.0.0.${i}`) });
  }
  const f = agg.findings()[0]!;
  assert.equal(f.count, 25);
  assert.equal(f.evidence.length, 10);
  const secs = f.evidence.map((x) => Number(x.time.slice(17, 19)));
  assert.deepEqual(secs, [0, 1, 2, 3, 4, 20, 21, 22, 23, 24]);
  assert.equal(f.actor.sourceIPs.length, 20);
});

test('evidence keeps the earliest and latest by event time whatever the input order', () => {
  // 40 occurrences in a scrambled order (a permutation: 7 is coprime with 40).
  const order = Array.from({ length: 40 }, (_, i) => (i * 7 + 13) % 40);
  const agg = new FindingAggregator();
  for (const sec of order)
    agg.add({ info: INFO, event: exec(new Date(Date.UTC(2024, 4, 1, 10, 0, sec)).toISOString()) });
  const f = agg.findings()[0]!;
  assert.equal(f.count, 40);
  assert.deepEqual(
    f.evidence.map((x) => Number(x.time.slice(17, 19))),
    [0, 1, 2, 3, 4, 35, 36, 37, 38, 39],
  );
  assert.equal(f.firstSeen, '2024-05-01T10:00:00.000Z');
  assert.equal(f.lastSeen, '2024-05-01T10:00:39.000Z');
  // Fewer occurrences than the cap: every one, once, in time order.
  const few = new FindingAggregator();
  for (const sec of [7, 3, 9, 1, 5, 2, 8])
    few.add({ info: INFO, event: exec(new Date(Date.UTC(2024, 4, 1, 10, 0, sec)).toISOString()) });
  assert.deepEqual(
    few.findings()[0]!.evidence.map((x) => Number(x.time.slice(17, 19))),
    [1, 2, 3, 5, 7, 8, 9],
  );
});

test('severity is the worst occurrence; overrides of title apply from the latest', () => {
  const agg = new FindingAggregator();
  agg.add({ info: INFO, event: exec('2024-05-01T10:00:00Z'), severity: severityFromLabel('HIGH') });
  agg.add({ info: INFO, event: exec('2024-05-01T10:00:01Z'), title: 'later' });
  const f = agg.findings()[0]!;
  assert.equal(f.severity.label, 'HIGH');
  assert.equal(f.title, 'later');
});

test('number of findings is bounded and drops are counted', () => {
  const agg = new FindingAggregator({ maxFindings: 2 });
  for (const n of ['a', 'b', 'c', 'c', 'd', 'a'])
    agg.add({ info: INFO, event: exec('2024-05-01T10:00:00Z', '1.1.1.1', n) });
  assert.equal(agg.size, 2);
  assert.equal(agg.dropped, 3);
  assert.equal(agg.droppedFindings, 2);
  assert.equal(agg.findings().find((f) => f.resource.name === 'a')!.count, 2);
});

test('related events are added to evidence', () => {
  const agg = new FindingAggregator();
  const r1 = exec('2024-05-01T09:59:00Z');
  agg.add({ info: INFO, event: exec('2024-05-01T10:00:00Z'), related: [r1] });
  const f = agg.findings()[0]!;
  assert.equal(f.count, 1);
  assert.deepEqual(
    f.evidence.map((x) => x.auditID),
    [r1.auditID, f.evidence[1]!.auditID],
  );
  assert.equal(f.evidence.length, 2);
});
