import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawRecord } from '../model/raw-record.js';
import type { DecodedItem, RecordCursor } from './decoded-item.js';
import {
  decodeFilterLogEvents,
  decodeSubscriptionPayload,
  isFilterLogEventsPage,
  isSubscriptionPayload,
  logStreamFromExportPath,
  parseExportLine,
} from './cloudwatch-decode.js';

const docCursor = (): RecordCursor => ({ file: 'f.json', fixedLine: null, next: 1 });
const records = (items: readonly DecodedItem[]): RawRecord[] =>
  items.filter((i): i is RawRecord => i.kind === 'record');

test('export lines split into the CloudWatch timestamp and the message', () => {
  assert.deepEqual(parseExportLine('2026-09-08T22:48:03.930Z {"kind":"Event"}'), {
    cwTimestamp: Date.parse('2026-09-08T22:48:03.930Z'),
    message: '{"kind":"Event"}',
  });
  // Only the first space separates: the message keeps its own spaces.
  assert.equal(parseExportLine('2026-09-08T22:48:03Z a b')!.message, 'a b');
  assert.equal(parseExportLine('{"kind":"Event"}'), null);
  assert.equal(parseExportLine('2026-09-08 22:48:03 {}'), null);
});

test('the log stream of an export object comes from its S3 key layout', () => {
  assert.equal(
    logStreamFromExportPath('dump/exportedlogs/7f3a-task/kube-apiserver-audit-71976ca1/000000.gz'),
    'kube-apiserver-audit-71976ca1',
  );
  assert.equal(
    logStreamFromExportPath('exportedlogs\\task\\kube-apiserver-audit-x\\000012.gz'),
    'kube-apiserver-audit-x',
  );
  assert.equal(logStreamFromExportPath('dump/audit.log.gz'), null);
  assert.equal(logStreamFromExportPath('000000.gz'), null);
});

test('FilterLogEvents entries keep stream, timestamp, id and ingestion time', () => {
  const page = {
    events: [
      { logStreamName: 's1', timestamp: 1000, message: '{"a":1}', ingestionTime: 1500, eventId: 'e1' },
      { logStreamName: 's1', timestamp: 1001, ingestionTime: 1501, eventId: 'e2' },
    ],
    searchedLogStreams: [],
  };
  assert.equal(isFilterLogEventsPage(page), true);
  assert.equal(isFilterLogEventsPage({ events: [{ kind: 'Event' }] }), false);
  assert.equal(isFilterLogEventsPage({ events: [], nextToken: 'x' }), true);
  const items = [...decodeFilterLogEvents(page, docCursor(), null)];
  assert.deepEqual(items[0], {
    kind: 'record',
    text: '{"a":1}',
    origin: {
      file: 'f.json',
      line: 1,
      logGroup: null,
      logStream: 's1',
      cwTimestamp: 1000,
      cwEventId: 'e1',
      ingestionTime: 1500,
    },
  });
  assert.deepEqual(items[1], {
    kind: 'problem',
    file: 'f.json',
    line: 2,
    problem: 'not-audit-event',
    reason: 'FilterLogEvents entry has no string "message"',
  });
});

test('subscription payloads: DATA_MESSAGE events carry group and stream; CONTROL_MESSAGE is skipped', () => {
  const data = {
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: '/aws/eks/c1/cluster',
    logStream: 'kube-apiserver-audit-1',
    subscriptionFilters: ['f'],
    logEvents: [{ id: 'id1', timestamp: 42, message: '{"x":1}' }],
  };
  assert.equal(isSubscriptionPayload(data), true);
  const recs = records([...decodeSubscriptionPayload(data, { file: 'p', fixedLine: 7, next: 0 })]);
  assert.deepEqual(recs[0]!.origin, {
    file: 'p',
    line: 7,
    logGroup: '/aws/eks/c1/cluster',
    logStream: 'kube-apiserver-audit-1',
    cwTimestamp: 42,
    cwEventId: 'id1',
    ingestionTime: null,
  });
  const control = {
    messageType: 'CONTROL_MESSAGE',
    logEvents: [{ id: '', timestamp: 1, message: 'CWL CONTROL MESSAGE: Checking health of destination' }],
  };
  assert.deepEqual([...decodeSubscriptionPayload(control, docCursor())], []);
});
