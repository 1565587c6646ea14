/**
 * Compiles a macro-resolved condition tree into one closure `(event) => boolean`, once per
 * rule. Field names, arguments and operator/type combinations are checked here (libsinsp
 * `flt_is_comparable`): errors are data with the node's offset. Semantics: an absent field
 * makes every check false, `exists` included (grammar.md §4).
 */
import type { AuditEvent } from '../../model/audit-event.js';
import type {
  CheckNode,
  ConditionKind,
  ConditionNode,
  FieldExprNode,
  Operator,
  SpanNode,
  StringValueNode,
  TransformerName,
} from './falco-condition-ast.js';
import {
  falcoField,
  parseFieldArg,
  type FalcoFieldDef,
  type FalcoFieldType,
  type FieldExtractor,
} from './falco-fields.js';
import { asciiLower, compileGlob, compilePathMatch, compileRegex } from './falco-operators.js';

export type Predicate = (event: AuditEvent) => boolean;

export interface ConditionCompileError {
  readonly offset: number;
  readonly length: number;
  /** The macro whose text `offset` is in, when the error is inside a substituted macro. */
  readonly origin?: string;
  readonly message: string;
  /** Unknown fields / unknown macros: what `skip-if-unknown-filter` turns into a warning. */
  readonly unknownFilter?: boolean;
}

export interface ConditionCompileResult {
  readonly value: Predicate | null;
  readonly errors: readonly ConditionCompileError[];
}

const LIST_FIELD_OPS: ReadonlySet<Operator> = new Set(['exists', 'in', 'intersects']);
const NUMERIC_OPS: ReadonlySet<Operator> = new Set(['exists', '=', '!=', '<', '<=', '>', '>=', 'in', 'intersects']);
const BYTE_OPS: ReadonlySet<Operator> = new Set(['bcontains', 'bstartswith']);

export function compileCondition(node: ConditionNode): ConditionCompileResult {
  const errors: ConditionCompileError[] = [];
  const value = compileNode(node, errors);
  return { value: errors.length === 0 ? value : null, errors };
}

const NEVER: Predicate = () => false;

// Rules share most of their conditions through macros (kevt, pod, kcreate, …). Every distinct
// subtree (same text, ignoring positions) compiles to one predicate memoized on the last event,
// so on one event each shared check or macro body runs once however many rules contain it.
const SHARED_PREDICATES = new Map<string, Predicate>();

function memoPredicate(p: Predicate): Predicate {
  let last: AuditEvent | null = null;
  let result = false;
  return (e) => {
    if (e !== last) {
      result = p(e);
      last = e;
    }
    return result;
  };
}

/**
 * Structural key of a subtree: kinds, fields, operators and values, without positions. Each
 * distinct key is interned as a short id (`#12`) that parents embed instead of their children's
 * full text, and keys are cached per node, so keying a tree is linear in its size even when
 * macros nest deeply (full-text keys would be quadratic).
 */
export function conditionKey(node: ConditionNode): string {
  const cached = NODE_KEYS.get(node);
  if (cached !== undefined) return cached;
  let raw: string;
  switch (node.kind) {
    case 'and':
    case 'or':
      raw = `${node.kind}(${node.children.map(conditionKey).join(',')})`;
      break;
    case 'not':
      raw = `not(${conditionKey(node.child)})`;
      break;
    case 'macro':
      raw = `@${node.name}`;
      break;
    case 'check':
      raw = JSON.stringify([exprKey(node.field), node.op, node.modifier, valueKey(node.value)]);
      break;
  }
  let id = KEY_IDS.get(raw);
  if (id === undefined) {
    // Past the cap the full text is the key ('#' never starts a full key, so no collision).
    id = KEY_IDS.size < KEY_CAP ? `#${KEY_IDS.size}` : raw;
    if (KEY_IDS.size < KEY_CAP) KEY_IDS.set(raw, id);
  }
  NODE_KEYS.set(node, id);
  return id;
}

const KEY_IDS = new Map<string, string>();
const KEY_CAP = 100_000;
const NODE_KEYS = new WeakMap<ConditionNode, string>();

function exprKey(e: FieldExprNode): string {
  return e.kind === 'field' ? `${e.name}[${e.arg ?? ''}]` : `${e.name}(${exprKey(e.operand)})`;
}

function valueKey(v: CheckNode['value']): unknown {
  if (v === null) return null;
  switch (v.kind) {
    case 'string':
      return v.value;
    case 'list':
      return v.values.map((x) => x.value);
    case 'listref':
      return { ref: v.name };
    case 'fieldvalue':
      return { field: exprKey(v.expr) };
  }
}

