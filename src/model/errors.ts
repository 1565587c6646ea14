/**
 * Every error EKS Sleuth throws on purpose derives from SleuthError and carries a stable `code`.
 * The CLI prints `message` (never a stack) for these and exits 2 for usage errors.
 */
export class SleuthError extends Error {
  constructor(
    readonly code: string,
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
    readonly problems: readonly SourceProblem[],
  ) {
    super('E_PARSE', message);
  }
}

/** A located problem in a rule file, query or input: the data form of an error. */
export interface SourceProblem {
  readonly file?: string;
  readonly rule?: string;
  readonly line: number;
  readonly column: number;
  readonly length?: number;
  readonly message: string;
  readonly severity?: 'error' | 'warning';
}

export function formatProblem(p: SourceProblem): string {
  const where = [p.file, p.line > 0 ? String(p.line) : undefined, p.column > 0 ? String(p.column) : undefined]
    .filter((x) => x !== undefined)
    .join(':');
  const rule = p.rule !== undefined ? ` [${p.rule}]` : '';
  const sev = p.severity === 'warning' ? 'warning' : 'error';
  return `${where}${rule}: ${sev}: ${p.message}`;
}
