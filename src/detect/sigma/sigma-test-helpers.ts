/**
 * Shared by the Sigma tests: repo paths, event builders, and running detectors the way the
 * engine does (index first, then evaluate). Not used at run time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from '../../model/audit-event.js';
import { fileOrigin, normalizeText } from '../../normalize/normalize.js';
import type { Detection, Detector } from '../detector.js';
import { indexAccepts } from '../engine.js';
import { StageDeduper } from '../../normalize/stage-deduper.js';
import { repoRoot } from '../../util/repo-root.js';
export { repoRoot };

export const SHARED = (): string => join(repoRoot(), '..', 'shared');
export const SIGMAHQ_RULES = (): string => join(SHARED(), 'corpus', 'sigma', 'rules');
export const CORRELATION_RULES = (): string => join(repoRoot(), 'rules', 'sigma', 'correlations');
export const FIXTURES = (): string =>
  join(repoRoot(), 'src', 'detect', 'sigma', 'testdata', 'sigma-rule-fixtures.jsonl');

export function loadJsonl(file: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      const r = normalizeText(line, fileOrigin(file, i + 1));
      if (r.ok) out.push(r.event);
    });
  return out;
}

let seq = 0;

/** A realistic audit event; `over` is merged into the JSON (top-level keys replaced). */
export function auditEvent(over: Record<string, unknown> = {}, time = '2024-03-05T10:00:00.000000Z'): AuditEvent {
  seq++;
  const json = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `evt-${seq}`,
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/default/pods',
    verb: 'list',
    user: { username: 'alice@example.com', groups: ['system:authenticated'] },
    sourceIPs: ['203.0.113.7'],
    userAgent: 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819',
    objectRef: { resource: 'pods', namespace: 'default', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: time,
    stageTimestamp: time,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
    ...over,
  };
  const text = JSON.stringify(json);
  const r = normalizeText(text, fileOrigin('test', seq));
  if (!r.ok) throw new Error(`bad test event: ${r.reason}`);
  return r.event;
}

/**
 * Evaluate like `sleuth scan`: one event per request (StageDeduper picks the stage), and only
 * detectors whose index accepts the event. `stages: 'all'` hands every event to detectors.
 */
export function runDetectors(
  detectors: readonly Detector[],
  events: readonly AuditEvent[],
  stages: 'request' | 'all' = 'request',
): Detection[] {
  const out: Detection[] = [];
  const evaluate = (e: AuditEvent): void => {
    for (const d of detectors) {
      if (!indexAccepts(d.index, e.verb, e.resource)) continue;
      d.evaluate(e, (x) => out.push(x));
    }
  };
  if (stages === 'all') events.forEach(evaluate);
  else {
    const deduper = new StageDeduper();
    for (const e of events) deduper.push(e).dispatch.forEach(evaluate);
    deduper.flush().forEach(evaluate);
  }
  for (const d of detectors) d.flush?.((x) => out.push(x));
  return out;
}

/** rule id → sorted `auditID/stage` keys of its detections. */
export function hitsByRule(detections: readonly Detection[]): Map<string, string[]> {
  const m = new Map<string, Set<string>>();
  for (const d of detections) {
    let s = m.get(d.info.rule);
    if (s === undefined) m.set(d.info.rule, (s = new Set()));
    s.add(`${d.event.auditID}/${d.event.stage}`);
  }
  return new Map([...m].map(([k, v]) => [k, [...v].sort()]));
}
