/**
 * `sleuth rules hunt` against `sleuth scan`: the same Sigma rules over the same data give the
 * same hits, per rule, with the same id, title, severity and MITRE mapping, for single-event
 * rules and correlations (event_count, value_count, temporal_ordered). And `rules lint`
 * reports skipped log sources, unsupported modifiers and never-matching values in one run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.js';
import { captureIo } from './cli-test-io.js';
import { EXAMPLES_DIR } from './paths.js';

interface ScanFinding {
  rule: string;
  title: string;
  count: number;
  severity: { label: string };
  mitre: { tactic: string; technique: string } | null;
}
interface HuntRow {
  rule: string;
  title: string;
  severity: string;
  tactic: string | null;
  technique: string | null;
  auditID: string;
  stage: string;
  user: string | null;
  measure: number | null;
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(args, io);
  return { code, out: io.out(), err: io.err() };
}

const jsonl = <T>(out: string): T[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as T);

/** Scan then hunt the same file; per-rule counts and metadata from both. */
async function scanAndHunt(
  file: string,
  extra: string[] = [],
): Promise<{ scan: Map<string, number>; hunt: Map<string, number>; rows: HuntRow[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-hunt-'));
  const db = join(dir, 's.duckdb');
  const s = await run(['scan', file, '--db', db, '--no-native', '--sigma', 'builtin', '--format', 'jsonl', ...extra]);
  assert.equal(s.code, 0, s.err);
  const findings = jsonl<ScanFinding>(s.out);
  const h = await run(['rules', 'hunt', '--db', db, '--sigma', 'builtin', '--format', 'jsonl']);
  assert.equal(h.code, 0, h.err);
  const rows = jsonl<HuntRow>(h.out);
  const scan = new Map<string, number>();
  const meta = new Map<string, string>();
  for (const f of findings) {
    scan.set(f.rule, (scan.get(f.rule) ?? 0) + f.count);
    meta.set(f.rule, JSON.stringify([f.title, f.severity.label, f.mitre?.tactic ?? null, f.mitre?.technique ?? null]));
  }
  const hunt = new Map<string, number>();
  for (const r of rows) {
    hunt.set(r.rule, (hunt.get(r.rule) ?? 0) + 1);
    assert.equal(
      JSON.stringify([r.title, r.severity, r.tactic, r.technique]),
      meta.get(r.rule),
      `metadata of ${r.rule}`,
    );
  }
  assert.deepEqual([...hunt].sort(), [...scan].sort(), 'hunt hits per rule = scan detections per rule');
  return { scan, hunt, rows };
}

test('rules hunt equals scan on examples/audit-sample.jsonl (multi-stage requests counted once)', async () => {
  const { hunt, rows } = await scanAndHunt(join(EXAMPLES_DIR, 'audit-sample.jsonl'));
  assert.equal(
    hunt.get('a1b0ca4e-7835-413e-8471-3ff2b8a66be6'),
    1,
    'exec into a container: one request, logged in two stages',
  );
  assert.equal(hunt.get('3f343dbe-565a-44e2-9d04-43dca9267e6f'), 101, 'value_count namespace sweep');
  const exec = rows.find((r) => r.rule === 'a1b0ca4e-7835-413e-8471-3ff2b8a66be6')!;
  assert.deepEqual(
    [exec.title, exec.severity, exec.tactic, exec.technique, exec.stage, exec.user],
    [
      'Potential Remote Command Execution In Pod Container',
      'MEDIUM',
      'Execution',
      'T1609',
      'ResponseComplete',
      'ops-deploy',
    ],
  );
});

function event(i: number, at: string, over: Record<string, unknown>): string {
  return JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `corr-${i}`,
    stage: 'ResponseComplete',
    requestURI: '/api/v1/secrets',
    verb: 'list',
    user: { username: 'mallory', groups: ['system:authenticated'] },
    sourceIPs: ['198.51.100.9'],
    userAgent: 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819',
    objectRef: { resource: 'secrets', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: at,
    stageTimestamp: at,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
    ...over,
  });
}

