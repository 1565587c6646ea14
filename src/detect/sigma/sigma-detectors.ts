/**
 * Sigma rules → Detectors: the entry point the CLI calls (`--sigma PATH`, `rules lint`).
 *
 * Loads files or directories (recursively, *.yml / *.yaml), keeps the rules whose logsource is
 * Kubernetes audit (product kubernetes and/or service audit, nothing else), folds filter
 * documents into the rules they name, links correlation rules to the rules they reference,
 * and compiles each rule once into a closure. Rules for other log sources are reported as
 * skipped, not as errors.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from '../../model/audit-event.js';
import type { SourceProblem } from '../../model/errors.js';
import { severityFromLabel, type Mitre, type Severity, type SeverityLabel } from '../../model/finding.js';
import type { Detector, DetectorIndex, DetectorInfo, Emit } from '../detector.js';
import {
  createAnd,
  createNot,
  type SigmaCorrelationRule,
  type SigmaDetectionRule,
  type SigmaDocument,
  type SigmaExpr,
  type SigmaFilterRule,
  type SigmaLevel,
  type SigmaLogsource,
} from './sigma-ast.js';
import { CorrelationEvaluator, type CorrelationMember } from './sigma-correlation-evaluator.js';
import { createFieldMapping, loadFieldMappingFile, type SigmaFieldMapping } from './sigma-field-mapping.js';
import { lintSigmaExpr } from './sigma-lint.js';
import { compileSigmaExpr, type EventPredicate } from './sigma-matcher-compiler.js';
import { parseSigmaText } from './sigma-rule-loader.js';

export interface LoadSigmaOptions {
  /** Extra Sigma field → audit path aliases, over the Kubernetes defaults. */
  readonly fieldMapping?: Readonly<Record<string, string>>;
  /** A YAML/JSON file of such aliases (applied after `fieldMapping`). */
  readonly fieldMappingFile?: string;
  /** A ready mapping; wins over the two options above. */
  readonly mapping?: SigmaFieldMapping;
}

export interface SkippedSigmaRule {
  readonly file: string;
  /** Line of the rule's document in the file. */
  readonly line: number;
  readonly id: string;
  readonly title: string;
  readonly reason: string;
}

/** What the loader produced: compiled rules plus the parsed documents (for SQL hunting). */
export interface SigmaRuleSet {
  /** One Detector per detection rule that emits on its own, and one per correlation rule. */
  readonly detectors: readonly Detector[];
  /** Errors and warnings with file/line/column. */
  readonly problems: readonly SourceProblem[];
  readonly skipped: readonly SkippedSigmaRule[];
  /** Audit rules with filters folded in, including those that only feed correlations. */
  readonly rules: readonly SigmaDetectionRule[];
  readonly correlations: readonly SigmaCorrelationRule[];
  readonly mapping: SigmaFieldMapping;
}

const LEVEL_SEVERITY = {
  informational: 'LOW',
  low: 'LOW',
  medium: 'MEDIUM',
  high: 'HIGH',
  critical: 'CRITICAL',
} as const satisfies Record<SigmaLevel, SeverityLabel>;

/** MITRE ATT&CK tactic tags (attack.<tactic>) → tactic names. */
const TACTICS: Readonly<Record<string, string>> = {
  reconnaissance: 'Reconnaissance',
  'resource-development': 'Resource Development',
  'initial-access': 'Initial Access',
  execution: 'Execution',
  persistence: 'Persistence',
  'privilege-escalation': 'Privilege Escalation',
  'defense-evasion': 'Defense Evasion',
  stealth: 'Stealth',
  'defense-impairment': 'Defense Impairment',
  'credential-access': 'Credential Access',
  discovery: 'Discovery',
  'lateral-movement': 'Lateral Movement',
  collection: 'Collection',
  'command-and-control': 'Command and Control',
  exfiltration: 'Exfiltration',
  impact: 'Impact',
};

export function severityOfLevel(level: SigmaLevel | undefined): Severity {
  return severityFromLabel(LEVEL_SEVERITY[level ?? 'informational']);
}

