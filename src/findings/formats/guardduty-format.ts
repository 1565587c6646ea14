/**
 * Findings as GuardDuty finding JSON in the camelCase wire form (EventBridge `detail`, S3 export),
 * schemaVersion 2.0, resource type EKSCluster. The document is `{"findings": [...]}`, the
 * GetFindings response shape with wire names.
 *
 * createdAt/updatedAt are the first and last event times, not the scan time, so that scanning the
 * same logs twice gives the same output.
 */
import { isIP } from 'node:net';
import type { Finding } from '../../model/finding.js';
import { awsContext, documentAwsOptions, primaryIp, type AwsFormatOptions } from './aws-context.js';

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** IAM identity behind an EKS user, GuardDuty's resource.accessKeyDetails. */
function accessKeyDetails(iamArn: string | null): Json | undefined {
  if (iamArn === null) return undefined;
  const m = /^arn:[^:]+:(iam|sts)::\d{12}:(user|role|assumed-role)\/(.+)$/.exec(iamArn);
  if (m === null) return undefined;
  const kind = m[2]!;
  const rest = m[3]!;
  const userType = kind === 'user' ? 'IAMUser' : kind === 'role' ? 'Role' : 'AssumedRole';
  const userName = kind === 'assumed-role' ? rest.split('/')[0]! : rest.slice(rest.lastIndexOf('/') + 1);
  return { userName, userType };
}

const WORKLOAD_TYPES = new Set([
  'pods',
  'deployments',
  'daemonsets',
  'statefulsets',
  'replicasets',
  'replicationcontrollers',
  'jobs',
  'cronjobs',
]);

function workloadOf(f: Finding): Json | undefined {
  const w = f.details?.['workload'];
  if (isRecord(w)) return compact(w);
  if (f.resource.resource !== null && WORKLOAD_TYPES.has(f.resource.resource) && f.resource.name !== null) {
    return { name: f.resource.name, type: f.resource.resource, namespace: f.resource.namespace };
  }
  return undefined;
}

function ipDetails(ip: string | undefined): Json | undefined {
  // sourceIPs come from the log as written: only a real address goes in a typed IP field.
  const v = ip === undefined ? 0 : isIP(ip);
  if (v === 0) return undefined;
  return v === 6 ? { ipAddressV6: ip } : { ipAddressV4: ip };
}

function compact(o: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

export function toGuardDutyFinding(f: Finding, options: AwsFormatOptions = {}): Json {
  const ctx = awsContext(f, options);
  const latest = f.evidence[f.evidence.length - 1];
  const details = f.details ?? {};
  const threat = details['threatIntel'];
  const binding = details['roleBinding'];
  // Prefer the IP that matched a threat list: it is the one the finding is about.
  const remoteIp = primaryIp(f);
  const action: Json = {
    actionType: 'KUBERNETES_API_CALL',
    kubernetesApiCallAction: compact({
      requestUri: latest?.requestURI ?? undefined,
      verb: latest?.verb,
      resource: f.resource.resource,
      subresource: f.resource.subresource,
      namespace: f.resource.namespace,
      resourceName: f.resource.name,
      sourceIPs: f.actor.sourceIPs,
      userAgent: f.actor.userAgent,
      remoteIpDetails: ipDetails(remoteIp),
      statusCode: latest?.code ?? undefined,
    }),
  };
  if (isRecord(binding)) {
    action['kubernetesRoleBindingDetails'] = compact({
      kind: binding['kind'],
      name: binding['name'],
      uid: binding['uid'],
      roleRefName: binding['roleRefName'],
      roleRefKind: binding['roleRefKind'],
    });
  }
  const service: Json = {
    serviceName: 'guardduty',
    detectorId: ctx.detectorId,
    featureName: 'EksAuditLogs',
    action,
    archived: f.suppressed === true,
    count: f.count,
    eventFirstSeen: f.firstSeen,
    eventLastSeen: f.lastSeen,
    resourceRole: 'TARGET',
    additionalInfo: {
      value: JSON.stringify(
        compact({ engine: f.engine, rule: f.rule, mitre: f.mitre, suppressedBy: f.suppressedBy, evidence: f.evidence }),
      ),
      type: 'default',
    },
  };
  if (isRecord(threat)) {
    service['evidence'] = {
      threatIntelligenceDetails: [
        compact({
          threatListName: threat['threatListName'],
          threatNames: threat['threatNames'],
          threatFileSha256: threat['threatFileSha256'],
        }),
      ],
    };
  }
  const userDetails = compact({
    username: f.actor.username,
    uid: f.actor.uid,
    groups: f.actor.groups,
    impersonatedUser: f.actor.impersonatedUser !== null ? { username: f.actor.impersonatedUser } : undefined,
  });
  const resource = compact({
    resourceType: 'EKSCluster',
    accessKeyDetails: accessKeyDetails(f.actor.iamArn),
    eksClusterDetails: { name: f.cluster, arn: ctx.clusterArn },
    kubernetesDetails: compact({ kubernetesUserDetails: userDetails, kubernetesWorkloadDetails: workloadOf(f) }),
  });
  return {
    schemaVersion: '2.0',
    accountId: ctx.accountId,
    region: ctx.region,
    partition: ctx.partition,
    id: f.id,
    arn: `arn:${ctx.partition}:guardduty:${ctx.region}:${ctx.accountId}:detector/${ctx.detectorId}/finding/${f.id}`,
    // GuardDuty's model allows 1..100 characters; Falco rule names can be longer.
    type: f.type.slice(0, 100),
    resource,
    service,
    severity: f.severity.score,
    title: f.title,
    description: f.description,
    createdAt: f.firstSeen,
    updatedAt: f.lastSeen,
  };
}

/** `{"findings":[…]}`. */
export function formatGuardDuty(findings: readonly Finding[], options: AwsFormatOptions = {}): string {
  const optionsFor = documentAwsOptions(findings, options);
  return JSON.stringify({ findings: findings.map((f) => toGuardDutyFinding(f, optionsFor(f))) }, null, 2);
}
