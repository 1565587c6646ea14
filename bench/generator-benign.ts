/**
 * Benign traffic of an EKS cluster: who calls the API server, how often, and how.
 *
 * The mix is modelled on the hkerma kubernetes-event-dataset (16.5k real events: get 74%,
 * update 8%, list 5%, create 5%, watch 3%; 90% 200, 5% 201, 4.5% 404, 0.4% 403, 0.4% 409;
 * kubelets, controllers and operators dominate; ~1.5% system:anonymous health checks) and on
 * EKS shapes (aws-iam-authenticator uids, user.extra ARNs, eks:* control-plane users, VPC CNI,
 * kube-proxy and CoreDNS service accounts). Weights are per request; watch and exec requests
 * write two events (ResponseStarted + ResponseComplete).
 *
 * | source                                  | weight | verbs (main)                  | level           |
 * |-----------------------------------------|-------:|-------------------------------|-----------------|
 * | kubelet: node lease renewals            |   16   | update (1% 409), get          | Metadata        |
 * | kubelet: node/pod status, configmaps    |   15   | get, patch, watch, create     | Metadata/Request|
 * | kcm / scheduler / cloud-controller lease|    8   | get, update                   | Metadata        |
 * | kube-controller-manager controllers     |   10   | get, list, watch, update      | Metadata        |
 * | kube-proxy, coredns, aws-node (VPC CNI) |    7   | watch, list, get              | Metadata        |
 * | eks:* control plane users               |    3   | get, list, patch              | Metadata        |
 * | operators: prometheus, cert-manager,    |   13   | list, watch, get, update      | Metadata        |
 * |   argocd                                |        |                               |                 |
 * | discovery (/api, /apis/…)               |    6   | get (non-resource)            | Metadata        |
 * | system:apiserver                        |    2   | get, update                   | Metadata        |
 * | serviceaccount token requests           |    2   | create serviceaccounts/token  | Metadata        |
 * | humans (kubectl): admin, developer      |    4   | get, list, pods/log; 403/404  | Metadata/RR     |
 * | CI deployer (Helm)                      |  1.5   | get, patch deployments,       | RequestResponse |
 * |                                         |        | create configmaps/secrets     |                 |
 * | anonymous health checks                 |  1.5   | get /healthz /livez /readyz   | Metadata        |
 *
 * Measured on seed 42, 200,000 events: see the table in generator.ts.
 */
import {
  serviceAccountActor,
  deploymentObject,
  type Actor,
  type ClusterModel,
  type RequestSpec,
  type Workload,
} from './generator-events.js';
import type { Rng } from './generator-prng.js';

export interface BenignSource {
  readonly name: string;
  readonly weight: number;
  readonly next: (rng: Rng) => RequestSpec;
}

const CP_IP = '10.0.160.11'; // EKS control plane ENI address (controllers call the apiserver through it)

function watchMs(rng: Rng): number {
  // client-go picks a watch timeout in [5m, 10m).
  return rng.int(300_000, 599_999);
}

function rv(rng: Rng): string {
  return String(rng.int(4_000_000, 9_999_999));
}

function nsUri(resource: string, ns: string, name?: string, group?: string): string {
  const prefix = group === undefined ? '/api/v1' : `/apis/${group}`;
  return `${prefix}/namespaces/${ns}/${resource}${name !== undefined ? `/${name}` : ''}`;
}

