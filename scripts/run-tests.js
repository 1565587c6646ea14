#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with Node's built-in test runner.
// Usage: node scripts/run-tests.js [substring-filter…]
//
// Test files marked `@needs-shared-corpus` read ../shared (Falco's and SigmaHQ's corpora, real
// datasets) beside the checkout. CI always has it; on a checkout without it those files are
// skipped, and the runner says which, so the suite still runs on the project's own data.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(dist);
let chosen = files.filter((f) => filters.length === 0 || filters.some((s) => relative(dist, f).includes(s))).sort();
const corpus = existsSync(join(root, '..', 'shared', 'corpus'));
if (!corpus) {
  const needs = chosen.filter((f) => readFileSync(f, 'utf8').includes('@needs-shared-corpus'));
  if (needs.length > 0) {
    console.error(
      `notice: ../shared/corpus is not beside this checkout; skipping ${needs.length} test file(s) that read it:`,
    );
    for (const f of needs) console.error(`  ${relative(dist, f)}`);
    chosen = chosen.filter((f) => !needs.includes(f));
  }
}
if (chosen.length === 0) {
  console.error('no test files found under dist/ (did the build run?)');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...chosen], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
