/**
 * Attack traffic, one builder per GuardDuty EKS audit-log finding family we emulate
 * (reference: GuardDuty "EKS audit log monitoring finding types"):
 *
 * | kind                       | what the events show                                  | GuardDuty finding it should raise                 |
 * |----------------------------|-------------------------------------------------------|---------------------------------------------------|
 * | anonymous-access           | system:anonymous lists secrets/pods, 200              | *:Kubernetes/SuccessfulAnonymousAccess            |
 * | anonymous-access-granted   | RoleBinding/ClusterRoleBinding to system:anonymous     | Policy:Kubernetes/AnonymousAccessGranted          |
 * | exec-kube-system           | pods/exec into a kube-system pod (101, two stages)     | Execution:Kubernetes/ExecInKubeSystemPod          |
 * | privileged-pod             | Pod with securityContext.privileged: true             | PrivilegeEscalation:Kubernetes/PrivilegedContainer|
 * | privileged-daemonset       | DaemonSet, privileged, hostPID, hostPath /            | PrivilegedContainer + ContainerWithSensitiveMount |
 * | hostpath-mount             | Pod mounting / , /var/run/docker.sock or /etc          | Persistence:Kubernetes/ContainerWithSensitiveMount|
 * | cluster-admin-default-sa   | ClusterRoleBinding cluster-admin → SA default          | Policy:Kubernetes/AdminAccessToDefaultServiceAccount |
 * | service-loadbalancer       | Service patched to type LoadBalancer                   | (exposure; Impact when from a bad IP)             |
 * | dashboard-exposed          | kubernetes-dashboard Service of type LoadBalancer      | Policy:Kubernetes/ExposedDashboard                |
 * | secrets-unusual-user       | a workload service account lists all secrets           | CredentialAccess:Kubernetes/AnomalousBehavior.SecretsAccessed |
 * | malicious-ip-call          | IAM user lists/gets secrets from a Tor or listed IP    | CredentialAccess:Kubernetes/TorIPCaller / MaliciousIPCaller |
 *
 * Every attacker address comes from the documentation ranges (198.51.100.0/24, 203.0.113.0/24,
 * 2001:db8::/32), never a real one.
 */
import {
  iamActor,
  podObject,
  serviceAccountActor,
  type Actor,
  type ClusterModel,
  type JsonObject,
  type RequestSpec,
} from './generator-events.js';
import type { Rng } from './generator-prng.js';

export const ATTACK_KINDS = [
  'anonymous-access',
  'anonymous-access-granted',
  'exec-kube-system',
  'privileged-pod',
  'privileged-daemonset',
  'hostpath-mount',
  'cluster-admin-default-sa',
  'service-loadbalancer',
  'dashboard-exposed',
  'secrets-unusual-user',
  'malicious-ip-call',
] as const;

export type AttackKind = (typeof ATTACK_KINDS)[number];

/** Addresses the example threat lists flag (documentation ranges only). */
export const TOR_EXIT_IPS: readonly string[] = ['198.51.100.23', '198.51.100.77', '198.51.100.142'];
export const MALICIOUS_IPS: readonly string[] = ['203.0.113.77', '203.0.113.99', '2001:db8:7a3::66'];
/** External, unlisted scanners (anonymous probing comes from anywhere). */
export const SCANNER_IPS: readonly string[] = ['203.0.113.12', '203.0.113.200', '198.51.100.201'];

const RBAC = 'rbac.authorization.k8s.io';
const ATTACKER_KUBECTL = 'kubectl/v1.28.4 (linux/amd64) kubernetes/bae2c62';

export interface AttackerPersonas {
  /** Stolen IAM identity mapped to system:masters. */
  readonly stolenAdmin: (sourceIP: string) => Actor;
  readonly anonymous: (sourceIP: string) => Actor;
  /** A compromised workload's service account, calling from its pod IP. */
  readonly compromisedWorkload: Actor;
}

export function attackerPersonas(rng: Rng, c: ClusterModel): AttackerPersonas {
  const base = iamActor(rng, c.accountId, {
    username: 'ops-deploy',
    role: 'OpsDeployRole',
    session: 'ops-deploy',
    groups: ['system:masters'],
    sourceIP: '0.0.0.0',
    userAgent: ATTACKER_KUBECTL,
  });
  return {
    stolenAdmin: (ip) => ({ ...base, sourceIPs: [ip] }),
    anonymous: (ip) => ({
      username: 'system:anonymous',
      groups: ['system:unauthenticated'],
      sourceIPs: [ip],
      userAgent: 'python-requests/2.31.0',
    }),
    compromisedWorkload: serviceAccountActor(
      rng,
      'web',
      'frontend',
      '10.0.37.201',
      'kubectl/v1.28.4 (linux/amd64) kubernetes/bae2c62',
    ),
  };
}

