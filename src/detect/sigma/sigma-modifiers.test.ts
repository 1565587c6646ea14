/**
 * Value modifiers and matching semantics, each case checked twice: by the streaming matcher
 * and by the SQL compiler on a real DuckDB store, which must agree with the expected hits.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent } from '../../model/audit-event.js';
import type { Store } from '../../store/store.js';
import { openDuckDbStore } from '../../store/duckdb/duckdb-store.js';
import type { SigmaDetectionRule } from './sigma-ast.js';
import { createFieldMapping } from './sigma-field-mapping.js';
import { compileSigmaExpr } from './sigma-matcher-compiler.js';
import { base64Offsets, buildFieldItem, parseCidr, parseSigmaString } from './sigma-modifiers.js';
import { parseSigmaText } from './sigma-rule-loader.js';
import { compileSigmaRuleSql, SigmaSqlError } from './sigma-sql-compiler.js';
import { auditEvent } from './sigma-test-helpers.js';

const E1 = auditEvent({
  auditID: 'e1',
  verb: 'get',
  requestURI: '/api/v1/namespaces/default/secrets/db-password',
  user: { username: 'alice@example.com', groups: ['system:masters', 'system:authenticated'] },
  sourceIPs: ['10.1.2.3', '203.0.113.7'],
  objectRef: { resource: 'secrets', namespace: 'default', name: 'db-password', apiVersion: 'v1' },
});
const E2 = auditEvent({
  auditID: 'e2',
  verb: 'create',
  level: 'RequestResponse',
  requestURI: '/api/v1/namespaces/kube-system/pods',
  user: { username: 'bob', groups: ['system:authenticated'] },
  sourceIPs: ['192.168.16.4'],
  userAgent: 'curl/8.1.2',
  objectRef: { resource: 'pods', namespace: 'kube-system', name: 'evil-pod', apiVersion: 'v1' },
  responseStatus: { metadata: {}, code: 403, status: 'Failure', reason: 'Forbidden' },
  requestObject: {
    kind: 'Pod',
    metadata: { name: 'evil-pod', namespace: 'kube-system' },
    spec: {
      containers: [
        {
          name: 'a',
          image: 'busybox',
          command: ['sh', '-c', 'echo d2hvYW1p | base64 -d | sh'],
          args: ['/c', '\u2013enc', 'xyz'],
        },
        { name: 'b', image: 'alpine', securityContext: { privileged: true }, env: [{ name: 'P', value: 'd2hvYW1p' }] },
      ],
    },
  },
});
const E3 = auditEvent({
  auditID: 'e3',
  verb: 'patch',
  requestURI: '/apis/apps/v1/namespaces/shop/deployments/checkout',
  user: { username: 'system:serviceaccount:ci:builder', groups: ['system:serviceaccounts'] },
  sourceIPs: ['2001:db8::5'],
  userAgent: 'Go-http-client/2.0',
  objectRef: { resource: 'deployments', namespace: 'shop', name: 'checkout', apiGroup: 'apps', apiVersion: 'v1' },
  requestObject: { metadata: { annotations: { note: 'weird*name', payload: 'cABpAG4AZwA=' } } },
});
const E4 = auditEvent({
  auditID: 'e4',
  verb: 'get',
  requestURI: '/api/v1/nodes',
  user: { username: 'system:anonymous', groups: ['system:unauthenticated'] },
  sourceIPs: ['198.51.100.9'],
  userAgent: undefined,
  objectRef: { resource: 'nodes', apiVersion: 'v1' },
  responseStatus: { metadata: {}, code: 401 },
});
const EVENTS: readonly AuditEvent[] = [E1, E2, E3, E4];

let store: Store;
before(async () => {
  store = await openDuckDbStore(':memory:');
  await store.appendEvents(EVENTS);
});
after(async () => {
  await store.close();
});

function rule(selection: string, condition = 'sel'): SigmaDetectionRule {
  const text = `title: t\nid: r\nlogsource:\n  product: kubernetes\n  service: audit\ndetection:\n${selection}\n  condition: ${condition}\n`;
  const parsed = parseSigmaText(text, 'inline.yml', createFieldMapping());
  assert.deepEqual(
    parsed.problems.filter((p) => p.severity !== 'warning'),
    [],
    selection,
  );
  return parsed.documents[0] as SigmaDetectionRule;
}

/** Streaming and SQL hits of a rule, which must be equal. */
async function hits(selection: string, condition = 'sel'): Promise<string[]> {
  const r = rule(selection, condition);
  const match = compileSigmaExpr(r.expr);
  const streaming = EVENTS.filter((e) => match(e)).map((e) => e.auditID);
  const sql = compileSigmaRuleSql(r);
  const rows = await store.query(sql.sql, sql.parameters);
  assert.deepEqual(
    rows.map((x) => String(x['audit_id'])).sort(),
    [...streaming].sort(),
    `SQL and streaming differ for\n${selection}`,
  );
  return streaming.sort();
}

