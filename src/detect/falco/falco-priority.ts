/**
 * Falco priorities (falco_common::parse_priority) and how they map onto EKS Sleuth severities.
 */
import { severityFromLabel, type Severity, type SeverityLabel } from '../../model/finding.js';

export interface FalcoPriority {
  /** 0 (Emergency, most severe) .. 7 (Debug). */
  readonly level: number;
  /** As Falco prints it: Emergency, Alert, Critical, Error, Warning, Notice, Informational, Debug. */
  readonly name: string;
}

const NAMES = ['Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice', 'Informational', 'Debug'] as const;

export const FALCO_PRIORITIES: readonly FalcoPriority[] = Object.freeze(
  NAMES.map((name, level) => Object.freeze({ name, level })),
);

/** Case-insensitive; `info` is accepted for Informational. */
export function parsePriority(s: string): FalcoPriority | null {
  const low = s.trim().toLowerCase();
  const i = low === 'info' ? 6 : NAMES.findIndex((n) => n.toLowerCase() === low);
  return i < 0 ? null : FALCO_PRIORITIES[i]!;
}

/**
 * Severity mapping (documented in the README): Emergency/Alert/Critical → CRITICAL,
 * Error → HIGH, Warning → MEDIUM, Notice/Informational/Debug → LOW.
 */
export const PRIORITY_SEVERITY = {
  Emergency: 'CRITICAL',
  Alert: 'CRITICAL',
  Critical: 'CRITICAL',
  Error: 'HIGH',
  Warning: 'MEDIUM',
  Notice: 'LOW',
  Informational: 'LOW',
  Debug: 'LOW',
} as const satisfies Record<(typeof NAMES)[number], SeverityLabel>;

export function severityOfPriority(p: FalcoPriority): Severity {
  return severityFromLabel(PRIORITY_SEVERITY[p.name as (typeof NAMES)[number]]);
}
