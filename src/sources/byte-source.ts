/**
 * Bytes in: a file or stdin as large chunks, transparently gunzipped when the content starts
 * with the gzip magic (1f 8b), whatever the file is called. Read errors never throw out of
 * here: they end the stream and are kept in `error` for the caller to report after the data
 * that did arrive (a truncated gzip keeps every event before the cut).
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

export interface ContentReader {
  /** Whether the content was gzip. */
  readonly gzip: boolean;
  /** Next chunk of (decompressed) content, or null at the end or after an error. */
  next(): Promise<Buffer | null>;
  /** Raw (compressed) bytes consumed so far. */
  rawBytes(): number;
  /** The error that ended the stream early, if any. */
  readonly error: NodeJS.ErrnoException | null;
  /** Stop reading and release the file. */
  close(): void;
}

/** Raw byte chunks of a file (`highWaterMark` sized reads). */
export function fileChunks(path: string, chunkBytes: number): Readable {
  return createReadStream(path, { highWaterMark: chunkBytes });
}

class Counter {
  bytes = 0;
}

async function* counted(src: AsyncIterable<Buffer | string>, counter: Counter): AsyncGenerator<Buffer> {
  for await (const c of src) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    counter.bytes += b.length;
    yield b;
  }
}

async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  for (;;) {
    const r = await rest.next();
    if (r.done === true) return;
    yield r.value;
  }
}

class Reader implements ContentReader {
  error: NodeJS.ErrnoException | null = null;
  private pending: Buffer | null;
  private done = false;
  constructor(
    readonly gzip: boolean,
    first: Buffer | null,
    private readonly it: AsyncIterator<Buffer> | null,
    private readonly counter: Counter,
    private readonly onClose: () => void,
  ) {
    this.pending = first;
  }
  rawBytes(): number {
    return this.counter.bytes;
  }
  async next(): Promise<Buffer | null> {
    if (this.pending !== null) {
      const p = this.pending;
      this.pending = null;
      return p;
    }
    if (this.done || this.it === null) return null;
    try {
      const r = await this.it.next();
      if (r.done === true) {
        this.done = true;
        return null;
      }
      return r.value;
    } catch (e) {
      this.error = e as NodeJS.ErrnoException;
      this.done = true;
      return null;
    }
  }
  close(): void {
    this.done = true;
    this.onClose();
  }
}

// zlib's default 16 KiB output chunks would mean 64 iterations per MiB; 256 KiB keeps the
// per-chunk overhead negligible while bounding the memory per open file.
const GUNZIP_CHUNK = 256 * 1024;

/**
 * Open content for reading: sniff the first raw chunk for the gzip magic and, if present,
 * stream it through gunzip. Handles multi-member gzip (concatenated .gz files, as Firehose
 * writes them to S3) because Node's gunzip continues across members. Known limit: non-gzip
 * bytes after the last member make zlib fail with Z_DATA_ERROR and drop its last output chunk
 * (up to 256 KiB of text before the junk); the caller reports that as corrupt gzip.
 */
export async function openContent(raw: AsyncIterable<Buffer | string>, destroy: () => void): Promise<ContentReader> {
  const counter = new Counter();
  const it = counted(raw, counter)[Symbol.asyncIterator]();
  let first: IteratorResult<Buffer>;
  try {
    first = await it.next();
  } catch (e) {
    const r = new Reader(false, null, null, counter, destroy);
    r.error = e as NodeJS.ErrnoException;
    return r;
  }
  if (first.done === true) return new Reader(false, null, null, counter, destroy);
  let head = first.value;
  // A pipe may deliver a single byte first; the gzip magic needs two.
  while (head.length < 2) {
    let more: IteratorResult<Buffer>;
    try {
      more = await it.next();
    } catch (e) {
      const r = new Reader(false, head, null, counter, destroy);
      r.error = e as NodeJS.ErrnoException;
      return r;
    }
    if (more.done === true) return new Reader(false, head, null, counter, destroy);
    head = Buffer.concat([head, more.value]);
  }
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const src = Readable.from(prepend(head, it), { objectMode: false });
    const gz = createGunzip({ chunkSize: GUNZIP_CHUNK });
    src.on('error', (e) => gz.destroy(e));
    src.pipe(gz);
    const gzIt = gz[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    return new Reader(true, null, gzIt, counter, () => {
      src.destroy();
      gz.destroy();
      destroy();
    });
  }
  return new Reader(false, head, it, counter, destroy);
}
