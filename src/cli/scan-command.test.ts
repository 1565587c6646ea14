import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.js';
import { captureIo } from './cli-test-io.js';
import { EXAMPLES_DIR } from './paths.js';
import { writeAllFormats, type FormatName } from '../sources/test-support/input-formats.js';

const SAMPLE = join(EXAMPLES_DIR, 'audit-sample.jsonl');
const INTEL = [
  '--tor-exits',
  join(EXAMPLES_DIR, 'intel', 'tor-exit-nodes.txt'),
  '--threat-feed',
  join(EXAMPLES_DIR, 'intel', 'malicious-ips.txt'),
];

interface Row {
  id: string;
  type: string;
  count: number;
  evidence: { auditID: string }[];
}

async function scan(args: string[]): Promise<{ code: number; findings: Row[]; err: string; out: string }> {
  const io = captureIo();
  const code = await main(['scan', ...args], io);
  const out = io.out();
  const findings = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Row);
  return { code, findings, err: io.err(), out };
}

function essence(fs: readonly Row[]): string[] {
  return fs.map((f) => `${f.id} ${f.type} ${f.count} ${f.evidence.map((e) => e.auditID).join(',')}`).sort();
}

test('the same events in every input format store the same count and give the same findings', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-formats-'));
  const lines = readFileSync(SAMPLE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const files = writeAllFormats(dir, lines);
  const base = await scan([
    files.jsonl,
    '--db',
    join(dir, 'jsonl.duckdb'),
    '--cluster',
    'c1',
    '--format',
    'jsonl',
    ...INTEL,
    '--falco-rules',
    'builtin',
    '--sigma',
    'builtin',
  ]);
  assert.equal(base.code, 0, base.err);
  assert.match(base.err, new RegExp(`${lines.length.toLocaleString('en-US')} new events`));
  const types = new Set(base.findings.map((f) => f.type));
  for (const t of [
    'Execution:Kubernetes/ExecInKubeSystemPod',
    'Policy:Kubernetes/AdminAccessToDefaultServiceAccount',
    'PrivilegeEscalation:Kubernetes/PrivilegedContainer',
    'CredentialAccess:Kubernetes/TorIPCaller',
    'Discovery:Kubernetes/SuccessfulAnonymousAccess',
  ]) {
    assert.ok(types.has(t), `expected ${t} among ${[...types].join(', ')}`);
  }
  for (const name of Object.keys(files) as FormatName[]) {
    if (name === 'jsonl') continue;
    const r = await scan([
      files[name],
      '--db',
      join(dir, `${name}.duckdb`),
      '--cluster',
      'c1',
      '--format',
      'jsonl',
      ...INTEL,
      '--falco-rules',
      'builtin',
      '--sigma',
      'builtin',
    ]);
    assert.equal(r.code, 0, `${name}: ${r.err}`);
    assert.match(r.err, new RegExp(`${lines.length.toLocaleString('en-US')} new events`), name);
    assert.deepEqual(essence(r.findings), essence(base.findings), name);
  }
});

test('scanning the same file twice stores nothing new and gives the same findings', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-twice-'));
  const db = join(dir, 'x.duckdb');
  const first = await scan([SAMPLE, '--db', db, '--format', 'jsonl']);
  const second = await scan([SAMPLE, '--db', db, '--format', 'jsonl']);
  assert.equal(second.code, 0);
  assert.match(second.err, /Stored: 0 new events/);
  assert.match(second.err, /2,026 duplicates/);
  assert.deepEqual(essence(second.findings), essence(first.findings));
});

test('bad input is reported as file:line: reason and the good events beside it are kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-bad-'));
  const good = readFileSync(SAMPLE, 'utf8').split('\n').slice(0, 3);
  const file = join(dir, 'mixed.log');
  writeFileSync(
    file,
    [
      good[0],
      '{"kind":"Event", broken',
      good[1],
      '{"hello":"world"}',
      good[2],
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x","stage":"ResponseComplete","verb":"get","responseStatus":{"code":"two hundred"}}',
    ].join('\n') + '\n',
  );
  const empty = join(dir, 'empty.log');
  writeFileSync(empty, '');
  const r = await scan([file, empty, '--db', ':memory:', '--format', 'jsonl']);
  assert.equal(r.code, 0);
  assert.match(r.err, /3 events read/);
  assert.ok(r.err.includes(`${file}:2: `), r.err);
  assert.ok(r.err.includes(`${file}:4: `), r.err);
  assert.ok(r.err.includes(`${file}:6: `), r.err);
  assert.match(r.err, /malformed-json 1/);
  assert.match(r.err, /not-audit-event 1/);
  assert.match(r.err, /bad-field-type 1/);
  assert.match(r.err, /empty-file 1/);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
});

