import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, stat, truncate, appendFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WriteAheadLog, type WalBatch } from './wal.js';
import { encodeRecord, segmentName } from './wal-segment.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sleuth-wal-'));
}

async function all(wal: WriteAheadLog): Promise<WalBatch[]> {
  const out: WalBatch[] = [];
  for await (const b of wal.read()) out.push(b);
  return out;
}

test('appended batches are read back in order with their metadata, after reopening too', async () => {
  const dir = await tempDir();
  const wal = await WriteAheadLog.open(dir);
  const r1 = await wal.append('{"a":1}\n', { source: 'k8s-audit', remote: '10.0.0.1' });
  const r2 = await wal.appendJsonLines([{ b: 2 }, { c: 3 }], { source: 'firehose' });
  assert.equal(r1.status, 'appended');
  assert.equal(r2.status, 'appended');
  const read = await all(wal);
  assert.deepEqual(
    read.map((b) => [b.meta, b.body.toString()]),
    [
      [{ source: 'k8s-audit', remote: '10.0.0.1' }, '{"a":1}\n'],
      [{ source: 'firehose' }, '{"b":2}\n{"c":3}\n'],
    ],
  );
  await wal.close();
  const again = await WriteAheadLog.open(dir);
  assert.deepEqual(
    (await all(again)).map((b) => b.body.toString()),
    ['{"a":1}\n', '{"b":2}\n{"c":3}\n'],
  );
  assert.equal(again.recovery.droppedRecords, 0);
  await again.close();
  await rm(dir, { recursive: true });
});

test('commit persists the read position and deletes wholly committed segments', async () => {
  const dir = await tempDir();
  // 300-byte segments: every few records rotate, so commits can free whole segments.
  const wal = await WriteAheadLog.open(dir, { segmentBytes: 300 });
  for (let i = 0; i < 20; i++) await wal.append(`batch-${i}-${'x'.repeat(50)}`);
  const segmentsBefore = (await readdir(dir)).filter((n) => n.endsWith('.seg')).length;
  const read = await all(wal);
  assert.equal(read.length, 20);
  await wal.commit(read[11]!.next);
  const segmentsAfter = (await readdir(dir)).filter((n) => n.endsWith('.seg')).length;
  assert.ok(segmentsAfter < segmentsBefore, `${segmentsAfter} segments left of ${segmentsBefore}`);
  assert.deepEqual(
    (await all(wal)).map((b) => b.body.toString().split('-')[1]),
    ['12', '13', '14', '15', '16', '17', '18', '19'],
  );
  await wal.close();
  const again = await WriteAheadLog.open(dir, { segmentBytes: 300 });
  assert.deepEqual(
    (await all(again)).map((b) => b.body.toString().split('-')[1]),
    ['12', '13', '14', '15', '16', '17', '18', '19'],
  );
  await again.commit(read[19]!.next);
  assert.deepEqual(await all(again), []);
  await again.close();
  const last = await WriteAheadLog.open(dir, { segmentBytes: 300 });
  assert.deepEqual(await all(last), []);
  // Only the fresh active segment (and the position file) remain.
  assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.seg')).length, 1);
  await last.close();
  await rm(dir, { recursive: true });
});

test('a torn last record is dropped with a counted warning; the records before it survive', async () => {
  for (const cut of [1, 4, 8, 9, 20]) {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir);
    await wal.append('first');
    await wal.append('second');
    await wal.close();
    const seg = join(dir, segmentName(2));
    // Simulate a write the process did not finish: a prefix of a third record.
    const third = encodeRecord({ n: 3 }, Buffer.from('third record body'));
    await appendFile(seg, third.subarray(0, cut));
    const again = await WriteAheadLog.open(dir);
    assert.deepEqual(
      (await all(again)).map((b) => b.body.toString()),
      ['first', 'second'],
    );
    assert.equal(again.recovery.droppedRecords, 1, `cut at ${cut}`);
    assert.equal(again.recovery.droppedBytes, cut);
    assert.match(again.recovery.warnings[0]!, /torn last write/);
    // Appends after recovery are readable after the survivors.
    await again.append('after');
    assert.deepEqual(
      (await all(again)).map((b) => b.body.toString()),
      ['first', 'second', 'after'],
    );
    await again.close();
    await rm(dir, { recursive: true });
  }
});

test('a flipped byte is caught by the CRC, never read as a batch', async () => {
  const dir = await tempDir();
  const wal = await WriteAheadLog.open(dir);
  await wal.append('good');
  await wal.append('will be corrupted');
  await wal.close();
  const seg = join(dir, segmentName(2));
  const { size } = await stat(seg);
  // Rewrite the last byte of the segment (inside the second record's body).
  const fh = await (await import('node:fs/promises')).open(seg, 'r+');
  await fh.write(Buffer.from('!'), 0, 1, size - 1);
  await fh.close();
  const again = await WriteAheadLog.open(dir);
  assert.deepEqual(
    (await all(again)).map((b) => b.body.toString()),
    ['good'],
  );
  assert.match(again.recovery.warnings[0]!, /CRC32 mismatch/);
  await again.close();
  await rm(dir, { recursive: true });
});

test('a truncated sealed segment keeps its valid prefix and later segments stay readable', async () => {
  const dir = await tempDir();
  const wal = await WriteAheadLog.open(dir, { segmentBytes: 100 });
  for (let i = 0; i < 6; i++) await wal.append(`r${i}-${'y'.repeat(40)}`);
  await wal.close();
  const first = join(dir, segmentName(2));
  await truncate(first, (await stat(first)).size - 3);
  const again = await WriteAheadLog.open(dir, { segmentBytes: 100 });
  const got = (await all(again)).map((b) => b.body.toString().split('-')[0]);
  assert.equal(again.recovery.droppedRecords, 1);
  assert.match(again.recovery.warnings[0]!, /sealed segment/);
  // One record per 100-byte segment: the cut loses r0 (its only record), nothing else.
  assert.deepEqual(got, ['r1', 'r2', 'r3', 'r4', 'r5']);
  await again.close();
  await rm(dir, { recursive: true });
});

test('over the byte cap append answers full and writes nothing; a commit makes room again', async () => {
  const dir = await tempDir();
  const wal = await WriteAheadLog.open(dir, { maxBytes: 1000, segmentBytes: 200, retryAfterSeconds: 7 });
  let appended = 0;
  let full = null;
  for (let i = 0; i < 100 && full === null; i++) {
    const r = await wal.append('z'.repeat(80));
    if (r.status === 'full') full = r;
    else appended++;
  }
  assert.ok(full !== null);
  assert.equal(full.retryAfterSeconds, 7);
  assert.equal(full.maxBytes, 1000);
  assert.ok(wal.bytes() <= 1000);
  assert.equal((await all(wal)).length, appended);
  const batches = await all(wal);
  await wal.commit(batches[batches.length - 1]!.next);
  assert.equal((await wal.append('z'.repeat(80))).status, 'appended');
  await wal.close();
  await rm(dir, { recursive: true });
});

test('concurrent appends resolve in call order and are read in that order', async () => {
  const dir = await tempDir();
  const wal = await WriteAheadLog.open(dir, { segmentBytes: 500 });
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => wal.append(`c${i}`)));
  assert.ok(results.every((r) => r.status === 'appended'));
  assert.deepEqual(
    (await all(wal)).map((b) => b.body.toString()),
    Array.from({ length: 50 }, (_, i) => `c${i}`),
  );
  await wal.close();
  await rm(dir, { recursive: true });
});
