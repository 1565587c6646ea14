/**
 * Test support for native detectors, intel and findings: builds realistic audit events (the shape
 * the apiserver writes on EKS) and runs a detector the way the engine will, honouring its index.
 * Not used at run time.
 */
import { readFileSync } from 'node:fs';
import type { AuditEvent } from '../../model/audit-event.js';
import type { Detection, Detector } from '../detector.js';
import { fileOrigin, normalizeParsed } from '../../normalize/normalize.js';
import { repoRoot } from '../../util/repo-root.js';
export { repoRoot };

let auditSeq = 0;

export interface EventSpec {
  verb: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  apiGroup?: string;
  apiVersion?: string;
  requestURI?: string;
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  impersonatedUser?: string;
  sourceIPs?: string[];
  userAgent?: string;
  code?: number;
  decision?: 'allow' | 'forbid';
  reason?: string;
  requestObject?: unknown;
  responseObject?: unknown;
  time?: string;
  auditID?: string;
  cluster?: string;
  /** Extra raw fields merged at top level (tests of odd input). */
  raw?: Record<string, unknown>;
}

/** An IAM-authenticated EKS admin, the common actor in tests. */
export const EKS_ADMIN = {
  username: 'arn:aws:sts::111122223333:assumed-role/Admin/alice',
  uid: 'aws-iam-authenticator:111122223333:AROAEXAMPLEID',
  groups: ['system:authenticated'],
  extra: {
    accessKeyId: ['ASIAEXAMPLE'],
    arn: ['arn:aws:sts::111122223333:assumed-role/Admin/alice'],
    canonicalArn: ['arn:aws:iam::111122223333:role/Admin'],
    principalId: ['AROAEXAMPLEID'],
    sessionName: ['alice'],
  },
} as const;

export function rawEvent(s: EventSpec): Record<string, unknown> {
  const objectRef: Record<string, unknown> = {};
  if (s.resource !== undefined) objectRef['resource'] = s.resource;
  if (s.subresource !== undefined) objectRef['subresource'] = s.subresource;
  if (s.namespace !== undefined) objectRef['namespace'] = s.namespace;
  if (s.name !== undefined) objectRef['name'] = s.name;
  if (s.apiGroup !== undefined) objectRef['apiGroup'] = s.apiGroup;
  objectRef['apiVersion'] = s.apiVersion ?? 'v1';
  const user: Record<string, unknown> = {
    username: s.username ?? EKS_ADMIN.username,
    uid: s.uid ?? EKS_ADMIN.uid,
    groups: s.groups ?? [...EKS_ADMIN.groups],
  };
  if (s.extra !== undefined) user['extra'] = s.extra;
  else if (s.username === undefined) user['extra'] = EKS_ADMIN.extra;
  const time = s.time ?? '2024-05-01T10:00:00.000000Z';
  const code = s.code ?? (s.verb === 'create' ? 201 : 200);
  const ev: Record<string, unknown> = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: s.auditID ?? `00000000-0000-4000-8000-${String(++auditSeq).padStart(12, '0')}`,
    stage: 'ResponseComplete',
    requestURI: s.requestURI ?? defaultUri(s),
    verb: s.verb,
    user,
    sourceIPs: s.sourceIPs ?? ['203.0.113.10'],
    userAgent: s.userAgent ?? 'kubectl/v1.29.3 (linux/amd64) kubernetes/6813625',
    responseStatus:
      code >= 400
        ? { metadata: {}, status: 'Failure', reason: code === 403 ? 'Forbidden' : 'Invalid', code }
        : { metadata: {}, code },
    requestReceivedTimestamp: time,
    stageTimestamp: time,
    annotations: {
      'authorization.k8s.io/decision': s.decision ?? (code === 403 ? 'forbid' : 'allow'),
      'authorization.k8s.io/reason': s.reason ?? '',
    },
  };
  if (s.resource !== undefined) ev['objectRef'] = objectRef;
  if (s.impersonatedUser !== undefined)
    ev['impersonatedUser'] = { username: s.impersonatedUser, groups: ['system:authenticated'] };
  if (s.requestObject !== undefined) ev['requestObject'] = s.requestObject;
  if (s.responseObject !== undefined) ev['responseObject'] = s.responseObject;
  return { ...ev, ...(s.raw ?? {}) };
}

function defaultUri(s: EventSpec): string {
  if (s.resource === undefined) return '/';
  const group = s.apiGroup === undefined ? '/api/v1' : `/apis/${s.apiGroup}/${s.apiVersion ?? 'v1'}`;
  const ns = s.namespace !== undefined ? `/namespaces/${s.namespace}` : '';
  const name = s.name !== undefined && s.verb !== 'create' ? `/${s.name}` : '';
  const sub = s.subresource !== undefined ? `/${s.subresource}` : '';
  return `${group}${ns}/${s.resource}${name}${sub}`;
}

export function event(s: EventSpec): AuditEvent {
  return fromRaw(rawEvent(s), s.cluster);
}

export function fromRaw(raw: unknown, cluster?: string): AuditEvent {
  const r = normalizeParsed(
    raw,
    JSON.stringify(raw),
    fileOrigin('test.jsonl', 1),
    cluster !== undefined ? { cluster } : {},
  );
  if (!r.ok) throw new Error(`test event did not normalize: ${r.reason}`);
  return r.event;
}

/** True when the engine would send this event to the detector. */
export function passesIndex(d: Pick<Detector, 'index'>, e: AuditEvent): boolean {
  const { verbs, resources } = d.index;
  return (
    (verbs === undefined || verbs.includes(e.verb)) &&
    (resources === undefined || (e.resource !== null && resources.includes(e.resource)))
  );
}

/** Run one detector over events as the engine would (index first), collecting detections. */
export function run(d: Detector, ...events: AuditEvent[]): Detection[] {
  const out: Detection[] = [];
  for (const e of events) if (passesIndex(d, e)) d.evaluate(e, (x) => out.push(x));
  if (d.flush !== undefined) d.flush((x) => out.push(x));
  return out;
}

/** Run every detector over the events; returns the detections. */
export function runAll(ds: readonly Detector[], events: Iterable<AuditEvent>): Detection[] {
  const out: Detection[] = [];
  const emit = (x: Detection): void => void out.push(x);
  for (const e of events) for (const d of ds) if (passesIndex(d, e)) d.evaluate(e, emit);
  for (const d of ds) d.flush?.(emit);
  return out;
}

export { sharedPath } from '../../util/repo-root.js';

/** Read a JSON-lines file of audit events (skips lines that are not audit events). */
export function readJsonl(path: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    const r = normalizeParsed(parsed, line, fileOrigin(path, 1));
    if (r.ok) out.push(r.event);
  }
  return out;
}
