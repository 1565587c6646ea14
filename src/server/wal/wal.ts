/**
 * The write-ahead log of `sleuth serve` (issue 13): an ingest handler appends a batch and
 * answers 200 only after `append` resolved, because by then the batch is fsync'd to a segment
 * file. A background stage reads batches in order, stores them, and commits; whole segments
 * whose batches are all committed are deleted. After a crash (`kill -9` anywhere) `open`
 * replays from the last committed position: delivery is at least once, and the store dedupes
 * by auditID+stage. A torn last record is detected by its length+CRC32 framing
 * (wal-segment.ts), dropped, counted and reported; it was never acknowledged, since its
 * append had not resolved.
 *
 * On disk, under one directory: `wal-<20-digit sequence>.seg` segment files and
 * `read-position.json` (`{"segment":N,"offset":M}`, the first uncommitted record), replaced
 * atomically (write a temporary file, fsync, rename, fsync the directory).
 *
 * One process owns a directory at a time; the WAL does not lock it (serve holds the DB, which
 * already refuses a second writer).
 */
import { mkdir, open, readdir, rename, rm, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeRecord, parseSegmentName, readRecordAt, segmentName, type WalMeta } from './wal-segment.js';

export type { WalMeta } from './wal-segment.js';

/** Limits, each with its reason (style.md §7). */
export const WAL_DEFAULTS = {
  /**
   * 2 GiB on disk: minutes of backlog at the ingest rates one machine sustains, so a slow
   * store or a restart does not push back on the apiserver, and still small beside a default
   * node disk. Above it `append` answers `full` and ingest sends 429/503 + Retry-After.
   */
  maxBytes: 2 * 1024 * 1024 * 1024,
  /**
   * 16 MiB per segment: committed space is reclaimed a whole segment at a time, so this is the
   * granularity of reclaim; large enough that rotation (one create + directory fsync) is rare.
   */
  segmentBytes: 16 * 1024 * 1024,
  /**
   * 5 s: what ingest puts in Retry-After when the WAL is full. The apiserver retries on its
   * own 10 s back-off anyway and Firehose backs off from 1 s (ingestion-contracts.md A.3, B.3);
   * 5 s lets the store drain a few segments first.
   */
  retryAfterSeconds: 5,
} as const;

export interface WalOptions {
  readonly maxBytes?: number;
  readonly segmentBytes?: number;
  readonly retryAfterSeconds?: number;
}

/** Where a record starts: segment sequence number and byte offset in it. */
export interface WalPosition {
  readonly segment: number;
  readonly offset: number;
}

export interface WalBatch {
  /** The position after this batch: pass it to `commit` once the batch is stored. */
  readonly next: WalPosition;
  readonly meta: WalMeta;
  readonly body: Buffer;
}

export type AppendResult =
  | { readonly status: 'appended'; readonly next: WalPosition }
  | {
      /** Over the byte cap: nothing was written; answer 429/503 with Retry-After. */
      readonly status: 'full';
      readonly bytes: number;
      readonly maxBytes: number;
      readonly retryAfterSeconds: number;
    };

/** What `open` found: torn or corrupt records dropped (never read as batches). */
export interface WalRecovery {
  readonly segments: number;
  readonly droppedRecords: number;
  readonly droppedBytes: number;
  readonly warnings: readonly string[];
}

const POSITION_FILE = 'read-position.json';

interface Pending {
  readonly record: Buffer;
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (e: unknown) => void;
}

