/**
 * Syntax tree of a Falco rule condition (libsinsp filter grammar). Nodes are frozen plain
 * objects tagged by `kind`; positions are offsets into the condition text the parser saw
 * (after list substitution), which the loader maps back to file line/column.
 */

/** Offset and length of a node inside the parsed condition text. */
export interface SpanNode {
  readonly offset: number;
  readonly length: number;
  /** Set when the node came from a macro: the offset is then in that macro's condition text. */
  readonly origin?: string;
}

export const COMPARE_OPERATORS = [
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'glob',
  'iglob',
  'regex',
] as const;
export const LIST_OPERATORS = ['in', 'intersects', 'pmatch'] as const;
export type CompareOperator = (typeof COMPARE_OPERATORS)[number];
export type ListOperator = (typeof LIST_OPERATORS)[number];
export type Operator = CompareOperator | ListOperator | 'exists';
/** libs 0.25 string-operator modifiers: `op oneof|anyof|allof (list)`. */
export type OperatorModifier = 'oneof' | 'anyof' | 'allof';

export interface FieldRefNode {
  readonly kind: 'field';
  /** Dotted field name, e.g. `ka.req.pod.containers.image`. */
  readonly name: string;
  /** Text inside `[...]`, unescaped when it was quoted; null when there are no brackets. */
  readonly arg: string | null;
  readonly span: SpanNode;
}

export const TRANSFORMERS = ['tolower', 'toupper', 'b64', 'basename', 'len'] as const;
/** Single-argument field transformers (libsinsp); join/concat/getopt are not supported. */
export type TransformerName = (typeof TRANSFORMERS)[number];

/** `tolower(field)` and friends; operands nest: `len(tolower(x.y))`. */
export interface TransformerNode {
  readonly kind: 'transformer';
  readonly name: TransformerName;
  readonly operand: FieldExprNode;
  readonly span: SpanNode;
}

export type FieldExprNode = FieldRefNode | TransformerNode;

/** A field on the right-hand side: `val(field)` or a transformer. */
export interface FieldValueNode {
  readonly kind: 'fieldvalue';
  readonly expr: FieldExprNode;
  readonly span: SpanNode;
}

export interface StringValueNode {
  readonly kind: 'string';
  readonly value: string;
  readonly span: SpanNode;
}

export interface ListValueNode {
  readonly kind: 'list';
  readonly values: readonly StringValueNode[];
  readonly span: SpanNode;
}

/** A bare identifier where a list was expected (`x in mylist`): the grammar allows it. */
export interface ListRefNode {
  readonly kind: 'listref';
  readonly name: string;
  readonly span: SpanNode;
}

export type ValueNode = StringValueNode | ListValueNode | ListRefNode | FieldValueNode;

export interface CheckNode {
  readonly kind: 'check';
  readonly field: FieldExprNode;
  readonly op: Operator;
  readonly modifier: OperatorModifier | null;
  /** null only for `exists`. */
  readonly value: ValueNode | null;
  readonly span: SpanNode;
}

export interface MacroRefNode {
  readonly kind: 'macro';
  readonly name: string;
  readonly span: SpanNode;
}

export interface AndNode {
  readonly kind: 'and';
  readonly children: readonly ConditionNode[];
  readonly span: SpanNode;
}

export interface OrNode {
  readonly kind: 'or';
  readonly children: readonly ConditionNode[];
  readonly span: SpanNode;
}

export interface NotNode {
  readonly kind: 'not';
  readonly child: ConditionNode;
  readonly span: SpanNode;
}

export type ConditionNode = AndNode | OrNode | NotNode | CheckNode | MacroRefNode;
export type ConditionKind = ConditionNode['kind'];

export const ConditionNodes = Object.freeze({
  and: (children: readonly ConditionNode[], span: SpanNode): AndNode =>
    Object.freeze({ kind: 'and', children: Object.freeze([...children]), span }),
  or: (children: readonly ConditionNode[], span: SpanNode): OrNode =>
    Object.freeze({ kind: 'or', children: Object.freeze([...children]), span }),
  not: (child: ConditionNode, span: SpanNode): NotNode => Object.freeze({ kind: 'not', child, span }),
  macro: (name: string, span: SpanNode): MacroRefNode => Object.freeze({ kind: 'macro', name, span }),
  check: (
    field: FieldExprNode,
    op: Operator,
    modifier: OperatorModifier | null,
    value: ValueNode | null,
    span: SpanNode,
  ): CheckNode => Object.freeze({ kind: 'check', field, op, modifier, value, span }),
  field: (name: string, arg: string | null, span: SpanNode): FieldRefNode =>
    Object.freeze({ kind: 'field', name, arg, span }),
  transformer: (name: TransformerName, operand: FieldExprNode, span: SpanNode): TransformerNode =>
    Object.freeze({ kind: 'transformer', name, operand, span }),
  fieldvalue: (expr: FieldExprNode, span: SpanNode): FieldValueNode =>
    Object.freeze({ kind: 'fieldvalue', expr, span }),
  string: (value: string, span: SpanNode): StringValueNode => Object.freeze({ kind: 'string', value, span }),
  list: (values: readonly StringValueNode[], span: SpanNode): ListValueNode =>
    Object.freeze({ kind: 'list', values: Object.freeze([...values]), span }),
  listref: (name: string, span: SpanNode): ListRefNode => Object.freeze({ kind: 'listref', name, span }),
});

