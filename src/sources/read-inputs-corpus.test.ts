// @needs-shared-corpus: reads ../shared/corpus (the runner skips this file when it is absent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '../model/audit-event.js';
import { normalizeRecord } from '../normalize/normalize.js';
import type { InputProblem } from '../model/raw-record.js';
import { readInputs } from './read-inputs.js';
import {
  FORMAT_FILES,
  type FormatName,
  corpusPath,
  corpusSampleLines,
  writeAllFormats,
} from './test-support/input-formats.js';

async function collect(paths: readonly string[]): Promise<{ events: AuditEvent[]; problems: InputProblem[] }> {
  const c = { events: [] as AuditEvent[], problems: [] as InputProblem[] };
  for await (const item of readInputs(paths)) {
    if (item.kind === 'progress') continue;
    if (item.kind === 'problem') {
      c.problems.push(item);
      continue;
    }
    const r = normalizeRecord(item);
    if (r.ok) c.events.push(r.event);
    else
      c.problems.push({
        kind: 'problem',
        file: item.origin.file,
        line: item.origin.line,
        problem: r.problem,
        reason: r.reason,
      });
  }
  return c;
}

test('real kube-apiserver lines (audit2rbac demo.log) read the same in every input format', async () => {
  const lines = corpusSampleLines(37);
  assert.equal(lines.length, 37);
  const expected = lines.map((l) => {
    const o = JSON.parse(l) as { auditID: string; stage: string };
    return `${o.auditID} ${o.stage}`;
  });
  const files = writeAllFormats(mkdtempSync(join(tmpdir(), 'sleuth-corpus-')), lines);
  for (const name of Object.keys(FORMAT_FILES) as FormatName[]) {
    const c = await collect([files[name]]);
    assert.deepEqual(c.problems, [], name);
    assert.deepEqual(
      c.events.map((e) => `${e.auditID} ${e.stage}`),
      expected,
      name,
    );
  }
});

test('every corpus dataset and Falco fixture reads without a crash', async () => {
  const datasets = await collect([corpusPath('datasets')]);
  const byFile = new Map<string, number>();
  for (const e of datasets.events) byFile.set(e.origin.file, (byFile.get(e.origin.file) ?? 0) + 1);
  assert.equal(byFile.get(corpusPath('datasets', 'audit2rbac', 'demo.log')), 37);
  assert.equal(
    byFile.get(corpusPath('datasets', 'hkerma-kubernetes-event-dataset', 'audit-logs.reconstructed.jsonl')),
    16563,
  );
  // README, LICENSE, policies: one unknown-format problem each, nothing else.
  assert.ok(datasets.problems.every((p) => p.problem === 'unknown-format' && p.line === 0));

  const fixturesDir = corpusPath('falco', 'fixtures');
  const fixtures = await collect([fixturesDir]);
  const names = readdirSync(fixturesDir).filter((n) => !n.startsWith('.'));
  const expectedEvents = names
    .filter((n) => n !== 'fal_01_003.json')
    .reduce(
      (sum, n) =>
        sum +
        readFileSync(join(fixturesDir, n), 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '').length,
      0,
    );
  assert.equal(fixtures.events.length, expectedEvents);
  assert.deepEqual(
    fixtures.problems.map((p) => `${p.file.slice(fixturesDir.length + 1)}:${p.line} ${p.problem}`),
    ['fal_01_003.json:1 not-audit-event'],
  );
});
