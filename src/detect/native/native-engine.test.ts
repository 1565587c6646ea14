// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { DetectionEngine } from '../engine.js';
import type { Detection } from '../detector.js';
import { FindingAggregator } from '../../findings/aggregator.js';
import { parseThreatList } from '../intel/threat-list.js';
import { threatIntelFromLists } from '../intel/threat-intel.js';
import { nativeDetectors } from './index.js';
import { event, fromRaw, rawEvent, sharedPath } from './test-events.js';

const RBAC = 'rbac.authorization.k8s.io';

test('an attack story through the real engine: one finding per issue, counts aggregated', () => {
  const intel = threatIntelFromLists([parseThreatList('185.220.101.7\n', { file: 'tor.txt', kind: 'tor' }).value]);
  const engine = new DetectionEngine((unit, e) => assert.fail(`${unit} threw ${String(e)}`));
  for (const d of nativeDetectors({ intel })) engine.addDetector(d);
  const tor = { sourceIPs: ['185.220.101.7'] };
  const story = [
    event({
      verb: 'get',
      requestURI: '/version',
      username: 'system:anonymous',
      groups: ['system:unauthenticated'],
      extra: {},
      time: '2024-05-01T09:59:00Z',
    }),
    event({ verb: 'list', resource: 'secrets', namespace: 'kube-system', ...tor, time: '2024-05-01T10:00:00Z' }),
    event({ verb: 'list', resource: 'secrets', namespace: 'kube-system', ...tor, time: '2024-05-01T10:00:30Z' }),
    event({
      verb: 'create',
      resource: 'clusterrolebindings',
      apiGroup: RBAC,
      name: 'anon-view',
      ...tor,
      time: '2024-05-01T10:01:00Z',
      requestObject: {
        kind: 'ClusterRoleBinding',
        metadata: { name: 'anon-view' },
        roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'User', name: 'system:anonymous' }],
      },
    }),
    event({
      verb: 'list',
      resource: 'secrets',
      namespace: 'default',
      username: 'system:anonymous',
      groups: ['system:unauthenticated'],
      extra: {},
      sourceIPs: ['198.51.100.50'],
      time: '2024-05-01T10:02:00Z',
    }),
    event({
      verb: 'create',
      resource: 'daemonsets',
      apiGroup: 'apps',
      namespace: 'kube-system',
      name: 'node-agent',
      ...tor,
      time: '2024-05-01T10:03:00Z',
      requestObject: {
        kind: 'DaemonSet',
        spec: {
          template: {
            spec: {
              hostPID: true,
              containers: [
                {
                  name: 'a',
                  image: 'attacker.example/agent:1',
                  securityContext: { privileged: true },
                  volumeMounts: [{ name: 'root', mountPath: '/host' }],
                },
              ],
              volumes: [{ name: 'root', hostPath: { path: '/' } }],
            },
          },
        },
      },
    }),
    event({
      verb: 'create',
      resource: 'pods',
      subresource: 'exec',
      namespace: 'kube-system',
      name: 'node-agent-x1',
      code: 101,
      raw: { stage: 'ResponseStarted' },
      ...tor,
      time: '2024-05-01T10:04:00Z',
    }),
    event({
      verb: 'delete',
      resource: 'events',
      namespace: 'kube-system',
      name: 'node-agent.17a',
      ...tor,
      time: '2024-05-01T10:05:00Z',
    }),
  ];
  const detections: Detection[] = [];
  for (const e of story) engine.dispatch(e, (d) => detections.push(d));
  engine.flush((d) => detections.push(d));
  const agg = new FindingAggregator();
  for (const d of detections) agg.add(d);
  const byType = Object.fromEntries(agg.findings().map((f) => [f.type, f.count]));
  assert.deepEqual(byType, {
    'CredentialAccess:Kubernetes/TorIPCaller': 2,
    'Persistence:Kubernetes/TorIPCaller': 2,
    'Policy:Kubernetes/AnonymousAccessGranted': 1,
    'CredentialAccess:Kubernetes/SuccessfulAnonymousAccess': 1,
    'PrivilegeEscalation:Kubernetes/PrivilegedContainer': 1,
    'Persistence:Kubernetes/ContainerWithSensitiveMount': 1,
    'Execution:Kubernetes/ExecInKubeSystemPod': 1,
    'DefenseEvasion:Kubernetes/TorIPCaller': 1,
  });
  assert.ok(engine.stats().evaluations < story.length * nativeDetectors({ intel }).length, 'the index prunes');
});

test('Falco k8s-audit fixtures: the native catalogue reports exactly these', () => {
  const dir = sharedPath('corpus', 'falco', 'fixtures');
  const engine = new DetectionEngine((unit, e) => assert.fail(`${unit} threw ${String(e)}`));
  for (const d of nativeDetectors()) engine.addDetector(d);
  const hits: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.json')) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(`${dir}/${name}`, 'utf8'));
    } catch {
      continue;
    }
    let e;
    try {
      e = fromRaw(raw);
    } catch {
      continue; // not an audit event (the fixture set has a few)
    }
    engine.dispatch(e, (d) => hits.push(`${name} ${d.info.type}`));
  }
  assert.deepEqual(hits.sort(), [
    'create_nginx_pod_no_secctx_1st_container_privileged_2nd_container.json PrivilegeEscalation:Kubernetes/PrivilegedContainer',
    'create_nginx_pod_privileged.json PrivilegeEscalation:Kubernetes/PrivilegedContainer',
    'create_nginx_pod_sensitive_mount.json Persistence:Kubernetes/ContainerWithSensitiveMount',
    'create_nginx_pod_sensitive_mount_2nd_container.json Persistence:Kubernetes/ContainerWithSensitiveMount',
  ]);
});

test('odd and hostile bodies never throw', () => {
  const ds = nativeDetectors({
    intel: threatIntelFromLists([parseThreatList('0.0.0.0/0\n::/0\n', { file: 'all', kind: 'custom' }).value]),
  });
  const bodies: unknown[] = [
    'a string',
    42,
    null,
    [],
    [1, 2, 3],
    [{ op: 'add', path: '/__proto__/polluted', value: true }],
    [{ op: 'add', path: '/spec/template/spec/containers/99999999/securityContext', value: { privileged: true } }],
    [{ op: 'add', path: '/' + 'a/'.repeat(100), value: 1 }],
    { spec: { containers: 'nope', volumes: { a: 1 } } },
    { spec: { containers: [null, 1, { securityContext: 'x', volumeMounts: [null, { name: 5 }] }] } },
    {
      spec: {
        template: {
          spec: {
            containers: Array.from({ length: 5000 }, () => ({ image: 'x', securityContext: { privileged: true } })),
          },
        },
      },
    },
    { roleRef: 'x', subjects: [null, { kind: 1 }, { kind: 'User' }] },
    { metadata: { labels: [1], annotations: 'x' }, spec: { type: 'LoadBalancer', ports: 'x', selector: null } },
  ];
  const resources = ['pods', 'deployments', 'cronjobs', 'clusterrolebindings', 'rolebindings', 'services', 'secrets'];
  let n = 0;
  for (const body of bodies) {
    for (const resource of resources) {
      for (const verb of ['create', 'update', 'patch']) {
        const raw = rawEvent({ verb, resource, namespace: 'x', name: 'y' });
        raw['requestObject'] = body;
        raw['responseObject'] = body;
        const e = fromRaw(raw);
        for (const d of ds) d.evaluate(e, () => n++);
      }
    }
  }
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.ok(n > 0, 'the catch-all custom list still fires on the API-caller types');
});
