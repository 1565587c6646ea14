/**
 * The parallel scan: the main thread reads (every input form: plain, gzip, CloudWatch, stdin,
 * via readInputBatches) and routes each record by auditID to one of N worker threads, which
 * parse, normalize and deduplicate (scan-worker.ts). The main thread stores, and runs the
 * detectors itself, on the requests the workers say some detector's index accepts: detectors
 * keep state across requests (first-seen images, role bindings, Sigma correlations), so they
 * must see one stream in one order. They get exactly the single-threaded scan's stream:
 *  - routing by auditID keeps each request's stages and repeats in one worker, in input order,
 *    so each worker's StageDeduper decides exactly what the one deduper would;
 *  - every hand-off carries (phase, seq, sub), its place in the single-threaded order, and the
 *    main thread dispatches in that order: a request is dispatched once every record before it
 *    has come back from its worker (a watermark over the records out), and the end-of-input
 *    releases are merged by the seq at which each request was first held;
 *  - problems keep their seq, so the sample of the first ten is the same.
 * The work split: workers JSON.parse and normalize every record; the main thread gets the
 * normalized fields back (columns clone faster than parsed objects) and parses a request's
 * text again only when a detector reads `raw` (ColumnEvent), plus reading, storing and
 * detection.
 * Limits: when a StageDeduper memory cap is reached (over 262,144 requests remembered or 65,536
 * held at once, per worker) its evictions happen at other points than in one thread, and a
 * record whose text and parsed auditID disagree (hostile input) is forwarded, so reaches the
 * detectors later; each (auditID, stage) is still stored once (the store's duplicate check).
 */
import { Worker } from 'node:worker_threads';
import type { AuditEvent, EventOrigin } from '../model/audit-event.js';
import type { DetectorIndex } from '../detect/detector.js';
import type { InputProblem, ReadProgress, SourceItem } from '../model/raw-record.js';
import { readInputBatches } from '../sources/read-inputs.js';
import {
  workerForText,
  type BatchMessage,
  type FromWorker,
  type ResultMessage,
  type WorkerCounts,
  type WorkerInit,
} from './scan-routing.js';

// Records per message: big enough that messaging costs little per record, small enough that a
// few batches in flight per worker hold only a few MB.
const BATCH_RECORDS = 512;
// Batches sent to one worker and not yet answered; bounds memory when workers fall behind.
const MAX_IN_FLIGHT = 4;

export interface ParallelSink {
  progress(item: ReadProgress): void;
  problem(p: InputProblem, seq: number): void;
  /** Store one event; resolves once any flush it triggered has been handed to the store. */
  store(ev: AuditEvent): Promise<void> | void;
  duplicates(n: number): void;
  /** Hand a request to the detectors (in the single-threaded order). */
  dispatch(ev: AuditEvent): void;
}

export interface ParallelOptions {
  readonly paths: readonly string[];
  readonly stdin?: NodeJS.ReadableStream | undefined;
  readonly cluster: string | undefined;
  /** The detection units' indexes, in engine order. */
  readonly indexes: readonly DetectorIndex[];
  readonly workers: number;
  readonly store: boolean;
}

interface Sent {
  readonly minSeq: number;
  readonly texts: string[];
  readonly origins: EventOrigin[];
}

interface Lane {
  readonly worker: Worker;
  readonly inFlight: Map<number, Sent>;
  /** Results received and not yet processed, in arrival order. */
  readonly results: ResultMessage[];
  wake: (() => void) | null;
  counts: WorkerCounts;
  seqs: number[];
  texts: string[];
  origins: EventOrigin[];
  check: number[];
}

/** A request waiting for its turn at the detectors. */
interface OrderedDispatch {
  readonly phase: 0 | 1;
  readonly seq: number;
  readonly sub: number;
  readonly ev: AuditEvent;
}

function byOrder(a: OrderedDispatch, b: OrderedDispatch): number {
  return a.phase - b.phase || a.seq - b.seq || a.sub - b.sub;
}

