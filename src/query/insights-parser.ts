/**
 * Logs Insights parser: tokens → QueryNode. Errors are data: `{ value, errors }`, every error
 * located (line, column, length) with a hint, and parsing resumes at the next `|` so one run
 * reports every broken command.
 *
 * Grammar and precedence follow grammar-notes.md §1 (high → low): unary minus; `^`; `* / %`;
 * `+ -`; comparisons, `like`, `in`, `=~`; `not`; `and`; `or`. Commands and keywords are
 * case-insensitive; field names are case-sensitive (JSON keys are).
 */
import type { SourceProblem } from '../model/errors.js';
import {
  createBinary,
  createCall,
  createDedup,
  createDisplay,
  createField,
  createFields,
  createFilter,
  createIn,
  createLimit,
  createMatch,
  createNumber,
  createParse,
  createPeriod,
  createProjection,
  createQuery,
  createRegex,
  createSort,
  createStats,
  createString,
  createUnary,
  createUnmask,
  type BinaryOp,
  type CommandNode,
  type ExprNode,
  type FieldNode,
  type NumberNode,
  type ProjectionItem,
  type QueryNode,
  type RegexNode,
  type SortKey,
  type StringNode,
} from './insights-ast.js';
import { lexInsights, locate, type Token } from './insights-lexer.js';

/** A located problem in a query, with a hint on how to fix it. */
export interface InsightsProblem extends SourceProblem {
  readonly length: number;
  /** How to fix it. */
  readonly hint: string;
}

export interface ParseResult<T> {
  readonly value: T | null;
  readonly errors: readonly InsightsProblem[];
}

/** The row limit CloudWatch applies when a query has no `limit`, and the largest it accepts. */
export const MAX_LIMIT = 10_000;

/** Commands of the full language that this engine does not run, with the reason shown to users. */
const UNSUPPORTED_COMMANDS: Readonly<Record<string, string>> = {
  pattern: 'pattern clusters log lines with a machine-learning model that has no SQL equivalent here',
  anomaly: 'anomaly needs the pattern model, which is not supported',
  diff: 'diff compares against earlier time ranges of the CloudWatch service and is not supported',
  logcompare: 'logcompare is not supported',
  unnest: 'unnest is not supported yet',
  expand: 'expand is not supported yet',
  filterindex: 'filterIndex only selects CloudWatch field indexes; use filter instead',
  source: 'SOURCE selects CloudWatch log groups; the local store has a single events table',
  lookup: 'lookup tables are not supported',
  cidrlookup: 'cidrlookup is not supported',
  join: 'join is not supported',
  fillmissing: 'fillmissing is not supported',
  filldown: 'filldown is not supported',
  autoregress: 'autoregress is not supported',
  accum: 'accum is not supported',
  appendcols: 'appendcols is not supported',
  relevantfields: 'relevantfields is not supported',
  countfrequent: 'countFrequent is not supported',
  outlier: 'outlier is not supported',
  sessionize: 'sessionize is not supported',
  addtotals: 'addtotals is not supported',
  tail: 'tail is deprecated by AWS and not supported; use sort @timestamp asc | limit N',
};

const RESERVED = new Set(['and', 'or', 'not', 'like', 'in', 'as', 'by', 'asc', 'desc']);

class Failure {
  constructor(
    readonly start: number,
    readonly length: number,
    readonly message: string,
    readonly hint: string,
  ) {}
}

/** A capturing group of a regex: its 1-based index and its name when it is a named group. */
export interface RegexGroup {
  readonly index: number;
  readonly name: string | null;
}

/**
 * Capturing groups of an RE2/PCRE-style pattern in order. Escapes and character classes are
 * skipped; `(?:`, `(?i)`, look-arounds are not capturing; `(?<n>` and `(?P<n>` are named.
 */
export function regexGroups(pattern: string): RegexGroup[] {
  const groups: RegexGroup[] = [];
  let inClass = false;
  for (let k = 0; k < pattern.length; k++) {
    const c = pattern[k];
    if (c === '\\') {
      k++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      // A leading ] (or ^]) is a literal inside the class.
      if (pattern[k + 1] === '^') k++;
      if (pattern[k + 1] === ']') k++;
      continue;
    }
    if (c !== '(') continue;
    if (pattern[k + 1] !== '?') {
      groups.push({ index: groups.length + 1, name: null });
      continue;
    }
    const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(pattern.slice(k, k + 200));
    if (named !== null) groups.push({ index: groups.length + 1, name: named[1]! });
  }
  return groups;
}

