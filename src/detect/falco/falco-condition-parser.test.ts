import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConditionNode, FieldExprNode } from './falco-condition-ast.js';

function showExpr(e: FieldExprNode): string {
  return e.kind === 'field' ? (e.arg === null ? e.name : `${e.name}[${e.arg}]`) : `${e.name}(${showExpr(e.operand)})`;
}
import { parseCondition } from './falco-condition-parser.js';
import { mulberry32 } from '../../util/prng.js';

/** Compact rendering of a tree for explicit expectations. */
function show(n: ConditionNode | null): string {
  if (n === null) return 'null';
  switch (n.kind) {
    case 'and':
      return `and(${n.children.map(show).join(', ')})`;
    case 'or':
      return `or(${n.children.map(show).join(', ')})`;
    case 'not':
      return `not(${show(n.child)})`;
    case 'macro':
      return `@${n.name}`;
    case 'check': {
      const f = showExpr(n.field);
      const v =
        n.value === null
          ? ''
          : n.value.kind === 'string'
            ? ` ${JSON.stringify(n.value.value)}`
            : n.value.kind === 'list'
              ? ` [${n.value.values.map((x) => JSON.stringify(x.value)).join(',')}]`
              : n.value.kind === 'listref'
                ? ` $${n.value.name}`
                : ` val(${showExpr(n.value.expr)})`;
      return `${f} ${n.op}${n.modifier ? ' ' + n.modifier : ''}${v}`;
    }
  }
}

function ok(text: string): string {
  const r = parseCondition(text);
  assert.deepEqual(r.errors, [], text);
  return show(r.value);
}

function err(text: string): { offset: number; message: string } {
  const r = parseCondition(text);
  assert.equal(r.value, null, text);
  assert.equal(r.errors.length, 1);
  return { offset: r.errors[0]!.offset, message: r.errors[0]!.message };
}

test('every operator parses', () => {
  assert.equal(ok('ka.verb=create'), 'ka.verb = "create"');
  assert.equal(ok('ka.verb == create'), 'ka.verb = "create"');
  assert.equal(ok('ka.verb!=create'), 'ka.verb != "create"');
  assert.equal(ok('ka.response.code < 300'), 'ka.response.code < "300"');
  assert.equal(ok('ka.response.code <= 0x1F'), 'ka.response.code <= "0x1F"');
  assert.equal(ok('ka.response.code > -1.5e+3'), 'ka.response.code > "-1.5e+3"');
  assert.equal(ok('ka.response.code >= 200'), 'ka.response.code >= "200"');
  for (const op of [
    'contains',
    'icontains',
    'bcontains',
    'startswith',
    'bstartswith',
    'endswith',
    'glob',
    'iglob',
    'regex',
  ]) {
    assert.equal(ok(`ka.uri ${op} "/x y"`), `ka.uri ${op} "/x y"`);
  }
  assert.equal(ok('ka.verb in (create, update,patch)'), 'ka.verb in ["create","update","patch"]');
  assert.equal(ok('ka.verb in(create)'), 'ka.verb in ["create"]');
  assert.equal(ok('ka.verb in ()'), 'ka.verb in []');
  assert.equal(ok('ka.user.groups intersects ("a b", c)'), 'ka.user.groups intersects ["a b","c"]');
  assert.equal(ok('ka.uri pmatch (/tmp, /etc)'), 'ka.uri pmatch ["/tmp","/etc"]');
  assert.equal(ok('ka.target.subresource exists'), 'ka.target.subresource exists');
  assert.equal(ok('ka.uri startswith anyof (/a, /b)'), 'ka.uri startswith anyof ["/a","/b"]');
  assert.equal(ok('ka.verb in mylist'), 'ka.verb in $mylist');
});

test('transformers on the left, val() and transformers on the right', () => {
  assert.equal(ok('tolower(ka.user.name) = alice'), 'tolower(ka.user.name) = "alice"');
  assert.equal(ok('len(toupper( ka.uri.param[x] )) > 3'), 'len(toupper(ka.uri.param[x])) > "3"');
  assert.equal(ok('ka.user.name = val(ka.target.name)'), 'ka.user.name = val(ka.target.name)');
  assert.equal(ok('ka.user.name != basename(ka.uri)'), 'ka.user.name != val(basename(ka.uri))');
  assert.equal(ok('ka.response.code < val(ka.stage)'), 'ka.response.code < val(ka.stage)');
});

test('precedence: not > and > or; each not toggles', () => {
  assert.equal(ok('a or b and c'), 'or(@a, and(@b, @c))');
  assert.equal(ok('not a and b'), 'and(not(@a), @b)');
  assert.equal(ok('not not a'), '@a');
  assert.equal(ok('not(a)'), 'not(@a)');
  assert.equal(ok('(a or b) and c'), 'and(or(@a, @b), @c)');
  assert.equal(ok('a and(b)or(c)'), 'or(and(@a, @b), @c)');
  assert.equal(ok('nothing and notice'), 'and(@nothing, @notice)');
});

test('field arguments, quoted strings and escapes', () => {
  assert.equal(ok('jevt.value[/requestObject/spec/volumes] exists'), 'jevt.value[/requestObject/spec/volumes] exists');
  assert.equal(ok("ka.uri.param['command'] = sh"), 'ka.uri.param[command] = "sh"');
  assert.equal(ok('ka.uri = "a\\"b\\n\\x41\\/"'), 'ka.uri = "a\\"b\\nA/"');
  assert.equal(ok("ka.uri = 'it\\'s'"), 'ka.uri = "it\'s"');
  assert.equal(ok('ka.uri=/healthz?x'), 'ka.uri = "/healthz?x"');
  // A bare string stops at '=', so the rest is trailing garbage, as in libsinsp.
  assert.deepEqual(err('ka.uri=/healthz?x=1'), {
    offset: 17,
    message: "unexpected token after '/healthz?x', expecting 'or', 'and'",
  });
});