/** First tactic and first technique among `attack.*` tags; null when there is neither. */
export function mitreFromTags(tags: readonly string[]): Mitre | null {
  let tactic: string | undefined;
  let technique: string | undefined;
  for (const t of tags) {
    const lower = t.toLowerCase();
    if (!lower.startsWith('attack.')) continue;
    const rest = lower.slice('attack.'.length);
    if (technique === undefined && /^t\d{4}(\.\d{3})?$/.test(rest)) technique = rest.toUpperCase();
    else if (tactic === undefined) {
      const name = TACTICS[rest.replaceAll('_', '-')];
      if (name !== undefined) tactic = name;
    }
  }
  if (tactic === undefined && technique === undefined) return null;
  return { tactic: tactic ?? '', technique: technique ?? '' };
}

export function infoOf(rule: SigmaDetectionRule | SigmaCorrelationRule): DetectorInfo {
  return Object.freeze({
    type: `Sigma:${rule.id}`,
    engine: 'sigma',
    rule: rule.id,
    title: rule.title,
    description: rule.description.trim(),
    severity: severityOfLevel(rule.level),
    mitre: mitreFromTags(rule.tags),
    tags: rule.tags,
  });
}

/** Does this logsource describe Kubernetes audit events? */
export function isKubernetesAudit(ls: SigmaLogsource): boolean {
  if (ls.product !== 'kubernetes') return false;
  if (ls.service !== undefined && ls.service !== 'audit') return false;
  return ls.category === undefined || ls.category === 'application';
}

/** Every *.yml / *.yaml under the paths, in a stable order. */
export function listSigmaFiles(paths: readonly string[]): { files: string[]; problems: SourceProblem[] } {
  const files: string[] = [];
  const problems: SourceProblem[] = [];
  const walk = (p: string, top: boolean): void => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      problems.push({
        file: p,
        line: 0,
        column: 0,
        message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        severity: 'error',
      });
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) walk(join(p, name), false);
    } else if (top || /\.ya?ml$/i.test(p)) files.push(p);
  };
  for (const p of paths) walk(p, true);
  return { files, problems };
}

/** Parse every file; documents and problems, nothing compiled yet. */
export function parseSigmaFiles(
  paths: readonly string[],
  mapping: SigmaFieldMapping,
): { documents: SigmaDocument[]; problems: SourceProblem[] } {
  const { files, problems } = listSigmaFiles(paths);
  const documents: SigmaDocument[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      problems.push({ file, line: 0, column: 0, message: `cannot read: ${(e as Error).message}`, severity: 'error' });
      continue;
    }
    const parsed = parseSigmaText(text, file, mapping);
    documents.push(...parsed.documents);
    problems.push(...parsed.problems);
  }
  return { documents, problems };
}

function mappingFrom(options: LoadSigmaOptions, problems: SourceProblem[]): SigmaFieldMapping {
  if (options.mapping !== undefined) return options.mapping;
  let extra: Record<string, string> = { ...(options.fieldMapping ?? {}) };
  if (options.fieldMappingFile !== undefined) {
    const loaded = loadFieldMappingFile(options.fieldMappingFile);
    problems.push(...loaded.problems);
    extra = { ...extra, ...loaded.mapping };
  }
  return createFieldMapping({ extra });
}

