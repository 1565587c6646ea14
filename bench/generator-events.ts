/**
 * Building blocks of generated audit events: the cluster the traffic happens in (nodes,
 * namespaces, pods, IAM identities; all derived from the seed) and `buildRequest`, which turns
 * one API request into its audit.k8s.io/v1 event(s) the way kube-apiserver writes them: one
 * ResponseComplete event, or ResponseStarted + ResponseComplete for long-running requests
 * (watch, exec), with EKS user shapes (aws-iam-authenticator uids, user.extra IAM ARNs).
 */
import { Rng } from './generator-prng.js';

export type AuditLevel = 'Metadata' | 'Request' | 'RequestResponse';

/** A JSON object as written to the log (key order matters for byte-identical output). */
export type JsonObject = { [key: string]: unknown };

export interface Actor {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
  readonly sourceIPs: readonly string[];
  readonly userAgent: string;
}

export interface ObjectRef {
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly apiGroup?: string;
  readonly apiVersion: string;
  readonly subresource?: string;
}

export interface RequestSpec {
  readonly actor: Actor;
  readonly verb: string;
  readonly requestURI: string;
  /** Absent for non-resource URLs (/healthz, /api). */
  readonly objectRef?: ObjectRef;
  readonly code: number;
  readonly level: AuditLevel;
  readonly requestObject?: JsonObject;
  readonly responseObject?: JsonObject;
  /** RBAC reason for allowed requests; '' for the Node authorizer and non-RBAC decisions. */
  readonly authzReason?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Long-running requests (watch, exec): ResponseStarted now, ResponseComplete this much later. */
  readonly longRunningMs?: number;
}

/** One stage of a request, with its stage time in epoch microseconds for ordering. */
export interface StagedEvent {
  readonly atMicros: number;
  readonly event: JsonObject;
}

/** Microsecond ISO-8601 UTC, as kube-apiserver writes requestReceivedTimestamp. */
export function isoMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const sub = micros - ms * 1000;
  return `${new Date(ms).toISOString().slice(0, -1)}${String(sub).padStart(3, '0')}Z`;
}

const REASON_BY_CODE: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  422: 'Invalid',
  429: 'TooManyRequests',
};

function failureStatus(spec: RequestSpec): JsonObject {
  const reason = REASON_BY_CODE[spec.code] ?? 'InternalError';
  const o = spec.objectRef;
  const group = o?.apiGroup ?? '';
  const qualified = o === undefined ? '' : group === '' ? o.resource : `${o.resource}.${group}`;
  let message: string;
  switch (spec.code) {
    case 403:
      message =
        o === undefined
          ? `forbidden: User "${spec.actor.username}" cannot ${spec.verb} path "${spec.requestURI.split('?')[0] ?? ''}"`
          : `${qualified}${o.name !== undefined ? ` "${o.name}"` : ''} is forbidden: User "${spec.actor.username}" cannot ${spec.verb} resource "${o.resource}${o.subresource !== undefined ? '/' + o.subresource : ''}" in API group "${group}"${o.namespace !== undefined ? ` in the namespace "${o.namespace}"` : ' at the cluster scope'}`;
      break;
    case 404:
      message = `${qualified} "${o?.name ?? ''}" not found`;
      break;
    case 409:
      message = `Operation cannot be fulfilled on ${qualified} "${o?.name ?? ''}": the object has been modified; please apply your changes to the latest version and try again`;
      break;
    default:
      message = reason;
  }
  const status: JsonObject = { metadata: {}, status: 'Failure', message, reason };
  if (o !== undefined) {
    const details: JsonObject = { name: o.name ?? '' };
    if (group !== '') details['group'] = group;
    details['kind'] = o.resource;
    status['details'] = details;
  }
  status['code'] = spec.code;
  return status;
}

