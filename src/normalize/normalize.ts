/**
 * raw JSON → AuditEvent. Driven by the field catalog: every catalog field with a JSON path is
 * read from the parsed event and checked against its declared type. Values of the wrong type
 * make the event a `bad-field-type` problem rather than a silently wrong row.
 */
import type { AuditEvent, EventOrigin } from '../model/audit-event.js';
import { DEFAULT_CLUSTER, FIELD_CATALOG, type FieldDef } from '../model/field-catalog.js';
import type { InputProblem, RawRecord } from '../model/raw-record.js';
import { plainOrigin } from '../decode/decoded-item.js';
import type { HeldEventCodec } from './stage-deduper.js';

export interface NormalizeOptions {
  /** --cluster; wins over the log group. */
  readonly cluster?: string | undefined;
}

export type NormalizeResult =
  | { readonly ok: true; readonly event: AuditEvent }
  | { readonly ok: false; readonly problem: 'not-audit-event' | 'bad-field-type'; readonly reason: string };

const EKS_LOG_GROUP = /^\/aws\/eks\/([^/]+)\/cluster$/;

export function clusterFromLogGroup(logGroup: string | null): string | null {
  if (logGroup === null) return null;
  const m = EKS_LOG_GROUP.exec(logGroup);
  return m?.[1] ?? null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Does this JSON present itself as an audit event, whatever its field types? Not another
 * apiVersion or kind (a core v1 Event is not an audit event), and at least one of the fields
 * every audit event has. What claims to be an audit event but has a field of the wrong type is
 * then `bad-field-type` (the user learns which field), not `not-audit-event`.
 */
function claimsAuditEvent(v: unknown): v is Record<string, unknown> {
  if (!isRecord(v)) return false;
  const api = v['apiVersion'];
  if (typeof api === 'string' && !api.startsWith('audit.k8s.io/')) return false;
  if (v['kind'] !== undefined && v['kind'] !== 'Event') return false;
  return v['auditID'] !== undefined || v['verb'] !== undefined || v['stage'] !== undefined;
}

const NOT_AUDIT_EVENT = 'JSON is not a Kubernetes audit event (needs kind Event, auditID, stage and verb)';

type Getter = (o: Record<string, unknown>) => unknown;

/**
 * Returned by a getter when a step of the path holds a value that is not an object (`"user":
 * "alice"`, `"objectRef": [1]`): the event is then bad-field-type instead of silently having
 * no user or resource, which would hide it from every detector.
 */
const NOT_AN_OBJECT: unique symbol = Symbol('not-an-object');

/** Compile a JSON path into a getter once, instead of walking the path array per event. */
function compilePath(path: readonly (string | number)[]): Getter {
  const [a, b, c] = path;
  const step = (x: unknown, k: string | number): unknown => {
    if (x === undefined || x === null || x === NOT_AN_OBJECT) return x;
    if (typeof x !== 'object' || Array.isArray(x)) return NOT_AN_OBJECT;
    return (x as Record<string | number, unknown>)[k];
  };
  if (path.length === 1) return (o) => o[a as string];
  if (path.length === 2) return (o) => step(o[a as string], b!);
  if (path.length === 3) return (o) => step(step(o[a as string], b!), c!);
  return (o) => path.reduce<unknown>((x, k) => step(x, k), o);
}

/** The dotted name of the first step of `path` that is present but not an object (cold path). */
function nonObjectStep(raw: Record<string, unknown>, path: readonly (string | number)[]): string {
  let x: unknown = raw;
  for (let i = 0; i < path.length - 1; i++) {
    x = (x as Record<string | number, unknown>)[path[i]!];
    if (typeof x !== 'object' || x === null || Array.isArray(x)) return path.slice(0, i + 1).join('.');
  }
  return path.slice(0, -1).join('.');
}

interface CompiledField {
  readonly def: FieldDef;
  readonly get: Getter;
}

const JSON_FIELDS: readonly CompiledField[] = FIELD_CATALOG.filter((f) => f.path !== null).map((f: FieldDef) => ({
  def: f,
  get: compilePath(f.path!),
}));

// Slot of each catalog JSON field in the scratch array below, by AuditEvent property.
const SLOT: Readonly<Record<string, number>> = Object.fromEntries(JSON_FIELDS.map((f, i) => [f.def.property, i]));
const slot = (property: keyof AuditEvent): number => {
  const i = SLOT[property];
  if (i === undefined) throw new Error(`field catalog has no JSON field for ${property}`);
  return i;
};
const S = {
  auditID: slot('auditID'),
  stage: slot('stage'),
  level: slot('level'),
  verb: slot('verb'),
  requestURI: slot('requestURI'),
  username: slot('username'),
  userUid: slot('userUid'),
  userGroups: slot('userGroups'),
  impersonatedUsername: slot('impersonatedUsername'),
  sourceIPs: slot('sourceIPs'),
  userAgent: slot('userAgent'),
  resource: slot('resource'),
  subresource: slot('subresource'),
  namespace: slot('namespace'),
  name: slot('name'),
  apiGroup: slot('apiGroup'),
  apiVersion: slot('apiVersion'),
  responseCode: slot('responseCode'),
  responseStatus: slot('responseStatus'),
  responseReason: slot('responseReason'),
  requestReceivedAt: slot('requestReceivedAt'),
  stageAt: slot('stageAt'),
  authzDecision: slot('authzDecision'),
  authzReason: slot('authzReason'),
} as const;

const EMPTY: readonly string[] = Object.freeze([]);
// Reused for every event: normalizeParsed is synchronous, so one scratch array suffices.
const SCRATCH: unknown[] = new Array<unknown>(JSON_FIELDS.length).fill(null);

function parseTime(s: string | null): number | null {
  if (s === null) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

function isStringArray(v: unknown[]): boolean {
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
  return true;
}

/** Normalize an already-parsed audit event. `rawText` is stored as @message. */
export function normalizeParsed(
  raw: unknown,
  rawText: string,
  origin: EventOrigin,
  options: NormalizeOptions = {},
): NormalizeResult {
  if (!claimsAuditEvent(raw)) return { ok: false, problem: 'not-audit-event', reason: NOT_AUDIT_EVENT };
  // One value per catalog JSON field, read and type-checked in catalog order. Every event is
  // then built by the same object literal below, so all AuditEvents share one hidden class
  // (detectors read them millions of times) and no intermediate object is spread. The literal
  // names every property: a field added to AuditEvent fails the build until it is set here,
  // and slot() fails at load if the catalog lacks a JSON field the literal reads.
  const values = SCRATCH;
  for (let i = 0; i < JSON_FIELDS.length; i++) {
    const f = JSON_FIELDS[i]!;
    const v = f.get(raw);
    if (v === undefined || v === null) {
      values[i] = f.def.type === 'string[]' ? EMPTY : null;
      continue;
    }
    if (v === NOT_AN_OBJECT)
      return { ok: false, problem: 'bad-field-type', reason: `${nonObjectStep(raw, f.def.path!)} must be an object` };
    switch (f.def.type) {
      case 'string':
      case 'timestamp':
        if (typeof v !== 'string')
          return { ok: false, problem: 'bad-field-type', reason: `${f.def.name} must be a string, got ${typeName(v)}` };
        break;
      case 'int':
        if (typeof v !== 'number' || !Number.isInteger(v))
          return {
            ok: false,
            problem: 'bad-field-type',
            reason: `${f.def.name} must be an integer, got ${typeName(v)}`,
          };
        break;
      case 'string[]':
        if (!Array.isArray(v) || !isStringArray(v))
          return { ok: false, problem: 'bad-field-type', reason: `${f.def.name} must be an array of strings` };
        break;
    }
    values[i] = v;
  }
  // auditID, stage and verb have the right type if present (checked above); all three are
  // needed to deduplicate and to route to detectors.
  if (values[S.auditID] === null || values[S.stage] === null || values[S.verb] === null) {
    const missing = (['auditID', 'stage', 'verb'] as const).filter((k) => values[S[k]] === null).join(', ');
    return { ok: false, problem: 'not-audit-event', reason: `${NOT_AUDIT_EVENT}; missing ${missing}` };
  }
  const received = values[S.requestReceivedAt] as string | null;
  const stageAt = values[S.stageAt] as string | null;
  const legacy = typeof raw['timestamp'] === 'string' ? (raw['timestamp'] as string) : null;
  // The event's own time first: findings (firstSeen, lastSeen, correlation windows) must not
  // depend on whether the event came from a file or through CloudWatch, whose timestamp is the
  // shipper's and can lag the request. CloudWatch's timestamp is the fallback.
  const time = parseTime(received) ?? parseTime(stageAt) ?? parseTime(legacy) ?? origin.cwTimestamp ?? 0;
  const cluster = options.cluster ?? clusterFromLogGroup(origin.logGroup) ?? DEFAULT_CLUSTER;
  const event: AuditEvent = {
    auditID: values[S.auditID] as string,
    stage: values[S.stage] as string,
    level: values[S.level] as string | null,
    verb: values[S.verb] as string,
    requestURI: values[S.requestURI] as string | null,
    username: values[S.username] as string | null,
    userUid: values[S.userUid] as string | null,
    userGroups: values[S.userGroups] as readonly string[],
    impersonatedUsername: values[S.impersonatedUsername] as string | null,
    sourceIPs: values[S.sourceIPs] as readonly string[],
    userAgent: values[S.userAgent] as string | null,
    resource: values[S.resource] as string | null,
    subresource: values[S.subresource] as string | null,
    namespace: values[S.namespace] as string | null,
    name: values[S.name] as string | null,
    apiGroup: values[S.apiGroup] as string | null,
    apiVersion: values[S.apiVersion] as string | null,
    responseCode: values[S.responseCode] as number | null,
    responseStatus: values[S.responseStatus] as string | null,
    responseReason: values[S.responseReason] as string | null,
    requestReceivedAt: received,
    stageAt,
    authzDecision: values[S.authzDecision] as string | null,
    authzReason: values[S.authzReason] as string | null,
    time,
    ingestionTime: origin.ingestionTime,
    logStream: origin.logStream ?? origin.file,
    logGroup: origin.logGroup,
    cluster,
    cwEventId: origin.cwEventId,
    raw,
    rawText,
    origin,
  };
  return { ok: true, event };
}

function typeName(v: unknown): string {
  return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
}

/** Convenience for tests and tools: an origin for an event that came from a plain file. */
export function fileOrigin(file: string, line: number): EventOrigin {
  return plainOrigin(file, line);
}

/**
 * How the scan's StageDeduper keeps held events: the text, origin and cluster (about the size
 * of the text) instead of the parsed JSON (several times that), normalized again on release,
 * which gives an equal event: normalizeParsed reads nothing else.
 */
export const heldEventCodec: HeldEventCodec = {
  pack: (ev: AuditEvent): PackedEvent => ({ text: ev.rawText, origin: ev.origin, cluster: ev.cluster }),
  unpack: (packed: unknown): AuditEvent => {
    const p = packed as PackedEvent;
    const r = normalizeText(p.text, p.origin, { cluster: p.cluster });
    if (!r.ok) throw new Error(`internal error: a held event no longer normalizes (${r.reason})`);
    return r.event;
  },
};

interface PackedEvent {
  readonly text: string;
  readonly origin: EventOrigin;
  readonly cluster: string;
}

/** Parse JSON text and normalize it (tests, webhook). */
export function normalizeText(
  text: string,
  origin: EventOrigin,
  options: NormalizeOptions = {},
): NormalizeResult | { ok: false; problem: 'malformed-json'; reason: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: 'malformed-json', reason: `malformed JSON: ${(e as Error).message}` };
  }
  return normalizeParsed(parsed, text, origin, options);
}

