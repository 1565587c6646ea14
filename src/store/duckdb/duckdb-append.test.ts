import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDuckDbStore } from './duckdb-store.js';
import { fileOrigin, normalizeText } from '../../normalize/normalize.js';
import type { AuditEvent } from '../../model/audit-event.js';

function ev(id: string, stage = 'ResponseComplete', user = 'alice'): AuditEvent {
  const r = normalizeText(JSON.stringify({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', auditID: id, stage, verb: 'get', user: { username: user } }), fileOrigin('f.jsonl', 1));
  if (!r.ok) throw new Error(r.reason);
  return r.event;
}

test('append: a batch that repeats stored events falls back and stores only the new ones, first copy winning', async () => {
  const store = await openDuckDbStore(':memory:');
  try {
    assert.deepEqual(await store.appendEvents([ev('a'), ev('b'), ev('a', 'RequestReceived')]), { inserted: 3, duplicates: 0 });
    // 'a' is stored already; 'c' appears twice in the batch (the first copy is kept).
    assert.deepEqual(await store.appendEvents([ev('a'), ev('c', 'ResponseComplete', 'first'), ev('d'), ev('c', 'ResponseComplete', 'second')]), { inserted: 2, duplicates: 2 });
    assert.equal(await store.countEvents(), 5);
    assert.deepEqual(await store.query("SELECT user_username AS u FROM events WHERE audit_id = 'c'"), [{ u: 'first' }]);
    // Only repeats: nothing stored, and the store still takes appends afterwards.
    assert.deepEqual(await store.appendEvents([ev('b'), ev('d')]), { inserted: 0, duplicates: 2 });
    assert.deepEqual(await store.appendEvents([ev('e')]), { inserted: 1, duplicates: 0 });
    assert.equal(await store.countEvents(), 6);
  } finally {
    await store.close();
  }
});

test('append: events stored by an earlier scan of a file store are not stored again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-append-'));
  const path = join(dir, 's.duckdb');
  const first = await openDuckDbStore(path);
  await first.appendEvents([ev('x'), ev('y')]);
  await first.close();
  const second = await openDuckDbStore(path);
  try {
    assert.deepEqual(await second.appendEvents([ev('y'), ev('z')]), { inserted: 1, duplicates: 1 });
    assert.equal(await second.countEvents(), 3);
  } finally {
    await second.close();
  }
});
