/**
 * A scripted, coherent attack by one actor, for the shipped examples and the demo: anonymous
 * probing from an external address, then a stolen IAM identity used from a Tor exit node to
 * read secrets, exec into a kube-system pod, plant a privileged DaemonSet with the host's / mounted,
 * bind the default service account to cluster-admin and expose the Kubernetes dashboard
 * through a LoadBalancer; finally the attacker comes back with the default service account's
 * token from the first address. Each step says what a scanner should report.
 */
import {
  clusterRoleBindingObject,
  daemonSetObject,
  execSpec,
  loadBalancerPatch,
  MALICIOUS_IPS,
  privilegedSpec,
  TOR_EXIT_IPS,
  type AttackKind,
} from './generator-attacks.js';
import { iamActor, serviceAccountActor, type Actor, type RequestSpec } from './generator-events.js';
import type { GeneratedEvent, TrafficModel } from './generator.js';
import { Rng } from './generator-prng.js';

export interface StoryStep {
  /** Seconds after the story's start. */
  readonly at: number;
  readonly spec: RequestSpec;
  /** Attack family for labelling; null for side effects by cluster components. */
  readonly attack: AttackKind | null;
  /** What happens, for the README. */
  readonly note: string;
  /** GuardDuty-equivalent findings this step should raise (empty: context only). */
  readonly expect: readonly string[];
}

export const STORY_ANON_IP = MALICIOUS_IPS[0]!; // 203.0.113.77, on the example malicious-IP list
export const STORY_TOR_IP = TOR_EXIT_IPS[0]!; // 198.51.100.23, on the example Tor exit list
export const STORY_IDENTITY = 'ops-deploy';
export const STORY_DAEMONSET = 'node-health-agent';
export const STORY_BINDING = 'default-sa-cluster-admin';

const MASTERS =
  'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"';

