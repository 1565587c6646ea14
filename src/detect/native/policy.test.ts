// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
import { test } from 'node:test';
import { StageDeduper } from '../../normalize/stage-deduper.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Detector } from '../detector.js';
import {
  adminAccessToDefaultServiceAccountDetector,
  anonymousAccessGrantedDetector,
  BindingMemory,
  exposedDashboardDetector,
  kubeflowDashboardExposedDetector,
} from './policy.js';
import { execInKubeSystemPodDetector } from './execution.js';
import { event, fromRaw, run, sharedPath, type EventSpec } from './test-events.js';

const RBAC = 'rbac.authorization.k8s.io';

function crb(
  verb: string,
  roleRef: string | null,
  subjects: unknown[] | null,
  extra: Partial<EventSpec> = {},
): EventSpec {
  const body: Record<string, unknown> = {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name: 'b1' },
  };
  if (roleRef !== null) body['roleRef'] = { apiGroup: RBAC, kind: 'ClusterRole', name: roleRef };
  if (subjects !== null) body['subjects'] = subjects;
  return { verb, resource: 'clusterrolebindings', apiGroup: RBAC, name: 'b1', requestObject: body, ...extra };
}

function rb(verb: string, roleRef: { kind: string; name: string }, subjects: unknown[]): EventSpec {
  return {
    verb,
    resource: 'rolebindings',
    apiGroup: RBAC,
    namespace: 'team-a',
    name: 'rb1',
    requestObject: {
      kind: 'RoleBinding',
      metadata: { name: 'rb1', namespace: 'team-a' },
      roleRef: { apiGroup: RBAC, ...roleRef },
      subjects,
    },
  };
}

const adminDet = (): Detector => adminAccessToDefaultServiceAccountDetector(new BindingMemory());
const anonDet = (): Detector => anonymousAccessGrantedDetector(new BindingMemory());

test('AdminAccessToDefaultServiceAccount: ServiceAccount, User and Group subjects; ClusterRoleBinding and RoleBinding', () => {
  assert.equal(
    run(
      adminDet(),
      event(crb('create', 'cluster-admin', [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }])),
    ).length,
    1,
  );
  assert.equal(
    run(
      adminDet(),
      event(crb('create', 'admin', [{ kind: 'User', name: 'system:serviceaccount:prod:default', apiGroup: RBAC }])),
    ).length,
    1,
  );
  assert.equal(
    run(
      adminDet(),
      event(crb('update', 'cluster-admin', [{ kind: 'Group', name: 'system:serviceaccounts:prod', apiGroup: RBAC }])),
    ).length,
    1,
  );
  assert.equal(
    run(
      adminDet(),
      event(rb('create', { kind: 'ClusterRole', name: 'admin' }, [{ kind: 'ServiceAccount', name: 'default' }])),
    ).length,
    1,
  );
  // Negatives: other role, other service account, a namespaced Role that happens to be called admin, denied.
  assert.equal(
    run(adminDet(), event(crb('create', 'view', [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }])))
      .length,
    0,
  );
  assert.equal(
    run(
      adminDet(),
      event(crb('create', 'cluster-admin', [{ kind: 'ServiceAccount', name: 'ci-bot', namespace: 'ci' }])),
    ).length,
    0,
  );
  assert.equal(
    run(adminDet(), event(rb('create', { kind: 'Role', name: 'admin' }, [{ kind: 'ServiceAccount', name: 'default' }])))
      .length,
    0,
  );
  assert.equal(
    run(
      adminDet(),
      event(
        crb('create', 'cluster-admin', [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }], {
          code: 403,
        }),
      ),
    ).length,
    0,
  );
  const f = fromRaw(
    JSON.parse(readFileSync(sharedPath('corpus', 'falco', 'fixtures', 'attach_cluster_admin_role.json'), 'utf8')),
  );
  assert.equal(run(adminDet(), f).length, 0, 'cluster-admin to user minikube is not the default SA');
});

