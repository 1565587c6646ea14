import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventOrigin } from '../model/audit-event.js';
import { FIELD_CATALOG } from '../model/field-catalog.js';
import type { RawRecord } from '../model/raw-record.js';
import { fileOrigin, normalizeParsed, normalizeRecord, normalizeText, recordProblem } from './normalize.js';

const FULL = {
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  level: 'Request',
  auditID: '0e507148-8b16-4dfb-934b-9b05dba50974',
  stage: 'ResponseComplete',
  requestURI: '/api/v1/namespaces/default/pods/stress-83-tbnq2/status',
  verb: 'patch',
  user: {
    username: 'system:node:ip-10-0-0-1',
    uid: 'aws-iam-authenticator:123456789012:AROAEXAMPLE',
    groups: ['system:nodes', 'system:authenticated'],
  },
  impersonatedUser: { username: 'alice' },
  sourceIPs: ['54.75.17.171'],
  userAgent: 'kubelet/v1.21.2',
  objectRef: {
    resource: 'pods',
    namespace: 'default',
    name: 'stress-83-tbnq2',
    apiVersion: 'v1',
    apiGroup: 'apps',
    subresource: 'status',
  },
  responseStatus: { metadata: {}, code: 403, status: 'Failure', reason: 'Forbidden' },
  requestReceivedTimestamp: '2021-09-27T08:36:44.014671Z',
  stageTimestamp: '2021-09-27T08:36:44.021638Z',
  annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': 'no RBAC policy matched' },
};
const TEXT = JSON.stringify(FULL);
const rec = (text: string, origin: EventOrigin = fileOrigin('a.log', 3), parsed?: unknown): RawRecord =>
  parsed === undefined ? { kind: 'record', text, origin } : { kind: 'record', text, parsed, origin };
const cwOrigin: EventOrigin = {
  file: 'fle.json',
  line: 2,
  logGroup: '/aws/eks/prod/cluster',
  logStream: 'kube-apiserver-audit-1',
  cwTimestamp: 1_700_000_000_000,
  cwEventId: 'e1',
  ingestionTime: 1_700_000_000_500,
};

test('every catalog field is extracted with its declared type', () => {
  const r = normalizeRecord(rec(TEXT));
  assert.ok(r.ok);
  const e = r.event;
  assert.deepEqual(
    [
      e.auditID,
      e.stage,
      e.level,
      e.verb,
      e.requestURI,
      e.username,
      e.userUid,
      e.userGroups,
      e.impersonatedUsername,
      e.sourceIPs,
      e.userAgent,
    ],
    [
      FULL.auditID,
      'ResponseComplete',
      'Request',
      'patch',
      FULL.requestURI,
      'system:node:ip-10-0-0-1',
      FULL.user.uid,
      FULL.user.groups,
      'alice',
      ['54.75.17.171'],
      'kubelet/v1.21.2',
    ],
  );
  assert.deepEqual(
    [
      e.resource,
      e.subresource,
      e.namespace,
      e.name,
      e.apiGroup,
      e.apiVersion,
      e.responseCode,
      e.responseStatus,
      e.responseReason,
    ],
    ['pods', 'status', 'default', 'stress-83-tbnq2', 'apps', 'v1', 403, 'Failure', 'Forbidden'],
  );
  assert.deepEqual(
    [e.requestReceivedAt, e.stageAt, e.authzDecision, e.authzReason],
    [FULL.requestReceivedTimestamp, FULL.stageTimestamp, 'forbid', 'no RBAC policy matched'],
  );
  assert.equal(e.time, Date.parse('2021-09-27T08:36:44.014Z'));
  assert.equal(e.rawText, TEXT);
  assert.deepEqual(e.raw, FULL);
  // Every catalog property is present on the event (a new catalog field must be normalized).
  for (const f of FIELD_CATALOG) assert.ok(f.property in e, `missing ${f.property}`);
});

test('absent optional fields are null, absent arrays empty', () => {
  const r = normalizeText(
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x","stage":"RequestReceived","verb":"get"}',
    fileOrigin('a', 1),
  );
  assert.ok(r.ok);
  assert.deepEqual(
    [r.event.username, r.event.userGroups, r.event.sourceIPs, r.event.responseCode, r.event.namespace],
    [null, [], [], null, null],
  );
  assert.equal(r.event.time, 0);
});

test('CloudWatch envelope: stream, group, cluster and ids come from the origin; time from the event', () => {
  const r = normalizeRecord(rec(TEXT, cwOrigin));
  assert.ok(r.ok);
  assert.deepEqual(
    [r.event.time, r.event.logStream, r.event.logGroup, r.event.cluster, r.event.cwEventId, r.event.ingestionTime],
    [
      Date.parse(FULL.requestReceivedTimestamp),
      'kube-apiserver-audit-1',
      '/aws/eks/prod/cluster',
      'prod',
      'e1',
      1_700_000_000_500,
    ],
  );
  // Without any time in the event, CloudWatch's timestamp is the fallback.
  const bare = { ...FULL } as Record<string, unknown>;
  delete bare['requestReceivedTimestamp'];
  delete bare['stageTimestamp'];
  const r2 = normalizeRecord(rec(JSON.stringify(bare), cwOrigin));
  assert.ok(r2.ok);
  assert.equal(r2.event.time, 1_700_000_000_000);
  const named = normalizeRecord(rec(TEXT, cwOrigin), { cluster: 'explicit' });
  assert.ok(named.ok);
  assert.equal(named.event.cluster, 'explicit');
});