export function privilegedSpec(image: string, hostPath: string | null, privileged: boolean): JsonObject {
  const container: JsonObject = { name: 'agent', image, command: ['/bin/sh', '-c', 'sleep infinity'] };
  if (privileged) container['securityContext'] = { privileged: true };
  const spec: JsonObject = { containers: [container] };
  if (hostPath !== null) {
    container['volumeMounts'] = [{ name: 'host', mountPath: '/host' }];
    spec['volumes'] = [{ name: 'host', hostPath: { path: hostPath, type: '' } }];
  }
  if (privileged) {
    spec['hostPID'] = true;
    spec['hostNetwork'] = true;
  }
  return spec;
}

export function daemonSetObject(name: string, namespace: string, podSpec: JsonObject): JsonObject {
  return {
    kind: 'DaemonSet',
    apiVersion: 'apps/v1',
    metadata: { name, namespace, labels: { 'k8s-app': name } },
    spec: {
      selector: { matchLabels: { 'k8s-app': name } },
      template: {
        metadata: { labels: { 'k8s-app': name } },
        spec: { ...podSpec, tolerations: [{ operator: 'Exists' }] },
      },
    },
  };
}

export function clusterRoleBindingObject(name: string, role: string, subject: JsonObject): JsonObject {
  return {
    kind: 'ClusterRoleBinding',
    apiVersion: `${RBAC}/v1`,
    metadata: { name },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
    subjects: [subject],
  };
}

export function loadBalancerService(
  name: string,
  namespace: string,
  selector: Readonly<Record<string, string>>,
  port: number,
  targetPort: number,
): JsonObject {
  return {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: { name, namespace, labels: selector },
    spec: { type: 'LoadBalancer', selector, ports: [{ port, targetPort, protocol: 'TCP' }] },
  };
}