test('errors carry the offset of the offending token', () => {
  assert.deepEqual(err('ka.verb = create and'), {
    offset: 20,
    message: "unexpected end of input, expecting a field, a macro name or '('",
  });
  assert.deepEqual(err('ka.verb = create extra'), {
    offset: 17,
    message: "unexpected token after 'create', expecting 'or', 'and'",
  });
  assert.deepEqual(err('(ka.verb = create'), { offset: 0, message: "unbalanced parentheses: '(' is never closed" });
  assert.deepEqual(err('ka.verb in (a, b'), { offset: 11, message: "unterminated list: '(' is never closed" });
  assert.deepEqual(err('ka.verb'), { offset: 7, message: "expected an operator after field 'ka.verb'" });
  assert.deepEqual(err('ka.verb ~ x'), { offset: 8, message: "expected an operator after field 'ka.verb', found '~'" });
  assert.deepEqual(err('ka.uri = "abc'), { offset: 9, message: 'unterminated quoted string' });
  assert.deepEqual(err('ka.uri = "a\\qb"'), { offset: 11, message: "invalid escape sequence '\\q' in quoted string" });
  assert.deepEqual(err('ka.response.code < abc'), { offset: 19, message: "expected a number value after '<'" });
  assert.deepEqual(err('join(ka.verb) = x'), { offset: 0, message: "field transformer 'join(…)' is not supported" });
  assert.deepEqual(err('val(ka.verb) = x'), {
    offset: 0,
    message: 'val() can only be used on the right-hand side of a comparison',
  });
  assert.deepEqual(err('tolower(ka.verb = x'), { offset: 16, message: "expected ')' to close 'tolower('" });
  assert.deepEqual(err(''), { offset: 0, message: 'empty condition' });
  assert.deepEqual(err('ka.verb in (a,,b)'), { offset: 14, message: "expected a list value after ','" });
  // A word operator at the end of input is still the operator: the value is what is missing.
  assert.deepEqual(err('ka.verb startswith'), {
    offset: 18,
    message: "expected a value after 'startswith', found end of input",
  });
  assert.deepEqual(err('ka.verb = x and ka.uri contains'), {
    offset: 31,
    message: "expected a value after 'contains', found end of input",
  });
});

test('nesting deeper than the limit is an error, not a stack overflow', () => {
  const deep = '('.repeat(5000) + 'a' + ')'.repeat(5000);
  assert.match(err(deep).message, /exceeded max depth limit of 1000/);
  assert.equal(parseCondition('('.repeat(20) + 'a' + ')'.repeat(20), { maxDepth: 100 }).errors.length, 0);
});

// Deterministic PRNG (mulberry32) so a failure reproduces.
const rng = mulberry32;

test('fuzz: random and mutated conditions give a tree or located errors, never a crash or hang', () => {
  const rand = rng(0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const atoms = [
    'ka.verb',
    'ka.uri',
    'jevt.value[/stage]',
    'ka.uri.param[command]',
    'kevt',
    'not',
    'and',
    'or',
    '(',
    ')',
    '=',
    '!=',
    '<',
    'in',
    'intersects',
    'pmatch',
    'exists',
    'contains',
    'glob',
    '"q"',
    "'s'",
    '"\\x4',
    'create',
    ',',
    '(a, b)',
    '[',
    ']',
    '\\',
    '0x',
    '1e+',
    ' ',
    '\n',
    '\t',
    'oneof',
    'val(',
    'é',
    '\u0000',
  ];
  const seeds = [
    'kevt and pod and kcreate and not ka.req.pod.containers.image.repository in (nginx, "a b")',
    'ka.uri=/healthz or ka.uri startswith /healthz?',
    '(jevt.value[/stage] in ("ResponseComplete" )) and not (ka.user.name startswith "system:")',
  ];
  let parsed = 0;
  let failed = 0;
  const started = Date.now();
  for (let i = 0; i < 4000; i++) {
    let text: string;
    if (i % 2 === 0) {
      const n = 1 + Math.floor(rand() * 12);
      text = Array.from({ length: n }, () => pick(atoms)).join(rand() < 0.7 ? ' ' : '');
    } else {
      const chars = [...pick(seeds)];
      const edits = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(rand() * (chars.length + 1));
        const r = rand();
        if (r < 0.33) chars.splice(at, 1);
        else if (r < 0.66) chars.splice(at, 0, pick(['(', ')', '"', "'", ',', ' ', '[', ']', '=', 'x', '\\']));
        else chars.splice(at, 0, ...pick(atoms));
      }
      text = chars.join('');
    }
    const r = parseCondition(text);
    if (r.value !== null) {
      assert.equal(r.errors.length, 0);
      parsed++;
    } else {
      assert.ok(r.errors.length > 0, `no error for ${JSON.stringify(text)}`);
      for (const e of r.errors)
        assert.ok(e.offset >= 0 && e.offset <= text.length && e.length > 0 && e.message.length > 0, JSON.stringify(e));
      failed++;
    }
  }
  assert.ok(parsed > 100 && failed > 100, `parsed ${parsed}, failed ${failed}`);
  assert.ok(Date.now() - started < 10_000, 'fuzzing must finish quickly');
});
