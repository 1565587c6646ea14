import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent } from '../../model/audit-event.js';
import { compileCondition } from './falco-condition-compiler.js';
import { parseCondition } from './falco-condition-parser.js';
import { auditEvent } from './falco-test-support.js';

function compile(text: string): (e: AuditEvent) => boolean {
  const p = parseCondition(text);
  assert.deepEqual(p.errors, [], text);
  const c = compileCondition(p.value!);
  assert.deepEqual(c.errors, [], text);
  return c.value!;
}

function compileError(text: string): string {
  const p = parseCondition(text);
  assert.deepEqual(p.errors, [], text);
  const c = compileCondition(p.value!);
  assert.equal(c.value, null);
  return c.errors.map((e) => e.message).join('; ');
}

const ev = auditEvent({
  requestURI: '/api/v1/namespaces/default/pods/p1/exec?command=sh&command=-c&container=Nginx',
  user: { username: 'Alice', groups: ['system:authenticated', 'devs'] },
  requestObject: {
    spec: {
      containers: [
        { name: 'a', image: 'nginx:1.7', securityContext: { privileged: true } },
        { name: 'b', image: 'localhost:5000/x:1' },
      ],
      volumes: [{ name: 'v', hostPath: { path: '/var/run/docker.sock' } }],
    },
  },
});
const check = (cond: string, expected: boolean) => assert.equal(compile(cond)(ev), expected, cond);

test('= and != (strcmp equality)', () => {
  check('ka.verb = create', true);
  check('ka.verb == create', true);
  check('ka.verb = Create', false);
  check('ka.verb != create', false);
  check('ka.verb != delete', true);
});

test('< <= > >= compare strings lexicographically (strcmp), numbers as text', () => {
  check('ka.response.code < 300', true);
  check('ka.response.code > 3', false); // "201" < "3" as strings
  check('ka.response.code <= 201', true);
  check('ka.response.code >= 201', true);
  check('ka.response.code > 201', false);
});

test('contains / icontains (ASCII case folding)', () => {
  check('ka.user.name contains lic', true);
  check('ka.user.name contains LIC', false);
  check('ka.user.name icontains LIC', true);
});

test('bcontains / bstartswith are rejected on string fields', () => {
  assert.match(
    compileError('ka.user.name bcontains 41'),
    /'bcontains' operator not supported for field 'ka.user.name' of type string/,
  );
  assert.match(compileError('ka.user.name bstartswith 41'), /'bstartswith' operator not supported/);
});

test('startswith / endswith', () => {
  check('ka.uri startswith /api/v1/', true);
  check('ka.uri startswith /apis', false);
  check('ka.uri endswith "container=Nginx"', true);
  check('ka.uri endswith nginx', false);
});

test('glob / iglob: fnmatch without FNM_PATHNAME (* crosses /)', () => {
  check('ka.uri glob "/api/*/pods/*"', true);
  check('ka.uri glob "/api/v?/namespaces*"', true);
  check('ka.uri glob "/api/v[0-9]/*"', true);
  check('ka.uri glob "/api/v[!1]/*"', false);
  check('ka.uri glob "*NGINX"', false);
  check('ka.uri iglob "*NGINX"', true);
});

test('regex: RE2-style full match; backreferences refused; catastrophic patterns run in linear time', () => {
  check('ka.user.name regex "[A-Z][a-z]+"', true);
  check('ka.user.name regex "lic"', false); // full match, not search
  check('ka.user.name regex "(A|B)(l|x)+ice"', true);
  assert.match(compileError('ka.user.name regex "(a)\\\\1"'), /backreferences/);
  assert.match(compileError('ka.user.name regex "a(?=b)"'), /lookaround/);
  assert.match(compileError('ka.user.name regex "(a"'), /invalid regex/);
  // Exponential on a backtracking engine (minutes for 40 characters); a hostile 50 KB username.
  const hostile = auditEvent({ user: { username: 'a'.repeat(50_000), groups: [] } });
  for (const p of ['(a+)+b', '(a|aa)*b', '(\\\\w|\\\\d)*x', '.*a.*a.*a.*b']) {
    const started = Date.now();
    assert.equal(compile(`ka.user.name regex "${p}"`)(hostile), false, p);
    assert.ok(Date.now() - started < 5000, `${p} took ${Date.now() - started} ms`);
  }
});

test('in / intersects on scalar and list fields', () => {
  check('ka.verb in (get, create)', true);
  check('ka.verb in (get)', false);
  check('ka.verb intersects (create)', true);
  check('ka.user.groups in (system:authenticated, devs, other)', true); // every value in the set
  check('ka.user.groups in (devs)', false);
  check('ka.user.groups intersects (devs)', true); // at least one
  check('ka.req.pod.containers.privileged intersects (true)', true);
  check('ka.req.pod.containers.image.repository in (nginx, localhost)', true);
  check('ka.req.pod.containers.image.repository in (nginx)', false);
  check('ka.verb in ()', false);
});

