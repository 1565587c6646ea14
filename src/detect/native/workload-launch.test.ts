// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { privilegedContainerDetector, sensitiveMountDetector } from './workload-launch.js';
import { event, fromRaw, run, sharedPath, type EventSpec } from './test-events.js';

function fixture(name: string) {
  return fromRaw(JSON.parse(readFileSync(sharedPath('corpus', 'falco', 'fixtures', name), 'utf8')));
}

const privSpec = (image = 'busybox:1.36', kind: 'containers' | 'initContainers' = 'containers') => ({
  [kind]: [{ name: 'c', image, securityContext: { privileged: true } }],
  ...(kind === 'initContainers' ? { containers: [{ name: 'app', image: 'nginx' }] } : {}),
});

const TEMPLATE_KINDS: { resource: string; apiGroup?: string; wrap: (spec: unknown) => unknown }[] = [
  { resource: 'deployments', apiGroup: 'apps', wrap: (spec) => ({ kind: 'Deployment', spec: { template: { spec } } }) },
  { resource: 'daemonsets', apiGroup: 'apps', wrap: (spec) => ({ kind: 'DaemonSet', spec: { template: { spec } } }) },
  {
    resource: 'statefulsets',
    apiGroup: 'apps',
    wrap: (spec) => ({ kind: 'StatefulSet', spec: { template: { spec } } }),
  },
  { resource: 'replicasets', apiGroup: 'apps', wrap: (spec) => ({ kind: 'ReplicaSet', spec: { template: { spec } } }) },
  { resource: 'jobs', apiGroup: 'batch', wrap: (spec) => ({ kind: 'Job', spec: { template: { spec } } }) },
  {
    resource: 'cronjobs',
    apiGroup: 'batch',
    wrap: (spec) => ({ kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec } } } } }),
  },
  { resource: 'pods', wrap: (spec) => ({ kind: 'Pod', spec }) },
];

test('PrivilegedContainer: Falco fixtures (first and second container) fire, unprivileged ones do not', () => {
  const d = privilegedContainerDetector();
  const hits = run(d, fixture('create_nginx_pod_privileged.json'));
  assert.equal(hits.length, 1);
  const det = hits[0]!.details as {
    privilegedContainers: { image: string }[];
    workload: { type: string; containers: { securityContext: unknown }[] };
  };
  assert.deepEqual(
    det.privilegedContainers.map((c) => c.image),
    ['nginx'],
  );
  assert.equal(det.workload.type, 'pods');
  assert.deepEqual(det.workload.containers[0]!.securityContext, { privileged: true });
  assert.equal(run(d, fixture('create_nginx_pod_privileged_2nd_container.json')).length, 1, 'mysql:latest is new');
  assert.equal(run(privilegedContainerDetector(), fixture('create_nginx_pod_unprivileged.json')).length, 0);
  assert.equal(run(privilegedContainerDetector(), fixture('create_nginx_pod_nohostnetwork.json')).length, 0);
});

test('PrivilegedContainer: an image already seen privileged in the cluster does not fire again', () => {
  const d = privilegedContainerDetector();
  const mk = (cluster: string) =>
    event({
      verb: 'create',
      resource: 'pods',
      namespace: 'a',
      name: 'p',
      requestObject: { kind: 'Pod', spec: privSpec() },
      cluster,
    });
  assert.equal(run(d, mk('prod'), mk('prod')).length, 1);
  assert.equal(run(d, mk('staging')).length, 1, 'other cluster');
});

