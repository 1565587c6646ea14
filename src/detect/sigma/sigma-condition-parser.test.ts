import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConditionNode, SigmaDetectionRule } from './sigma-ast.js';
import { parseCondition, selectorMatches } from './sigma-condition-parser.js';
import { createFieldMapping } from './sigma-field-mapping.js';
import { compileSigmaExpr } from './sigma-matcher-compiler.js';
import { parseSigmaText } from './sigma-rule-loader.js';
import { auditEvent } from './sigma-test-helpers.js';

/** Compact rendering of a condition tree: (a & b), (a | b), !a, 1of(p), allof(them). */
function show(n: ConditionNode | null): string {
  if (n === null) return 'null';
  switch (n.kind) {
    case 'identifier':
      return n.name;
    case 'selector':
      return `${n.quantifier === 'one' ? '1of' : 'allof'}(${n.pattern ?? 'them'})`;
    case 'not':
      return `!${show(n.operand)}`;
    case 'and':
      return `(${show(n.left)} & ${show(n.right)})`;
    case 'or':
      return `(${show(n.left)} | ${show(n.right)})`;
  }
}

test('precedence: or < and < not < x of < parentheses', () => {
  const cases: [string, string][] = [
    ['a or b and c', '(a | (b & c))'],
    ['a and b or c', '((a & b) | c)'],
    ['not a and b', '(!a & b)'],
    ['not (a and b)', '!(a & b)'],
    ['a and not b or not c', '((a & !b) | !c)'],
    ['a and b and c', '((a & b) & c)'],
    ['sel and not 1 of filter_*', '(sel & !1of(filter_*))'],
    ['all of sel* or 1 of them', '(allof(sel*) | 1of(them))'],
    ['any of x*', '1of(x*)'],
    ['not not a', '!!a'],
    ['((a))', 'a'],
    ['selection-with-dash and sel_2', '(selection-with-dash & sel_2)'],
  ];
  for (const [text, expected] of cases) {
    const r = parseCondition(text);
    assert.deepEqual(r.errors, [], text);
    assert.equal(show(r.value), expected, text);
  }
});

test('condition errors carry offset, length and a message', () => {
  const cases: [string, number, RegExp][] = [
    ['sel and', 7, /expected an identifier.*found end of condition/],
    ['sel or (a and b', 15, /expected '\)' to close the '\(' at column 8/],
    ['1 of', 4, /expected an identifier pattern or 'them' after 'of'/],
    ['all sel', 4, /expected 'of' after 'all'/],
    ['2 of sel*', 0, /only '1 of' and 'all of'/],
    ['sel*', 0, /wildcard identifier 'sel\*' needs '1 of' or 'all of'/],
    ['sel | count() by user > 5', 4, /Sigma 1.0 syntax; write a correlation rule/],
    ['sel sel2', 4, /expected 'and', 'or' or end of condition, found 'sel2'/],
    ['sel and $x', 8, /unexpected character '\$'/],
    ['sel AND x', 4, /expected 'and', 'or' or end of condition, found 'AND'/],
  ];
  for (const [text, offset, message] of cases) {
    const r = parseCondition(text);
    assert.equal(r.value, null, text);
    assert.ok(r.errors.length > 0, text);
    assert.equal(r.errors[0]!.offset, offset, text);
    assert.match(r.errors[0]!.message, message, text);
  }
});

test('selectors: full-match wildcards, `them` and patterns skip _-prefixed identifiers', () => {
  assert.equal(selectorMatches('sel*', 'selection'), true);
  assert.equal(selectorMatches('sel*', 'xsel'), false);
  assert.equal(selectorMatches('*_b', 'a_b'), true);
  assert.equal(selectorMatches('sel.x', 'selax'), false);
  assert.equal(selectorMatches(null, '_private'), false);
  assert.equal(selectorMatches('*', '_private'), false);
  assert.equal(selectorMatches('_p*', '_private'), true);
  assert.equal(selectorMatches(null, 'sel'), true);
});

const HEAD = 'title: t\nid: r\nlogsource:\n  product: kubernetes\n  service: audit\n';

function ruleOf(detection: string): {
  rule: SigmaDetectionRule | undefined;
  problems: ReturnType<typeof parseSigmaText>['problems'];
} {
  const parsed = parseSigmaText(HEAD + detection, 'cond.yml', createFieldMapping());
  return { rule: parsed.documents[0] as SigmaDetectionRule | undefined, problems: parsed.problems };
}

test('conditions evaluate: 1 of, all of, them, not, lists of conditions', () => {
  const sel =
    'detection:\n  sel_verb:\n    verb: delete\n  sel_res:\n    objectRef.resource: secrets\n  filter:\n    user.username|startswith: "system:"\n';
  const del = auditEvent({ verb: 'delete', objectRef: { resource: 'secrets', namespace: 'a' } });
  const delSys = auditEvent({
    verb: 'delete',
    objectRef: { resource: 'secrets', namespace: 'a' },
    user: { username: 'system:admin' },
  });
  const getSec = auditEvent({ verb: 'get', objectRef: { resource: 'secrets', namespace: 'a' } });
  const delPod = auditEvent({ verb: 'delete', objectRef: { resource: 'pods', namespace: 'a' } });
  const all = [del, delSys, getSec, delPod];
  const run = (condition: string): string[] => {
    const { rule, problems } = ruleOf(`${sel}  condition: ${condition}\n`);
    assert.deepEqual(
      problems.filter((p) => p.severity !== 'warning'),
      [],
      condition,
    );
    const m = compileSigmaExpr(rule!.expr);
    return all.filter((e) => m(e)).map((e) => all.indexOf(e).toString());
  };
  assert.deepEqual(run('all of sel_* and not filter'), ['0']);
  assert.deepEqual(run('1 of sel_* and not filter'), ['0', '2', '3']);
  assert.deepEqual(run('all of them'), ['1']);
  assert.deepEqual(run('1 of them'), ['0', '1', '2', '3']);
  assert.deepEqual(run('sel_verb and (sel_res or filter)'), ['0', '1']);
  assert.deepEqual(run('not sel_verb'), ['2']);
  assert.deepEqual(run('[sel_res and not sel_verb, filter]'), ['1', '2']);
});

test('condition errors are reported at their file line and column', () => {
  const { rule, problems } = ruleOf('detection:\n  selection:\n    verb: get\n  condition: selection and not filter\n');
  assert.equal(rule, undefined);
  assert.equal(problems.length, 1);
  const p = problems[0]!;
  assert.equal(p.file, 'cond.yml');
  assert.equal(p.line, 9);
  assert.equal(p.column, 32, 'column of `filter` in the file');
  assert.equal(p.length, 6);
  assert.equal(p.message, "condition: unknown search identifier 'filter'");
  const quoted = ruleOf("detection:\n  selection:\n    verb: get\n  condition: 'selection or'\n").problems[0]!;
  assert.equal(quoted.line, 9);
  assert.equal(quoted.column, 27);
  const pattern = ruleOf('detection:\n  selection:\n    verb: get\n  condition: 1 of filter*\n').problems[0]!;
  assert.equal(pattern.message, "condition: pattern 'filter*' matches no search identifier");
  assert.equal(pattern.column, 14);
});
