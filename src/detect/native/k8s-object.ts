/**
 * Reading Kubernetes objects out of audit events: the object a request leaves behind (create and
 * update bodies, patch bodies in all three patch formats, or the response when the audit level
 * recorded it), pod specs inside every workload kind, RBAC bindings and Services.
 *
 * Every value here came from a log and is attacker-controlled: readers check types and never
 * throw; lists are bounded so a forged event with a million containers costs little.
 */
import type { AuditEvent } from '../../model/audit-event.js';

/** Bounds on what we read from one object (a real pod has a handful of containers). */
const MAX_ITEMS = 256;
/** JSON patch documents are short; a forged one with many ops is cut off. */
const MAX_PATCH_OPS = 1024;

export type Json = Record<string, unknown>;

export function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function rec(v: unknown): Json | null {
  return isRecord(v) ? v : null;
}

export function arr(v: unknown): readonly unknown[] {
  if (!Array.isArray(v)) return [];
  return v.length > MAX_ITEMS ? v.slice(0, MAX_ITEMS) : v;
}

/** 2xx/3xx, or 101 for upgraded exec/attach streams. Unknown codes fall back on the authorizer. */
/**
 * Did the request succeed? Detectors see each request once (the scan pipeline's StageDeduper
 * dispatches ResponseComplete, else the latest stage seen, e.g. ResponseStarted 101 for an exec
 * whose stream never closed), so any stage may arrive here; without a response code (a lone
 * RequestReceived) the authorizer's decision is the best evidence there is.
 */
export function succeeded(e: AuditEvent): boolean {
  if (e.responseCode !== null) return e.responseCode < 400;
  return e.authzDecision === 'allow';
}

/**
 * Turns a JSON patch (RFC 6902) into the partial object it writes: `add`/`replace` values land at
 * their paths, so `[{op:add, path:/spec/type, value:LoadBalancer}]` reads like
 * `{spec:{type:LoadBalancer}}`. Array indexes and `-` append. Removes and moves are ignored:
 * they cannot add privilege.
 */
export function jsonPatchToPartial(ops: readonly unknown[]): Json {
  const root: Json = {};
  const n = Math.min(ops.length, MAX_PATCH_OPS);
  for (let i = 0; i < n; i++) {
    const op = ops[i];
    if (!isRecord(op)) continue;
    const kind = op['op'];
    if (kind !== 'add' && kind !== 'replace' && kind !== 'copy') continue;
    const path = str(op['path']);
    if (path === null || !path.startsWith('/')) continue;
    const segs = path
      .slice(1)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (segs.length > 32) continue;
    setPath(root, segs, kind === 'copy' ? undefined : op['value']);
  }
  return root;
}

function setPath(root: Json, segs: readonly string[], value: unknown): void {
  let cur: Json | unknown[] = root;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    const nextIsIndex = !last && /^(\d+|-)$/.test(segs[i + 1]!);
    if (Array.isArray(cur)) {
      const idx = seg === '-' ? cur.length : Number(seg);
      if (!Number.isInteger(idx) || idx < 0 || idx > MAX_ITEMS) return;
      if (last) {
        cur[idx] = value;
        return;
      }
      let next: unknown = cur[idx];
      if (!(typeof next === 'object' && next !== null)) cur[idx] = next = nextIsIndex ? [] : {};
      cur = next as Json | unknown[];
    } else {
      if (seg === '__proto__' || seg === 'constructor' || seg === 'prototype') return;
      if (last) {
        cur[seg] = value;
        return;
      }
      let next: unknown = cur[seg];
      if (!(typeof next === 'object' && next !== null)) cur[seg] = next = nextIsIndex ? [] : {};
      cur = next as Json | unknown[];
    }
  }
}

/**
 * The object as the request left it, as well as the log lets us know it.
 * - create/update: the request body (the full object); the response object when the body is absent.
 * - patch: the response object (the merged result) when logged at RequestResponse; otherwise
 *   the patch body read as a partial object (strategic merge and JSON merge bodies already are;
 *   JSON patch arrays are converted).
 * Null when the audit level recorded no body (Metadata).
 */
