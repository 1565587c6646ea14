import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent } from '../../model/audit-event.js';
import { FALCO_FIELDS, falcoField, parseFieldArg, rfc3339ToNanos, type FieldValue } from './falco-fields.js';
import { auditEvent } from './falco-test-support.js';

function get(name: string, arg: string | null, e: AuditEvent): FieldValue {
  const def = falcoField(name);
  assert.ok(def !== undefined, name);
  const a = parseFieldArg(def, arg);
  assert.ok(a.ok, name);
  return def.compile(a.value)(e);
}

test('the catalog has the 100 ka.* fields of k8saudit 0.18.0 and the json/jevt fields', () => {
  assert.equal(FALCO_FIELDS.filter((f) => f.name.startsWith('ka.')).length, 100);
  assert.equal(FALCO_FIELDS.filter((f) => f.name.startsWith('ka.req.pod.initContainers.')).length, 15);
  assert.equal(FALCO_FIELDS.filter((f) => f.name.startsWith('ka.req.pod.ephemeralContainers.')).length, 14);
  for (const n of [
    'jevt.value',
    'jevt.obj',
    'jevt.rawtime',
    'json.value',
    'json.obj',
    'json.rawtime',
    'evt.time',
    'evt.rawtime',
  ])
    assert.ok(falcoField(n), n);
  assert.equal(new Set(FALCO_FIELDS.map((f) => f.name)).size, FALCO_FIELDS.length);
});

const pod = auditEvent({
  requestURI: '/api/v1/namespaces/default/pods/p1/exec?command=sh&command=-c&x=%2Fa+b',
  requestObject: {
    spec: {
      runAsUser: 1000,
      hostNetwork: true,
      containers: [
        {
          name: 'a',
          image: 'nginx:1.7',
          command: ['sh', '-c'],
          runAsUser: 5,
          securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN', 'SYS_TIME'] } },
          ports: [{ containerPort: 80 }, { containerPort: 81, hostPort: 8081 }],
        },
        { name: 'b', image: 'localhost:5000/x@sha256:abc' },
      ],
      initContainers: [{ name: 'i', image: 'busybox', securityContext: { privileged: false } }],
      volumes: [
        { name: 'v1', hostPath: { path: '/etc', type: '' } },
        { name: 'v2', configMap: { name: 'c' } },
      ],
      ports: [{ nodePort: 30007, port: 80 }],
      type: 'NodePort',
    },
  },
  responseObject: { metadata: { name: 'p1-created' } },
});