for (const k of TEMPLATE_KINDS) {
  test(`PrivilegedContainer and SensitiveMount in ${k.resource} (create, containers and initContainers)`, () => {
    const base: EventSpec = {
      verb: 'create',
      resource: k.resource,
      namespace: 'apps',
      name: 'w',
      ...(k.apiGroup !== undefined ? { apiGroup: k.apiGroup } : {}),
    };
    assert.equal(
      run(privilegedContainerDetector(), event({ ...base, requestObject: k.wrap(privSpec('x/tool:1')) })).length,
      1,
    );
    assert.equal(
      run(
        privilegedContainerDetector(),
        event({ ...base, requestObject: k.wrap(privSpec('x/tool:1', 'initContainers')) }),
      ).length,
      1,
    );
    assert.equal(
      run(
        privilegedContainerDetector(),
        event({
          ...base,
          requestObject: k.wrap({ containers: [{ name: 'c', image: 'x', securityContext: { privileged: false } }] }),
        }),
      ).length,
      0,
    );
    const mount = {
      containers: [{ name: 'c', image: 'x', volumeMounts: [{ name: 'h', mountPath: '/host' }] }],
      volumes: [{ name: 'h', hostPath: { path: '/var/run/docker.sock' } }],
    };
    assert.equal(run(sensitiveMountDetector(), event({ ...base, requestObject: k.wrap(mount) })).length, 1);
    assert.equal(
      run(sensitiveMountDetector(), event({ ...base, code: 403, requestObject: k.wrap(mount) })).length,
      0,
      'denied',
    );
    const initMount = {
      initContainers: [{ name: 'i', image: 'x', volumeMounts: [{ name: 'h', mountPath: '/k' }] }],
      containers: [{ name: 'c', image: 'x' }],
      volumes: [{ name: 'h', hostPath: { path: '/var/lib/kubelet/pods' } }],
    };
    assert.equal(
      run(sensitiveMountDetector(), event({ ...base, verb: 'update', requestObject: k.wrap(initMount) })).length,
      1,
      'initContainer, update',
    );
  });
}

test('PrivilegedContainer: patch bodies (strategic merge and JSON patch) and ephemeral containers', () => {
  const strategic = event({
    verb: 'patch',
    resource: 'daemonsets',
    apiGroup: 'apps',
    namespace: 'kube-system',
    name: 'agent',
    requestObject: {
      spec: {
        template: {
          spec: { containers: [{ name: 'agent', image: 'evil/agent:2', securityContext: { privileged: true } }] },
        },
      },
    },
  });
  assert.equal(run(privilegedContainerDetector(), strategic).length, 1);
  const jsonPatch = event({
    verb: 'patch',
    resource: 'deployments',
    apiGroup: 'apps',
    namespace: 'web',
    name: 'api',
    requestObject: [
      { op: 'add', path: '/spec/template/spec/containers/0/securityContext', value: { privileged: true } },
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'evil/img:1' },
    ],
  });
  const hits = run(privilegedContainerDetector(), jsonPatch);
  assert.equal(hits.length, 1);
  assert.deepEqual((hits[0]!.details as { privilegedContainers: unknown }).privilegedContainers, [
    { name: '', image: 'evil/img:1', containerType: 'container' },
  ]);
  const debug = event({
    verb: 'patch',
    resource: 'pods',
    subresource: 'ephemeralcontainers',
    namespace: 'web',
    name: 'api-1',
    requestObject: {
      spec: {
        ephemeralContainers: [
          { name: 'debugger-x', image: 'busybox', securityContext: { privileged: true }, targetContainerName: 'api' },
        ],
      },
    },
  });
  const dh = run(privilegedContainerDetector(), debug);
  assert.equal(dh.length, 1);
  assert.equal(
    (dh[0]!.details as { privilegedContainers: { containerType: string }[] }).privilegedContainers[0]!.containerType,
    'ephemeralContainer',
  );
  const status = event({
    verb: 'patch',
    resource: 'pods',
    subresource: 'status',
    namespace: 'web',
    name: 'api-1',
    requestObject: { spec: privSpec() },
  });
  assert.equal(run(privilegedContainerDetector(), status).length, 0, 'status subresource carries no spec change');
});

