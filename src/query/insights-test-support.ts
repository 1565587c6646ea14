/**
 * Test support for the Logs Insights tests: sample audit events (two public datasets plus a few
 * hand-written EKS-style events that exercise userAgent, sourceIPs, annotations and @logStream),
 * normalized through the real pipeline and stored in a real in-memory DuckDB store.
 * Not used at run time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent, EventOrigin } from '../model/audit-event.js';
import { normalizeText } from '../normalize/normalize.js';
import { openDuckDbStore } from '../store/duckdb/duckdb-store.js';
import type { Store } from '../store/store.js';
import { repoRoot } from '../util/repo-root.js';
export { repoRoot };

export const LOG_GROUP = '/aws/eks/demo/cluster';
export const AUDIT_STREAM_A = 'kube-apiserver-audit-0a1b2c3d4e5f';
export const AUDIT_STREAM_B = 'kube-apiserver-audit-9f8e7d6c5b4a';

/** Hand-written EKS-style events (what the two datasets lack): one JSON object per line. */
export const EKS_EVENTS: readonly string[] = [
  // aws-auth patched by an IAM admin (EKS-001, EKS-025).
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"eks-0001","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/configmaps/aws-auth","verb":"patch","user":{"username":"kubernetes-admin","uid":"aws-iam-authenticator:111122223333:AIDAEXAMPLE","groups":["system:masters","system:authenticated"]},"sourceIPs":["203.0.113.10"],"userAgent":"kubectl/v1.29.0 (linux/amd64) kubernetes/abc","objectRef":{"resource":"configmaps","namespace":"kube-system","name":"aws-auth","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2024-05-01T10:00:01.100000Z","stageTimestamp":"2024-05-01T10:00:01.350000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}',
  // Anonymous secret reads rejected with 401/403 (EKS-007, EKS-008).
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"eks-0002","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/secrets","verb":"list","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["198.51.100.7","10.0.0.5"],"userAgent":"curl/8.4.0","objectRef":{"resource":"secrets","namespace":"default","apiVersion":"v1"},"responseStatus":{"code":401,"status":"Failure","reason":"Unauthorized"},"requestReceivedTimestamp":"2024-05-01T10:01:10.000000Z","stageTimestamp":"2024-05-01T10:01:10.002000Z"}',
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"eks-0003","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/secrets/db-password","verb":"get","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["198.51.100.7"],"userAgent":"curl/8.4.0","objectRef":{"resource":"secrets","namespace":"default","name":"db-password","apiVersion":"v1"},"responseStatus":{"code":403,"status":"Failure","reason":"Forbidden"},"requestReceivedTimestamp":"2024-05-01T10:01:40.000000Z","stageTimestamp":"2024-05-01T10:01:40.001000Z","annotations":{"authorization.k8s.io/decision":"forbid"}}',
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"eks-0004","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/secrets/db-password","verb":"get","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["198.51.100.8"],"userAgent":"curl/8.4.0","objectRef":{"resource":"secrets","namespace":"default","name":"db-password","apiVersion":"v1"},"responseStatus":{"code":401},"requestReceivedTimestamp":"2024-05-01T10:03:05.000000Z","stageTimestamp":"2024-05-01T10:03:05.001000Z"}',
  // RBAC changes (EKS-003…EKS-006).
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"eks-0005","stage":"ResponseComplete","requestURI":"/apis/rbac.authorization.k8s.io/v1/namespaces/prod/roles","verb":"create","user":{"username":"alice@example.com","groups":["devs","system:authenticated"]},"sourceIPs":["192.0.2.44"],"userAgent":"kubectl/v1.29.0 (darwin/arm64) kubernetes/abc","objectRef":{"resource":"roles","namespace":"prod","name":"pod-reader","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"},"responseStatus":{"code":201},"requestReceivedTimestamp":"2024-05-01T10:05:00.000000Z","stageTimestamp":"2024-05-01T10:05:00.040000Z"}',
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"eks-0006","stage":"ResponseComplete","requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings","verb":"create","user":{"username":"alice@example.com","groups":["devs","system:authenticated"]},"sourceIPs":["192.0.2.44"],"userAgent":"kubectl/v1.29.0 (darwin/arm64) kubernetes/abc","objectRef":{"resource":"clusterrolebindings","name":"alice-admin","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"},"responseStatus":{"code":201},"requestReceivedTimestamp":"2024-05-01T10:06:30.000000Z","stageTimestamp":"2024-05-01T10:06:30.030000Z"}',
  // A deprecated API call (EKS-018) and a validating webhook change (EKS-002).
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"eks-0007","stage":"ResponseComplete","requestURI":"/apis/policy/v1beta1/podsecuritypolicies","verb":"list","user":{"username":"system:serviceaccount:kube-system:legacy-controller","groups":["system:serviceaccounts"]},"sourceIPs":["10.0.12.9"],"userAgent":"legacy-controller/v0.1","objectRef":{"resource":"podsecuritypolicies","apiGroup":"policy","apiVersion":"v1beta1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2024-05-01T10:07:00.000000Z","stageTimestamp":"2024-05-01T10:07:00.010000Z","annotations":{"k8s.io/deprecated":"true","k8s.io/removed-release":"1.25"}}',
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"eks-0008","stage":"ResponseComplete","requestURI":"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations","verb":"create","user":{"username":"kubernetes-admin","groups":["system:masters"]},"sourceIPs":["203.0.113.10"],"userAgent":"helm/3.14","objectRef":{"resource":"validatingwebhookconfigurations","name":"gatekeeper","apiGroup":"admissionregistration.k8s.io","apiVersion":"v1"},"responseStatus":{"code":201},"requestReceivedTimestamp":"2024-05-01T10:08:00.000000Z","stageTimestamp":"2024-05-01T10:08:00.020000Z"}',
  // kube-controller-manager traffic (EKS-014) and a pod patch that failed with 500 (EKS-039).
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"eks-0009","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods/web-1","verb":"patch","user":{"username":"system:serviceaccount:kube-system:replicaset-controller","groups":["system:serviceaccounts"]},"sourceIPs":["10.0.0.2"],"userAgent":"kube-controller-manager/v1.29.0 (linux/amd64) kubernetes/abc/system:serviceaccount:kube-system:replicaset-controller","objectRef":{"resource":"pods","namespace":"default","name":"web-1","apiVersion":"v1"},"responseStatus":{"code":500},"requestReceivedTimestamp":"2024-05-01T10:09:00.000000Z","stageTimestamp":"2024-05-01T10:09:00.500000Z"}',
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"eks-0010","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods/web-1","verb":"patch","user":{"username":"system:serviceaccount:kube-system:replicaset-controller","groups":["system:serviceaccounts"]},"sourceIPs":["10.0.0.2"],"userAgent":"kube-controller-manager/v1.29.0 (linux/amd64) kubernetes/abc/system:serviceaccount:kube-system:replicaset-controller","objectRef":{"resource":"pods","namespace":"default","name":"web-1","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2024-05-01T10:09:30.000000Z","stageTimestamp":"2024-05-01T10:09:30.100000Z"}',
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"eks-0012","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods/web-1","verb":"patch","user":{"username":"system:serviceaccount:kube-system:replicaset-controller","groups":["system:serviceaccounts"]},"sourceIPs":["10.0.0.2"],"userAgent":"kube-controller-manager/v1.29.0 (linux/amd64) kubernetes/abc/system:serviceaccount:kube-system:replicaset-controller","objectRef":{"resource":"pods","namespace":"default","name":"web-1","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2024-05-01T10:09:45.000000Z","stageTimestamp":"2024-05-01T10:09:45.050000Z"}',
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"eks-0013","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods/web-1","verb":"patch","user":{"username":"system:serviceaccount:kube-system:replicaset-controller","groups":["system:serviceaccounts"]},"sourceIPs":["10.0.0.2"],"userAgent":"kube-controller-manager/v1.29.0 (linux/amd64) kubernetes/abc/system:serviceaccount:kube-system:replicaset-controller","objectRef":{"resource":"pods","namespace":"default","name":"web-1","apiVersion":"v1"},"responseStatus":{"code":500},"requestReceivedTimestamp":"2024-05-01T10:09:50.000000Z","stageTimestamp":"2024-05-01T10:09:51.000000Z"}',
  // A hostile event: SQL and terminal metacharacters in attacker-controlled strings.
  '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"eks-0011\'; DROP TABLE events; --","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/x/pods?q=\\"; DROP TABLE events;--","verb":"get","user":{"username":"robert\'); DROP TABLE events;--","groups":[]},"sourceIPs":["10.9.9.9"],"userAgent":"%_\\\\ like \\"*\\" #|","objectRef":{"resource":"pods","namespace":"x","name":"a\\"b"},"responseStatus":{"code":404},"requestReceivedTimestamp":"2024-05-01T10:10:00.000000Z"}',
];

