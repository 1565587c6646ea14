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
