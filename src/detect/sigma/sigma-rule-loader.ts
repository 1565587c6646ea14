/**
 * Sigma v2 YAML → SigmaDocument (detection rules, correlation rules, filters). A file may hold
 * several YAML documents (`---`), as correlation rules do. Every problem is returned as data
 * with its file, line and column; a document with errors is left out, the others still load.
 */
import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  type Document,
  type Node,
  type Pair,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import type { SourceProblem } from '../../model/errors.js';
import {
  createAnd,
  createNot,
  createOr,
  type ConditionNode,
  type CorrelationType,
  type CountCondition,
  type CountOp,
  type SigmaCorrelationRule,
  type SigmaDetectionRule,
  type SigmaDocument,
  type SigmaExpr,
  type SigmaFilterRule,
  type SigmaLevel,
  type SigmaLogsource,
} from './sigma-ast.js';
import { parseCondition, selectorMatches } from './sigma-condition-parser.js';
import type { SigmaFieldMapping } from './sigma-field-mapping.js';
import { buildFieldItem, splitFieldKey } from './sigma-modifiers.js';

export interface ParsedSigmaFile {
  readonly file: string;
  readonly documents: readonly SigmaDocument[];
  readonly problems: readonly SourceProblem[];
}

const LEVELS: readonly SigmaLevel[] = ['informational', 'low', 'medium', 'high', 'critical'];
const CORRELATION_TYPES: readonly CorrelationType[] = ['event_count', 'value_count', 'temporal', 'temporal_ordered'];
const UNSUPPORTED_CORRELATION_TYPES = ['value_sum', 'value_avg', 'value_percentile'];
const COUNT_OPS: readonly CountOp[] = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'];

/** Context for one YAML document: turns node offsets into problems. */
class DocContext {
  readonly problems: SourceProblem[] = [];
  constructor(
    readonly file: string,
    readonly lines: LineCounter,
    public rule: string | undefined,
  ) {}

  at(node: Node | Pair | null | undefined): { line: number; column: number } {
    const n = node !== null && node !== undefined && 'range' in node ? node : (node as Pair | undefined)?.key;
    const range = (n as Node | undefined)?.range;
    if (range === undefined || range === null) return { line: 0, column: 0 };
    const p = this.lines.linePos(range[0]);
    return { line: p.line, column: p.col };
  }

  atOffset(offset: number): { line: number; column: number } {
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  error(node: Node | Pair | null | undefined, message: string, length?: number): void {
    this.push(this.at(node), message, 'error', length);
  }

  warn(node: Node | Pair | null | undefined, message: string): void {
    this.push(this.at(node), message, 'warning');
  }

  push(pos: { line: number; column: number }, message: string, severity: 'error' | 'warning', length?: number): void {
    this.problems.push({
      file: this.file,
      ...(this.rule !== undefined ? { rule: this.rule } : {}),
      line: pos.line,
      column: pos.column,
      ...(length !== undefined ? { length } : {}),
      message,
      severity,
    });
  }

  get hasErrors(): boolean {
    return this.problems.some((p) => p.severity !== 'warning');
  }
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && String(p.key.value) === key) as Pair | undefined;
}

function valueNode(map: YAMLMap, key: string): Node | undefined {
  const v = pairOf(map, key)?.value;
  return v === null ? undefined : (v as Node | undefined);
}

function str(map: YAMLMap, key: string): string | undefined {
  const v = valueNode(map, key);
  return isScalar(v) && v.value !== null && v.value !== undefined ? String(v.value) : undefined;
}

function strList(map: YAMLMap, key: string): string[] {
  const v = valueNode(map, key);
  if (isSeq(v)) return v.items.filter(isScalar).map((s) => String((s as Scalar).value));
  if (isScalar(v) && v.value !== null) return [String(v.value)];
  return [];
}

export function parseSigmaText(text: string, file: string, mapping: SigmaFieldMapping): ParsedSigmaFile {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: SourceProblem[] = [];
  const documents: SigmaDocument[] = [];
  const list: readonly Document.Parsed[] = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) {
    problems.push({ file, line: 1, column: 1, message: 'not a YAML document stream', severity: 'error' });
  }
  list.forEach((doc, index) => {
    const ctx = new DocContext(file, lines, undefined);
    for (const e of doc.errors) {
      const pos = ctx.atOffset(e.pos[0]);
      ctx.push(pos, `YAML: ${e.message.split('\n')[0]}`, 'error');
    }
    for (const w of doc.warnings) ctx.push(ctx.atOffset(w.pos[0]), `YAML: ${w.message.split('\n')[0]}`, 'warning');
    const root = doc.contents;
    if (ctx.hasErrors) {
      problems.push(...ctx.problems);
      return;
    }
    if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return; // empty document (trailing ---)
    if (!isMap(root)) {
      ctx.error(root as Node, 'a Sigma document must be a mapping');
      problems.push(...ctx.problems);
      return;
    }
    const d = parseDocument(root, ctx, mapping, `${file}#${index + 1}`);
    problems.push(...ctx.problems);
    if (d !== null && !ctx.hasErrors) documents.push(d);
  });
  return { file, documents, problems };
}

