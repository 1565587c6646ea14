import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileOutput, falcoAlertLine } from './falco-output.js';
import { auditEvent } from './falco-test-support.js';

const ev = auditEvent({
  user: { username: 'alice', groups: ['g1', 'g2'] },
  objectRef: { resource: 'pods', namespace: 'default', name: 'p1' },
  requestObject: { spec: { volumes: [{ name: 'etc', hostPath: { path: '/etc' } }] }, data: { k: 'a\nb' } },
});

function render(format: string): string {
  const c = compileOutput(format);
  assert.deepEqual(c.errors, [], format);
  return c.value!.render(ev);
}

test('fields substitute; adjacent text and slashes stay literal', () => {
  assert.equal(
    render('user=%ka.user.name target=%ka.target.name/%ka.target.resource resp=%ka.response.code)'),
    'user=alice target=p1/pods resp=201)',
  );
});

test('absent values print <NA>; list fields print (a,b)', () => {
  assert.equal(
    render('sub=%ka.target.subresource groups=%ka.user.groups images=%ka.req.pod.containers.image'),
    'sub=<NA> groups=(g1,g2) images=<NA>',
  );
});

test('bracket arguments, the longest known prefix, width, and a leading *', () => {
  assert.equal(
    render('vols=%jevt.value[/requestObject/spec/volumes]'),
    'vols=[{"name":"etc","hostPath":{"path":"/etc"}}]',
  );
  assert.equal(render('%evt.time.s.extra'), '10:00:00.extra');
  assert.equal(render('[%8ka.verb][%3ka.user.name]'), '[create  ][ali]');
  assert.equal(render('*hello %ka.verb'), 'hello create');
});

test('control characters are JSON-escaped in the message', () => {
  assert.equal(render('obj=%ka.req.configmap.obj'), 'obj={"k":"a\\nb"}');
  assert.match(render('%jevt.obj'), /^\{\\n {2}"kind": "Event",\\n/);
});

test('output_fields: the value of every token', () => {
  const c = compileOutput('%ka.user.name %ka.target.subresource %ka.user.groups');
  assert.deepEqual(c.value!.fields, ['ka.user.name', 'ka.target.subresource', 'ka.user.groups']);
  assert.deepEqual(c.value!.values(ev), {
    'ka.user.name': 'alice',
    'ka.target.subresource': null,
    'ka.user.groups': ['g1', 'g2'],
  });
});

test('format errors: unknown field, trailing %, transformers', () => {
  const unknown = compileOutput('x %k8s.pod.name y');
  assert.equal(unknown.value, null);
  assert.equal(unknown.errors[0]!.offset, 2);
  assert.match(unknown.errors[0]!.message, /invalid formatting token '%k8s.pod.name'/);
  assert.match(compileOutput('ends with %').errors[0]!.message, /ends with '%'/);
  assert.match(compileOutput('100% sure').errors[0]!.message, /invalid formatting token '% sure'/);
  assert.match(compileOutput('%tolower(ka.verb)').errors[0]!.message, /transformers are not supported/);
});

test('the text alert line: time, priority, message', () => {
  assert.equal(falcoAlertLine(ev, 'Warning', 'msg'), '10:00:00.223456000: Warning msg');
  assert.equal(falcoAlertLine(ev, 'Notice', 'msg', { iso8601: true }), '2024-05-01T10:00:00.223456000Z: Notice msg');
});
