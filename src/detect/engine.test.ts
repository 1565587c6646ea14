import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetectionEngine, indexAccepts } from './engine.js';
import type { Detection, Detector, DetectorInfo } from './detector.js';
import { fileOrigin, normalizeParsed } from '../normalize/normalize.js';
import { severityFromLabel } from '../model/finding.js';
import type { AuditEvent } from '../model/audit-event.js';

function ev(verb: string, resource: string | null, id = 'a1'): AuditEvent {
  const raw: Record<string, unknown> = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    auditID: id,
    stage: 'ResponseComplete',
    verb,
    requestURI: '/x',
  };
  if (resource !== null) raw['objectRef'] = { resource };
  const r = normalizeParsed(raw, JSON.stringify(raw), fileOrigin('t', 1));
  assert.ok(r.ok);
  return r.event;
}

function info(rule: string): DetectorInfo {
  return {
    type: `Test:${rule}`,
    engine: 'native',
    rule,
    title: rule,
    description: '',
    severity: severityFromLabel('LOW'),
    mitre: null,
  };
}

function recorder(rule: string, index: Detector['index'], seen: string[], throws = false): Detector {
  return {
    info: info(rule),
    index,
    evaluate(e, emit) {
      seen.push(`${rule}:${e.verb}/${e.resource ?? '-'}`);
      if (throws) throw new Error('boom');
      emit({ info: info(rule), event: e });
    },
  };
}

test('indexAccepts: undefined means any; resource-indexed detectors never see resource-less events', () => {
  assert.equal(indexAccepts({}, 'get', null), true);
  assert.equal(indexAccepts({ verbs: ['create'] }, 'get', 'pods'), false);
  assert.equal(indexAccepts({ verbs: ['create'], resources: ['pods'] }, 'create', 'pods'), true);
  assert.equal(indexAccepts({ resources: ['pods'] }, 'create', null), false);
});

test('engine dispatches each event only to candidate detectors, in registration order', () => {
  const seen: string[] = [];
  const out: Detection[] = [];
  const engine = new DetectionEngine();
  engine.addDetector(recorder('create-pods', { verbs: ['create'], resources: ['pods'] }, seen));
  engine.addDetector(recorder('any', {}, seen));
  engine.addDetector(recorder('secrets', { resources: ['secrets'] }, seen));
  engine.dispatch(ev('create', 'pods'), (d) => out.push(d));
  engine.dispatch(ev('get', 'secrets'), (d) => out.push(d));
  engine.dispatch(ev('get', 'pods'), (d) => out.push(d));
  assert.deepEqual(seen, [
    'create-pods:create/pods',
    'any:create/pods',
    'any:get/secrets',
    'secrets:get/secrets',
    'any:get/pods',
  ]);
  assert.equal(out.length, 5);
  assert.deepEqual(engine.stats(), { units: 3, events: 3, evaluations: 5, errors: 0 });
});

test('a throwing detector is counted and does not stop the others', () => {
  const seen: string[] = [];
  const errors: string[] = [];
  const engine = new DetectionEngine((name) => errors.push(name));
  engine.addDetector(recorder('bad', {}, seen, true));
  engine.addDetector(recorder('good', {}, seen));
  const out: Detection[] = [];
  engine.dispatch(ev('get', 'pods'), (d) => out.push(d));
  assert.deepEqual(errors, ['bad']);
  assert.equal(out.length, 1);
  assert.equal(engine.stats().errors, 1);
});

test('flush reaches stateful detectors', () => {
  const engine = new DetectionEngine();
  let flushed = 0;
  engine.addDetector({
    info: info('s'),
    index: {},
    evaluate() {},
    flush() {
      flushed++;
    },
  });
  engine.flush(() => {});
  assert.equal(flushed, 1);
});