test('workload details: host namespaces unknown (not false) in a partial patch, read from full objects', () => {
  const host = (d: { details?: Record<string, unknown> | undefined }): unknown => {
    const w = d.details?.['workload'] as { hostNetwork: unknown; hostPID: unknown; hostIPC: unknown };
    return [w.hostNetwork, w.hostPID, w.hostIPC];
  };
  const body = {
    spec: {
      template: {
        spec: { containers: [{ name: 'a', image: 'partial/agent:1', securityContext: { privileged: true } }] },
      },
    },
  };
  const patch = event({
    verb: 'patch',
    resource: 'daemonsets',
    apiGroup: 'apps',
    namespace: 'x',
    name: 'a',
    requestObject: body,
  });
  assert.deepEqual(host(run(privilegedContainerDetector(), patch)[0]!), [null, null, null]);
  const full = {
    kind: 'DaemonSet',
    spec: {
      template: {
        spec: {
          hostNetwork: true,
          containers: [{ name: 'a', image: 'partial/agent:2', securityContext: { privileged: true } }],
        },
      },
    },
  };
  const patchWithResponse = event({
    verb: 'patch',
    resource: 'daemonsets',
    apiGroup: 'apps',
    namespace: 'x',
    name: 'a',
    requestObject: body,
    responseObject: full,
  });
  assert.deepEqual(host(run(privilegedContainerDetector(), patchWithResponse)[0]!), [true, false, false]);
  const create = event({
    verb: 'create',
    resource: 'daemonsets',
    apiGroup: 'apps',
    namespace: 'x',
    name: 'b',
    requestObject: {
      ...full,
      spec: {
        template: {
          spec: {
            hostPID: true,
            containers: [{ name: 'a', image: 'partial/agent:3', securityContext: { privileged: true } }],
          },
        },
      },
    },
  });
  assert.deepEqual(host(run(privilegedContainerDetector(), create)[0]!), [false, true, false]);
});

test('SensitiveMount: Falco fixtures, read-only and harmless paths', () => {
  const hits = run(sensitiveMountDetector(), fixture('create_nginx_pod_sensitive_mount.json'));
  assert.equal(hits.length, 1);
  assert.deepEqual(
    (hits[0]!.details as { sensitiveMounts: { hostPath: string; mountPath: string }[] }).sensitiveMounts.map((m) => [
      m.hostPath,
      m.mountPath,
    ]),
    [['/etc', '/host/etc']],
  );
  assert.equal(run(sensitiveMountDetector(), fixture('create_nginx_pod_sensitive_mount_2nd_container.json')).length, 1);
  assert.equal(run(sensitiveMountDetector(), fixture('create_nginx_pod_unsensitive_mount.json')).length, 0);
  const mk = (path: string, readOnly: boolean) =>
    event({
      verb: 'create',
      resource: 'daemonsets',
      apiGroup: 'apps',
      namespace: 'monitoring',
      name: 'node-exporter',
      requestObject: {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'c',
                  image: 'quay.io/prometheus/node-exporter:v1.7.0',
                  volumeMounts: [{ name: 'v', mountPath: '/host', readOnly }],
                },
              ],
              volumes: [{ name: 'v', hostPath: { path } }],
            },
          },
        },
      },
    });
  assert.equal(run(sensitiveMountDetector(), mk('/proc', true)).length, 0, 'read-only');
  assert.equal(run(sensitiveMountDetector(), mk('/proc', false)).length, 1);
  assert.equal(run(sensitiveMountDetector(), mk('/var/log', false)).length, 0);
  assert.equal(run(sensitiveMountDetector(), mk('/var', false)).length, 1, 'parent of /var/lib/kubelet');
  assert.equal(run(sensitiveMountDetector(), mk('/etc/../etc/kubernetes/', false)).length, 1, 'normalized');
  assert.equal(run(sensitiveMountDetector(), mk('/opt/data', false)).length, 0);
});

test('SensitiveMount: ephemeral container mounting a host volume, read from the response object', () => {
  const e = event({
    verb: 'patch',
    resource: 'pods',
    subresource: 'ephemeralcontainers',
    namespace: 'web',
    name: 'api-1',
    requestObject: {
      spec: {
        ephemeralContainers: [{ name: 'dbg', image: 'busybox', volumeMounts: [{ name: 'root', mountPath: '/host' }] }],
      },
    },
    responseObject: {
      kind: 'Pod',
      metadata: { name: 'api-1', namespace: 'web', uid: 'u-1' },
      spec: {
        containers: [{ name: 'api', image: 'api:1' }],
        ephemeralContainers: [{ name: 'dbg', image: 'busybox', volumeMounts: [{ name: 'root', mountPath: '/host' }] }],
        volumes: [{ name: 'root', hostPath: { path: '/' } }],
      },
    },
  });
  const hits = run(sensitiveMountDetector(), e);
  assert.equal(hits.length, 1);
  assert.equal((hits[0]!.details as { workload: { uid: string } }).workload.uid, 'u-1');
});