/** The request(s) one sprinkled attack of `kind` makes. */
export function attackRequests(kind: AttackKind, rng: Rng, c: ClusterModel, p: AttackerPersonas): RequestSpec[] {
  const badIP = (): string => rng.pick([...TOR_EXIT_IPS, ...MALICIOUS_IPS]);
  const attacker = p.stolenAdmin(badIP());
  const workload = rng.pick(c.workloads);
  const masters =
    'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"';
  switch (kind) {
    case 'anonymous-access': {
      const [uri, resource, ns] = rng.pick([
        ['/api/v1/namespaces/kube-system/secrets', 'secrets', 'kube-system'],
        ['/api/v1/pods', 'pods', undefined],
        ['/api/v1/namespaces/default/configmaps', 'configmaps', 'default'],
      ] as const);
      return [
        {
          actor: p.anonymous(rng.pick(SCANNER_IPS)),
          verb: 'list',
          requestURI: uri,
          objectRef: ns === undefined ? { resource, apiVersion: 'v1' } : { resource, namespace: ns, apiVersion: 'v1' },
          code: 200,
          level: 'Metadata',
          authzReason:
            'RBAC: allowed by ClusterRoleBinding "anonymous-view" of ClusterRole "view" to User "system:anonymous"',
        },
      ];
    }
    case 'anonymous-access-granted': {
      const obj = clusterRoleBindingObject(`anon-${rng.suffix(5)}`, 'view', {
        kind: 'User',
        apiGroup: RBAC,
        name: 'system:anonymous',
      });
      return [
        {
          actor: attacker,
          verb: 'create',
          requestURI: `/apis/${RBAC}/v1/clusterrolebindings?fieldManager=kubectl-create`,
          objectRef: {
            resource: 'clusterrolebindings',
            name: (obj['metadata'] as { name: string }).name,
            apiGroup: RBAC,
            apiVersion: 'v1',
          },
          code: 201,
          level: 'RequestResponse',
          requestObject: obj,
          responseObject: obj,
          authzReason: masters,
        },
      ];
    }
    case 'exec-kube-system': {
      const pod = rng.pick(c.systemPods['aws-node']);
      return [
        execSpec(
          attacker,
          'kube-system',
          pod,
          'aws-node',
          ['sh', '-c', 'cat /var/run/secrets/kubernetes.io/serviceaccount/token'],
          rng.int(5_000, 60_000),
          masters,
        ),
      ];
    }
    case 'privileged-pod':
    case 'hostpath-mount': {
      const name = `${rng.pick(['debug', 'diag', 'tmp', 'node-shell'])}-${rng.suffix(5)}`;
      const hostPath = kind === 'hostpath-mount' ? rng.pick(['/', '/var/run/docker.sock', '/etc']) : null;
      const pod = podObject(
        name,
        workload.namespace,
        null,
        privilegedSpec(rng.pick(['alpine:3.19', 'busybox:1.36', 'ubuntu:22.04']), hostPath, kind === 'privileged-pod'),
      );
      return [
        {
          actor: attacker,
          verb: 'create',
          requestURI: `/api/v1/namespaces/${workload.namespace}/pods?fieldManager=kubectl-run`,
          objectRef: { resource: 'pods', namespace: workload.namespace, name, apiVersion: 'v1' },
          code: 201,
          level: 'RequestResponse',
          requestObject: pod,
          responseObject: pod,
          authzReason: masters,
          annotations: { 'pod-security.kubernetes.io/enforce-policy': 'privileged:latest' },
        },
      ];
    }
    case 'privileged-daemonset': {
      const name = `node-${rng.pick(['monitor', 'health', 'agent'])}-${rng.suffix(4)}`;
      const ds = daemonSetObject(name, 'kube-system', privilegedSpec('alpine:3.19', '/', true));
      return [
        {
          actor: attacker,
          verb: 'create',
          requestURI: '/apis/apps/v1/namespaces/kube-system/daemonsets?fieldManager=kubectl-client-side-apply',
          objectRef: { resource: 'daemonsets', namespace: 'kube-system', name, apiGroup: 'apps', apiVersion: 'v1' },
          code: 201,
          level: 'RequestResponse',
          requestObject: ds,
          responseObject: ds,
          authzReason: masters,
        },
      ];
    }
    case 'cluster-admin-default-sa': {
      const ns = rng.pick(['default', workload.namespace]);
      const obj = clusterRoleBindingObject(`${ns}-sa-admin-${rng.suffix(4)}`, 'cluster-admin', {
        kind: 'ServiceAccount',
        name: 'default',
        namespace: ns,
      });
      return [
        {
          actor: attacker,
          verb: 'create',
          requestURI: `/apis/${RBAC}/v1/clusterrolebindings?fieldManager=kubectl-create`,
          objectRef: {
            resource: 'clusterrolebindings',
            name: (obj['metadata'] as { name: string }).name,
            apiGroup: RBAC,
            apiVersion: 'v1',
          },
          code: 201,
          level: 'RequestResponse',
          requestObject: obj,
          responseObject: obj,
          authzReason: masters,
        },
      ];
    }
    case 'service-loadbalancer':
      return [
        loadBalancerPatch(
          attacker,
          workload.namespace,
          workload.deployment,
          { app: workload.deployment },
          80,
          8080,
          masters,
        ),
      ];
    case 'dashboard-exposed': {
      const svc = loadBalancerService(
        'kubernetes-dashboard',
        'kubernetes-dashboard',
        { 'k8s-app': 'kubernetes-dashboard' },
        443,
        8443,
      );
      return [
        {
          actor: attacker,
          verb: 'create',
          requestURI: '/api/v1/namespaces/kubernetes-dashboard/services?fieldManager=kubectl-expose',
          objectRef: {
            resource: 'services',
            namespace: 'kubernetes-dashboard',
            name: 'kubernetes-dashboard',
            apiVersion: 'v1',
          },
          code: 201,
          level: 'RequestResponse',
          requestObject: svc,
          responseObject: svc,
          authzReason: masters,
        },
      ];
    }
    case 'secrets-unusual-user':
      return [
        {
          actor: p.compromisedWorkload,
          verb: 'list',
          requestURI: '/api/v1/secrets?limit=500',
          objectRef: { resource: 'secrets', apiVersion: 'v1' },
          code: 200,
          level: 'Metadata',
          authzReason:
            'RBAC: allowed by ClusterRoleBinding "frontend-legacy" of ClusterRole "secret-reader" to ServiceAccount "frontend/web"',
        },
      ];
    case 'malicious-ip-call': {
      const ns = workload.namespace;
      return rng.chance(0.5)
        ? [
            {
              actor: attacker,
              verb: 'list',
              requestURI: `/api/v1/namespaces/${ns}/secrets?limit=500`,
              objectRef: { resource: 'secrets', namespace: ns, apiVersion: 'v1' },
              code: 200,
              level: 'Metadata',
              authzReason: masters,
            },
          ]
        : [
            {
              actor: attacker,
              verb: 'get',
              requestURI: '/api/v1/namespaces/kube-system/configmaps/aws-auth',
              objectRef: { resource: 'configmaps', namespace: 'kube-system', name: 'aws-auth', apiVersion: 'v1' },
              code: 200,
              level: 'Metadata',
              authzReason: masters,
            },
          ];
    }
  }
}

export function execSpec(
  actor: Actor,
  namespace: string,
  pod: string,
  container: string,
  command: readonly string[],
  durationMs: number,
  authzReason: string,
): RequestSpec {
  const cmd = command.map((c) => `command=${encodeURIComponent(c)}`).join('&');
  return {
    actor,
    verb: 'create',
    requestURI: `/api/v1/namespaces/${namespace}/pods/${pod}/exec?${cmd}&container=${container}&stdin=true&stdout=true&tty=true`,
    objectRef: { resource: 'pods', namespace, name: pod, apiVersion: 'v1', subresource: 'exec' },
    code: 101,
    level: 'Metadata',
    authzReason,
    longRunningMs: durationMs,
  };
}

export function loadBalancerPatch(
  actor: Actor,
  namespace: string,
  name: string,
  selector: Readonly<Record<string, string>>,
  port: number,
  targetPort: number,
  authzReason: string,
): RequestSpec {
  return {
    actor,
    verb: 'patch',
    requestURI: `/api/v1/namespaces/${namespace}/services/${name}?fieldManager=kubectl-patch`,
    objectRef: { resource: 'services', namespace, name, apiVersion: 'v1' },
    code: 200,
    level: 'RequestResponse',
    requestObject: { spec: { type: 'LoadBalancer' } },
    responseObject: loadBalancerService(name, namespace, selector, port, targetPort),
    authzReason,
  };
}
