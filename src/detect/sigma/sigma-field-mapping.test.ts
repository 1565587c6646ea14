import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KUBERNETES_AUDIT_ALIASES,
  compileValueVisitor,
  createFieldMapping,
  firstValueString,
  loadFieldMappingFile,
  parseFieldPath,
} from './sigma-field-mapping.js';
import { auditEvent } from './sigma-test-helpers.js';

test('the Kubernetes alias table of the pySigma ecs_kubernetes pipeline', () => {
  assert.deepEqual(KUBERNETES_AUDIT_ALIASES, {
    apiGroup: 'objectRef.apiGroup',
    resource: 'objectRef.resource',
    subresource: 'objectRef.subresource',
    namespace: 'objectRef.namespace',
    username: 'user.username',
    capabilities: 'requestObject.spec.containers[].securityContext.capabilities.add[]',
    privileged: 'responseObject.spec.containers[].securityContext.privileged',
    hostPath: 'requestObject.spec.volumes[].hostPath',
  });
});

test('resolution: catalog fields get typed columns, other paths read the raw JSON', () => {
  const m = createFieldMapping();
  assert.equal(m.resolve('objectRef.resource').catalog?.column, 'resource');
  assert.equal(m.resolve('resource').catalog?.column, 'resource', 'alias to a catalog field');
  assert.equal(m.resolve('sourceIPs').catalog?.column, 'source_ips');
  assert.equal(m.resolve('annotations.authorization.k8s.io/decision').catalog?.column, 'authz_decision');
  assert.deepEqual(m.resolve('annotations.pod-security.kubernetes.io/enforce-policy').path, [
    'annotations',
    'pod-security.kubernetes.io/enforce-policy',
  ]);
  assert.equal(m.resolve('requestReceivedTimestamp').catalog, undefined, 'timestamps compare as ISO text from raw');
  assert.equal(m.resolve('cluster').catalog?.column, 'cluster', 'envelope field');
  const hp = m.resolve('hostPath');
  assert.deepEqual(hp.path, ['requestObject', 'spec', 'volumes', 'hostPath']);
  assert.deepEqual(hp.arrays, [false, false, true, false]);
  assert.equal(hp.catalog, undefined);
});

test('array marks: explicit [] and known Kubernetes array keys', () => {
  assert.deepEqual(parseFieldPath('spec.template.spec.containers.image'), {
    path: ['spec', 'template', 'spec', 'containers', 'image'],
    arrays: [false, false, false, true, false],
  });
  assert.deepEqual(parseFieldPath('requestObject.data[].key'), {
    path: ['requestObject', 'data', 'key'],
    arrays: [false, true, false],
  });
});

test('user mapping overrides and extends the defaults; noDefaults drops them', () => {
  const m = createFieldMapping({
    extra: { hostPath: 'requestObject.spec.template.spec.volumes[].hostPath', actor: 'user.username' },
  });
  assert.deepEqual(m.resolve('hostPath').path, ['requestObject', 'spec', 'template', 'spec', 'volumes', 'hostPath']);
  assert.equal(m.resolve('actor').catalog?.name, 'user.username');
  assert.equal(m.resolve('apiGroup').catalog?.name, 'objectRef.apiGroup');
  const bare = createFieldMapping({ noDefaults: true });
  assert.deepEqual(bare.resolve('apiGroup').path, ['apiGroup']);
});

test('mapping files: flat or under `fields:`, with problems for bad entries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigma-map-'));
  const a = join(dir, 'a.yml');
  writeFileSync(a, 'fields:\n  actor: user.username\n  bad: 3\n');
  const r = loadFieldMappingFile(a);
  assert.deepEqual(r.mapping, { actor: 'user.username' });
  assert.equal(r.problems.length, 1);
  assert.match(r.problems[0]!.message, /'bad' must be a non-empty path string/);
  const missing = loadFieldMappingFile(join(dir, 'nope.yml'));
  assert.equal(missing.problems.length, 1);
});

test('value visitor: any element over nested arrays, nulls skipped, first value for group-by', () => {
  const m = createFieldMapping();
  const e = auditEvent({
    requestObject: {
      spec: {
        containers: [
          { securityContext: { capabilities: { add: ['NET_ADMIN'] } } },
          { securityContext: null },
          { securityContext: { capabilities: { add: ['SYS_ADMIN', 'BPF'] } } },
        ],
      },
    },
  });
  const seen: unknown[] = [];
  compileValueVisitor(m.resolve('capabilities'))(e, (v) => {
    seen.push(v);
    return false;
  });
  assert.deepEqual(seen, ['NET_ADMIN', 'SYS_ADMIN', 'BPF']);
  assert.equal(firstValueString(compileValueVisitor(m.resolve('capabilities')), e), 'NET_ADMIN');
  assert.equal(firstValueString(compileValueVisitor(m.resolve('responseStatus.code')), e), '200');
  assert.equal(firstValueString(compileValueVisitor(m.resolve('objectRef.subresource')), e), null);
});
