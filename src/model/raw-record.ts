/**
 * What sources and decoders hand to normalization: the text of one candidate audit event and
 * where it came from, or a problem found while reading (kept, counted and reported; never
 * fatal for the records around it).
 */
import type { EventOrigin } from './audit-event.js';

export interface RawRecord {
  readonly kind: 'record';
  /** JSON text of one audit event (already unwrapped from any envelope). */
  readonly text: string;
  /** Already-parsed value when the container had to parse it (EventList, JSON array). */
  readonly parsed?: unknown;
  readonly origin: EventOrigin;
}

export type ProblemClass =
  | 'malformed-json'
  | 'not-audit-event'
  | 'bad-field-type'
  | 'empty-file'
  | 'truncated-gzip'
  | 'binary'
  | 'cloudwatch-truncated'
  | 'unreadable'
  | 'unknown-format'
  /** A line or whole-parsed document over the configured size limit (see ReadOptions). */
  | 'too-large';

export interface InputProblem {
  readonly kind: 'problem';
  readonly file: string;
  /** 1-based line or record number; 0 when the problem is about the whole file. */
  readonly line: number;
  readonly problem: ProblemClass;
  readonly reason: string;
}

/** Progress report from sources: bytes consumed so far of a file. */
export interface ReadProgress {
  readonly kind: 'progress';
  readonly file: string;
  readonly bytes: number;
  readonly totalBytes: number | null;
}

export type SourceItem = RawRecord | InputProblem | ReadProgress;
