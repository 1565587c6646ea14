/**
 * The Sigma intermediate form shared by the streaming matcher compiler and the SQL compiler.
 * A rule's `detection` section and its `condition` are resolved into one boolean expression
 * tree (SigmaExpr) whose leaves are field items and keyword items with their value modifiers
 * already applied. Both back ends walk the same tree, which is what keeps streaming and SQL
 * results equal.
 */
import type { ResolvedField } from './sigma-field-mapping.js';

/** One piece of a Sigma string: literal text or a wildcard. */
export type PatternPart =
  { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'star' } | { readonly kind: 'one' };

/** A string value after escapes were resolved: literal text and wildcards. */
export interface StringPattern {
  readonly parts: readonly PatternPart[];
}

export interface RegexFlags {
  readonly ignoreCase: boolean;
  readonly multiline: boolean;
  readonly dotAll: boolean;
}

export type CompareOp = 'lt' | 'lte' | 'gt' | 'gte';

/** Sigma time modifiers: a number read from the date text (no time-zone conversion). */
export type TimePart = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

export type FieldRefMode = 'equals' | 'contains' | 'startswith' | 'endswith';

/** What one value of a detection item tests, modifiers applied. */
export type SigmaValueNode =
  | { readonly kind: 'string'; readonly pattern: StringPattern; readonly cased: boolean }
  | { readonly kind: 'regex'; readonly source: string; readonly flags: RegexFlags }
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly value: number }
  /** `field|hour: 3`, `field|hour|gte: 22`: a part of a date value compared with a number. */
  | { readonly kind: 'timepart'; readonly part: TimePart; readonly op: CompareOp | 'eq'; readonly value: number }
  | {
      readonly kind: 'cidr';
      readonly cidr: string;
      readonly version: 4 | 6;
      readonly bytes: readonly number[];
      readonly prefix: number;
    }
  /** `field: null` and `field|exists: false`: no non-null value at the path. */
  | { readonly kind: 'null' }
  /** `field|exists: true` and the lone wildcard `'*'`: some non-null value at the path. */
  | { readonly kind: 'present' }
  | { readonly kind: 'fieldref'; readonly field: ResolvedField; readonly mode: FieldRefMode; readonly cased: boolean };

/** `field|mods: values`. Values are OR-ed unless `all`; `negated` comes from `neq`. */
export interface FieldItemNode {
  readonly kind: 'field';
  readonly field: ResolvedField;
  readonly values: readonly SigmaValueNode[];
  readonly all: boolean;
  readonly negated: boolean;
  /** Where the item is written (for lint and errors). */
  readonly line: number;
  readonly column: number;
}

/** A keyword list entry: searched in the whole raw event text. */
export interface KeywordItemNode {
  readonly kind: 'keyword';
  readonly values: readonly SigmaValueNode[];
  readonly all: boolean;
  readonly line: number;
  readonly column: number;
}

export type SigmaExpr =
  | { readonly kind: 'and'; readonly items: readonly SigmaExpr[] }
  | { readonly kind: 'or'; readonly items: readonly SigmaExpr[] }
  | { readonly kind: 'not'; readonly item: SigmaExpr }
  | { readonly kind: 'const'; readonly value: boolean }
  | FieldItemNode
  | KeywordItemNode;

export function createAnd(items: readonly SigmaExpr[]): SigmaExpr {
  if (items.length === 1) return items[0]!;
  return Object.freeze({ kind: 'and', items: Object.freeze([...items]) });
}

export function createOr(items: readonly SigmaExpr[]): SigmaExpr {
  if (items.length === 1) return items[0]!;
  return Object.freeze({ kind: 'or', items: Object.freeze([...items]) });
}

export function createNot(item: SigmaExpr): SigmaExpr {
  return Object.freeze({ kind: 'not', item });
}

// ---- condition syntax tree (before identifiers are resolved) ----

export type ConditionNode =
  | { readonly kind: 'identifier'; readonly name: string; readonly offset: number; readonly length: number }
  | {
      readonly kind: 'selector';
      readonly quantifier: 'one' | 'all';
      /** null for `them`. */
      readonly pattern: string | null;
      readonly offset: number;
      readonly length: number;
    }
  | { readonly kind: 'not'; readonly operand: ConditionNode }
  | { readonly kind: 'and'; readonly left: ConditionNode; readonly right: ConditionNode }
  | { readonly kind: 'or'; readonly left: ConditionNode; readonly right: ConditionNode };

// ---- rules ----

export type SigmaLevel = 'informational' | 'low' | 'medium' | 'high' | 'critical';

export interface SigmaLogsource {
  readonly category?: string;
  readonly product?: string;
  readonly service?: string;
}

interface SigmaRuleBase {
  /** Rule id, or the name when the id is missing, or `<file>#<doc>` as a last resort. */
  readonly id: string;
  readonly name: string | undefined;
  readonly title: string;
  readonly description: string;
  readonly level: SigmaLevel | undefined;
  readonly tags: readonly string[];
  readonly file: string;
  readonly line: number;
}

export interface SigmaDetectionRule extends SigmaRuleBase {
  readonly kind: 'rule';
  readonly logsource: SigmaLogsource;
  /** Detection with filters folded in (`rule and not filter`). */
  readonly expr: SigmaExpr;
  readonly status: string | undefined;
}

export type CorrelationType = 'event_count' | 'value_count' | 'temporal' | 'temporal_ordered';

export type CountOp = 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq';

export interface CountCondition {
  readonly op: CountOp;
  readonly value: number;
}

export interface SigmaCorrelationRule extends SigmaRuleBase {
  readonly kind: 'correlation';
  readonly type: CorrelationType;
  /** Referenced rules (ids or names, as written). */
  readonly rules: readonly string[];
  readonly groupBy: readonly string[];
  readonly timespanMs: number;
  /** AND of the comparisons; empty for temporal types without condition (= all rules). */
  readonly condition: readonly CountCondition[];
  /** value_count only. */
  readonly valueField: string | undefined;
  /** alias → (rule id or name → field name). */
  readonly aliases: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly generate: boolean;
}

export interface SigmaFilterRule extends SigmaRuleBase {
  readonly kind: 'filter';
  readonly logsource: SigmaLogsource;
  readonly rules: readonly string[];
  readonly expr: SigmaExpr;
}

export type SigmaDocument = SigmaDetectionRule | SigmaCorrelationRule | SigmaFilterRule;
