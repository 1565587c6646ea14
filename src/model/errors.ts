/**
 * Every error EKS Sleuth throws on purpose derives from SleuthError and carries a stable `code`
 * from ERROR_CODES. The CLI prints `message` (never a stack) for these and exits 2 for usage
 * errors.
 */

/** Stable error codes: scripts and the API may match on them, so they are never renamed. */
export const ERROR_CODES = [
  'E_USAGE',
  'E_PARSE',
  'E_QUERY',
  'E_QUERY_DIALECT',
  'E_SIGMA_SQL',
  'E_STORE_CLOSED',
  'E_STORE_OPEN',
  'E_STORE_PARAMETER',
  'E_STORE_READ_ONLY',
  'E_STORE_SCHEMA',
  'E_STORE_WRITE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class SleuthError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command-line arguments or configuration the user can fix. */
export class UsageError extends SleuthError {
  constructor(message: string) {
    super('E_USAGE', message);
  }
}

/** A rule or query that does not parse or compile; carries every located problem. */
export class ParseError extends SleuthError {
  constructor(
    message: string,
    readonly problems: readonly Problem[],
  ) {
    super('E_PARSE', message);
  }
}

/**
 * A located problem in a rule file, query or input: the data form of an error. Every parser
 * reports these (never throws for bad input) through Result.
 */
export interface Problem {
  readonly file?: string;
  readonly rule?: string;
  readonly line: number;
  readonly column: number;
  readonly length?: number;
  readonly message: string;
  readonly severity?: 'error' | 'warning';
}

/** @deprecated the old name of Problem; use Problem. */
export type SourceProblem = Problem;

/**
 * What every parser returns: the value and every problem found, errors and warnings, in one
 * run (style.md §5). A parser that can fail as a whole returns `Result<X | null>`.
 */
export interface Result<T> {
  readonly value: T;
  readonly errors: readonly Problem[];
}

export function formatProblem(p: Problem): string {
  const where = [p.file, p.line > 0 ? String(p.line) : undefined, p.column > 0 ? String(p.column) : undefined]
    .filter((x) => x !== undefined)
    .join(':');
  const rule = p.rule !== undefined ? ` [${p.rule}]` : '';
  const sev = p.severity === 'warning' ? 'warning' : 'error';
  return `${where}${rule}: ${sev}: ${p.message}`;
}
