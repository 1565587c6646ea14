import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent } from '../../model/audit-event.js';
import type { Detection } from '../detector.js';
import { lintFalcoRules, loadFalcoRulesFromText, type FalcoLoadOptions } from './falco-loader.js';
import { auditEvent } from './falco-test-support.js';

function load(files: Record<string, string>, options: FalcoLoadOptions = {}) {
  return loadFalcoRulesFromText(
    Object.entries(files).map(([name, text]) => ({ name, text })),
    options,
  );
}

function fire(files: Record<string, string>, e: AuditEvent, options: FalcoLoadOptions = {}): Detection[] {
  const r = load(files, options);
  assert.deepEqual(
    r.problems.filter((p) => p.severity !== 'warning'),
    [],
  );
  const out: Detection[] = [];
  r.pack!.evaluate(e, (d) => out.push(d));
  return out;
}

const rule = (name: string, condition: string, extra = '') =>
  `- rule: ${name}\n  desc: ${name} desc\n  condition: ${condition}\n  output: "${name} by %ka.user.name"\n  priority: WARNING\n  source: k8s_audit\n${extra}`;

const create = auditEvent();

test('first-match: a redefined rule keeps its original position', () => {
  const files = {
    'a.yaml': rule('A', 'ka.verb = delete') + rule('B', 'ka.verb = create'),
    'b.yaml': rule('A', 'ka.verb = create'),
  };
  assert.deepEqual(
    fire(files, create).map((d) => d.info.rule),
    ['A'],
  );
  assert.deepEqual(
    fire(files, create, { match: 'all' }).map((d) => d.info.rule),
    ['A', 'B'],
  );
});

test('lists are substituted as text; unknown names stay literal strings; append and replace', () => {
  const base =
    `- list: verbs\n  items: [get, "create"]\n` + rule('R', 'ka.verb in (verbs) and not ka.user.name in (not_a_list)');
  assert.equal(fire({ 'a.yaml': base }, create).length, 1);
  assert.equal(fire({ 'a.yaml': base }, auditEvent({ user: { username: 'not_a_list' } })).length, 0);
  const replaced = { 'a.yaml': base, 'b.yaml': `- list: verbs\n  items: [get]\n` };
  assert.equal(fire(replaced, create).length, 0);
  const appended = { ...replaced, 'c.yaml': `- list: verbs\n  items: [create]\n  override:\n    items: append\n` };
  assert.equal(fire(appended, create).length, 1);
  const empty = `- list: none\n  items: []\n` + rule('R', 'ka.verb in (none, create)');
  assert.equal(fire({ 'a.yaml': empty }, create).length, 1);
});

test('a list inside a list expands one level, only when defined earlier', () => {
  const earlier =
    `- list: inner\n  items: [create]\n- list: outer\n  items: [inner, get]\n` + rule('R', 'ka.verb in (outer)');
  assert.equal(fire({ 'a.yaml': earlier }, create).length, 1);
  // One level only: c copies b's raw items (`a`), and `a`'s own text pass has already run.
  const chain = `- list: a\n  items: [create]\n- list: b\n  items: [a]\n- list: c\n  items: [b]\n`;
  assert.equal(fire({ 'a.yaml': chain + rule('R', 'ka.verb in (b)') }, create).length, 1);
  assert.equal(fire({ 'a.yaml': chain + rule('R', 'ka.verb in (c)') }, create).length, 0);
  assert.equal(fire({ 'a.yaml': chain + rule('R', 'ka.verb in (c)') }, auditEvent({ verb: 'a' })).length, 1);
});

test('macros are trees with visibility: a macro sees only earlier macros, rules see all', () => {
  const ok =
    `- macro: m1\n  condition: ka.verb = create\n- macro: m2\n  condition: m1 and ka.target.resource = pods\n` +
    rule('R', 'm2 and not m3') +
    `- macro: m3\n  condition: ka.verb = get\n`;
  assert.equal(fire({ 'a.yaml': ok }, create).length, 1);
  const bad = `- macro: m2\n  condition: m1\n- macro: m1\n  condition: ka.verb = create\n`;
  const r = load({ 'bad.yaml': bad });
  assert.equal(r.pack, null);
  assert.deepEqual(
    r.problems.map((p) => [p.file, p.rule, p.line, p.column, p.message]),
    [['bad.yaml', 'm2', 2, 14, "Undefined macro 'm1' used in filter."]],
  );
  // A macro's `a or b` stays grouped when substituted (tree, not text).
  const grouped =
    `- macro: either\n  condition: ka.verb = get or ka.verb = create\n` +
    rule('R', 'either and ka.target.resource = secrets');
  assert.equal(fire({ 'a.yaml': grouped }, create).length, 0);
});

