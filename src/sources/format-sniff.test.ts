import { test } from 'node:test';
import assert from 'node:assert/strict';
import { looksBinary, sniff } from './format-sniff.js';

const EVENT = '{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"get"}';

test('the format follows from the first two non-blank lines', () => {
  const cases: [string, string | null, string][] = [
    [EVENT, EVENT, 'jsonl'],
    [EVENT, null, 'jsonl'],
    ['{"kind": 0}', null, 'jsonl'],
    // A cut first line followed by a good event is still JSONL (the cut line is reported).
    ['{"kind":"Event","auditID":"a",', EVENT, 'jsonl'],
    ['{"kind":"Event","auditID', null, 'jsonl'],
    ['{', '  "kind": "EventList",', 'document'],
    ['{"kind": "EventList", "items": [', '{"kind": "Event"}', 'jsonl'],
    ['{"kind": "EventList", "items": [', '  {', 'document'],
    ['[', '  {', 'document'],
    ['[' + EVENT + ']', null, 'document'],
    [EVENT + EVENT, null, 'document'],
    ['{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[]}', null, 'envelope-lines'],
    ['{"events":[{"logStreamName":"s","timestamp":1,"message":"m"}]}', null, 'envelope-lines'],
    ['2026-09-08T22:48:03.930Z ' + EVENT, null, 'cloudwatch-export'],
    ['H4sIAAAAAAAAA+3OMQ0AAAgDsOFf9DFBQtIq6Nm2HQAAAAAAAAAAAAAAAAAA4G4D3nh1IQAoAAA=', null, 'base64-lines'],
    ['# README', 'text', 'unknown'],
    ['apiVersion: audit.k8s.io/v1', 'kind: Policy', 'unknown'],
  ];
  for (const [first, second, mode] of cases) assert.equal(sniff(first, second).mode, mode, first);
});

test('the first line parsed by the sniff is handed on', () => {
  assert.deepEqual(sniff('{"a":1}', null).firstParsed, { a: 1 });
});

test('binary detection: NUL bytes or many control characters, not UTF-8 text', () => {
  assert.equal(looksBinary(Buffer.from('{"a":"b"}\n\t\r\n')), false);
  assert.equal(looksBinary(Buffer.from('{"user":"é✓"}\n')), false);
  assert.equal(looksBinary(Buffer.from([0x7b, 0x00, 0x7d])), true);
  assert.equal(looksBinary(Buffer.from([1, 2, 3, 4, 5, 6, 65, 65, 65, 65, 65, 65])), true);
});