function parseDocument(
  root: YAMLMap,
  ctx: DocContext,
  mapping: SigmaFieldMapping,
  fallbackId: string,
): SigmaDocument | null {
  const id = str(root, 'id');
  const name = str(root, 'name');
  ctx.rule = id ?? name;
  const title = str(root, 'title');
  if (title === undefined) ctx.error(root, "missing mandatory 'title'");
  const levelText = str(root, 'level');
  let level: SigmaLevel | undefined;
  if (levelText !== undefined) {
    if ((LEVELS as readonly string[]).includes(levelText.toLowerCase())) level = levelText.toLowerCase() as SigmaLevel;
    else
      ctx.warn(
        pairOf(root, 'level'),
        `unknown level '${levelText}' (expected ${LEVELS.join(', ')}); treated as informational`,
      );
  }
  const base = {
    id: id ?? name ?? fallbackId,
    name,
    title: title ?? '',
    description: str(root, 'description') ?? '',
    level,
    tags: strList(root, 'tags'),
    file: ctx.file,
    line: ctx.at(root).line,
  };
  if (pairOf(root, 'action') !== undefined) {
    ctx.error(
      pairOf(root, 'action'),
      "rule collections ('action: global/reset/repeat') are Sigma 1.0 syntax and not supported",
    );
    return null;
  }
  const corr = valueNode(root, 'correlation');
  if (corr !== undefined) return parseCorrelation(corr, ctx, base, root);
  const filter = valueNode(root, 'filter');
  if (filter !== undefined) {
    const logsource = parseLogsource(root, ctx);
    if (!isMap(filter)) {
      ctx.error(filter, "'filter' must be a mapping with rules, selections and condition");
      return null;
    }
    const rules = strList(filter, 'rules');
    if (rules.length === 0) ctx.error(pairOf(root, 'filter'), "filter needs 'rules': the rules it applies to");
    const expr = parseDetection(filter, ctx, mapping, new Set(['rules']));
    if (expr === null || logsource === null) return null;
    const out: SigmaFilterRule = { kind: 'filter', ...base, logsource, rules, expr };
    return Object.freeze(out);
  }
  const logsource = parseLogsource(root, ctx);
  const detection = valueNode(root, 'detection');
  if (detection === undefined) {
    ctx.error(root, "missing mandatory 'detection'");
    return null;
  }
  if (!isMap(detection)) {
    ctx.error(detection, "'detection' must be a mapping");
    return null;
  }
  const expr = parseDetection(detection, ctx, mapping, new Set());
  if (expr === null || logsource === null) return null;
  const out: SigmaDetectionRule = { kind: 'rule', ...base, logsource, expr, status: str(root, 'status') };
  return Object.freeze(out);
}

function parseLogsource(root: YAMLMap, ctx: DocContext): SigmaLogsource | null {
  const ls = valueNode(root, 'logsource');
  if (ls === undefined) {
    ctx.error(root, "missing mandatory 'logsource'");
    return null;
  }
  if (!isMap(ls)) {
    ctx.error(ls, "'logsource' must be a mapping");
    return null;
  }
  const out: { category?: string; product?: string; service?: string } = {};
  for (const k of ['category', 'product', 'service'] as const) {
    const v = str(ls, k);
    if (v !== undefined) out[k] = v.toLowerCase();
  }
  return Object.freeze(out);
}

/**
 * Detection (or filter) section → expression. Search identifiers become expressions, then the
 * condition (a string or a list of strings, OR-ed) is parsed and resolved against them.
 */
