import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInsightsQuery, regexGroups } from './insights-parser.js';
import { lexInsights } from './insights-lexer.js';
import type { CommandNode, ExprNode, QueryNode } from './insights-ast.js';

function ok(text: string): QueryNode {
  const r = parseInsightsQuery(text);
  assert.deepEqual(r.errors, [], `unexpected errors for ${text}`);
  assert.ok(r.value !== null);
  return r.value;
}

function only<K extends CommandNode['kind']>(q: QueryNode, k: number, kind: K): Extract<CommandNode, { kind: K }> {
  const c = q.commands[k];
  assert.equal(c?.kind, kind);
  return c as Extract<CommandNode, { kind: K }>;
}

/** Compact s-expression of an expression tree, to assert shape and precedence. */
function sx(e: ExprNode): string {
  switch (e.kind) {
    case 'string':
      return JSON.stringify(e.value);
    case 'number':
      return String(e.value);
    case 'regex':
      return `/${e.pattern}/${e.flags}`;
    case 'period':
      return `${e.amount}${e.unit}`;
    case 'field':
      return e.segments.map((s, i) => (e.quoted[i] ? `\`${s}\`` : s)).join('.');
    case 'call':
      return `${e.name}(${e.star ? '*' : e.args.map(sx).join(', ')})`;
    case 'binary':
      return `(${e.op} ${sx(e.left)} ${sx(e.right)})`;
    case 'unary':
      return `(${e.op} ${sx(e.operand)})`;
    case 'match':
      return `(${e.negated ? 'not-' : ''}match ${sx(e.operand)} ${sx(e.pattern)})`;
    case 'in':
      return `(${e.negated ? 'not-' : ''}in ${sx(e.operand)} [${e.items.map(sx).join(', ')}])`;
  }
}

function filterExpr(text: string): string {
  return sx(only(ok(`filter ${text}`), 0, 'filter').expr);
}

test('commands split on | tokens only: pipes inside regexes, strings and comments are data', () => {
  const q = ok(
    'filter @message like /defraging|defraged/ | filter x = "a|b"\n# | filter y = 1\n| sort @timestamp desc',
  );
  assert.deepEqual(
    q.commands.map((c) => c.kind),
    ['filter', 'filter', 'sort'],
  );
  assert.equal(filterExpr('@message like /defraging|defraged/'), '(match @message /defraging|defraged/)');
});

test('comments: full-line, indented and trailing; # inside strings and regexes is not a comment', () => {
  const q = ok('# header\nfields a  # trailing comment\n    # | filter b = 1\n| filter c = "#1" and d like /#/');
  assert.equal(q.commands.length, 2);
  assert.equal(sx(only(q, 1, 'filter').expr), '(and (= c "#1") (match d /#/))');
});

test('commands and keywords are case-insensitive; field names keep their case', () => {
  const q = ok(
    'FIELDS Verb | FILTER Verb IN ["get"] AND x NOT LIKE "y" | STATS COUNT(*) AS n BY BIN(5m) | SORT n DESC | LIMIT 5',
  );
  assert.deepEqual(
    q.commands.map((c) => c.kind),
    ['fields', 'filter', 'stats', 'sort', 'limit'],
  );
  assert.equal(sx(only(q, 1, 'filter').expr), '(and (in Verb ["get"]) (not-match x "y"))');
  const stats = only(q, 2, 'stats');
  assert.equal(sx(stats.items[0]!.expr), 'count(*)');
  assert.equal(stats.items[0]!.outputName, 'n');
  assert.equal(sx(stats.by[0]!.expr), 'bin(5m)');
  assert.equal(stats.by[0]!.outputName, 'BIN(5m)');
  assert.deepEqual(
    only(q, 3, 'sort').keys.map((k) => k.descending),
    [true],
  );
  assert.equal(only(q, 4, 'limit').count, 5);
});

test('field names: dotted paths, array indexes, @-fields, backticks', () => {
  const q = ok(
    'fields sourceIPs.0, @timestamp, `annotations.k8s.io/deprecated`, annotations.`authorization.k8s.io/decision`, @`aws.tag.a:b`, user.groups.1',
  );
  const names = only(q, 0, 'fields').items.map((i) => i.outputName);
  assert.deepEqual(names, [
    'sourceIPs.0',
    '@timestamp',
    'annotations.k8s.io/deprecated',
    'annotations.authorization.k8s.io/decision',
    '@aws.tag.a:b',
    'user.groups.1',
  ]);
  const f = only(q, 0, 'fields').items[3]!.expr;
  assert.equal(f.kind, 'field');
  if (f.kind === 'field') {
    assert.deepEqual(f.segments, ['annotations', 'authorization.k8s.io/decision']);
    assert.deepEqual(f.quoted, [false, true]);
  }
});

