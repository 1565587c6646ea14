/**
 * Golden outputs: what the CLI prints for a fixed set of scans, queries and hunts, so a
 * refactor can prove that behaviour did not change. `node dist/scripts/golden-outputs.js
 * --write` records them into scripts/golden/; golden-outputs.test.ts runs every scenario again
 * and compares byte for byte. Run-dependent text (timings, rates, absolute paths, temp dirs) is
 * normalized; nothing else is.
 *
 * Usage: node dist/scripts/golden-outputs.js [--write] [--only NAME]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const GOLDEN_DIR = join(REPO_ROOT, 'scripts', 'golden');
const CORPUS = join(REPO_ROOT, '..', 'shared', 'corpus');
const DATASETS = join(CORPUS, 'datasets');

export interface GoldenScenario {
  readonly name: string;
  /** sleuth arguments; `<TMP>` is replaced by a fresh temporary directory. */
  readonly argv: readonly string[];
  /** Runs these first (same temporary directory), output ignored: builds a store. */
  readonly setup?: readonly (readonly string[])[];
  readonly needsCorpus?: boolean;
}

const INTEL = ['--tor-exits', 'examples/intel/tor-exit-nodes.txt', '--threat-feed', 'examples/intel/malicious-ips.txt'];
const ALL_PACKS = ['--falco-rules', 'builtin', '--sigma', 'builtin', ...INTEL];
const EXAMPLES_STORE = [
  'scan',
  'examples',
  '--db',
  '<TMP>/s.duckdb',
  ...ALL_PACKS,
  '--format',
  'jsonl',
  '--output',
  '<TMP>/f.jsonl',
];

export const SCENARIOS: readonly GoldenScenario[] = [
  { name: 'demo', argv: ['demo', '--db', '<TMP>/demo.duckdb'] },
  {
    name: 'scan-examples-all-packs',
    argv: ['scan', 'examples', '--db', ':memory:', ...ALL_PACKS, '--format', 'jsonl'],
  },
  {
    name: 'scan-examples-falco-all-match',
    argv: [
      'scan',
      'examples',
      '--no-store',
      '--no-native',
      '--falco-rules',
      'builtin',
      '--falco-match',
      'all',
      '--format',
      'jsonl',
    ],
  },
  {
    name: 'scan-examples-guardduty',
    argv: ['scan', 'examples', '--db', ':memory:', ...ALL_PACKS, '--format', 'guardduty'],
  },
  { name: 'scan-examples-asff', argv: ['scan', 'examples', '--db', ':memory:', ...INTEL, '--format', 'asff'] },
  { name: 'scan-examples-ocsf', argv: ['scan', 'examples', '--db', ':memory:', ...INTEL, '--format', 'ocsf'] },
  {
    name: 'scan-examples-table',
    argv: ['scan', 'examples/audit-sample.jsonl', '--db', ':memory:', ...INTEL, '--format', 'table'],
  },
  {
    name: 'scan-examples-workers',
    argv: ['scan', 'examples', '--no-store', ...ALL_PACKS, '--workers', '2', '--format', 'jsonl'],
  },
  {
    name: 'query-insights',
    setup: [EXAMPLES_STORE],
    argv: [
      'query',
      '--db',
      '<TMP>/s.duckdb',
      '--format',
      'json',
      'fields @timestamp, user.username, verb, objectRef.resource, responseStatus.code | filter verb in ["create","delete"] and responseStatus.code >= 200 | sort @timestamp asc | limit 40',
    ],
  },
  {
    name: 'query-insights-stats',
    setup: [EXAMPLES_STORE],
    argv: [
      'query',
      '--db',
      '<TMP>/s.duckdb',
      '--format',
      'csv',
      'stats count(*) as n, count_distinct(sourceIPs.0) as ips by bin(5m) as t, user.username | sort t asc, user.username asc | limit 30',
    ],
  },
  {
    name: 'query-sql-findings',
    setup: [EXAMPLES_STORE],
    argv: [
      'query',
      '--db',
      '<TMP>/s.duckdb',
      '--format',
      'jsonl',
      '--sql',
      'SELECT id, type, engine, count, first_seen, last_seen FROM findings ORDER BY id',
    ],
  },
  {
    name: 'hunt-sigma-builtin',
    setup: [EXAMPLES_STORE],
    argv: ['rules', 'hunt', '--db', '<TMP>/s.duckdb', '--sigma', 'builtin'],
  },
  { name: 'rules-list', argv: ['rules', 'list', '--falco-rules', 'builtin', '--sigma', 'builtin', '--format', 'json'] },
  {
    name: 'scan-dataset-hkerma',
    needsCorpus: true,
    argv: [
      'scan',
      join(DATASETS, 'hkerma-kubernetes-event-dataset', 'audit-logs.reconstructed.jsonl'),
      '--db',
      ':memory:',
      ...ALL_PACKS,
      '--format',
      'jsonl',
    ],
  },
  {
    name: 'scan-dataset-audit2rbac',
    needsCorpus: true,
    argv: ['scan', join(DATASETS, 'audit2rbac', 'demo.log'), '--db', ':memory:', ...ALL_PACKS, '--format', 'jsonl'],
  },
];

export function corpusAvailable(): boolean {
  return existsSync(DATASETS);
}

/** Text that changes from run to run, replaced by stable markers. */
function normalize(text: string, tmp: string): string {
  return text
    .replaceAll(tmp, '<TMP>')
    .replaceAll(REPO_ROOT.replace(/\/$/, ''), '<ROOT>')
    .replaceAll(CORPUS, '<CORPUS>')
    .replace(/^Time: .*$/gm, 'Time: <elapsed>');
}

export interface GoldenResult {
  readonly name: string;
  readonly text: string;
}

export function runScenario(s: GoldenScenario): GoldenResult {
  const tmp = mkdtempSync(join(tmpdir(), 'sleuth-golden-'));
  try {
    const sub = (args: readonly string[]): string[] => args.map((a) => a.replaceAll('<TMP>', tmp));
    const run = (args: readonly string[]) =>
      spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'sleuth.js'), ...sub(args)], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
        env: { ...process.env, NO_COLOR: '1', COLUMNS: '200' },
      });
    for (const pre of s.setup ?? []) {
      const r = run(pre);
      if (r.status !== 0) throw new Error(`golden ${s.name}: setup ${pre.join(' ')} exited ${r.status}: ${r.stderr}`);
    }
    const r = run(s.argv);
    const text = `# exit ${r.status}\n# stdout\n${normalize(r.stdout, tmp)}\n# stderr\n${normalize(r.stderr, tmp)}`;
    return { name: s.name, text };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function goldenPath(name: string): string {
  return join(GOLDEN_DIR, `${name}.txt`);
}

function main(): void {
  const args = process.argv.slice(2);
  const write = args.includes('--write');
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
  mkdirSync(GOLDEN_DIR, { recursive: true });
  let differ = 0;
  for (const s of SCENARIOS) {
    if (only !== undefined && s.name !== only) continue;
    if (s.needsCorpus === true && !corpusAvailable()) {
      console.error(`skip ${s.name}: ../shared/corpus is not beside this checkout`);
      continue;
    }
    const { text } = runScenario(s);
    const path = goldenPath(s.name);
    if (write) {
      writeFileSync(path, text);
      console.error(`wrote ${path} (${text.length} bytes)`);
    } else {
      const same = existsSync(path) && readFileSync(path, 'utf8') === text;
      if (!same) differ++;
      console.error(`${same ? 'same  ' : 'DIFFER'} ${s.name}`);
    }
  }
  if (differ > 0) process.exitCode = 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
