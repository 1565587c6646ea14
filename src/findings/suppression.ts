/**
 * Suppression rules, GuardDuty style: a named set of criteria over finding fields. A finding that
 * matches every criterion of a rule is kept and marked (suppressed: true, suppressedBy: name),
 * never dropped, as GuardDuty archives rather than deletes.
 *
 * File format (YAML):
 *
 *   rules:                       # or a top-level list
 *     - name: ci-exec            # required: [A-Za-z0-9._-], 3..64 characters (GuardDuty's rule)
 *       description: CI runs smoke tests in kube-system
 *       criteria:                # or GuardDuty's findingCriteria: { criterion: {...} }
 *         type: { eq: [Execution:Kubernetes/ExecInKubeSystemPod] }
 *         resource.kubernetesDetails.kubernetesUserDetails.username: { prefix: "system:serviceaccount:ci:" }
 *         severity: { lt: 7 }
 *
 * Fields: GuardDuty's filter names (resolved over the GuardDuty form of the finding, arrays
 * flattened so `...containers.imagePrefix` matches any container), our own finding fields
 * (`actor.username`, `resource.namespace`, `details.…`), and short names (SHORT_FIELDS).
 * Operators: eq/equals, neq/notEquals, prefix, gt/gte/lt/lte (and greaterThan … lessThanOrEqual),
 * matches/notMatches (GuardDuty wildcards `*` and `?`).
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, isPair, type Node as YamlNode } from 'yaml';
import type { Finding } from '../model/finding.js';
import { ParseError, UsageError, formatProblem, type Result, type SourceProblem } from '../model/errors.js';
import { toGuardDutyFinding } from './formats/guardduty-format.js';

export type SuppressionOp = 'eq' | 'neq' | 'prefix' | 'gt' | 'gte' | 'lt' | 'lte' | 'matches' | 'notMatches';

const OP_ALIASES = {
  eq: 'eq',
  equals: 'eq',
  neq: 'neq',
  notequals: 'neq',
  prefix: 'prefix',
  startswith: 'prefix',
  gt: 'gt',
  greaterthan: 'gt',
  gte: 'gte',
  greaterthanorequal: 'gte',
  lt: 'lt',
  lessthan: 'lt',
  lte: 'lte',
  lessthanorequal: 'lte',
  matches: 'matches',
  notmatches: 'notMatches',
} as const satisfies Record<string, SuppressionOp>;

export interface SuppressionCondition {
  readonly field: string;
  readonly op: SuppressionOp;
  readonly values: readonly (string | number)[];
}

export interface SuppressionRule {
  readonly name: string;
  readonly description?: string;
  readonly conditions: readonly SuppressionCondition[];
  readonly line: number;
}

/** Short names → how to read them. */
const SHORT_FIELDS: Record<string, (f: Finding, gd: Record<string, unknown>) => unknown> = {
  type: (f) => f.type,
  severity: (f) => [f.severity.score, f.severity.label],
  rule: (f) => f.rule,
  engine: (f) => f.engine,
  cluster: (f) => f.cluster,
  title: (f) => f.title,
  count: (f) => f.count,
  username: (f) => f.actor.username,
  uid: (f) => f.actor.uid,
  groups: (f) => f.actor.groups,
  iamArn: (f) => f.actor.iamArn,
  impersonatedUser: (f) => f.actor.impersonatedUser,
  sourceIP: (f) => f.actor.sourceIPs,
  sourceIPs: (f) => f.actor.sourceIPs,
  userAgent: (f) => f.actor.userAgent,
  namespace: (f) => f.resource.namespace,
  resource: (f) => f.resource.resource,
  subresource: (f) => f.resource.subresource,
  name: (f) => f.resource.name,
  verb: (f) => f.evidence.map((e) => e.verb),
  requestUri: (f) => f.evidence.map((e) => e.requestURI),
  image: (_f, gd) => resolvePath(gd, 'resource.kubernetesDetails.kubernetesWorkloadDetails.containers.image'),
  imagePrefix: (_f, gd) =>
    resolvePath(gd, 'resource.kubernetesDetails.kubernetesWorkloadDetails.containers.imagePrefix'),
  workloadName: (_f, gd) => resolvePath(gd, 'resource.kubernetesDetails.kubernetesWorkloadDetails.name'),
  workloadType: (_f, gd) => resolvePath(gd, 'resource.kubernetesDetails.kubernetesWorkloadDetails.type'),
  threatListName: (_f, gd) => resolvePath(gd, 'service.evidence.threatIntelligenceDetails.threatListName'),
  tactic: (f) => f.mitre?.tactic ?? null,
  technique: (f) => f.mitre?.technique ?? null,
};