/** The audit event(s) for one request received at `receivedMicros`. */
export function buildRequest(rng: Rng, spec: RequestSpec, auditID: string, receivedMicros: number): StagedEvent[] {
  const failed = spec.code >= 400;
  const user: JsonObject = { username: spec.actor.username };
  if (spec.actor.uid !== undefined) user['uid'] = spec.actor.uid;
  user['groups'] = spec.actor.groups;
  if (spec.actor.extra !== undefined) user['extra'] = spec.actor.extra;
  const annotations: JsonObject = {
    'authorization.k8s.io/decision': spec.code === 403 ? 'forbid' : 'allow',
    'authorization.k8s.io/reason': spec.code === 403 ? '' : (spec.authzReason ?? ''),
    ...spec.annotations,
  };
  const base = (stage: string, stageMicros: number, withBodies: boolean): JsonObject => {
    const e: JsonObject = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: spec.level,
      auditID,
      stage,
      requestURI: spec.requestURI,
      verb: spec.verb,
      user,
      sourceIPs: spec.actor.sourceIPs,
      userAgent: spec.actor.userAgent,
    };
    if (spec.objectRef !== undefined) {
      const o = spec.objectRef;
      const ref: JsonObject = { resource: o.resource };
      if (o.namespace !== undefined) ref['namespace'] = o.namespace;
      if (o.name !== undefined) ref['name'] = o.name;
      if (o.apiGroup !== undefined) ref['apiGroup'] = o.apiGroup;
      ref['apiVersion'] = o.apiVersion;
      if (o.subresource !== undefined) ref['subresource'] = o.subresource;
      e['objectRef'] = ref;
    }
    e['responseStatus'] = failed ? failureStatus(spec) : { metadata: {}, code: spec.code };
    if (withBodies && spec.level !== 'Metadata' && spec.requestObject !== undefined)
      e['requestObject'] = spec.requestObject;
    if (withBodies && spec.level === 'RequestResponse' && spec.responseObject !== undefined && !failed)
      e['responseObject'] = spec.responseObject;
    e['requestReceivedTimestamp'] = isoMicros(receivedMicros);
    e['stageTimestamp'] = isoMicros(stageMicros);
    e['annotations'] = annotations;
    return e;
  };
  if (spec.longRunningMs !== undefined && !failed) {
    const started = receivedMicros + rng.int(300, 4000);
    const complete = started + spec.longRunningMs * 1000;
    return [
      { atMicros: started, event: base('ResponseStarted', started, false) },
      { atMicros: complete, event: base('ResponseComplete', complete, true) },
    ];
  }
  // Most requests finish in a few ms; lists and writes take longer.
  const latency =
    spec.verb === 'list' ? rng.int(3000, 60000) : spec.verb === 'get' ? rng.int(400, 6000) : rng.int(2000, 25000);
  const at = receivedMicros + latency;
  return [{ atMicros: at, event: base('ResponseComplete', at, true) }];
}

// ---------------------------------------------------------------------------------------------
// The cluster the traffic happens in.

export interface Node {
  readonly name: string;
  readonly ip: string;
  readonly instanceId: string;
}

export interface Workload {
  readonly namespace: string;
  readonly deployment: string;
  readonly image: string;
  readonly pods: readonly string[];
}

export interface ClusterModel {
  readonly name: string;
  readonly accountId: string;
  readonly region: string;
  readonly kubeVersion: string;
  readonly nodes: readonly Node[];
  readonly nodeRole: string;
  readonly workloads: readonly Workload[];
  /** kube-system pods by component (aws-node-xxxxx per node, coredns-…, kube-proxy-…). */
  readonly systemPods: Readonly<
    Record<'aws-node' | 'kube-proxy' | 'coredns' | 'ebs-csi-controller', readonly string[]>
  >;
  readonly namespaces: readonly string[];
  /** CloudWatch log stream of the audit log: kube-apiserver-audit-<32 hex>. */
  readonly logStream: string;
  readonly humans: Readonly<Record<'admin' | 'developer' | 'ci', Actor>>;
}

/** aws-iam-authenticator principal ids look like AROA + 17 upper-case base32 characters. */
function principalId(rng: Rng, prefix: 'AROA' | 'AIDA'): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let s = prefix;
  for (let i = 0; i < 17; i++) s += alphabet[rng.int(0, alphabet.length - 1)];
  return s;
}

/** An IAM identity as EKS maps it into Kubernetes (user.extra carries the ARNs). */
export function iamActor(
  rng: Rng,
  accountId: string,
  opts: {
    username: string;
    role: string;
    session: string;
    groups: readonly string[];
    sourceIP: string;
    userAgent: string;
  },
): Actor {
  const pid = principalId(rng, 'AROA');
  return {
    username: opts.username,
    uid: `aws-iam-authenticator:${accountId}:${pid}`,
    groups: [...opts.groups, 'system:authenticated'],
    extra: {
      accessKeyId: [`ASIA${principalId(rng, 'AIDA').slice(4, 20)}`],
      arn: [`arn:aws:sts::${accountId}:assumed-role/${opts.role}/${opts.session}`],
      canonicalArn: [`arn:aws:iam::${accountId}:role/${opts.role}`],
      principalId: [pid],
      sessionName: [opts.session],
    },
    sourceIPs: [opts.sourceIP],
    userAgent: opts.userAgent,
  };
}

export function serviceAccountActor(
  rng: Rng,
  namespace: string,
  name: string,
  sourceIP: string,
  userAgent: string,
): Actor {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    uid: rng.uuid(),
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    sourceIPs: [sourceIP],
    userAgent,
  };
}

const APP_WORKLOADS: readonly (readonly [string, string, string])[] = [
  ['payments', 'payments-api', '111122223333.dkr.ecr.us-west-2.amazonaws.com/payments-api:2.14.1'],
  ['payments', 'ledger-worker', '111122223333.dkr.ecr.us-west-2.amazonaws.com/ledger-worker:1.8.0'],
  ['checkout', 'checkout-web', '111122223333.dkr.ecr.us-west-2.amazonaws.com/checkout-web:5.2.3'],
  ['checkout', 'cart-service', '111122223333.dkr.ecr.us-west-2.amazonaws.com/cart-service:3.0.7'],
  ['web', 'frontend', '111122223333.dkr.ecr.us-west-2.amazonaws.com/frontend:2024.05.2'],
  ['data', 'etl-runner', '111122223333.dkr.ecr.us-west-2.amazonaws.com/etl-runner:0.9.4'],
  ['monitoring', 'prometheus-server', 'quay.io/prometheus/prometheus:v2.51.2'],
  ['argocd', 'argocd-server', 'quay.io/argoproj/argocd:v2.10.9'],
];

