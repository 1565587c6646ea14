/**
 * Hostile rule files and hostile events: errors or bounded work, never a crash or a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Detection } from '../detector.js';
import { fileOrigin, normalizeParsed } from '../../normalize/normalize.js';
import { loadFalcoRulesFromText } from './falco-loader.js';

const rule = (name: string, cond: string, output = 'x') =>
  `- rule: ${name}\n  desc: d\n  condition: ${cond}\n  output: ${output}\n  priority: INFO\n  source: k8s_audit\n`;

test('a chain of 3000 macros is a located error, not a stack overflow', () => {
  let text = '';
  for (let i = 0; i < 3000; i++)
    text += `- macro: m${i}\n  condition: ${i === 0 ? 'ka.verb = get' : `m${i - 1} and ka.verb exists`}\n`;
  text += rule('Deep', 'm2999');
  const started = Date.now();
  const r = loadFalcoRulesFromText([{ name: 'deep.yaml', text }]);
  assert.equal(r.pack, null);
  const deep = r.problems.find((p) => /nests too deeply/.test(p.message));
  assert.ok(deep !== undefined, JSON.stringify(r.problems.slice(0, 3)));
  assert.equal(deep.rule, 'm1000');
  assert.equal(deep.line, 2001);
  assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
});

test('a macro chain under the limit still loads and matches', () => {
  let text = '';
  for (let i = 0; i < 200; i++)
    text += `- macro: m${i}\n  condition: ${i === 0 ? 'ka.verb = get' : `m${i - 1} and ka.verb exists`}\n`;
  const r = loadFalcoRulesFromText([{ name: 'ok.yaml', text: text + rule('Chain', 'm199') }]);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.pack!.detectors[0]!.index, { verbs: ['get'] });
});

test('a list of 50000 items loads; in and pmatch on it stay correct', () => {
  const items = Array.from({ length: 50_000 }, (_, i) => `u${i}`).join(', ');
  const r = loadFalcoRulesFromText([
    {
      name: 'big.yaml',
      text: `- list: huge\n  items: [${items}]\n` + rule('Big', 'ka.user.name in (huge) or ka.uri pmatch (huge)'),
    },
  ]);
  assert.deepEqual(r.problems, []);
  const hits: string[] = [];
  for (const name of ['u49999', 'alice'])
    r.pack!.evaluate(event({ user: { username: name } }), (d) => hits.push(`${name}:${d.info.rule}`));
  assert.deepEqual(hits, ['u49999:Big']);
});

function event(fields: Record<string, unknown>, raw?: string) {
  const base = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: 'h',
    stage: 'ResponseComplete',
    verb: 'create',
    requestURI: '/api/v1/namespaces/default/pods',
    user: { username: 'u' },
    objectRef: { resource: 'pods', namespace: 'default', name: 'p' },
    responseStatus: { code: 201 },
    requestReceivedTimestamp: '2024-05-01T10:00:00Z',
    stageTimestamp: '2024-05-01T10:00:00Z',
    ...fields,
  };
  const text = raw ?? JSON.stringify(base);
  const r = normalizeParsed(JSON.parse(text), text, fileOrigin('h.jsonl', 1));
  if (!r.ok) throw new Error(r.reason);
  return r.event;
}

test('events nested 50000 levels deep: every rule still runs, outputs render (deep values as null)', () => {
  let deep = '{"x":1}';
  for (let i = 0; i < 50_000; i++) deep = `{"a":${deep}}`;
  const raw = JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: 'd',
    stage: 'ResponseComplete',
    verb: 'create',
    requestURI: '/api/v1/namespaces/default/pods',
    user: { username: 'u' },
    objectRef: { resource: 'pods', namespace: 'default', name: 'p' },
    responseStatus: { code: 201 },
    requestReceivedTimestamp: '2024-05-01T10:00:00Z',
    stageTimestamp: '2024-05-01T10:00:00Z',
    requestObject: '@',
  }).replace('"@"', deep);
  const text =
    rule('Obj', 'jevt.value[/requestObject] exists', '"%jevt.value[/requestObject]"') +
    rule('Whole', 'jevt.obj contains null', '"%jevt.obj"') +
    rule('Verb', 'ka.verb = create', '"%ka.verb"');
  const r = loadFalcoRulesFromText([{ name: 'h.yaml', text }], { match: 'all' });
  assert.deepEqual(r.problems, []);
  const out: Detection[] = [];
  r.pack!.evaluate(event({}, raw), (d) => out.push(d));
  assert.deepEqual(
    out.map((d) => d.info.rule),
    ['Obj', 'Whole', 'Verb'],
  );
  assert.ok(out[0]!.output!.startsWith('{"a":{"a":') && out[0]!.output!.includes('null'));
  assert.equal(r.pack!.ruleErrors, 0);
});

test('a rule that throws counts as no match and does not hide the later rules', () => {
  const r = loadFalcoRulesFromText(
    [{ name: 'h.yaml', text: rule('A', 'ka.verb = create') + rule('B', 'ka.verb = create') }],
    { match: 'first' },
  );
  const pack = r.pack!;
  const first = pack.detectors[0]!;
  // Simulate a failing rule (a bug, or an event beyond some limit).
  Object.defineProperty(first.rule, 'predicate', {
    value: () => {
      throw new RangeError('boom');
    },
  });
  const names: string[] = [];
  pack.evaluate(event({}), (d) => names.push(d.info.rule));
  assert.deepEqual(names, ['B']);
  assert.equal(pack.ruleErrors, 1);
  assert.equal(pack.lastError?.rule, 'A');
});

test('a 1 MB username and 2 MB query string: linear-time checks, full output', () => {
  const r = loadFalcoRulesFromText([
    {
      name: 'h.yaml',
      text: rule(
        'Big',
        'ka.user.name glob "*a*a*a*a*a*b" or ka.user.name regex "(a|aa)*b" or ka.uri.param[x] contains zzz or ka.user.name endswith a',
        '"%ka.user.name"',
      ),
    },
  ]);
  assert.deepEqual(r.problems, []);
  const started = Date.now();
  const out: Detection[] = [];
  r.pack!.evaluate(
    event({
      user: { username: 'a'.repeat(1_000_000) },
      requestURI: `/api/v1/namespaces/default/pods?x=${'a'.repeat(2_000_000)}`,
    }),
    (d) => out.push(d),
  );
  assert.equal(out.length, 1);
  assert.equal(out[0]!.output!.length, 1_000_000);
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
});
