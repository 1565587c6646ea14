/**
 * The native catalogue: one row per GuardDuty EKS audit-log finding type we implement, with
 * GuardDuty's type name and default severity, and our own title, description, remediation and
 * MITRE ATT&CK mapping. Detectors take their static info from here; `sleuth rules list` prints it.
 */
import type { DetectorInfo } from '../detector.js';
import { severityFromLabel, type SeverityLabel } from '../../model/finding.js';
import type { ApiTactic } from './criteria.js';

export interface NativeRule {
  readonly type: string;
  /** Our detector id (kebab-case), stable across versions. */
  readonly rule: string;
  readonly severity: SeverityLabel;
  readonly title: string;
  readonly description: string;
  readonly remediation: string;
  readonly tactic: string;
  readonly technique: string;
  /** What the detector needs to fire (input, options). */
  readonly needs: string;
  /** GuardDuty retired the type; we keep it because audit logs still show the behaviour. */
  readonly retired?: boolean;
}

type Mechanism = 'MaliciousIPCaller' | 'MaliciousIPCaller.Custom' | 'SuccessfulAnonymousAccess' | 'TorIPCaller';

const TACTIC_TEXT = {
  CredentialAccess: {
    what: 'an API call that reads credentials or secrets',
    mitre: ['Credential Access', 'T1552.007'],
    sev: {
      MaliciousIPCaller: 'HIGH',
      'MaliciousIPCaller.Custom': 'HIGH',
      SuccessfulAnonymousAccess: 'HIGH',
      TorIPCaller: 'HIGH',
    },
  },
  DefenseEvasion: {
    what: 'an API call that hides activity or weakens the cluster’s defences',
    mitre: ['Defense Evasion', 'T1562.001'],
    sev: {
      MaliciousIPCaller: 'HIGH',
      'MaliciousIPCaller.Custom': 'HIGH',
      SuccessfulAnonymousAccess: 'HIGH',
      TorIPCaller: 'HIGH',
    },
  },
  Discovery: {
    what: 'an API call that maps the cluster’s resources or the caller’s permissions',
    mitre: ['Discovery', 'T1613'],
    sev: {
      MaliciousIPCaller: 'MEDIUM',
      'MaliciousIPCaller.Custom': 'MEDIUM',
      SuccessfulAnonymousAccess: 'MEDIUM',
      TorIPCaller: 'MEDIUM',
    },
  },
  Impact: {
    what: 'an API call that deletes, stops or rewrites cluster resources',
    mitre: ['Impact', 'T1485'],
    sev: {
      MaliciousIPCaller: 'HIGH',
      'MaliciousIPCaller.Custom': 'HIGH',
      SuccessfulAnonymousAccess: 'HIGH',
      TorIPCaller: 'HIGH',
    },
  },
  Persistence: {
    what: 'an API call that creates lasting access (RBAC grants, identities, certificates, webhooks, scheduled workloads)',
    mitre: ['Persistence', 'T1098.006'],
    sev: {
      MaliciousIPCaller: 'MEDIUM',
      'MaliciousIPCaller.Custom': 'MEDIUM',
      SuccessfulAnonymousAccess: 'HIGH',
      TorIPCaller: 'MEDIUM',
    },
  },
} as const satisfies Record<
  ApiTactic,
  { what: string; mitre: readonly [string, string]; sev: Record<Mechanism, SeverityLabel> }
>;

