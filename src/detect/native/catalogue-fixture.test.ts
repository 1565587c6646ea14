/**
 * All 27 native types, positive and negative, from one JSONL file of realistic EKS audit events
 * (testdata/catalogue-events.jsonl), through the same steps as `sleuth scan`: normalize each line,
 * the stage rule and redelivery dedup (StageDeduper), the indexed engine, then aggregation.
 * testdata/catalogue-expected.json says, per auditID, which types must fire (none for negatives)
 * and why; the threat lists beside it are a CSV feed, a named custom list and Tor's exit-addresses.
 * The same events as a CloudWatch-to-S3 export and as filter-log-events JSON give the same findings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readInputs } from '../../sources/read-inputs.js';
import { normalizeRecord } from '../../normalize/normalize.js';
import type { AuditEvent } from '../../model/audit-event.js';
import type { Detection } from '../detector.js';
import { DetectionEngine } from '../engine.js';
import { StageDeduper } from '../../normalize/stage-deduper.js';
import { fileOrigin, normalizeText } from '../../normalize/normalize.js';
import { FindingAggregator } from '../../findings/aggregator.js';
import { loadThreatIntel } from '../intel/threat-intel.js';
import { NATIVE_RULES } from './catalog.js';
import { nativeDetectors } from './index.js';
import { repoRoot } from './test-events.js';

const dir = join(repoRoot(), 'src', 'detect', 'native', 'testdata');
const expected = JSON.parse(readFileSync(join(dir, 'catalogue-expected.json'), 'utf8')) as Record<
  string,
  { types: string[]; note: string }
>;

function scanFixture(): { detections: Detection[]; agg: FindingAggregator; dedup: StageDeduper } {
  const intel = loadThreatIntel({
    intel: [join(dir, 'custom-list.txt')],
    malicious: [join(dir, 'malicious-feed.csv')],
    torExits: join(dir, 'tor-exits.txt'),
  });
  assert.deepEqual(intel.errors, []);
  const engine = new DetectionEngine((unit, e) => assert.fail(`${unit} threw ${String(e)}`));
  for (const d of nativeDetectors({ intel: intel.value })) engine.addDetector(d);
  const dedup = new StageDeduper();
  const detections: Detection[] = [];
  const emit = (d: Detection): void => void detections.push(d);
  const file = join(dir, 'catalogue-events.jsonl');
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const r = normalizeText(line, fileOrigin(file, i + 1), { cluster: 'prod-eks' });
    assert.ok(r.ok, `line ${i + 1} normalizes`);
    for (const e of dedup.push(r.event as AuditEvent).dispatch) engine.dispatch(e, emit);
  });
  for (const e of dedup.flush()) engine.dispatch(e, emit);
  engine.flush(emit);
  const agg = new FindingAggregator();
  for (const d of detections) agg.add(d);
  return { detections, agg, dedup };
}

test('catalogue fixture: each request fires exactly the expected types (positives and negatives)', () => {
  const { detections } = scanFixture();
  const got = new Map<string, string[]>();
  for (const d of detections) {
    const list = got.get(d.event.auditID) ?? [];
    list.push(d.info.type);
    got.set(d.event.auditID, list);
  }
  for (const [auditID, want] of Object.entries(expected)) {
    assert.deepEqual((got.get(auditID) ?? []).sort(), [...want.types].sort(), `${auditID}: ${want.note}`);
  }
  for (const id of got.keys()) assert.ok(id in expected, `unexpected detection for ${id}`);
  assert.ok(
    Object.values(expected).filter((x) => x.types.length === 0).length >= 15,
    'the fixture keeps its negatives',
  );
});

test('catalogue fixture: every one of the 27 native types fires through the pipeline', () => {
  const { agg } = scanFixture();
  const types = new Set(agg.findings().map((f) => f.type));
  assert.equal(NATIVE_RULES.length, 27);
  for (const r of NATIVE_RULES) assert.ok(types.has(r.type), `${r.type} fired`);
  assert.equal(types.size, 27);
});

test('catalogue fixture: stages and redeliveries count once; repeats aggregate', () => {
  const { agg, dedup } = scanFixture();
  assert.equal(dedup.counters.duplicates, 1, 'the redelivered line');
  const tor = agg.findings().filter((f) => f.type === 'CredentialAccess:Kubernetes/TorIPCaller');
  assert.equal(tor.length, 1);
  assert.equal(tor[0]!.count, 2);
  assert.equal(tor[0]!.evidence.length, 2);
  assert.equal(tor[0]!.firstSeen < tor[0]!.lastSeen, true);
  // RequestReceived + ResponseComplete of one request: one detection, judged on the final stage.
  const custom = agg.findings().filter((f) => f.type === 'Discovery:Kubernetes/MaliciousIPCaller.Custom');
  assert.equal(custom.length, 1);
  assert.equal(custom[0]!.count, 1);
  assert.deepEqual(custom[0]!.details?.['threatIntel'], {
    threatListName: 'Incident 4711 blocklist',
    threatNames: ['2001:db8:c0ff::/48'],
    threatFileSha256: (custom[0]!.details?.['threatIntel'] as { threatFileSha256: string }).threatFileSha256,
    ip: '2001:db8:c0ff:ee::1',
  });
  // The SPDY exec with no ResponseComplete is judged on its ResponseStarted, once.
  const exec = agg.findings().filter((f) => f.type === 'Execution:Kubernetes/ExecInKubeSystemPod');
  assert.equal(exec.length, 2);
  assert.deepEqual(
    exec.map((f) => f.count),
    [1, 1],
  );
});

/** Findings from any input the scanner reads (files, directories, CloudWatch shapes), by the same steps. */
async function scanPaths(paths: string[]): Promise<string[]> {
  const intel = loadThreatIntel({
    intel: [join(dir, 'custom-list.txt')],
    malicious: [join(dir, 'malicious-feed.csv')],
    torExits: join(dir, 'tor-exits.txt'),
  });
  const engine = new DetectionEngine((unit, e) => assert.fail(`${unit} threw ${String(e)}`));
  for (const d of nativeDetectors({ intel: intel.value })) engine.addDetector(d);
  const dedup = new StageDeduper();
  const agg = new FindingAggregator();
  const emit = (d: Detection): void => agg.add(d);
  let records = 0;
  for await (const item of readInputs(paths)) {
    if (item.kind === 'problem') assert.fail(`${item.file}:${item.line}: ${item.reason}`);
    if (item.kind !== 'record') continue;
    const r = normalizeRecord(item, { cluster: 'prod-eks' });
    assert.ok(r.ok, `${item.origin.file}:${item.origin.line} normalizes`);
    records++;
    for (const e of dedup.push(r.event).dispatch) engine.dispatch(e, emit);
  }
  for (const e of dedup.flush()) engine.dispatch(e, emit);
  engine.flush(emit);
  assert.equal(records, 62);
  return agg
    .findings()
    .map(
      (f) => `${f.id} ${f.type} ${f.count} ${f.firstSeen} ${f.lastSeen} ${f.evidence.map((e) => e.auditID).join(',')}`,
    )
    .sort();
}