function compileNode(node: ConditionNode, errors: ConditionCompileError[]): Predicate {
  const key = node.kind === 'macro' ? null : conditionKey(node);
  const shared = key === null ? undefined : SHARED_PREDICATES.get(key);
  if (shared !== undefined) return shared;
  const before = errors.length;
  const p = compileNodeUncached(node, errors);
  // Only error-free subtrees are shared (errors must be reported for every rule).
  if (key !== null && errors.length === before && SHARED_PREDICATES.size < SHARED_CAP) {
    const m = memoPredicate(p);
    SHARED_PREDICATES.set(key, m);
    return m;
  }
  return p;
}

function compileNodeUncached(node: ConditionNode, errors: ConditionCompileError[]): Predicate {
  const handlers: { [K in ConditionKind]: (n: Extract<ConditionNode, { kind: K }>) => Predicate } = {
    and: (n) => all(n.children.map((c) => compileNode(c, errors))),
    or: (n) => any(n.children.map((c) => compileNode(c, errors))),
    not: (n) => {
      const inner = compileNode(n.child, errors);
      return (e) => !inner(e);
    },
    macro: (n) => {
      errors.push({ ...at(n.span), message: `Undefined macro '${n.name}' used in filter.`, unknownFilter: true });
      return NEVER;
    },
    check: (n) => compileCheck(n, errors) ?? NEVER,
  };
  return (handlers[node.kind] as (n: ConditionNode) => Predicate)(node);
}

function at(s: SpanNode): { offset: number; length: number; origin?: string } {
  return s.origin === undefined
    ? { offset: s.offset, length: s.length }
    : { offset: s.offset, length: s.length, origin: s.origin };
}

function all(ps: Predicate[]): Predicate {
  if (ps.length === 1) return ps[0]!;
  if (ps.length === 2) {
    const [a, b] = ps as [Predicate, Predicate];
    return (e) => a(e) && b(e);
  }
  return (e) => {
    for (let i = 0; i < ps.length; i++) if (!ps[i]!(e)) return false;
    return true;
  };
}

function any(ps: Predicate[]): Predicate {
  if (ps.length === 1) return ps[0]!;
  if (ps.length === 2) {
    const [a, b] = ps as [Predicate, Predicate];
    return (e) => a(e) || b(e);
  }
  return (e) => {
    for (let i = 0; i < ps.length; i++) if (ps[i]!(e)) return true;
    return false;
  };
}

// One memoized extractor per distinct field reference, shared by every rule and output: rules
// in a pack test the same fields over and over on one event (kevt, ka.user.name, …), and the
// last (event, value) pair makes the repeats a pointer comparison. Events are immutable.
const SHARED_EXTRACTORS = new Map<string, FieldExtractor>();
const SHARED_CAP = 10_000;

function memoize(extract: FieldExtractor): FieldExtractor {
  let last: AuditEvent | null = null;
  let value: ReturnType<FieldExtractor>;
  return (e) => {
    if (e !== last) {
      value = extract(e);
      last = e;
    }
    return value;
  };
}

/** Compile a field reference (name + argument) to an extractor; shared with the output formatter. */
export function compileFieldRef(
  name: string,
  arg: string | null,
): { ok: true; def: FalcoFieldDef; extract: FieldExtractor } | { ok: false; message: string; unknown: boolean } {
  const def = falcoField(name);
  if (def === undefined)
    return { ok: false, message: `filter_check called with nonexistent field ${name}`, unknown: true };
  const parsed = parseFieldArg(def, arg);
  if (!parsed.ok) return { ok: false, message: parsed.message, unknown: false };
  const key = arg === null ? name : `${name}[${arg}]`;
  let extract = SHARED_EXTRACTORS.get(key);
  if (extract === undefined) {
    extract = memoize(def.compile(parsed.value));
    if (SHARED_EXTRACTORS.size < SHARED_CAP) SHARED_EXTRACTORS.set(key, extract);
  }
  return { ok: true, def, extract };
}

/** What a compiled field expression yields: its type, whether it is a list, and the extractor. */
interface FieldShape {
  readonly name: string;
  readonly type: FalcoFieldType;
  readonly list: boolean;
}

// Transformers apply per value (per element for list fields); undefined means extraction failed.
const TRANSFORM = {
  tolower: (s: string) => asciiLower(s),
  toupper: (s: string) => (/[a-z]/.test(s) ? s.replace(/[a-z]+/g, (m) => m.toUpperCase()) : s),
  b64: (s: string) => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
    return Buffer.from(s, 'base64').toString('utf8');
  },
  basename: (s: string) => s.slice(s.lastIndexOf('/') + 1),
} as const satisfies Record<Exclude<TransformerName, 'len'>, (s: string) => string | undefined>;

