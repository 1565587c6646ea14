/**
 * Account, region and partition for AWS-shaped outputs (GuardDuty JSON, ASFF). Audit logs do not
 * say which account or region a cluster lives in, so: options first; else the account from the
 * callers' IAM ARNs or EKS authenticator uids; else the documented defaults below. A document
 * gives each cluster one account (the one most of its findings' callers belong to), so a
 * cluster's findings share one cluster ARN and Security Hub gets one AwsAccountId per cluster.
 */
import { createHash } from 'node:crypto';
import type { Finding } from '../../model/finding.js';

export interface AwsFormatOptions {
  readonly accountId?: string | undefined;
  readonly region?: string | undefined;
  readonly partition?: string | undefined;
  /** GuardDuty detector id to put in ARNs; default derived from account and region. */
  readonly detectorId?: string | undefined;
  /** Cluster ARN override (per finding cluster name otherwise). */
  readonly clusterArn?: string | undefined;
  /**
   * Remediation text by finding type, from the detectors' info (remediationLookup); findings
   * of types it does not know get none.
   */
  readonly remediation?: RemediationLookup | undefined;
}

export type RemediationLookup = (type: string) => string | null;

/** A lookup over detector infos: the first info of each type that carries remediation text. */
export function remediationLookup(
  infos: Iterable<{ readonly type: string; readonly remediation?: string }>,
): RemediationLookup {
  const byType = new Map<string, string>();
  for (const i of infos) if (i.remediation !== undefined && !byType.has(i.type)) byType.set(i.type, i.remediation);
  return (type) => byType.get(type) ?? null;
}

/** Placeholders when nothing better is known: valid shapes, obviously not a real account. */
export const AWS_DEFAULTS = {
  accountId: '000000000000',
  region: 'us-east-1',
  partition: 'aws',
} as const;

const ARN_ACCOUNT = /^arn:(aws[a-z-]*):(?:iam|sts)::(\d{12}):/;
const UID_ACCOUNT = /^(?:aws-iam-authenticator|heptio-authenticator-aws):(\d{12}):/;

export interface AwsContext {
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  readonly detectorId: string;
  readonly clusterArn: string;
}

function callerAccount(f: Finding): { accountId: string; partition: string | null } | null {
  const arnMatch = f.actor.iamArn !== null ? ARN_ACCOUNT.exec(f.actor.iamArn) : null;
  if (arnMatch !== null) return { accountId: arnMatch[2]!, partition: arnMatch[1]! };
  const uidMatch = f.actor.uid !== null ? UID_ACCOUNT.exec(f.actor.uid) : null;
  return uidMatch !== null ? { accountId: uidMatch[1]!, partition: null } : null;
}

export function awsContext(f: Finding, o: AwsFormatOptions = {}): AwsContext {
  const caller = callerAccount(f);
  const accountId = o.accountId ?? caller?.accountId ?? AWS_DEFAULTS.accountId;
  const partition = o.partition ?? caller?.partition ?? AWS_DEFAULTS.partition;
  const region = o.region ?? AWS_DEFAULTS.region;
  const detectorId =
    o.detectorId ?? createHash('sha256').update(`eks-sleuth/${accountId}/${region}`).digest('hex').slice(0, 32);
  const clusterArn = o.clusterArn ?? `arn:${partition}:eks:${region}:${accountId}:cluster/${f.cluster}`;
  return { accountId, region, partition, detectorId, clusterArn };
}

/**
 * The caller address a finding is about: the one that matched a threat list when there is one
 * (the first of sourceIPs may be a forged X-Forwarded-For entry), else the first source IP.
 */
export function primaryIp(f: Finding): string | undefined {
  const threat = f.details?.['threatIntel'];
  if (typeof threat === 'object' && threat !== null && !Array.isArray(threat)) {
    const ip = (threat as Record<string, unknown>)['ip'];
    if (typeof ip === 'string') return ip;
  }
  return f.actor.sourceIPs[0];
}

/**
 * Options for every finding of a document: when the account is not given, each cluster gets the
 * account most of its findings' callers belong to (ties: the smallest id, for stable output).
 */
export function documentAwsOptions(
  findings: readonly Finding[],
  o: AwsFormatOptions = {},
): (f: Finding) => AwsFormatOptions {
  if (o.accountId !== undefined) return () => o;
  const votes = new Map<string, Map<string, { n: number; partition: string | null }>>();
  for (const f of findings) {
    const c = callerAccount(f);
    if (c === null) continue;
    let byAccount = votes.get(f.cluster);
    if (byAccount === undefined) votes.set(f.cluster, (byAccount = new Map()));
    const v = byAccount.get(c.accountId);
    if (v === undefined) byAccount.set(c.accountId, { n: 1, partition: c.partition });
    else {
      v.n++;
      v.partition ??= c.partition;
    }
  }
  const chosen = new Map<string, AwsFormatOptions>();
  for (const [cluster, byAccount] of votes) {
    let best: [string, { n: number; partition: string | null }] | null = null;
    for (const entry of byAccount) {
      if (best === null || entry[1].n > best[1].n || (entry[1].n === best[1].n && entry[0] < best[0])) best = entry;
    }
    if (best !== null)
      chosen.set(cluster, { ...o, accountId: best[0], partition: o.partition ?? best[1].partition ?? undefined });
  }
  return (f) => chosen.get(f.cluster) ?? o;
}