/** Why a record did not become an AuditEvent: normalizeParsed's reasons plus the parse failures. */
export type NormalizeRecordResult =
  | NormalizeResult
  | {
      readonly ok: false;
      readonly problem: 'malformed-json' | 'cloudwatch-truncated' | 'binary';
      readonly reason: string;
    };

// CloudWatch Logs (and its agent) cut events over the size limit and append this marker.
const TRUNCATED_MARKER = '[Truncated...]';
// V8 messages for JSON that stops early: the text was cut rather than written wrong.
const CUT_JSON = /Unexpected end of JSON input|Unterminated string|Bad control character in string literal/;

/**
 * One raw record → AuditEvent: parses `rec.text` once (or uses `rec.parsed` when the container
 * already parsed it) and normalizes. A message that CloudWatch cut at its size limit is
 * reported as `cloudwatch-truncated`, not as malformed JSON: the user should know events were
 * lost to the log pipeline, not to a bug in their files.
 */
export function normalizeRecord(rec: RawRecord, options: NormalizeOptions = {}): NormalizeRecordResult {
  let parsed = rec.parsed;
  if (parsed === undefined) {
    try {
      parsed = JSON.parse(rec.text);
    } catch (e) {
      return parseFailure(rec, (e as Error).message);
    }
  }
  return normalizeParsed(parsed, rec.text, rec.origin, options);
}