test('a parsed value from the container is used instead of parsing the text again', () => {
  const parsed = { ...FULL, auditID: 'from-parsed' };
  const r = normalizeRecord(rec(TEXT, fileOrigin('a', 1), parsed));
  assert.ok(r.ok);
  assert.equal(r.event.auditID, 'from-parsed');
});

test('v1beta1 events use the legacy timestamp when no other time is present', () => {
  const r = normalizeText(
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","auditID":"b","stage":"ResponseComplete","verb":"list","timestamp":"2017-09-11T19:55:05Z"}',
    fileOrigin('a', 1),
  );
  assert.ok(r.ok);
  assert.equal(r.event.time, Date.parse('2017-09-11T19:55:05Z'));
});

test('problems: malformed, not an audit event, wrong field types', () => {
  const cases: [string, string, RegExp][] = [
    ['{"kind":"Event",', 'malformed-json', /^malformed JSON: /],
    ['{"kind": 0}', 'not-audit-event', /not a Kubernetes audit event/],
    [
      '{"kind":"Event","apiVersion":"v1","auditID":"a","stage":"ResponseComplete","verb":"get"}',
      'not-audit-event',
      /not a Kubernetes audit event/,
    ],
    ['[1,2]', 'not-audit-event', /not a Kubernetes audit event/],
    [
      TEXT.replace('"code":403', '"code":"403"'),
      'bad-field-type',
      /responseStatus\.code must be an integer, got string/,
    ],
    [
      TEXT.replace('"sourceIPs":["54.75.17.171"]', '"sourceIPs":"54.75.17.171"'),
      'bad-field-type',
      /sourceIPs must be an array of strings/,
    ],
    [
      TEXT.replace('"userAgent":"kubelet/v1.21.2"', '"userAgent":{"x":1}'),
      'bad-field-type',
      /userAgent must be a string, got object/,
    ],
  ];
  for (const [text, problem, reason] of cases) {
    const r = normalizeRecord(rec(text));
    assert.equal(r.ok, false, text);
    if (r.ok) continue;
    assert.equal(r.problem, problem, text);
    assert.match(r.reason, reason);
  }
});

test('CloudWatch truncation: the marker anywhere, a cut message only when it came through CloudWatch', () => {
  const marked = normalizeRecord(rec(TEXT.slice(0, 100) + '[Truncated...]'));
  assert.deepEqual(marked.ok ? null : marked.problem, 'cloudwatch-truncated');
  const cutCw = normalizeRecord(rec(TEXT.slice(0, 100), cwOrigin));
  assert.deepEqual(cutCw.ok ? null : cutCw.problem, 'cloudwatch-truncated');
  const cutFile = normalizeRecord(rec(TEXT.slice(0, 100)));
  assert.deepEqual(cutFile.ok ? null : cutFile.problem, 'malformed-json');
  const wrongCw = normalizeRecord(rec('{"a" 1}', cwOrigin));
  assert.deepEqual(wrongCw.ok ? null : wrongCw.problem, 'malformed-json');
});

test('recordProblem locates the problem at the record origin', () => {
  const r = rec('nope', fileOrigin('x.log', 9));
  const n = normalizeRecord(r);
  assert.ok(!n.ok);
  assert.deepEqual(recordProblem(r, n), {
    kind: 'problem',
    file: 'x.log',
    line: 9,
    problem: 'malformed-json',
    reason: n.reason,
  });
});

test('normalizeParsed keeps its contract for callers that parsed themselves', () => {
  const r = normalizeParsed(FULL, TEXT, fileOrigin('w', 1));
  assert.ok(r.ok);
  assert.equal(r.event.logStream, 'w');
  assert.equal(r.event.cluster, 'default');
});

test('an audit event whose required or nested fields have the wrong type is bad-field-type, naming the field', () => {
  const cases: [string, string, RegExp][] = [
    [TEXT.replace('"verb":"patch"', '"verb":42'), 'bad-field-type', /^verb must be a string, got number$/],
    [
      TEXT.replace('"auditID":"0e507148-8b16-4dfb-934b-9b05dba50974"', '"auditID":["x"]'),
      'bad-field-type',
      /^auditID must be a string, got array$/,
    ],
    [TEXT.replace(/"user":\{[^}]*\}/, '"user":"alice"'), 'bad-field-type', /^user must be an object$/],
    [TEXT.replace(/"objectRef":\{[^}]*\}/, '"objectRef":[1,2]'), 'bad-field-type', /^objectRef must be an object$/],
    [TEXT.replace(/"annotations":\{[^}]*\}/, '"annotations":7'), 'bad-field-type', /^annotations must be an object$/],
    [TEXT.replace('"verb":"patch",', ''), 'not-audit-event', /missing verb$/],
    ['{"auditID":"a"}', 'not-audit-event', /missing stage, verb$/],
    ['{"hello":"world"}', 'not-audit-event', /^JSON is not a Kubernetes audit event/],
  ];
  for (const [text, problem, reason] of cases) {
    assert.notEqual(text, TEXT, 'the replacement must change the event');
    const r = normalizeRecord(rec(text));
    assert.equal(r.ok, false, text);
    if (r.ok) continue;
    assert.equal(r.problem, problem, text);
    assert.match(r.reason, reason, text);
  }
  // Absent or null parents are not errors: the fields are simply empty.
  const bare = normalizeText(
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"b","stage":"ResponseComplete","verb":"get","user":null}',
    fileOrigin('a', 1),
  );
  assert.ok(bare.ok);
  assert.equal(bare.event.username, null);
  assert.deepEqual(bare.event.userGroups, []);
});
