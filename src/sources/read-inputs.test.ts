// The reader on the repository's own sample; corpus files are read in read-inputs-corpus.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { AuditEvent } from '../model/audit-event.js';
import { normalizeRecord } from '../normalize/normalize.js';
import type { InputProblem, ReadProgress, SourceItem } from '../model/raw-record.js';
import { type ReadOptions, readInputBatches, readInputs } from './read-inputs.js';
import {
  FORMAT_FILES,
  type FormatName,
  LOG_GROUP,
  LOG_STREAM,
  T0,
  sampleLines,
  subscriptionPayload,
  writeAllFormats,
} from './test-support/input-formats.js';

interface Collected {
  events: AuditEvent[];
  problems: InputProblem[];
  progress: ReadProgress[];
}

async function collect(paths: readonly string[], options: ReadOptions = {}): Promise<Collected> {
  const c: Collected = { events: [], problems: [], progress: [] };
  for await (const item of readInputs(paths, options)) push(c, item);
  return c;
}

function push(c: Collected, item: SourceItem): void {
  if (item.kind === 'progress') c.progress.push(item);
  else if (item.kind === 'problem') c.problems.push(item);
  else {
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
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'sleuth-read-'));
const ids = (evs: readonly AuditEvent[]): string[] => evs.map((e) => `${e.auditID} ${e.verb} ${e.stage}`);
const problemSummary = (ps: readonly InputProblem[]): string[] => ps.map((p) => `${p.line} ${p.problem}`);

const LINES = sampleLines(6);
const EXPECTED = LINES.map((l) => {
  const o = JSON.parse(l) as { auditID: string; verb: string; stage: string };
  return `${o.auditID} ${o.verb} ${o.stage}`;
});

test('sample lines are six distinct events', () => {
  assert.equal(new Set(EXPECTED).size, 6);
});

test('every input format yields the same audit events', async () => {
  const dir = tmp();
  const files = writeAllFormats(dir, LINES);
  for (const name of Object.keys(FORMAT_FILES) as FormatName[]) {
    const c = await collect([files[name]]);
    assert.deepEqual(c.problems, [], `${name}: no problems`);
    assert.deepEqual(ids(c.events), EXPECTED, `${name}: same events in order`);
    for (const e of c.events) assert.equal(e.origin.file, files[name]);
  }
});

test('CloudWatch envelopes land in the origin; plain files have none', async () => {
  const dir = tmp();
  const files = writeAllFormats(dir, LINES);
  const plain = (await collect([files.jsonl])).events;
  assert.deepEqual(
    plain.map((e) => e.origin.line),
    [1, 2, 3, 4, 5, 6],
  );
  assert.equal(plain[0]!.logGroup, null);
  assert.equal(plain[0]!.logStream, files.jsonl);
  assert.equal(plain[0]!.cluster, 'default');

  const fle = (await collect([files.filterLogEvents])).events;
  assert.equal(fle[2]!.origin.logStream, LOG_STREAM);
  assert.equal(fle[2]!.origin.cwTimestamp, T0 + 2);
  assert.equal(fle[2]!.origin.ingestionTime, T0 + 2 + 700);
  assert.equal(fle[2]!.origin.cwEventId, `3${'0'.repeat(54)}2`);
  assert.equal(fle[2]!.time, plain[2]!.time, "the event's own time, not the shipper's");
  assert.equal(fle[2]!.origin.line, 3);

  const exp = (await collect([files.cloudwatchExport])).events;
  assert.equal(exp[1]!.origin.logStream, LOG_STREAM);
  assert.equal(exp[1]!.origin.cwTimestamp, T0 + 1);
  assert.equal(exp[1]!.origin.line, 2);

  for (const name of ['subscriptionPayload', 'firehoseRequest', 'firehoseS3', 'firehoseBase64Lines'] as const) {
    const evs = (await collect([files[name]])).events;
    assert.equal(evs[4]!.origin.logGroup, LOG_GROUP, name);
    assert.equal(evs[4]!.origin.logStream, LOG_STREAM, name);
    assert.equal(evs[4]!.origin.cwTimestamp, T0 + 4, name);
    assert.equal(evs[4]!.cluster, 'prod-eu', `${name}: cluster from /aws/eks/<name>/cluster`);
  }
});

