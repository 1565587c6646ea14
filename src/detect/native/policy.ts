/**
 * Policy findings: configuration changes that open the cluster.
 * - AdminAccessToDefaultServiceAccount and AnonymousAccessGranted read RoleBindings and
 *   ClusterRoleBindings on create, update and patch (all three patch formats), with subjects of
 *   kind User, Group and ServiceAccount.
 * - ExposedDashboard and KubeflowDashboardExposed read Services created as, or changed to,
 *   type LoadBalancer.
 */
import type { AuditEvent } from '../../model/audit-event.js';
import type { Detector, Emit } from '../detector.js';
import { infoOf, SINGLE_RULES, type NativeRule } from './catalog.js';
import {
  ADMIN_ROLES,
  ANONYMOUS_SUBJECTS,
  BOOTSTRAP_ANONYMOUS_GRANTS,
  DASHBOARD_CRITERIA,
  INTERNAL_BY_DEFAULT_LB,
  INTERNAL_LB_ANNOTATIONS,
  type DashboardCriteria,
} from './criteria.js';
import { bindingOf, serviceOf, succeeded, type BindingInfo, type ServiceInfo, type Subject } from './k8s-object.js';

const WRITE_VERBS = ['create', 'update', 'patch'];
const BINDING_RESOURCES = ['rolebindings', 'clusterrolebindings'];

/**
 * roleRef is immutable, so a patch that only adds subjects does not repeat it. When the log kept
 * no response object we look the roleRef up from the binding's earlier create in the same input.
 * Bounded: 50k bindings (~5 MB); past it, new bindings are not remembered.
 */
const ROLE_REF_MEMORY = 50_000;

export class BindingMemory {
  readonly #roleRefs = new Map<string, { kind: string | null; name: string }>();

  #key(e: AuditEvent, b: BindingInfo): string {
    return `${e.cluster}\u0000${b.kind}\u0000${b.namespace ?? ''}\u0000${b.name ?? ''}`;
  }

  /** The binding with its roleRef filled from memory when the event lacks it; remembers it. */
  resolve(e: AuditEvent, b: BindingInfo): BindingInfo {
    if (b.name === null) return b;
    const key = this.#key(e, b);
    if (b.roleRefName !== null) {
      if (this.#roleRefs.has(key) || this.#roleRefs.size < ROLE_REF_MEMORY)
        this.#roleRefs.set(key, { kind: b.roleRefKind, name: b.roleRefName });
      return b;
    }
    const known = this.#roleRefs.get(key);
    return known === undefined ? b : { ...b, roleRefKind: known.kind, roleRefName: known.name };
  }

  forget(e: AuditEvent): void {
    const kind = e.resource === 'rolebindings' ? 'RoleBinding' : 'ClusterRoleBinding';
    this.#roleRefs.delete(`${e.cluster}\u0000${kind}\u0000${e.namespace ?? ''}\u0000${e.name ?? ''}`);
  }
}

function bindingDetails(b: BindingInfo, matched: readonly Subject[]): Record<string, unknown> {
  return {
    roleBinding: {
      kind: b.kind,
      name: b.name,
      namespace: b.namespace,
      uid: b.uid,
      roleRefKind: b.roleRefKind,
      roleRefName: b.roleRefName,
    },
    subjects: matched.slice(0, 16),
  };
}

/** A subject that is (or includes) a namespace's default service account. */
export function isDefaultServiceAccount(s: Subject): boolean {
  switch (s.kind) {
    case 'ServiceAccount':
      return s.name === 'default';
    case 'User':
      return /^system:serviceaccount:[^:]+:default$/.test(s.name);
    case 'Group':
      return s.name === 'system:serviceaccounts' || s.name.startsWith('system:serviceaccounts:');
    default:
      return false;
  }
}

export function isAnonymousSubject(s: Subject): boolean {
  return ANONYMOUS_SUBJECTS.some((a) => a.kind === s.kind && a.name === s.name);
}