const GD_ROOTS = new Set([
  'accountId',
  'arn',
  'createdAt',
  'description',
  'id',
  'partition',
  'region',
  'resource',
  'schemaVersion',
  'service',
  'severity',
  'title',
  'type',
  'updatedAt',
  'confidence',
]);
const NATIVE_ROOTS = new Set([
  'id',
  'type',
  'engine',
  'rule',
  'title',
  'description',
  'severity',
  'priority',
  'output',
  'cluster',
  'count',
  'firstSeen',
  'lastSeen',
  'actor',
  'resource',
  'mitre',
  'tags',
  'evidence',
  'details',
]);

export function isKnownField(field: string): boolean {
  if (Object.hasOwn(SHORT_FIELDS, field)) return true;
  const root = field.split('.')[0]!;
  return GD_ROOTS.has(root) || NATIVE_ROOTS.has(root);
}

/** Values at a dotted path, arrays flattened at every level. */
export function resolvePath(obj: unknown, path: string): unknown[] {
  let cur: unknown[] = [obj];
  for (const seg of path.split('.')) {
    const next: unknown[] = [];
    for (const c of cur) {
      if (Array.isArray(c)) {
        for (const x of c)
          if (typeof x === 'object' && x !== null && Object.hasOwn(x, seg))
            next.push((x as Record<string, unknown>)[seg]);
      } else if (typeof c === 'object' && c !== null && Object.hasOwn(c, seg))
        next.push((c as Record<string, unknown>)[seg]);
    }
    cur = next;
    if (cur.length === 0) return [];
  }
  const flat: unknown[] = [];
  for (const c of cur) {
    if (Array.isArray(c)) flat.push(...c);
    else if (c !== null && c !== undefined) flat.push(c);
  }
  return flat;
}

function valuesOf(f: Finding, gd: Record<string, unknown>, field: string): unknown[] {
  const short = SHORT_FIELDS[field];
  if (short !== undefined && Object.hasOwn(SHORT_FIELDS, field)) {
    const v = short(f, gd);
    return (Array.isArray(v) ? v : [v]).filter((x) => x !== null && x !== undefined);
  }
  // GuardDuty's filter list spells these hostPid/hostIpc; the finding itself says hostPID/hostIPC.
  const gdField = field.replace(/\.hostPid$/, '.hostPID').replace(/\.hostIpc$/, '.hostIPC');
  const fromGd = resolvePath(gd, gdField);
  if (fromGd.length > 0) return fromGd;
  return resolvePath(f, field);
}

