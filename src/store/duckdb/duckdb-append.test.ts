import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { openDuckDbStore } from './duckdb-store.js';
import { META_TABLE_SQL, MIGRATIONS, SCHEMA_VERSION } from './duckdb-schema.js';
import { fileOrigin, normalizeText } from '../../normalize/normalize.js';
import type { AuditEvent } from '../../model/audit-event.js';

function ev(id: string, stage = 'ResponseComplete', user = 'alice'): AuditEvent {
  const r = normalizeText(
    JSON.stringify({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      auditID: id,
      stage,
      verb: 'get',
      user: { username: user },
    }),
    fileOrigin('f.jsonl', 1),
  );
  if (!r.ok) throw new Error(r.reason);
  return r.event;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sleuth-append-'));
}

test('append: repeats inside a batch are skipped; repeats of stored rows are removed by settleDuplicates, first copy winning', async () => {
  const store = await openDuckDbStore(':memory:');
  try {
    assert.deepEqual(await store.appendEvents([ev('a'), ev('b'), ev('a', 'RequestReceived')]), {
      appended: 3,
      duplicates: 0,
    });
    assert.equal(await store.settleDuplicates(), 0);
    // 'a' is stored already; 'c' appears twice in the batch (the first copy is kept).
    assert.deepEqual(
      await store.appendEvents([
        ev('a', 'ResponseComplete', 'again'),
        ev('c', 'ResponseComplete', 'first'),
        ev('d'),
        ev('c', 'ResponseComplete', 'second'),
      ]),
      {
        appended: 3,
        duplicates: 1,
      },
    );
    // Two appends before one check: 'b' and 'd' repeat, 'e' is new.
    assert.deepEqual(
      await store.appendEvents([ev('b', 'ResponseComplete', 'again'), ev('d', 'ResponseComplete', 'again'), ev('e')]),
      { appended: 3, duplicates: 0 },
    );
    assert.equal(await store.countEvents(), 9);
    assert.equal(await store.settleDuplicates(), 3);
    assert.equal(await store.countEvents(), 6);
    assert.deepEqual(
      await store.query(
        "SELECT user_username AS u FROM events WHERE audit_id IN ('a', 'b', 'c', 'd') AND stage = 'ResponseComplete' ORDER BY audit_id",
      ),
      [{ u: 'alice' }, { u: 'alice' }, { u: 'first' }, { u: 'alice' }],
    );
    // Nothing new: the check is free and removes nothing.
    assert.equal(await store.settleDuplicates(), 0);
    // seq numbers rows in arrival order and is never reused.
    assert.deepEqual(await store.query('SELECT count(DISTINCT seq) AS n, max(seq) AS hi FROM events'), [
      { n: 6, hi: 9 },
    ]);
  } finally {
    await store.close();
  }
});

test('append: events stored by an earlier scan of a file store are removed again when re-appended', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 's.duckdb');
    const first = await openDuckDbStore(path);
    await first.appendEvents([ev('x'), ev('y')]);
    assert.equal(await first.settleDuplicates(), 0);
    await first.close();
    const second = await openDuckDbStore(path);
    try {
      assert.deepEqual(await second.appendEvents([ev('y'), ev('z')]), { appended: 2, duplicates: 0 });
      assert.equal(await second.settleDuplicates(), 1);
      assert.equal(await second.countEvents(), 3);
      assert.deepEqual(await second.query('SELECT audit_id, seq FROM events ORDER BY seq'), [
        { audit_id: 'x', seq: 1 },
        { audit_id: 'y', seq: 2 },
        { audit_id: 'z', seq: 4 },
      ]);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('append: after repeats were removed, a reopened store numbers new rows above them and still checks them', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 's.duckdb');
    for (let round = 1; round <= 3; round++) {
      const store = await openDuckDbStore(path);
      try {
        await store.appendEvents([ev('x'), ev('y')]);
        assert.equal(await store.settleDuplicates(), round === 1 ? 0 : 2, `round ${round}`);
        assert.equal(await store.countEvents(), 2);
      } finally {
        await store.close();
      }
    }
    const ro = await openDuckDbStore(path, { readOnly: true });
    try {
      // The repeats of rounds 2 and 3 took seqs 3-6 and were removed; checked_seq is 6.
      assert.deepEqual(await ro.query("SELECT value FROM meta WHERE key = 'checked_seq'"), [{ value: '6' }]);
    } finally {
      await ro.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('append: rows a stopped scan left unchecked are checked when the store is next opened for writing', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 's.duckdb');
    const a = await openDuckDbStore(path);
    await a.appendEvents([ev('x'), ev('y')]);
    await a.settleDuplicates();
    // A second scan appends repeats and stops before its check.
    await a.appendEvents([ev('x'), ev('y'), ev('w')]);
    await a.close();
    const ro = await openDuckDbStore(path, { readOnly: true });
    assert.equal(await ro.countEvents(), 5, 'a read-only open does not change the file');
    await ro.close();
    const b = await openDuckDbStore(path);
    try {
      assert.equal(await b.countEvents(), 3);
      assert.deepEqual(await b.query("SELECT value FROM meta WHERE key = 'checked_seq'"), [{ value: '5' }]);
    } finally {
      await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migration 2: a version-1 store (primary key, no seq) keeps its events, in order, and takes new ones', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'v1.duckdb');
    const inst = await DuckDBInstance.create(path);
    const c = await inst.connect();
    await c.run(META_TABLE_SQL);
    for (const stmt of MIGRATIONS.find((m) => m.version === 1)!.up) await c.run(stmt);
    await c.run("INSERT INTO meta VALUES ('schema_version', '1')");
    await c.run(
      "INSERT INTO events (audit_id, stage, verb, raw) VALUES ('old-1', 'ResponseComplete', 'get', '{}'), ('old-2', 'ResponseComplete', 'list', '{}')",
    );
    c.closeSync();
    inst.closeSync();
    const store = await openDuckDbStore(path);
    try {
      assert.deepEqual(await store.query("SELECT value FROM meta WHERE key = 'schema_version'"), [
        { value: String(SCHEMA_VERSION) },
      ]);
      assert.deepEqual(await store.query('SELECT audit_id, verb, seq FROM events ORDER BY seq'), [
        { audit_id: 'old-1', verb: 'get', seq: 1 },
        { audit_id: 'old-2', verb: 'list', seq: 2 },
      ]);
      await store.appendEvents([ev('old-2'), ev('new-1')]);
      assert.equal(await store.settleDuplicates(), 1);
      assert.deepEqual(await store.query('SELECT audit_id, verb, seq FROM events ORDER BY seq'), [
        { audit_id: 'old-1', verb: 'get', seq: 1 },
        { audit_id: 'old-2', verb: 'list', seq: 2 },
        { audit_id: 'new-1', verb: 'get', seq: 4 },
      ]);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
