import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent } from '../model/audit-event.js';
import { fileOrigin, heldEventCodec, normalizeParsed, normalizeText } from './normalize.js';
import { StageDeduper } from './stage-deduper.js';

let line = 0;
function ev(auditID: string, stage: string): AuditEvent {
  const raw = { kind: 'Event', apiVersion: 'audit.k8s.io/v1', auditID, stage, verb: 'watch' };
  const r = normalizeParsed(raw, JSON.stringify(raw), fileOrigin('t.log', ++line));
  if (!r.ok) throw new Error(r.reason);
  return r.event;
}
const tag = (evs: readonly AuditEvent[]): string[] => evs.map((e) => `${e.auditID}/${e.stage}`);

test('exact (auditID, stage) repeats are not stored and are counted', () => {
  const d = new StageDeduper();
  assert.equal(d.push(ev('a', 'ResponseComplete')).store, true);
  const again = d.push(ev('a', 'ResponseComplete'));
  assert.deepEqual([again.store, tag(again.dispatch)], [false, []]);
  assert.equal(d.push(ev('a', 'RequestReceived')).store, true);
  assert.equal(d.push(ev('a', 'RequestReceived')).store, false);
  assert.equal(d.counters.duplicates, 2);
});

test('the final stage is dispatched at once; the earlier stage is stored but never dispatched', () => {
  const d = new StageDeduper();
  const r1 = d.push(ev('a', 'RequestReceived'));
  assert.deepEqual([r1.store, tag(r1.dispatch)], [true, []]);
  const r2 = d.push(ev('a', 'ResponseComplete'));
  assert.deepEqual([r2.store, tag(r2.dispatch)], [true, ['a/ResponseComplete']]);
  assert.deepEqual(tag(d.flush()), []);
  assert.equal(d.counters.dispatched, 1);
});

test('stages after the dispatch (late RequestReceived, Panic) are stored, not dispatched again', () => {
  const d = new StageDeduper();
  assert.deepEqual(tag(d.push(ev('a', 'ResponseComplete')).dispatch), ['a/ResponseComplete']);
  const late = d.push(ev('a', 'RequestReceived'));
  assert.deepEqual([late.store, tag(late.dispatch)], [true, []]);
  const panic = d.push(ev('a', 'Panic'));
  assert.deepEqual([panic.store, tag(panic.dispatch)], [true, []]);
  assert.deepEqual(tag(d.flush()), []);
});

test('a request with no final stage is dispatched at flush, latest stage preferred', () => {
  const d = new StageDeduper();
  d.push(ev('w', 'ResponseStarted'));
  d.push(ev('w', 'RequestReceived')); // out of order, as CloudWatch exports can be
  d.push(ev('r', 'RequestReceived'));
  assert.equal(d.pendingCount, 2);
  assert.deepEqual(tag(d.flush()), ['w/ResponseStarted', 'r/RequestReceived']);
  assert.equal(d.pendingCount, 0);
  // Flushed requests count as dispatched: their final stage arriving later is not re-dispatched.
  assert.deepEqual(tag(d.push(ev('w', 'ResponseComplete')).dispatch), []);
});

test('Panic is final like ResponseComplete', () => {
  const d = new StageDeduper();
  d.push(ev('p', 'RequestReceived'));
  assert.deepEqual(tag(d.push(ev('p', 'Panic')).dispatch), ['p/Panic']);
  assert.deepEqual(tag(d.flush()), []);
});

test('the pending map is bounded: the oldest held request is released when it is full', () => {
  const d = new StageDeduper({ maxPending: 2 });
  d.push(ev('a', 'RequestReceived'));
  d.push(ev('b', 'RequestReceived'));
  const r = d.push(ev('c', 'RequestReceived'));
  assert.deepEqual(tag(r.dispatch), ['a/RequestReceived']);
  assert.equal(d.counters.pendingEvicted, 1);
  assert.deepEqual(tag(d.push(ev('a', 'ResponseComplete')).dispatch), []);
  assert.deepEqual(tag(d.flush()), ['b/RequestReceived', 'c/RequestReceived']);
});

test('remembered auditIDs are capped: a repeat older than the cap is no longer recognized', () => {
  const d = new StageDeduper({ maxRemembered: 2 });
  d.push(ev('a', 'ResponseComplete'));
  d.push(ev('b', 'ResponseComplete'));
  d.push(ev('c', 'ResponseComplete'));
  assert.equal(d.counters.forgotten, 1);
  // 'a' was forgotten: the documented consequence is that its repeat is stored and dispatched again.
  const r = d.push(ev('a', 'ResponseComplete'));
  assert.deepEqual([r.store, tag(r.dispatch)], [true, ['a/ResponseComplete']]);
  // 'c' is still remembered.
  assert.equal(d.push(ev('c', 'ResponseComplete')).store, false);
});