function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return null;
  if (typeof v !== 'string' || v.trim() === '') return null;
  const n = Number(v);
  if (Number.isFinite(n)) return n;
  // Timestamps compare as epoch ms, as GuardDuty's greaterThan on eventLastSeen does.
  if (/^\d{4}-\d\d-\d\dT/.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

function same(actual: unknown, wanted: string | number): boolean {
  if (typeof actual === 'number') {
    const w = toNumber(wanted);
    // GuardDuty filters severity by integer buckets ("4","5","6" = Medium): 5.5 equals "5".
    return w !== null && (w === actual || (Number.isInteger(w) && Math.floor(actual) === w));
  }
  if (typeof actual === 'boolean') return String(actual) === String(wanted).toLowerCase();
  if (typeof actual === 'string')
    return (
      actual === String(wanted) ||
      (/^(LOW|MEDIUM|HIGH|CRITICAL)$/.test(actual) && actual === String(wanted).toUpperCase())
    );
  return false;
}

/** GuardDuty wildcard match (`*` any run, `?` one character), linear time, no regex. */
export function wildcardMatch(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      t++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function conditionHolds(c: SuppressionCondition, actual: readonly unknown[]): boolean {
  switch (c.op) {
    case 'eq':
      return actual.some((a) => c.values.some((w) => same(a, w)));
    case 'neq':
      return !actual.some((a) => c.values.some((w) => same(a, w)));
    case 'prefix':
      return actual.some((a) => typeof a === 'string' && c.values.some((w) => a.startsWith(String(w))));
    case 'matches':
      return actual.some((a) => typeof a === 'string' && c.values.some((w) => wildcardMatch(a, String(w))));
    case 'notMatches':
      return !actual.some((a) => typeof a === 'string' && c.values.some((w) => wildcardMatch(a, String(w))));
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const w = toNumber(c.values[0]);
      if (w === null) return false;
      return actual.some((a) => {
        const n = toNumber(a);
        if (n === null) return false;
        return c.op === 'gt' ? n > w : c.op === 'gte' ? n >= w : c.op === 'lt' ? n < w : n <= w;
      });
    }
  }
}

export function ruleMatches(
  rule: SuppressionRule,
  f: Finding,
  gd: Record<string, unknown> = toGuardDutyFinding(f),
): boolean {
  for (const c of rule.conditions) if (!conditionHolds(c, valuesOf(f, gd, c.field))) return false;
  return rule.conditions.length > 0;
}

/** Mark the findings the rules match; the first matching rule (in file order) names itself. */
export function applySuppression(findings: readonly Finding[], rules: readonly SuppressionRule[]): Finding[] {
  if (rules.length === 0) return [...findings];
  return findings.map((f) => {
    const gd = toGuardDutyFinding(f);
    const rule = rules.find((r) => ruleMatches(r, f, gd));
    return rule === undefined ? f : { ...f, suppressed: true, suppressedBy: rule.name };
  });
}

// ---------------------------------------------------------------------------------------------
// Parsing

const NAME_RE = /^[A-Za-z0-9._-]{3,64}$/;
/** GuardDuty allows 50 values per condition; more is a mistake in the file. */
const MAX_VALUES = 50;

export function parseSuppressionRules(text: string, file = 'suppress.yaml'): Result<SuppressionRule[]> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  const errors: SourceProblem[] = [];
  const at = (node: YamlNode | null | undefined, message: string): void => {
    const pos = node?.range !== undefined && node.range !== null ? lc.linePos(node.range[0]) : { line: 0, col: 0 };
    errors.push({ file, line: pos.line, column: pos.col, message });
  };
  for (const e of doc.errors) {
    errors.push({
      file,
      line: e.linePos?.[0].line ?? 0,
      column: e.linePos?.[0].col ?? 0,
      message: e.message.split('\n')[0]!,
    });
  }
  if (errors.length > 0) return { value: [], errors };
  let list: unknown = doc.contents;
  if (isMap(list)) {
    const key = ['rules', 'suppressionRules', 'filters'].find((k) => list !== null && isMap(list) && list.has(k));
    if (key === undefined) {
      at(list as YamlNode, 'expected a list of rules, or a map with a "rules" list');
      return { value: [], errors };
    }
    list = list.get(key, true);
  }
  if (list === null || list === undefined) return { value: [], errors };
  if (!isSeq(list)) {
    at(list as YamlNode, 'expected a list of rules');
    return { value: [], errors };
  }
  const rules: SuppressionRule[] = [];
  const names = new Set<string>();
  for (const item of list.items) {
    if (!isMap(item)) {
      at(item as YamlNode, 'a rule must be a map with name and criteria');
      continue;
    }
    const line = lc.linePos(item.range?.[0] ?? 0).line;
    const nameNode = item.get('name', true);
    const rawName = isScalar(nameNode) && typeof nameNode.value === 'string' ? nameNode.value : null;
    // A bad name is reported, and the rule's criteria are still checked so one run shows every problem.
    const nameOk = rawName !== null && NAME_RE.test(rawName);
    if (!nameOk)
      at(
        (nameNode as YamlNode | undefined) ?? item,
        'rule name must be 3 to 64 characters of letters, digits, ".", "_" or "-"',
      );
    const name = rawName ?? '(unnamed)';
    if (nameOk) {
      if (names.has(name)) at(nameNode as YamlNode, `duplicate rule name "${name}"`);
      names.add(name);
    }
    const action = item.get('action');
    if (action !== undefined && action !== 'ARCHIVE' && action !== 'NOOP')
      at(item.get('action', true) as YamlNode, 'action must be ARCHIVE or NOOP');
    if (action === 'NOOP') continue; // a saved filter, not a suppression rule
    let criteria: unknown = item.get('criteria', true);
    if (criteria === undefined) {
      const fc = item.get('findingCriteria', true);
      criteria = isMap(fc) ? (fc.get('criterion', true) ?? fc.get('Criterion', true)) : fc;
    }
    if (!isMap(criteria)) {
      at((criteria as YamlNode | undefined) ?? item, `rule "${name}" needs a criteria map`);
      continue;
    }
    const conditions: SuppressionCondition[] = [];
    for (const pair of criteria.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const field = String(pair.key.value);
      if (!isKnownField(field)) {
        at(pair.key as YamlNode, `unknown field "${field}"`);
        continue;
      }
      if (!isMap(pair.value)) {
        at(
          (pair.value as YamlNode | null) ?? (pair.key as YamlNode),
          `field "${field}" needs operators, e.g. { eq: [value] }`,
        );
        continue;
      }
      for (const opPair of pair.value.items) {
        if (!isPair(opPair) || !isScalar(opPair.key)) continue;
        const opName = String(opPair.key.value);
        const op = (OP_ALIASES as Record<string, SuppressionOp>)[opName.toLowerCase()];
        if (op === undefined) {
          at(
            opPair.key as YamlNode,
            `unknown operator "${opName}" (use eq, neq, prefix, gt, gte, lt, lte, matches, notMatches)`,
          );
          continue;
        }
        const raw = isSeq(opPair.value) ? opPair.value.items : [opPair.value];
        const values: (string | number)[] = [];
        for (const v of raw) {
          if (
            isScalar(v) &&
            (typeof v.value === 'string' || typeof v.value === 'number' || typeof v.value === 'boolean')
          )
            values.push(typeof v.value === 'boolean' ? String(v.value) : v.value);
          else at((v as YamlNode | null) ?? (opPair.key as YamlNode), `value of ${opName} must be a string or number`);
        }
        if (values.length === 0) at(opPair.key as YamlNode, `${opName} needs at least one value`);
        else if (values.length > MAX_VALUES) at(opPair.key as YamlNode, `${opName} takes at most ${MAX_VALUES} values`);
        else if (
          (op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') &&
          (values.length !== 1 || toNumber(values[0]) === null)
        ) {
          at(opPair.key as YamlNode, `${opName} takes one number or timestamp`);
        } else conditions.push({ field, op, values });
      }
    }
    if (conditions.length === 0) {
      // Point at the `criteria:` key: a block map's own range starts at its first entry.
      const keyPair = item.items.find(
        (p) => isScalar(p.key) && (p.key.value === 'criteria' || p.key.value === 'findingCriteria'),
      );
      at(
        (keyPair?.key as YamlNode | undefined) ?? (criteria as YamlNode),
        `rule "${name}" has no valid criteria (it would suppress everything)`,
      );
      continue;
    }
    if (!nameOk) continue;
    const desc = item.get('description');
    rules.push({ name, ...(typeof desc === 'string' ? { description: desc } : {}), conditions, line });
  }
  return { value: rules, errors };
}

/** Load a suppression file: unreadable is a UsageError; any problem is a ParseError carrying all of them. */
export function loadSuppressionFile(path: string): SuppressionRule[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read suppression file ${path}: ${(e as Error).message}`);
  }
  const r = parseSuppressionRules(text, path);
  if (r.errors.length > 0) {
    throw new ParseError(`invalid suppression file ${path}:\n` + r.errors.map(formatProblem).join('\n'), r.errors);
  }
  return r.value;
}