const MECHANISM_TEXT = {
  MaliciousIPCaller: {
    rule: 'malicious-ip-caller',
    title: (w: string) => `Known malicious IP made ${w}`,
    description: (w: string) =>
      `A source IP of the request is on a malicious-IP feed, and the request was ${w}. Calls from addresses tied to attacks suggest stolen credentials in use. Unauthenticated callers are reported as SuccessfulAnonymousAccess instead.`,
    remediation:
      'Find the identity in the finding: if it is legitimate, its credentials are probably in the wrong hands; revoke them (IAM keys or sessions, service account tokens), then review and undo what the caller changed. Restrict the API endpoint to known networks.',
    needs: '--threat-feed FILE (a malicious-IP feed)',
  },
  'MaliciousIPCaller.Custom': {
    rule: 'custom-threat-list-caller',
    title: (w: string) => `IP on your threat list made ${w}`,
    description: (w: string) =>
      `A source IP of the request is on a threat list you supplied (named in the finding), and the request was ${w}.`,
    remediation:
      'Check why an address from your own threat list reached the API server with valid credentials; revoke the identity’s credentials if the call was not yours and undo its changes.',
    needs: '--intel FILE',
  },
  SuccessfulAnonymousAccess: {
    rule: 'anonymous-access',
    title: (w: string) => `Unauthenticated user made ${w}`,
    description: (w: string) =>
      `system:anonymous succeeded in ${w}. Anonymous access to this API means RBAC grants it to unauthenticated users, by mistake or by an attacker.`,
    remediation:
      'List the bindings that name system:anonymous or system:unauthenticated (kubectl get clusterrolebindings,rolebindings -A -o wide) and remove the ones that are not the default public-info-viewer grant; consider --anonymous-auth=false on self-managed API servers. Undo changes the anonymous calls made.',
    needs: 'audit events (no options)',
  },
  TorIPCaller: {
    rule: 'tor-ip-caller',
    title: (w: string) => `Tor exit node made ${w}`,
    description: (w: string) =>
      `A source IP of the request is a Tor exit node, and the request was ${w}. Tor hides who is really calling; administrators rarely manage clusters through it.`,
    remediation:
      'Treat the calling identity as compromised unless its owner confirms using Tor: revoke its credentials, review and undo its changes, and restrict the API endpoint to known networks.',
    needs: '--tor-exits FILE',
  },
} as const satisfies Record<
  Mechanism,
  { rule: string; title: (w: string) => string; description: (w: string) => string; remediation: string; needs: string }
>;

function kebab(s: string): string {
  return s.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
}

export const API_TACTICS: readonly ApiTactic[] = [
  'CredentialAccess',
  'DefenseEvasion',
  'Discovery',
  'Impact',
  'Persistence',
];
export const MECHANISMS: readonly Mechanism[] = [
  'MaliciousIPCaller',
  'MaliciousIPCaller.Custom',
  'SuccessfulAnonymousAccess',
  'TorIPCaller',
];
export type { Mechanism };

function apiCallerRule(tactic: ApiTactic, m: Mechanism): NativeRule {
  const t = TACTIC_TEXT[tactic];
  const mt = MECHANISM_TEXT[m];
  return {
    type: `${tactic}:Kubernetes/${m}`,
    rule: `${kebab(tactic)}-${mt.rule}`,
    severity: t.sev[m],
    title: mt.title(t.what),
    description: mt.description(t.what),
    remediation: mt.remediation,
    tactic: t.mitre[0],
    technique: t.mitre[1],
    needs: mt.needs,
  };
}

export function apiCallerRuleFor(tactic: ApiTactic, m: Mechanism): NativeRule {
  return apiCallerRule(tactic, m);
}

