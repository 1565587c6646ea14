/**
 * How the parallel scan splits records between worker threads, and the messages they exchange.
 *
 * Records are routed by auditID, so every stage and every repeat of a request reaches the same
 * worker and that worker's StageDeduper sees the request whole: deduplication and the stage
 * rule stay exact without any shared state. The main thread only has the record's text, so it
 * reads the auditID with a string search instead of a parse; the worker checks the route
 * against the parsed auditID and sends back any record that was routed wrong (escaped or
 * duplicated keys, a nested "auditID" before the top-level one), and the main thread forwards
 * it to the right worker. Records with no recognizable auditID go round-robin and are checked
 * the same way.
 */
import type { AuditEvent, EventOrigin } from '../model/audit-event.js';
import type { DetectorIndex } from '../detect/detector.js';
import type { InputProblem } from '../model/raw-record.js';

const AUDIT_ID_KEY = '"auditID"';

/** FNV-1a over UTF-16 code units: cheap, and the same on both sides of the route. */
export function hashId(s: string, from = 0, to = s.length): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Worker for a parsed auditID. */
export function workerForId(auditID: string, workers: number): number {
  return hashId(auditID) % workers;
}

/**
 * Worker for a record's raw text, read without parsing: the first `"auditID": "…"` in the text.
 * -1 when there is none (the caller then picks any worker and the worker checks).
 */
export function workerForText(text: string, workers: number): number {
  const k = text.indexOf(AUDIT_ID_KEY);
  if (k < 0) return -1;
  let i = k + AUDIT_ID_KEY.length;
  while (i < text.length && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  if (text.charCodeAt(i) !== 0x3a /* : */) return -1;
  i++;
  while (i < text.length && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  if (text.charCodeAt(i) !== 0x22 /* " */) return -1;
  const end = text.indexOf('"', i + 1);
  if (end < 0) return -1;
  return hashId(text, i + 1, end) % workers;
}

/**
 * AuditEvent properties sent back for stored events, one array per property (columns clone
 * faster than one object per event). `raw`, `rawText` and `origin` stay on the main thread,
 * which still holds the text it sent.
 */
export const STORED_PROPS = [
  'auditID',
  'stage',
  'level',
  'verb',
  'requestURI',
  'username',
  'userUid',
  'userGroups',
  'impersonatedUsername',
  'sourceIPs',
  'userAgent',
  'resource',
  'subresource',
  'namespace',
  'name',
  'apiGroup',
  'apiVersion',
  'responseCode',
  'responseStatus',
  'responseReason',
  'requestReceivedAt',
  'stageAt',
  'authzDecision',
  'authzReason',
  'time',
  'ingestionTime',
  'logStream',
  'logGroup',
  'cluster',
  'cwEventId',
] as const satisfies readonly Exclude<keyof AuditEvent, 'raw' | 'rawText' | 'origin'>[];

// Fails to compile when AuditEvent gains a property that STORED_PROPS does not carry.
type MissingProp = Exclude<Exclude<keyof AuditEvent, 'raw' | 'rawText' | 'origin'>, (typeof STORED_PROPS)[number]>;
const allPropsCarried: [MissingProp] extends [never] ? true : MissingProp = true;
void allPropsCarried;

export interface WorkerInit {
  readonly index: number;
  readonly workers: number;
  /** The detection units' indexes, in engine order: which events the main thread must see. */
  readonly indexes: readonly DetectorIndex[];
  readonly cluster: string | undefined;
  /** False: nothing is stored, so stored events need not travel back. */
  readonly store: boolean;
}

/** main → worker: records in input order; `seqs` number them in the whole scan. */
export interface BatchMessage {
  readonly type: 'batch';
  readonly id: number;
  readonly seqs: number[];
  readonly texts: string[];
  readonly origins: EventOrigin[];
  /** 1: check the route against the parsed auditID; 0: already forwarded to the right worker. */
  readonly check: Uint8Array;
}

export interface EndMessage {
  readonly type: 'end';
}

export type ToWorker = BatchMessage | EndMessage;

/**
 * A request handed to detectors, with its place in the single-threaded order (phase, seq,
 * sub). Only requests that some detector's index accepts are sent.
 */
export interface DispatchRef {
  /** 0: dispatched while reading; 1: released at end of input. */
  readonly phase: 0 | 1;
  /** Phase 0: the record whose arrival dispatched it; phase 1: the record that was first held. */
  readonly seq: number;
  /** Order among the dispatches of the same (phase, seq). */
  readonly sub: number;
  /** Row of the event in the message's columns. */
  readonly row: number;
}

export interface WorkerCounts {
  events: number;
  duplicates: number;
  /** Requests handed to detectors, including those no detector's index accepts. */
  detected: number;
}

/**
 * worker → main: the outcome of one batch (id -1: of the end of input). Events the main thread
 * needs (to store or to detect) travel as rows of `columns`, one array per STORED_PROPS entry;
 * a row's text and origin are the batch's own (rowBatchIndex ≥ 0) or, for a request held
 * since an earlier batch, given in `extra`.
 */
export interface ResultMessage {
  readonly type: 'result';
  readonly id: number;
  readonly columns: unknown[][];
  readonly rowBatchIndex: number[];
  readonly extra: { readonly row: number; readonly text: string; readonly origin: EventOrigin }[];
  /** Rows to store. */
  readonly stored: number[];
  readonly dispatch: DispatchRef[];
  readonly problems: { readonly seq: number; readonly p: InputProblem }[];
  readonly misrouted: {
    readonly seq: number;
    readonly text: string;
    readonly origin: EventOrigin;
    readonly worker: number;
  }[];
  /** Totals so far for this worker. */
  readonly counts: WorkerCounts;
}

export interface FailMessage {
  readonly type: 'fail';
  readonly message: string;
}

export type FromWorker = ResultMessage | FailMessage;
