/**
 * Syntax tree of a CloudWatch Logs Insights query. Nodes are plain frozen objects tagged by
 * `kind` and built only by the `create*` helpers below; walkers dispatch through
 * `Record<Kind, Handler>` tables so a new node kind nobody handles fails to compile.
 *
 * Every node carries its source span (0-based offsets into the query text): errors point at it
 * and result columns of unaliased expressions are named by the exact source text, as CloudWatch
 * names them (`count(*)`, `bin(5m)`).
 */

export interface Span {
  readonly start: number;
  readonly end: number;
}

// ── expressions ──────────────────────────────────────────────────────────────────────────────

export interface StringNode {
  readonly kind: 'string';
  readonly value: string;
  readonly span: Span;
}

export interface NumberNode {
  readonly kind: 'number';
  readonly value: number;
  readonly span: Span;
}

/** `/pattern/flags`: the pattern is RE2 source with `\/` already unescaped to `/`. */
export interface RegexNode {
  readonly kind: 'regex';
  readonly pattern: string;
  readonly flags: string;
  readonly span: Span;
}

/** A time period literal such as `5m`, `1h`, `2hrs`: `ms` is its length for fixed units. */
export interface PeriodNode {
  readonly kind: 'period';
  readonly amount: number;
  readonly unit: PeriodUnit;
  readonly span: Span;
}

export type PeriodUnit = 'ms' | 's' | 'm' | 'h' | 'd' | 'w' | 'mo' | 'q' | 'y';

/**
 * A field reference. `segments` is the flattened name split on dots outside backticks;
 * `quoted[i]` says segment i was backticked (a backticked segment is one flattened key, dots
 * included, e.g. `annotations.k8s.io/deprecated`). `name` is the user-facing dotted name.
 */
export interface FieldNode {
  readonly kind: 'field';
  readonly name: string;
  readonly segments: readonly string[];
  readonly quoted: readonly boolean[];
  readonly span: Span;
}

export interface CallNode {
  readonly kind: 'call';
  /** Lower-cased function name (function names are case-insensitive). */
  readonly name: string;
  readonly args: readonly ExprNode[];
  /** `count(*)` */
  readonly star: boolean;
  readonly span: Span;
}

