// The layer rule (scripts/layers.js) through ESLint itself: the tree as it is passes, and an
// upward import added to a file fails with a message that names both layers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { LAYERS, layerViolation } from './layers.js';
import { repoRoot } from '../src/util/repo-root.js';

const root = repoRoot();
const eslint = new ESLint({ cwd: root });

async function layerMessages(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'sleuth/layers').map((m) => m.message);
}

test('an upward import fails the lint: store/ importing query/', async () => {
  const messages = await layerMessages(
    'src/store/duckdb/duckdb-store.ts',
    "import { runInsightsQuery } from '../../query/insights-query.js';\nexport const x = runInsightsQuery;\n",
  );
  assert.equal(messages.length, 1);
  assert.match(messages[0]!, /store\/ must not import query\//);
});

test('upward imports fail in every form: export-from, dynamic import', async () => {
  const messages = await layerMessages(
    'src/model/finding.ts',
    "export { runScan } from '../pipeline/scan-pipeline.js';\nexport const m = () => import('../cli/main.js');\n",
  );
  assert.equal(messages.length, 2);
});

test('downward and same-folder imports pass; tests may reach across', async () => {
  assert.deepEqual(
    await layerMessages('src/query/q.ts', "import { FIELD_CATALOG } from '../model/field-catalog.js';\n"),
    [],
  );
  assert.deepEqual(
    await layerMessages('src/store/q.test.ts', "import { runInsightsQuery } from '../query/insights-query.js';\n"),
    [],
  );
});

test('findings must not import the native catalogue although detect/ is below it', () => {
  const v = layerViolation(root, join(root, 'src/findings/formats/asff-format.ts'), '../../detect/native/catalog.js');
  assert.match(v ?? '', /detector info/);
  assert.equal(layerViolation(root, join(root, 'src/findings/aggregator.ts'), '../detect/detector.js'), null);
});

test('a folder missing from the table is reported, not silently allowed', () => {
  assert.match(
    layerViolation(root, join(root, 'src/newthing/a.ts'), '../model/finding.js') ?? '',
    /not in the layer table/,
  );
  assert.ok(LAYERS.includes('pipeline') && LAYERS.indexOf('store') < LAYERS.indexOf('query'));
});

test('the whole tree passes the layer rule today', async () => {
  const results = await eslint.lintFiles(['src/**/*.ts']);
  const bad = results.flatMap((r) =>
    r.messages.filter((m) => m.ruleId === 'sleuth/layers').map((m) => `${r.filePath}: ${m.message}`),
  );
  assert.deepEqual(bad, []);
});
