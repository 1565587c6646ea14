// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
/**
 * Cross-check against reference/falco/tests.md §C: every fixture against the newest
 * k8s_audit_rules.yaml alone, in first-match and all-match modes. Those columns are an
 * independent reading of the Falco code (not Falco runs), so this is a regression guard for
 * both match modes rather than upstream ground truth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFalcoRulesSync } from './falco-loader.js';
import { falcoCorpus, readAuditFixture, repoRoot } from './falco-test-support.js';

const md = readFileSync(join(repoRoot(), '..', 'shared', 'reference', 'falco', 'tests.md'), 'utf8');
const rows = md
  .slice(md.indexOf('## C.'))
  .split('\n')
  .filter((l) => /^\| [a-z_0-9-]+\.json \|/.test(l))
  .map((l) => l.split('|').map((c) => c.trim()));
const dash = (s: string) => (s === '—' ? '' : s);

test('the matrix covers the 47 fixtures', () => {
  assert.equal(rows.length, 47);
});

const rules = [falcoCorpus('rules', 'k8s_audit_rules.yaml')];
const first = loadFalcoRulesSync(rules, { match: 'first' }).pack!;
const all = loadFalcoRulesSync(rules, { match: 'all' }).pack!;

for (const [, fixture, , , expFirst, expAll] of rows) {
  test(`${fixture}: first-match and all-match`, () => {
    const f: string[] = [];
    const a: string[] = [];
    for (const e of readAuditFixture(falcoCorpus('fixtures', fixture!)).events) {
      first.evaluate(e, (d) => f.push(d.info.rule));
      all.evaluate(e, (d) => a.push(d.info.rule));
    }
    const firstText = f.length > 1 && new Set(f).size === 1 ? `${f[0]}×${f.length}` : f.join(', ');
    assert.equal(firstText, dash(expFirst!));
    assert.equal([...new Set(a)].join(', '), dash(expAll!));
  });
}
