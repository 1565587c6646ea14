// Every command's --help: exit 0, text on stdout, nothing on stderr, and every option the
// command accepts is mentioned (and every option mentioned is accepted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from './main.js';
import { captureIo } from './cli-test-io.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test');
    dir = up;
  }
  return dir;
}

const SCAN = [
  '--db',
  '--no-store',
  '--cluster',
  '--no-native',
  '--falco-rules',
  '--falco-match',
  '--sigma',
  '--sigma-mapping',
  '--intel',
  '--threat-feed',
  '--tor-exits',
  '--suppress',
  '--format',
  '--output',
  '--show-suppressed',
  '--workers',
  '--aws-account-id',
  '--aws-region',
  '--aws-partition',
  '--quiet',
  '--help',
];
const QUERY = ['--db', '--file', '--start', '--end', '--since', '--format', '--sql', '--explain', '--help'];
const RULES = ['--falco-rules', '--sigma', '--format', '--db', '--sigma-mapping', '--all-stages'];
const DEMO = ['--db', '--help'];

// argv → the options its help must mention; the rules subcommands share one help text.
const COMMANDS: readonly (readonly [readonly string[], readonly string[]])[] = [
  [['scan'], SCAN],
  [['query'], QUERY],
  [['rules'], RULES],
  [['rules', 'list'], RULES],
  [['rules', 'lint'], RULES],
  [['rules', 'hunt'], RULES],
  [['demo'], DEMO],
];

const optionsIn = (text: string): string[] => [...new Set(text.match(/(?<![\w-])--[a-z][a-z-]*/g) ?? [])].sort();

for (const [argv, options] of COMMANDS) {
  for (const flag of ['--help', '-h']) {
    test(`sleuth ${argv.join(' ')} ${flag} exits 0 and names every option`, async () => {
      const io = captureIo();
      const code = await main([...argv, flag], io);
      assert.equal(code, 0);
      assert.equal(io.err(), '');
      const help = io.out();
      assert.match(help, new RegExp(`^Usage: sleuth ${argv[0]!}`));
      for (const o of options) assert.ok(help.includes(o), `${argv.join(' ')} --help mentions ${o}`);
      // Nothing is mentioned that the list above (and so this test) does not know about.
      assert.deepEqual(
        optionsIn(help).filter((o) => !options.includes(o)),
        [],
      );
    });
  }
}

test('every option a help text names is one its command parses', async () => {
  const cases: string[][] = [
    ...SCAN.filter((o) => o !== '--help').map((o) => ['scan', o]),
    ...QUERY.filter((o) => o !== '--help').map((o) => ['query', o]),
    ['rules', 'list', '--falco-rules'],
    ['rules', 'list', '--sigma'],
    ['rules', 'list', '--format'],
    ['rules', 'lint', '--sigma-mapping'],
    ['rules', 'hunt', '--sigma'],
    ['rules', 'hunt', '--db'],
    ['rules', 'hunt', '--sigma-mapping'],
    ['rules', 'hunt', '--all-stages'],
    ['rules', 'hunt', '--format'],
    ['demo', '--db'],
  ];
  for (const argv of cases) {
    // Alone, each option is a usage error (a missing value or missing PATH/QUERY), never an
    // unknown option; and no command runs far enough to touch a store.
    const io = captureIo();
    const code = await main(argv, io);
    assert.equal(code, 2, `${argv.join(' ')}: ${io.err()}`);
    assert.doesNotMatch(io.err(), /unknown option/i, argv.join(' '));
    assert.doesNotMatch(io.err(), /internal error|\n\s+at /, argv.join(' '));
  }
});

test('sleuth --help lists every command; the process exits 0 with help on stdout', () => {
  const bin = join(repoRoot(), 'bin', 'sleuth.js');
  const top = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  assert.equal(top.status, 0);
  for (const c of ['scan', 'query', 'rules', 'demo']) assert.match(top.stdout, new RegExp(`^  ${c} `, 'm'));
  for (const c of ['scan', 'query', 'rules', 'demo']) {
    const r = spawnSync(process.execPath, [bin, c, '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${c} --help: ${r.stderr}`);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, new RegExp(`^Usage: sleuth ${c}`));
  }
});