test('a directory is read recursively in sorted order, hidden entries skipped', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'b'));
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, 'b', 'x.log'), LINES[1] + '\n');
  writeFileSync(join(dir, 'a.log'), LINES[0] + '\n');
  writeFileSync(join(dir, 'c.log'), LINES[2] + '\n');
  writeFileSync(join(dir, '.hidden.log'), LINES[3] + '\n');
  writeFileSync(join(dir, '.git', 'obj.log'), LINES[4] + '\n');
  const c = await collect([dir]);
  assert.deepEqual(ids(c.events), EXPECTED.slice(0, 3));
  assert.deepEqual(c.problems, []);
});

test('stdin is read for "-", gzip and all', async () => {
  const stdin = Readable.from([gzipSync(LINES.join('\n'))]);
  const c = await collect(['-'], { stdin });
  assert.deepEqual(ids(c.events), EXPECTED);
  assert.equal(c.events[0]!.origin.file, '-');
  // A pipe that delivers the gzip magic split across chunks is still recognized.
  const gz = gzipSync(LINES.join('\n'));
  const split = await collect(['-'], { stdin: Readable.from([gz.subarray(0, 1), gz.subarray(1, 2), gz.subarray(2)]) });
  assert.deepEqual(ids(split.events), EXPECTED);
});

test('a pretty-printed single event and v1beta1 events are read', async () => {
  const dir = tmp();
  const ev = JSON.parse(LINES[0]!) as Record<string, unknown>;
  writeFileSync(join(dir, 'one.json'), JSON.stringify(ev, null, 2) + '\n');
  // Two pretty-printed events back to back, as `jq .` prints a stream.
  const beta = { ...ev, apiVersion: 'audit.k8s.io/v1beta1', auditID: 'beta-1' };
  writeFileSync(join(dir, 'two.json'), JSON.stringify(ev, null, 2) + '\n' + JSON.stringify(beta, null, 2) + '\n');
  const one = await collect([join(dir, 'one.json')]);
  assert.deepEqual(ids(one.events), [EXPECTED[0]]);
  assert.equal(one.events[0]!.rawText, JSON.stringify(ev, null, 2));
  const two = await collect([join(dir, 'two.json')]);
  assert.deepEqual(
    two.events.map((e) => e.auditID),
    [ev['auditID'], 'beta-1'],
  );
});

test('CRLF line endings and blank lines are tolerated', async () => {
  const dir = tmp();
  const f = join(dir, 'crlf.log');
  writeFileSync(f, '\r\n' + LINES.slice(0, 3).join('\r\n\r\n') + '\r\n');
  const c = await collect([f]);
  assert.deepEqual(ids(c.events), EXPECTED.slice(0, 3));
  assert.deepEqual(
    c.events.map((e) => e.origin.line),
    [2, 4, 6],
  );
});

test('bad lines are problems with their line number; neighbours are kept', async () => {
  const dir = tmp();
  const f = join(dir, 'mixed.log');
  const badType = JSON.stringify({ ...(JSON.parse(LINES[1]!) as object), responseStatus: { code: '200' } });
  writeFileSync(
    f,
    [LINES[0], '{"kind":"Event","auditID":', '{"kind":"Pod","apiVersion":"v1"}', badType, LINES[2]].join('\n') + '\n',
  );
  const c = await collect([f]);
  assert.deepEqual(ids(c.events), [EXPECTED[0], EXPECTED[2]]);
  assert.deepEqual(problemSummary(c.problems), ['2 malformed-json', '3 not-audit-event', '4 bad-field-type']);
  assert.match(c.problems[2]!.reason, /responseStatus\.code must be an integer/);
});

test('empty files, whitespace-only files and empty gzip are reported once', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'a-empty.log'), '');
  writeFileSync(join(dir, 'b-blank.log'), '\n \n\t\n');
  writeFileSync(join(dir, 'c-empty.gz'), gzipSync(''));
  const c = await collect([dir]);
  assert.deepEqual(c.events, []);
  assert.deepEqual(problemSummary(c.problems), ['0 empty-file', '0 empty-file', '0 empty-file']);
});