function parseDetection(
  section: YAMLMap,
  ctx: DocContext,
  mapping: SigmaFieldMapping,
  ignore: ReadonlySet<string>,
): SigmaExpr | null {
  const identifiers = new Map<string, SigmaExpr>();
  let conditionNode: Node | undefined;
  let ok = true;
  for (const pair of section.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (ignore.has(key)) continue;
    if (key === 'condition') {
      conditionNode = (pair.value ?? undefined) as Node | undefined;
      continue;
    }
    if (key === 'timeframe') {
      ctx.error(pair, "'timeframe' is Sigma 1.0 aggregation syntax; use a correlation rule's timespan");
      ok = false;
      continue;
    }
    const expr = parseSearchIdentifier((pair.value ?? null) as Node | null, pair, ctx, mapping);
    if (expr === null) ok = false;
    else identifiers.set(key, expr);
  }
  if (conditionNode === undefined) {
    ctx.error(section, "missing mandatory 'condition'");
    return null;
  }
  const condNodes: Scalar[] = [];
  if (isSeq(conditionNode)) {
    for (const item of conditionNode.items) {
      if (isScalar(item) && typeof item.value === 'string') condNodes.push(item);
      else ctx.error(item as Node, 'each condition must be a string');
    }
  } else if (isScalar(conditionNode) && typeof conditionNode.value === 'string') {
    condNodes.push(conditionNode);
  } else {
    ctx.error(conditionNode, 'condition must be a string or a list of strings');
    return null;
  }
  if (condNodes.length === 0) {
    ctx.error(conditionNode, 'condition is empty');
    return null;
  }
  const exprs: SigmaExpr[] = [];
  for (const c of condNodes) {
    const text = String(c.value);
    // Offset of the condition text inside the file: past the opening quote when quoted.
    const start = (c.range?.[0] ?? 0) + (c.type === 'QUOTE_DOUBLE' || c.type === 'QUOTE_SINGLE' ? 1 : 0);
    const exact = c.type === 'PLAIN' || c.type === 'QUOTE_DOUBLE' || c.type === 'QUOTE_SINGLE';
    const where = (offset: number): { line: number; column: number } =>
      exact ? ctx.atOffset(start + offset) : ctx.at(c);
    const parsed = parseCondition(text);
    for (const e of parsed.errors) ctx.push(where(e.offset), `condition: ${e.message}`, 'error', e.length);
    if (parsed.value === null) {
      ok = false;
      continue;
    }
    // An identifier that failed to build was already reported; resolving would only add
    // a misleading "unknown identifier".
    if (!ok) continue;
    const resolved = resolveCondition(parsed.value, identifiers, (offset, length, message) =>
      ctx.push(where(offset), `condition: ${message}`, 'error', length),
    );
    if (resolved === null) ok = false;
    else exprs.push(resolved);
  }
  if (!ok) return null;
  for (const name of identifiers.keys()) {
    const used = condNodes.some((c) => usesIdentifier(String(c.value), name));
    if (!used) ctx.warn(pairOf(section, name), `search identifier '${name}' is not used by the condition`);
  }
  return createOr(exprs);
}

function usesIdentifier(condition: string, name: string): boolean {
  const parsed = parseCondition(condition);
  const walk = (n: ConditionNode | null): boolean => {
    if (n === null) return false;
    switch (n.kind) {
      case 'identifier':
        return n.name === name;
      case 'selector':
        return selectorMatches(n.pattern, name);
      case 'not':
        return walk(n.operand);
      case 'and':
      case 'or':
        return walk(n.left) || walk(n.right);
    }
  };
  return walk(parsed.value);
}

export function resolveCondition(
  node: ConditionNode,
  identifiers: ReadonlyMap<string, SigmaExpr>,
  report: (offset: number, length: number, message: string) => void,
): SigmaExpr | null {
  switch (node.kind) {
    case 'identifier': {
      const e = identifiers.get(node.name);
      if (e === undefined) {
        report(node.offset, node.length, `unknown search identifier '${node.name}'`);
        return null;
      }
      return e;
    }
    case 'selector': {
      const matched = [...identifiers.entries()].filter(([k]) => selectorMatches(node.pattern, k)).map(([, v]) => v);
      if (matched.length === 0) {
        report(
          node.offset,
          node.length,
          node.pattern === null
            ? "'them' selects no search identifier"
            : `pattern '${node.pattern}' matches no search identifier`,
        );
        return null;
      }
      return node.quantifier === 'all' ? createAnd(matched) : createOr(matched);
    }
    case 'not': {
      const e = resolveCondition(node.operand, identifiers, report);
      return e === null ? null : createNot(e);
    }
    case 'and':
    case 'or': {
      const l = resolveCondition(node.left, identifiers, report);
      const r = resolveCondition(node.right, identifiers, report);
      if (l === null || r === null) return null;
      // Flatten chains so `a and b and c` is one AND node.
      const flat = (e: SigmaExpr): readonly SigmaExpr[] =>
        e.kind === node.kind ? (e as { items: readonly SigmaExpr[] }).items : [e];
      const items = [...flat(l), ...flat(r)];
      return node.kind === 'and' ? createAnd(items) : createOr(items);
    }
  }
}

