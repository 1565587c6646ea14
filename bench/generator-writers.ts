/**
 * Writers for generated events, in the three forms EKS audit logs reach users:
 *  - `jsonl`: one audit event per line (kube-apiserver --audit-log-path, Fluent Bit, …);
 *  - `cw-export`: a CloudWatch Logs export to S3 object (`000000.gz`): gzip of
 *    `<ISO-8601 ms timestamp>Z <message>` lines;
 *  - `filter-log-events`: FilterLogEvents response pages (`{"events":[…],"searchedLogStreams":[],
 *    "nextToken":"…"}`), one page per line. A page holds at most 10,000 events or 1 MB of
 *    messages, the API's limits.
 * Writes respect back-pressure; output bytes depend only on the events and the seed.
 */
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { GeneratedEvent } from './generator.js';
import { Rng } from './generator-prng.js';

export const OUTPUT_FORMATS = ['jsonl', 'cw-export', 'filter-log-events'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface WriteOptions {
  readonly format: OutputFormat;
  /** kube-apiserver-audit-<32 hex>, for FilterLogEvents' logStreamName. */
  readonly logStream: string;
  /** Seeds the CloudWatch envelope (ingestion delays, event ids). */
  readonly seed: number;
}

export interface WriteSummary {
  readonly events: number;
  readonly attackEvents: number;
}

const PAGE_MAX_EVENTS = 10_000;
const PAGE_MAX_BYTES = 1_000_000;
// Buffer this much text before a write: few syscalls, bounded memory.
const FLUSH_CHARS = 256 * 1024;

function write(out: Writable, chunk: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = out.write(chunk, (err) => {
      if (err) reject(err);
    });
    if (ok) resolve();
    else out.once('drain', resolve);
  });
}

function end(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
}

/** CloudWatch event timestamp (ms): the stage time, as EKS ships events shortly after each stage. */
export function cloudWatchTimestamp(g: GeneratedEvent): number {
  return Math.floor(g.atMicros / 1000);
}

/** The line a CloudWatch export to S3 writes for one event. */
export function exportLine(g: GeneratedEvent): string {
  return `${new Date(cloudWatchTimestamp(g)).toISOString()} ${JSON.stringify(g.event)}\n`;
}

/** Write `events` to `out` in `options.format`, then end `out`. */
export async function writeEvents(
  events: Iterable<GeneratedEvent>,
  out: Writable,
  options: WriteOptions,
): Promise<WriteSummary> {
  let count = 0;
  let attackEvents = 0;
  const target: Writable = options.format === 'cw-export' ? createGzip({ level: 6 }) : out;
  const piped =
    target !== out
      ? new Promise<void>((resolve, reject) => {
          target.pipe(out);
          out.once('finish', resolve);
          out.once('error', reject);
          target.once('error', reject);
        })
      : null;
  let buffer = '';
  const flush = async (): Promise<void> => {
    if (buffer.length > 0) {
      const text = buffer;
      buffer = '';
      await write(target, text);
    }
  };
  if (options.format === 'filter-log-events') {
    const envelope = new Rng((options.seed ^ 0xc10dd0c5) >>> 0);
    const stream = JSON.stringify(options.logStream);
    let page: string[] = [];
    let pageBytes = 0;
    let pageNo = 0;
    const emitPage = async (last: boolean): Promise<void> => {
      pageNo++;
      const token = last ? '' : `,"nextToken":"Bxkq6kVGFtq2y_Moigeqscq${envelope.hex(32)}p${pageNo}"`;
      buffer += `{"events":[${page.join(',')}],"searchedLogStreams":[]${token}}\n`;
      page = [];
      pageBytes = 0;
      await flush();
    };
    for (const g of events) {
      const message = JSON.stringify(g.event);
      if (page.length > 0 && (page.length >= PAGE_MAX_EVENTS || pageBytes + message.length > PAGE_MAX_BYTES))
        await emitPage(false);
      const ts = cloudWatchTimestamp(g);
      // CloudWatch event ids are 56-digit decimal strings.
      page.push(
        `{"logStreamName":${stream},"timestamp":${ts},"message":${JSON.stringify(message)},"ingestionTime":${ts + envelope.int(250, 3000)},"eventId":"${envelope.digits(56)}"}`,
      );
      pageBytes += message.length;
      count++;
      if (g.attack !== null) attackEvents++;
    }
    await emitPage(true);
  } else {
    for (const g of events) {
      buffer += options.format === 'jsonl' ? `${JSON.stringify(g.event)}\n` : exportLine(g);
      count++;
      if (g.attack !== null) attackEvents++;
      if (buffer.length >= FLUSH_CHARS) await flush();
    }
  }
  await flush();
  await end(target);
  if (piped !== null) await piped;
  return { events: count, attackEvents };
}