/** Run the scan on `options.workers` worker threads; returns the summed worker counts. */
export async function runParallel(options: ParallelOptions, sink: ParallelSink): Promise<WorkerCounts> {
  const n = options.workers;
  let failure: Error | null = null;
  const lanes: Lane[] = [];
  for (let index = 0; index < n; index++) {
    const init: WorkerInit = {
      index,
      workers: n,
      indexes: options.indexes,
      cluster: options.cluster,
      store: options.store,
    };
    const worker = new Worker(new URL('./scan-worker.js', import.meta.url), { workerData: init });
    const lane: Lane = {
      worker,
      inFlight: new Map(),
      results: [],
      wake: null,
      counts: { events: 0, duplicates: 0, detected: 0 },
      seqs: [],
      texts: [],
      origins: [],
      check: [],
    };
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'fail') failure ??= new Error(`scan worker ${index} failed: ${m.message}`);
      else lane.results.push(m);
      lane.wake?.();
    });
    worker.on('error', (e: Error) => {
      failure ??= e;
      lane.wake?.();
    });
    worker.on('exit', (code) => {
      if (lane.inFlight.size > 0 || code !== 0)
        failure ??= new Error(`scan worker ${index} stopped (exit code ${code})`);
      lane.wake?.();
    });
    lanes.push(lane);
  }

  let nextSeq = 0;
  let batchId = 0;
  let held: OrderedDispatch[] = [];
  const finals: OrderedDispatch[] = [];
  const dispatch = (o: OrderedDispatch): void => sink.dispatch(o.ev);

  const send = async (lane: Lane): Promise<void> => {
    if (lane.texts.length === 0) return;
    while (lane.inFlight.size >= MAX_IN_FLIGHT) await nextResult(lane);
    const msg: BatchMessage = {
      type: 'batch',
      id: batchId++,
      seqs: lane.seqs,
      texts: lane.texts,
      origins: lane.origins,
      check: Uint8Array.from(lane.check),
    };
    let minSeq = Number.MAX_SAFE_INTEGER;
    for (const s of lane.seqs) if (s < minSeq) minSeq = s;
    lane.inFlight.set(msg.id, { minSeq, texts: lane.texts, origins: lane.origins });
    lane.worker.postMessage(msg);
    lane.seqs = [];
    lane.texts = [];
    lane.origins = [];
    lane.check = [];
  };

  const route = async (lane: Lane, seq: number, text: string, origin: EventOrigin, check: number): Promise<void> => {
    lane.seqs.push(seq);
    lane.texts.push(text);
    lane.origins.push(origin);
    lane.check.push(check);
    if (lane.texts.length >= BATCH_RECORDS) await send(lane);
  };

  /** Requests before every record still out (queued or in flight) can go, in order. */
  const release = (): void => {
    if (held.length === 0) return;
    let watermark = nextSeq;
    for (const l of lanes) {
      for (const s of l.inFlight.values()) if (s.minSeq < watermark) watermark = s.minSeq;
      for (const s of l.seqs) if (s < watermark) watermark = s;
    }
    held.sort(byOrder);
    let k = 0;
    while (k < held.length && held[k]!.phase === 0 && held[k]!.seq < watermark) dispatch(held[k++]!);
    if (k > 0) held = held.slice(k);
  };

  const processResult = async (lane: Lane, r: ResultMessage): Promise<void> => {
    lane.counts = r.counts;
    for (const p of r.problems) sink.problem(p.p, p.seq);
    const sent = r.id === -1 ? undefined : lane.inFlight.get(r.id);
    if (sent !== undefined) lane.inFlight.delete(r.id);
    const extra = new Map<number, { text: string; origin: EventOrigin }>();
    for (const x of r.extra) extra.set(x.row, x);
    const events: (AuditEvent | undefined)[] = new Array<AuditEvent | undefined>(r.rowBatchIndex.length);
    const eventAt = (row: number): AuditEvent => {
      let ev = events[row];
      if (ev === undefined) {
        const i = r.rowBatchIndex[row]!;
        const src = i >= 0 ? { text: sent!.texts[i]!, origin: sent!.origins[i]! } : extra.get(row)!;
        ev = events[row] = new ColumnEvent(r.columns, row, src.text, src.origin);
      }
      return ev;
    };
    for (const m of r.misrouted) await route(lanes[m.worker]!, m.seq, m.text, m.origin, 0);
    for (const row of r.stored) {
      const flushed = sink.store(eventAt(row));
      if (flushed !== undefined) await flushed;
    }
    const target = r.id === -1 ? finals : held;
    for (const d of r.dispatch) target.push({ phase: d.phase, seq: d.seq, sub: d.sub, ev: eventAt(d.row) });
    if (r.id !== -1) release();
  };

  const nextResult = async (lane: Lane): Promise<void> => {
    while (lane.results.length === 0) {
      if (failure !== null) throw failure;
      await new Promise<void>((resolve) => {
        lane.wake = resolve;
      });
      lane.wake = null;
    }
    if (failure !== null) throw failure;
    await processResult(lane, lane.results.shift()!);
  };

  const drainReady = async (): Promise<void> => {
    if (failure !== null) throw failure;
    for (const l of lanes) while (l.results.length > 0) await nextResult(l);
  };

  try {
    let rr = 0;
    const readOptions = options.stdin !== undefined ? { stdin: options.stdin } : {};
    for await (const items of readInputBatches(options.paths, readOptions) as AsyncIterable<readonly SourceItem[]>) {
      for (const item of items) {
        if (item.kind === 'progress') {
          sink.progress(item);
          continue;
        }
        const seq = nextSeq++;
        if (item.kind === 'problem') {
          sink.problem(item, seq);
          continue;
        }
        // Records a container already parsed are re-parsed by the worker from their text.
        let w = workerForText(item.text, n);
        if (w < 0) w = rr++ % n;
        await route(lanes[w]!, seq, item.text, item.origin, 1);
      }
      await drainReady();
    }
    // Misrouted records can come back until every batch is answered.
    for (;;) {
      for (const l of lanes) await send(l);
      const busy = lanes.filter((l) => l.inFlight.size > 0);
      if (busy.length === 0) break;
      for (const l of busy) while (l.inFlight.size > 0) await nextResult(l);
    }
    release();
    for (const l of lanes) l.worker.postMessage({ type: 'end' });
    for (const l of lanes) await nextResult(l);
    held.push(...finals);
    held.sort(byOrder);
    for (const o of held) dispatch(o);
    held = [];
  } finally {
    await Promise.all(lanes.map((l) => l.worker.terminate()));
  }
  const total: WorkerCounts = { events: 0, duplicates: 0, detected: 0 };
  for (const l of lanes) {
    total.events += l.counts.events;
    total.duplicates += l.counts.duplicates;
    total.detected += l.counts.detected;
  }
  sink.duplicates(total.duplicates);
  return total;
}

