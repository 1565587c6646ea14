/**
 * One scan worker thread (see scan-parallel.ts): parse, normalize and deduplicate the records
 * routed to it, and send back what the main thread needs: problems, the properties of the
 * events to store, and the requests some detector must see, tagged with their place in the
 * single-threaded order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AuditEvent } from '../model/audit-event.js';
import { DetectionEngine } from '../detect/engine.js';
import { heldEventCodec, normalizeRecord, recordProblem } from '../normalize/normalize.js';
import { StageDeduper } from '../normalize/stage-deduper.js';
import type { RawRecord } from '../model/raw-record.js';
import {
  STORED_PROPS,
  workerForId,
  type BatchMessage,
  type FromWorker,
  type ResultMessage,
  type ToWorker,
  type WorkerInit,
} from './scan-routing.js';

const NO_INFO = Object.freeze({
  type: '',
  engine: 'native',
  rule: '',
  title: '',
  description: '',
  severity: { label: 'LOW', score: 1 },
  mitre: null,
}) as never;

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('scan-worker must run in a worker thread');
  const init = workerData as WorkerInit;
  // Stand-ins with the real units' indexes: the engine's candidate cache answers "does any
  // detector want this request?" exactly as the main thread's engine would.
  const index = new DetectionEngine();
  for (const ix of init.indexes) index.addDetector({ info: NO_INFO, index: ix, evaluate: () => {} });
  const deduper = new StageDeduper({ codec: heldEventCodec });
  // The single-threaded scan releases held requests at end of input in the order they were
  // first held (the deduper's pending map keeps insertion order). To merge the workers' flushes
  // in that order, remember the seq at which each request was first held (isHeld says whether
  // a push held the request).
  const pending = {
    has: (id: string): boolean => deduper.isHeld(id),
    get size(): number {
      return deduper.pendingCount;
    },
  };
  const heldSeq = new Map<string, number>();
  const counts = { events: 0, duplicates: 0, detected: 0 };
  const blank = (id: number): ResultMessage => ({
    type: 'result',
    id,
    columns: STORED_PROPS.map(() => []),
    rowBatchIndex: [],
    extra: [],
    stored: [],
    dispatch: [],
    problems: [],
    misrouted: [],
    counts,
  });
  /** Add ev as a row of out; batchIndex -1 for an event from an earlier batch. */
  const addRow = (out: ResultMessage, ev: AuditEvent, batchIndex: number): number => {
    const row = out.rowBatchIndex.length;
    const cols = out.columns;
    for (let c = 0; c < STORED_PROPS.length; c++) cols[c]!.push(ev[STORED_PROPS[c]!]);
    out.rowBatchIndex.push(batchIndex);
    if (batchIndex < 0) out.extra.push({ row, text: ev.rawText, origin: ev.origin });
    return row;
  };
  const wanted = (ev: AuditEvent): boolean => index.candidates(ev.verb, ev.resource).length > 0;

  const onBatch = (m: BatchMessage): ResultMessage => {
    const out = blank(m.id);
    for (let i = 0; i < m.texts.length; i++) {
      const rec: RawRecord = { kind: 'record', text: m.texts[i]!, origin: m.origins[i]! };
      const seq = m.seqs[i]!;
      const r = normalizeRecord(rec, { cluster: init.cluster });
      if (!r.ok) {
        out.problems.push({ seq, p: recordProblem(rec, r) });
        continue;
      }
      const ev = r.event;
      if (m.check[i] === 1) {
        const w = workerForId(ev.auditID, init.workers);
        if (w !== init.index) {
          out.misrouted.push({ seq, text: rec.text, origin: rec.origin, worker: w });
          continue;
        }
      }
      counts.events++;
      const d = deduper.push(ev);
      let row = -1;
      if (d.store) {
        if (init.store) {
          row = addRow(out, ev, i);
          out.stored.push(row);
        }
      } else {
        counts.duplicates++;
      }
      if (pending.has(ev.auditID) && !heldSeq.has(ev.auditID)) heldSeq.set(ev.auditID, seq);
      for (let k = 0; k < d.dispatch.length; k++) {
        const x = d.dispatch[k]!;
        counts.detected++;
        if (!wanted(x)) continue;
        const xr = x !== ev ? addRow(out, x, -1) : row >= 0 ? row : (row = addRow(out, ev, i));
        out.dispatch.push({ phase: 0, seq, sub: k, row: xr });
      }
    }
    // Forget requests no longer held, so this map stays about as small as the pending map.
    if (heldSeq.size > 2 * pending.size + 4096) {
      for (const id of heldSeq.keys()) if (!pending.has(id)) heldSeq.delete(id);
    }
    return out;
  };

  const onEnd = (): ResultMessage => {
    const out = blank(-1);
    for (const ev of deduper.flush()) {
      counts.detected++;
      if (wanted(ev))
        out.dispatch.push({
          phase: 1,
          seq: heldSeq.get(ev.auditID) ?? Number.MAX_SAFE_INTEGER,
          sub: 0,
          row: addRow(out, ev, -1),
        });
    }
    return out;
  };

  port.on('message', (m: ToWorker) => {
    let reply: FromWorker;
    try {
      reply = m.type === 'batch' ? onBatch(m) : onEnd();
      reply = { ...reply, counts: { ...counts } };
    } catch (e) {
      reply = { type: 'fail', message: (e as Error)?.stack ?? String(e) };
    }
    port.postMessage(reply);
  });
}

main();