export function attackStory(model: TrafficModel, seed: number): StoryStep[] {
  const rng = new Rng((seed ^ 0x570a1e55) >>> 0);
  const c = model.cluster;
  const anon: Actor = {
    username: 'system:anonymous',
    groups: ['system:unauthenticated'],
    sourceIPs: [STORY_ANON_IP],
    userAgent: 'python-requests/2.31.0',
  };
  const stolen = iamActor(rng, c.accountId, {
    username: STORY_IDENTITY,
    role: 'OpsDeployRole',
    session: 'ops-deploy-pipeline',
    groups: ['system:masters'],
    sourceIP: STORY_TOR_IP,
    userAgent: 'kubectl/v1.28.4 (linux/amd64) kubernetes/bae2c62',
  });
  const dsController = serviceAccountActor(
    rng,
    'kube-system',
    'daemon-set-controller',
    '10.0.160.11',
    `kube-controller-manager/${c.kubeVersion} (linux/amd64) kubernetes/036c24b/system:serviceaccount:kube-system:daemon-set-controller`,
  );
  const defaultSa = serviceAccountActor(rng, 'default', 'default', STORY_ANON_IP, 'curl/8.5.0');
  const execPod = c.systemPods['aws-node'][0]!;
  const payments = c.workloads.find((w) => w.namespace === 'payments')!;
  const ds = daemonSetObject(STORY_DAEMONSET, 'kube-system', privilegedSpec('alpine:3.19', '/', true));
  const crb = clusterRoleBindingObject(STORY_BINDING, 'cluster-admin', {
    kind: 'ServiceAccount',
    name: 'default',
    namespace: 'default',
  });
  const publicInfo =
    'RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of ClusterRole "system:public-info-viewer" to Group "system:unauthenticated"';
  const anonView =
    'RBAC: allowed by ClusterRoleBinding "anonymous-view" of ClusterRole "view" to User "system:anonymous"';
  const saAdmin = `RBAC: allowed by ClusterRoleBinding "${STORY_BINDING}" of ClusterRole "cluster-admin" to ServiceAccount "default/default"`;
  const steps: StoryStep[] = [
    {
      at: 0,
      attack: 'anonymous-access',
      note: 'anonymous probe: API server version',
      expect: [],
      spec: { actor: anon, verb: 'get', requestURI: '/version', code: 200, level: 'Metadata', authzReason: publicInfo },
    },
    {
      at: 2,
      attack: 'anonymous-access',
      note: 'anonymous probe: kube-system secrets (denied)',
      expect: [],
      spec: {
        actor: anon,
        verb: 'list',
        requestURI: '/api/v1/namespaces/kube-system/secrets',
        objectRef: { resource: 'secrets', namespace: 'kube-system', apiVersion: 'v1' },
        code: 403,
        level: 'Metadata',
      },
    },
    {
      at: 5,
      attack: 'anonymous-access',
      note: 'anonymous probe: namespaces (denied)',
      expect: [],
      spec: {
        actor: anon,
        verb: 'list',
        requestURI: '/api/v1/namespaces',
        objectRef: { resource: 'namespaces', apiVersion: 'v1' },
        code: 403,
        level: 'Metadata',
      },
    },
    {
      at: 9,
      attack: 'anonymous-access',
      note: 'anonymous lists every pod: succeeds through a leftover "anonymous-view" binding',
      expect: ['Discovery:Kubernetes/SuccessfulAnonymousAccess'],
      spec: {
        actor: anon,
        verb: 'list',
        requestURI: '/api/v1/pods?limit=500',
        objectRef: { resource: 'pods', apiVersion: 'v1' },
        code: 200,
        level: 'Metadata',
        authzReason: anonView,
      },
    },
    {
      at: 14,
      attack: 'anonymous-access',
      note: 'anonymous probe: aws-auth ConfigMap (denied)',
      expect: [],
      spec: {
        actor: anon,
        verb: 'get',
        requestURI: '/api/v1/namespaces/kube-system/configmaps/aws-auth',
        objectRef: { resource: 'configmaps', namespace: 'kube-system', name: 'aws-auth', apiVersion: 'v1' },
        code: 403,
        level: 'Metadata',
      },
    },
    // ~13 minutes later: the stolen IAM identity, from a Tor exit node.
    {
      at: 778,
      attack: 'malicious-ip-call',
      note: `stolen IAM identity ${STORY_IDENTITY} from a Tor exit: API discovery`,
      expect: [],
      spec: { actor: stolen, verb: 'get', requestURI: '/api', code: 200, level: 'Metadata', authzReason: MASTERS },
    },
    {
      at: 779,
      attack: 'malicious-ip-call',
      note: 'API discovery',
      expect: [],
      spec: { actor: stolen, verb: 'get', requestURI: '/apis', code: 200, level: 'Metadata', authzReason: MASTERS },
    },
    {
      at: 786,
      attack: 'malicious-ip-call',
      note: 'checks its own permissions (kubectl auth can-i --list)',
      expect: ['Discovery:Kubernetes/TorIPCaller'],
      spec: {
        actor: stolen,
        verb: 'create',
        requestURI: '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
        objectRef: { resource: 'selfsubjectrulesreviews', apiGroup: 'authorization.k8s.io', apiVersion: 'v1' },
        code: 201,
        level: 'Metadata',
        authzReason: MASTERS,
      },
    },
    {
      at: 807,
      attack: 'malicious-ip-call',
      note: 'lists namespaces',
      expect: ['Discovery:Kubernetes/TorIPCaller'],
      spec: {
        actor: stolen,
        verb: 'list',
        requestURI: '/api/v1/namespaces?limit=500',
        objectRef: { resource: 'namespaces', apiVersion: 'v1' },
        code: 200,
        level: 'Metadata',
        authzReason: MASTERS,
      },
    },
    {
      at: 828,
      attack: 'malicious-ip-call',
      note: 'lists every secret in the cluster',
      expect: ['CredentialAccess:Kubernetes/TorIPCaller'],
      spec: {
        actor: stolen,
        verb: 'list',
        requestURI: '/api/v1/secrets?limit=500',
        objectRef: { resource: 'secrets', apiVersion: 'v1' },
        code: 200,
        level: 'Metadata',
        authzReason: MASTERS,
      },
    },
    {
      at: 856,
      attack: 'malicious-ip-call',
      note: 'reads the payments database credentials',
      expect: ['CredentialAccess:Kubernetes/TorIPCaller'],
      spec: {
        actor: stolen,
        verb: 'get',
        requestURI: '/api/v1/namespaces/payments/secrets/payments-db-credentials',
        objectRef: {
          resource: 'secrets',
          namespace: payments.namespace,
          name: 'payments-db-credentials',
          apiVersion: 'v1',
        },
        code: 200,
        level: 'Metadata',
        authzReason: MASTERS,
      },
    },
    {
      at: 877,
      attack: 'malicious-ip-call',
      note: 'lists kube-system pods',
      expect: ['Discovery:Kubernetes/TorIPCaller'],
      spec: {
        actor: stolen,
        verb: 'list',
        requestURI: '/api/v1/namespaces/kube-system/pods?limit=500',
        objectRef: { resource: 'pods', namespace: 'kube-system', apiVersion: 'v1' },
        code: 200,
        level: 'Metadata',
        authzReason: MASTERS,
      },
    },
    {
      at: 911,
      attack: 'exec-kube-system',
      note: `exec into kube-system/${execPod} (47 s session: ResponseStarted + ResponseComplete)`,
      expect: ['Execution:Kubernetes/ExecInKubeSystemPod', 'Execution:Kubernetes/TorIPCaller'],
      spec: execSpec(
        stolen,
        'kube-system',
        execPod,
        'aws-node',
        ['sh', '-c', 'id; cat /var/run/secrets/kubernetes.io/serviceaccount/token'],
        47_000,
        MASTERS,
      ),
    },
    {
      at: 1038,
      attack: 'privileged-daemonset',
      note: `creates DaemonSet kube-system/${STORY_DAEMONSET}: privileged, hostPID, hostNetwork, hostPath / mounted at /host`,
      expect: [
        'PrivilegeEscalation:Kubernetes/PrivilegedContainer',
        'Persistence:Kubernetes/ContainerWithSensitiveMount',
        'Persistence:Kubernetes/TorIPCaller',
      ],
      spec: {
        actor: stolen,
        verb: 'create',
        requestURI: '/apis/apps/v1/namespaces/kube-system/daemonsets?fieldManager=kubectl-client-side-apply',
        objectRef: {
          resource: 'daemonsets',
          namespace: 'kube-system',
          name: STORY_DAEMONSET,
          apiGroup: 'apps',
          apiVersion: 'v1',
        },
        code: 201,
        level: 'RequestResponse',
        requestObject: ds,
        responseObject: ds,
        authzReason: MASTERS,
      },
    },
    ...c.nodes.map((n, i): StoryStep => ({
      at: 1039 + i * 0.15,
      attack: null,
      note: `daemon-set-controller creates ${STORY_DAEMONSET} pod on ${n.name}`,
      expect: [],
      spec: {
        actor: dsController,
        verb: 'create',
        requestURI: '/api/v1/namespaces/kube-system/pods',
        objectRef: { resource: 'pods', namespace: 'kube-system', apiVersion: 'v1' },
        code: 201,
        level: 'Metadata',
        annotations: { 'pod-security.kubernetes.io/enforce-policy': 'privileged:latest' },
      },
    })),
    {
      at: 1183,
      attack: 'cluster-admin-default-sa',
      note: `creates ClusterRoleBinding ${STORY_BINDING}: cluster-admin for ServiceAccount default/default`,
      expect: ['Policy:Kubernetes/AdminAccessToDefaultServiceAccount', 'Persistence:Kubernetes/TorIPCaller'],
      spec: {
        actor: stolen,
        verb: 'create',
        requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create',
        objectRef: {
          resource: 'clusterrolebindings',
          name: STORY_BINDING,
          apiGroup: 'rbac.authorization.k8s.io',
          apiVersion: 'v1',
        },
        code: 201,
        level: 'RequestResponse',
        requestObject: crb,
        responseObject: crb,
        authzReason: MASTERS,
      },
    },
    {
      at: 1286,
      attack: 'dashboard-exposed',
      note: 'patches Service kubernetes-dashboard/kubernetes-dashboard to type LoadBalancer',
      expect: ['Policy:Kubernetes/ExposedDashboard', 'Impact:Kubernetes/TorIPCaller'],
      spec: loadBalancerPatch(
        stolen,
        'kubernetes-dashboard',
        'kubernetes-dashboard',
        { 'k8s-app': 'kubernetes-dashboard' },
        443,
        8443,
        MASTERS,
      ),
    },
    {
      at: 1316,
      attack: 'malicious-ip-call',
      note: 'reads the Service back to get its load balancer address',
      expect: [],
      spec: {
        actor: stolen,
        verb: 'get',
        requestURI: '/api/v1/namespaces/kubernetes-dashboard/services/kubernetes-dashboard',
        objectRef: {
          resource: 'services',
          namespace: 'kubernetes-dashboard',
          name: 'kubernetes-dashboard',
          apiVersion: 'v1',
        },
        code: 200,
        level: 'Metadata',
        authzReason: MASTERS,
      },
    },
    // Back through the new door: the default service account's token, from the first address.
    {
      at: 1581,
      attack: 'malicious-ip-call',
      note: `the default service account's token used from ${STORY_ANON_IP}: lists every secret`,
      expect: ['CredentialAccess:Kubernetes/MaliciousIPCaller'],
      spec: {
        actor: defaultSa,
        verb: 'list',
        requestURI: '/api/v1/secrets?limit=500',
        objectRef: { resource: 'secrets', apiVersion: 'v1' },
        code: 200,
        level: 'Metadata',
        authzReason: saAdmin,
      },
    },
    {
      at: 1590,
      attack: 'malicious-ip-call',
      note: 'and lists cluster role bindings',
      expect: ['Discovery:Kubernetes/MaliciousIPCaller'],
      spec: {
        actor: defaultSa,
        verb: 'list',
        requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
        objectRef: { resource: 'clusterrolebindings', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1' },
        code: 200,
        level: 'Metadata',
        authzReason: saAdmin,
      },
    },
  ];
  return steps;
}

/** The story's audit events, starting at `startMicros`, in stage-time order. */
export function storyEvents(model: TrafficModel, steps: readonly StoryStep[], startMicros: number): GeneratedEvent[] {
  const out: GeneratedEvent[] = [];
  // Sub-second jitter so times do not look scripted; below the closest step gap (0.15 s).
  const jitter = new Rng(0x71773e5);
  for (const s of steps)
    out.push(...model.stages(s.spec, startMicros + Math.round(s.at * 1_000_000) + jitter.int(0, 120_000), s.attack));
  return out.sort((a, b) => a.atMicros - b.atMicros);
}
