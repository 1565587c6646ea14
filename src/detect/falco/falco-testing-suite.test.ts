// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
/**
 * Acceptance: the 66 cases of falcosecurity/testing tests/k8saudit (k8saudit_test.go), as
 * data in expectations/testing-suite.json: fixture, rule files in load order, and assertions
 * on the total, per-priority and per-rule detection counts, with Falco's default first-match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Detection } from '../detector.js';
import { loadFalcoRulesSync } from './falco-loader.js';
import { parsePriority } from './falco-priority.js';
import { falcoCorpus, readAuditFixture } from './falco-test-support.js';

interface Assertion {
  readonly op: 'Equal' | 'NotZero' | 'Zero';
  readonly n?: number;
  readonly priority: string | null;
  readonly rule: string | null;
}
interface SuiteCase {
  readonly test: string;
  readonly fixture: string;
  readonly rules: readonly string[];
  readonly assert: readonly Assertion[];
  readonly stderr_contains: readonly string[];
}

const cases = JSON.parse(readFileSync(falcoCorpus('expectations', 'testing-suite.json'), 'utf8')) as SuiteCase[];

test('the suite has the 66 upstream cases', () => {
  assert.equal(cases.length, 66);
});

function run(c: SuiteCase, match: 'first' | 'all'): { detections: Detection[]; events: number } {
  const loaded = loadFalcoRulesSync(
    c.rules.map((r) => falcoCorpus(r)),
    { match },
  );
  const errors = loaded.problems.filter((p) => p.severity !== 'warning');
  assert.deepEqual(errors, [], `rules must load without errors`);
  assert.ok(loaded.pack !== null);
  const { events } = readAuditFixture(falcoCorpus(c.fixture));
  const detections: Detection[] = [];
  for (const e of events) loaded.pack.evaluate(e, (d) => detections.push(d));
  return { detections, events: events.length };
}

for (const c of cases) {
  test(`${c.test} (first-match)`, () => {
    const { detections } = run(c, 'first');
    for (const a of c.assert) {
      let selected = detections;
      if (a.rule !== null) selected = selected.filter((d) => d.info.rule === a.rule);
      if (a.priority !== null) {
        const p = parsePriority(a.priority);
        assert.ok(p !== null, `known priority ${a.priority}`);
        selected = selected.filter((d) => d.priority === p.name);
      }
      const label = `${a.op} rule=${a.rule ?? '*'} priority=${a.priority ?? '*'}; got ${detections.map((d) => d.info.rule).join(', ') || 'nothing'}`;
      if (a.op === 'Equal') assert.equal(selected.length, a.n, label);
      else if (a.op === 'NotZero') assert.notEqual(selected.length, 0, label);
      else assert.equal(selected.length, 0, label);
    }
    // First-match: at most one alert per event.
    assert.ok(detections.length <= Math.max(1, new Set(detections.map((d) => d.event)).size));
  });
}

test('fal_01_003 is not an audit event: zero events, zero detections', () => {
  const c = cases.find((x) => x.fixture.endsWith('fal_01_003.json'));
  assert.ok(c !== undefined);
  const fx = readAuditFixture(falcoCorpus(c.fixture));
  assert.equal(fx.events.length, 0);
  assert.equal(fx.rejected.length, 1);
  assert.equal(run(c, 'first').detections.length, 0);
});

test('all-match mode fires every matching rule (anonymous namespace creation)', () => {
  const c = cases.find((x) => x.test === 'TestK8SAudit_Legacy_AnonymousUser');
  assert.ok(c !== undefined);
  const names = run(c, 'all').detections.map((d) => d.info.rule);
  assert.deepEqual(names, ['Anonymous Request Allowed', 'Create Disallowed Namespace', 'K8s Namespace Created']);
  assert.deepEqual(
    run(c, 'first').detections.map((d) => d.info.rule),
    ['Anonymous Request Allowed'],
  );
});

test('every case: the first-match total is the number of events any rule matches, each with the first rule in file order', () => {
  let total = 0;
  for (const c of cases) {
    const first = run(c, 'first').detections;
    const all = run(c, 'all').detections;
    const expected: string[] = [];
    const seen = new Set<unknown>();
    for (const d of all) {
      if (seen.has(d.event)) continue;
      seen.add(d.event);
      expected.push(`${d.event.auditID}:${d.info.rule}:${d.priority ?? ''}`);
    }
    assert.deepEqual(
      first.map((d) => `${d.event.auditID}:${d.info.rule}:${d.priority ?? ''}`),
      expected,
      c.test,
    );
    total += first.length;
  }
  // The suite must produce alerts for its NotZero assertions to mean anything.
  const notZero = cases.filter((c) =>
    c.assert.some((a) => a.op === 'NotZero' && a.rule === null && a.priority === null),
  ).length;
  assert.ok(
    notZero >= 40 && total >= notZero,
    `total first-match detections over the suite: ${total}, NotZero cases: ${notZero}`,
  );
});