/** One search identifier: a map (AND), a list of maps (OR), or a keyword list. */
function parseSearchIdentifier(
  node: Node | null,
  pair: Pair,
  ctx: DocContext,
  mapping: SigmaFieldMapping,
): SigmaExpr | null {
  const pos = ctx.at(pair);
  if (isMap(node)) {
    // `'|all': [..]` / `'|contains': [..]`: keyword list with modifiers.
    if (node.items.length === 1 && isScalar(node.items[0]!.key) && String(node.items[0]!.key.value).startsWith('|')) {
      const k = String(node.items[0]!.key.value);
      return keywordItem(
        (node.items[0]!.value ?? null) as Node | null,
        k.slice(1).split('|'),
        node.items[0]!,
        ctx,
        mapping,
      );
    }
    return parseFieldMap(node, ctx, mapping);
  }
  if (isSeq(node)) {
    if (node.items.length === 0) {
      ctx.error(pair, 'search identifier has an empty list');
      return null;
    }
    if (node.items.every((x) => isMap(x))) {
      const maps = node.items.map((m) => parseFieldMap(m as YAMLMap, ctx, mapping));
      if (maps.some((m) => m === null)) return null;
      return createOr(maps as SigmaExpr[]);
    }
    if (node.items.every((x) => isScalar(x))) return keywordItem(node, [], pair, ctx, mapping);
    ctx.error(pair, 'a search identifier list must hold only maps or only keyword values');
    return null;
  }
  if (isScalar(node) && node.value !== null) return keywordItem(node, [], pair, ctx, mapping);
  ctx.push(pos, 'search identifier must be a map, a list of maps or a list of keywords', 'error');
  return null;
}

function keywordItem(
  node: Node | null,
  modifiers: string[],
  at: Pair | Node,
  ctx: DocContext,
  mapping: SigmaFieldMapping,
): SigmaExpr | null {
  const raw = node === null ? null : (node as Node).toJSON();
  const pos = ctx.at(at);
  const res = buildFieldItem(
    mapping.resolve('keywords'),
    modifiers.filter((m) => m.length > 0),
    raw,
    mapping,
  );
  if (!res.ok) {
    ctx.push(pos, `keywords: ${res.message}`, 'error');
    return null;
  }
  if (res.item.values.some((v) => v.kind !== 'string' && v.kind !== 'regex' && v.kind !== 'present')) {
    ctx.push(pos, 'keywords support string values (and re) only', 'error');
    return null;
  }
  // Keywords search the whole message: a bare keyword matches anywhere in it.
  const values = res.item.values.map((v) => {
    if (v.kind !== 'string') return v;
    const parts = [...v.pattern.parts];
    if (parts[0]?.kind !== 'star') parts.unshift({ kind: 'star' });
    if (parts[parts.length - 1]?.kind !== 'star') parts.push({ kind: 'star' });
    return Object.freeze({ ...v, pattern: Object.freeze({ parts: Object.freeze(parts) }) });
  });
  return Object.freeze({
    kind: 'keyword',
    values: Object.freeze(values),
    all: res.item.all,
    line: pos.line,
    column: pos.column,
  });
}

function parseFieldMap(map: YAMLMap, ctx: DocContext, mapping: SigmaFieldMapping): SigmaExpr | null {
  if (map.items.length === 0) {
    ctx.error(map, 'empty selection map');
    return null;
  }
  const items: SigmaExpr[] = [];
  let ok = true;
  for (const pair of map.items) {
    if (!isScalar(pair.key)) {
      ctx.error(pair, 'field names must be strings');
      ok = false;
      continue;
    }
    const key = String(pair.key.value);
    const { field, modifiers } = splitFieldKey(key);
    if (field.length === 0) {
      ctx.error(pair, `'${key}': missing field name (keyword modifiers belong in a map of their own)`);
      ok = false;
      continue;
    }
    const value = pair.value === null || pair.value === undefined ? null : (pair.value as Node).toJSON();
    const res = buildFieldItem(mapping.resolve(field), modifiers, value, mapping);
    const pos = ctx.at(pair);
    if (!res.ok) {
      ctx.push(pos, `${key}: ${res.message}`, 'error', key.length);
      ok = false;
      continue;
    }
    items.push(
      Object.freeze({ kind: 'field', field: mapping.resolve(field), ...res.item, line: pos.line, column: pos.column }),
    );
  }
  return ok ? createAnd(items) : null;
}