test('a held request that is forgotten is dispatched rather than lost', () => {
  const d = new StageDeduper({ maxRemembered: 2, maxPending: 2 });
  d.push(ev('a', 'RequestReceived'));
  d.push(ev('b', 'ResponseComplete'));
  const r = d.push(ev('c', 'ResponseComplete'));
  assert.deepEqual(tag(r.dispatch), ['a/RequestReceived', 'c/ResponseComplete']);
  assert.deepEqual(tag(d.flush()), []);
});

test('each request reaches detectors exactly once over a realistic stream', () => {
  const d = new StageDeduper();
  const stream = [
    ev('1', 'RequestReceived'),
    ev('1', 'ResponseComplete'),
    ev('1', 'ResponseComplete'),
    ev('2', 'RequestReceived'),
    ev('2', 'ResponseStarted'),
    ev('3', 'ResponseComplete'),
    ev('2', 'ResponseComplete'),
    ev('4', 'RequestReceived'),
    ev('4', 'ResponseStarted'),
  ];
  let stored = 0;
  const dispatched: AuditEvent[] = [];
  for (const e of stream) {
    const r = d.push(e);
    if (r.store) stored++;
    dispatched.push(...r.dispatch);
  }
  dispatched.push(...d.flush());
  assert.equal(stored, 8);
  assert.deepEqual(tag(dispatched), [
    '1/ResponseComplete',
    '3/ResponseComplete',
    '2/ResponseComplete',
    '4/ResponseStarted',
  ]);
  assert.equal(d.counters.dispatched, 4);
  assert.equal(d.counters.duplicates, 1);
});

test('eviction keeps FIFO order across many more requests than the caps', () => {
  const d = new StageDeduper({ maxRemembered: 8, maxPending: 4 });
  const mk = (id: string, stage: string) => ({ auditID: id, stage }) as unknown as AuditEvent;
  const released: string[] = [];
  for (let i = 0; i < 1000; i++) {
    for (const e of d.push(mk(`r${i}`, 'ResponseStarted')).dispatch) released.push(e.auditID);
    // Every other request completes, so the held queue sees many stale entries.
    if (i % 2 === 0) for (const e of d.push(mk(`r${i}`, 'ResponseComplete')).dispatch) released.push(e.auditID);
  }
  for (const e of d.flush()) released.push(e.auditID);
  assert.equal(released.length, 1000, 'each request dispatched exactly once');
  assert.equal(new Set(released).size, 1000);
  assert.ok(d.pendingCount === 0);
  // A request forgotten long ago is no longer recognized (the documented consequence of the cap).
  assert.equal(d.push(mk('r0', 'ResponseComplete')).store, true);
  assert.equal(d.push(mk('r999', 'ResponseStarted')).store, false, 'a recent one still is');
});

test('held events are kept packed by the codec and released equal to what was pushed', () => {
  let packed = 0;
  let unpacked = 0;
  const d = new StageDeduper({
    maxPending: 2,
    codec: {
      pack: (e) => {
        packed++;
        return heldEventCodec.pack(e);
      },
      unpack: (p) => {
        unpacked++;
        return heldEventCodec.unpack(p);
      },
    },
  });
  const a = normalizeText(
    JSON.stringify({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      auditID: 'a',
      stage: 'ResponseStarted',
      verb: 'watch',
      user: { username: 'u' },
      requestReceivedTimestamp: '2024-01-01T00:00:00.123456Z',
    }),
    fileOrigin('f', 7),
    { cluster: 'c1' },
  );
  assert.ok(a.ok);
  d.push(a.event);
  d.push(ev('b', 'RequestReceived'));
  // A final stage for b: nothing is unpacked, b's held copy is just dropped.
  assert.deepEqual(tag(d.push(ev('b', 'ResponseComplete')).dispatch), ['b/ResponseComplete']);
  assert.equal(unpacked, 0);
  d.push(ev('c', 'RequestReceived'));
  // Third held request: a (the oldest) is released, rebuilt from its packed form.
  const released = d.push(ev('d', 'RequestReceived')).dispatch;
  assert.deepEqual(tag(released), ['a/ResponseStarted']);
  const { raw: rawOut, ...restOut } = released[0]!;
  const { raw: rawIn, ...restIn } = a.event;
  assert.deepEqual(restOut, restIn);
  assert.deepEqual(rawOut, rawIn);
  assert.equal(released[0]!.cluster, 'c1');
  assert.deepEqual(tag(d.flush()), ['c/RequestReceived', 'd/RequestReceived']);
  assert.equal(packed, 4);
  assert.equal(unpacked, 3);
});
