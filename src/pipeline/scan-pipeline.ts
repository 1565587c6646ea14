/**
 * One scan: sources → decode → normalize → (dedupe) → store + detect → findings.
 * Streaming throughout: events are stored in bounded batches and dispatched to the engine as
 * they arrive, so memory does not grow with the input. The CLI (cli/scan-command.ts) builds
 * the parts and prints; this module does the work and counts everything it sees.
 * With `workers` ≥ 1, parsing, normalizing and deduplication move to worker threads
 * (scan-parallel.ts) while storing and detection stay here, in the same order: the summary,
 * the stored events and the detections are the same as with 0 workers.
 */
import type { AuditEvent } from '../model/audit-event.js';
import type { Store } from '../store/store.js';
import type { DetectionEngine } from '../detect/engine.js';
import type { Detection } from '../detect/detector.js';
import type { InputProblem, ProblemClass, SourceItem } from '../model/raw-record.js';
import { readInputBatches } from '../sources/read-inputs.js';
import { heldEventCodec, normalizeRecord } from '../normalize/normalize.js';
import { StageDeduper } from '../normalize/stage-deduper.js';
import { runParallel } from './scan-parallel.js';

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
  /**
   * Worker threads that parse, normalize and deduplicate (scan-parallel.ts); detectors still
   * run on this thread, in the same order, so results do not depend on the count.
   * 0 (the default): everything runs on this thread.
   */
  readonly workers?: number;
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
  /** Detector evaluations (candidates run), summed over threads. */
  evaluations: number;
  /** Worker threads used; 0 when everything ran on the calling thread. */
  workers: number;
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
    evaluations: 0,
    workers: 0,
  };
  const deduper = new StageDeduper({ codec: heldEventCodec });
  const emit = input.onDetection;
  const engine = input.engine;
  let batch: AuditEvent[] = [];
  const fileBytes = new Map<string, number>();
  let bytesDone = 0;

  // Appends are pipelined: while DuckDB inserts one batch on its own threads, this thread
  // parses, normalizes and detects the next. At most one append is in flight (plus the batch
  // being filled), so memory stays bounded; an append's failure is raised at the next flush.
  let inflight: Promise<void> | null = null;
  let appendError: { error: unknown } | null = null;
  const settle = async (): Promise<void> => {
    if (inflight !== null) await inflight;
    inflight = null;
    if (appendError !== null) throw appendError.error;
  };
  const flushBatch = async (): Promise<void> => {
    if (batch.length === 0 || input.store === null) {
      batch = [];
      return;
    }
    const full = batch;
    batch = [];
    await settle();
    inflight = input.store.appendEvents(full).then(
      (r) => {
        summary.stored += r.appended;
        summary.duplicates += r.duplicates;
      },
      (error: unknown) => {
        appendError = { error };
      },
    );
  };

  // Rows that repeat events stored by an earlier scan are removed once, at the end.
  const removeStoredRepeats = async (): Promise<void> => {
    if (input.store === null) return;
    const removed = await input.store.settleDuplicates();
    summary.stored -= removed;
    summary.duplicates += removed;
  };

  const problem = (p: InputProblem): void => {
    summary.skipped[p.problem] = (summary.skipped[p.problem] ?? 0) + 1;
    summary.skippedTotal++;
    if (summary.problems.length < PROBLEM_SAMPLE) summary.problems.push(p);
  };

  const workers = input.workers ?? 0;
  if (workers >= 1) {
    // Problems come back out of order: keep the PROBLEM_SAMPLE with the lowest seq.
    const sample: { seq: number; p: InputProblem }[] = [];
    const counts = await runParallel(
      {
        paths: input.paths,
        stdin: input.stdin,
        cluster: input.cluster,
        indexes: engine.indexes(),
        workers,
        store: input.store !== null,
      },
      {
        progress: (item) => {
          const prev = fileBytes.get(item.file);
          if (prev === undefined) summary.files++;
          bytesDone += item.bytes - (prev ?? 0);
          fileBytes.set(item.file, item.bytes);
          input.onProgress?.({
            file: item.file,
            fileBytes: item.bytes,
            fileTotal: item.totalBytes,
            bytesDone,
            events: summary.events,
          });
        },
        problem: (p, seq) => {
          summary.skipped[p.problem] = (summary.skipped[p.problem] ?? 0) + 1;
          summary.skippedTotal++;
          if (sample.length === PROBLEM_SAMPLE && seq > sample[sample.length - 1]!.seq) return;
          sample.push({ seq, p });
          sample.sort((a, b) => a.seq - b.seq);
          if (sample.length > PROBLEM_SAMPLE) sample.pop();
        },
        store: (ev) => {
          if (input.store === null) return;
          batch.push(ev);
          if (batch.length >= STORE_BATCH) return flushBatch();
        },
        duplicates: (n) => {
          summary.duplicates += n;
        },
        dispatch: (ev) => engine.dispatch(ev, emit),
      },
    );
    summary.problems = sample.map((x) => x.p);
    summary.events = counts.events;
    summary.detected = counts.detected;
    engine.flush(emit);
    summary.evaluations = engine.stats().evaluations;
    summary.workers = workers;
    await flushBatch();
    await settle();
    await removeStoredRepeats();
    summary.bytes = bytesDone;
    summary.elapsedMs = performance.now() - started;
    return summary;
  }

  const readOptions = input.stdin !== undefined ? { stdin: input.stdin } : {};
  for await (const items of readInputBatches(input.paths, readOptions) as AsyncIterable<readonly SourceItem[]>) {
    for (const item of items) {
      if (item.kind === 'progress') {
        const prev = fileBytes.get(item.file);
        if (prev === undefined) summary.files++;
        bytesDone += item.bytes - (prev ?? 0);
        fileBytes.set(item.file, item.bytes);
        input.onProgress?.({
          file: item.file,
          fileBytes: item.bytes,
          fileTotal: item.totalBytes,
          bytesDone,
          events: summary.events,
        });
        continue;
      }
      if (item.kind === 'problem') {
        problem(item);
        continue;
      }
      const r = normalizeRecord(item, { cluster: input.cluster });
      if (!r.ok) {
        problem({
          kind: 'problem',
          file: item.origin.file,
          line: item.origin.line,
          problem: r.problem,
          reason: r.reason,
        });
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
  await settle();
  await removeStoredRepeats();
  summary.evaluations = engine.stats().evaluations;
  summary.bytes = bytesDone;
  summary.elapsedMs = performance.now() - started;
  return summary;
}
