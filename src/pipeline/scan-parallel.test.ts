import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAuditEvents } from '../../bench/generator.js';
import { runScan, type ScanSummary } from './scan-pipeline.js';
import { ColumnEvent } from './scan-parallel.js';
import { STORED_PROPS, workerForId, workerForText } from './scan-routing.js';
import { DetectionEngine } from '../detect/engine.js';
import { FindingAggregator } from '../findings/aggregator.js';
import { buildDetectionSetup, readDetectionFlags } from '../cli/detection-setup.js';
import { captureIo } from '../cli/cli-test-io.js';
import { openStore } from '../store/open-store.js';
import { normalizeText, fileOrigin } from '../normalize/normalize.js';
import type { Finding } from '../model/finding.js';

/**
 * Generated traffic with attacks, plus what makes ordering and deduplication hard: exact
 * repeats (near and far), extra RequestReceived stages before final stages, requests that
 * never complete (released at end of input), malformed and non-audit lines, and records whose
 * text hides the auditID from the router (escaped key, duplicated key).
 */
function writeInput(dir: string): string {
  const lines: string[] = [];
  let n = 0;
  for (const g of generateAuditEvents({ seed: 7, events: 4000, attackRate: 0.05 })) {
    const ev = g.event as Record<string, unknown>;
    const text = JSON.stringify(ev);
    n++;
    if (n % 5 === 0 && ev['stage'] === 'ResponseComplete')
      lines.push(JSON.stringify({ ...ev, stage: 'RequestReceived' }));
    if (n % 11 === 0)
      lines.push(JSON.stringify({ ...ev, auditID: `${String(ev['auditID'])}-open`, stage: 'RequestReceived' }));
    lines.push(text);
    if (n % 7 === 0) lines.push(text);
    if (n % 97 === 0) lines.push('{"kind":"Event", broken');
    if (n % 131 === 0) lines.push('{"hello":"not an audit event"}');
  }
  // Far repeats: the first 300 lines again at the end.
  lines.push(...lines.slice(0, 300));
  lines.push(
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","audit\\u0049D":"escaped-1","stage":"ResponseComplete","verb":"get","user":{"username":"alice"}}',
  );
  lines.push(
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"decoy","auditID":"dup-key-1","stage":"ResponseComplete","verb":"get","user":{"username":"bob"}}',
  );
  lines.push(
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"decoy","auditID":"dup-key-1","stage":"ResponseComplete","verb":"get","user":{"username":"bob"}}',
  );
  const file = join(dir, 'mixed.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

interface Outcome {
  readonly summary: ScanSummary;
  readonly findings: Finding[];
  readonly stored: number;
  readonly rescan: ScanSummary;
}

async function scanWith(file: string, workers: number): Promise<Outcome> {
  // Native (stateful: first-seen images, role bindings) and Sigma with its correlations.
  const setup = await buildDetectionSetup(readDetectionFlags.read({ sigma: ['builtin'] }), captureIo());
  const newEngine = (): DetectionEngine => {
    const engine = new DetectionEngine((unit, e) => {
      throw new Error(`detector ${unit} failed: ${String(e)}`);
    });
    for (const u of setup.units) {
      if ('detectors' in u) engine.addPack(u);
      else engine.addDetector(u);
    }
    return engine;
  };
  const store = await openStore(':memory:');
  try {
    const aggregator = new FindingAggregator();
    const summary = await runScan({
      paths: [file],
      store,
      engine: newEngine(),
      onDetection: (d) => aggregator.add(d),
      workers,
    });
    const stored = await store.countEvents();
    const rescan = await runScan({ paths: [file], store, engine: newEngine(), onDetection: () => {}, workers });
    return { summary, findings: aggregator.findings(), stored, rescan };
  } finally {
    await store.close();
  }
}

function comparable(s: ScanSummary): Record<string, unknown> {
  const { elapsedMs: _e, workers: _w, ...rest } = s;
  return rest;
}

test('findings, stored events and counts are the same with 0, 1, 2 and 3 worker threads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-parallel-'));
  const file = writeInput(dir);
  const base = await scanWith(file, 0);
  // The input really exercises what the test is about.
  assert.ok(base.findings.length >= 5, `expected findings, got ${base.findings.length}`);
  assert.ok(base.summary.duplicates > 500, `expected duplicates, got ${base.summary.duplicates}`);
  assert.ok(base.summary.stored > base.summary.detected, 'extra stages are stored but not detected twice');
  assert.ok((base.summary.skipped['malformed-json'] ?? 0) > 0 && (base.summary.skipped['not-audit-event'] ?? 0) > 0);
  assert.equal(base.stored, base.summary.stored);
  assert.equal(base.rescan.stored, 0);
  assert.equal(base.rescan.duplicates, base.summary.events);
  assert.equal(base.summary.workers, 0);
  for (const workers of [1, 2, 3]) {
    const run = await scanWith(file, workers);
    assert.equal(run.summary.workers, workers);
    assert.deepEqual(comparable(run.summary), comparable(base.summary), `summary with ${workers} workers`);
    assert.equal(run.stored, base.stored, `stored with ${workers} workers`);
    assert.deepEqual(run.findings, base.findings, `findings with ${workers} workers`);
    assert.deepEqual(comparable(run.rescan), comparable(base.rescan), `re-scan with ${workers} workers`);
  }
});