const CASES: readonly [string, string, readonly string[]][] = [
  ['strings are case-insensitive', '  sel:\n    verb: GET', ['e1', 'e4']],
  ['cased: exact case', '  sel:\n    verb|cased: GET', []],
  ['cased: matching case', '  sel:\n    verb|cased: get', ['e1', 'e4']],
  ['contains', '  sel:\n    userAgent|contains: KUBECTL', ['e1']],
  ['startswith', "  sel:\n    userAgent|startswith: 'curl/'", ['e2']],
  ['endswith', "  sel:\n    userAgent|endswith: '/2.0'", ['e3']],
  ['wildcards * and ?', "  sel:\n    userAgent: 'kube*/v1.?9*'", ['e1']],
  ['wildcard inside', "  sel:\n    user.username: 'system:serviceaccount:*:builder'", ['e3']],
  ['escaped star is literal', "  sel:\n    requestObject.metadata.annotations.note: 'weird\\*name'", ['e3']],
  ['escaped star does not match other text', "  sel:\n    requestObject.metadata.annotations.note: 'weird\\*'", []],
  ['list is OR', '  sel:\n    verb:\n      - patch\n      - create', ['e2', 'e3']],
  ['map is AND', '  sel:\n    verb: get\n    objectRef.resource: secrets', ['e1']],
  ['list of maps is OR', '  sel:\n    - verb: patch\n    - objectRef.resource: nodes', ['e3', 'e4']],
  ['any element of an array field', '  sel:\n    user.groups: system:masters', ['e1']],
  [
    'all: every value, each by some element',
    '  sel:\n    user.groups|all:\n      - system:masters\n      - system:authenticated',
    ['e1'],
  ],
  ['cidr IPv4 /8 on any source IP', '  sel:\n    sourceIPs|cidr: 10.0.0.0/8', ['e1']],
  ['cidr IPv4 /20', '  sel:\n    sourceIPs|cidr: 192.168.16.0/20', ['e2']],
  ['cidr list is OR', "  sel:\n    sourceIPs|cidr:\n      - '10.0.0.0/8'\n      - '192.168.0.0/16'", ['e1', 'e2']],
  ['gte on an integer', '  sel:\n    responseStatus.code|gte: 400', ['e2', 'e4']],
  ['lt on an integer', '  sel:\n    responseStatus.code|lt: 300', ['e1', 'e3']],
  ['integer value', '  sel:\n    responseStatus.code: 403', ['e2']],
  ['quoted integer value', "  sel:\n    responseStatus.code: '403'", ['e2']],
  ['neq negates the item', '  sel:\n    responseStatus.code|neq: 200', ['e2', 'e4']],
  ['null matches a missing field', '  sel:\n    userAgent: null', ['e4']],
  ['null on a missing object key', '  sel:\n    objectRef.namespace: null', ['e4']],
  ['exists: false', '  sel:\n    userAgent|exists: false', ['e4']],
  ['exists: true', '  sel:\n    userAgent|exists: true', ['e1', 'e2', 'e3']],
  ['lone * means present (object value)', "  sel:\n    requestObject.spec: '*'", ['e2']],
  ['re searches, case-sensitive', "  sel:\n    requestURI|re: '^/api/v1/namespaces/[a-z-]+/secrets/'", ['e1']],
  ['re is case-sensitive by default', "  sel:\n    requestURI|re: 'SECRETS'", []],
  ['re|i ignores case', "  sel:\n    requestURI|re|i: 'SECRETS'", ['e1']],
  ['re|m multiline anchors', "  sel:\n    requestObject.spec.containers.command|re|m: '^echo'", ['e2']],
  [
    'boolean inside an array of objects',
    '  sel:\n    requestObject.spec.containers.securityContext.privileged: true',
    ['e2'],
  ],
  [
    'contains over an array of strings',
    "  sel:\n    requestObject.spec.containers.command|contains: 'base64 -d'",
    ['e2'],
  ],
  ['base64', '  sel:\n    requestObject.spec.containers.env.value|base64: whoami', ['e2']],
  ['base64offset|contains', '  sel:\n    requestObject.spec.containers.command|base64offset|contains: whoami', ['e2']],
  [
    'wide|base64offset|contains (UTF-16LE)',
    '  sel:\n    requestObject.metadata.annotations.payload|wide|base64offset|contains: ping',
    ['e3'],
  ],
  ['windash expands dashes', "  sel:\n    requestObject.spec.containers.args|windash: '-enc'", ['e2']],
  ['fieldref equality', '  sel:\n    objectRef.name|fieldref: requestObject.metadata.name', ['e2']],
  ['fieldref|contains', '  sel:\n    requestURI|fieldref|contains: objectRef.name', ['e1', 'e3']],
  ['alias username', '  sel:\n    username: bob', ['e2']],
  ['keywords search the raw event', "  keywords:\n    - 'db-password'", ['e1']],
  ['keywords |all', "  keywords:\n    '|all':\n      - alice\n      - secrets", ['e1']],
];