test('AdminAccessToDefaultServiceAccount: patch adding the subject resolves roleRef from the earlier create', () => {
  const d = adminDet();
  const create = event(crb('create', 'cluster-admin', [{ kind: 'User', name: 'alice' }]));
  const jsonPatch = event({
    verb: 'patch',
    resource: 'clusterrolebindings',
    apiGroup: RBAC,
    name: 'b1',
    requestObject: [
      { op: 'add', path: '/subjects/-', value: { kind: 'ServiceAccount', name: 'default', namespace: 'kube-system' } },
    ],
  });
  const hits = run(d, create, jsonPatch);
  assert.equal(hits.length, 1);
  assert.deepEqual(
    (hits[0]!.details as { roleBinding: { roleRefName: string } }).roleBinding.roleRefName,
    'cluster-admin',
  );
  const mergePatch = event({
    verb: 'patch',
    resource: 'clusterrolebindings',
    apiGroup: RBAC,
    name: 'unknown',
    requestObject: { subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'x' }] },
  });
  assert.equal(run(adminDet(), mergePatch).length, 0, 'roleRef unknown without a response object');
  const withResponse = event({
    verb: 'patch',
    resource: 'clusterrolebindings',
    apiGroup: RBAC,
    name: 'b2',
    requestObject: { subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'x' }] },
    responseObject: {
      kind: 'ClusterRoleBinding',
      metadata: { name: 'b2', uid: 'u2' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'x' }],
    },
  });
  assert.equal(run(adminDet(), withResponse).length, 1);
});

test('AnonymousAccessGranted: system:anonymous user or system:unauthenticated group, any role', () => {
  assert.equal(
    run(anonDet(), event(crb('create', 'view', [{ kind: 'User', name: 'system:anonymous', apiGroup: RBAC }]))).length,
    1,
  );
  assert.equal(
    run(
      anonDet(),
      event(
        rb('create', { kind: 'Role', name: 'reader' }, [
          { kind: 'Group', name: 'system:unauthenticated', apiGroup: RBAC },
        ]),
      ),
    ).length,
    1,
  );
  assert.equal(
    run(
      anonDet(),
      event({
        verb: 'patch',
        resource: 'rolebindings',
        apiGroup: RBAC,
        namespace: 'a',
        name: 'x',
        requestObject: [{ op: 'add', path: '/subjects/0', value: { kind: 'User', name: 'system:anonymous' } }],
      }),
    ).length,
    1,
  );
  assert.equal(
    run(anonDet(), event(crb('create', 'view', [{ kind: 'Group', name: 'system:authenticated', apiGroup: RBAC }])))
      .length,
    0,
  );
  assert.equal(
    run(anonDet(), event(crb('create', 'view', [{ kind: 'ServiceAccount', name: 'system:anonymous', namespace: 'x' }])))
      .length,
    0,
    'a service account named like it is not anonymous',
  );
  assert.equal(
    run(
      anonDet(),
      event(
        crb('create', 'system:public-info-viewer', [{ kind: 'Group', name: 'system:unauthenticated' }], {
          username: 'system:apiserver',
          groups: ['system:masters'],
        }),
      ),
    ).length,
    0,
    'apiserver bootstrap grant',
  );
  assert.equal(
    run(anonDet(), event(crb('create', 'view', [{ kind: 'User', name: 'system:anonymous' }], { code: 409 }))).length,
    0,
    'failed',
  );
});

function svc(verb: string, name: string, namespace: string, body: unknown, extra: Partial<EventSpec> = {}): EventSpec {
  return { verb, resource: 'services', namespace, name, requestObject: body, ...extra };
}
const lbService = (name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}) => ({
  kind: 'Service',
  metadata: { name, labels, annotations },
  spec: { type: 'LoadBalancer', ports: [{ port: 443, targetPort: 8443 }], selector: labels },
});