test('truncated gzip keeps the events before the cut and reports the cut once', async () => {
  const dir = tmp();
  const many: string[] = [];
  for (let i = 0; i < 3000; i++)
    many.push(LINES[i % LINES.length]!.replace(/"auditID":"[^"]*"/, `"auditID":"cut-${i}"`));
  const gz = gzipSync(many.join('\n') + '\n');
  const f = join(dir, 'cut.log.gz');
  writeFileSync(f, gz.subarray(0, Math.floor(gz.length * 0.6)));
  const c = await collect([f]);
  assert.ok(c.events.length > 100 && c.events.length < 3000, `kept ${c.events.length}`);
  // The events kept are exactly the first ones, in order.
  assert.deepEqual(
    c.events.map((e) => e.auditID),
    many.slice(0, c.events.length).map((_, i) => `cut-${i}`),
  );
  assert.deepEqual(problemSummary(c.problems), ['0 truncated-gzip']);
  assert.match(c.problems[0]!.reason, /truncated.*events before the cut were kept/);
});

test('binary junk is reported once per file, not per line', async () => {
  const dir = tmp();
  const junk = Buffer.alloc(200_000);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) % 256;
  writeFileSync(join(dir, 'junk.bin'), junk);
  writeFileSync(join(dir, 'junk.gz'), gzipSync(junk));
  const c = await collect([join(dir, 'junk.bin'), join(dir, 'junk.gz')]);
  assert.deepEqual(problemSummary(c.problems), ['0 binary', '0 binary']);
  assert.match(c.problems[1]!.reason, /after gunzip/);
});

test('a missing path is a problem and the next path is still read', async () => {
  const dir = tmp();
  const f = join(dir, 'ok.log');
  writeFileSync(f, LINES[0] + '\n');
  const c = await collect([join(dir, 'missing.log'), f]);
  assert.deepEqual(problemSummary(c.problems), ['0 unreadable']);
  assert.match(c.problems[0]!.reason, /no such file/);
  assert.deepEqual(ids(c.events), [EXPECTED[0]]);
});

test('text that is no log format is one unknown-format problem', async () => {
  const dir = tmp();
  const f = join(dir, 'README.md');
  writeFileSync(f, '# Notes\n\nsome text\nmore text\n');
  const c = await collect([f]);
  assert.deepEqual(problemSummary(c.problems), ['0 unknown-format']);
});

test('CloudWatch-truncated messages are counted, never dropped silently', async () => {
  const dir = tmp();
  const cut = LINES[1]!.slice(0, 200);
  const fle = {
    events: [
      { logStreamName: LOG_STREAM, timestamp: T0, message: LINES[0], ingestionTime: T0, eventId: '1' },
      { logStreamName: LOG_STREAM, timestamp: T0, message: cut + '[Truncated...]', ingestionTime: T0, eventId: '2' },
      { logStreamName: LOG_STREAM, timestamp: T0, message: LINES[2], ingestionTime: T0, eventId: '3' },
    ],
  };
  writeFileSync(join(dir, 'fle.json'), JSON.stringify(fle, null, 4));
  writeFileSync(join(dir, 'sub.gz'), gzipSync(JSON.stringify(subscriptionPayload([cut, LINES[3]!]))));
  const c = await collect([join(dir, 'fle.json'), join(dir, 'sub.gz')]);
  assert.deepEqual(ids(c.events), [EXPECTED[0], EXPECTED[2], EXPECTED[3]]);
  assert.deepEqual(problemSummary(c.problems), ['2 cloudwatch-truncated', '1 cloudwatch-truncated']);
});