test('exceptions: tuple form, single-field form, appended values', () => {
  const ex = `  exceptions:\n    - name: known\n      fields: [ka.user.name, ka.target.namespace]\n      values:\n        - [alice, default]\n    - name: ns\n      fields: ka.target.namespace\n      values: [kube-system]\n`;
  const files = { 'a.yaml': rule('R', 'ka.verb = create', ex) };
  assert.equal(fire(files, create).length, 0); // alice in default is excepted
  assert.equal(fire(files, auditEvent({ user: { username: 'bob' } })).length, 1);
  assert.equal(
    fire(files, auditEvent({ user: { username: 'bob' }, objectRef: { resource: 'pods', namespace: 'kube-system' } }))
      .length,
    0,
  );
  const more = {
    ...files,
    'b.yaml': `- rule: R\n  exceptions:\n    - name: known\n      values:\n        - [bob, default]\n  override:\n    exceptions: append\n`,
  };
  assert.equal(fire(more, auditEvent({ user: { username: 'bob' } })).length, 0);
});

test('override: append condition, replace output / priority / enabled; unexpected keys are errors', () => {
  const base = { 'a.yaml': rule('R', 'ka.verb = create') };
  const appended = {
    ...base,
    'b.yaml': `- rule: R\n  condition: and ka.user.name = bob\n  override:\n    condition: append\n`,
  };
  assert.equal(fire(appended, create).length, 0);
  const replaced = {
    ...base,
    'b.yaml': `- rule: R\n  output: new %ka.verb\n  priority: CRITICAL\n  override:\n    output: replace\n    priority: replace\n`,
  };
  const [d] = fire(replaced, create);
  assert.equal(d!.output, 'new create');
  assert.equal(d!.priority, 'Critical');
  assert.deepEqual(d!.info.severity, { label: 'CRITICAL', score: 9 });
  const disabled = { ...base, 'b.yaml': `- rule: R\n  enabled: false\n  override:\n    enabled: replace\n` };
  assert.equal(fire(disabled, create).length, 0);
  assert.equal(load(disabled).stats.disabledRules, 1);
  const reenabled = { ...disabled, 'c.yaml': `- rule: R\n  enabled: true\n` };
  assert.equal(fire(reenabled, create).length, 1);
  const unexpected = load({
    ...base,
    'b.yaml': `- rule: R\n  desc: x\n  condition: a\n  override:\n    desc: replace\n`,
  });
  assert.equal(unexpected.pack, null);
  assert.match(unexpected.problems.find((p) => p.severity !== 'warning')!.message, /Unexpected key 'condition'/);
  const missing = load({ 'a.yaml': `- rule: Nope\n  condition: x\n  override:\n    condition: append\n` });
  assert.match(missing.problems[0]!.message, /no rule by that name/);
});

test('rules of other sources load for their lists/macros, never run, and may use unknown fields', () => {
  const files = {
    'sys.yaml': `- macro: spawned\n  condition: evt.type = execve and proc.name = sh\n- list: shells\n  items: [create]\n- rule: S\n  desc: s\n  condition: spawned\n  output: "%proc.name"\n  priority: WARNING\n`,
    'k8s.yaml': rule('K', 'ka.verb in (shells)'),
  };
  const r = load(files);
  assert.equal(r.stats.otherSourceRules, 1);
  assert.equal(r.stats.activeRules, 1);
  assert.deepEqual(
    fire(files, create).map((d) => d.info.rule),
    ['K'],
  );
});