function bindingDetector(
  rule: NativeRule,
  memory: BindingMemory,
  test: (e: AuditEvent, b: BindingInfo) => Subject[],
): Detector {
  const info = infoOf(rule);
  return {
    info,
    index: { verbs: [...WRITE_VERBS, 'delete'], resources: BINDING_RESOURCES },
    evaluate(e: AuditEvent, emit: Emit): void {
      if (!succeeded(e)) return;
      if (e.verb === 'delete') {
        memory.forget(e);
        return;
      }
      const raw = bindingOf(e);
      if (raw === null) return;
      const b = memory.resolve(e, raw);
      const matched = test(e, b);
      if (matched.length === 0) return;
      emit({
        info,
        event: e,
        groupKey: `${e.username ?? ''}\u0000${b.kind}/${b.namespace ?? ''}/${b.name ?? ''}`,
        details: bindingDetails(b, matched),
      });
    },
  };
}

export function adminAccessToDefaultServiceAccountDetector(memory: BindingMemory): Detector {
  return bindingDetector(SINGLE_RULES.adminAccessToDefaultServiceAccount, memory, (_e, b) => {
    // A RoleBinding may name the admin ClusterRoles; a namespaced Role called "admin" is not them.
    if (b.roleRefName === null || b.roleRefKind === 'Role' || !ADMIN_ROLES.includes(b.roleRefName)) return [];
    return b.subjects.filter(isDefaultServiceAccount);
  });
}

export function anonymousAccessGrantedDetector(memory: BindingMemory): Detector {
  return bindingDetector(SINGLE_RULES.anonymousAccessGranted, memory, (e, b) => {
    if (BOOTSTRAP_ANONYMOUS_GRANTS.some((g) => g.actor === e.username && g.roleRefName === b.roleRefName)) return [];
    return b.subjects.filter(isAnonymousSubject);
  });
}

export function isInternal(svc: ServiceInfo): boolean {
  const marked = INTERNAL_LB_ANNOTATIONS.some((a) => {
    const v = svc.annotations[a.key];
    return v !== undefined && a.values.includes(v);
  });
  if (marked) return true;
  const lb = INTERNAL_BY_DEFAULT_LB;
  const type = svc.annotations[lb.typeAnnotation];
  const byLbc =
    (type !== undefined && (lb.types as readonly string[]).includes(type)) ||
    (svc.loadBalancerClass !== null && (lb.classes as readonly string[]).includes(svc.loadBalancerClass));
  return byLbc && svc.annotations[lb.schemeAnnotation] !== lb.publicScheme;
}

/** Which criterion makes this Service the dashboard, or null. */
export function dashboardMatch(svc: ServiceInfo, c: DashboardCriteria): string | null {
  if (svc.name !== null && c.names.includes(svc.name)) return `name ${svc.name}`;
  for (const key of c.labelKeys) {
    const l = svc.labels[key];
    if (l !== undefined && c.labelValues.includes(l)) return `label ${key}=${l}`;
    const s = svc.selector[key];
    if (s !== undefined && c.labelValues.includes(s)) return `selector ${key}=${s}`;
  }
  if (svc.namespace !== null && c.namespaces.includes(svc.namespace)) return `namespace ${svc.namespace}`;
  return null;
}

function dashboardDetector(rule: NativeRule, criteria: DashboardCriteria): Detector {
  const info = infoOf(rule);
  return {
    info,
    index: { verbs: WRITE_VERBS, resources: ['services'] },
    evaluate(e: AuditEvent, emit: Emit): void {
      if (!succeeded(e)) return;
      const svc = serviceOf(e);
      if (svc === null || svc.type !== 'LoadBalancer' || isInternal(svc)) return;
      const why = dashboardMatch(svc, criteria);
      if (why === null) return;
      emit({
        info,
        event: e,
        groupKey: `${svc.namespace ?? ''}/${svc.name ?? ''}`,
        details: {
          service: {
            name: svc.name,
            namespace: svc.namespace,
            type: svc.type,
            ports: svc.ports.slice(0, 16),
            loadBalancerSourceRanges: svc.loadBalancerSourceRanges.slice(0, 16),
            matchedBy: why,
          },
        },
      });
    },
  };
}

export function exposedDashboardDetector(): Detector {
  return dashboardDetector(SINGLE_RULES.exposedDashboard, DASHBOARD_CRITERIA.kubernetes);
}

export function kubeflowDashboardExposedDetector(): Detector {
  return dashboardDetector(SINGLE_RULES.kubeflowDashboardExposed, DASHBOARD_CRITERIA.kubeflow);
}
