import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { InputProblem, RawRecord } from '../model/raw-record.js';
import type { RecordCursor } from './decoded-item.js';
import { decodeBase64Record, decodeText, decodeValue, isContainer, parseJsonSequence } from './envelope-decode.js';
import { decodeFirehoseData, isFirehoseRequest } from './firehose-decode.js';

const cursor = (): RecordCursor => ({ file: 'doc.json', fixedLine: null, next: 1 });
const ev = (id: string) => ({
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  auditID: id,
  stage: 'ResponseComplete',
  verb: 'get',
});

test("parseJsonSequence splits concatenated values and keeps each one's text", () => {
  const s = parseJsonSequence(' {"a":1}{"b":[2]}\n\n[3] ');
  assert.equal(s.error, null);
  assert.deepEqual(
    s.values.map((v) => v.value),
    [{ a: 1 }, { b: [2] }, [3]],
  );
  assert.deepEqual(
    s.values.map((v) => v.text),
    ['{"a":1}', '{"b":[2]}', '[3]'],
  );
  assert.deepEqual(parseJsonSequence('  \n').values, []);
});

test('parseJsonSequence keeps values before an error and says where it is', () => {
  const s = parseJsonSequence('{"a":1}\n{"b" 2}');
  assert.deepEqual(
    s.values.map((v) => v.value),
    [{ a: 1 }],
  );
  assert.match(s.error!, /^malformed JSON: /);
  assert.equal(s.errorAt, 13);
});

test('containers are recognized; a plain object is not one', () => {
  assert.equal(isContainer({ kind: 'EventList', items: [] }), true);
  assert.equal(isContainer({ messageType: 'DATA_MESSAGE', logEvents: [] }), true);
  assert.equal(isContainer({ records: [{ data: 'H4sI' }] }), true);
  assert.equal(isContainer({ awslogs: { data: 'H4sI' } }), true);
  assert.equal(isContainer(ev('x')), false);
  assert.equal(isContainer({ kind: 'EventList' }), false);
  assert.equal(isFirehoseRequest({ requestId: 'r', records: [] }), true);
});

test('EventList items and array elements become records numbered 1..N', () => {
  const c = cursor();
  const items = [
    ...decodeValue({ kind: 'EventList', items: [ev('a'), ev('b')] }, null, c),
    ...decodeValue([ev('c')], null, c),
  ];
  const recs = items as RawRecord[];
  assert.deepEqual(
    recs.map((r) => [(r.parsed as { auditID: string }).auditID, r.origin.line]),
    [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ],
  );
  assert.equal(recs[0]!.text, JSON.stringify(ev('a')));
});

test('a non-container value is passed on as one candidate with its exact text', () => {
  const [r] = [...decodeValue({ kind: 0 }, '{"kind": 0}', cursor())] as RawRecord[];
  assert.equal(r!.text, '{"kind": 0}');
  assert.deepEqual(r!.parsed, { kind: 0 });
});

test('Firehose data: base64 of gzip, base64 of plain JSON, and junk', () => {
  const payload = {
    messageType: 'DATA_MESSAGE',
    logGroup: 'g',
    logStream: 's',
    logEvents: [{ id: '1', timestamp: 5, message: '{"m":1}' }],
  };
  const gz = gzipSync(JSON.stringify(payload)).toString('base64');
  assert.ok(gz.startsWith('H4sI'));
  assert.deepEqual(decodeFirehoseData(gz), { ok: true, text: JSON.stringify(payload) });
  assert.deepEqual(decodeFirehoseData(Buffer.from('{"x":1}').toString('base64')), { ok: true, text: '{"x":1}' });
  const bad = decodeFirehoseData('H4sIAAAA');
  assert.equal(bad.ok, false);
  const [rec] = [...decodeBase64Record(gz, cursor())] as RawRecord[];
  assert.equal(rec!.text, '{"m":1}');
  assert.equal(rec!.origin.logGroup, 'g');
  const [p] = [...decodeBase64Record('%%%', cursor())] as InputProblem[];
  assert.equal(p!.problem, 'malformed-json');
});

test('a Firehose request unwraps every record; CONTROL_MESSAGE records yield nothing', () => {
  const data = (o: object) => ({ data: gzipSync(JSON.stringify(o)).toString('base64') });
  const req = {
    requestId: 'r1',
    timestamp: 1,
    records: [
      data({ messageType: 'CONTROL_MESSAGE', logEvents: [] }),
      data({
        messageType: 'DATA_MESSAGE',
        logGroup: 'g',
        logStream: 's',
        logEvents: [
          { id: '1', timestamp: 5, message: 'm1' },
          { id: '2', timestamp: 6, message: 'm2' },
        ],
      }),
      { nodata: true },
    ],
  };
  const items = [...decodeValue(req, null, cursor())];
  assert.deepEqual(
    items.map((i) => (i.kind === 'record' ? `${i.text}@${i.origin.line}` : `${i.problem}@${i.line}`)),
    ['m1@1', 'm2@2', 'not-audit-event@3'],
  );
});

test('decodeText falls back to newline-delimited candidates when the text is not one JSON value', () => {
  const items = [...decodeText('not json\n{"a":1}\n', cursor())] as RawRecord[];
  assert.deepEqual(
    items.map((r) => r.text),
    ['not json', '{"a":1}'],
  );
});