test('required_engine_version and required_plugin_versions are checked and reported', () => {
  const r = load({
    'a.yaml': `- required_engine_version: 15\n- required_plugin_versions:\n  - name: k8saudit\n    version: 0.18.0\n  - name: cloudtrail\n    version: 0.1.0\n`,
  });
  assert.equal(r.stats.requiredEngineVersion, '0.15.0');
  assert.deepEqual(
    r.stats.requiredPluginVersions.map((p) => [p.name, p.satisfied]),
    [
      ['k8saudit', true],
      ['cloudtrail', false],
    ],
  );
  assert.match(
    r.problems.find((p) => p.severity === 'warning')!.message,
    /Plugin requirement not satisfied, must load one of: cloudtrail \(>= 0.1.0\)/,
  );
  assert.ok(r.pack !== null);
  const tooNew = load({ 'a.yaml': `- required_engine_version: 1.0.0\n` });
  assert.equal(tooNew.pack, null);
  assert.match(tooNew.problems[0]!.message, /Rules require engine version 1.0.0, but engine version is 0.63.0/);
});

test('skip-if-unknown-filter turns an unknown field into a warning and skips the rule', () => {
  const r = load({
    'a.yaml': rule('X', 'k8s.ns.name = x', '  skip-if-unknown-filter: true\n') + rule('Y', 'ka.verb = create'),
  });
  assert.ok(r.pack !== null);
  assert.equal(r.stats.skippedRules, 1);
  assert.equal(r.stats.activeRules, 1);
});

test('lint reports every error of every file in one run, with file, rule, line and column', () => {
  const problems = lintFalcoRules([
    { name: 'one.yaml', text: rule('Bad1', 'ka.verb = = x') + rule('Bad2', 'ka.nope = 1') },
    {
      name: 'two.yaml',
      text: `- macro: m\n  condition: (ka.verb = create\n- rule: Missing\n  desc: d\n  condition: ka.verb = x\n  priority: INFO\n`,
    },
  ]).filter((p) => p.severity !== 'warning');
  assert.deepEqual(
    problems.map((p) => [p.file, p.rule, p.line, p.column]),
    [
      ['one.yaml', 'Bad1', 3, 24],
      ['one.yaml', 'Bad2', 9, 14],
      ['two.yaml', 'm', 2, 14],
      ['two.yaml', 'Missing', 3, 3],
    ],
  );
  assert.match(problems[3]!.message, /no mapping for key 'output'/);
  assert.match(problems[1]!.message, /nonexistent field ka.nope/);
});

test("an invalid priority does not hide the same rule's condition and output errors", () => {
  const text = `- rule: Bad\n  desc: d\n  condition: ka.verb === x\n  output: "%ka.bogus"\n  priority: SUPERBAD\n  source: k8s_audit\n`;
  const problems = lintFalcoRules([{ name: 'p.yaml', text }]);
  assert.deepEqual(
    problems.map((p) => [p.rule, p.line, p.column, p.message.replace(/: filter_check.*/, '')]),
    [
      ['Bad', 3, 24, "expected a value after '=', found '='"],
      ['Bad', 4, 12, "invalid formatting token '%ka.bogus'"],
      ['Bad', 5, 13, "Invalid priority 'SUPERBAD'"],
    ],
  );
});

test('detections: type, engine, severity, priority, tags, mitre, output line', () => {
  const files = {
    'a.yaml': rule('T', 'ka.verb = create', '  tags: [k8s, mitre_privilege_escalation, T1610]\n').replace(
      'WARNING',
      'NOTICE',
    ),
  };
  const [d] = fire(files, create);
  assert.equal(d!.info.type, 'Falco:T');
  assert.equal(d!.info.engine, 'falco');
  assert.equal(d!.info.description, 'T desc');
  assert.deepEqual(d!.info.tags, ['k8s', 'mitre_privilege_escalation', 'T1610']);
  assert.deepEqual(d!.info.mitre, { tactic: 'Privilege Escalation', technique: 'T1610' });
  assert.deepEqual(d!.info.severity, { label: 'LOW', score: 2 });
  assert.equal(d!.priority, 'Notice');
  assert.equal(d!.output, 'T by alice');
});