for (const [name, selection, expected] of CASES) {
  const condition = selection.startsWith('  keywords') ? 'keywords' : 'sel';
  test(`modifier: ${name}`, async () => {
    assert.deepEqual(await hits(selection, condition), [...expected].sort());
  });
}

test('cidr on IPv6 matches in streaming and is refused by the SQL compiler', () => {
  const r = rule('  sel:\n    sourceIPs|cidr: 2001:db8::/32');
  const match = compileSigmaExpr(r.expr);
  assert.deepEqual(
    EVENTS.filter((e) => match(e)).map((e) => e.auditID),
    ['e3'],
  );
  assert.throws(() => compileSigmaRuleSql(r), SigmaSqlError);
});

test('Sigma string escapes (pySigma rules)', () => {
  const lit = (s: string): string => JSON.stringify(parseSigmaString(s).parts);
  assert.equal(lit('C:\\Windows'), JSON.stringify([{ kind: 'literal', text: 'C:\\Windows' }]));
  assert.equal(lit('a\\*b'), JSON.stringify([{ kind: 'literal', text: 'a*b' }]));
  assert.equal(lit('a\\?'), JSON.stringify([{ kind: 'literal', text: 'a?' }]));
  assert.equal(lit('a\\\\*'), JSON.stringify([{ kind: 'literal', text: 'a\\' }, { kind: 'star' }]));
  assert.equal(lit('a\\\\\\*'), JSON.stringify([{ kind: 'literal', text: 'a\\*' }]));
  assert.equal(lit('**x?'), JSON.stringify([{ kind: 'star' }, { kind: 'literal', text: 'x' }, { kind: 'one' }]));
});

test('base64offset produces the three pySigma variants', () => {
  // pySigma's documented example: 'Invoke-' → SW52b2tlL, ludm9rZS, JbnZva2Ut
  assert.deepEqual(base64Offsets(Buffer.from('Invoke-')), ['SW52b2tlL', 'ludm9rZS', 'JbnZva2Ut']);
});

test('cidr parsing', () => {
  assert.equal(parseCidr('10.0.0.0/33'), null);
  assert.equal(parseCidr('10.0.0/8'), null);
  assert.equal(parseCidr('300.0.0.0/8'), null);
  const v6 = parseCidr('2001:db8::/32');
  assert.ok(v6 !== null && v6.kind === 'cidr' && v6.version === 6 && v6.prefix === 32);
});

test('modifier errors are explicit', () => {
  const m = createFieldMapping();
  const f = m.resolve('verb');
  const err = (mods: string[], value: unknown): string => {
    const r = buildFieldItem(f, mods, value, m);
    assert.equal(r.ok, false);
    return r.ok ? '' : r.message;
  };
  assert.match(err(['bogus'], 'x'), /unknown modifier 'bogus'/);
  assert.match(err(['expand'], '%Admins%'), /'expand' is not supported: placeholders/);
  assert.match(err(['hour', 'contains'], 3), /time modifier 'hour' takes at most one of lt, lte, gt, gte/);
  assert.match(err(['all'], 'x'), /'all' needs a list of at least two values/);
  assert.match(err(['exists'], 'yes'), /true or false/);
  assert.match(err(['exists', 'contains'], true), /cannot be combined/);
  assert.match(err(['gt'], 'abc'), /needs a number/);
  assert.match(err(['re'], '(a'), /invalid regular expression/);
  assert.match(err(['re'], '(?=a)b'), /lookaround/);
  assert.match(err(['i'], 'a'), /only valid after 're'/);
  assert.match(err(['cidr'], '10.0.0.0/40'), /invalid CIDR/);
  assert.match(err(['base64'], 'a*'), /cannot encode a value with wildcards/);
  assert.match(err([], ['a', null]), /null must be the only value/);
  assert.match(err(['fieldref', 're'], 'x'), /cannot be combined/);
});