/** Build a rule set from already parsed documents (tests, `rules test`). */
export function buildSigmaRuleSet(
  documents: readonly SigmaDocument[],
  mapping: SigmaFieldMapping,
  problemsIn: readonly SourceProblem[] = [],
): SigmaRuleSet {
  const problems: SourceProblem[] = [...problemsIn];
  const skipped: SkippedSigmaRule[] = [];
  const byRef = new Map<string, SigmaDetectionRule>();
  const rules: SigmaDetectionRule[] = [];
  const filters: SigmaFilterRule[] = [];
  const correlations: SigmaCorrelationRule[] = [];
  const seenIds = new Map<string, string>();
  for (const d of documents) {
    const prev = seenIds.get(d.id);
    if (prev !== undefined) {
      // The same file given twice (the shipped pack and the SigmaHQ checkout it was copied
      // from) is harmless: it runs once. Two different rules sharing an id is an error.
      const same = prev !== d.file && sameFileText(prev, d.file);
      problems.push({
        file: d.file,
        rule: d.id,
        line: d.line,
        column: 1,
        message: same
          ? `same rule as ${prev} (identical file); loaded once`
          : `duplicate rule id '${d.id}' (also in ${prev}); this one is ignored`,
        severity: same ? 'warning' : 'error',
      });
      continue;
    }
    seenIds.set(d.id, d.file);
    if (d.kind === 'correlation') correlations.push(d);
    else if (d.kind === 'filter') filters.push(d);
    else if (!isKubernetesAudit(d.logsource)) {
      skipped.push({
        file: d.file,
        line: d.line,
        id: d.id,
        title: d.title,
        reason: `logsource ${JSON.stringify(d.logsource)} is not Kubernetes audit (product: kubernetes, service: audit)`,
      });
    } else rules.push(d);
  }
  // Filters: `rule and not filter` for each rule they name.
  const withFilters = rules.map((r) => {
    const applicable = filters.filter(
      (f) => f.rules.includes(r.id) || (r.name !== undefined && f.rules.includes(r.name)),
    );
    if (applicable.length === 0) return r;
    const expr: SigmaExpr = createAnd([r.expr, ...applicable.map((f) => createNot(f.expr))]);
    return Object.freeze({ ...r, expr });
  });
  for (const f of filters) {
    for (const ref of f.rules) {
      if (!withFilters.some((r) => r.id === ref || r.name === ref) && !skipped.some((s) => s.id === ref)) {
        problems.push({
          file: f.file,
          rule: f.id,
          line: f.line,
          column: 1,
          message: `filter names rule '${ref}', which is not loaded`,
          severity: 'warning',
        });
      }
    }
  }
  for (const r of withFilters) {
    byRef.set(r.id, r);
    if (r.name !== undefined) byRef.set(r.name, r);
  }

  const predicates = new Map<SigmaDetectionRule, EventPredicate>();
  const predicateOf = (r: SigmaDetectionRule): EventPredicate => {
    let p = predicates.get(r);
    if (p === undefined) {
      p = compileSigmaExpr(r.expr);
      predicates.set(r, p);
    }
    return p;
  };

  // A rule referenced only by correlations with `generate: false` feeds them and emits nothing itself.
  const feedsOnly = new Set<SigmaDetectionRule>();
  const generated = new Set<SigmaDetectionRule>();
  const detectors: Detector[] = [];
  const usableCorrelations: SigmaCorrelationRule[] = [];
  for (const c of correlations) {
    const members: CorrelationMember[] = [];
    const indexes: DetectorIndex[] = [];
    let ok = true;
    for (const ref of c.rules) {
      const r = byRef.get(ref);
      if (r === undefined) {
        const isCorr = correlations.some((x) => x.id === ref || x.name === ref);
        const skip = skipped.find((s) => s.id === ref);
        problems.push({
          file: c.file,
          rule: c.id,
          line: c.line,
          column: 1,
          message: isCorr
            ? `correlation references correlation '${ref}': chained correlations are not supported`
            : skip !== undefined
              ? `correlation references rule '${ref}', which was skipped (${skip.reason})`
              : `correlation references unknown rule '${ref}'`,
          severity: 'error',
        });
        ok = false;
        continue;
      }
      members.push({ ref, names: [r.id, ...(r.name !== undefined ? [r.name] : [])], match: predicateOf(r) });
      indexes.push(deriveIndex(r.expr));
      (c.generate ? generated : feedsOnly).add(r);
    }
    if (!ok) continue;
    usableCorrelations.push(c);
    detectors.push(createCorrelationDetector(c, members, unionIndex(indexes), mapping));
  }
  for (const r of withFilters) {
    if (feedsOnly.has(r) && !generated.has(r)) continue;
    detectors.push(createRuleDetector(r, predicateOf(r)));
  }
  for (const r of withFilters) problems.push(...lintSigmaExpr(r));
  return { detectors, problems, skipped, rules: withFilters, correlations: usableCorrelations, mapping };
}

function sameFileText(a: string, b: string): boolean {
  try {
    return readFileSync(a, 'utf8') === readFileSync(b, 'utf8');
  } catch {
    return false;
  }
}

/**
 * Load Sigma rules from files or directories. Never throws for bad rules: they are reported in
 * `problems` and left out.
 */
export function loadSigmaRules(paths: readonly string[], options: LoadSigmaOptions = {}): SigmaRuleSet {
  const problems: SourceProblem[] = [];
  const mapping = mappingFrom(options, problems);
  const parsed = parseSigmaFiles(paths, mapping);
  return buildSigmaRuleSet(parsed.documents, mapping, [...problems, ...parsed.problems]);
}