test('container list fields: fan-out, index argument, nil-skip and errors', () => {
  assert.deepEqual(get('ka.req.pod.containers.name', null, pod), ['a', 'b']);
  assert.deepEqual(get('ka.req.pod.containers.name', '1', pod), ['b']);
  assert.equal(get('ka.req.pod.containers.name', '2', pod), undefined);
  assert.deepEqual(get('ka.req.pod.containers.image.repository', null, pod), ['nginx', 'localhost']);
  assert.deepEqual(get('ka.req.pod.containers.privileged', null, pod), ['true']);
  assert.deepEqual(get('ka.req.pod.initContainers.privileged', null, pod), ['false']);
  assert.equal(get('ka.req.pod.ephemeralContainers.privileged', null, pod), undefined);
  assert.deepEqual(get('ka.req.pod.containers.command', null, pod), ['sh -c']);
  assert.equal(get('ka.req.pod.containers.args', null, pod), undefined);
  assert.deepEqual(get('ka.req.pod.containers.eff_run_as_user', null, pod), ['5', '1000']);
  assert.deepEqual(get('ka.req.pod.initContainers.eff_run_as_group', null, pod), ['0']);
  assert.deepEqual(get('ka.req.pod.containers.add_capabilities', null, pod), ['["NET_ADMIN","SYS_TIME"]']);
  assert.deepEqual(get('ka.req.pod.containers.host_port', null, pod), ['80', '8081']);
  const noImage = auditEvent({ requestObject: { spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b' }] } } });
  assert.equal(get('ka.req.pod.containers.image', null, noImage), undefined); // a container without image is an error
  assert.deepEqual(get('ka.req.container.image', null, noImage), 'x');
});

test('pod, volume and service fields, including documented quirks', () => {
  assert.equal(get('ka.req.pod.host_network', null, pod), 'true');
  assert.equal(get('ka.req.pod.host_pid', null, pod), undefined);
  assert.deepEqual(get('ka.req.pod.volumes.hostpath', null, pod), ['/etc']);
  assert.deepEqual(get('ka.req.pod.volumes.volume_type', null, pod), ['hostPath', 'configMap']);
  assert.equal(get('ka.req.volume.hostpath', '/et*', pod), 'true');
  assert.equal(get('ka.req.volume.hostpath', '/proc', pod), 'false');
  assert.equal(get('ka.req.container.privileged', null, pod), 'true');
  assert.deepEqual(get('ka.req.service.ports', null, pod), ['[{"nodePort":30007,"port":80}]']);
  assert.equal(get('ka.req.service.type', null, pod), 'NodePort');
  assert.equal(get('ka.sourceips', null, pod), undefined); // reads requestObject.rules[].sourceIPs upstream
  assert.equal(get('ka.target.pod.name', null, pod), 'p1-created');
  assert.equal(get('ka.resp.name', null, pod), 'p1-created');
});

test('uri params, numbers as text, absent values', () => {
  assert.equal(get('ka.uri.param', 'command', pod), 'sh');
  assert.equal(get('ka.uri.param', 'x', pod), '/a b');
  assert.equal(get('ka.uri.param', 'missing', pod), undefined);
  assert.equal(get('ka.uri.param', 'a', auditEvent({ requestURI: '/x?a=1;b=2' })), undefined); // Go rejects ';'
  assert.equal(get('ka.response.code', null, pod), '201');
  assert.equal(get('ka.target.subresource', null, pod), undefined);
  assert.deepEqual(get('ka.user.groups', null, pod), ['system:authenticated']);
});

test('binding, role and configmap fields render JSON like fastjson', () => {
  const binding = auditEvent({
    objectRef: { resource: 'clusterrolebindings', name: 'b' },
    requestObject: {
      roleRef: { kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [
        { kind: 'ServiceAccount', name: 'sa', namespace: 'ns' },
        { kind: 'User', name: 'bob' },
        { kind: 'ServiceAccount', name: 'nons' },
        { kind: 'Group', name: 'g' },
      ],
      rules: [
        { verbs: ['get', '*'], resources: ['pods/exec'] },
        { verbs: ['list'], apiGroups: [''] },
      ],
      data: { 'access.properties': 'key = "x"\nother' },
    },
  });
  assert.deepEqual(get('ka.req.binding.subjects', null, binding), [
    '{"kind":"ServiceAccount","name":"sa","namespace":"ns"}',
    '{"kind":"User","name":"bob"}',
    '{"kind":"ServiceAccount","name":"nons"}',
    '{"kind":"Group","name":"g"}',
  ]);
  assert.deepEqual(get('ka.req.binding.subjects.serviceaccount_ns_names', null, binding), ['ns:sa']);
  assert.deepEqual(get('ka.req.binding.subjects.serviceaccount_names', null, binding), ['sa', 'nons']);
  assert.deepEqual(get('ka.req.binding.subjects.user_names', null, binding), ['bob']);
  assert.equal(get('ka.req.binding.role', null, binding), 'cluster-admin');
  assert.equal(get('ka.req.binding.subject.has_name', 'anything', binding), 'true');
  assert.deepEqual(get('ka.req.role.rules.verbs', null, binding), ['get', '*', 'list']);
  assert.deepEqual(get('ka.req.role.rules.verbs', '1', binding), ['list']);
  assert.deepEqual(get('ka.req.role.rules.resources', null, binding), ['pods/exec']);
  assert.equal(get('ka.req.configmap.obj', null, binding), '{"access.properties":"key = \\"x\\"\\nother"}');
});

test('jevt.value (RFC 6901), jevt.rawtime (ns of stageTimestamp), jevt.obj (indented)', () => {
  const e = auditEvent({
    annotations: { 'authorization.k8s.io/decision': 'allow', 'a/~b': 'x' },
    stageTimestamp: '2024-05-01T10:00:00.223456Z',
  });
  assert.equal(get('jevt.value', '/annotations/authorization.k8s.io~1decision', e), 'allow');
  assert.equal(get('jevt.value', '/annotations/a~1~0b', e), 'x');
  assert.equal(get('jevt.value', 'stage', e), 'ResponseComplete'); // leading slash optional
  assert.equal(get('jevt.value', '/user/groups/0', e), 'system:authenticated');
  assert.equal(get('jevt.value', '/user/groups', e), '["system:authenticated"]');
  assert.equal(get('jevt.value', '/nope', e), undefined);
  assert.equal(get('jevt.rawtime', null, e), '1714557600223456000');
  assert.equal(get('evt.time.iso8601', null, e), '2024-05-01T10:00:00.223456000Z');
  assert.equal(get('evt.time', null, e), '10:00:00.223456000');
  const small = { ...e, raw: { auditID: 'x', a: { b: [1, {}] }, c: [] } } as AuditEvent;
  assert.equal(
    get('jevt.obj', null, small),
    '{\n  "auditID": "x",\n  "a": {\n    "b": [\n      1,\n      {}\n    ]\n  },\n  "c": []\n}',
  );
});

// Fields served from typed AuditEvent properties: normalized events always have an auditID,
// so for them the rule cannot arise; every field read from the raw JSON follows it.
const TYPED = new Set([
  'ka.auditid',
  'ka.stage',
  'ka.auth.decision',
  'ka.auth.reason',
  'ka.user.name',
  'ka.user.groups',
  'ka.impuser.name',
  'ka.verb',
  'ka.uri',
  'ka.target.name',
  'ka.target.namespace',
  'ka.target.resource',
  'ka.target.subresource',
  'ka.req.configmap.name',
  'ka.response.code',
  'ka.response.reason',
  'ka.useragent',
]);

test('rfc3339ToNanos: fractions, offsets, and invalid text', () => {
  assert.equal(rfc3339ToNanos('2024-05-01T12:00:00.5+02:00'), '1714557600500000000');
  assert.equal(rfc3339ToNanos('1970-01-01T00:00:00.000000123Z'), '123');
  assert.equal(rfc3339ToNanos('2024-05-01T10:00:00Z'), '1714557600000000000');
  assert.equal(rfc3339ToNanos('2024-05-01 10:00:00Z'), undefined);
  assert.equal(rfc3339ToNanos('2024-13-01T10:00:00Z'), undefined);
  assert.equal(rfc3339ToNanos('2024-05-01T10:00:00.1234567891Z'), undefined);
});

test('every raw-JSON ka.* field is absent when the event has no auditID', () => {
  const e = { ...pod, raw: { ...pod.raw, auditID: undefined } } as AuditEvent;
  for (const f of FALCO_FIELDS.filter((x) => x.name.startsWith('ka.') && !TYPED.has(x.name))) {
    const arg = f.arg === 'key' ? 'k' : null;
    assert.equal(get(f.name, arg, e), undefined, f.name);
  }
});

test('the Markdown field reference is generated from the catalog', async () => {
  const { falcoFieldsMarkdown } = await import('./falco-fields.js');
  const lines = falcoFieldsMarkdown().split('\n');
  assert.equal(lines.length, FALCO_FIELDS.length + 2);
  assert.ok(
    lines.includes(
      '| `ka.uri.param` | string | [key] required | First value of a query parameter of the request URI, e.g. ka.uri.param[command]. |',
    ),
  );
});
