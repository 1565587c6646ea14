/**
 * The criteria AWS does not publish, in one table each, every entry with its reason.
 *
 * GuardDuty says an API "commonly used to access credentials", "evade defensive measures",
 * "discover resources", "tamper with resources" or "obtain persistent access" was called, but not
 * which calls those are; nor which host paths are sensitive or what makes a Service the
 * Kubernetes or Kubeflow dashboard. These tables are our answer. README.md beside this file
 * explains them for users; change both together.
 */

export type ApiTactic = 'CredentialAccess' | 'DefenseEvasion' | 'Discovery' | 'Impact' | 'Persistence';

export interface ApiCriterion {
  readonly verbs: readonly string[];
  /** objectRef.resource values; `null` means non-resource URLs (/api, /openapi/v2, /version …). */
  readonly resources: readonly string[] | null;
  /** Required subresources; absent means the request must have none. */
  readonly subresources?: readonly string[];
  /** Only these object names (objectRef.name). */
  readonly names?: readonly string[];
  /** Only in these namespaces. */
  readonly namespaces?: readonly string[];
  readonly why: string;
}

const READ = ['get', 'list', 'watch'] as const;
const WRITE = ['create', 'update', 'patch'] as const;
const DELETE = ['delete', 'deletecollection'] as const;

export const API_TACTIC_CRITERIA = {
  CredentialAccess: [
    {
      verbs: READ,
      resources: ['secrets'],
      why: 'Reading Secrets returns their values: service account tokens, registry passwords, TLS keys, cloud keys.',
    },
    {
      verbs: ['create'],
      resources: ['serviceaccounts'],
      subresources: ['token'],
      why: 'The TokenRequest API mints a bearer token for a service account: a credential made on demand.',
    },
    {
      verbs: ['get'],
      resources: ['configmaps'],
      names: ['aws-auth'],
      namespaces: ['kube-system'],
      why: 'On EKS, aws-auth lists which IAM roles and users map to which Kubernetes identities: the map of credentials worth stealing.',
    },
  ],
  DefenseEvasion: [
    {
      verbs: DELETE,
      resources: ['events'],
      why: 'Deleting Events erases the cluster’s own record of what happened (core and events.k8s.io share the resource name).',
    },
    {
      verbs: DELETE,
      resources: [
        'validatingwebhookconfigurations',
        'mutatingwebhookconfigurations',
        'validatingadmissionpolicies',
        'validatingadmissionpolicybindings',
      ],
      why: 'Removing admission control switches off policy engines (Gatekeeper, Kyverno, image signature checks) before a forbidden workload is deployed.',
    },
    {
      verbs: DELETE,
      resources: ['networkpolicies'],
      why: 'Removing NetworkPolicies lifts segmentation ahead of lateral movement or exfiltration.',
    },
    {
      verbs: ['update', 'patch', 'delete'],
      resources: ['configmaps'],
      names: ['aws-logging'],
      namespaces: ['aws-observability'],
      why: 'On EKS Fargate, the aws-logging ConfigMap routes container logs; changing or removing it silences them.',
    },
  ],
  Discovery: [
    {
      verbs: READ,
      resources: [
        'pods',
        'nodes',
        'namespaces',
        'services',
        'endpoints',
        'endpointslices',
        'serviceaccounts',
        'configmaps',
        'deployments',
        'daemonsets',
        'statefulsets',
        'replicasets',
        'jobs',
        'cronjobs',
        'ingresses',
        'networkpolicies',
        'roles',
        'rolebindings',
        'clusterroles',
        'clusterrolebindings',
        'persistentvolumes',
        'persistentvolumeclaims',
        'customresourcedefinitions',
        'apiservices',
        'mutatingwebhookconfigurations',
        'validatingwebhookconfigurations',
      ],
      why: 'Listing workloads, nodes, network objects and RBAC maps the cluster and shows what a credential can reach next.',
    },
    {
      verbs: ['create'],
      resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'selfsubjectreviews'],
      why: '`kubectl auth can-i` and `kubectl auth whoami`: a stolen credential asking what it may do.',
    },
    {
      verbs: ['get'],
      resources: null,
      why: 'Non-resource URLs (/api, /apis, /openapi/v2, /version, /metrics) enumerate the API surface and version, the first step of scanners.',
    },
  ],
  Impact: [
    {
      verbs: DELETE,
      resources: [
        'pods',
        'deployments',
        'daemonsets',
        'statefulsets',
        'replicasets',
        'jobs',
        'cronjobs',
        'services',
        'namespaces',
        'nodes',
        'persistentvolumes',
        'persistentvolumeclaims',
        'configmaps',
        'secrets',
      ],
      why: 'Deleting workloads, storage, namespaces or nodes interrupts service or destroys data.',
    },
    {
      verbs: ['update', 'patch'],
      resources: ['deployments', 'statefulsets', 'replicasets', 'replicationcontrollers'],
      subresources: ['scale'],
      why: 'Scaling to zero stops a service; scaling up runs miners on the cluster’s capacity.',
    },
    {
      verbs: ['update', 'patch'],
      resources: ['deployments', 'daemonsets', 'statefulsets', 'cronjobs'],
      why: 'Rewriting a workload’s spec swaps its image or command: hijacking a trusted workload.',
    },
  ],
  Persistence: [
    {
      verbs: WRITE,
      resources: ['clusterrolebindings', 'rolebindings', 'clusterroles', 'roles'],
      why: 'RBAC grants outlive the credential that made them and hand high-level permissions to an identity the attacker holds.',
    },
    {
      verbs: ['create'],
      resources: ['serviceaccounts'],
      why: 'A new service account is an identity the defenders do not know about.',
    },
    {
      verbs: ['create'],
      resources: ['certificatesigningrequests'],
      why: 'A signed client certificate is a long-lived credential that cannot be revoked without rotating the cluster CA.',
    },
    {
      verbs: ['update', 'patch'],
      resources: ['certificatesigningrequests'],
      subresources: ['approval'],
      why: 'Approving a CSR issues that certificate.',
    },
    {
      verbs: ['create'],
      resources: ['daemonsets', 'cronjobs'],
      why: 'Code on every node, or re-run on a schedule, survives the deletion of any single pod.',
    },
    {
      verbs: WRITE,
      resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
      why: 'A webhook sees (and a mutating one rewrites) every new object: it can inject a container into every pod.',
    },
    {
      verbs: WRITE,
      resources: ['configmaps'],
      names: ['aws-auth'],
      namespaces: ['kube-system'],
      why: 'On EKS, an aws-auth entry maps an IAM principal to Kubernetes groups such as system:masters: a backdoor outside Kubernetes RBAC.',
    },
  ],
} as const satisfies Record<ApiTactic, readonly ApiCriterion[]>;