function origin(file: string, line: number, stream: string | null, cwTimestamp: number | null): EventOrigin {
  return {
    file,
    line,
    logGroup: stream === null ? null : LOG_GROUP,
    logStream: stream,
    cwTimestamp,
    cwEventId: stream === null ? null : `cw-${file.length}-${line}`,
    ingestionTime: cwTimestamp === null ? null : cwTimestamp + 1500,
  };
}

function normalizeAll(
  lines: readonly string[],
  file: string,
  envelope: (line: number) => { stream: string | null; cw: number | null },
): AuditEvent[] {
  const out: AuditEvent[] = [];
  lines.forEach((text, k) => {
    if (text.trim() === '') return;
    const env = envelope(k + 1);
    const r = normalizeText(text, origin(file, k + 1, env.stream, env.cw));
    if (!r.ok) throw new Error(`${file}:${k + 1}: ${r.reason}`);
    out.push(r.event);
  });
  return out;
}

let cached: AuditEvent[] | null = null;

/**
 * The sample events: audit2rbac's demo.log (plain file: no CloudWatch envelope), the first 300
 * lines of the hkerma dataset and the EKS events above (both with CloudWatch envelopes, split
 * across two kube-apiserver-audit streams; CloudWatch timestamps = requestReceivedTimestamp).
 */