export class WriteAheadLog {
  /** Valid byte size of every live segment, by sequence number (ascending insertion). */
  private readonly sizes = new Map<number, number>();
  private active: FileHandle | null = null;
  private activeSeq = 0;
  /** Bytes written to the active segment, fsync'd or not; `sizes` holds only the fsync'd part. */
  private activeEnd = 0;
  private committed: WalPosition;
  private pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly limits: Required<WalOptions>,
    committed: WalPosition,
    readonly recovery: WalRecovery,
  ) {
    this.committed = committed;
  }

  static async open(dir: string, options: WalOptions = {}): Promise<WriteAheadLog> {
    const limits = { ...WAL_DEFAULTS, ...options };
    await mkdir(dir, { recursive: true });
    const seqs = (await readdir(dir))
      .map(parseSegmentName)
      .filter((s): s is number => s !== null)
      .sort((a, b) => a - b);
    const warnings: string[] = [];
    let droppedRecords = 0;
    let droppedBytes = 0;
    const sizes = new Map<number, number>();
    for (const [i, seq] of seqs.entries()) {
      const path = join(dir, segmentName(seq));
      const fh = await open(path, 'r+');
      try {
        const size = (await fh.stat()).size;
        let offset = 0;
        for (;;) {
          const r = await readRecordAt(fh, offset, size);
          if (r.kind === 'record') {
            offset = r.next;
            continue;
          }
          if (r.kind === 'torn') {
            droppedRecords++;
            droppedBytes += size - offset;
            const last = i === seqs.length - 1;
            warnings.push(
              `${segmentName(seq)}: ${r.reason} at byte ${offset}; ${size - offset} bytes dropped` +
                (last ? ' (a torn last write, never acknowledged)' : ' (corruption inside a sealed segment)'),
            );
            // Cut the tail so that appends after a torn record are readable; for a sealed
            // segment the cut keeps readers from ever interpreting the garbage either.
            await fh.truncate(offset);
            await fh.sync();
          }
          break;
        }
        sizes.set(seq, offset);
      } finally {
        await fh.close();
      }
    }
    const committed = await readPosition(dir, seqs[0] ?? 1);
    const wal = new WriteAheadLog(dir, limits, committed, {
      segments: seqs.length,
      droppedRecords,
      droppedBytes,
      warnings,
    });
    for (const [seq, size] of sizes) wal.sizes.set(seq, size);
    const lastSeq = seqs[seqs.length - 1];
    // Appends go to a fresh segment after every restart: the old tail stays as recovered.
    await wal.openSegment(Math.max(lastSeq ?? 0, committed.segment) + 1);
    await wal.deleteCommittedSegments();
    return wal;
  }

  /** Bytes of all live segments (what the cap counts). */
  bytes(): number {
    let n = this.activeEnd - (this.sizes.get(this.activeSeq) ?? 0);
    for (const s of this.sizes.values()) n += s;
    for (const p of this.pending) n += p.record.length;
    return n;
  }

  isFull(): boolean {
    return this.bytes() >= this.limits.maxBytes;
  }

  /** The first uncommitted position, as persisted. */
  readPosition(): WalPosition {
    return this.committed;
  }

  /**
   * Appends one batch; resolves once it is on disk (written and fsync'd), or with `full`
   * without writing anything. Concurrent appends share one fsync (group commit) and keep
   * their call order.
   */
  append(body: Uint8Array | string, meta: WalMeta = {}): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('the WAL is closed'));
    const record = encodeRecord(meta, typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
    if (this.bytes() + record.length > this.limits.maxBytes) {
      return Promise.resolve({
        status: 'full',
        bytes: this.bytes(),
        maxBytes: this.limits.maxBytes,
        retryAfterSeconds: this.limits.retryAfterSeconds,
      });
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /** Appends values as JSON lines (one `JSON.stringify` per line, `\n`-terminated). */
  appendJsonLines(lines: readonly unknown[], meta: WalMeta = {}): Promise<AppendResult> {
    return this.append(lines.map((l) => JSON.stringify(l) + '\n').join(''), meta);
  }

  /**
   * Every batch from `from` (default: the committed position) to the end of the log as it
   * grows while iterating, in append order.
   */
  async *read(from: WalPosition = this.committed): AsyncGenerator<WalBatch> {
    let seq = from.segment;
    let offset = from.offset;
    for (;;) {
      const size = this.sizes.get(seq);
      if (size === undefined) {
        const later = [...this.sizes.keys()].filter((s) => s > seq);
        if (later.length === 0) return;
        seq = Math.min(...later);
        offset = 0;
        continue;
      }
      if (offset >= size) {
        if (seq === this.activeSeq) return;
        seq++;
        offset = 0;
        continue;
      }
      const fh = await open(join(this.dir, segmentName(seq)), 'r');
      try {
        while (offset < (this.sizes.get(seq) ?? 0)) {
          const r = await readRecordAt(fh, offset, this.sizes.get(seq) ?? 0);
          // sizes only ever cover fsync'd, validated records, so anything else is a bug.
          if (r.kind !== 'record') throw new Error(`${segmentName(seq)}: unreadable record at ${offset}`);
          offset = r.next;
          yield { next: { segment: seq, offset }, meta: r.meta, body: r.body };
        }
      } finally {
        await fh.close();
      }
    }
  }

  /**
   * Marks everything before `position` as stored: persists it (atomically) and deletes the
   * segments that lie wholly before it.
   */
  async commit(position: WalPosition): Promise<void> {
    if (comparePositions(position, this.committed) <= 0) return;
    let p = position;
    const size = this.sizes.get(p.segment);
    // The end of a sealed segment is the start of the next one: lets that segment go now.
    if (size !== undefined && p.offset >= size && p.segment !== this.activeSeq)
      p = { segment: p.segment + 1, offset: 0 };
    const tmp = join(this.dir, `${POSITION_FILE}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(p));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, POSITION_FILE));
    await syncDir(this.dir);
    this.committed = p;
    await this.deleteCommittedSegments();
  }

  /** Waits for pending appends, then closes the active segment. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing !== null) await this.flushing;
    await this.active?.close();
    this.active = null;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const group = this.pending;
        this.pending = [];
        try {
          const results: AppendResult[] = [];
          for (const p of group) {
            if (this.activeEnd > 0 && this.activeEnd + p.record.length > this.limits.segmentBytes) {
              await this.syncActive();
              await this.openSegment(this.activeSeq + 1);
            }
            const fh = this.active;
            if (fh === null) throw new Error('the WAL is closed');
            await writeFully(fh, p.record, this.activeEnd);
            this.activeEnd += p.record.length;
            results.push({ status: 'appended', next: { segment: this.activeSeq, offset: this.activeEnd } });
          }
          await this.syncActive();
          group.forEach((p, i) => p.resolve(results[i]!));
        } catch (e) {
          group.forEach((p) => p.reject(e));
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /** fsyncs the active segment, then lets readers see what it holds. */
  private async syncActive(): Promise<void> {
    await this.active?.datasync();
    this.sizes.set(this.activeSeq, this.activeEnd);
  }

  private async openSegment(seq: number): Promise<void> {
    const fh = await open(join(this.dir, segmentName(seq)), 'wx');
    // The new file's directory entry must be durable too, or a crash could lose the segment.
    await syncDir(this.dir);
    await this.active?.close();
    this.active = fh;
    this.activeSeq = seq;
    this.activeEnd = 0;
    this.sizes.set(seq, 0);
  }

  private async deleteCommittedSegments(): Promise<void> {
    for (const seq of [...this.sizes.keys()]) {
      const size = this.sizes.get(seq) ?? 0;
      const consumed =
        seq < this.committed.segment || (seq === this.committed.segment && this.committed.offset >= size);
      // A sealed segment that is wholly committed, or empty (left by a restart), holds nothing to read.
      if (seq !== this.activeSeq && (consumed || size === 0)) {
        await rm(join(this.dir, segmentName(seq)), { force: true });
        this.sizes.delete(seq);
      }
    }
  }
}

export function comparePositions(a: WalPosition, b: WalPosition): number {
  return a.segment !== b.segment ? a.segment - b.segment : a.offset - b.offset;
}

async function readPosition(dir: string, fallbackSegment: number): Promise<WalPosition> {
  let text: string;
  try {
    text = await readFile(join(dir, POSITION_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { segment: fallbackSegment, offset: 0 };
    throw e;
  }
  const v = JSON.parse(text) as unknown;
  if (
    typeof v === 'object' &&
    v !== null &&
    Number.isSafeInteger((v as WalPosition).segment) &&
    Number.isSafeInteger((v as WalPosition).offset)
  ) {
    return { segment: (v as WalPosition).segment, offset: (v as WalPosition).offset };
  }
  throw new Error(`${join(dir, POSITION_FILE)}: not a WAL position: ${text.slice(0, 100)}`);
}

async function writeFully(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