function compileFieldExpr(
  expr: FieldExprNode,
  errors: ConditionCompileError[],
): { shape: FieldShape; extract: FieldExtractor } | null {
  if (expr.kind === 'field') {
    const ref = compileFieldRef(expr.name, expr.arg);
    if (!ref.ok) {
      errors.push({ ...at(expr.span), message: ref.message, ...(ref.unknown ? { unknownFilter: true } : {}) });
      return null;
    }
    return { shape: ref.def, extract: ref.extract };
  }
  const inner = compileFieldExpr(expr.operand, errors);
  if (inner === null) return null;
  const name = `${expr.name}(${inner.shape.name})`;
  const get = inner.extract;
  if (expr.name === 'len') {
    // Byte length of a string (UTF-8, as libsinsp counts), or the number of values of a list.
    return {
      shape: { name, type: 'uint64', list: false },
      extract: (e) => {
        const v = get(e);
        return v === undefined
          ? undefined
          : typeof v === 'string'
            ? String(Buffer.byteLength(v, 'utf8'))
            : String(v.length);
      },
    };
  }
  if (inner.shape.type !== 'string') {
    errors.push({
      ...at(expr.span),
      message: `transformer '${expr.name}' is not supported on numeric field '${inner.shape.name}'`,
    });
    return null;
  }
  const f = TRANSFORM[expr.name];
  const extract: FieldExtractor = inner.shape.list
    ? (e) => {
        const v = get(e) as readonly string[] | undefined;
        if (v === undefined) return undefined;
        const out: string[] = [];
        for (const x of v) {
          const t = f(x);
          if (t === undefined) return undefined;
          out.push(t);
        }
        return out;
      }
    : (e) => {
        const v = get(e) as string | undefined;
        return v === undefined ? undefined : f(v);
      };
  return { shape: { name, type: 'string', list: inner.shape.list }, extract };
}

const FIELD_VALUE_OPS: ReadonlySet<Operator> = new Set([
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'contains',
  'icontains',
  'startswith',
  'endswith',
  'in',
  'intersects',
]);

function compileCheck(n: CheckNode, errors: ConditionCompileError[]): Predicate | null {
  const lhs = compileFieldExpr(n.field, errors);
  if (lhs === null) return null;
  const { shape: def, extract } = lhs;
  const fail = (message: string, s: SpanNode = n.span): null => {
    errors.push({ ...at(s), message });
    return null;
  };
  if (def.list && !LIST_FIELD_OPS.has(n.op))
    return fail(
      `'${n.op}' operator not supported for list filters (field '${def.name}' is a list: use in, intersects or exists)`,
    );
  if (def.type === 'uint64' && !NUMERIC_OPS.has(n.op))
    return fail(`'${n.op}' operator not supported for numeric field '${def.name}'`);
  if (BYTE_OPS.has(n.op))
    return fail(`'${n.op}' operator not supported for field '${def.name}' of type string (byte buffers only)`);
  if (n.op === 'exists') return (e) => extract(e) !== undefined;

  const value = n.value;
  if (value === null) return fail(`operator '${n.op}' needs a value`);
  if (value.kind === 'listref')
    return fail(`'${value.name}' is not a defined list; write a parenthesized list after '${n.op}'`, value.span);
  if (value.kind === 'fieldvalue') {
    const rhs = compileFieldExpr(value.expr, errors);
    if (rhs === null) return null;
    if (def.list || rhs.shape.list)
      return fail(`comparing a field with another field (val()) needs single-valued fields`, value.span);
    if (!FIELD_VALUE_OPS.has(n.op) || n.modifier !== null)
      return fail(`'${n.op}' cannot compare with a field value`, value.span);
    const test = dynamicTest(n.op, def.type === 'uint64' && rhs.shape.type === 'uint64' ? cmpUint : cmpStr);
    const other = rhs.extract;
    return (e) => {
      const l = extract(e);
      if (l === undefined) return false;
      const r = other(e);
      return r !== undefined && test(l as string, r as string);
    };
  }

  const normalize =
    def.type === 'uint64' ? (v: StringValueNode) => canonicalUint(v.value) : (v: StringValueNode) => v.value;
  if (value.kind === 'list') {
    const items: string[] = [];
    for (const v of value.values) {
      const c = normalize(v);
      if (c === null) return fail(`'${v.value}' is not a valid number for field '${def.name}'`, v.span);
      items.push(c);
    }
    if (n.modifier !== null) {
      const tests: ((s: string) => boolean)[] = [];
      for (const item of items) {
        const t = scalarTest(n.op, item, def, (m) => fail(m, n.span));
        if (t === null) return null;
        tests.push(t);
      }
      return withScalar(extract, modifierTest(n.modifier, tests));
    }
    if (n.op === 'pmatch') return withScalar(extract, compilePathMatch(items));
    const set = new Set(items);
    if (def.list) {
      if (n.op === 'in') {
        return (e) => {
          const v = extract(e) as readonly string[] | undefined;
          if (v === undefined) return false;
          for (let i = 0; i < v.length; i++) if (!set.has(v[i]!)) return false;
          return true;
        };
      }
      return (e) => {
        const v = extract(e) as readonly string[] | undefined;
        if (v === undefined) return false;
        for (let i = 0; i < v.length; i++) if (set.has(v[i]!)) return true;
        return false;
      };
    }
    // On a single-valued field `in` and `intersects` are the same test.
    return withScalar(extract, (s) => set.has(s));
  }
  const rhs = normalize(value);
  if (rhs === null) return fail(`'${value.value}' is not a valid number for field '${def.name}'`, value.span);
  const t = scalarTest(n.op, rhs, def, (m) => fail(m, value.span));
  return t === null ? null : withScalar(extract, t);
}

