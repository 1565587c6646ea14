/**
 * Test support: writes the same audit events in every input format EKS Sleuth reads, so tests
 * can show each format yields the same AuditEvents. Not shipped code.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { repoRoot } from '../../util/repo-root.js';
export { repoRoot };

/** The repository root: the nearest ancestor of this file holding package.json. */

export function corpusPath(...parts: string[]): string {
  return join(repoRoot(), '..', 'shared', 'corpus', ...parts);
}

/**
 * The first `n` events of the repository's own sample (examples/audit-sample.jsonl), so the
 * reader's tests run on a checkout without ../shared.
 */
export function sampleLines(n: number): string[] {
  return linesOf(join(repoRoot(), 'examples', 'audit-sample.jsonl'), n);
}

/** The first `n` events of audit2rbac's demo.log (real kube-apiserver log-backend lines; needs ../shared). */
export function corpusSampleLines(n: number): string[] {
  return linesOf(corpusPath('datasets', 'audit2rbac', 'demo.log'), n);
}

function linesOf(file: string, n: number): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, n);
}

export const LOG_GROUP = '/aws/eks/prod-eu/cluster';
export const LOG_STREAM = 'kube-apiserver-audit-71976ca11bea5d3083393f7d32dab75b';
export const T0 = Date.parse('2026-09-08T22:48:03.930Z');

export function subscriptionPayload(messages: readonly string[], firstIndex = 0): object {
  return {
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: LOG_GROUP,
    logStream: LOG_STREAM,
    subscriptionFilters: ['sleuth'],
    logEvents: messages.map((m, i) => ({
      id: `3${String(firstIndex + i).padStart(55, '0')}`,
      timestamp: T0 + firstIndex + i,
      message: m,
    })),
  };
}

export const CONTROL_MESSAGE = {
  messageType: 'CONTROL_MESSAGE',
  owner: 'CloudwatchLogs',
  logGroup: '',
  logStream: '',
  subscriptionFilters: [],
  logEvents: [{ id: '', timestamp: T0, message: 'CWL CONTROL MESSAGE: Checking health of destination Firehose.' }],
};

const gz = (o: object): Buffer => gzipSync(JSON.stringify(o));
const b64gz = (o: object): string => gz(o).toString('base64');

/** File name (relative to the temp dir) of each format. */
export const FORMAT_FILES = {
  jsonl: 'audit.log',
  eventList: 'eventlist.json',
  jsonArray: 'array.json',
  gzipJsonl: 'audit.log.gz',
  filterLogEvents: 'filter-log-events.json',
  cloudwatchExport: join('exportedlogs', '0a1b2c3d-task', LOG_STREAM, '000000.gz'),
  subscriptionPayload: 'subscription-payload.gz',
  firehoseRequest: 'firehose-request.json',
  firehoseS3: 'firehose-s3-object',
  firehoseBase64Lines: 'firehose-records.b64',
} as const;

export type FormatName = keyof typeof FORMAT_FILES;

/** Write `lines` (audit event JSON lines) in every format under `dir`. */
export function writeAllFormats(dir: string, lines: readonly string[]): Record<FormatName, string> {
  const events = lines.map((l) => JSON.parse(l) as unknown);
  const half = Math.ceil(lines.length / 2);
  const p1 = subscriptionPayload(lines.slice(0, half));
  const p2 = subscriptionPayload(lines.slice(half), half);
  const contents: Record<FormatName, string | Buffer> = {
    jsonl: lines.join('\n') + '\n',
    // kubectl/jq style: pretty-printed, many lines per event.
    eventList: JSON.stringify(
      { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: events },
      null,
      2,
    ),
    jsonArray: JSON.stringify(events),
    gzipJsonl: gzipSync(lines.join('\n') + '\n'),
    // `aws logs filter-log-events` prints 4-space indented JSON.
    filterLogEvents: JSON.stringify(
      {
        events: lines.map((m, i) => ({
          logStreamName: LOG_STREAM,
          timestamp: T0 + i,
          message: m,
          ingestionTime: T0 + i + 700,
          eventId: `3${String(i).padStart(55, '0')}`,
        })),
        searchedLogStreams: [],
      },
      null,
      4,
    ),
    cloudwatchExport: gzipSync(lines.map((m, i) => `${new Date(T0 + i).toISOString()} ${m}`).join('\n') + '\n'),
    subscriptionPayload: gz(subscriptionPayload(lines)),
    firehoseRequest: JSON.stringify({
      requestId: 'ed4acda5-034f-9f42-bba1-f29aea6d7d8f',
      timestamp: T0 + 60_000,
      records: [CONTROL_MESSAGE, p1, p2].map((p) => ({ data: b64gz(p) })),
    }),
    // Firehose writes each gzipped record back to back into the S3 object.
    firehoseS3: Buffer.concat([gz(CONTROL_MESSAGE), gz(p1), gz(p2)]),
    firehoseBase64Lines: [b64gz(p1), b64gz(p2)].join('\n') + '\n',
  };
  const out = {} as Record<FormatName, string>;
  for (const name of Object.keys(FORMAT_FILES) as FormatName[]) {
    const p = join(dir, FORMAT_FILES[name]);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, contents[name]);
    out[name] = p;
  }
  return out;
}
