/**
 * Finding: the aggregated result every engine produces, in the contract of
 * design/architecture.md ("Finding"). Detections (one matching event each) are folded into
 * findings by findings/aggregator.ts.
 */

export type SeverityLabel = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
export type EngineName = 'native' | 'falco' | 'sigma' | 'behavior';

export interface Severity {
  readonly label: SeverityLabel;
  /** 1.0..10.0, GuardDuty's scale. */
  readonly score: number;
}

export const SEVERITY_DEFAULT_SCORE = {
  LOW: 2,
  MEDIUM: 5,
  HIGH: 8,
  CRITICAL: 9,
} as const satisfies Record<SeverityLabel, number>;

export function severityFromLabel(label: SeverityLabel): Severity {
  return { label, score: SEVERITY_DEFAULT_SCORE[label] };
}

export interface Mitre {
  readonly tactic: string;
  readonly technique: string;
}

export interface Actor {
  readonly username: string | null;
  readonly uid: string | null;
  readonly groups: readonly string[];
  readonly sourceIPs: readonly string[];
  readonly userAgent: string | null;
  /** IAM principal behind an EKS user (user.extra.canonicalArn / arn), when present. */
  readonly iamArn: string | null;
  readonly impersonatedUser: string | null;
}

export interface ResourceRef {
  readonly apiGroup: string | null;
  readonly resource: string | null;
  readonly subresource: string | null;
  readonly namespace: string | null;
  readonly name: string | null;
}

export interface Evidence {
  readonly auditID: string;
  readonly time: string;
  readonly verb: string;
  readonly requestURI: string | null;
  readonly code: number | null;
}

export interface Finding {
  readonly id: string;
  readonly type: string;
  readonly engine: EngineName;
  readonly rule: string;
  readonly title: string;
  readonly description: string;
  readonly severity: Severity;
  readonly priority?: string;
  readonly output?: string;
  readonly cluster: string;
  readonly count: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly actor: Actor;
  readonly resource: ResourceRef;
  readonly mitre: Mitre | null;
  readonly tags?: readonly string[];
  /** Capped at EVIDENCE_CAP; `count` is never capped. */
  readonly evidence: readonly Evidence[];
  /** Engine-specific details of the latest matching event (workload, threat list, …). */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Set by suppression rules: the finding is kept, marked, and not alerted on. */
  readonly suppressed?: boolean;
  readonly suppressedBy?: string;
}