class Parser {
  private pos = 0;
  readonly errors: InsightsProblem[] = [];

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
  ) {}

  problem(start: number, length: number, message: string, hint: string): InsightsProblem {
    const { line, column } = locate(this.text, start);
    // Even an error at the end of the text gets a 1-character marker.
    return { line, column, length: Math.max(1, length), message, hint };
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private isKeyword(word: string, t: Token = this.peek()): boolean {
    return t.kind === 'name' && t.segments!.length === 1 && !t.quoted![0] && t.text.toLowerCase() === word;
  }

  private isPunct(p: string, t: Token = this.peek()): boolean {
    return t.kind === 'punct' && t.text === p;
  }

  private fail(t: Token, message: string, hint: string): never {
    throw new Failure(t.start, Math.max(1, t.end - t.start), message, hint);
  }

  private expectPunct(p: string, hint: string): Token {
    const t = this.peek();
    if (!this.isPunct(p)) this.fail(t, `expected '${p}' but found ${describe(t)}`, hint);
    return this.next();
  }

  parseQuery(): QueryNode {
    const commands: CommandNode[] = [];
    if (this.peek().kind === 'eof') {
      this.errors.push(
        this.problem(0, 0, 'the query is empty', 'start with a command, e.g. fields @timestamp, @message'),
      );
    }
    while (this.peek().kind !== 'eof') {
      try {
        const cmd = this.parseCommand();
        if (cmd !== null) commands.push(cmd);
        const t = this.peek();
        if (t.kind !== 'eof' && !this.isPunct('|')) {
          this.fail(
            t,
            `unexpected ${describe(t)} after the ${this.commandName(cmd)} command`,
            'separate commands with |',
          );
        }
      } catch (e) {
        if (!(e instanceof Failure)) throw e;
        this.errors.push(this.problem(e.start, e.length, e.message, e.hint));
        while (this.peek().kind !== 'eof' && !this.isPunct('|')) this.next();
      }
      if (this.isPunct('|')) {
        const bar = this.next();
        if (this.peek().kind === 'eof' || this.isPunct('|')) {
          this.errors.push(
            this.problem(bar.start, 1, 'expected a command after |', 'remove the trailing | or add a command after it'),
          );
        }
      }
    }
    return createQuery(commands);
  }

  private commandName(cmd: CommandNode | null): string {
    return cmd === null ? 'previous' : cmd.kind;
  }

  private parseCommand(): CommandNode | null {
    const t = this.peek();
    if (t.kind !== 'name' || t.segments!.length !== 1 || t.quoted![0]) {
      this.fail(
        t,
        `expected a command but found ${describe(t)}`,
        'commands are fields, display, filter, stats, sort, limit, parse, dedup',
      );
    }
    const word = t.text.toLowerCase();
    switch (word) {
      case 'fields':
      case 'display': {
        this.next();
        const items = this.parseProjectionList(true);
        const span = { start: t.start, end: this.prevEnd() };
        return word === 'fields' ? createFields(items, span) : createDisplay(items, span);
      }
      case 'filter':
      case 'where': {
        this.next();
        const expr = this.parseExpr();
        return createFilter(expr, { start: t.start, end: expr.span.end });
      }
      case 'stats':
        this.next();
        return this.parseStats(t.start);
      case 'sort':
        this.next();
        return this.parseSort(t.start);
      case 'limit':
      case 'head': {
        this.next();
        if (this.isKeyword('any')) this.next();
        const n = this.peek();
        if (n.kind !== 'number' || !Number.isInteger(n.value) || n.value! < 1 || n.value! > MAX_LIMIT) {
          this.fail(
            n,
            `limit needs a whole number from 1 to ${MAX_LIMIT}, found ${describe(n)}`,
            `CloudWatch returns at most ${MAX_LIMIT} rows`,
          );
        }
        this.next();
        return createLimit(n.value!, { start: t.start, end: n.end });
      }
      case 'parse':
        this.next();
        return this.parseParse(t.start);
      case 'dedup': {
        this.next();
        const fields: FieldNode[] = [this.parseFieldName('dedup')];
        while (this.isPunct(',')) {
          this.next();
          fields.push(this.parseFieldName('dedup'));
        }
        return createDedup(fields, { start: t.start, end: this.prevEnd() });
      }
      case 'unmask': {
        this.next();
        if (this.peek().kind === 'name') this.parseFieldName('unmask');
        return createUnmask({ start: t.start, end: this.prevEnd() });
      }
      case 'count':
        // AWS's own EKS guide once published `| count() by bin(1m)` and fixed it to `stats` (EKS-019).
        this.fail(t, "'count' is not a command", 'aggregate with stats, e.g. | stats count(*) by bin(1m)');
    }
    const reason = UNSUPPORTED_COMMANDS[word];
    if (reason !== undefined)
      this.fail(
        t,
        `the ${t.text} command is not supported: ${reason}`,
        'supported commands: fields, display, filter, stats, sort, limit, parse, dedup, unmask',
      );
    this.fail(
      t,
      `unknown command '${t.text}'`,
      'commands are fields, display, filter, stats, sort, limit, parse, dedup, unmask',
    );
  }

  private prevEnd(): number {
    return this.tokens[Math.max(0, this.pos - 1)]!.end;
  }

  private parseProjectionList(allowAlias: boolean): ProjectionItem[] {
    const items = [this.parseProjection(allowAlias)];
    while (this.isPunct(',')) {
      this.next();
      items.push(this.parseProjection(allowAlias));
    }
    return items;
  }

  private parseProjection(allowAlias: boolean): ProjectionItem {
    const start = this.peek().start;
    const expr = this.parseExpr();
    const end = this.prevEnd();
    let alias: string | null = null;
    if (allowAlias && this.isKeyword('as')) {
      this.next();
      alias = this.parseAliasName();
    }
    // A bare field is named by its flattened name (backticks dropped), anything else by its text.
    const name = expr.kind === 'field' ? expr.name : this.text.slice(start, end);
    return createProjection(expr, alias, name, { start, end: this.prevEnd() });
  }

  private parseAliasName(): string {
    const t = this.peek();
    if (t.kind !== 'name')
      this.fail(
        t,
        `expected a name after 'as' but found ${describe(t)}`,
        'names with special characters go in backticks',
      );
    this.next();
    return t.text;
  }

  private parseFieldName(command: string): FieldNode {
    const t = this.peek();
    if (t.kind !== 'name' || (this.isReserved(t) && !t.quoted![0]))
      this.fail(
        t,
        `${command} expects a field name but found ${describe(t)}`,
        'e.g. user.username; backtick names with special characters',
      );
    this.next();
    return createField(t.segments!, t.quoted!, { start: t.start, end: t.end });
  }

  private isReserved(t: Token): boolean {
    return t.kind === 'name' && t.segments!.length === 1 && !t.quoted![0] && RESERVED.has(t.text.toLowerCase());
  }

  private parseStats(start: number): CommandNode {
    const items = this.parseProjectionList(true);
    let by: ProjectionItem[] = [];
    if (this.isKeyword('by')) {
      this.next();
      by = this.parseProjectionList(true);
    }
    if (this.isKeyword('offset'))
      this.fail(this.peek(), 'stats … offset is not supported', 'shift the time range with --start/--end instead');
    return createStats(items, by, { start, end: this.prevEnd() });
  }

  private parseSort(start: number): CommandNode {
    const keys: SortKey[] = [];
    for (;;) {
      const expr = this.parseExpr();
      // The default direction is undocumented; like moto's emulator we sort descending.
      let descending = true;
      if (this.isKeyword('asc')) {
        this.next();
        descending = false;
      } else if (this.isKeyword('desc')) {
        this.next();
      }
      keys.push({ expr, descending });
      if (!this.isPunct(',')) break;
      this.next();
    }
    return createSort(keys, { start, end: this.prevEnd() });
  }

  private parseParse(start: number): CommandNode {
    let source: FieldNode;
    const first = this.peek();
    if (first.kind === 'name' && !this.isKeyword('logfmt', first) && !this.isKeyword('csv', first)) {
      source = this.parseFieldName('parse');
    } else {
      // Newest AWS revision: the source defaults to @message.
      source = createField(['@message'], [false], { start: first.start, end: first.start });
    }
    const p = this.peek();
    if (this.isKeyword('logfmt') || this.isKeyword('csv'))
      this.fail(p, `parse … ${p.text} is not supported`, 'use a glob pattern ("key=*") or a regex with named groups');
    let pattern: StringNode | RegexNode;
    if (p.kind === 'string') pattern = createString(p.text, { start: p.start, end: p.end });
    else if (p.kind === 'regex') pattern = createRegex(p.text, p.flags ?? '', { start: p.start, end: p.end });
    else
      this.fail(
        p,
        `parse expects a glob pattern in quotes or a /regex/ but found ${describe(p)}`,
        'e.g. parse @message "user=*, verb=*" as user, verb',
      );
    this.next();
    let names: string[] = [];
    let asToken: Token | null = null;
    if (this.isKeyword('as')) {
      asToken = this.next();
      names.push(this.parseAliasName());
      while (this.isPunct(',')) {
        this.next();
        names.push(this.parseAliasName());
      }
    }
    if (this.isKeyword('multi'))
      this.fail(this.peek(), 'parse … multi is not supported', 'parse extracts the first match of each event');
    const span = { start, end: this.prevEnd() };
    if (pattern.kind === 'string') {
      const stars = pattern.value.split('*').length - 1;
      if (stars === 0)
        this.fail(p, 'the glob pattern has no * wildcard', 'each * captures text into one of the names after as');
      if (stars !== names.length) {
        this.fail(
          asToken ?? p,
          `the pattern has ${stars} wildcard(s) but ${names.length} name(s) follow 'as'`,
          'give exactly one name per *',
        );
      }
    } else {
      const groups = regexGroups(pattern.pattern);
      if (names.length === 0) {
        names = groups.filter((g) => g.name !== null).map((g) => g.name!);
        if (names.length === 0)
          this.fail(
            p,
            'the regex has no named group, so parse would create no field',
            'name groups like (?<verb>\\w+)',
          );
      } else if (names.length > groups.length) {
        this.fail(
          asToken ?? p,
          `${names.length} name(s) follow 'as' but the regex has ${groups.length} capturing group(s)`,
          'give at most one name per (group)',
        );
      }
    }
    return createParse(source, pattern, names, span);
  }

  // ── expressions ─────────────────────────────────────────────────────────────────────────

  parseExpr(): ExprNode {
    return this.parseOr();
  }

  private parseOr(): ExprNode {
    let left = this.parseAnd();
    while (this.isKeyword('or')) {
      this.next();
      left = createBinary('or', left, this.parseAnd());
    }
    return left;
  }

  private parseAnd(): ExprNode {
    let left = this.parseNot();
    while (this.isKeyword('and')) {
      this.next();
      left = createBinary('and', left, this.parseNot());
    }
    return left;
  }

  private parseNot(): ExprNode {
    if (this.isKeyword('not')) {
      const t = this.next();
      return createUnary('not', this.parseNot(), t.start);
    }
    return this.parseComparison();
  }

  private parseComparison(): ExprNode {
    const left = this.parseAdditive();
    const t = this.peek();
    if (t.kind === 'punct') {
      const op = t.text === '==' ? '=' : t.text;
      if (op === '=' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=') {
        this.next();
        return createBinary(op, left, this.parseAdditive());
      }
      if (op === '=~' || op === '~=') {
        this.next();
        return createMatch(false, left, this.parsePattern(t.text));
      }
    }
    let negated = false;
    if (this.isKeyword('not') && (this.isKeyword('like', this.peek(1)) || this.isKeyword('in', this.peek(1)))) {
      this.next();
      negated = true;
    }
    if (this.isKeyword('like')) {
      this.next();
      return createMatch(negated, left, this.parsePattern('like'));
    }
    if (this.isKeyword('in')) {
      this.next();
      return this.parseInList(negated, left);
    }
    return left;
  }

  private parsePattern(op: string): StringNode | RegexNode {
    const p = this.peek();
    if (p.kind === 'string') {
      this.next();
      return createString(p.text, { start: p.start, end: p.end });
    }
    if (p.kind === 'regex') {
      this.next();
      return createRegex(p.text, p.flags ?? '', { start: p.start, end: p.end });
    }
    this.fail(
      p,
      `${op} expects a string in quotes or a /regex/ but found ${describe(p)}`,
      `e.g. ${op} "kube-system" or ${op} /^system:/`,
    );
  }

  private parseInList(negated: boolean, operand: ExprNode): ExprNode {
    const open = this.peek();
    if (this.isPunct('(')) this.fail(open, 'subqueries (in (…)) are not supported', 'list the values: in ["a", "b"]');
    this.expectPunct('[', 'in takes a list of values, e.g. in ["get", "list"]');
    const items: (StringNode | NumberNode)[] = [];
    if (!this.isPunct(']')) {
      for (;;) {
        const v = this.peek();
        if (v.kind === 'string') {
          this.next();
          items.push(createString(v.text, { start: v.start, end: v.end }));
        } else if (v.kind === 'number') {
          this.next();
          items.push(createNumber(v.value!, { start: v.start, end: v.end }));
        } else if (this.isPunct('-') && this.peek(1).kind === 'number') {
          this.next();
          const n = this.next();
          items.push(createNumber(-n.value!, { start: v.start, end: n.end }));
        } else {
          this.fail(
            v,
            `in lists hold strings and numbers only, found ${describe(v)}`,
            'e.g. verb in ["create", "update"] or code in [401, 403]',
          );
        }
        if (!this.isPunct(',')) break;
        this.next();
      }
    }
    const close = this.expectPunct(']', 'close the list with ]');
    return createIn(negated, operand, items, close.end);
  }

  private parseAdditive(): ExprNode {
    let left = this.parseMultiplicative();
    while (this.isPunct('+') || this.isPunct('-')) {
      const op = this.next().text as BinaryOp;
      left = createBinary(op, left, this.parseMultiplicative());
    }
    return left;
  }

  private parseMultiplicative(): ExprNode {
    let left = this.parsePower();
    while (this.isPunct('*') || this.isPunct('/') || this.isPunct('%')) {
      const op = this.next().text as BinaryOp;
      left = createBinary(op, left, this.parsePower());
    }
    return left;
  }

  private parsePower(): ExprNode {
    const base = this.parseUnary();
    if (this.isPunct('^')) {
      this.next();
      // Right-associative, as in mathematics (2^3^2 = 2^9).
      return createBinary('^', base, this.parsePower());
    }
    return base;
  }

  private parseUnary(): ExprNode {
    if (this.isPunct('-')) {
      const t = this.next();
      return createUnary('-', this.parseUnary(), t.start);
    }
    return this.parsePrimary();
  }

  private parsePrimary(): ExprNode {
    const t = this.peek();
    const span = { start: t.start, end: t.end };
    switch (t.kind) {
      case 'string':
        this.next();
        return createString(t.text, span);
      case 'number':
        this.next();
        return createNumber(t.value!, span);
      case 'period':
        this.next();
        return createPeriod(t.value!, t.unit!, span);
      case 'regex':
        this.next();
        return createRegex(t.text, t.flags ?? '', span);
      case 'name': {
        const bare = t.segments!.length === 1 && !t.quoted![0] && !t.text.startsWith('@');
        if (bare && this.isPunct('(', this.peek(1))) return this.parseCall();
        if (this.isReserved(t))
          this.fail(
            t,
            `expected a value but found the keyword '${t.text}'`,
            'backtick a field that has this name, e.g. `' + t.text + '`',
          );
        this.next();
        return createField(t.segments!, t.quoted!, span);
      }
      case 'punct':
        if (t.text === '(') {
          this.next();
          const inner = this.parseExpr();
          this.expectPunct(')', 'close the parenthesis');
          return inner;
        }
        if (t.text === '[') this.fail(t, 'a list is only allowed after in / not in', 'e.g. verb in ["get", "list"]');
        if (t.text === '/')
          this.fail(t, 'a /regex/ is only allowed after like, =~ or in parse', 'for division put an operand before /');
        this.fail(
          t,
          `expected a value but found ${describe(t)}`,
          'a value is a field, a "string", a number, a function call or (expression)',
        );
      // falls through (unreachable: fail() throws)
      case 'eof':
        this.fail(t, 'the query ends where a value was expected', 'complete the expression');
    }
  }

  private parseCall(): ExprNode {
    const nameTok = this.next();
    this.expectPunct('(', 'call functions as name(arguments)');
    const args: ExprNode[] = [];
    let star = false;
    if (this.isPunct('*') && this.isPunct(')', this.peek(1))) {
      this.next();
      star = true;
    } else if (!this.isPunct(')')) {
      args.push(this.parseExpr());
      while (this.isPunct(',')) {
        this.next();
        args.push(this.parseExpr());
      }
    }
    const close = this.expectPunct(')', 'close the argument list');
    return createCall(nameTok.text, args, star, { start: nameTok.start, end: close.end });
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'the end of the query';
    case 'string':
      return `the string "${t.text.length > 30 ? `${t.text.slice(0, 30)}…` : t.text}"`;
    case 'regex':
      return 'a /regex/';
    default:
      return `'${t.text.length > 40 ? `${t.text.slice(0, 40)}…` : t.text}'`;
  }
}

/** Parse a Logs Insights query. `value` is null when there are errors. */
export function parseInsightsQuery(text: string): ParseResult<QueryNode> {
  const lexed = lexInsights(text);
  const parser = new Parser(text, lexed.tokens);
  const lexErrors = lexed.errors.map((e) => parser.problem(e.start, e.length, e.message, e.hint));
  const query = parser.parseQuery();
  const errors = [...lexErrors, ...parser.errors].sort((a, b) => a.line - b.line || a.column - b.column);
  return { value: errors.length === 0 ? query : null, errors };
}