export function span(offset: number, length: number): SpanNode {
  return Object.freeze({ offset, length });
}

/**
 * Rebuild a tree bottom-up. Dispatch goes through a Record over every kind, so a new node kind
 * that is not handled here fails to compile.
 */
export function mapCondition(node: ConditionNode, leaf: (n: CheckNode | MacroRefNode) => ConditionNode): ConditionNode {
  const handlers: { [K in ConditionKind]: (n: Extract<ConditionNode, { kind: K }>) => ConditionNode } = {
    and: (n) =>
      ConditionNodes.and(
        n.children.map((c) => mapCondition(c, leaf)),
        n.span,
      ),
    or: (n) =>
      ConditionNodes.or(
        n.children.map((c) => mapCondition(c, leaf)),
        n.span,
      ),
    not: (n) => ConditionNodes.not(mapCondition(n.child, leaf), n.span),
    check: (n) => leaf(n),
    macro: (n) => leaf(n),
  };
  return (handlers[node.kind] as (n: ConditionNode) => ConditionNode)(node);
}

/**
 * Nesting depth of a tree (a leaf is 1), without recursion: trees built by macro substitution
 * can be deeper than the JavaScript stack allows, and must be measured before they are walked.
 */
export function conditionDepth(node: ConditionNode): number {
  let max = 0;
  const stack: [ConditionNode, number][] = [[node, 1]];
  while (stack.length > 0) {
    const [n, d] = stack.pop()!;
    if (d > max) max = d;
    if (n.kind === 'and' || n.kind === 'or') for (const c of n.children) stack.push([c, d + 1]);
    else if (n.kind === 'not') stack.push([n.child, d + 1]);
  }
  return max;
}

function tag(s: SpanNode, origin: string): SpanNode {
  return s.origin !== undefined ? s : Object.freeze({ offset: s.offset, length: s.length, origin });
}

/**
 * Mark every position in a macro body as belonging to that macro, so errors found after
 * substitution point into the macro's text. Positions already tagged (nested macros) keep theirs.
 */
export function tagOrigin(
  node: ConditionNode,
  origin: string,
  tagged?: { has(n: ConditionNode): boolean },
): ConditionNode {
  // Subtrees already tagged (substituted macro bodies, when the caller knows them) are kept as
  // they are: re-copying them at every level of a macro chain would be quadratic.
  if (tagged !== undefined && tagged.has(node)) return node;
  if (node.kind === 'and')
    return ConditionNodes.and(
      node.children.map((c) => tagOrigin(c, origin, tagged)),
      node.span,
    );
  if (node.kind === 'or')
    return ConditionNodes.or(
      node.children.map((c) => tagOrigin(c, origin, tagged)),
      node.span,
    );
  if (node.kind === 'not') return ConditionNodes.not(tagOrigin(node.child, origin, tagged), node.span);
  return mapCondition(node, (leaf) => {
    if (leaf.kind === 'macro') return ConditionNodes.macro(leaf.name, tag(leaf.span, origin));
    const field = tagExpr(leaf.field, origin);
    const v = leaf.value;
    const value =
      v === null
        ? null
        : v.kind === 'string'
          ? ConditionNodes.string(v.value, tag(v.span, origin))
          : v.kind === 'list'
            ? ConditionNodes.list(
                v.values.map((x) => ConditionNodes.string(x.value, tag(x.span, origin))),
                tag(v.span, origin),
              )
            : v.kind === 'listref'
              ? ConditionNodes.listref(v.name, tag(v.span, origin))
              : ConditionNodes.fieldvalue(tagExpr(v.expr, origin), tag(v.span, origin));
    return ConditionNodes.check(field, leaf.op, leaf.modifier, value, tag(leaf.span, origin));
  });
}

function tagExpr(e: FieldExprNode, origin: string): FieldExprNode {
  return e.kind === 'field'
    ? ConditionNodes.field(e.name, e.arg, tag(e.span, origin))
    : ConditionNodes.transformer(e.name, tagExpr(e.operand, origin), tag(e.span, origin));
}