export function benignSources(c: ClusterModel, rng: Rng): readonly BenignSource[] {
  const k8s = c.kubeVersion;
  const commit = 'kubernetes/036c24b';
  const nodeActors: Actor[] = c.nodes.map((n) => ({
    username: `system:node:${n.name}`,
    uid: `aws-iam-authenticator:${c.accountId}:AROA${rng.hex(8).toUpperCase()}${rng.hex(9).toUpperCase()}`,
    groups: ['system:bootstrappers', 'system:nodes', 'system:authenticated'],
    extra: {
      accessKeyId: [`ASIA${rng.hex(16).toUpperCase()}`],
      arn: [`arn:aws:sts::${c.accountId}:assumed-role/${c.nodeRole}/${n.instanceId}`],
      canonicalArn: [`arn:aws:iam::${c.accountId}:role/${c.nodeRole}`],
      sessionName: [n.instanceId],
    },
    sourceIPs: [n.ip],
    userAgent: `kubelet/${k8s} (linux/amd64) ${commit}`,
  }));
  const kcm: Actor = {
    username: 'system:kube-controller-manager',
    groups: ['system:authenticated'],
    sourceIPs: [CP_IP],
    userAgent: `kube-controller-manager/${k8s} (linux/amd64) ${commit}/leader-election`,
  };
  const scheduler: Actor = {
    username: 'system:kube-scheduler',
    groups: ['system:authenticated'],
    sourceIPs: [CP_IP],
    userAgent: `kube-scheduler/${k8s} (linux/amd64) ${commit}/leader-election`,
  };
  const ccm: Actor = {
    username: 'eks:cloud-controller-manager',
    groups: ['system:authenticated'],
    sourceIPs: [CP_IP],
    userAgent: `aws-cloud-controller-manager/v1.29.0 (linux/amd64) ${commit}/leader-election`,
  };
  const apiserver: Actor = {
    username: 'system:apiserver',
    uid: rng.uuid(),
    groups: ['system:masters'],
    sourceIPs: ['::1'],
    userAgent: `kube-apiserver/${k8s} (linux/amd64) ${commit}`,
  };
  const controllers = [
    'replicaset-controller',
    'deployment-controller',
    'endpointslice-controller',
    'generic-garbage-collector',
    'namespace-controller',
    'resourcequota-controller',
    'daemon-set-controller',
    'job-controller',
  ].map((sa) =>
    serviceAccountActor(
      rng,
      'kube-system',
      sa,
      CP_IP,
      `kube-controller-manager/${k8s} (linux/amd64) ${commit}/system:serviceaccount:kube-system:${sa}`,
    ),
  );
  const kubeProxy = c.nodes.map((n) =>
    serviceAccountActor(rng, 'kube-system', 'kube-proxy', n.ip, `kube-proxy/v1.29.3 (linux/amd64) kubernetes/6813625`),
  );
  const coredns = serviceAccountActor(
    rng,
    'kube-system',
    'coredns',
    '10.0.33.87',
    'coredns/v1.11.1 (linux/amd64) kubernetes/eks',
  );
  const awsNode = c.nodes.map((n) =>
    serviceAccountActor(rng, 'kube-system', 'aws-node', n.ip, 'aws-node/v1.18.1 (linux/amd64) kubernetes/$Format'),
  );
  const eksUsers: Actor[] = [
    'eks:certificate-controller',
    'eks:addon-manager',
    'eks:node-manager',
    'eks:k8s-metrics',
  ].map((u) => ({
    username: u,
    groups: ['system:authenticated'],
    sourceIPs: [CP_IP],
    userAgent: u === 'eks:addon-manager' ? 'eks-addon-manager/v1.0 (linux/amd64)' : `eks/${k8s} (linux/amd64)`,
  }));
  const prometheus = serviceAccountActor(rng, 'monitoring', 'prometheus-server', '10.0.48.19', 'Prometheus/2.51.2');
  const certManager = serviceAccountActor(
    rng,
    'cert-manager',
    'cert-manager',
    '10.0.21.140',
    'cert-manager-controller/v1.14.5 (linux/amd64) cert-manager/4a3a8f5',
  );
  const cainjector = serviceAccountActor(
    rng,
    'cert-manager',
    'cert-manager-cainjector',
    '10.0.21.141',
    'cainjector/v1.14.5 (linux/amd64) cert-manager/4a3a8f5',
  );
  const argocd = serviceAccountActor(
    rng,
    'argocd',
    'argocd-application-controller',
    '10.0.52.7',
    'argocd-application-controller/v2.10.9 (linux/amd64)',
  );
  const lb: Actor = {
    username: 'system:anonymous',
    groups: ['system:unauthenticated'],
    sourceIPs: ['10.0.0.23'],
    userAgent: 'ELB-HealthChecker/2.0',
  };
  const { admin, developer, ci } = c.humans;

  const node = (): { actor: Actor; name: string } => {
    const i = rng.int(0, c.nodes.length - 1);
    return { actor: nodeActors[i]!, name: c.nodes[i]!.name };
  };
  const workload = (): Workload => rng.pick(c.workloads);
  const lease = (actor: Actor, ns: string, name: string): RequestSpec => {
    const update = rng.chance(0.5);
    const conflict = update && rng.chance(0.01);
    return {
      actor,
      verb: update ? 'update' : 'get',
      requestURI: `${nsUri('leases', ns, name, 'coordination.k8s.io/v1')}${update ? '' : '?timeout=5s'}`,
      objectRef: { resource: 'leases', namespace: ns, name, apiGroup: 'coordination.k8s.io', apiVersion: 'v1' },
      code: conflict ? 409 : 200,
      level: 'Metadata',
      authzReason:
        ns === 'kube-node-lease'
          ? ''
          : `RBAC: allowed by ClusterRoleBinding "system:${name}" of ClusterRole "system:${name}" to User "${actor.username}"`,
    };
  };

  return [
    {
      name: 'kubelet-lease',
      weight: 16,
      next: () => {
        const n = node();
        return lease(n.actor, 'kube-node-lease', n.name);
      },
    },
    {
      name: 'kubelet-status',
      weight: 15,
      next: () => {
        const n = node();
        const w = workload();
        const pod = rng.pick(w.pods);
        const kind = rng.weighted([
          ['get-node', 5],
          ['patch-node', 2],
          ['get-pod', 3],
          ['patch-pod', 2],
          ['watch-cm', 1],
          ['event', 1.5],
          ['missing', 1.5],
        ] as const);
        switch (kind) {
          case 'get-node':
            return {
              actor: n.actor,
              verb: 'get',
              requestURI: `/api/v1/nodes/${n.name}?resourceVersion=0&timeout=10s`,
              objectRef: { resource: 'nodes', name: n.name, apiVersion: 'v1' },
              code: 200,
              level: 'Metadata',
            };
          case 'patch-node':
            return {
              actor: n.actor,
              verb: 'patch',
              requestURI: `/api/v1/nodes/${n.name}/status?timeout=10s`,
              objectRef: { resource: 'nodes', name: n.name, apiVersion: 'v1', subresource: 'status' },
              code: 200,
              level: 'Request',
              requestObject: {
                status: {
                  conditions: [
                    {
                      type: 'Ready',
                      status: 'True',
                      lastHeartbeatTime: '2024-06-03T08:00:00Z',
                      reason: 'KubeletReady',
                    },
                  ],
                },
              },
            };
          case 'get-pod':
            return {
              actor: n.actor,
              verb: 'get',
              requestURI: nsUri('pods', w.namespace, pod),
              objectRef: { resource: 'pods', namespace: w.namespace, name: pod, apiVersion: 'v1' },
              code: 200,
              level: 'Metadata',
            };
          case 'patch-pod':
            return {
              actor: n.actor,
              verb: 'patch',
              requestURI: `${nsUri('pods', w.namespace, pod)}/status`,
              objectRef: {
                resource: 'pods',
                namespace: w.namespace,
                name: pod,
                apiVersion: 'v1',
                subresource: 'status',
              },
              code: 200,
              level: 'Request',
              requestObject: {
                metadata: { uid: rng.uuid() },
                status: { conditions: [{ type: 'Ready', status: 'True' }] },
              },
            };
          case 'watch-cm':
            return {
              actor: n.actor,
              verb: 'watch',
              requestURI: `/api/v1/namespaces/${w.namespace}/configmaps?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dkube-root-ca.crt&resourceVersion=${rv(rng)}&timeout=7m3s&timeoutSeconds=423&watch=true`,
              objectRef: { resource: 'configmaps', namespace: w.namespace, name: 'kube-root-ca.crt', apiVersion: 'v1' },
              code: 200,
              level: 'Metadata',
              longRunningMs: watchMs(rng),
            };
          case 'event':
            return {
              actor: n.actor,
              verb: 'create',
              requestURI: nsUri('events', w.namespace),
              objectRef: { resource: 'events', namespace: w.namespace, apiVersion: 'v1' },
              code: 201,
              level: 'Metadata',
            };
          case 'missing':
            return {
              actor: n.actor,
              verb: 'get',
              requestURI: nsUri('pods', w.namespace, `${w.deployment}-${rng.suffix(10)}-${rng.suffix(5)}`),
              objectRef: { resource: 'pods', namespace: w.namespace, name: `${w.deployment}-old`, apiVersion: 'v1' },
              code: 404,
              level: 'Metadata',
            };
        }
      },
    },
    {
      name: 'leader-election',
      weight: 8,
      next: () => {
        const [actor, name] = rng.pick([
          [kcm, 'kube-controller-manager'],
          [scheduler, 'kube-scheduler'],
          [ccm, 'cloud-controller-manager'],
        ] as const);
        return lease(actor, 'kube-system', name);
      },
    },
    {
      name: 'controllers',
      weight: 10,
      next: () => {
        const actor = rng.pick(controllers);
        const w = workload();
        const kind = rng.weighted([
          ['get', 4],
          ['list', 1.5],
          ['watch', 1],
          ['update', 2.5],
          ['create-pod', 0.4],
          ['delete-pod', 0.3],
        ] as const);
        const res = actor.username.endsWith('endpointslice-controller')
          ? {
              resource: 'endpointslices',
              apiGroup: 'discovery.k8s.io',
              apiVersion: 'v1',
              name: `${w.deployment}-${rng.suffix(5)}`,
            }
          : { resource: 'replicasets', apiGroup: 'apps', apiVersion: 'v1', name: `${w.deployment}-${rng.suffix(10)}` };
        const group = `${res.apiGroup}/${res.apiVersion}`;
        switch (kind) {
          case 'get':
          case 'update':
            return {
              actor,
              verb: kind,
              requestURI: nsUri(res.resource, w.namespace, res.name, group),
              objectRef: { ...res, namespace: w.namespace },
              code: kind === 'get' && rng.chance(0.15) ? 404 : 200,
              level: 'Metadata',
            };
          case 'list':
            return {
              actor,
              verb: 'list',
              requestURI: `/apis/${group}/${res.resource}?limit=500&resourceVersion=0`,
              objectRef: { resource: res.resource, apiGroup: res.apiGroup, apiVersion: res.apiVersion },
              code: 200,
              level: 'Metadata',
            };
          case 'watch':
            return {
              actor,
              verb: 'watch',
              requestURI: `/apis/${group}/${res.resource}?allowWatchBookmarks=true&resourceVersion=${rv(rng)}&timeout=8m21s&timeoutSeconds=501&watch=true`,
              objectRef: { resource: res.resource, apiGroup: res.apiGroup, apiVersion: res.apiVersion },
              code: 200,
              level: 'Metadata',
              longRunningMs: watchMs(rng),
            };
          case 'create-pod':
            return {
              actor,
              verb: 'create',
              requestURI: nsUri('pods', w.namespace),
              objectRef: { resource: 'pods', namespace: w.namespace, apiVersion: 'v1' },
              code: 201,
              level: 'Metadata',
              annotations: { 'pod-security.kubernetes.io/enforce-policy': 'privileged:latest' },
            };
          case 'delete-pod': {
            const pod = rng.pick(w.pods);
            return {
              actor,
              verb: 'delete',
              requestURI: nsUri('pods', w.namespace, pod),
              objectRef: { resource: 'pods', namespace: w.namespace, name: pod, apiVersion: 'v1' },
              code: 200,
              level: 'Metadata',
            };
          }
        }
      },
    },
    {
      name: 'node-agents',
      weight: 7,
      next: () => {
        const i = rng.int(0, c.nodes.length - 1);
        const which = rng.weighted([
          ['kube-proxy', 2],
          ['coredns', 2],
          ['aws-node', 3],
        ] as const);
        if (which === 'aws-node') {
          const n = c.nodes[i]!;
          return rng.chance(0.6)
            ? {
                actor: awsNode[i]!,
                verb: 'get',
                requestURI: `/api/v1/nodes/${n.name}`,
                objectRef: { resource: 'nodes', name: n.name, apiVersion: 'v1' },
                code: 200,
                level: 'Metadata',
              }
            : {
                actor: awsNode[i]!,
                verb: 'list',
                requestURI: '/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs?limit=500',
                objectRef: { resource: 'eniconfigs', apiGroup: 'crd.k8s.amazonaws.com', apiVersion: 'v1alpha1' },
                code: 200,
                level: 'Metadata',
              };
        }
        const actor = which === 'kube-proxy' ? kubeProxy[i]! : coredns;
        const res = rng.pick([
          { resource: 'endpointslices', apiGroup: 'discovery.k8s.io', apiVersion: 'v1' },
          { resource: 'services', apiVersion: 'v1' },
          { resource: 'namespaces', apiVersion: 'v1' },
        ]);
        const path =
          res.apiGroup !== undefined
            ? `/apis/${res.apiGroup}/${res.apiVersion}/${res.resource}`
            : `/api/v1/${res.resource}`;
        return rng.chance(0.4)
          ? {
              actor,
              verb: 'watch',
              requestURI: `${path}?allowWatchBookmarks=true&resourceVersion=${rv(rng)}&timeout=6m41s&timeoutSeconds=401&watch=true`,
              objectRef: res,
              code: 200,
              level: 'Metadata',
              longRunningMs: watchMs(rng),
            }
          : {
              actor,
              verb: 'list',
              requestURI: `${path}?limit=500&resourceVersion=0`,
              objectRef: res,
              code: 200,
              level: 'Metadata',
            };
      },
    },
    {
      name: 'eks-control-plane',
      weight: 3,
      next: () => {
        const actor = rng.pick(eksUsers);
        if (actor.username === 'eks:certificate-controller')
          return {
            actor,
            verb: 'list',
            requestURI: '/apis/certificates.k8s.io/v1/certificatesigningrequests?limit=500',
            objectRef: { resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', apiVersion: 'v1' },
            code: 200,
            level: 'Metadata',
          };
        if (actor.username === 'eks:addon-manager')
          return {
            actor,
            verb: 'get',
            requestURI: '/apis/apps/v1/namespaces/kube-system/daemonsets/aws-node',
            objectRef: {
              resource: 'daemonsets',
              namespace: 'kube-system',
              name: 'aws-node',
              apiGroup: 'apps',
              apiVersion: 'v1',
            },
            code: 200,
            level: 'Metadata',
          };
        if (actor.username === 'eks:node-manager')
          return {
            actor,
            verb: 'get',
            requestURI: '/api/v1/namespaces/kube-system/configmaps/aws-auth',
            objectRef: { resource: 'configmaps', namespace: 'kube-system', name: 'aws-auth', apiVersion: 'v1' },
            code: 200,
            level: 'Metadata',
          };
        return {
          actor,
          verb: 'get',
          requestURI: '/api/v1/nodes?limit=500',
          objectRef: { resource: 'nodes', apiVersion: 'v1' },
          code: 200,
          level: 'Metadata',
        };
      },
    },
    {
      name: 'operators',
      weight: 13,
      next: () => {
        const which = rng.weighted([
          ['prometheus', 5],
          ['cert-manager', 3],
          ['cainjector', 2],
          ['argocd', 3],
        ] as const);
        const w = workload();
        switch (which) {
          case 'prometheus': {
            const res = rng.pick(['pods', 'endpoints', 'services', 'nodes']);
            if (res === 'nodes' && rng.chance(0.5))
              return {
                actor: prometheus,
                verb: 'get',
                requestURI: `/api/v1/nodes/${rng.pick(c.nodes).name}/proxy/metrics/cadvisor`,
                objectRef: { resource: 'nodes', name: rng.pick(c.nodes).name, apiVersion: 'v1', subresource: 'proxy' },
                code: 200,
                level: 'Metadata',
              };
            return rng.chance(0.7)
              ? {
                  actor: prometheus,
                  verb: 'list',
                  requestURI: `/api/v1/${res}?limit=500&resourceVersion=0`,
                  objectRef: { resource: res, apiVersion: 'v1' },
                  code: 200,
                  level: 'Metadata',
                }
              : {
                  actor: prometheus,
                  verb: 'watch',
                  requestURI: `/api/v1/${res}?allowWatchBookmarks=true&resourceVersion=${rv(rng)}&timeoutSeconds=317&watch=true`,
                  objectRef: { resource: res, apiVersion: 'v1' },
                  code: 200,
                  level: 'Metadata',
                  longRunningMs: watchMs(rng),
                };
          }
          case 'cert-manager':
            return rng.chance(0.5)
              ? lease(certManager, 'kube-system', 'cert-manager-controller')
              : {
                  actor: certManager,
                  verb: 'get',
                  requestURI: nsUri('secrets', w.namespace, `${w.deployment}-tls`),
                  objectRef: {
                    resource: 'secrets',
                    namespace: w.namespace,
                    name: `${w.deployment}-tls`,
                    apiVersion: 'v1',
                  },
                  code: rng.chance(0.1) ? 404 : 200,
                  level: 'Metadata',
                };
          case 'cainjector':
            return {
              actor: cainjector,
              verb: 'get',
              requestURI: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/cert-manager-webhook',
              objectRef: {
                resource: 'validatingwebhookconfigurations',
                name: 'cert-manager-webhook',
                apiGroup: 'admissionregistration.k8s.io',
                apiVersion: 'v1',
              },
              code: 200,
              level: 'Metadata',
            };
          case 'argocd': {
            const k = rng.weighted([
              ['get', 5],
              ['list', 2],
              ['patch', 1],
            ] as const);
            if (k === 'list')
              return {
                actor: argocd,
                verb: 'list',
                requestURI: `/apis/apps/v1/namespaces/${w.namespace}/deployments?limit=500`,
                objectRef: { resource: 'deployments', namespace: w.namespace, apiGroup: 'apps', apiVersion: 'v1' },
                code: 200,
                level: 'Metadata',
              };
            return {
              actor: argocd,
              verb: k,
              requestURI: nsUri('deployments', w.namespace, w.deployment, 'apps/v1'),
              objectRef: {
                resource: 'deployments',
                namespace: w.namespace,
                name: w.deployment,
                apiGroup: 'apps',
                apiVersion: 'v1',
              },
              code: 200,
              level: k === 'patch' ? 'RequestResponse' : 'Metadata',
              requestObject: {
                metadata: {
                  annotations: {
                    'argocd.argoproj.io/tracking-id': `${w.deployment}:apps/Deployment:${w.namespace}/${w.deployment}`,
                  },
                },
              },
              responseObject: deploymentObject(w, 3, rv(rng)),
            };
          }
        }
      },
    },
    {
      name: 'discovery',
      weight: 6,
      next: () => {
        const actor = rng.pick([argocd, admin, developer, certManager, prometheus, ...controllers.slice(0, 3)]);
        const path = rng.pick([
          '/api',
          '/apis',
          '/api/v1',
          '/apis/apps/v1',
          '/apis/networking.k8s.io/v1',
          '/apis/rbac.authorization.k8s.io/v1',
          '/openapi/v2',
          '/version',
        ]);
        return {
          actor,
          verb: 'get',
          requestURI: path === '/version' ? '/version?timeout=32s' : path,
          code: 200,
          level: 'Metadata',
        };
      },
    },
    {
      name: 'apiserver',
      weight: 2,
      next: () =>
        rng.chance(0.5)
          ? lease(
              apiserver,
              'kube-system',
              `apiserver-${rng.pick(['qg4glitnbhtmzkjmjcpnwd7s4u', 'v7oq4d2vmyzvtoo3bq6pjnarnm'])}`,
            )
          : {
              actor: apiserver,
              verb: 'get',
              requestURI: '/api/v1/namespaces/default/services/kubernetes',
              objectRef: { resource: 'services', namespace: 'default', name: 'kubernetes', apiVersion: 'v1' },
              code: 200,
              level: 'Metadata',
            },
    },
    {
      name: 'sa-tokens',
      weight: 2,
      next: () => {
        const n = node();
        const w = workload();
        return {
          actor: n.actor,
          verb: 'create',
          requestURI: `${nsUri('serviceaccounts', w.namespace, w.deployment)}/token`,
          objectRef: {
            resource: 'serviceaccounts',
            namespace: w.namespace,
            name: w.deployment,
            apiVersion: 'v1',
            subresource: 'token',
          },
          code: 201,
          level: 'Metadata',
        };
      },
    },
    {
      name: 'humans',
      weight: 4,
      next: () => {
        const actor = rng.chance(0.6) ? developer : admin;
        const w = workload();
        const pod = rng.pick(w.pods);
        const k = rng.weighted([
          ['get-pods', 4],
          ['get-pod', 2],
          ['logs', 2],
          ['get-deploy', 2],
          ['events', 1],
          ['forbidden', actor === developer ? 0.4 : 0],
          ['missing', 0.4],
          ['delete-pod', 0.3],
          ['scale', 0.3],
        ] as const);
        switch (k) {
          case 'get-pods':
            return {
              actor,
              verb: 'list',
              requestURI: `/api/v1/namespaces/${w.namespace}/pods?limit=500`,
              objectRef: { resource: 'pods', namespace: w.namespace, apiVersion: 'v1' },
              code: 200,
              level: 'Metadata',
            };
          case 'get-pod':
            return {
              actor,
              verb: 'get',
              requestURI: nsUri('pods', w.namespace, pod),
              objectRef: { resource: 'pods', namespace: w.namespace, name: pod, apiVersion: 'v1' },
              code: 200,
              level: 'Metadata',
            };
          case 'logs':
            return {
              actor,
              verb: 'get',
              requestURI: `${nsUri('pods', w.namespace, pod)}/log?container=${w.deployment}&tailLines=200`,
              objectRef: { resource: 'pods', namespace: w.namespace, name: pod, apiVersion: 'v1', subresource: 'log' },
              code: 200,
              level: 'Metadata',
            };
          case 'get-deploy':
            return {
              actor,
              verb: 'get',
              requestURI: nsUri('deployments', w.namespace, w.deployment, 'apps/v1'),
              objectRef: {
                resource: 'deployments',
                namespace: w.namespace,
                name: w.deployment,
                apiGroup: 'apps',
                apiVersion: 'v1',
              },
              code: 200,
              level: 'Metadata',
            };
          case 'events':
            return {
              actor,
              verb: 'list',
              requestURI: `/api/v1/namespaces/${w.namespace}/events?fieldSelector=involvedObject.name%3D${pod}`,
              objectRef: { resource: 'events', namespace: w.namespace, apiVersion: 'v1' },
              code: 200,
              level: 'Metadata',
            };
          case 'forbidden':
            return {
              actor,
              verb: 'list',
              requestURI: '/api/v1/namespaces/kube-system/secrets?limit=500',
              objectRef: { resource: 'secrets', namespace: 'kube-system', apiVersion: 'v1' },
              code: 403,
              level: 'Metadata',
            };
          case 'missing':
            return {
              actor,
              verb: 'get',
              requestURI: nsUri('deployments', w.namespace, `${w.deployment}-canary`, 'apps/v1'),
              objectRef: {
                resource: 'deployments',
                namespace: w.namespace,
                name: `${w.deployment}-canary`,
                apiGroup: 'apps',
                apiVersion: 'v1',
              },
              code: 404,
              level: 'Metadata',
            };
          case 'delete-pod':
            return {
              actor,
              verb: 'delete',
              requestURI: nsUri('pods', w.namespace, pod),
              objectRef: { resource: 'pods', namespace: w.namespace, name: pod, apiVersion: 'v1' },
              code: 200,
              level: 'RequestResponse',
              requestObject: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
            };
          case 'scale':
            return {
              actor,
              verb: 'patch',
              requestURI: `${nsUri('deployments', w.namespace, w.deployment, 'apps/v1')}/scale`,
              objectRef: {
                resource: 'deployments',
                namespace: w.namespace,
                name: w.deployment,
                apiGroup: 'apps',
                apiVersion: 'v1',
                subresource: 'scale',
              },
              code: 200,
              level: 'RequestResponse',
              requestObject: { spec: { replicas: 4 } },
              responseObject: {
                kind: 'Scale',
                apiVersion: 'autoscaling/v1',
                metadata: { name: w.deployment, namespace: w.namespace },
                spec: { replicas: 4 },
                status: { replicas: 3 },
              },
            };
        }
      },
    },
    {
      name: 'ci-deployer',
      weight: 1.5,
      next: () => {
        const w = workload();
        const k = rng.weighted([
          ['get', 2],
          ['patch', 2],
          ['configmap', 1],
          ['conflict', 0.2],
        ] as const);
        if (k === 'configmap')
          return {
            actor: ci,
            verb: 'create',
            requestURI: nsUri('configmaps', w.namespace),
            objectRef: {
              resource: 'configmaps',
              namespace: w.namespace,
              name: `${w.deployment}-config-${rng.suffix(6)}`,
              apiVersion: 'v1',
            },
            code: 201,
            level: 'RequestResponse',
            requestObject: {
              kind: 'ConfigMap',
              apiVersion: 'v1',
              metadata: { name: `${w.deployment}-config`, namespace: w.namespace },
              data: { LOG_LEVEL: 'info', FEATURE_FLAGS: 'checkout-v2=true' },
            },
            responseObject: {
              kind: 'ConfigMap',
              apiVersion: 'v1',
              metadata: {
                name: `${w.deployment}-config`,
                namespace: w.namespace,
                uid: rng.uuid(),
                resourceVersion: rv(rng),
              },
              data: { LOG_LEVEL: 'info', FEATURE_FLAGS: 'checkout-v2=true' },
            },
          };
        const deployment = deploymentObject(w, 3, rv(rng));
        return {
          actor: ci,
          verb: k === 'conflict' ? 'patch' : k,
          requestURI:
            nsUri('deployments', w.namespace, w.deployment, 'apps/v1') + (k === 'get' ? '' : '?fieldManager=helm'),
          objectRef: {
            resource: 'deployments',
            namespace: w.namespace,
            name: w.deployment,
            apiGroup: 'apps',
            apiVersion: 'v1',
          },
          code: k === 'conflict' ? 409 : 200,
          level: k === 'get' ? 'Metadata' : 'RequestResponse',
          requestObject: { spec: { template: { spec: { containers: [{ name: w.deployment, image: w.image }] } } } },
          responseObject: deployment,
          authzReason: `RBAC: allowed by RoleBinding "deployers/${w.namespace}" of ClusterRole "edit" to Group "deployers"`,
        };
      },
    },
    {
      name: 'health-checks',
      weight: 1.5,
      next: () => ({
        actor: lb,
        verb: 'get',
        requestURI: rng.pick(['/healthz', '/livez', '/readyz', '/readyz?verbose']),
        code: 200,
        level: 'Metadata',
        authzReason:
          'RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of ClusterRole "system:public-info-viewer" to Group "system:unauthenticated"',
      }),
    },
  ];
}