test('exit codes: 2 for usage errors and for nothing readable, 0 when the scan ran', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-exit-'));
  const junk = join(dir, 'junk.bin');
  writeFileSync(junk, Buffer.from([0, 1, 2, 3, 255, 254, 0, 0, 7, 8]));
  assert.equal((await scan([])).code, 2);
  assert.equal((await scan([SAMPLE, '--bogus'])).code, 2);
  assert.equal((await scan([SAMPLE, '--format', 'xml'])).code, 2);
  assert.equal((await scan([SAMPLE, '--falco-match', 'some'])).code, 2);
  const missing = await scan([join(dir, 'nope.log'), '--db', ':memory:']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /nope\.log/);
  const binary = await scan([junk, '--db', ':memory:']);
  assert.equal(binary.code, 2);
  assert.match(binary.err, /binary/);
  assert.equal((await scan([SAMPLE, '--db', ':memory:', '--format', 'jsonl'])).code, 0);
});

test('stdin (-) is read like a file', async () => {
  const text = readFileSync(SAMPLE, 'utf8');
  const io = captureIo({ stdin: text });
  const code = await main(['scan', '-', '--db', ':memory:', '--format', 'jsonl'], io);
  assert.equal(code, 0, io.err());
  assert.match(io.err(), /2,026 events read/);
});

test('table output escapes control characters that come from logs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-tty-'));
  const line = readFileSync(SAMPLE, 'utf8')
    .split('\n')
    .find(
      (l) =>
        l.includes('"resource":"clusterrolebindings"') &&
        l.includes('"verb":"create"') &&
        l.includes('default-sa-cluster-admin'),
    )!;
  const ev = JSON.parse(line) as { objectRef: { name?: string }; user: { username: string } };
  ev.objectRef.name = 'x\u001b[2Jy';
  ev.user.username = 'ops\u001b]0;owned\u0007';
  const file = join(dir, 'evil.log');
  writeFileSync(file, JSON.stringify(ev) + '\n');
  const io = captureIo({ tty: true });
  const code = await main(['scan', file, '--db', ':memory:'], io);
  assert.equal(code, 0, io.err());
  assert.ok(!io.out().includes('\u001b'), 'no raw ESC reaches the terminal');
  assert.match(io.out(), /x\\x1b\[2Jy/);
});

test('output details: trailing newline, --output checked before scanning, no empty database left, AWS options', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-out-'));
  const r = await scan([SAMPLE, '--db', ':memory:', '--format', 'jsonl', ...INTEL]);
  assert.ok(r.out.endsWith('}\n'));
  const bad = await scan([SAMPLE, '--db', ':memory:', '--output', join(dir, 'missing-dir', 'x.json')]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /cannot write --output/);
  assert.doesNotMatch(bad.err, /Scanned/, 'nothing scanned before the check');
  const db = join(dir, 'never.duckdb');
  const empty = join(dir, 'empty.log');
  writeFileSync(empty, '');
  assert.equal((await scan([empty, '--db', db])).code, 2);
  assert.equal(existsSync(db), false, 'no empty database left behind');
  const asff = await scan([
    SAMPLE,
    '--db',
    ':memory:',
    '--format',
    'asff',
    '--aws-account-id',
    '123456789012',
    '--aws-region',
    'eu-west-1',
    ...INTEL,
  ]);
  const body = JSON.parse(asff.out.split('\n')[0]!) as {
    Findings: { AwsAccountId: string; ProductArn: string; Resources: { Region: string }[] }[];
  };
  assert.ok(body.Findings.length > 0);
  for (const f of body.Findings) {
    assert.equal(f.AwsAccountId, '123456789012');
    assert.match(f.ProductArn, /^arn:aws:securityhub:eu-west-1:/);
    assert.equal(f.Resources[0]!.Region, 'eu-west-1');
  }
  assert.equal((await scan([SAMPLE, '--db', ':memory:', '--aws-region', 'mars'])).code, 2);
});
