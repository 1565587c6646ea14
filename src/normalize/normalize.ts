/**
 * raw JSON → AuditEvent. Driven by the field catalog: every catalog field with a JSON path is
 * read from the parsed event and checked against its declared type. Values of the wrong type
 * make the event a `bad-field-type` problem rather than a silently wrong row.
 */
import type { AuditEvent, EventOrigin } from '../model/audit-event.js';
import { DEFAULT_CLUSTER, FIELD_CATALOG, type FieldDef } from '../model/field-catalog.js';

export interface NormalizeOptions {
  /** --cluster; wins over the log group. */
  readonly cluster?: string | undefined;
}

export type NormalizeResult =
  | { readonly ok: true; readonly event: AuditEvent }
  | { readonly ok: false; readonly problem: 'not-audit-event' | 'bad-field-type'; readonly reason: string };

const JSON_FIELDS: readonly FieldDef[] = FIELD_CATALOG.filter((f) => f.path !== null);
const EKS_LOG_GROUP = /^\/aws\/eks\/([^/]+)\/cluster$/;

export function clusterFromLogGroup(logGroup: string | null): string | null {
  if (logGroup === null) return null;
  const m = EKS_LOG_GROUP.exec(logGroup);
  return m?.[1] ?? null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Is this parsed JSON an audit.k8s.io Event? (kind Event, audit.k8s.io apiVersion, auditID, verb). */
export function looksLikeAuditEvent(v: unknown): v is Record<string, unknown> {
  if (!isRecord(v)) return false;
  const api = v['apiVersion'];
  if (typeof api === 'string' && !api.startsWith('audit.k8s.io/')) return false;
  if (v['kind'] !== undefined && v['kind'] !== 'Event') return false;
  return typeof v['auditID'] === 'string' && typeof v['verb'] === 'string' && typeof v['stage'] === 'string';
}

function readPath(obj: Record<string, unknown>, path: readonly (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

function parseTime(s: string | null): number | null {
  if (s === null) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

/** Normalize an already-parsed audit event. `rawText` is stored as @message. */
export function normalizeParsed(
  raw: unknown,
  rawText: string,
  origin: EventOrigin,
  options: NormalizeOptions = {},
): NormalizeResult {
  if (!looksLikeAuditEvent(raw)) {
    return { ok: false, problem: 'not-audit-event', reason: 'JSON is not a Kubernetes audit event (needs kind Event, auditID, stage and verb)' };
  }
  const values: Record<string, unknown> = {};
  for (const f of JSON_FIELDS) {
    const v = readPath(raw, f.path!);
    if (v === undefined || v === null) {
      values[f.property] = f.type === 'string[]' ? [] : null;
      continue;
    }
    switch (f.type) {
      case 'string':
      case 'timestamp':
        if (typeof v !== 'string') return { ok: false, problem: 'bad-field-type', reason: `${f.name} must be a string, got ${typeName(v)}` };
        values[f.property] = v;
        break;
      case 'int':
        if (typeof v !== 'number' || !Number.isInteger(v)) return { ok: false, problem: 'bad-field-type', reason: `${f.name} must be an integer, got ${typeName(v)}` };
        values[f.property] = v;
        break;
      case 'string[]':
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return { ok: false, problem: 'bad-field-type', reason: `${f.name} must be an array of strings` };
        values[f.property] = v;
        break;
    }
  }
  const received = values['requestReceivedAt'] as string | null;
  const stageAt = values['stageAt'] as string | null;
  const legacy = typeof raw['timestamp'] === 'string' ? (raw['timestamp'] as string) : null;
  const time = origin.cwTimestamp ?? parseTime(received) ?? parseTime(stageAt) ?? parseTime(legacy) ?? 0;
  const cluster = options.cluster ?? clusterFromLogGroup(origin.logGroup) ?? DEFAULT_CLUSTER;
  const event = {
    ...(values as object),
    time,
    ingestionTime: origin.ingestionTime,
    logStream: origin.logStream ?? origin.file,
    logGroup: origin.logGroup,
    cluster,
    cwEventId: origin.cwEventId,
    raw,
    rawText,
    origin,
  } as AuditEvent;
  return { ok: true, event };
}

function typeName(v: unknown): string {
  return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
}

/** Convenience for tests and tools: an origin for an event that came from a plain file. */
export function fileOrigin(file: string, line: number): EventOrigin {
  return { file, line, logGroup: null, logStream: null, cwTimestamp: null, cwEventId: null, ingestionTime: null };
}

/** Parse JSON text and normalize it (tests, webhook). */
export function normalizeText(text: string, origin: EventOrigin, options: NormalizeOptions = {}): NormalizeResult | { ok: false; problem: 'malformed-json'; reason: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: 'malformed-json', reason: `malformed JSON: ${(e as Error).message}` };
  }
  return normalizeParsed(parsed, text, origin, options);
}