/**
 * Health endpoints, excluded from Discovery:SuccessfulAnonymousAccess as GuardDuty documents:
 * Kubernetes grants them to everyone (ClusterRole system:public-info-viewer) and load balancers
 * probe them constantly. Matched as the path itself, a sub-path (/healthz/etcd) or with a query.
 */
export const HEALTH_ENDPOINTS: readonly string[] = ['/healthz', '/livez', '/readyz', '/version'];

export function isHealthEndpoint(requestURI: string | null): boolean {
  if (requestURI === null) return false;
  const q = requestURI.indexOf('?');
  const path = q >= 0 ? requestURI.slice(0, q) : requestURI;
  for (const h of HEALTH_ENDPOINTS) {
    if (path === h || path.startsWith(h + '/')) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------

export interface SensitivePath {
  readonly path: string;
  readonly why: string;
}

/**
 * Host paths that give a container the host. A hostPath volume is sensitive when it is one of
 * these, lies under one, or is a parent of one (mounting /var exposes /var/lib/kubelet).
 * Only writable mounts count, as GuardDuty says ("with write access"): read-only /proc and /sys
 * mounts of node exporters stay quiet.
 */
export const SENSITIVE_HOST_PATHS = [
  { path: '/', why: 'The whole host filesystem.' },
  {
    path: '/etc',
    why: 'Host configuration: passwd/shadow, sudoers, cron, systemd units, /etc/kubernetes and kubelet credentials.',
  },
  { path: '/root', why: 'root’s home: SSH keys, shell history, cloud and kube configs.' },
  { path: '/home', why: 'Users’ homes: SSH authorized_keys and credentials.' },
  {
    path: '/proc',
    why: 'Writable /proc lets a container set kernel parameters (core_pattern) and reach other processes: a known escape.',
  },
  { path: '/sys', why: 'Writable /sys exposes cgroup release_agent and kernel settings: a known escape.' },
  { path: '/dev', why: 'Host devices, including the raw disks.' },
  { path: '/boot', why: 'Kernel and boot loader: persistence below the OS.' },
  {
    path: '/var/lib/kubelet',
    why: 'The kubelet’s credentials and every pod’s mounted Secrets and service account tokens.',
  },
  { path: '/var/lib/docker', why: 'Every container’s filesystem on the node.' },
  { path: '/var/lib/containerd', why: 'Every container’s filesystem on the node.' },
  { path: '/var/run/docker.sock', why: 'Container runtime socket: starts privileged containers on the host.' },
  { path: '/run/docker.sock', why: 'Container runtime socket.' },
  { path: '/var/run/containerd', why: 'containerd socket directory: full control of the node’s containers.' },
  { path: '/run/containerd', why: 'containerd socket directory.' },
  { path: '/var/run/crio', why: 'CRI-O socket directory.' },
  { path: '/run/crio', why: 'CRI-O socket directory.' },
] as const satisfies readonly SensitivePath[];

/** Lexically normalize a host path: collapse slashes, drop `.`, resolve `..`, strip trailing `/`. */
export function normalizeHostPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

/** The sensitive entry a host path exposes, or null. */
export function sensitiveHostPath(raw: string): SensitivePath | null {
  if (raw === '') return null;
  const p = normalizeHostPath(raw);
  for (const s of SENSITIVE_HOST_PATHS) {
    if (p === s.path) return s;
    if (s.path !== '/' && p.startsWith(s.path + '/')) return s;
    if (s.path.startsWith(p === '/' ? '/' : p + '/')) return s;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------

export interface DashboardCriteria {
  /** Service names that are the dashboard. */
  readonly names: readonly string[];
  /** Label or selector keys whose value names the app … */
  readonly labelKeys: readonly string[];
  /** … and the values that mean this dashboard. */
  readonly labelValues: readonly string[];
  /** Namespaces where any LoadBalancer Service is the dashboard. */
  readonly namespaces: readonly string[];
  readonly why: string;
}

const APP_LABEL_KEYS = [
  'k8s-app',
  'app',
  'app.kubernetes.io/name',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/component',
];

export const DASHBOARD_CRITERIA = {
  kubernetes: {
    names: ['kubernetes-dashboard', 'kubernetes-dashboard-kong-proxy', 'kubernetes-dashboard-web'],
    labelKeys: APP_LABEL_KEYS,
    labelValues: ['kubernetes-dashboard', 'kubernetes-dashboard-kong'],
    namespaces: ['kubernetes-dashboard'],
    why:
      'The upstream manifests name the Service kubernetes-dashboard (label k8s-app) in namespace kubernetes-dashboard; ' +
      'Helm chart v7 fronts it with kubernetes-dashboard-kong-proxy (labels app.kubernetes.io/part-of).',
  },
  kubeflow: {
    names: ['centraldashboard', 'ml-pipeline-ui', 'katib-ui', 'jupyter-web-app-service'],
    labelKeys: APP_LABEL_KEYS,
    labelValues: ['centraldashboard', 'ml-pipeline-ui', 'katib-ui', 'jupyter-web-app'],
    namespaces: ['kubeflow'],
    why:
      'Kubeflow’s UI is the centraldashboard Service (app: centraldashboard) with the pipelines, Katib and notebook UIs ' +
      'behind it, all in namespace kubeflow. istio-ingressgateway is not counted: it fronts more than Kubeflow.',
  },
} as const satisfies Record<'kubernetes' | 'kubeflow', DashboardCriteria>;

/**
 * Annotations that make a LoadBalancer internal (not reachable from the internet), by cloud.
 * A Service carrying one is not "exposed to the internet".
 */
export const INTERNAL_LB_ANNOTATIONS: readonly { readonly key: string; readonly values: readonly string[] }[] = [
  { key: 'service.beta.kubernetes.io/aws-load-balancer-internal', values: ['true', '0.0.0.0/0'] },
  { key: 'service.beta.kubernetes.io/aws-load-balancer-scheme', values: ['internal'] },
  { key: 'service.beta.kubernetes.io/azure-load-balancer-internal', values: ['true'] },
  { key: 'networking.gke.io/load-balancer-type', values: ['Internal'] },
  { key: 'cloud.google.com/load-balancer-type', values: ['Internal'] },
];

/**
 * Load balancers that are internal unless the Service asks otherwise. The AWS Load Balancer
 * Controller (v2.2.0 and later) provisions an internal NLB unless
 * `service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing`; it handles a Service
 * whose `aws-load-balancer-type` is `external` or `nlb-ip`, or whose loadBalancerClass is its own
 * (`service.k8s.aws/nlb`) or EKS Auto Mode's (`eks.amazonaws.com/nlb`). The in-tree controller
 * (no annotation, or `aws-load-balancer-type: nlb`) is internet-facing by default and still counts.
 */
export const INTERNAL_BY_DEFAULT_LB = {
  typeAnnotation: 'service.beta.kubernetes.io/aws-load-balancer-type',
  types: ['external', 'nlb-ip'],
  classes: ['service.k8s.aws/nlb', 'eks.amazonaws.com/nlb'],
  schemeAnnotation: 'service.beta.kubernetes.io/aws-load-balancer-scheme',
  publicScheme: 'internet-facing',
} as const;

// ---------------------------------------------------------------------------------------------

/** ClusterRoles that are "admin privileges": the two built-in roles with full (namespace) control. */
export const ADMIN_ROLES: readonly string[] = ['cluster-admin', 'admin'];

/** Subjects that mean "unauthenticated callers". */
export const ANONYMOUS_SUBJECTS: readonly { readonly kind: string; readonly name: string }[] = [
  { kind: 'User', name: 'system:anonymous' },
  { kind: 'Group', name: 'system:unauthenticated' },
];

/**
 * Bindings the apiserver itself makes at start-up to unauthenticated users: Kubernetes' default
 * public-info-viewer grant (health and version). Not an attacker's doing.
 */
export const BOOTSTRAP_ANONYMOUS_GRANTS: readonly { readonly actor: string; readonly roleRefName: string }[] = [
  { actor: 'system:apiserver', roleRefName: 'system:public-info-viewer' },
];