test('catalogue fixture: the same findings from JSONL, a CloudWatch-to-S3 export and filter-log-events JSON', async () => {
  const lines = readFileSync(join(dir, 'catalogue-events.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const tmp = mkdtempSync(join(tmpdir(), 'sleuth-cw-'));
  try {
    // S3 export: <task>/<stream>/000000.gz, each line "<ISO time> <message>".
    const stream = join(tmp, 'export', 'f0e1d2c3-0000-4000-8000-000000000000', 'kube-apiserver-audit-0123456789abcdef');
    mkdirSync(stream, { recursive: true });
    const stamped = lines.map(
      (l) => `${(JSON.parse(l) as { stageTimestamp: string }).stageTimestamp.slice(0, 23)}Z ${l}`,
    );
    writeFileSync(join(stream, '000000.gz'), gzipSync(stamped.join('\n') + '\n'));
    // aws logs filter-log-events output.
    const fle = join(tmp, 'filter-log-events.json');
    const events = lines.map((message, i) => ({
      logStreamName: 'kube-apiserver-audit-0123456789abcdef',
      timestamp: Date.parse((JSON.parse(message) as { stageTimestamp: string }).stageTimestamp),
      message,
      ingestionTime: 1717400000000 + i,
      eventId: `37915522437620930842345789162839148${String(i).padStart(20, '0')}`,
    }));
    writeFileSync(fle, JSON.stringify({ events, searchedLogStreams: [] }, null, 2));
    const fromJsonl = await scanPaths([join(dir, 'catalogue-events.jsonl')]);
    assert.equal(fromJsonl.length, 33);
    assert.deepEqual(await scanPaths([join(tmp, 'export')]), fromJsonl);
    assert.deepEqual(await scanPaths([fle]), fromJsonl);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
