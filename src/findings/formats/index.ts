/**
 * One entry point for machine-readable finding output. `table` is the CLI's own (human) format.
 * - json: the Finding contract as a JSON array (pretty-printed);
 * - jsonl: one Finding per line;
 * - guardduty: `{"findings":[…]}` in GuardDuty's camelCase wire form;
 * - asff: Security Hub BatchImportFindings bodies `{"Findings":[…]}`, one per line, ≤ 100 each;
 * - ocsf: OCSF 1.1.0 Detection Findings (class 2004), one per line.
 */
import type { Finding } from '../../model/finding.js';
import { UsageError } from '../../model/errors.js';
import type { AwsFormatOptions } from './aws-context.js';
import { formatAsff } from './asff-format.js';
import { formatGuardDuty } from './guardduty-format.js';
import { formatOcsf, type OcsfOptions } from './ocsf-format.js';

export const FINDING_FORMATS = ['json', 'jsonl', 'guardduty', 'asff', 'ocsf'] as const;
export type FindingFormat = (typeof FINDING_FORMATS)[number];
/** Same as FindingFormat (the CLI's name for it). */
export type OutputFormat = FindingFormat;

export interface FormatOptions extends AwsFormatOptions, OcsfOptions {}

/** The whole document for `format`; line-oriented formats have no trailing newline. */
export function formatFindings(
  findings: readonly Finding[],
  format: FindingFormat,
  options: FormatOptions = {},
): string {
  switch (format) {
    case 'json':
      return JSON.stringify(findings, null, 2);
    case 'jsonl':
      return findings.map((f) => JSON.stringify(f)).join('\n');
    case 'guardduty':
      return formatGuardDuty(findings, options);
    case 'asff':
      return formatAsff(findings, options);
    case 'ocsf':
      return formatOcsf(findings, options);
    default: {
      const never: never = format;
      throw new UsageError(`unknown findings format ${String(never)}`);
    }
  }
}

export { remediationLookup } from './aws-context.js';
