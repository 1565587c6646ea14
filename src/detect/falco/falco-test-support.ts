/**
 * Test helpers: the repo root, the shared Falco corpus, and audit events read from fixture
 * files (one JSON event per line, or one pretty-printed JSON document, array or EventList).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from '../../model/audit-event.js';
import { fileOrigin, normalizeParsed } from '../../normalize/normalize.js';
import { repoRoot } from '../../util/repo-root.js';
export { repoRoot };

/** /work/shared/corpus/falco (tests only; code never reads it). */
export function falcoCorpus(...parts: string[]): string {
  return join(repoRoot(), '..', 'shared', 'corpus', 'falco', ...parts);
}

export interface FixtureEvents {
  readonly events: AuditEvent[];
  /** Records that were not audit events, with the reason (the plugin's "data not recognized"). */
  readonly rejected: string[];
}

export function readAuditFixture(path: string): FixtureEvents {
  const text = readFileSync(path, 'utf8');
  const records: { value: unknown; text: string; line: number }[] = [];
  try {
    const lines = text.split('\n');
    lines.forEach((l, i) => {
      if (l.trim() !== '') records.push({ value: JSON.parse(l), text: l, line: i + 1 });
    });
  } catch {
    records.length = 0;
    records.push({ value: JSON.parse(text), text, line: 1 });
  }
  const events: AuditEvent[] = [];
  const rejected: string[] = [];
  const add = (value: unknown, raw: string, line: number): void => {
    if (Array.isArray(value)) return value.forEach((v, i) => add(v, JSON.stringify(v), line + i));
    if (typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'EventList') {
      const items = (value as { items?: unknown }).items;
      if (Array.isArray(items)) items.forEach((v, i) => add(v, JSON.stringify(v), line + i));
      return;
    }
    const r = normalizeParsed(value, raw, fileOrigin(path, line));
    if (r.ok) events.push(r.event);
    else rejected.push(r.reason);
  };
  for (const r of records) add(r.value, r.text, r.line);
  return { events, rejected };
}

/** An AuditEvent from a partial audit JSON object (defaults: a ResponseComplete pod create). */
export function auditEvent(fields: Record<string, unknown> = {}): AuditEvent {
  const raw = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: 'a1b2c3',
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/default/pods',
    verb: 'create',
    user: { username: 'alice', groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.1'],
    objectRef: { resource: 'pods', namespace: 'default', name: 'p1', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 201 },
    requestReceivedTimestamp: '2024-05-01T10:00:00.123456Z',
    stageTimestamp: '2024-05-01T10:00:00.223456Z',
    ...fields,
  };
  const text = JSON.stringify(raw);
  const r = normalizeParsed(JSON.parse(text), text, fileOrigin('test.jsonl', 1));
  if (!r.ok) throw new Error(`test event does not normalize: ${r.reason}`);
  return r.event;
}
