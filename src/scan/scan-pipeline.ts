/**
 * One scan: sources → decode → normalize → (dedupe) → store + detect → findings.
 * Streaming throughout: events are stored in bounded batches and dispatched to the engine as
 * they arrive, so memory does not grow with the input. The CLI (cli/scan-command.ts) builds
 * the parts and prints; this module does the work and counts everything it sees.
 */
import type { AuditEvent } from '../model/audit-event.js';
import type { Store } from '../store/store.js';
import type { DetectionEngine } from '../detect/engine.js';
import type { Detection } from '../detect/detector.js';
import type { InputProblem, ProblemClass, SourceItem } from '../sources/raw-record.js';
import { readInputBatches } from '../sources/read-inputs.js';
import { normalizeRecord } from '../normalize/normalize.js';
import { StageDeduper } from '../normalize/stage-deduper.js';

// 5,000 events per append: large enough that DuckDB's appender dominates the cost, small
// enough (~5-10 MB of rows) that memory stays flat whatever the input size.
const STORE_BATCH = 5_000;
// How many problems are kept verbatim for the summary; all are counted.
const PROBLEM_SAMPLE = 10;

export interface ScanInput {
  readonly paths: readonly string[];
  readonly cluster?: string | undefined;
  readonly stdin?: NodeJS.ReadableStream;
  /** null: detect only, store nothing. */
  readonly store: Store | null;
  readonly engine: DetectionEngine;
  readonly onDetection: (d: Detection) => void;
  readonly onProgress?: (p: ScanProgress) => void;
}

export interface ScanProgress {
  readonly file: string;
  readonly fileBytes: number;
  readonly fileTotal: number | null;
  readonly bytesDone: number;
  readonly events: number;
}

export interface ScanSummary {
  files: number;
  bytes: number;
  /** Audit events read and normalized (before deduplication). */
  events: number;
  /** Unique (auditID, stage) events newly stored. */
  stored: number;
  /** Repeated (auditID, stage) events, in the input or already in the store. */
  duplicates: number;
  /** Events handed to detectors (one per request: see StageDeduper). */
  detected: number;
  skipped: Partial<Record<ProblemClass, number>>;
  skippedTotal: number;
  problems: InputProblem[];
  elapsedMs: number;
}

export async function runScan(input: ScanInput): Promise<ScanSummary> {
  const started = performance.now();
  const summary: ScanSummary = {
    files: 0,
    bytes: 0,
    events: 0,
    stored: 0,
    duplicates: 0,
    detected: 0,
    skipped: {},
    skippedTotal: 0,
    problems: [],
    elapsedMs: 0,
  };
  const deduper = new StageDeduper();
  const emit = input.onDetection;
  const engine = input.engine;
  let batch: AuditEvent[] = [];
  const fileBytes = new Map<string, number>();
  let bytesDone = 0;

  const flushBatch = async (): Promise<void> => {
    if (batch.length === 0 || input.store === null) {
      batch = [];
      return;
    }
    const r = await input.store.appendEvents(batch);
    summary.stored += r.inserted;
    summary.duplicates += r.duplicates;
    batch = [];
  };

  const problem = (p: InputProblem): void => {
    summary.skipped[p.problem] = (summary.skipped[p.problem] ?? 0) + 1;
    summary.skippedTotal++;
    if (summary.problems.length < PROBLEM_SAMPLE) summary.problems.push(p);
  };

  const readOptions = input.stdin !== undefined ? { stdin: input.stdin } : {};
  for await (const items of readInputBatches(input.paths, readOptions) as AsyncIterable<readonly SourceItem[]>) {
   for (const item of items) {
    if (item.kind === 'progress') {
      const prev = fileBytes.get(item.file);
      if (prev === undefined) summary.files++;
      bytesDone += item.bytes - (prev ?? 0);
      fileBytes.set(item.file, item.bytes);
      input.onProgress?.({ file: item.file, fileBytes: item.bytes, fileTotal: item.totalBytes, bytesDone, events: summary.events });
      continue;
    }
    if (item.kind === 'problem') {
      problem(item);
      continue;
    }
    const r = normalizeRecord(item, { cluster: input.cluster });
    if (!r.ok) {
      problem({ kind: 'problem', file: item.origin.file, line: item.origin.line, problem: r.problem, reason: r.reason });
      continue;
    }
    summary.events++;
    const d = deduper.push(r.event);
    if (d.store) {
      batch.push(r.event);
      if (batch.length >= STORE_BATCH) await flushBatch();
    } else {
      summary.duplicates++;
    }
    for (const ev of d.dispatch) {
      summary.detected++;
      engine.dispatch(ev, emit);
    }
   }
  }
  for (const ev of deduper.flush()) {
    summary.detected++;
    engine.dispatch(ev, emit);
  }
  engine.flush(emit);
  await flushBatch();
  summary.bytes = bytesDone;
  summary.elapsedMs = performance.now() - started;
  return summary;
}