/** Every error and warning of the rules under `paths` (for `sleuth rules lint`). */
export function lintSigmaRules(paths: readonly string[], options: LoadSigmaOptions = {}): SourceProblem[] {
  const set = loadSigmaRules(paths, options);
  const skipped: SourceProblem[] = set.skipped.map((s) => ({
    file: s.file,
    rule: s.id,
    line: s.line,
    column: 1,
    message: `skipped: ${s.reason}; EKS Sleuth runs only Kubernetes audit rules`,
    severity: 'warning',
  }));
  // By file, then position: a rule author reads them top to bottom.
  return [...set.problems, ...skipped].sort(
    (a, b) => (a.file ?? '').localeCompare(b.file ?? '') || a.line - b.line || a.column - b.column,
  );
}

export function createRuleDetector(
  rule: SigmaDetectionRule,
  match: EventPredicate = compileSigmaExpr(rule.expr),
): Detector {
  const info = infoOf(rule);
  return Object.freeze({
    info,
    index: deriveIndex(rule.expr),
    evaluate(event: AuditEvent, emit: Emit): void {
      if (match(event)) emit({ info, event });
    },
  });
}

export function createCorrelationDetector(
  rule: SigmaCorrelationRule,
  members: readonly CorrelationMember[],
  index: DetectorIndex,
  mapping: SigmaFieldMapping,
): Detector {
  const info = infoOf(rule);
  const state = new CorrelationEvaluator(rule, info, members, mapping);
  return Object.freeze({
    info,
    index,
    evaluate(event: AuditEvent, emit: Emit): void {
      state.observe(event, emit);
    },
  });
}

// ---- index derivation ----

interface Constraint {
  verbs: Set<string> | undefined;
  resources: Set<string> | undefined;
}

/**
 * Verbs and resources a detection can match: exact values on `verb` / `objectRef.resource`
 * (or an alias of them) that every match must satisfy. Anything looser gives `undefined`.
 */
export function deriveIndex(expr: SigmaExpr): DetectorIndex {
  const c = constrain(expr);
  const out: { verbs?: readonly string[]; resources?: readonly string[] } = {};
  if (c.verbs !== undefined) out.verbs = [...c.verbs].sort();
  if (c.resources !== undefined) out.resources = [...c.resources].sort();
  return Object.freeze(out);
}

function constrain(expr: SigmaExpr): Constraint {
  switch (expr.kind) {
    case 'field': {
      const path = expr.field.catalog?.name;
      const which = path === 'verb' ? 'verbs' : path === 'objectRef.resource' ? 'resources' : null;
      if (which === null || expr.negated || expr.all) return { verbs: undefined, resources: undefined };
      const set = new Set<string>();
      for (const v of expr.values) {
        if (v.kind !== 'string' || v.pattern.parts.length !== 1 || v.pattern.parts[0]!.kind !== 'literal')
          return { verbs: undefined, resources: undefined };
        set.add(v.pattern.parts[0]!.text.toLowerCase());
      }
      return which === 'verbs' ? { verbs: set, resources: undefined } : { verbs: undefined, resources: set };
    }
    case 'and': {
      const out: Constraint = { verbs: undefined, resources: undefined };
      for (const item of expr.items) {
        const c = constrain(item);
        out.verbs = intersect(out.verbs, c.verbs);
        out.resources = intersect(out.resources, c.resources);
      }
      return out;
    }
    case 'or': {
      const cs = expr.items.map(constrain);
      return {
        verbs: cs.every((c) => c.verbs !== undefined) ? new Set(cs.flatMap((c) => [...c.verbs!])) : undefined,
        resources: cs.every((c) => c.resources !== undefined)
          ? new Set(cs.flatMap((c) => [...c.resources!]))
          : undefined,
      };
    }
    case 'const':
      return expr.value ? { verbs: undefined, resources: undefined } : { verbs: new Set(), resources: new Set() };
    default:
      return { verbs: undefined, resources: undefined };
  }
}

function intersect(a: Set<string> | undefined, b: Set<string> | undefined): Set<string> | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return new Set([...a].filter((x) => b.has(x)));
}

function unionIndex(indexes: readonly DetectorIndex[]): DetectorIndex {
  const out: { verbs?: readonly string[]; resources?: readonly string[] } = {};
  if (indexes.length > 0 && indexes.every((i) => i.verbs !== undefined))
    out.verbs = [...new Set(indexes.flatMap((i) => i.verbs!))].sort();
  if (indexes.length > 0 && indexes.every((i) => i.resources !== undefined))
    out.resources = [...new Set(indexes.flatMap((i) => i.resources!))].sort();
  return Object.freeze(out);
}