function withScalar(extract: FieldExtractor, test: (s: string) => boolean): Predicate {
  return (e) => {
    const v = extract(e);
    return v !== undefined && test(v as string);
  };
}

function modifierTest(
  mod: 'oneof' | 'anyof' | 'allof',
  tests: readonly ((s: string) => boolean)[],
): (s: string) => boolean {
  switch (mod) {
    case 'anyof':
      return (s) => tests.some((t) => t(s));
    case 'allof':
      return (s) => tests.every((t) => t(s));
    case 'oneof':
      return (s) => {
        let n = 0;
        for (const t of tests) if (t(s) && ++n > 1) return false;
        return n === 1;
      };
  }
}

/** Unsigned integers compare by (length, text) once both sides are canonical decimal strings. */
function cmpUint(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function dynamicTest(op: Operator, cmp: (a: string, b: string) => number): (l: string, r: string) => boolean {
  switch (op) {
    case '!=':
      return (l, r) => l !== r;
    case '<':
      return (l, r) => cmp(l, r) < 0;
    case '<=':
      return (l, r) => cmp(l, r) <= 0;
    case '>':
      return (l, r) => cmp(l, r) > 0;
    case '>=':
      return (l, r) => cmp(l, r) >= 0;
    case 'contains':
      return (l, r) => l.includes(r);
    case 'icontains':
      return (l, r) => asciiLower(l).includes(asciiLower(r));
    case 'startswith':
      return (l, r) => l.startsWith(r);
    case 'endswith':
      return (l, r) => l.endsWith(r);
    default:
      return (l, r) => l === r; // =, in, intersects against one value
  }
}

function scalarTest(
  op: Operator,
  rhs: string,
  def: FieldShape,
  fail: (m: string) => null,
): ((s: string) => boolean) | null {
  const cmp = def.type === 'uint64' ? cmpUint : cmpStr;
  switch (op) {
    case '=':
      return (s) => s === rhs;
    case '!=':
      return (s) => s !== rhs;
    case '<':
      return (s) => cmp(s, rhs) < 0;
    case '<=':
      return (s) => cmp(s, rhs) <= 0;
    case '>':
      return (s) => cmp(s, rhs) > 0;
    case '>=':
      return (s) => cmp(s, rhs) >= 0;
    case 'contains':
      return (s) => s.includes(rhs);
    case 'icontains': {
      const low = asciiLower(rhs);
      return (s) => asciiLower(s).includes(low);
    }
    case 'startswith':
      return (s) => s.startsWith(rhs);
    case 'endswith':
      return (s) => s.endsWith(rhs);
    case 'glob':
      return compileGlob(rhs, false);
    case 'iglob':
      return compileGlob(rhs, true);
    case 'regex': {
      const r = compileRegex(rhs);
      return r.ok ? r.test : fail(r.message);
    }
    case 'in':
    case 'intersects':
      return (s) => s === rhs;
    case 'pmatch':
      return compilePathMatch([rhs]);
    case 'bcontains':
    case 'bstartswith':
    case 'exists':
      return fail(`'${op}' cannot be used here`);
  }
}

/** Canonical decimal form of a condition number (decimal or 0x hex), or null if not a uint. */
function canonicalUint(text: string): string | null {
  let t = text.startsWith('+') ? text.slice(1) : text;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) return BigInt(t).toString();
  if (!/^[0-9]+$/.test(t)) return null;
  t = t.replace(/^0+(?=\d)/, '');
  return t;
}