export const SINGLE_RULES = {
  execInKubeSystemPod: {
    type: 'Execution:Kubernetes/ExecInKubeSystemPod',
    rule: 'exec-in-kube-system-pod',
    severity: 'MEDIUM',
    title: 'Command executed in a kube-system pod',
    description:
      'Someone ran a command inside a pod in kube-system through the exec API. Those pods run cluster plumbing (DNS, networking, storage drivers) and often hold powerful credentials; interactive use of them is rare.',
    remediation:
      'Confirm with the identity’s owner. If unexpected, revoke the identity’s credentials, inspect the pod for changes, and replace it.',
    tactic: 'Execution',
    technique: 'T1609',
    needs: 'audit events (no options)',
  },
  containerWithSensitiveMount: {
    type: 'Persistence:Kubernetes/ContainerWithSensitiveMount',
    rule: 'container-with-sensitive-mount',
    severity: 'MEDIUM',
    title: 'Workload mounts a sensitive host path with write access',
    description:
      'A pod or pod template mounts a sensitive directory of the node (such as /, /etc, /var/lib/kubelet or a container runtime socket) without readOnly. A container with that mount can read node credentials and change the host.',
    remediation:
      'If the workload is not an expected node agent, delete it and review who created it. Otherwise mount only the needed path, read-only, and suppress by image prefix.',
    tactic: 'Privilege Escalation',
    technique: 'T1611',
    needs: 'Request or RequestResponse audit level for the workload (EKS logs workload bodies)',
    retired: true,
  },
  privilegedContainer: {
    type: 'PrivilegeEscalation:Kubernetes/PrivilegedContainer',
    rule: 'privileged-container',
    severity: 'MEDIUM',
    title: 'Privileged container launched with an image not seen privileged before',
    description:
      'A pod or pod template runs a container with securityContext.privileged, using an image that this cluster has not run privileged before in the scanned logs. A privileged container has root on the node.',
    remediation:
      'If unexpected, delete the workload, revoke the credentials of the identity that created it and inspect the node. For expected node agents, suppress by image prefix.',
    tactic: 'Privilege Escalation',
    technique: 'T1611',
    needs: 'Request or RequestResponse audit level for the workload (EKS logs workload bodies)',
    retired: true,
  },
  adminAccessToDefaultServiceAccount: {
    type: 'Policy:Kubernetes/AdminAccessToDefaultServiceAccount',
    rule: 'admin-access-to-default-service-account',
    severity: 'HIGH',
    title: 'Default service account bound to an admin role',
    description:
      'A RoleBinding or ClusterRoleBinding gives admin or cluster-admin to a namespace’s default service account (directly, by its user name, or through the system:serviceaccounts groups). Every pod that names no service account then runs as admin.',
    remediation: 'Remove the binding; give each workload its own service account with only the permissions it needs.',
    tactic: 'Privilege Escalation',
    technique: 'T1098.006',
    needs: 'Request or RequestResponse audit level for RBAC (the binding body)',
  },
  anonymousAccessGranted: {
    type: 'Policy:Kubernetes/AnonymousAccessGranted',
    rule: 'anonymous-access-granted',
    severity: 'HIGH',
    title: 'Role granted to unauthenticated users',
    description:
      'A RoleBinding or ClusterRoleBinding names system:anonymous or system:unauthenticated as a subject: anyone who can reach the API server gets the role’s permissions without credentials.',
    remediation:
      'Delete the binding unless it is intended, then check what anonymous callers did since it was made; revoke the creator’s credentials if they did not intend it.',
    tactic: 'Persistence',
    technique: 'T1098.006',
    needs: 'Request or RequestResponse audit level for RBAC (the binding body)',
  },
  exposedDashboard: {
    type: 'Policy:Kubernetes/ExposedDashboard',
    rule: 'exposed-dashboard',
    severity: 'MEDIUM',
    title: 'Kubernetes dashboard exposed through a LoadBalancer',
    description:
      'A Service for the Kubernetes dashboard was created as, or changed to, type LoadBalancer without an internal-only annotation, making the cluster’s web console reachable from outside.',
    remediation:
      'Change the Service back to ClusterIP and reach the dashboard through kubectl proxy or an authenticated ingress; at least restrict loadBalancerSourceRanges.',
    tactic: 'Initial Access',
    technique: 'T1133',
    needs: 'Request or RequestResponse audit level for Services',
  },
  kubeflowDashboardExposed: {
    type: 'Policy:Kubernetes/KubeflowDashboardExposed',
    rule: 'kubeflow-dashboard-exposed',
    severity: 'MEDIUM',
    title: 'Kubeflow dashboard exposed through a LoadBalancer',
    description:
      'A Service for the Kubeflow dashboard (or one of its UIs) was created as, or changed to, type LoadBalancer without an internal-only annotation, making notebooks and pipelines reachable from outside.',
    remediation:
      'Expose Kubeflow only behind authenticated ingress (Dex/OIDC), or restrict loadBalancerSourceRanges; change the Service back to ClusterIP.',
    tactic: 'Initial Access',
    technique: 'T1133',
    needs: 'Request or RequestResponse audit level for Services',
  },
} as const satisfies Record<string, NativeRule>;

/** Every native rule, API-caller families first, in GuardDuty's page order. */
export const NATIVE_RULES: readonly NativeRule[] = [
  ...API_TACTICS.flatMap((t) => MECHANISMS.map((m) => apiCallerRule(t, m))),
  SINGLE_RULES.execInKubeSystemPod,
  SINGLE_RULES.containerWithSensitiveMount,
  SINGLE_RULES.adminAccessToDefaultServiceAccount,
  SINGLE_RULES.anonymousAccessGranted,
  SINGLE_RULES.exposedDashboard,
  SINGLE_RULES.kubeflowDashboardExposed,
  SINGLE_RULES.privilegedContainer,
];

export function infoOf(r: NativeRule): DetectorInfo {
  return {
    type: r.type,
    engine: 'native',
    rule: r.rule,
    title: r.title,
    description: r.description,
    severity: severityFromLabel(r.severity),
    mitre: { tactic: r.tactic, technique: r.technique },
    tags: r.retired === true ? ['guardduty', 'retired'] : ['guardduty'],
    remediation: r.remediation,
  };
}

export interface NativeRuleDescription {
  readonly type: string;
  readonly severity: SeverityLabel;
  readonly tactic: string;
  readonly technique: string;
  readonly title: string;
  readonly needs: string;
}

/** For `sleuth rules list`. */
export function describeNativeRules(): NativeRuleDescription[] {
  return NATIVE_RULES.map((r) => ({
    type: r.type,
    severity: r.severity,
    tactic: r.tactic,
    technique: r.technique,
    title: r.title,
    needs: r.needs,
  }));
}