test('unaliased items are named by their source text (count(*), bin(5m)); aliases win', () => {
  const q = ok('stats count(*), avg(x) as mean by bin(5m), user.username');
  const s = only(q, 0, 'stats');
  assert.deepEqual(
    s.items.map((i) => i.outputName),
    ['count(*)', 'mean'],
  );
  assert.deepEqual(
    s.by.map((i) => i.outputName),
    ['bin(5m)', 'user.username'],
  );
});

test('operator precedence: arithmetic over comparison over not over and over or; ^ binds tightest', () => {
  assert.equal(filterExpr('a = 1 or b = 2 and not c = 3'), '(or (= a 1) (and (= b 2) (not (= c 3))))');
  assert.equal(filterExpr('a + b * c ^ 2 >= 10 % 3'), '(>= (+ a (* b (^ c 2))) (% 10 3))');
  assert.equal(filterExpr('-a - -1 < 0'), '(< (- (- a) (- 1)) 0)');
  assert.equal(filterExpr('(a = 1 or b = 2) and c'), '(and (or (= a 1) (= b 2)) c)');
  assert.equal(filterExpr('not ispresent(x)'), '(not ispresent(x))');
  assert.equal(filterExpr('a == "x" and b != "y"'), '(and (= a "x") (!= b "y"))');
});

test('/ is division after an operand and a regex after like, =~, ~= and in parse', () => {
  assert.equal(sx(only(ok('fields sum(a)/1024/1024 as mb'), 0, 'fields').items[0]!.expr), '(/ (/ sum(a) 1024) 1024)');
  assert.equal(filterExpr('f1 =~ /^(?i)Exception$/'), '(match f1 /^(?i)Exception$/)');
  assert.equal(filterExpr('f ~= "kube-apiserver-audit"'), '(match f "kube-apiserver-audit")');
  assert.equal(filterExpr('requestURI like /\\/api\\/v1\\/[a-z/]+/'), '(match requestURI //api/v1/[a-z/]+/)');
  assert.equal(filterExpr('x like /abc/i and y = 1'), '(and (match x /abc/i) (= y 1))');
  const p = only(ok('parse @message /user=(?<user>\\S+)/'), 0, 'parse');
  assert.deepEqual(p.names, ['user']);
});

test('strings: both quotes, backslash escapes only the quote and the backslash', () => {
  assert.equal(
    filterExpr(`a = 'x"y' and b = "x\\"y" and c = "a\\\\b" and d = "a\\nb"`),
    `(and (and (and (= a "x\\"y") (= b "x\\"y")) (= c "a\\\\b")) (= d "a\\\\nb"))`,
  );
});

test('in lists mix strings and numbers, negative numbers allowed', () => {
  assert.equal(filterExpr('Type not in ["foo","bar",1, -2.5]'), '(not-in Type ["foo", "bar", 1, -2.5])');
  assert.equal(filterExpr('x in []'), '(in x [])');
});

test('parse: glob with * and as-names (EKS-041), regex named groups, default source', () => {
  const q = ok(
    'parse @message "subject: *, seconds after warning threshold:*\\"" as subject, elapsedtime | parse /(?<a>\\d+)-(\\d+)-(?P<b>\\w+)/',
  );
  const glob = only(q, 0, 'parse');
  assert.equal(glob.pattern.kind, 'string');
  assert.equal(
    glob.pattern.kind === 'string' ? glob.pattern.value : '',
    'subject: *, seconds after warning threshold:*"',
  );
  assert.deepEqual(glob.names, ['subject', 'elapsedtime']);
  const re = only(q, 1, 'parse');
  assert.equal(re.source.name, '@message');
  assert.deepEqual(re.names, ['a', 'b']);
});

test('regexGroups counts capturing groups, skipping escapes, classes and non-capturing groups', () => {
  assert.deepEqual(regexGroups('(?i)(a)(?:b)\\((?<n>c)[(](?P<m>d)(?=e)'), [
    { index: 1, name: null },
    { index: 2, name: 'n' },
    { index: 3, name: 'm' },
  ]);
});

test('limit, head, limit any; dedup; unmask; display with expressions and aliases', () => {
  const q = ok(
    'limit any 20 | head 3 | dedup server, user.username | unmask @message | display loggingMessage, loggingType = "ERROR" as isError',
  );
  assert.equal(only(q, 0, 'limit').count, 20);
  assert.equal(only(q, 1, 'limit').count, 3);
  assert.deepEqual(
    only(q, 2, 'dedup').fields.map((f) => f.name),
    ['server', 'user.username'],
  );
  assert.equal(q.commands[3]?.kind, 'unmask');
  assert.deepEqual(
    only(q, 4, 'display').items.map((i) => i.outputName),
    ['loggingMessage', 'isError'],
  );
});