export function objectAfter(e: AuditEvent): Json | null {
  const req = e.raw['requestObject'];
  const resp = rec(e.raw['responseObject']);
  if (e.verb === 'patch') {
    if (resp !== null && resp['kind'] !== 'Status') return resp;
    if (Array.isArray(req)) return jsonPatchToPartial(req);
    return rec(req);
  }
  const body = rec(req);
  if (body !== null) return body;
  if (resp !== null && resp['kind'] !== 'Status') return resp;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Pod specs inside workloads

/** Where the pod spec sits in each workload kind, by objectRef.resource. */
export const POD_SPEC_PATHS = {
  pods: ['spec'],
  deployments: ['spec', 'template', 'spec'],
  daemonsets: ['spec', 'template', 'spec'],
  statefulsets: ['spec', 'template', 'spec'],
  replicasets: ['spec', 'template', 'spec'],
  replicationcontrollers: ['spec', 'template', 'spec'],
  jobs: ['spec', 'template', 'spec'],
  cronjobs: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  podtemplates: ['template', 'spec'],
} as const satisfies Record<string, readonly string[]>;

export const WORKLOAD_RESOURCES: readonly string[] = Object.keys(POD_SPEC_PATHS);

export type ContainerKind = 'container' | 'initContainer' | 'ephemeralContainer';

export interface ContainerInfo {
  readonly name: string;
  readonly image: string;
  readonly imagePrefix: string;
  readonly kind: ContainerKind;
  /** securityContext.privileged; null when not set. */
  readonly privileged: boolean | null;
  readonly allowPrivilegeEscalation: boolean | null;
  readonly volumeMounts: readonly { readonly name: string; readonly mountPath: string; readonly readOnly: boolean }[];
}

export interface WorkloadInfo {
  /** objectRef.resource (GuardDuty's kubernetesWorkloadDetails.type uses the plural resource). */
  readonly type: string;
  readonly name: string | null;
  readonly namespace: string | null;
  readonly uid: string | null;
  /** null when the body is a partial patch that does not say (unknown, not false). */
  readonly hostNetwork: boolean | null;
  readonly hostPID: boolean | null;
  readonly hostIPC: boolean | null;
  readonly serviceAccountName: string | null;
  readonly containers: readonly ContainerInfo[];
  readonly volumes: readonly { readonly name: string; readonly hostPath: string | null }[];
}

/** GuardDuty: "Part of the image name before the last slash ... empty" for names without a slash. */
export function imagePrefixOf(image: string): string {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const slash = base.lastIndexOf('/');
  return slash < 0 ? '' : base.slice(0, slash);
}

function readPath(obj: Json, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (!isRecord(cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

function containersOf(spec: Json, field: string, kind: ContainerKind, out: ContainerInfo[]): void {
  for (const c of arr(spec[field])) {
    if (!isRecord(c)) continue;
    const sc = rec(c['securityContext']);
    const image = str(c['image']) ?? '';
    const mounts: { name: string; mountPath: string; readOnly: boolean }[] = [];
    for (const m of arr(c['volumeMounts'])) {
      if (!isRecord(m)) continue;
      mounts.push({
        name: str(m['name']) ?? '',
        mountPath: str(m['mountPath']) ?? '',
        readOnly: m['readOnly'] === true,
      });
    }
    out.push({
      name: str(c['name']) ?? '',
      image,
      imagePrefix: imagePrefixOf(image),
      kind,
      privileged: sc === null || typeof sc['privileged'] !== 'boolean' ? null : sc['privileged'],
      allowPrivilegeEscalation:
        sc === null || typeof sc['allowPrivilegeEscalation'] !== 'boolean' ? null : sc['allowPrivilegeEscalation'],
      volumeMounts: mounts,
    });
  }
}

// One-slot cache: the privileged-container and sensitive-mount detectors both read the same
// event back to back; parsing its pod spec once is enough.
let cachedEvent: AuditEvent | null = null;
let cachedWorkload: WorkloadInfo | null = null;

/**
 * The pod spec a workload request writes, for pods, pods/ephemeralcontainers and every kind with a
 * pod template. Null for other resources, for subresources other than ephemeralcontainers, and
 * when the event has no body.
 */
export function workloadOf(e: AuditEvent): WorkloadInfo | null {
  if (e === cachedEvent) return cachedWorkload;
  cachedEvent = e;
  cachedWorkload = readWorkload(e);
  return cachedWorkload;
}

function readWorkload(e: AuditEvent): WorkloadInfo | null {
  const resource = e.resource;
  if (resource === null || !Object.hasOwn(POD_SPEC_PATHS, resource)) return null;
  if (e.subresource !== null && !(resource === 'pods' && e.subresource === 'ephemeralcontainers')) return null;
  const obj = objectAfter(e);
  if (obj === null) return null;
  // A patch body without the response object is only what changed: absent is unknown, not false.
  const partial = e.verb === 'patch' && obj !== rec(e.raw['responseObject']);
  const spec = rec(readPath(obj, POD_SPEC_PATHS[resource as keyof typeof POD_SPEC_PATHS]));
  if (spec === null) return null;
  const containers: ContainerInfo[] = [];
  containersOf(spec, 'containers', 'container', containers);
  containersOf(spec, 'initContainers', 'initContainer', containers);
  containersOf(spec, 'ephemeralContainers', 'ephemeralContainer', containers);
  const volumes: { name: string; hostPath: string | null }[] = [];
  for (const v of arr(spec['volumes'])) {
    if (!isRecord(v)) continue;
    const hp = rec(v['hostPath']);
    volumes.push({ name: str(v['name']) ?? '', hostPath: hp === null ? null : str(hp['path']) });
  }
  const meta = rec(obj['metadata']);
  const name = e.name ?? (meta === null ? null : (str(meta['name']) ?? str(meta['generateName'])));
  return {
    type: resource,
    name,
    namespace: e.namespace ?? (meta === null ? null : str(meta['namespace'])),
    uid: meta === null ? null : str(meta['uid']),
    hostNetwork: hostFlag(spec['hostNetwork'], partial),
    hostPID: hostFlag(spec['hostPID'], partial),
    hostIPC: hostFlag(spec['hostIPC'], partial),
    serviceAccountName: str(spec['serviceAccountName']) ?? str(spec['serviceAccount']),
    containers,
    volumes,
  };
}

function hostFlag(v: unknown, partial: boolean): boolean | null {
  if (typeof v === 'boolean') return v;
  return partial ? null : false;
}

/** The GuardDuty kubernetesWorkloadDetails shape, kept in finding details for the formatters. */
export function workloadDetails(w: WorkloadInfo): Json {
  return {
    name: w.name,
    type: w.type,
    uid: w.uid,
    namespace: w.namespace,
    hostNetwork: w.hostNetwork,
    hostPID: w.hostPID,
    hostIPC: w.hostIPC,
    serviceAccountName: w.serviceAccountName,
    containers: w.containers.slice(0, 16).map((c) => ({
      name: c.name,
      image: c.image,
      imagePrefix: c.imagePrefix,
      ...(c.kind !== 'container' ? { containerType: c.kind } : {}),
      securityContext: {
        ...(c.privileged !== null ? { privileged: c.privileged } : {}),
        ...(c.allowPrivilegeEscalation !== null ? { allowPrivilegeEscalation: c.allowPrivilegeEscalation } : {}),
      },
      volumeMounts: c.volumeMounts.slice(0, 16).map((m) => ({ name: m.name, mountPath: m.mountPath })),
    })),
    volumes: w.volumes
      .filter((v) => v.hostPath !== null)
      .slice(0, 16)
      .map((v) => ({ name: v.name, hostPath: { path: v.hostPath } })),
  };
}

// ---------------------------------------------------------------------------------------------
// RBAC bindings

export interface Subject {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | null;
}

export interface BindingInfo {
  readonly kind: 'RoleBinding' | 'ClusterRoleBinding';
  readonly name: string | null;
  readonly namespace: string | null;
  readonly uid: string | null;
  readonly roleRefKind: string | null;
  readonly roleRefName: string | null;
  readonly subjects: readonly Subject[];
}

/** The binding a create/update/patch leaves, from whichever body the log kept. */
export function bindingOf(e: AuditEvent): BindingInfo | null {
  if (e.resource !== 'rolebindings' && e.resource !== 'clusterrolebindings') return null;
  if (e.subresource !== null) return null;
  const obj = objectAfter(e);
  if (obj === null) return null;
  const roleRef = rec(obj['roleRef']);
  const subjects: Subject[] = [];
  for (const s of arr(obj['subjects'])) {
    if (!isRecord(s)) continue;
    const kind = str(s['kind']);
    const name = str(s['name']);
    if (kind === null || name === null) continue;
    subjects.push({ kind, name, namespace: str(s['namespace']) });
  }
  const meta = rec(obj['metadata']);
  return {
    kind: e.resource === 'rolebindings' ? 'RoleBinding' : 'ClusterRoleBinding',
    name: e.name ?? (meta === null ? null : str(meta['name'])),
    namespace: e.namespace,
    uid: meta === null ? null : str(meta['uid']),
    roleRefKind: roleRef === null ? null : str(roleRef['kind']),
    roleRefName: roleRef === null ? null : str(roleRef['name']),
    subjects,
  };
}

// ---------------------------------------------------------------------------------------------
// Services

export interface ServiceInfo {
  readonly name: string | null;
  readonly namespace: string | null;
  /** spec.type as written; null when the request did not say (a patch that left it alone). */
  readonly type: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly selector: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ports: readonly { readonly port: number | null; readonly targetPort: string | null }[];
  readonly loadBalancerSourceRanges: readonly string[];
  /** spec.loadBalancerClass: which controller provisions the load balancer (null: the cloud provider's). */
  readonly loadBalancerClass: string | null;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  let n = 0;
  for (const k of Object.keys(v)) {
    if (++n > MAX_ITEMS) break;
    const x = v[k];
    if (typeof x === 'string') out[k] = x;
  }
  return out;
}

export function serviceOf(e: AuditEvent): ServiceInfo | null {
  if (e.resource !== 'services' || e.subresource !== null) return null;
  const obj = objectAfter(e);
  if (obj === null) return null;
  const spec = rec(obj['spec']) ?? {};
  const meta = rec(obj['metadata']) ?? {};
  const ports: { port: number | null; targetPort: string | null }[] = [];
  for (const p of arr(spec['ports'])) {
    if (!isRecord(p)) continue;
    const tp = p['targetPort'];
    ports.push({
      port: typeof p['port'] === 'number' ? p['port'] : null,
      targetPort: typeof tp === 'number' || typeof tp === 'string' ? String(tp) : null,
    });
  }
  return {
    name: e.name ?? str(meta['name']),
    namespace: e.namespace ?? str(meta['namespace']),
    type: str(spec['type']),
    labels: stringMap(meta['labels']),
    selector: stringMap(spec['selector']),
    annotations: stringMap(meta['annotations']),
    ports,
    loadBalancerSourceRanges: arr(spec['loadBalancerSourceRanges']).filter((x): x is string => typeof x === 'string'),
    loadBalancerClass: str(spec['loadBalancerClass']),
  };
}