function parseFailure(rec: RawRecord, message: string): NormalizeRecordResult {
  const text = rec.text;
  if (text.endsWith(TRUNCATED_MARKER)) {
    return {
      ok: false,
      problem: 'cloudwatch-truncated',
      reason: `CloudWatch truncated this event (${text.length} characters, ends with ${TRUNCATED_MARKER})`,
    };
  }
  // NUL bytes inside a text log: blocks a crash left unwritten, or junk appended to the file.
  if (text.indexOf('\u0000') !== -1) {
    return {
      ok: false,
      problem: 'binary',
      reason: `binary data (NUL bytes) in place of a JSON event (${text.length} characters)`,
    };
  }
  const viaCloudWatch = rec.origin.cwTimestamp !== null || rec.origin.logStream !== null;
  if (viaCloudWatch && text.charCodeAt(0) === 0x7b && CUT_JSON.test(message)) {
    return {
      ok: false,
      problem: 'cloudwatch-truncated',
      reason: `CloudWatch message is cut short (${text.length} characters): ${message}`,
    };
  }
  return { ok: false, problem: 'malformed-json', reason: `malformed JSON: ${message}` };
}

/** The InputProblem for a record that did not normalize. */
export function recordProblem(rec: RawRecord, r: Exclude<NormalizeRecordResult, { ok: true }>): InputProblem {
  return { kind: 'problem', file: rec.origin.file, line: rec.origin.line, problem: r.problem, reason: r.reason };
}
