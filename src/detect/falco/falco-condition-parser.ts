/**
 * Lexer and recursive-descent parser for Falco conditions, following libsinsp
 * `filter/parser.cpp` (grammar in reference/falco/grammar.md §3). The grammar is
 * context-sensitive (what a token is depends on where it appears: `a=b` has a bare string on the
 * right, a field on the left), so scanning is done on demand by the parser through small
 * anchored matchers rather than by a separate token stream.
 *
 * Parse errors are data: `{ value, errors }`, each error with an offset into the text.
 * Field transformers `tolower toupper b64 basename len` and `val(field)` on the right-hand side
 * are supported; the multi-argument `join concat getopt` are reported as unsupported.
 */
import {
  ConditionNodes,
  span,
  type CheckNode,
  type ConditionNode,
  type FieldExprNode,
  type FieldRefNode,
  type ListValueNode,
  type TransformerName,
  type Operator,
  type OperatorModifier,
  type StringValueNode,
  type ValueNode,
} from './falco-condition-ast.js';

export interface ConditionSyntaxError {
  readonly offset: number;
  readonly length: number;
  readonly message: string;
}

export interface ConditionParseResult {
  readonly value: ConditionNode | null;
  readonly errors: readonly ConditionSyntaxError[];
}

export interface ConditionParseOptions {
  /** Nesting limit; Falco uses 1000 for rule conditions (libsinsp's default is 100). */
  readonly maxDepth?: number;
}

