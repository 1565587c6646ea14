/**
 * Account, region and partition for AWS-shaped outputs (GuardDuty JSON, ASFF). Audit logs do not
 * say which account or region a cluster lives in, so: options first; else the account from the
 * caller's IAM ARN or EKS authenticator uid; else the documented defaults below.
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

export function awsContext(f: Finding, o: AwsFormatOptions = {}): AwsContext {
  const arnMatch = f.actor.iamArn !== null ? ARN_ACCOUNT.exec(f.actor.iamArn) : null;
  const uidMatch = f.actor.uid !== null ? UID_ACCOUNT.exec(f.actor.uid) : null;
  const accountId = o.accountId ?? arnMatch?.[2] ?? uidMatch?.[1] ?? AWS_DEFAULTS.accountId;
  const partition = o.partition ?? arnMatch?.[1] ?? AWS_DEFAULTS.partition;
  const region = o.region ?? AWS_DEFAULTS.region;
  const detectorId = o.detectorId ?? createHash('sha256').update(`eks-sleuth/${accountId}/${region}`).digest('hex').slice(0, 32);
  const clusterArn = o.clusterArn ?? `arn:${partition}:eks:${region}:${accountId}:cluster/${f.cluster}`;
  return { accountId, region, partition, detectorId, clusterArn };
}
