import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvCell, renderRows } from './output-rows.js';

test('csv neutralizes formulas and quotes separators', () => {
  assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.equal(csvCell(null), '');
  assert.equal(csvCell(401), '401');
});

test('json keeps column order and names as given', () => {
  const out = renderRows(['user.username', 'n'], [{ n: 2, 'user.username': 'bob', extra: 1 }], 'json');
  assert.deepEqual(JSON.parse(out), [{ 'user.username': 'bob', n: 2 }]);
  assert.equal(Object.keys(JSON.parse(out)[0]).join(','), 'user.username,n');
});

test('table escapes terminal control sequences from log values', () => {
  const out = renderRows(['u'], [{ u: 'evil\u001b]0;pwned\u0007' }], 'table');
  assert.ok(!out.includes('\u001b'));
  assert.ok(out.includes('\\x1b'));
});

test('csv: numbers and headers are not treated as formulas', () => {
  assert.equal(csvCell(-200), '-200');
  assert.equal(csvCell('-200'), "'-200");
  assert.equal(renderRows(['@timestamp'], [{ '@timestamp': 'x' }], 'csv'), '@timestamp\nx\n');
});

test('json: a column named __proto__ stays a column', () => {
  const rows = [Object.fromEntries([['__proto__', 'v']]) as Record<string, unknown>];
  assert.deepEqual(JSON.parse(renderRows(['__proto__'], rows, 'json')), [JSON.parse('{"__proto__":"v"}')]);
});

test('times without a zone are UTC', async () => {
  const { parseTimeArg } = await import('./args.js');
  assert.equal(parseTimeArg('--start', '2024-06-03T08:00:00').toISOString(), '2024-06-03T08:00:00.000Z');
  assert.equal(parseTimeArg('--start', '2024-06-03T08:00:00+02:00').toISOString(), '2024-06-03T06:00:00.000Z');
});