test('problems are reported as file:line with 2 workers, in input order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-parallel-'));
  const file = join(dir, 'bad.jsonl');
  const good = (id: string): string =>
    JSON.stringify({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      auditID: id,
      stage: 'ResponseComplete',
      verb: 'get',
    });
  writeFileSync(
    file,
    [
      good('a'),
      'not json',
      good('b'),
      '{"x":1}',
      good('c'),
      '{"kind":"Event","auditID":"d","stage":"ResponseComplete","verb":"get","responseStatus":{"code":"x"}}',
    ].join('\n'),
  );
  const store = await openStore(':memory:');
  try {
    const s = await runScan({ paths: [file], store, engine: new DetectionEngine(), onDetection: () => {}, workers: 2 });
    assert.deepEqual(
      s.problems.map((p) => `${p.line}:${p.problem}`),
      ['2:malformed-json', '4:not-audit-event', '6:bad-field-type'],
    );
    assert.ok(s.problems.every((p) => p.file === file));
    assert.equal(s.events, 3);
    assert.equal(await store.countEvents(), 3);
  } finally {
    await store.close();
  }
});

test('the router reads the auditID from the text as the parser does, and hashes both sides alike', () => {
  const id = '5c62d50b-aee3-4720-9b44-503f9f228466';
  for (const workers of [1, 2, 3, 8]) {
    const want = workerForId(id, workers);
    assert.equal(workerForText(`{"kind":"Event","auditID":"${id}","stage":"x"}`, workers), want);
    assert.equal(workerForText(`{"auditID" : "${id}"}`, workers), want);
  }
  assert.equal(workerForText('{"verb":"get"}', 2), -1);
  assert.equal(workerForText('{"auditID":42}', 2), -1);
  assert.equal(workerForText('{"auditID":"unterminated', 2), -1);
});

test('ColumnEvent carries every normalized field and parses raw on demand', () => {
  const text = JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    auditID: 'x1',
    stage: 'ResponseComplete',
    verb: 'create',
    user: { username: 'u', groups: ['g'] },
    objectRef: { resource: 'pods', namespace: 'n' },
    requestObject: { spec: { hostPID: true } },
    responseStatus: { code: 201 },
    requestReceivedTimestamp: '2024-06-03T08:00:00.022976Z',
  });
  const r = normalizeText(text, fileOrigin('f.jsonl', 3), { cluster: 'c' });
  assert.ok(r.ok);
  const columns = STORED_PROPS.map((p) => [r.event[p]]);
  const ev = new ColumnEvent(columns, 0, r.event.rawText, r.event.origin);
  for (const p of STORED_PROPS) assert.deepEqual(ev[p], r.event[p], p);
  assert.deepEqual(ev.raw, r.event.raw);
  assert.equal(ev.raw, ev.raw, 'parsed once');
  assert.equal(ev.origin.line, 3);
});

test('sleuth scan --workers: validated, and the same findings with 0 and 2', async () => {
  const { main } = await import('../cli/main.js');
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-parallel-'));
  const file = writeInput(dir);
  const bad = captureIo();
  assert.equal(await main(['scan', file, '--no-store', '--workers', 'many'], bad), 2);
  assert.match(bad.err(), /--workers must be a whole number from 0 to 256/);
  const outputs: string[] = [];
  for (const w of ['0', '2']) {
    const io = captureIo();
    assert.equal(await main(['scan', file, '--db', ':memory:', '--workers', w, '--format', 'jsonl'], io), 0);
    assert.match(io.err(), /Findings: [1-9]/);
    outputs.push(io.out());
  }
  assert.ok(outputs[0]!.length > 0);
  assert.equal(outputs[1], outputs[0]);
});

test('every input format gives the same summary and findings with 2 workers as with none', async () => {
  const { writeAllFormats, FORMAT_FILES } = await import('../sources/test-support/input-formats.js');
  const { readFileSync } = await import('node:fs');
  const { EXAMPLES_DIR } = await import('../cli/paths.js');
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-parallel-formats-'));
  const lines = readFileSync(join(EXAMPLES_DIR, 'audit-sample.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const files = writeAllFormats(dir, lines);
  const once = async (
    file: string,
    workers: number,
  ): Promise<{ s: Record<string, unknown>; f: Finding[]; n: number }> => {
    // Fresh detectors per scan: the native catalogue remembers what it has seen.
    const setup = await buildDetectionSetup(readDetectionFlags.read({}), captureIo());
    const engine = new DetectionEngine();
    for (const u of setup.units) {
      if ('detectors' in u) engine.addPack(u);
      else engine.addDetector(u);
    }
    const store = await openStore(':memory:');
    try {
      const agg = new FindingAggregator();
      const s = await runScan({ paths: [file], store, engine, onDetection: (d) => agg.add(d), workers });
      return { s: comparable(s), f: agg.findings(), n: await store.countEvents() };
    } finally {
      await store.close();
    }
  };
  for (const name of Object.keys(FORMAT_FILES) as (keyof typeof FORMAT_FILES)[]) {
    const a = await once(files[name], 0);
    const b = await once(files[name], 2);
    assert.ok(a.n > 0, `${name} stored events`);
    assert.deepEqual(b, a, name);
  }
});