test('rules hunt equals scan for correlations: forbidden-list burst, RBAC change then exec', async () => {
  const lines: string[] = [];
  let i = 0;
  const t = (sec: number): string => new Date(Date.parse('2024-05-01T12:00:00Z') + sec * 1000).toISOString();
  // 24 forbidden lists by mallory in 4 minutes (> 20 in 5 minutes from the 21st on) …
  for (let k = 0; k < 24; k++) {
    lines.push(
      event(++i, t(k * 10), {
        responseStatus: { metadata: {}, status: 'Failure', code: 403 },
        annotations: { 'authorization.k8s.io/decision': 'forbid' },
      }),
    );
  }
  // … and 20 by bob spread over an hour (never more than 20 in 5 minutes).
  for (let k = 0; k < 20; k++) {
    lines.push(event(++i, t(k * 180), { user: { username: 'bob' }, responseStatus: { metadata: {}, code: 403 } }));
  }
  // mallory binds a role, then execs 6 minutes later; the exec request is logged in two stages.
  lines.push(
    event(++i, t(600), {
      verb: 'create',
      requestURI: '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings',
      objectRef: { resource: 'rolebindings', apiGroup: 'rbac.authorization.k8s.io', namespace: 'default', name: 'x' },
      responseStatus: { metadata: {}, code: 201 },
    }),
  );
  const exec = {
    verb: 'create',
    requestURI: '/api/v1/namespaces/default/pods/web/exec?command=sh',
    objectRef: { resource: 'pods', subresource: 'exec', namespace: 'default', name: 'web', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 101 },
  };
  lines.push(event(++i, t(960), { ...exec, stage: 'ResponseStarted' }));
  lines.push(event(i, t(960), exec));
  // bob execs without a binding change: no temporal hit for bob.
  lines.push(event(i + 1, t(970), { ...exec, user: { username: 'bob' } }));
  lines.sort((a, b) =>
    (JSON.parse(a) as { stageTimestamp: string }).stageTimestamp.localeCompare(
      (JSON.parse(b) as { stageTimestamp: string }).stageTimestamp,
    ),
  );
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-corr-'));
  const file = join(dir, 'corr.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  const { hunt, rows } = await scanAndHunt(file);
  assert.equal(hunt.get('6a227def-f0df-4f09-8e29-6c947515af6b'), 4, 'the 21st to 24th forbidden list of mallory');
  assert.deepEqual(
    rows.filter((r) => r.rule === '6a227def-f0df-4f09-8e29-6c947515af6b').map((r) => r.measure),
    [21, 22, 23, 24],
  );
  const temporal = rows.filter((r) => r.rule === '8f6b0e1c-5d7a-4c2e-9b3a-2e4f6a8c0d12');
  assert.deepEqual(
    temporal.map((r) => [r.user, r.stage]),
    [['mallory', 'ResponseComplete']],
  );
});

test('rules lint: skipped log sources, unsupported modifiers (file:line), never-matching values, in one run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-lint-'));
  const head = (id: string, title: string, logsource = '{product: kubernetes, service: audit}'): string =>
    `title: ${title}\nid: ${id}\nlogsource: ${logsource}\n`;
  writeFileSync(
    join(dir, 'a-win.yml'),
    `${head('w', 'windows', '{product: windows, service: security}')}detection:\n  sel:\n    EventID: 4624\n  condition: sel\n`,
  );
  writeFileSync(
    join(dir, 'b-mod.yml'),
    `${head('m', 'modifier')}detection:\n  sel:\n    verb: create\n    requestURI|expand: '%Admins%'\n  condition: sel\n`,
  );
  writeFileSync(
    join(dir, 'c-verb.yml'),
    `${head('v', 'verb')}detection:\n  sel:\n    verb:\n      - replace\n      - destroy\n  condition: sel\n`,
  );
  const r = await run(['rules', 'lint', dir]);
  assert.equal(r.code, 1);
  const lines = r.out.trim().split('\n');
  assert.equal(lines.length, 5, r.out);
  assert.match(lines[0]!, /a-win\.yml:1:1 \[w\]: warning: skipped: logsource .*windows.* is not Kubernetes audit/);
  assert.match(lines[1]!, /b-mod\.yml:7:5 \[m\]: error: requestURI\|expand: modifier 'expand' is not supported/);
  assert.match(
    lines[2]!,
    /c-verb\.yml:\d+:\d+ \[v\]: warning: value never matches: 'replace' is not a Kubernetes audit verb/,
  );
  assert.match(
    lines[3]!,
    /c-verb\.yml:\d+:\d+ \[v\]: warning: value never matches: 'destroy' is not a Kubernetes audit verb/,
  );
  assert.match(lines[4]!, /c-verb\.yml:\d+:\d+ \[v\]: warning: rule can never match real audit events: 'replace'/);
  assert.match(r.err, /1 error\(s\), 4 warning\(s\)/);
});

test('rules lint DIR classifies each file: a folder of Falco rules lints as Falco', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-lint-dir-'));
  writeFileSync(
    join(dir, 'a.yaml'),
    '- rule: Broken\n  desc: d\n  condition: ka.verb = \n  output: o\n  priority: WARNING\n  source: k8s_audit\n',
  );
  writeFileSync(
    join(dir, 'b.yml'),
    'title: t\nid: 11111111-1111-4111-8111-111111111111\nlogsource:\n  product: kubernetes\n  service: audit\ndetection:\n  sel:\n    verb: create\n  condition: sel\nlevel: low\n',
  );
  const io = captureIo();
  const code = await main(['rules', 'lint', dir], io);
  assert.equal(code, 1);
  assert.match(io.err(), /1 Falco file\(s\), 1 Sigma path\(s\): 1 error/);
  assert.match(io.out(), /a\.yaml:3:\d+ \[Broken\]/);
  assert.doesNotMatch(io.out(), /must be a mapping/);
});