test('indexing: per-rule verbs/resources from and/or/in/macros; the pack index is the union', () => {
  const files = {
    'a.yaml':
      `- macro: kmodify\n  condition: (ka.verb in (create,update,patch))\n` +
      rule('Pods', 'kmodify and ka.target.resource = pods') +
      rule(
        'Either',
        '(ka.verb = delete and ka.target.resource = secrets) or (ka.verb = get and ka.target.resource in (configmaps))',
      ) +
      rule('Negated', 'not ka.verb = get and ka.target.resource = pods'),
  };
  const r = load(files);
  const ix = Object.fromEntries(r.pack!.detectors.map((d) => [d.info.rule, d.index]));
  assert.deepEqual(ix['Pods'], { verbs: ['create', 'patch', 'update'], resources: ['pods'] });
  assert.deepEqual(ix['Either'], { verbs: ['delete', 'get'], resources: ['configmaps', 'secrets'] });
  assert.deepEqual(ix['Negated'], { resources: ['pods'] });
  assert.deepEqual(r.pack!.index, { resources: ['configmaps', 'pods', 'secrets'] });
  assert.deepEqual(
    r.pack!.candidates('delete', 'pods').map((d) => d.info.rule),
    ['Negated'],
  );
  assert.deepEqual(
    r.pack!.candidates('create', 'pods').map((d) => d.info.rule),
    ['Pods', 'Negated'],
  );
  assert.deepEqual(
    r.pack!.candidates('create', null).map((d) => d.info.rule),
    [],
  );
  assert.equal(r.stats.unindexed, 0);
});

test('redefining a k8s_audit rule without its source is an error (the default source is syscall)', () => {
  const r = load({
    'a.yaml': rule('R', 'ka.verb = create'),
    'b.yaml': `- rule: R\n  desc: d\n  condition: ka.verb = get\n  output: o\n  priority: INFO\n`,
  });
  assert.equal(r.pack, null);
  assert.match(r.problems[0]!.message, /redefined with a different source \('syscall' instead of 'k8s_audit'\)/);
});

test('fuzz: random rule files never crash the loader; the pack never throws on events', () => {
  let a = 0x1234;
  const rand = () => (a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 4294967296;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const conds = [
    'ka.verb = create',
    'ka.user.groups intersects (x)',
    'jevt.value[/user] exists',
    'not m',
    'ka.uri glob "*[a-"',
    'ka.uri regex "a|"',
    '(',
    'm or',
    'ka.uri.param[a] = b',
    'ka.req.pod.containers.image.repository in (l)',
    'evt.rawtime > 5',
    'ka.target.resource in (pods, secrets)',
  ];
  const events = [
    create,
    auditEvent({ verb: 'get', objectRef: { resource: 'secrets' } }),
    auditEvent({ requestURI: '/x?%zz' }),
  ];
  for (let i = 0; i < 300; i++) {
    const text =
      `- list: l\n  items: [${pick(['a', '"b c"', ''])}]\n- macro: m\n  condition: ${pick(conds)}\n` +
      rule(
        'R',
        `${pick(conds)} ${pick(['and', 'or'])} ${pick(conds)}`,
        pick([
          '',
          '  enabled: false\n',
          '  tags: [T1609]\n',
          '  exceptions:\n    - name: e\n      fields: [ka.verb]\n      values: [[get]]\n',
        ]),
      );
    const r = load({ 'f.yaml': text }, { match: pick(['first', 'all'] as const) });
    for (const p of r.problems) assert.ok(p.line >= 0 && p.column >= 0 && p.message.length > 0);
    if (r.pack !== null) for (const e of events) r.pack.evaluate(e, () => {});
  }
});

test('the pack plugs into the DetectionEngine and is only dispatched events its index accepts', async () => {
  const { DetectionEngine } = await import('../engine.js');
  const r = load({ 'a.yaml': rule('Secrets', 'ka.verb = get and ka.target.resource = secrets') });
  const engine = new DetectionEngine();
  engine.addPack(r.pack!);
  const out: Detection[] = [];
  engine.dispatch(create, (d) => out.push(d));
  engine.dispatch(auditEvent({ verb: 'get', objectRef: { resource: 'secrets', name: 's' } }), (d) => out.push(d));
  assert.deepEqual(
    out.map((d) => d.info.type),
    ['Falco:Secrets'],
  );
  assert.equal(engine.stats().evaluations, 1);
});

test('a compile error inside a macro points into the macro, reported for the rule using it', () => {
  const r = load({
    'm.yaml': `- macro: bad\n  condition: ka.verb = x or ka.user.groups = devs\n`,
    'r.yaml': rule('R', 'ka.verb = create and bad'),
  });
  const errors = r.problems.filter((p) => p.severity !== 'warning');
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.rule, 'R');
  assert.deepEqual([errors[0]!.line, errors[0]!.column], [2, 29]);
  assert.match(errors[0]!.message, /'=' operator not supported for list filters .*\(in macro 'bad' of m\.yaml\)/);
});