/** The cluster for a seed: names and identities are stable for a given seed. */
export function clusterModel(seed: number, name = 'prod-eks'): ClusterModel {
  const rng = new Rng((seed ^ 0x5eed1e55) >>> 0);
  const accountId = '111122223333'; // the AWS documentation example account
  const region = 'us-west-2';
  const nodes: Node[] = [];
  for (let i = 0; i < 6; i++) {
    const a = rng.int(0, 3) * 16 + rng.int(1, 15);
    const b = rng.int(2, 254);
    nodes.push({
      name: `ip-10-0-${a}-${b}.${region}.compute.internal`,
      ip: `10.0.${a}.${b}`,
      instanceId: `i-0${rng.hex(16)}`,
    });
  }
  const workloads = APP_WORKLOADS.map(([namespace, deployment, image]): Workload => {
    const hash = rng.suffix(10);
    const pods: string[] = [];
    for (let i = 0, n = rng.int(2, 4); i < n; i++) pods.push(`${deployment}-${hash}-${rng.suffix(5)}`);
    return { namespace, deployment, image, pods };
  });
  const corednsHash = rng.suffix(10);
  const systemPods = {
    'aws-node': nodes.map(() => `aws-node-${rng.suffix(5)}`),
    'kube-proxy': nodes.map(() => `kube-proxy-${rng.suffix(5)}`),
    coredns: [`coredns-${corednsHash}-${rng.suffix(5)}`, `coredns-${corednsHash}-${rng.suffix(5)}`],
    'ebs-csi-controller': [`ebs-csi-controller-${rng.suffix(10)}-${rng.suffix(5)}`],
  };
  const kubectlDarwin = 'kubectl/v1.29.2 (darwin/arm64) kubernetes/4b8e819';
  return {
    name,
    accountId,
    region,
    kubeVersion: 'v1.29.4-eks-036c24b',
    nodes,
    nodeRole: `eksctl-${name}-nodegroup-ng-1-NodeInstanceRole-${principalId(rng, 'AROA').slice(4, 16)}`,
    workloads,
    systemPods,
    namespaces: [
      'default',
      'kube-system',
      'kube-public',
      'kube-node-lease',
      'monitoring',
      'cert-manager',
      'argocd',
      'payments',
      'checkout',
      'web',
      'data',
    ],
    logStream: `kube-apiserver-audit-${rng.hex(32)}`,
    humans: {
      admin: iamActor(rng, accountId, {
        username: 'alice',
        role: 'EKSClusterAdmin',
        session: 'alice@example.com',
        groups: ['system:masters'],
        sourceIP: '192.0.2.10',
        userAgent: kubectlDarwin,
      }),
      developer: iamActor(rng, accountId, {
        username: 'bob',
        role: 'EKSDeveloper',
        session: 'bob@example.com',
        groups: ['developers'],
        sourceIP: '192.0.2.25',
        userAgent: 'kubectl/v1.30.1 (linux/amd64) kubernetes/6911225',
      }),
      ci: iamActor(rng, accountId, {
        username: 'github-actions',
        role: 'GitHubActionsDeploy',
        session: 'GitHubActions',
        groups: ['deployers'],
        sourceIP: '192.0.2.200',
        userAgent: 'Helm/3.14.4',
      }),
    },
  };
}

/** A Deployment object as the apiserver returns it (trimmed to the fields that matter). */
export function deploymentObject(w: Workload, replicas: number, resourceVersion: string): JsonObject {
  return {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: {
      name: w.deployment,
      namespace: w.namespace,
      resourceVersion,
      generation: 12,
      labels: { app: w.deployment },
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: w.deployment } },
      template: {
        metadata: { labels: { app: w.deployment } },
        spec: {
          serviceAccountName: w.deployment,
          containers: [
            {
              name: w.deployment,
              image: w.image,
              ports: [{ containerPort: 8080, protocol: 'TCP' }],
              resources: { requests: { cpu: '250m', memory: '256Mi' } },
            },
          ],
        },
      },
    },
    status: { replicas, readyReplicas: replicas, updatedReplicas: replicas, availableReplicas: replicas },
  };
}

/** A Pod object; `spec` overrides let attacks add privileged containers and hostPath volumes. */
export function podObject(name: string, namespace: string, node: string | null, spec: JsonObject): JsonObject {
  const meta: JsonObject = { name, namespace, labels: { app: name.split('-')[0] ?? name } };
  const fullSpec: JsonObject = { ...spec };
  if (node !== null) fullSpec['nodeName'] = node;
  return { kind: 'Pod', apiVersion: 'v1', metadata: meta, spec: fullSpec };
}