export const BINARY_OPS = ['+', '-', '*', '/', '%', '^', '=', '!=', '<', '<=', '>', '>=', 'and', 'or'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export interface BinaryNode {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: ExprNode;
  readonly right: ExprNode;
  readonly span: Span;
}

export interface UnaryNode {
  readonly kind: 'unary';
  readonly op: 'not' | '-';
  readonly operand: ExprNode;
  readonly span: Span;
}

/** `x like "s"`, `x not like /r/`, `x =~ /r/`. */
export interface MatchNode {
  readonly kind: 'match';
  readonly negated: boolean;
  readonly operand: ExprNode;
  readonly pattern: StringNode | RegexNode;
  readonly span: Span;
}

/** `x in [..]`, `x not in [..]`: list items are literals. */
export interface InNode {
  readonly kind: 'in';
  readonly negated: boolean;
  readonly operand: ExprNode;
  readonly items: readonly (StringNode | NumberNode)[];
  readonly span: Span;
}

export type ExprNode =
  StringNode | NumberNode | RegexNode | PeriodNode | FieldNode | CallNode | BinaryNode | UnaryNode | MatchNode | InNode;

export type ExprKind = ExprNode['kind'];

// ── commands ─────────────────────────────────────────────────────────────────────────────────

/** `expr [as alias]` in fields, display, stats and stats-by lists. */
export interface ProjectionItem {
  readonly expr: ExprNode;
  readonly alias: string | null;
  /** Result column name: the alias, else the expression's source text. */
  readonly outputName: string;
  readonly span: Span;
}

export interface FieldsCommand {
  readonly kind: 'fields';
  readonly items: readonly ProjectionItem[];
  readonly span: Span;
}

export interface DisplayCommand {
  readonly kind: 'display';
  readonly items: readonly ProjectionItem[];
  readonly span: Span;
}

export interface FilterCommand {
  readonly kind: 'filter';
  readonly expr: ExprNode;
  readonly span: Span;
}

export interface StatsCommand {
  readonly kind: 'stats';
  readonly items: readonly ProjectionItem[];
  readonly by: readonly ProjectionItem[];
  readonly span: Span;
}

export interface SortKey {
  readonly expr: ExprNode;
  readonly descending: boolean;
}

export interface SortCommand {
  readonly kind: 'sort';
  readonly keys: readonly SortKey[];
  readonly span: Span;
}

export interface LimitCommand {
  readonly kind: 'limit';
  readonly count: number;
  readonly span: Span;
}

export interface ParseCommand {
  readonly kind: 'parse';
  readonly source: FieldNode;
  readonly pattern: StringNode | RegexNode;
  /** Glob: the `as` names, one per `*`. Regex: the named groups, in group order. */
  readonly names: readonly string[];
  readonly span: Span;
}

export interface DedupCommand {
  readonly kind: 'dedup';
  readonly fields: readonly FieldNode[];
  readonly span: Span;
}

/** `unmask [field]`: a no-op here (see README: nothing is masked in the local store). */
export interface UnmaskCommand {
  readonly kind: 'unmask';
  readonly span: Span;
}

export type CommandNode =
  | FieldsCommand
  | DisplayCommand
  | FilterCommand
  | StatsCommand
  | SortCommand
  | LimitCommand
  | ParseCommand
  | DedupCommand
  | UnmaskCommand;

export type CommandKind = CommandNode['kind'];

export interface QueryNode {
  readonly kind: 'query';
  readonly commands: readonly CommandNode[];
}

// ── create helpers ───────────────────────────────────────────────────────────────────────────

const f = Object.freeze;

export const createString = (value: string, span: Span): StringNode => f({ kind: 'string', value, span });
export const createNumber = (value: number, span: Span): NumberNode => f({ kind: 'number', value, span });
export const createRegex = (pattern: string, flags: string, span: Span): RegexNode =>
  f({ kind: 'regex', pattern, flags, span });
export const createPeriod = (amount: number, unit: PeriodUnit, span: Span): PeriodNode =>
  f({ kind: 'period', amount, unit, span });
export const createField = (segments: readonly string[], quoted: readonly boolean[], span: Span): FieldNode =>
  f({ kind: 'field', name: segments.join('.'), segments: f([...segments]), quoted: f([...quoted]), span });
export const createCall = (name: string, args: readonly ExprNode[], star: boolean, span: Span): CallNode =>
  f({ kind: 'call', name: name.toLowerCase(), args: f([...args]), star, span });
export const createBinary = (op: BinaryOp, left: ExprNode, right: ExprNode): BinaryNode =>
  f({ kind: 'binary', op, left, right, span: f({ start: left.span.start, end: right.span.end }) });
export const createUnary = (op: 'not' | '-', operand: ExprNode, start: number): UnaryNode =>
  f({ kind: 'unary', op, operand, span: f({ start, end: operand.span.end }) });
export const createMatch = (negated: boolean, operand: ExprNode, pattern: StringNode | RegexNode): MatchNode =>
  f({ kind: 'match', negated, operand, pattern, span: f({ start: operand.span.start, end: pattern.span.end }) });
export const createIn = (
  negated: boolean,
  operand: ExprNode,
  items: readonly (StringNode | NumberNode)[],
  end: number,
): InNode => f({ kind: 'in', negated, operand, items: f([...items]), span: f({ start: operand.span.start, end }) });

export const createProjection = (
  expr: ExprNode,
  alias: string | null,
  sourceText: string,
  span: Span,
): ProjectionItem => f({ expr, alias, outputName: alias ?? sourceText, span });

export const createFields = (items: readonly ProjectionItem[], span: Span): FieldsCommand =>
  f({ kind: 'fields', items: f([...items]), span });
export const createDisplay = (items: readonly ProjectionItem[], span: Span): DisplayCommand =>
  f({ kind: 'display', items: f([...items]), span });
export const createFilter = (expr: ExprNode, span: Span): FilterCommand => f({ kind: 'filter', expr, span });
export const createStats = (
  items: readonly ProjectionItem[],
  by: readonly ProjectionItem[],
  span: Span,
): StatsCommand => f({ kind: 'stats', items: f([...items]), by: f([...by]), span });
export const createSort = (keys: readonly SortKey[], span: Span): SortCommand =>
  f({ kind: 'sort', keys: f(keys.map((k) => f({ ...k }))), span });
export const createLimit = (count: number, span: Span): LimitCommand => f({ kind: 'limit', count, span });
export const createParse = (
  source: FieldNode,
  pattern: StringNode | RegexNode,
  names: readonly string[],
  span: Span,
): ParseCommand => f({ kind: 'parse', source, pattern, names: f([...names]), span });
export const createDedup = (fields: readonly FieldNode[], span: Span): DedupCommand =>
  f({ kind: 'dedup', fields: f([...fields]), span });
export const createUnmask = (span: Span): UnmaskCommand => f({ kind: 'unmask', span });
export const createQuery = (commands: readonly CommandNode[]): QueryNode =>
  f({ kind: 'query', commands: f([...commands]) });

// ── walking ──────────────────────────────────────────────────────────────────────────────────

/** One handler per expression kind; `satisfies ExprVisitor<T>` makes a missing kind a compile error. */
export type ExprVisitor<T> = { readonly [K in ExprKind]: (node: Extract<ExprNode, { kind: K }>) => T };

export function visitExpr<T>(node: ExprNode, visitor: ExprVisitor<T>): T {
  return (visitor[node.kind] as (n: ExprNode) => T)(node);
}

/** Direct children of an expression, for generic walks (field collection, aggregate search). */
export const EXPR_CHILDREN = {
  string: () => [],
  number: () => [],
  regex: () => [],
  period: () => [],
  field: () => [],
  call: (n) => n.args,
  binary: (n) => [n.left, n.right],
  unary: (n) => [n.operand],
  match: (n) => [n.operand, n.pattern],
  in: (n) => [n.operand, ...n.items],
} as const satisfies ExprVisitor<readonly ExprNode[]>;

/** Every node of an expression tree, depth first. */
export function* walkExpr(node: ExprNode): Generator<ExprNode> {
  yield node;
  for (const child of visitExpr(node, EXPR_CHILDREN)) yield* walkExpr(child);
}