test('a regex with nested quantifiers is refused: it could backtrack for ages on a hostile value', () => {
  const m = createFieldMapping();
  const r = buildFieldItem(m.resolve('requestURI'), ['re'], '(a+)+$', m);
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.message, /nested quantifiers/);
  const ok = buildFieldItem(m.resolve('requestURI'), ['re'], '^(ab)+c$', m);
  assert.equal(ok.ok, true);
});

test('time modifiers: parts of the date text, ISO week, with comparisons; streaming and SQL agree', async () => {
  const { timePartOf } = await import('./sigma-matcher-compiler.js');
  assert.equal(timePartOf('2024-03-05T22:41:07.123456Z', 'hour'), 22);
  assert.equal(timePartOf('2024-03-05T22:41:07.123456Z', 'minute'), 41);
  assert.equal(timePartOf('2024-03-05T22:41:07Z', 'day'), 5);
  assert.equal(timePartOf('2024-03-05T22:41:07Z', 'month'), 3);
  assert.equal(timePartOf('2024-03-05T22:41:07Z', 'year'), 2024);
  assert.equal(timePartOf('2024-12-30T00:00:00Z', 'week'), 1, 'ISO week 1 of 2025');
  assert.equal(timePartOf('2021-01-03T00:00:00Z', 'week'), 53, 'ISO week 53 of 2020');
  assert.equal(timePartOf('2024-03-05T00:00:00Z', 'week'), 10);
  assert.equal(timePartOf('2024-02-31T00:00:00Z', 'week'), null);
  assert.equal(timePartOf('yesterday', 'hour'), null);
  const m = createFieldMapping();
  assert.equal(buildFieldItem(m.resolve('stageTimestamp'), ['hour', 'gt', 'lt'], 3, m).ok, false);
  assert.match(
    (buildFieldItem(m.resolve('stageTimestamp'), ['hour'], 'x', m) as { message: string }).message,
    /needs a whole number/,
  );

  const { parseSigmaText } = await import('./sigma-rule-loader.js');
  const { buildSigmaRuleSet } = await import('./sigma-detectors.js');
  const { compileSigmaRuleSql } = await import('./sigma-sql-compiler.js');
  const { openDuckDbStore } = await import('../../store/duckdb/duckdb-store.js');
  const { auditEvent, runDetectors, hitsByRule } = await import('./sigma-test-helpers.js');
  const text =
    'title: night\nid: tp\nlogsource: {product: kubernetes, service: audit}\ndetection:\n  night:\n    stageTimestamp|hour|gte: 22\n  weekend:\n    requestReceivedTimestamp|week: 1\n  condition: night or weekend\n';
  const parsed = parseSigmaText(text, 'tp.yml', m);
  assert.deepEqual(parsed.problems, []);
  const set = buildSigmaRuleSet(parsed.documents, m);
  const events = [
    auditEvent({ auditID: 'late' }, '2024-03-05T22:10:00.000000Z'),
    auditEvent({ auditID: 'day' }, '2024-03-05T12:10:00.000000Z'),
    auditEvent({ auditID: 'week1' }, '2024-12-30T09:00:00.000000Z'),
  ];
  const streaming = hitsByRule(runDetectors(set.detectors, events)).get('tp');
  assert.deepEqual(streaming, ['late/ResponseComplete', 'week1/ResponseComplete']);
  const store = await openDuckDbStore(':memory:');
  try {
    await store.appendEvents(events);
    const c = compileSigmaRuleSql(set.rules[0]!);
    const rows = await store.query(c.sql, c.parameters);
    assert.deepEqual(rows.map((r) => `${String(r['audit_id'])}/${String(r['stage'])}`).sort(), streaming);
  } finally {
    await store.close();
  }
});