/**
 * The main thread's AuditEvent in a parallel scan: the normalized fields from a worker's
 * columns (STORED_PROPS order) and the record's text. `raw` is parsed from the text on first
 * use, so requests whose detectors read only normalized fields are never parsed twice; it is
 * the same value normalizeRecord would have produced from the same text.
 */
export class ColumnEvent implements AuditEvent {
  readonly auditID: string;
  readonly stage: string;
  readonly level: string | null;
  readonly verb: string;
  readonly requestURI: string | null;
  readonly username: string | null;
  readonly userUid: string | null;
  readonly userGroups: readonly string[];
  readonly impersonatedUsername: string | null;
  readonly sourceIPs: readonly string[];
  readonly userAgent: string | null;
  readonly resource: string | null;
  readonly subresource: string | null;
  readonly namespace: string | null;
  readonly name: string | null;
  readonly apiGroup: string | null;
  readonly apiVersion: string | null;
  readonly responseCode: number | null;
  readonly responseStatus: string | null;
  readonly responseReason: string | null;
  readonly requestReceivedAt: string | null;
  readonly stageAt: string | null;
  readonly authzDecision: string | null;
  readonly authzReason: string | null;
  readonly time: number;
  readonly ingestionTime: number | null;
  readonly logStream: string | null;
  readonly logGroup: string | null;
  readonly cluster: string;
  readonly cwEventId: string | null;
  readonly rawText: string;
  readonly origin: EventOrigin;
  #raw: Readonly<Record<string, unknown>> | undefined = undefined;

  constructor(c: readonly unknown[][], j: number, rawText: string, origin: EventOrigin) {
    this.auditID = c[0]![j] as string;
    this.stage = c[1]![j] as string;
    this.level = c[2]![j] as string | null;
    this.verb = c[3]![j] as string;
    this.requestURI = c[4]![j] as string | null;
    this.username = c[5]![j] as string | null;
    this.userUid = c[6]![j] as string | null;
    this.userGroups = c[7]![j] as readonly string[];
    this.impersonatedUsername = c[8]![j] as string | null;
    this.sourceIPs = c[9]![j] as readonly string[];
    this.userAgent = c[10]![j] as string | null;
    this.resource = c[11]![j] as string | null;
    this.subresource = c[12]![j] as string | null;
    this.namespace = c[13]![j] as string | null;
    this.name = c[14]![j] as string | null;
    this.apiGroup = c[15]![j] as string | null;
    this.apiVersion = c[16]![j] as string | null;
    this.responseCode = c[17]![j] as number | null;
    this.responseStatus = c[18]![j] as string | null;
    this.responseReason = c[19]![j] as string | null;
    this.requestReceivedAt = c[20]![j] as string | null;
    this.stageAt = c[21]![j] as string | null;
    this.authzDecision = c[22]![j] as string | null;
    this.authzReason = c[23]![j] as string | null;
    this.time = c[24]![j] as number;
    this.ingestionTime = c[25]![j] as number | null;
    this.logStream = c[26]![j] as string | null;
    this.logGroup = c[27]![j] as string | null;
    this.cluster = c[28]![j] as string;
    this.cwEventId = c[29]![j] as string | null;
    this.rawText = rawText;
    this.origin = origin;
  }

  get raw(): Readonly<Record<string, unknown>> {
    // The worker parsed this text into an object already, so it parses here too.
    return (this.#raw ??= JSON.parse(this.rawText) as Readonly<Record<string, unknown>>);
  }
}
