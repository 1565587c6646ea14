/**
 * CloudWatch Logs containers → raw records: FilterLogEvents / GetLogEvents pages, subscription
 * filter payloads (DATA_MESSAGE), and the `<ISO timestamp> <message>` lines of an export to S3.
 * Each CloudWatch event carries one audit event as its message; the envelope fields (stream,
 * group, timestamp, id, ingestion time) land in the EventOrigin.
 */
import type { EventOrigin } from '../model/audit-event.js';
import { type DecodedItem, type RecordCursor, cursorLine, isPlainObject, problemItem } from './decoded-item.js';

const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A FilterLogEvents/GetLogEvents page: `{"events":[{logStreamName,timestamp,message,ingestionTime,eventId}]}`. */
export function isFilterLogEventsPage(v: Record<string, unknown>): boolean {
  const ev = v['events'];
  if (!Array.isArray(ev)) return false;
  // An empty page is still a page (aws logs prints `{"events": [], "searchedLogStreams": []}`).
  if (ev.length === 0)
    return 'searchedLogStreams' in v || 'nextToken' in v || 'nextForwardToken' in v || Object.keys(v).length === 1;
  const first: unknown = ev[0];
  return isPlainObject(first) && typeof first['message'] === 'string' && 'timestamp' in first;
}

export function* decodeFilterLogEvents(
  page: Record<string, unknown>,
  cursor: RecordCursor,
  logGroup: string | null,
): Generator<DecodedItem> {
  const events = page['events'] as unknown[];
  for (const e of events) {
    const line = cursorLine(cursor);
    if (!isPlainObject(e) || typeof e['message'] !== 'string') {
      yield problemItem(cursor.file, line, 'not-audit-event', 'FilterLogEvents entry has no string "message"');
      continue;
    }
    const origin: EventOrigin = {
      file: cursor.file,
      line,
      logGroup,
      logStream: strOrNull(e['logStreamName']),
      cwTimestamp: numOrNull(e['timestamp']),
      cwEventId: strOrNull(e['eventId']),
      ingestionTime: numOrNull(e['ingestionTime']),
    };
    yield { kind: 'record', text: e['message'], origin };
  }
}

/** A subscription filter payload after base64 + gunzip: `{messageType, logGroup, logStream, logEvents[]}`. */
export function isSubscriptionPayload(v: Record<string, unknown>): boolean {
  return (
    typeof v['messageType'] === 'string' && (Array.isArray(v['logEvents']) || v['messageType'] === 'CONTROL_MESSAGE')
  );
}

export function* decodeSubscriptionPayload(
  payload: Record<string, unknown>,
  cursor: RecordCursor,
): Generator<DecodedItem> {
  // CloudWatch sends one CONTROL_MESSAGE when a subscription is created to check the
  // destination is reachable; it carries no log data, so it is skipped without a problem.
  if (payload['messageType'] !== 'DATA_MESSAGE') return;
  const logGroup = strOrNull(payload['logGroup']);
  const logStream = strOrNull(payload['logStream']);
  const events = payload['logEvents'];
  if (!Array.isArray(events)) return;
  for (const e of events) {
    const line = cursorLine(cursor);
    if (!isPlainObject(e) || typeof e['message'] !== 'string') {
      yield problemItem(cursor.file, line, 'not-audit-event', 'subscription logEvents entry has no string "message"');
      continue;
    }
    const origin: EventOrigin = {
      file: cursor.file,
      line,
      logGroup,
      logStream,
      cwTimestamp: numOrNull(e['timestamp']),
      cwEventId: strOrNull(e['id']),
      ingestionTime: null,
    };
    yield { kind: 'record', text: e['message'], origin };
  }
}

// `2026-09-08T22:48:03.930Z {...}`: CreateExportTask prefixes every message with its
// CloudWatch timestamp in ISO-8601 UTC (millisecond precision) and one space.
const EXPORT_LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z) /;

/** Does this line look like a CloudWatch-to-S3 export line? */
export function isExportLine(line: string): boolean {
  return EXPORT_LINE.test(line);
}

/** Split an export line into its CloudWatch timestamp (epoch ms) and message; null if it is not one. */
export function parseExportLine(
  line: string,
): { readonly cwTimestamp: number | null; readonly message: string } | null {
  const m = EXPORT_LINE.exec(line);
  if (m === null) return null;
  const ts = Date.parse(m[1]!);
  return { cwTimestamp: Number.isNaN(ts) ? null : ts, message: line.slice(m[0].length) };
}

// S3 key layout of CreateExportTask: `<prefix>/<taskId>/<logStreamName>/000000.gz`.
const EXPORT_OBJECT = /^\d{6}(?:\.gz)?$/;

/** The log stream an export object belongs to, from its S3 key layout; null when the path does not look like one. */
export function logStreamFromExportPath(filePath: string): string | null {
  const parts = filePath.split(/[\\/]/);
  const base = parts[parts.length - 1];
  const parent = parts[parts.length - 2];
  if (base === undefined || parent === undefined || parent === '' || parent === '.' || parent === '..') return null;
  return EXPORT_OBJECT.test(base) ? parent : null;
}