function parseCorrelation(
  node: Node,
  ctx: DocContext,
  base: Omit<
    SigmaCorrelationRule,
    'kind' | 'type' | 'rules' | 'groupBy' | 'timespanMs' | 'condition' | 'valueField' | 'aliases' | 'generate'
  >,
  root: YAMLMap,
): SigmaCorrelationRule | null {
  if (!isMap(node)) {
    ctx.error(node, "'correlation' must be a mapping");
    return null;
  }
  const typeText = str(node, 'type');
  if (typeText === undefined) {
    ctx.error(node, "correlation needs 'type'");
    return null;
  }
  if (UNSUPPORTED_CORRELATION_TYPES.includes(typeText)) {
    ctx.error(
      pairOf(node, 'type'),
      `correlation type '${typeText}' is not supported (supported: ${CORRELATION_TYPES.join(', ')})`,
    );
    return null;
  }
  if (!(CORRELATION_TYPES as readonly string[]).includes(typeText)) {
    ctx.error(pairOf(node, 'type'), `unknown correlation type '${typeText}'`);
    return null;
  }
  const type = typeText as CorrelationType;
  const rules = strList(node, 'rules');
  if (rules.length === 0) ctx.error(node, "correlation needs 'rules'");
  if ((type === 'temporal' || type === 'temporal_ordered') && rules.length < 2)
    ctx.error(pairOf(node, 'rules'), `${type} needs at least two rules`);
  const groupBy = strList(node, 'group-by');
  const tsText = str(node, 'timespan');
  const timespanMs = tsText === undefined ? null : parseTimespan(tsText);
  if (tsText === undefined) ctx.error(node, "correlation needs 'timespan' (e.g. 5m)");
  else if (timespanMs === null)
    ctx.error(
      pairOf(node, 'timespan'),
      `invalid timespan '${tsText}' (expected a number followed by s, m, h, d, w, M or y)`,
    );
  const condition: CountCondition[] = [];
  let valueField: string | undefined;
  const condNode = valueNode(node, 'condition');
  if (condNode !== undefined) {
    if (!isMap(condNode)) ctx.error(condNode, "correlation 'condition' must be a mapping such as {gte: 10}");
    else
      for (const p of condNode.items) {
        const k = isScalar(p.key) ? String(p.key.value) : '';
        const v = isScalar(p.value) ? p.value.value : undefined;
        if (k === 'field') {
          if (typeof v === 'string') valueField = v;
          else ctx.error(p, "condition 'field' must be a field name");
        } else if ((COUNT_OPS as readonly string[]).includes(k)) {
          if (typeof v === 'number' && Number.isFinite(v)) condition.push({ op: k as CountOp, value: v });
          else ctx.error(p, `condition '${k}' needs a number`);
        } else ctx.error(p, `unknown correlation condition '${k}' (expected ${COUNT_OPS.join(', ')} or field)`);
      }
  }
  if ((type === 'event_count' || type === 'value_count') && condition.length === 0)
    ctx.error(node, `${type} needs a condition such as {gte: 10}`);
  if (type === 'value_count' && valueField === undefined)
    ctx.error(condNode ?? node, "value_count needs 'field' in its condition");
  if (type !== 'value_count' && valueField !== undefined)
    ctx.warn(condNode ?? node, `'field' is only used by value_count; ignored for ${type}`);
  const aliases: Record<string, Record<string, string>> = {};
  const aliasNode = valueNode(node, 'aliases');
  if (isMap(aliasNode)) {
    for (const p of aliasNode.items) {
      const alias = isScalar(p.key) ? String(p.key.value) : '';
      if (!isMap(p.value)) {
        ctx.error(p, `alias '${alias}' must map rule names to field names`);
        continue;
      }
      const m: Record<string, string> = {};
      for (const q of (p.value as YAMLMap).items)
        if (isScalar(q.key) && isScalar(q.value)) m[String(q.key.value)] = String(q.value.value);
      aliases[alias] = m;
    }
  }
  const gen = valueNode(root, 'generate') ?? valueNode(node, 'generate');
  const generate = isScalar(gen) && gen.value === true;
  if (ctx.hasErrors || timespanMs === null) return null;
  const out: SigmaCorrelationRule = {
    kind: 'correlation',
    ...base,
    type,
    rules,
    groupBy,
    timespanMs,
    condition,
    valueField,
    aliases,
    generate,
  };
  return Object.freeze(out);
}

const TIMESPAN_UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  M: 30 * 86_400_000,
  y: 365 * 86_400_000,
};

export function parseTimespan(s: string): number | null {
  const m = /^(\d+)([smhdwMy])$/.exec(s.trim());
  if (m === null) return null;
  const n = Number(m[1]) * TIMESPAN_UNIT_MS[m[2]!]!;
  return n > 0 && Number.isSafeInteger(n) ? n : null;
}
