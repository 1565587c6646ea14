/**
 * Parsed JSON → raw records. Recognizes every container EKS Sleuth reads (EventList, JSON
 * array, FilterLogEvents page, subscription payload, Firehose request, Lambda `awslogs` event)
 * and unwraps it; anything else is passed on as one candidate audit event, so normalization
 * makes the single decision "is this an audit event".
 */
import {
  decodeFilterLogEvents,
  decodeSubscriptionPayload,
  isFilterLogEventsPage,
  isSubscriptionPayload,
} from './cloudwatch-decode.js';
import {
  type DecodedItem,
  type RecordCursor,
  cursorLine,
  isPlainObject,
  plainOrigin,
  problemItem,
} from './decoded-item.js';
import { decodeFirehoseData, isFirehoseRequest } from './firehose-decode.js';

// Containers nest at most Firehose → subscription payload → message; deeper means hostile input.
const MAX_DEPTH = 3;

/** Is this object a container of audit events rather than (a candidate for) one audit event? */
export function isContainer(v: Record<string, unknown>): boolean {
  if (v['kind'] === 'EventList' && Array.isArray(v['items'])) return true;
  if (isSubscriptionPayload(v) || isFilterLogEventsPage(v) || isFirehoseRequest(v)) return true;
  const awslogs = v['awslogs'];
  return isPlainObject(awslogs) && typeof awslogs['data'] === 'string';
}

/** Unwrap one parsed JSON value. `text` is its exact source text when known (kept as @message). */
export function* decodeValue(
  value: unknown,
  text: string | null,
  cursor: RecordCursor,
  depth = 0,
): Generator<DecodedItem> {
  if (Array.isArray(value)) {
    yield* decodeItems(value, cursor);
    return;
  }
  if (isPlainObject(value) && depth < MAX_DEPTH) {
    if (value['kind'] === 'EventList' && Array.isArray(value['items'])) {
      yield* decodeItems(value['items'], cursor);
      return;
    }
    if (isSubscriptionPayload(value)) {
      yield* decodeSubscriptionPayload(value, cursor);
      return;
    }
    if (isFilterLogEventsPage(value)) {
      yield* decodeFilterLogEvents(value, cursor, null);
      return;
    }
    if (isFirehoseRequest(value)) {
      for (const r of value['records'] as unknown[]) {
        const data = isPlainObject(r) ? r['data'] : undefined;
        if (typeof data !== 'string') {
          yield problemItem(cursor.file, cursorLine(cursor), 'not-audit-event', 'Firehose record has no string "data"');
          continue;
        }
        yield* decodeBase64Record(data, cursor, depth + 1);
      }
      return;
    }
    const awslogs = value['awslogs'];
    if (isPlainObject(awslogs) && typeof awslogs['data'] === 'string') {
      // A Lambda invocation event for a CloudWatch Logs subscription.
      yield* decodeBase64Record(awslogs['data'], cursor, depth + 1);
      return;
    }
  }
  yield { kind: 'record', text: text ?? JSON.stringify(value), parsed: value, origin: originAt(cursor) };
}

function* decodeItems(items: readonly unknown[], cursor: RecordCursor): Generator<DecodedItem> {
  for (const item of items) {
    // Elements of a document are audit events; they are re-serialized for @message because
    // the document's own text is not kept (that would double the memory of a large document).
    yield { kind: 'record', text: JSON.stringify(item) ?? 'null', parsed: item, origin: originAt(cursor) };
  }
}

/** One base64 record (Firehose `data`, one line of a Firehose S3 object, Lambda `awslogs.data`). */
export function* decodeBase64Record(data: string, cursor: RecordCursor, depth = 0): Generator<DecodedItem> {
  const r = decodeFirehoseData(data);
  if (!r.ok) {
    yield problemItem(cursor.file, cursorLine(cursor), 'malformed-json', r.reason);
    return;
  }
  yield* decodeText(r.text, cursor, depth);
}

/**
 * Text that holds one JSON value, several concatenated ones (`{..}{..}`), or newline-delimited
 * audit events (a Firehose record written by a direct producer).
 */
export function* decodeText(text: string, cursor: RecordCursor, depth = 0): Generator<DecodedItem> {
  const seq = parseJsonSequence(text);
  if (seq.error === null || seq.values.length > 0) {
    for (const v of seq.values) yield* decodeValue(v.value, v.text, cursor, depth);
    if (seq.error !== null) yield problemItem(cursor.file, cursorLine(cursor), 'malformed-json', seq.error);
    return;
  }
  // Not JSON as a whole: newline-delimited candidates, each judged by normalization.
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t !== '') yield { kind: 'record', text: t, origin: originAt(cursor) };
  }
}

function originAt(cursor: RecordCursor) {
  return plainOrigin(cursor.file, cursorLine(cursor));
}

export interface JsonSequence {
  readonly values: { readonly value: unknown; readonly text: string; readonly start: number }[];
  /** Why parsing stopped early, or null when the whole text parsed. */
  readonly error: string | null;
  /** Offset in the text where the error was found; -1 when there is no error or the parser did not say. */
  readonly errorAt: number;
}

// V8 reports where a second top-level value starts; that position is where the first one ended.
const AFTER_JSON = /after JSON at position (\d+)/;

/** Is this JSON.parse message the one for text holding more than one value (`{…}{…}`)? */
export function isConcatenatedJsonError(message: string): boolean {
  return AFTER_JSON.test(message);
}
const AT_POSITION = /position (\d+)/;

/**
 * Parse text holding zero or more concatenated JSON values (whitespace between them optional).
 * Uses JSON.parse itself to find value boundaries, so each value is parsed by the native parser
 * at most twice and no character-level scanner runs in JavaScript.
 */
export function parseJsonSequence(text: string): JsonSequence {
  const values: { value: unknown; text: string; start: number }[] = [];
  let start = skipWs(text, 0);
  while (start < text.length) {
    const rest = start === 0 ? text : text.slice(start);
    try {
      values.push({ value: JSON.parse(rest), text: rest.trim(), start });
      return { values, error: null, errorAt: -1 };
    } catch (e) {
      const msg = (e as Error).message;
      const m = AFTER_JSON.exec(msg);
      if (m === null) {
        const p = AT_POSITION.exec(msg);
        return { values, error: `malformed JSON: ${msg}`, errorAt: p === null ? -1 : start + Number(p[1]) };
      }
      const end = Number(m[1]);
      const piece = rest.slice(0, end);
      values.push({ value: JSON.parse(piece), text: piece.trim(), start });
      start = skipWs(text, start + end);
    }
  }
  return { values, error: null, errorAt: -1 };
}

function skipWs(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}