test('time periods: units, long forms and plurals', () => {
  const periods = ['5m', '30s', '100ms', '1h', '2hrs', '1d', '1w', '3mo', '1q', '1y', '10mins'].map((p) => {
    const s = only(ok(`stats count(*) by bin(${p})`), 0, 'stats');
    return sx(s.by[0]!.expr);
  });
  assert.deepEqual(periods, [
    'bin(5m)',
    'bin(30s)',
    'bin(100ms)',
    'bin(1h)',
    'bin(2h)',
    'bin(1d)',
    'bin(1w)',
    'bin(3mo)',
    'bin(1q)',
    'bin(1y)',
    'bin(10m)',
  ]);
});

test('errors are data: located (line, column, length) with a message and a hint', () => {
  const r = parseInsightsQuery('fields a\n| filter b = \n| sort c');
  assert.equal(r.value, null);
  assert.equal(r.errors.length, 1);
  const e = r.errors[0]!;
  assert.equal(e.line, 3);
  assert.equal(e.column, 1);
  assert.match(e.message, /expected a value but found '\|'/);
});

test('every broken command is reported in one run', () => {
  const r = parseInsightsQuery('filter a = | frobnicate x | filter "unterminated');
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.column, e.message]),
    [
      [1, 12, "expected a value but found '|'"],
      [1, 14, "unknown command 'frobnicate'"],
      [1, 36, 'unterminated string'],
    ],
  );
  assert.ok(r.errors.every((e) => e.length >= 1));
});

test('EKS-013/EKS-019: a bare count(...) is not a command; the hint says to use stats', () => {
  const r = parseInsightsQuery('fields @timestamp\n| count() by bin(1m)');
  assert.equal(r.errors.length, 1);
  assert.deepEqual([r.errors[0]!.line, r.errors[0]!.column, r.errors[0]!.length], [2, 3, 5]);
  assert.equal(r.errors[0]!.message, "'count' is not a command");
  assert.match(r.errors[0]!.hint ?? '', /stats count\(\*\) by bin\(1m\)/);
});

test('pattern and other service-only commands fail with a clear "not supported" message', () => {
  for (const [q, re] of [
    ['fields @message | pattern @message', /the pattern command is not supported: pattern clusters/],
    ['SOURCE logGroups() | fields a', /the SOURCE command is not supported/],
    ['filter a in (fields b)', /subqueries .* not supported/],
    ['parse @message "a=*" as a multi', /multi is not supported/],
    ['tail 5', /tail is deprecated/],
  ] as const) {
    const r = parseInsightsQuery(q);
    assert.equal(r.value, null, q);
    assert.match(r.errors[0]!.message, re, q);
  }
});

test('parse checks: one name per glob *, regex needs named groups', () => {
  assert.match(parseInsightsQuery('parse @message "a=* b=*" as a').errors[0]!.message, /2 wildcard\(s\) but 1 name/);
  assert.match(parseInsightsQuery('parse @message /a=\\d+/').errors[0]!.message, /no named group/);
  assert.match(parseInsightsQuery('parse @message "no wildcard" as a').errors[0]!.message, /no \* wildcard/);
});

test('limit is 1..10000; keywords need backticks to be fields; unknown characters are located', () => {
  assert.match(parseInsightsQuery('limit 10001').errors[0]!.message, /1 to 10000/);
  assert.match(parseInsightsQuery('limit 0').errors[0]!.message, /1 to 10000/);
  assert.match(parseInsightsQuery('filter by = 1').errors[0]!.message, /keyword 'by'/);
  ok('filter `by` = 1');
  const r = parseInsightsQuery('filter a = 1 ; drop');
  assert.deepEqual([r.errors[0]!.column, r.errors[0]!.message], [14, "unexpected character ';'"]);
  assert.match(parseInsightsQuery('filter 5xx = 1').errors[0]!.message, /neither a number nor a time period/);
});

test('empty query and trailing pipe are errors', () => {
  assert.match(parseInsightsQuery('  # only a comment\n').errors[0]!.message, /empty/);
  assert.match(parseInsightsQuery('fields a |').errors[0]!.message, /expected a command after \|/);
});

test('lexer: regex classes may contain /, and an unterminated regex is reported', () => {
  const t = lexInsights('filter a like /[/]x/ | filter b like /oops');
  assert.equal(t.tokens.filter((k) => k.kind === 'regex')[0]?.text, '[/]x');
  assert.match(t.errors[0]?.message ?? '', /unterminated regular expression/);
});

test('AST nodes are frozen', () => {
  const q = ok('filter a = 1');
  assert.ok(Object.isFrozen(q));
  assert.ok(Object.isFrozen(q.commands[0]));
  assert.ok(Object.isFrozen(only(q, 0, 'filter').expr));
});
