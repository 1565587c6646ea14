/**
 * Crash test of the WAL: a child Node process appends in a loop and prints `ack <id>` only
 * after an append resolved (and `commit <id>` before it commits up to that id); the parent kill -9s it
 * at a seeded random moment, reopens the WAL and checks that every acknowledged, uncommitted
 * append is replayed, in order, intact, with no gaps or repeats. The same directory carries
 * over from trial to trial, so recovery of earlier crashes and commits is exercised too.
 *
 * This file is also the child: run with SLEUTH_WAL_CRASH_CHILD set, it appends instead of
 * registering tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WriteAheadLog, type WalPosition } from './wal.js';
import { mulberry32 } from '../../util/prng.js';

const CHILD_ENV = 'SLEUTH_WAL_CRASH_CHILD';
/** Small segments so that crashes also land around rotation and segment deletion. */
const SEGMENT_BYTES = 8 * 1024;
const TRIALS = 24;

/** The body of append `id`: its length varies with the id so that records straddle blocks. */
function bodyOf(id: number): string {
  return `${id}:` + 'abcdefghij'.repeat(1 + (id % 37)) + '\n';
}

async function child(dir: string, start: number): Promise<void> {
  const wal = await WriteAheadLog.open(dir, { segmentBytes: SEGMENT_BYTES });
  process.stdout.write('ready\n');
  const positions = new Map<number, WalPosition>();
  let next = start;
  // Four appends in flight at a time: group commit and call order are under test as well.
  const worker = async (): Promise<void> => {
    for (;;) {
      const id = next++;
      const r = await wal.append(bodyOf(id), { id });
      if (r.status !== 'appended') throw new Error('unexpectedly full');
      positions.set(id, r.next);
      process.stdout.write(`ack ${id}\n`);
      if (id % 25 === 0 && positions.has(id - 10)) {
        // Announced before the call: a commit may take effect and the kill land before any
        // report after it, so the parent must treat an attempted commit as possibly done.
        process.stdout.write(`commit ${id - 10}\n`);
        await wal.commit(positions.get(id - 10)!);
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

interface TrialOutput {
  readonly acked: number[];
  readonly committed: number;
}

function runChild(dir: string, start: number, killAfterMs: number): Promise<TrialOutput> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CHILD_ENV]: dir, SLEUTH_WAL_CRASH_START: String(start) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    const acked: number[] = [];
    let committed = -1;
    let timer: NodeJS.Timeout | undefined;
    // Bounded: a child that never becomes ready is killed after 20 s and the trial fails.
    const guard = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      // The last piece may be a line cut by the kill: only complete lines count.
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') timer = setTimeout(() => p.kill('SIGKILL'), killAfterMs);
        else if (line.startsWith('ack ')) acked.push(Number(line.slice(4)));
        else if (line.startsWith('commit ')) committed = Math.max(committed, Number(line.slice(7)));
      }
    });
    p.on('error', reject);
    p.on('exit', (_code, signal) => {
      clearTimeout(guard);
      if (timer !== undefined) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child ended without being killed (signal ${signal})`));
      else resolve({ acked, committed });
    });
  });
}

const childDir = process.env[CHILD_ENV];
if (childDir !== undefined) {
  await child(childDir, Number(process.env['SLEUTH_WAL_CRASH_START'] ?? '0'));
} else {
  test(
    'kill -9 at random moments: every acknowledged append is replayed, in order, intact',
    { timeout: 180_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'sleuth-wal-crash-'));
      const random = mulberry32(13);
      let start = 0;
      // Everything below this id was committed by the parent after an earlier trial.
      let parentCommitted = -1;
      let totalAcked = 0;
      let totalReplayed = 0;
      let dropped = 0;
      for (let trial = 0; trial < TRIALS; trial++) {
        const killAfterMs = Math.floor(random() * 150);
        const { acked, committed } = await runChild(dir, start, killAfterMs);
        totalAcked += acked.length;
        const wal = await WriteAheadLog.open(dir, { segmentBytes: SEGMENT_BYTES });
        dropped += wal.recovery.droppedRecords;
        const ids: number[] = [];
        const batches: { id: number; next: WalPosition }[] = [];
        for await (const b of wal.read()) {
          const id = b.meta['id'];
          assert.equal(typeof id, 'number', `trial ${trial}: metadata intact`);
          assert.equal(b.body.toString('utf8'), bodyOf(id as number), `trial ${trial}: body of ${id} intact`);
          ids.push(id as number);
          batches.push({ id: id as number, next: b.next });
        }
        totalReplayed += ids.length;
        // In order, no gaps, no repeats.
        for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! + 1, `trial ${trial}: contiguous`);
        // Nothing the parent committed comes back.
        if (ids.length > 0) assert.ok(ids[0]! > parentCommitted, `trial ${trial}: ${ids[0]} was committed`);
        // Every acknowledged append above the child's last attempted commit is replayed.
        const replayed = new Set(ids);
        for (const a of acked) {
          if (a > committed && a > parentCommitted)
            assert.ok(
              replayed.has(a),
              `trial ${trial}: acked ${a} lost (replayed ${ids[0]}..${ids[ids.length - 1]}, acked ${acked[0]}..${acked[acked.length - 1]}, child commit ${committed}, parent commit ${parentCommitted}, start ${start})`,
            );
        }
        const last = ids.length > 0 ? ids[ids.length - 1]! : start - 1;
        assert.ok(last >= Math.max(-1, ...acked), `trial ${trial}: acked beyond the replayed end`);
        start = last + 1;
        // Commit a seeded share of what was replayed, as the store stage would.
        const keep = Math.floor(random() * batches.length);
        if (keep > 0) {
          await wal.commit(batches[keep - 1]!.next);
          parentCommitted = batches[keep - 1]!.id;
        }
        await wal.close();
      }
      console.log(
        `wal crash test: ${TRIALS} trials, ${totalAcked} acked appends, ${totalReplayed} replayed, ${dropped} torn records dropped`,
      );
      assert.ok(totalAcked > 0, 'the child acknowledged appends');
      await rm(dir, { recursive: true });
    },
  );
}