test('ExposedDashboard: created as LoadBalancer, or patched to it in all three patch formats', () => {
  const d = exposedDashboardDetector();
  assert.equal(
    run(
      d,
      event(
        svc(
          'create',
          'kubernetes-dashboard',
          'kubernetes-dashboard',
          lbService('kubernetes-dashboard', { 'k8s-app': 'kubernetes-dashboard' }),
        ),
      ),
    ).length,
    1,
  );
  assert.equal(
    run(
      exposedDashboardDetector(),
      event(svc('patch', 'kubernetes-dashboard', 'kubernetes-dashboard', { spec: { type: 'LoadBalancer' } })),
    ).length,
    1,
    'JSON merge patch',
  );
  const strategic = {
    metadata: { labels: { 'k8s-app': 'kubernetes-dashboard' } },
    spec: {
      $setElementOrder: { ports: [{ port: 443 }] },
      ports: [{ port: 443, nodePort: 30443 }],
      type: 'LoadBalancer',
    },
  };
  assert.equal(
    run(exposedDashboardDetector(), event(svc('patch', 'dash', 'tools', strategic))).length,
    1,
    'strategic merge patch with directives',
  );
  assert.equal(
    run(
      exposedDashboardDetector(),
      event(
        svc('patch', 'kubernetes-dashboard', 'kubernetes-dashboard', [
          { op: 'replace', path: '/spec/type', value: 'LoadBalancer' },
        ]),
      ),
    ).length,
    1,
    'JSON patch',
  );
  assert.equal(
    run(
      exposedDashboardDetector(),
      event(svc('update', 'dash', 'tools', lbService('dash', { 'app.kubernetes.io/name': 'kubernetes-dashboard' }))),
    ).length,
    1,
    'by label',
  );
  // Negatives.
  assert.equal(
    run(
      exposedDashboardDetector(),
      event(
        svc('create', 'kubernetes-dashboard', 'kubernetes-dashboard', { kind: 'Service', spec: { type: 'ClusterIP' } }),
      ),
    ).length,
    0,
  );
  assert.equal(
    run(exposedDashboardDetector(), event(svc('create', 'web', 'shop', lbService('web', { app: 'web' })))).length,
    0,
  );
  assert.equal(
    run(
      exposedDashboardDetector(),
      event(
        svc(
          'create',
          'kubernetes-dashboard',
          'kubernetes-dashboard',
          lbService('kubernetes-dashboard', {}, { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' }),
        ),
      ),
    ).length,
    0,
    'internal load balancer',
  );
  assert.equal(
    run(
      exposedDashboardDetector(),
      event(svc('patch', 'kubernetes-dashboard', 'kubernetes-dashboard', { metadata: { labels: { a: 'b' } } })),
    ).length,
    0,
    'patch not touching type',
  );
  const falco = fromRaw(
    JSON.parse(readFileSync(sharedPath('corpus', 'falco', 'fixtures', 'create_nginx_service_nodeport.json'), 'utf8')),
  );
  assert.equal(run(exposedDashboardDetector(), falco).length, 0);
});

test('ExposedDashboard: AWS Load Balancer Controller NLBs are internal unless internet-facing', () => {
  const fire = (annotations: Record<string, string>, loadBalancerClass?: string): number => {
    const body = lbService('kubernetes-dashboard', { 'k8s-app': 'kubernetes-dashboard' }, annotations) as {
      spec: Record<string, unknown>;
    };
    if (loadBalancerClass !== undefined) body.spec['loadBalancerClass'] = loadBalancerClass;
    return run(exposedDashboardDetector(), event(svc('create', 'kubernetes-dashboard', 'kubernetes-dashboard', body)))
      .length;
  };
  const TYPE = 'service.beta.kubernetes.io/aws-load-balancer-type';
  const SCHEME = 'service.beta.kubernetes.io/aws-load-balancer-scheme';
  assert.equal(fire({ [TYPE]: 'external' }), 0, 'LBC default scheme is internal');
  assert.equal(fire({ [TYPE]: 'nlb-ip' }), 0);
  assert.equal(fire({}, 'service.k8s.aws/nlb'), 0);
  assert.equal(fire({}, 'eks.amazonaws.com/nlb'), 0, 'EKS Auto Mode');
  assert.equal(fire({ [TYPE]: 'external', [SCHEME]: 'internet-facing' }), 1);
  assert.equal(fire({ [SCHEME]: 'internet-facing' }, 'service.k8s.aws/nlb'), 1);
  assert.equal(fire({ [TYPE]: 'nlb' }), 1, 'in-tree NLB is internet-facing by default');
  assert.equal(fire({}), 1, 'in-tree CLB');
  assert.equal(fire({}, 'example.com/other'), 1, 'another controller: not known to be internal');
});

test('KubeflowDashboardExposed: centraldashboard in kubeflow, and not the Kubernetes dashboard', () => {
  assert.equal(
    run(
      kubeflowDashboardExposedDetector(),
      event(svc('create', 'centraldashboard', 'kubeflow', lbService('centraldashboard', { app: 'centraldashboard' }))),
    ).length,
    1,
  );
  assert.equal(
    run(
      kubeflowDashboardExposedDetector(),
      event(svc('patch', 'ml-pipeline-ui', 'kubeflow', [{ op: 'replace', path: '/spec/type', value: 'LoadBalancer' }])),
    ).length,
    1,
  );
  assert.equal(
    run(
      kubeflowDashboardExposedDetector(),
      event(svc('create', 'kubernetes-dashboard', 'kubernetes-dashboard', lbService('kubernetes-dashboard'))),
    ).length,
    0,
  );
  assert.equal(
    run(
      kubeflowDashboardExposedDetector(),
      event(svc('create', 'centraldashboard', 'kubeflow', { kind: 'Service', spec: { type: 'NodePort' } })),
    ).length,
    0,
  );
});

test('ExecInKubeSystemPod: SPDY create and WebSocket get on pods/exec in kube-system only', () => {
  const d = execInKubeSystemPodDetector();
  const exec = (ns: string, verb = 'create', extra: Partial<EventSpec> = {}) =>
    event({
      verb,
      resource: 'pods',
      subresource: 'exec',
      namespace: ns,
      name: 'coredns-5d78c9869d-abcde',
      code: 101,
      requestURI: `/api/v1/namespaces/${ns}/pods/coredns-5d78c9869d-abcde/exec?command=sh&command=-c&command=cat+%2Fetc%2Fshadow&stdin=true`,
      raw: { stage: 'ResponseStarted' },
      ...extra,
    });
  const hits = run(d, exec('kube-system'));
  assert.equal(hits.length, 1);
  assert.deepEqual((hits[0]!.details as { command: string[] }).command, ['sh', '-c', 'cat /etc/shadow']);
  assert.equal(run(d, exec('kube-system', 'get')).length, 1);
  assert.equal(run(d, exec('default')).length, 0);
  assert.equal(
    run(d, exec('kube-system', 'create', { code: 403, raw: { stage: 'ResponseComplete' } })).length,
    0,
    'denied',
  );
  // Both stages of one exec stream reach the detector once, through the pipeline's stage rule.
  const dedupe = new StageDeduper();
  const stages = [
    exec('kube-system', 'create', { auditID: 'stream-1' }),
    exec('kube-system', 'create', { auditID: 'stream-1', raw: { stage: 'ResponseComplete' } }),
  ];
  const dispatched = [...stages.flatMap((e) => dedupe.push(e).dispatch), ...dedupe.flush()];
  assert.equal(run(d, ...dispatched).length, 1, 'one finding for the two stages of one stream');
  assert.equal(
    run(
      d,
      event({
        verb: 'create',
        resource: 'pods',
        subresource: 'attach',
        namespace: 'kube-system',
        name: 'x',
        code: 101,
        raw: { stage: 'ResponseStarted' },
      }),
    ).length,
    0,
  );
  // Falco's exec fixture is in namespace default: no finding; the same event moved to kube-system fires.
  const raw = JSON.parse(readFileSync(sharedPath('corpus', 'falco', 'fixtures', 'exec_pod.json'), 'utf8'));
  assert.equal(run(execInKubeSystemPodDetector(), fromRaw(raw)).length, 0);
  raw.objectRef.namespace = 'kube-system';
  assert.equal(run(execInKubeSystemPodDetector(), fromRaw(raw)).length, 1);
});
