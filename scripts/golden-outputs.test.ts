// Byte-identical CLI outputs across refactors: every scenario of golden-outputs.ts against the
// file recorded in scripts/golden/. A deliberate behaviour change re-records them with
// `node dist/scripts/golden-outputs.js --write` and the diff shows in review.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { SCENARIOS, goldenPath, runScenario } from './golden-outputs.js';
import { needsShared } from '../src/util/repo-root.js';

for (const s of SCENARIOS) {
  const skip = s.needsCorpus === true ? needsShared('corpus', 'datasets') : false;
  test(`golden output: ${s.name}`, { skip }, () => {
    const path = goldenPath(s.name);
    assert.ok(existsSync(path), `${path} is missing; record it with node dist/scripts/golden-outputs.js --write`);
    const { text } = runScenario(s);
    const want = readFileSync(path, 'utf8');
    if (text !== want) {
      const a = text.split('\n');
      const b = want.split('\n');
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      assert.fail(
        `${s.name} differs from ${path} at line ${i + 1}:\n  got:  ${a[i] ?? '<end>'}\n  want: ${b[i] ?? '<end>'}`,
      );
    }
  });
}
