import { test } from 'node:test';
import assert from 'node:assert/strict';
import { terminalSafe } from './terminal-safe.js';

test('escape sequences, BEL, C1 and bidi overrides are made visible', () => {
  assert.equal(terminalSafe('a\u001b[2Jb'), 'a\\x1b[2Jb');
  assert.equal(terminalSafe('x\u0007'), 'x\\x07');
  assert.equal(terminalSafe('\u009b31m'), '\\x9b31m');
  assert.equal(terminalSafe('evil\u202egpj.exe'), 'evil\\u{202e}gpj.exe');
  assert.equal(terminalSafe('l1\nl2'), 'l1\\nl2');
  assert.equal(terminalSafe('l1\nl2', true), 'l1\nl2');
  assert.equal(terminalSafe('system:serviceaccount:kube-system:ünïcode'), 'system:serviceaccount:kube-system:ünïcode');
});
