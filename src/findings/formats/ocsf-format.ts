/**
 * Findings as OCSF 1.1.0 Detection Finding (class_uid 2004, category 2 Findings), one JSON object
 * per line: the shape Security Lake custom sources and OCSF-native SIEMs ingest.
 */
import type { Finding, SeverityLabel } from '../../model/finding.js';
import { primaryIp } from './aws-context.js';

export const OCSF_VERSION = '1.1.0';
export const OCSF_DETECTION_FINDING = { class_uid: 2004, category_uid: 2, activity_create: 1 } as const;

/** OCSF severity_id: 2 Low, 3 Medium, 4 High, 5 Critical. */
export const OCSF_SEVERITY = { LOW: 2, MEDIUM: 3, HIGH: 4, CRITICAL: 5 } as const satisfies Record<
  SeverityLabel,
  number
>;
const SEVERITY_NAME = { LOW: 'Low', MEDIUM: 'Medium', HIGH: 'High', CRITICAL: 'Critical' } as const satisfies Record<
  SeverityLabel,
  string
>;

export interface OcsfOptions {
  /** Product version string in metadata.product.version. */
  readonly productVersion?: string | undefined;
  readonly remediation?: RemediationLookup | undefined;
}

import type { RemediationLookup } from './aws-context.js';

type Json = Record<string, unknown>;

export function toOcsfFinding(f: Finding, options: OcsfOptions = {}): Json {
  const lastMs = Date.parse(f.lastSeen);
  const firstMs = Date.parse(f.firstSeen);
  const user: Json = { name: f.actor.username ?? 'unknown' };
  if (f.actor.uid !== null) user['uid'] = f.actor.uid;
  if (f.actor.groups.length > 0) user['groups'] = f.actor.groups.map((name) => ({ name }));
  const actor: Json = { user };
  if (f.actor.impersonatedUser !== null) actor['invoked_by'] = f.actor.impersonatedUser;
  const src = primaryIp(f);
  const srcEndpoint: Json | undefined = src !== undefined ? { ip: src } : undefined;
  const analytic: Json = { name: f.rule, type_id: 1, type: 'Rule', uid: `${f.engine}/${f.rule}` };
  const findingInfo: Json = {
    uid: f.id,
    title: f.title,
    desc: f.description,
    types: [f.type],
    first_seen_time: firstMs,
    last_seen_time: lastMs,
    analytic,
  };
  if (f.mitre !== null)
    findingInfo['attacks'] = [
      { tactic: { name: f.mitre.tactic }, technique: { uid: f.mitre.technique }, version: '14' },
    ];
  const evidences = f.evidence.map((e) => ({
    actor,
    api: { operation: e.verb, request: { uid: e.auditID }, ...(e.code !== null ? { response: { code: e.code } } : {}) },
    ...(srcEndpoint !== undefined ? { src_endpoint: srcEndpoint } : {}),
    ...(e.requestURI !== null ? { data: { request_uri: e.requestURI, time: e.time } } : {}),
  }));
  const resource: Json = { type: f.resource.resource ?? 'cluster', name: f.resource.name ?? f.cluster };
  const labels: string[] = [`cluster:${f.cluster}`];
  if (f.resource.namespace !== null) labels.push(`namespace:${f.resource.namespace}`);
  if (f.resource.subresource !== null) labels.push(`subresource:${f.resource.subresource}`);
  resource['labels'] = labels;
  const suppressed = f.suppressed === true;
  const remediation = options.remediation?.(f.type) ?? null;
  return {
    activity_id: OCSF_DETECTION_FINDING.activity_create,
    activity_name: 'Create',
    category_uid: OCSF_DETECTION_FINDING.category_uid,
    category_name: 'Findings',
    class_uid: OCSF_DETECTION_FINDING.class_uid,
    class_name: 'Detection Finding',
    type_uid: OCSF_DETECTION_FINDING.class_uid * 100 + OCSF_DETECTION_FINDING.activity_create,
    type_name: 'Detection Finding: Create',
    severity_id: OCSF_SEVERITY[f.severity.label],
    severity: SEVERITY_NAME[f.severity.label],
    time: lastMs,
    count: f.count,
    message: f.title,
    status_id: suppressed ? 3 : 1,
    status: suppressed ? 'Suppressed' : 'New',
    ...(f.suppressedBy !== undefined ? { status_detail: `suppressed by ${f.suppressedBy}` } : {}),
    finding_info: findingInfo,
    metadata: {
      version: OCSF_VERSION,
      product: {
        name: 'EKS Sleuth',
        vendor_name: 'EKS Sleuth',
        ...(options.productVersion !== undefined ? { version: options.productVersion } : {}),
        feature: { name: f.engine },
      },
    },
    start_time: firstMs,
    end_time: lastMs,
    // The caller and its address live in each evidence: Detection Finding has no top-level
    // actor or src_endpoint (strict OCSF validators reject unknown attributes).
    resources: [resource],
    evidences,
    ...(remediation !== null ? { remediation: { desc: remediation } } : {}),
    // Not in the OCSF schema: kept under `unmapped`, as OCSF prescribes for source fields.
    unmapped: {
      severity_score: f.severity.score,
      cluster: f.cluster,
      ...(f.actor.iamArn !== null ? { iam_arn: f.actor.iamArn } : {}),
      ...(f.details !== undefined ? { details: f.details } : {}),
    },
  };
}

export function formatOcsf(findings: readonly Finding[], options: OcsfOptions = {}): string {
  return findings.map((f) => JSON.stringify(toOcsfFinding(f, options))).join('\n');
}
