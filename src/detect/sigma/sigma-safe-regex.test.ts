import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SigmaDetectionRule } from './sigma-ast.js';
import { buildSigmaRuleSet } from './sigma-detectors.js';
import { createFieldMapping } from './sigma-field-mapping.js';
import { parseSigmaText } from './sigma-rule-loader.js';
import { foldCase, linearRegexAvailable, prepareRuleRegex } from './sigma-safe-regex.js';
import { auditEvent, runDetectors } from './sigma-test-helpers.js';

test('foldCase writes |i into the pattern: letters, classes and ranges; escapes and counts untouched', () => {
  assert.equal(foldCase('ab1'), '[aA][bB]1');
  assert.equal(foldCase('[a-c_]x'), '[a-c_A-C][xX]');
  assert.equal(foldCase('[^A-Zq]'), '[^A-Zqa-zQ]');
  assert.equal(foldCase('\\x41\\d{2,3}\\.(?:s|t)'), '\\x41\\d{2,3}\\.(?:[sS]|[tT])');
  assert.equal(foldCase('[\\w-]'), '[\\w-]');
  assert.equal(foldCase('[à-ÿ]'), null, 'non-ASCII letter range is refused, not guessed');
});

test('folded patterns match exactly what the i flag matches', () => {
  const patterns = ['kube-?system', '^/API/v1/[a-z]+$', '[^A-Z]+', 'Exec\\?command=(SH|bash)', '\\bToken\\b', 'x{2}Y'];
  const inputs = [
    'KUBE-SYSTEM',
    'kubesystem',
    '/api/V1/Pods',
    '/api/v1/pods/1',
    'abc',
    'ABC',
    'exec?COMMAND=sh',
    'a token b',
    'XXy',
    'xY',
  ];
  for (const p of patterns) {
    const folded = new RegExp(foldCase(p)!);
    const native = new RegExp(p, 'i');
    for (const s of inputs) assert.equal(folded.test(s), native.test(s), `${p} on ${s}`);
  }
});

test(
  'regexes the linear engine cannot run are refused at load with the reason',
  { skip: !linearRegexAvailable() },
  () => {
    const r = prepareRuleRegex('(a)\\1', { ignoreCase: false, multiline: false, dotAll: false });
    assert.ok('error' in r);
    const ok = prepareRuleRegex('^/api/v1/.*exec', { ignoreCase: true, multiline: true, dotAll: false });
    assert.deepEqual(ok, { source: '^/[aA][pP][iI]/[vV]1/.*[eE][xX][eE][cC]', flags: 'm' });
  },
);

const HEAD = 'title: t\nid: rx\nlogsource: {product: kubernetes, service: audit}\n';

test('rule regexes cannot hang on a long adversarial log value', { timeout: 20_000 }, () => {
  const text = `${HEAD}detection:\n  a:\n    requestURI|re: 'a.*a.*a.*a.*b'\n  b:\n    userAgent|re|i: '^(a|aa)*$'\n  condition: a or b\n`;
  const parsed = parseSigmaText(text, 'rx.yml', createFieldMapping());
  assert.deepEqual(parsed.problems, []);
  const set = buildSigmaRuleSet(parsed.documents as SigmaDetectionRule[], createFieldMapping());
  // 60,000 'a' then '!': a backtracking engine needs ~n^4 steps for the first regex and
  // exponential time for the second; both must answer in well under a second.
  const hostile = 'a'.repeat(60_000) + '!';
  const started = Date.now();
  const hits = runDetectors(set.detectors, [auditEvent({ requestURI: hostile, userAgent: hostile })]);
  const elapsed = Date.now() - started;
  assert.equal(hits.length, 0);
  assert.ok(elapsed < 5_000, `took ${elapsed} ms`);
  // The same rule still matches what it should.
  assert.equal(runDetectors(set.detectors, [auditEvent({ requestURI: '/x/aaaab' })]).length, 1);
  assert.equal(runDetectors(set.detectors, [auditEvent({ userAgent: 'AAAA' })]).length, 1);
});
