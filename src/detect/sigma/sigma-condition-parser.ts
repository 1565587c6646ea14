/**
 * Sigma condition parser: `selection and not 1 of filter_*`. Precedence, loosest first:
 * or < and < not < `x of` < parentheses (rules spec "Condition"; pySigma infix_notation).
 * Keywords are lower-case as in pySigma. Returns `{ value, errors }`; error offsets are
 * 0-based into the condition text so the loader can turn them into file positions.
 */
import type { ConditionNode } from './sigma-ast.js';

export interface ConditionError {
  readonly offset: number;
  readonly length: number;
  readonly message: string;
}

export interface ConditionParseResult {
  readonly value: ConditionNode | null;
  readonly errors: readonly ConditionError[];
}

type TokenKind = 'lparen' | 'rparen' | 'and' | 'or' | 'not' | 'of' | 'one' | 'all' | 'them' | 'word' | 'end';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly offset: number;
}

const KEYWORDS = {
  and: 'and',
  or: 'or',
  not: 'not',
  of: 'of',
  all: 'all',
  them: 'them',
  any: 'one',
  '1': 'one',
} as const satisfies Record<string, TokenKind>;

// pySigma identifiers: alphanumerics, `_` and `-`; `*` only in selector patterns.
const WORD = /[A-Za-z0-9_\-*.]/;

function lex(text: string, errors: ConditionError[]): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c === '(' ? 'lparen' : 'rparen', text: c, offset: i });
      i++;
    } else if (WORD.test(c)) {
      const start = i;
      while (i < text.length && WORD.test(text[i]!)) i++;
      const w = text.slice(start, i);
      const kw = Object.hasOwn(KEYWORDS, w) ? KEYWORDS[w as keyof typeof KEYWORDS] : undefined;
      tokens.push({ kind: kw ?? 'word', text: w, offset: start });
    } else if (c === '|') {
      errors.push({
        offset: i,
        length: text.length - i,
        message: "aggregation expressions ('| count() by …') are Sigma 1.0 syntax; write a correlation rule instead",
      });
      break;
    } else {
      errors.push({ offset: i, length: 1, message: `unexpected character '${c}'` });
      i++;
    }
  }
  tokens.push({ kind: 'end', text: '', offset: text.length });
  return tokens;
}

export function parseCondition(text: string): ConditionParseResult {
  const errors: ConditionError[] = [];
  const tokens = lex(text, errors);
  if (errors.length > 0) return { value: null, errors };
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const next = (): Token => tokens[pos++]!;
  class Fail extends Error {}
  const fail = (t: Token, message: string): never => {
    errors.push({ offset: t.offset, length: Math.max(1, t.text.length), message });
    throw new Fail(message);
  };
  const describe = (t: Token): string => (t.kind === 'end' ? 'end of condition' : `'${t.text}'`);

  const parseOr = (): ConditionNode => {
    let left = parseAnd();
    while (peek().kind === 'or') {
      next();
      left = Object.freeze({ kind: 'or', left, right: parseAnd() });
    }
    return left;
  };
  const parseAnd = (): ConditionNode => {
    let left = parseNot();
    while (peek().kind === 'and') {
      next();
      left = Object.freeze({ kind: 'and', left, right: parseNot() });
    }
    return left;
  };
  const parseNot = (): ConditionNode => {
    if (peek().kind === 'not') {
      next();
      return Object.freeze({ kind: 'not', operand: parseNot() });
    }
    return parseAtom();
  };
  const parseAtom = (): ConditionNode => {
    const t = next();
    switch (t.kind) {
      case 'lparen': {
        const inner = parseOr();
        const close = next();
        if (close.kind !== 'rparen')
          fail(close, `expected ')' to close the '(' at column ${t.offset + 1}, found ${describe(close)}`);
        return inner;
      }
      case 'one':
      case 'all': {
        const of = next();
        if (of.kind !== 'of') fail(of, `expected 'of' after '${t.text}', found ${describe(of)}`);
        const target = next();
        if (target.kind === 'them') {
          return Object.freeze({
            kind: 'selector',
            quantifier: t.kind,
            pattern: null,
            offset: t.offset,
            length: target.offset + target.text.length - t.offset,
          });
        }
        if (target.kind !== 'word')
          fail(target, `expected an identifier pattern or 'them' after 'of', found ${describe(target)}`);
        return Object.freeze({
          kind: 'selector',
          quantifier: t.kind,
          pattern: target.text,
          offset: t.offset,
          length: target.offset + target.text.length - t.offset,
        });
      }
      case 'word':
        if (t.text.includes('*')) fail(t, `wildcard identifier '${t.text}' needs '1 of' or 'all of'`);
        if (/^\d+$/.test(t.text)) fail(t, `only '1 of' and 'all of' are valid quantifiers, found '${t.text}'`);
        return Object.freeze({ kind: 'identifier', name: t.text, offset: t.offset, length: t.text.length });
      default:
        return fail(t, `expected an identifier, 'not', '1 of', 'all of' or '(', found ${describe(t)}`);
    }
  };
  try {
    const value = parseOr();
    const rest = peek();
    if (rest.kind !== 'end') fail(rest, `expected 'and', 'or' or end of condition, found ${describe(rest)}`);
    return { value, errors };
  } catch (e) {
    if (e instanceof Fail) return { value: null, errors };
    throw e;
  }
}

/** Does a selector pattern (`*` wildcards, full match) select this identifier? */
export function selectorMatches(pattern: string | null, identifier: string): boolean {
  // `them` and patterns not starting with `_` leave out `_`-prefixed identifiers (spec, pySigma).
  if (identifier.startsWith('_') && (pattern === null || !pattern.startsWith('_'))) return false;
  if (pattern === null) return true;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(identifier);
}