test('pmatch: component-wise path prefix', () => {
  const e2 = auditEvent({ requestURI: '/tmp/hello/world' });
  const e3 = auditEvent({ requestURI: '/tmp/hello_world' });
  const f = compile('ka.uri pmatch (/tmp/hello, /etc)');
  assert.equal(f(e2), true);
  assert.equal(f(e3), false);
  assert.equal(compile('ka.uri pmatch (/tmp/*/world)')(e2), true);
  assert.equal(compile('ka.uri pmatch (/)')(e3), true);
});

test('exists, and absent fields make every check false (exists included)', () => {
  check('ka.target.name exists', true);
  check('ka.target.subresource exists', false);
  check('ka.target.subresource = ""', false);
  check('ka.target.subresource != exec', false);
  check('not ka.target.subresource != exec', true);
  check('ka.req.pod.containers.run_as_user exists', false); // no container sets it: zero values is absent
});

test('list fields only take exists / in / intersects', () => {
  assert.match(compileError('ka.user.groups = devs'), /'=' operator not supported for list filters/);
  assert.match(
    compileError('ka.req.role.rules.verbs contains create'),
    /'contains' operator not supported for list filters/,
  );
});

test('and / or / not and nested parentheses', () => {
  check('ka.verb = create and ka.target.resource = pods', true);
  check('ka.verb = get or ka.target.resource = pods', true);
  check('ka.verb = get or (ka.target.resource = pods and not ka.user.name = Alice)', false);
  check('not (ka.verb = get or ka.verb = delete)', true);
});

test('operator modifiers oneof / anyof / allof', () => {
  check('ka.uri startswith anyof (/x, /api)', true);
  check('ka.uri contains allof (pods, exec)', true);
  check('ka.uri contains allof (pods, secrets)', false);
  check('ka.uri contains oneof (pods, exec)', false);
  check('ka.uri contains oneof (pods, secrets)', true);
});

test('numeric evt fields compare as unsigned integers', () => {
  check('evt.rawtime > 1000000000000000000', true);
  check('evt.rawtime < 0x10', false);
  check('evt.num = 1', true);
  assert.match(compileError('evt.num contains 1'), /not supported for numeric field/);
  assert.match(compileError('evt.num = abc'), /not a valid number/);
});

test('unknown fields and bad arguments are located errors', () => {
  const p = parseCondition('ka.verb = create and k8s.pod.name = x');
  const c = compileCondition(p.value!);
  assert.equal(c.errors.length, 1);
  assert.equal(c.errors[0]!.offset, 21);
  assert.equal(c.errors[0]!.unknownFilter, true);
  assert.match(c.errors[0]!.message, /nonexistent field k8s.pod.name/);
  assert.match(compileError('ka.req.pod.containers.name[01] exists'), /numeric index argument without leading zeros/);
  assert.match(compileError('ka.uri.param exists'), /requires an argument/);
  assert.match(compileError('ka.verb[x] exists'), /does not take an argument/);
});

test('transformers: tolower, toupper, b64, basename, len (per element on lists)', () => {
  check('tolower(ka.user.name) = alice', true);
  check('toupper(ka.verb) = CREATE', true);
  check('basename(ka.uri) startswith "exec?"', true);
  check('len(ka.user.name) = 5', true);
  check('len(ka.user.groups) = 2', true);
  check('len(ka.user.name) > 10', false); // len is numeric: 5 > 10 is false (strcmp would say "5" > "10")
  check('toupper(ka.user.groups) intersects (DEVS)', true);
  const b = auditEvent({ objectRef: { resource: 'secrets', name: 'aGVsbG8=' } });
  assert.equal(compile('b64(ka.target.name) = hello')(b), true);
  assert.equal(compile('b64(ka.target.namespace) exists')(b), false); // absent stays absent
  assert.equal(compile('b64(ka.target.resource) exists')(b), false); // "secrets" is not valid base64
  assert.match(compileError('tolower(evt.num) = 1'), /not supported on numeric field 'evt.num'/);
});

test('val(): compare a field with another field', () => {
  const e = auditEvent({ user: { username: 'p1' }, objectRef: { resource: 'pods', name: 'p1', namespace: 'P1' } });
  assert.equal(compile('ka.user.name = val(ka.target.name)')(e), true);
  assert.equal(compile('ka.user.name != val(ka.target.namespace)')(e), true);
  assert.equal(compile('ka.user.name = tolower(ka.target.namespace)')(e), true);
  assert.equal(compile('ka.user.name = val(ka.target.subresource)')(e), false); // absent right side
  assert.match(compileError('ka.user.groups intersects val(ka.verb)'), /needs single-valued fields/);
  assert.match(compileError('ka.uri glob val(ka.verb)'), /'glob' cannot compare with a field value/);
});