export function sampleEvents(): AuditEvent[] {
  if (cached !== null) return cached;
  const corpus = join(repoRoot(), '..', 'shared', 'corpus', 'datasets');
  const demo = readFileSync(join(corpus, 'audit2rbac', 'demo.log'), 'utf8').split('\n');
  const hkerma = readFileSync(join(corpus, 'hkerma-kubernetes-event-dataset', 'audit-logs.reconstructed.jsonl'), 'utf8')
    .split('\n')
    .slice(0, 300);
  const received = (text: string): number | null => {
    const m = /"requestReceivedTimestamp": ?"([^"]+)"/.exec(text);
    return m === null ? null : Date.parse(m[1]!);
  };
  cached = [
    ...normalizeAll(demo, 'demo.log', () => ({ stream: null, cw: null })),
    ...normalizeAll(hkerma, 'hkerma.jsonl', (line) => ({
      stream: line % 3 === 0 ? AUDIT_STREAM_B : AUDIT_STREAM_A,
      cw: received(hkerma[line - 1]!),
    })),
    ...normalizeAll(EKS_EVENTS, 'eks.jsonl', (line) => ({
      stream: line % 2 === 0 ? AUDIT_STREAM_B : AUDIT_STREAM_A,
      cw: received(EKS_EVENTS[line - 1]!),
    })),
  ];
  return cached;
}

/** A fresh in-memory store holding the sample events. */
export async function sampleStore(): Promise<Store> {
  const store = await openDuckDbStore(':memory:');
  await store.appendEvents(sampleEvents());
  return store;
}

// ── helpers for computing expected results in JS, independently of the SQL compiler ──

/** Read a dotted path from the parsed audit JSON (numeric segments index arrays). */
export function jsonPath(e: AuditEvent, path: string): unknown {
  let cur: unknown = e.raw;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** CloudWatch's display form of epoch ms: `2024-05-01 10:00:01.100`. */
export function cwTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}