test('lines and documents over the size limits are reported, and reading goes on', async () => {
  const dir = tmp();
  const f = join(dir, 'long.log');
  const long = '{"kind":"Event","pad":"' + 'x'.repeat(8000) + '"}';
  writeFileSync(f, [LINES[0], long, LINES[1]].join('\n') + '\n');
  const c = await collect([f], { maxLineChars: 4000, chunkBytes: 512 });
  assert.deepEqual(ids(c.events), EXPECTED.slice(0, 2));
  assert.deepEqual(
    c.events.map((e) => e.origin.line),
    [1, 3],
  );
  assert.deepEqual(problemSummary(c.problems), ['2 too-large']);

  const doc = join(dir, 'big.json');
  writeFileSync(doc, JSON.stringify({ kind: 'EventList', items: LINES.map((l) => JSON.parse(l) as unknown) }, null, 2));
  const d = await collect([doc], { maxDocumentChars: 2000, chunkBytes: 512 });
  assert.deepEqual(d.events, []);
  assert.deepEqual(problemSummary(d.problems), ['0 too-large']);
});

test('a malformed pretty-printed document reports the line of the error', async () => {
  const dir = tmp();
  const f = join(dir, 'bad.json');
  writeFileSync(f, '{\n  "kind": "EventList",\n  "items": [\n    {"auditID": "a" "verb": "get"}\n  ]\n}\n');
  const c = await collect([f]);
  assert.deepEqual(problemSummary(c.problems), ['4 malformed-json']);
  assert.match(c.problems[0]!.reason, /^malformed JSON: /);
});

test('progress items run from 0 to the file size', async () => {
  const dir = tmp();
  const files = writeAllFormats(dir, LINES);
  const c = await collect([files.gzipJsonl], { progressEveryBytes: 1 });
  const size = statSync(files.gzipJsonl).size;
  assert.equal(c.progress[0]!.bytes, 0);
  assert.equal(c.progress.at(-1)!.bytes, size);
  assert.ok(c.progress.every((p) => p.totalBytes === size && p.file === files.gzipJsonl));
});

test('batched reading yields the same items as item-by-item reading', async () => {
  const dir = tmp();
  const files = writeAllFormats(dir, LINES);
  const flat: SourceItem[] = [];
  for await (const b of readInputBatches([files.jsonl, files.firehoseS3])) flat.push(...b);
  const single: SourceItem[] = [];
  for await (const i of readInputs([files.jsonl, files.firehoseS3])) single.push(i);
  assert.deepEqual(flat, single);
  assert.equal(flat.filter((i) => i.kind === 'record').length, 12);
});

test('one container per line: compact EventList, subscription payloads, Lambda awslogs event', async () => {
  const dir = tmp();
  const events = LINES.map((l) => JSON.parse(l) as unknown);
  const f = join(dir, 'containers.jsonl');
  const lambda = {
    awslogs: { data: gzipSync(JSON.stringify(subscriptionPayload(LINES.slice(4, 6)))).toString('base64') },
  };
  writeFileSync(
    f,
    [
      JSON.stringify({ kind: 'EventList', items: events.slice(0, 2) }),
      JSON.stringify(subscriptionPayload(LINES.slice(2, 4))),
      JSON.stringify(lambda),
    ].join('\n') + '\n',
  );
  // The EventList line is longer than maxLineChars: container lines are bounded by maxDocumentChars.
  const c = await collect([f], { maxLineChars: 100 });
  assert.deepEqual(c.problems, []);
  assert.deepEqual(ids(c.events), EXPECTED);
  assert.deepEqual(
    c.events.map((e) => e.origin.line),
    [1, 1, 2, 2, 3, 3],
  );
  assert.equal(c.events[5]!.origin.logGroup, LOG_GROUP);
});

test('GetLogEvents output (no stream name or event id) is read like FilterLogEvents', async () => {
  const dir = tmp();
  const f = join(dir, 'get-log-events.json');
  const page = {
    events: LINES.map((m, i) => ({ timestamp: T0 + i, message: m, ingestionTime: T0 + i + 1 })),
    nextForwardToken: 'f/1',
    nextBackwardToken: 'b/1',
  };
  writeFileSync(f, JSON.stringify(page, null, 4));
  const c = await collect([f]);
  assert.deepEqual(ids(c.events), EXPECTED);
  assert.deepEqual(
    [c.events[1]!.origin.cwTimestamp, c.events[1]!.origin.logStream, c.events[1]!.origin.cwEventId],
    [T0 + 1, null, null],
  );
});
