/**
 * Findings as AWS Security Finding Format (ASFF 2018-10-08) for Security Hub BatchImportFindings,
 * from a custom (private) product: ProductArn arn:…:securityhub:<region>:<account>:product/<account>/default.
 *
 * BatchImportFindings takes at most 100 findings per call, so `asffBatches` splits; the `asff`
 * output format prints one `{"Findings":[…]}` body per line (one line when there are ≤ 100).
 */
import { isIP } from 'node:net';
import type { Finding, SeverityLabel } from '../../model/finding.js';
import { awsContext, documentAwsOptions, primaryIp, type AwsFormatOptions } from './aws-context.js';

export const ASFF_SCHEMA_VERSION = '2018-10-08';
/** Security Hub's BatchImportFindings limit. */
export const ASFF_BATCH_LIMIT = 100;

/** Security Hub severity: Label preferred; Normalized 0–100 maps 1–39 LOW, 40–69 MEDIUM, 70–89 HIGH, 90–100 CRITICAL. */
export function asffSeverity(
  label: SeverityLabel,
  score: number,
): { Label: SeverityLabel; Normalized: number; Original: string } {
  const bands = { LOW: [1, 39], MEDIUM: [40, 69], HIGH: [70, 89], CRITICAL: [90, 100] } as const satisfies Record<
    SeverityLabel,
    readonly [number, number]
  >;
  const [lo, hi] = bands[label];
  return { Label: label, Normalized: Math.min(hi, Math.max(lo, Math.round(score * 10))), Original: String(score) };
}

/**
 * ASFF Types (namespace/category/classifier). Native types use GuardDuty's own mapping:
 * `Policy:Kubernetes/X` → "Software and Configuration Checks/AWS Security Best Practices/Policy:Kubernetes-X",
 * `T:Kubernetes/X` → "TTPs/T/T:Kubernetes-X", AnomalousBehavior types under "TTPs/AnomalousBehavior".
 * Falco and Sigma findings go under TTPs/<MITRE tactic> when known, else Unusual Behaviors.
 */
export function asffType(f: Finding): string {
  const m = /^([A-Za-z]+):Kubernetes\/(.+)$/.exec(f.type);
  if (m !== null) {
    const [, threat, rest] = m as unknown as [string, string, string];
    if (threat === 'Policy')
      return `Software and Configuration Checks/AWS Security Best Practices/Policy:Kubernetes-${rest}`;
    if (rest.startsWith('AnomalousBehavior.'))
      return `TTPs/AnomalousBehavior/${threat}:Kubernetes-${rest.slice('AnomalousBehavior.'.length)}`;
    return `TTPs/${threat}/${threat}:Kubernetes-${rest}`;
  }
  // Slashes would add levels to the namespace/category/classifier triple.
  const classifier = f.type.replace(/\//g, '-').slice(0, 128);
  if (f.mitre !== null) return `TTPs/${f.mitre.tactic.replace(/\//g, '-')}/${classifier}`;
  return `Unusual Behaviors/Kubernetes/${classifier}`;
}

type Json = Record<string, unknown>;

function trunc(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

export function toAsffFinding(f: Finding, options: AwsFormatOptions = {}): Json {
  const ctx = awsContext(f, options);
  const types = [asffType(f)];
  const severity = asffSeverity(f.severity.label, f.severity.score);
  const productFields: Record<string, string> = {
    'eks-sleuth/engine': f.engine,
    'eks-sleuth/rule': f.rule,
    'eks-sleuth/type': f.type,
    'eks-sleuth/count': String(f.count),
  };
  if (f.actor.username !== null) productFields['eks-sleuth/username'] = trunc(f.actor.username, 1024);
  const shownIp = primaryIp(f);
  if (shownIp !== undefined) productFields['eks-sleuth/sourceIP'] = trunc(shownIp, 256);
  if (f.suppressedBy !== undefined) productFields['eks-sleuth/suppressedBy'] = f.suppressedBy;
  const objectId = [
    'k8s:',
    f.cluster,
    f.resource.namespace ?? '_',
    f.resource.resource ?? '_',
    f.resource.name ?? '_',
  ].join('/');
  const resources: Json[] = [
    {
      Type: 'AwsEksCluster',
      Id: ctx.clusterArn,
      Partition: ctx.partition,
      Region: ctx.region,
      Details: { AwsEksCluster: { Name: f.cluster, Arn: ctx.clusterArn } },
    },
  ];
  if (f.resource.resource !== null) {
    const other: Record<string, string> = { resource: f.resource.resource };
    if (f.resource.namespace !== null) other['namespace'] = f.resource.namespace;
    if (f.resource.name !== null) other['name'] = trunc(f.resource.name, 1024);
    if (f.resource.subresource !== null) other['subresource'] = f.resource.subresource;
    resources.push({
      Type: 'Other',
      Id: trunc(objectId, 512),
      Partition: ctx.partition,
      Region: ctx.region,
      Details: { Other: other },
    });
  }
  const remediation = options.remediation?.(f.type) ?? null;
  const finding: Json = {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: `${ctx.region}/${ctx.accountId}/eks-sleuth/${f.id}`,
    ProductArn: `arn:${ctx.partition}:securityhub:${ctx.region}:${ctx.accountId}:product/${ctx.accountId}/default`,
    ProductName: 'EKS Sleuth',
    CompanyName: 'EKS Sleuth',
    GeneratorId: trunc(`eks-sleuth/${f.engine}/${f.rule}`, 512),
    AwsAccountId: ctx.accountId,
    Types: types,
    FirstObservedAt: f.firstSeen,
    LastObservedAt: f.lastSeen,
    CreatedAt: f.firstSeen,
    UpdatedAt: f.lastSeen,
    Severity: severity,
    Title: trunc(f.title, 256),
    Description: trunc(f.description, 1024),
    ProductFields: productFields,
    Resources: resources,
    FindingProviderFields: { Severity: { Label: severity.Label, Original: severity.Original }, Types: types },
    Workflow: { Status: f.suppressed === true ? 'SUPPRESSED' : 'NEW' },
    RecordState: 'ACTIVE',
    Sample: false,
  };
  if (remediation !== null) finding['Remediation'] = { Recommendation: { Text: trunc(remediation, 512) } };
  // Security Hub rejects a finding whose SourceIpV4/V6 is not an address; log text is not trusted.
  const ip = primaryIp(f);
  const ipVersion = ip === undefined ? 0 : isIP(ip);
  if (ipVersion !== 0)
    finding['Network'] = ipVersion === 6 ? { Direction: 'IN', SourceIpV6: ip } : { Direction: 'IN', SourceIpV4: ip };
  return finding;
}

export function asffBatches(findings: readonly Finding[], options: AwsFormatOptions = {}): { Findings: Json[] }[] {
  const out: { Findings: Json[] }[] = [];
  const optionsFor = documentAwsOptions(findings, options);
  for (let i = 0; i < findings.length; i += ASFF_BATCH_LIMIT) {
    out.push({ Findings: findings.slice(i, i + ASFF_BATCH_LIMIT).map((f) => toAsffFinding(f, optionsFor(f))) });
  }
  if (out.length === 0) out.push({ Findings: [] });
  return out;
}

export function formatAsff(findings: readonly Finding[], options: AwsFormatOptions = {}): string {
  return asffBatches(findings, options)
    .map((b) => JSON.stringify(b))
    .join('\n');
}
