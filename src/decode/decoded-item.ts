/**
 * What every decoder yields, and the small helpers they share: raw records or problems, and a
 * cursor that numbers records (by line for line-delimited files, 1..N inside documents).
 */
import type { EventOrigin } from '../model/audit-event.js';
import type { InputProblem, RawRecord } from '../model/raw-record.js';

export type DecodedItem = RawRecord | InputProblem;

/** Where decoded records are numbered: documents number records 1..N, line files use the line. */
export interface RecordCursor {
  readonly file: string;
  /** Fixed 1-based line for every record (line-delimited files); null → use `next`. */
  readonly fixedLine: number | null;
  /** Next record number for documents; incremented per record. */
  next: number;
}

export function cursorLine(c: RecordCursor): number {
  if (c.fixedLine !== null) return c.fixedLine;
  return c.next++;
}

export function problemItem(
  file: string,
  line: number,
  problem: InputProblem['problem'],
  reason: string,
): InputProblem {
  return { kind: 'problem', file, line, problem, reason };
}

/** Origin of a record read from a plain file or document: no CloudWatch envelope. */
export function plainOrigin(file: string, line: number): EventOrigin {
  return { file, line, logGroup: null, logStream: null, cwTimestamp: null, cwEventId: null, ingestionTime: null };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