// Anchored (sticky) matchers: each is tried at the current position only.
const RE_FIELD_NAME = /[a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+/y;
const RE_IDENTIFIER = /[a-zA-Z]+[a-zA-Z0-9_]*/y;
const RE_FIELD_ARG_BARE = /[^\]["'\s]+/y;
const RE_BARE_STR = /[^()"'\s=,]+/y;
const RE_HEX = /0[xX][0-9a-fA-F]+/y;
const RE_NUMBER = /[+-]?[0-9]+\.?[0-9]*(?:[eE][+-][0-9]+)?/y;
const RE_TRANSFORMER = /(?:val|tolower|toupper|b64|basename|len|join|concat|getopt)\(/y;
const BLANKS = ' \t\b\r\n\f\v';

const NUM_OPS = ['<=', '<', '>=', '>'] as const;
// Order as in libsinsp: symbols first, then word operators that need a following blank.
const STR_SYMBOL_OPS = [
  ['==', '='],
  ['=', '='],
  ['!=', '!='],
] as const;
const STR_WORD_OPS = [
  'glob',
  'iglob',
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'regex',
] as const;
const LIST_OPS = ['intersects', 'in', 'pmatch'] as const;
const MODIFIERS = ['oneof', 'anyof', 'allof'] as const;

class SyntaxFailure extends Error {
  constructor(
    readonly offset: number,
    readonly length: number,
    message: string,
  ) {
    super(message);
  }
}

export function parseCondition(text: string, options: ConditionParseOptions = {}): ConditionParseResult {
  const p = new ConditionParser(text, options.maxDepth ?? 1000);
  try {
    return { value: p.parseAll(), errors: [] };
  } catch (e) {
    if (e instanceof SyntaxFailure)
      return { value: null, errors: [{ offset: e.offset, length: e.length, message: e.message }] };
    throw e;
  }
}

class ConditionParser {
  #pos = 0;
  #depth = 0;
  /** Text of the last token read, for "unexpected token after '…'" messages like libsinsp's. */
  #last = '';

  constructor(
    readonly text: string,
    readonly maxDepth: number,
  ) {}

  parseAll(): ConditionNode {
    this.blanks();
    if (this.#pos >= this.text.length) this.fail('empty condition');
    const expr = this.parseOr();
    this.blanks();
    if (this.#pos < this.text.length) {
      this.fail(`unexpected token after '${this.#last}', expecting 'or', 'and'`, this.tokenLength());
    }
    return expr;
  }

  private fail(message: string, length = 1, at = this.#pos): never {
    throw new SyntaxFailure(Math.min(at, this.text.length), Math.max(1, length), message);
  }

  private tokenLength(): number {
    let i = this.#pos;
    while (i < this.text.length && !BLANKS.includes(this.text[i]!)) i++;
    return Math.max(1, i - this.#pos);
  }

  private enter(): void {
    if (++this.#depth > this.maxDepth) this.fail(`exceeded max depth limit of ${this.maxDepth}`);
  }

  private leave(): void {
    this.#depth--;
  }

  /** Skips blanks; true when at least one was skipped. */
  private blanks(): boolean {
    const start = this.#pos;
    while (this.#pos < this.text.length && BLANKS.includes(this.text[this.#pos]!)) this.#pos++;
    return this.#pos > start;
  }

  private isBlank(i: number): boolean {
    return i < this.text.length && BLANKS.includes(this.text[i]!);
  }

  private lit(s: string): boolean {
    if (this.text.startsWith(s, this.#pos)) {
      this.#pos += s.length;
      this.#last = s;
      return true;
    }
    return false;
  }

  private match(re: RegExp): string | null {
    re.lastIndex = this.#pos;
    const m = re.exec(this.text);
    if (m === null) return null;
    this.#pos += m[0].length;
    this.#last = m[0];
    return m[0];
  }

  /** A keyword (`and`, `or`, `not`) counts only when followed by a blank or `(`. */
  private keyword(word: string): boolean {
    if (!this.text.startsWith(word, this.#pos)) return false;
    const next = this.#pos + word.length;
    // End of input also ends the keyword, so `a and` reports the missing operand.
    if (this.isBlank(next) || this.text[next] === '(' || next === this.text.length) {
      this.#pos = next;
      this.#last = word;
      return true;
    }
    return false;
  }

  private parseOr(): ConditionNode {
    this.enter();
    this.blanks();
    const start = this.#pos;
    const children = [this.parseAnd()];
    for (;;) {
      const save = this.#pos;
      this.blanks();
      if (!this.keyword('or')) {
        this.#pos = save;
        break;
      }
      children.push(this.parseAnd());
    }
    this.leave();
    return children.length === 1 ? children[0]! : ConditionNodes.or(children, span(start, this.#pos - start));
  }

  private parseAnd(): ConditionNode {
    this.enter();
    this.blanks();
    const start = this.#pos;
    const children = [this.parseNot()];
    for (;;) {
      const save = this.#pos;
      this.blanks();
      if (!this.keyword('and')) {
        this.#pos = save;
        break;
      }
      children.push(this.parseNot());
    }
    this.leave();
    return children.length === 1 ? children[0]! : ConditionNodes.and(children, span(start, this.#pos - start));
  }

  private parseNot(): ConditionNode {
    this.enter();
    this.blanks();
    const start = this.#pos;
    // Each `not` toggles, as in libsinsp: `not not a` is `a`.
    let negate = false;
    while (this.keyword('not')) {
      negate = !negate;
      this.blanks();
    }
    const check = this.parseCheck();
    this.leave();
    return negate ? ConditionNodes.not(check, span(start, this.#pos - start)) : check;
  }

  private parseCheck(): ConditionNode {
    this.blanks();
    const start = this.#pos;
    if (this.#pos >= this.text.length) this.fail(`unexpected end of input, expecting a field, a macro name or '('`);
    if (this.lit('(')) {
      const inner = this.parseOr();
      this.blanks();
      if (this.#pos >= this.text.length) this.fail(`unbalanced parentheses: '(' is never closed`, 1, start);
      if (!this.lit(')'))
        this.fail(
          `expected ')' or a boolean operator, found '${this.text.slice(this.#pos, this.#pos + this.tokenLength())}'`,
          this.tokenLength(),
        );
      return inner;
    }
    RE_TRANSFORMER.lastIndex = this.#pos;
    if (RE_TRANSFORMER.test(this.text)) {
      if (this.text.startsWith('val(', this.#pos))
        this.fail(`val() can only be used on the right-hand side of a comparison`, 4);
      const expr = this.parseFieldExpr();
      return this.parseCondition(expr, start);
    }
    const fieldName = this.match(RE_FIELD_NAME);
    if (fieldName !== null) {
      const field = this.parseFieldArg(fieldName, start);
      return this.parseCondition(field, start);
    }
    const ident = this.match(RE_IDENTIFIER);
    if (ident !== null) return ConditionNodes.macro(ident, span(start, ident.length));
    this.fail(
      `unexpected token '${this.text.slice(this.#pos, this.#pos + this.tokenLength())}', expecting a field, a macro name or '('`,
      this.tokenLength(),
    );
  }

  /** A field, or a transformer applied to a field expression: `tolower(ka.user.name)`. */
  private parseFieldExpr(): FieldExprNode {
    this.enter();
    const start = this.#pos;
    RE_TRANSFORMER.lastIndex = this.#pos;
    const tr = RE_TRANSFORMER.exec(this.text);
    let expr: FieldExprNode;
    if (tr !== null) {
      const name = tr[0].slice(0, -1);
      if (name === 'val') this.fail(`val() cannot be nested in a transformer`, 4);
      if (name === 'join' || name === 'concat' || name === 'getopt')
        this.fail(`field transformer '${name}(…)' is not supported`, tr[0].length);
      this.#pos += tr[0].length;
      this.blanks();
      const operand = this.parseFieldExpr();
      this.blanks();
      if (!this.lit(')')) this.fail(`expected ')' to close '${name}('`, this.tokenLength());
      expr = ConditionNodes.transformer(name as TransformerName, operand, span(start, this.#pos - start));
    } else {
      const fieldName = this.match(RE_FIELD_NAME);
      if (fieldName === null) this.fail(`expected a field name`, this.tokenLength());
      expr = this.parseFieldArg(fieldName, start);
    }
    this.leave();
    return expr;
  }

  /** `val(field)` or a transformer where a value is expected. */
  private parseFieldValue(): ValueNode {
    const start = this.#pos;
    let expr: FieldExprNode;
    if (this.text.startsWith('val(', this.#pos)) {
      this.#pos += 4;
      this.blanks();
      expr = this.parseFieldExpr();
      this.blanks();
      if (!this.lit(')')) this.fail(`expected ')' to close 'val('`, this.tokenLength());
    } else expr = this.parseFieldExpr();
    return ConditionNodes.fieldvalue(expr, span(start, this.#pos - start));
  }

  private parseFieldArg(name: string, start: number): FieldRefNode {
    if (!this.lit('[')) return ConditionNodes.field(name, null, span(start, name.length));
    let arg: string | null;
    const q = this.text[this.#pos];
    if (q === '"' || q === "'") arg = this.quoted().value;
    else arg = this.match(RE_FIELD_ARG_BARE);
    if (arg === null) this.fail(`expected a field argument after '${name}['`);
    if (!this.lit(']')) this.fail(`expected ']' after the argument of '${name}'`, this.tokenLength());
    return ConditionNodes.field(name, arg, span(start, this.#pos - start));
  }

  private parseCondition(field: FieldExprNode, start: number): CheckNode {
    this.blanks();
    const opStart = this.#pos;
    const done = (op: Operator, modifier: OperatorModifier | null, value: ValueNode | null): CheckNode =>
      ConditionNodes.check(field, op, modifier, value, span(start, this.#pos - start));
    if (this.lit('exists')) return done('exists', null, null);
    for (const op of NUM_OPS) {
      if (this.lit(op)) return done(op, null, this.parseNumValue(op));
    }
    for (const [text, op] of STR_SYMBOL_OPS) {
      if (this.lit(text)) return this.parseStrRhs(op, done);
    }
    for (const op of STR_WORD_OPS) {
      // At the end of input the word is still the operator: the error is then the missing value.
      const after = this.#pos + op.length;
      if (this.text.startsWith(op, this.#pos) && (this.isBlank(after) || after === this.text.length)) {
        this.lit(op);
        return this.parseStrRhs(op, done);
      }
    }
    for (const op of LIST_OPS) {
      if (this.lit(op)) return done(op, null, this.parseListValue(true));
    }
    this.#pos = opStart;
    if (this.#pos >= this.text.length) this.fail(`expected an operator after field '${fieldLabel(field)}'`);
    this.fail(
      `expected an operator after field '${fieldLabel(field)}', found '${this.text.slice(this.#pos, this.#pos + this.tokenLength())}'`,
      this.tokenLength(),
    );
  }

  private parseStrRhs(
    op: Operator,
    done: (op: Operator, m: OperatorModifier | null, v: ValueNode | null) => CheckNode,
  ): CheckNode {
    const save = this.#pos;
    this.blanks();
    for (const m of MODIFIERS) {
      if (this.text.startsWith(m, this.#pos) && this.isBlank(this.#pos + m.length)) {
        this.lit(m);
        return done(op, m, this.parseListValue(false));
      }
    }
    this.#pos = save;
    return done(op, null, this.parseStrRhsValue(op));
  }

  private parseNumValue(op: string): ValueNode {
    this.blanks();
    const start = this.#pos;
    RE_TRANSFORMER.lastIndex = this.#pos;
    if (RE_TRANSFORMER.test(this.text)) return this.parseFieldValue();
    const v = this.match(RE_HEX) ?? this.match(RE_NUMBER);
    if (v === null) this.fail(`expected a number value after '${op}'`, this.tokenLength());
    return ConditionNodes.string(v, span(start, v.length));
  }

  private parseStrRhsValue(op: string): ValueNode {
    this.blanks();
    RE_TRANSFORMER.lastIndex = this.#pos;
    if (RE_TRANSFORMER.test(this.text)) return this.parseFieldValue();
    return this.parseStrValue(op);
  }

  private parseStrValue(op: string): StringValueNode {
    this.blanks();
    const start = this.#pos;
    const c = this.text[this.#pos];
    if (c === '"' || c === "'") return this.quoted();
    const v = this.match(RE_BARE_STR);
    if (v === null) {
      if (this.#pos >= this.text.length) this.fail(`expected a value after '${op}', found end of input`);
      this.fail(`expected a value after '${op}', found '${this.text[this.#pos]}'`);
    }
    return ConditionNodes.string(v, span(start, v.length));
  }

  private parseListValue(allowIdentifier: boolean): ValueNode {
    this.blanks();
    const start = this.#pos;
    RE_TRANSFORMER.lastIndex = this.#pos;
    if (allowIdentifier && RE_TRANSFORMER.test(this.text)) return this.parseFieldValue();
    if (!this.lit('(')) {
      if (allowIdentifier) {
        const id = this.match(RE_IDENTIFIER);
        if (id !== null) return ConditionNodes.listref(id, span(start, id.length));
      }
      this.fail(`expected a list value '(…)'`, this.tokenLength());
    }
    const values: StringValueNode[] = [];
    this.blanks();
    while (!this.lit(')')) {
      if (this.#pos >= this.text.length) this.fail(`unterminated list: '(' is never closed`, 1, start);
      if (values.length > 0 && this.lit(',')) {
        this.blanks();
        if (this.text[this.#pos] === ')' || this.text[this.#pos] === ',') this.fail(`expected a list value after ','`);
      }
      values.push(this.parseStrValue('('));
      this.blanks();
    }
    const list: ListValueNode = ConditionNodes.list(values, span(start, this.#pos - start));
    return list;
  }

  /** QuotedStr with libsinsp escaping (grammar.md §3). */
  private quoted(): StringValueNode {
    const start = this.#pos;
    const delim = this.text[this.#pos]!;
    let i = this.#pos + 1;
    // The closing delimiter is the first one not preceded by a backslash.
    while (i < this.text.length && !(this.text[i] === delim && this.text[i - 1] !== '\\')) i++;
    if (i >= this.text.length) this.fail(`unterminated quoted string`, this.text.length - start);
    const body = this.text.slice(start + 1, i);
    const value = unescapeQuoted(body, delim, (rel, msg) => {
      throw new SyntaxFailure(start + 1 + rel, 2, msg);
    });
    this.#pos = i + 1;
    this.#last = this.text.slice(start, i + 1);
    return ConditionNodes.string(value, span(start, i + 1 - start));
  }
}

/** libsinsp `unescape_str`: `\b \f \n \r \t \\ \/ \xHH`, the own delimiter, and legacy `\ `. */
export function unescapeQuoted(body: string, delim: string, fail: (offset: number, message: string) => never): string {
  if (!body.includes('\\')) return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[i + 1];
    switch (n) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case ' ':
        out += '\\ ';
        break; // legacy compatibility: kept as written
      case 'x': {
        const hex = body.slice(i + 2, i + 4);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail(i, `invalid \\x escape in quoted string`);
        out += String.fromCharCode(parseInt(hex, 16));
        i += 2;
        break;
      }
      default:
        if (n === delim) {
          out += delim;
          break;
        }
        fail(
          i,
          n === undefined ? `dangling backslash in quoted string` : `invalid escape sequence '\\${n}' in quoted string`,
        );
    }
    i++;
  }
  return out;
}

function fieldLabel(e: FieldExprNode): string {
  return e.kind === 'field' ? e.name : `${e.name}(${fieldLabel(e.operand)})`;
}
