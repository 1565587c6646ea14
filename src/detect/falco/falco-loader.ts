/**
 * Loads Falco rules files and builds a DetectorPack that runs their `k8s_audit` rules on
 * AuditEvents, as falco's rule_loader (reader → collector → compiler) does:
 *
 * - lists, macros and rules from several files, in order; redefinitions keep the original
 *   position (it decides first-match order); append / override; exceptions; enabled;
 * - lists substituted as text before parsing (one-level list-in-list expansion, visibility by
 *   definition order), macros substituted as trees (a macro sees only macros defined before it);
 * - rules of other sources (e.g. syscall) are read for their lists and macros and checked for
 *   syntax, never run;
 * - required_engine_version and required_plugin_versions are checked and reported.
 *
 * Differences from Falco, on purpose: every error of every file is reported in one run
 * (Falco stops at the first error of a file), and compilation happens once after all files
 * are read (Falco recompiles after each file, so a rule that uses a macro from a later file
 * fails there and works here).
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { isMap, isSeq, type Node, type YAMLMap } from 'yaml';
import type { SourceProblem } from '../../model/errors.js';
import { ConditionNodes, conditionDepth, mapCondition, tagOrigin, type ConditionNode } from './falco-condition-ast.js';
import { compileCondition } from './falco-condition-compiler.js';
import { parseCondition } from './falco-condition-parser.js';
import {
  quoteListItem,
  SourceText,
  substituteLists,
  withExceptions,
  isListComp,
  type ExceptionSpec,
  type NamedList,
  type TextLocation,
} from './falco-condition-text.js';
import { falcoField } from './falco-fields.js';
import { deriveIndex } from './falco-index.js';
import { compileOutput } from './falco-output.js';
import { FalcoRulePack, type CompiledFalcoRule, type FalcoMatchMode } from './falco-pack.js';
import { FALCO_PRIORITIES, parsePriority, type FalcoPriority } from './falco-priority.js';
import { RuleFileSource, scalarText, stringSeq, yamlBool, type RuleFileItem } from './falco-rules-reader.js';

/** Engine version we implement (Falco 0.63.0's rules engine; k8s_audit_rules needs 0.15.0). */
export const FALCO_ENGINE_VERSION = '0.63.0';
/** Plugins whose fields we implement, with the version whose semantics we follow. */
export const FALCO_PLUGIN_VERSIONS: Readonly<Record<string, string>> = Object.freeze({
  k8saudit: '0.18.0',
  'k8saudit-eks': '0.12.0',
  'k8saudit-aks': '0.6.0',
  'k8saudit-gke': '0.9.0',
  'k8saudit-ovh': '0.6.0',
  json: '0.7.4',
});
const AUDIT_SOURCE = 'k8s_audit';
const MAX_RULE_DEPTH = 1000;
// Depth of a condition once macros are substituted: bounds the recursion of the tree walks
// (compiler, index, tagging) on hostile rule files, such as a chain of thousands of macros.
const MAX_RESOLVED_DEPTH = 1000;

export interface FalcoLoadOptions {
  /** Falco's `rule_matching`: `first` (default: at most one alert per event) or `all`. */
  readonly match?: FalcoMatchMode;
  /** Rules less severe than this are not run (falco.yaml `priority`, default debug). */
  readonly minPriority?: string;
}

export interface FalcoPluginRequirement {
  readonly name: string;
  readonly version: string;
  readonly alternatives: readonly { readonly name: string; readonly version: string }[];
  readonly satisfied: boolean;
  readonly file: string;
}

export interface FalcoLoadStats {
  readonly files: number;
  readonly lists: number;
  readonly macros: number;
  /** Every rule defined (all sources). */
  readonly rules: number;
  /** Rules with source k8s_audit. */
  readonly auditRules: number;
  /** k8s_audit rules that are enabled, compiled and in the pack. */
  readonly activeRules: number;
  readonly disabledRules: number;
  /** Rules of other sources: read for their lists and macros, never run. */
  readonly otherSourceRules: number;
  /** Rules skipped by `skip-if-unknown-filter`. */
  readonly skippedRules: number;
  /** Active rules whose index restricts verbs / resources; the rest run on every event. */
  readonly indexedByVerb: number;
  readonly indexedByResource: number;
  readonly unindexed: number;
  /** Highest required_engine_version seen (semver), or null. */
  readonly requiredEngineVersion: string | null;
  readonly requiredPluginVersions: readonly FalcoPluginRequirement[];
  readonly errors: number;
  readonly warnings: number;
}

export interface FalcoLoadResult {
  /** null when any error was found (warnings do not prevent loading). */
  readonly pack: FalcoRulePack | null;
  readonly problems: readonly SourceProblem[];
  readonly stats: FalcoLoadStats;
}

/** Read and load rules files, in order. */
export async function loadFalcoRules(
  files: readonly string[],
  options: FalcoLoadOptions = {},
): Promise<FalcoLoadResult> {
  const sources: { name: string; text: string }[] = [];
  const problems: SourceProblem[] = [];
  for (const f of files) {
    try {
      sources.push({ name: f, text: await readFile(f, 'utf8') });
    } catch (e) {
      problems.push({ file: f, line: 0, column: 0, message: `cannot read rules file: ${(e as Error).message}` });
    }
  }
  return withProblems(loadFalcoRulesFromText(sources, options), problems);
}

/** Synchronous variant of loadFalcoRules. */
export function loadFalcoRulesSync(files: readonly string[], options: FalcoLoadOptions = {}): FalcoLoadResult {
  const sources: { name: string; text: string }[] = [];
  const problems: SourceProblem[] = [];
  for (const f of files) {
    try {
      sources.push({ name: f, text: readFileSync(f, 'utf8') });
    } catch (e) {
      problems.push({ file: f, line: 0, column: 0, message: `cannot read rules file: ${(e as Error).message}` });
    }
  }
  return withProblems(loadFalcoRulesFromText(sources, options), problems);
}

/** Lint: every error and warning of every file, in one run (texts already read). */
export function lintFalcoRules(sources: readonly { name: string; text: string }[]): SourceProblem[] {
  return [...loadFalcoRulesFromText(sources).problems];
}

/** Lint rules files on disk: every error and warning of every file, in one run. */
export async function lintFalcoRuleFiles(files: readonly string[]): Promise<SourceProblem[]> {
  return [...(await loadFalcoRules(files)).problems];
}

function withProblems(r: FalcoLoadResult, extra: SourceProblem[]): FalcoLoadResult {
  if (extra.length === 0) return r;
  return {
    pack: null,
    problems: [...extra, ...r.problems],
    stats: { ...r.stats, errors: r.stats.errors + extra.length },
  };
}

// ---- collector ---------------------------------------------------------------------------

interface Located {
  readonly file: string;
  readonly where: TextLocation;
}

interface ListInfo extends Located {
  readonly name: string;
  items: string[];
  readonly index: number;
  visibility: number;
}

interface MacroInfo extends Located {
  readonly name: string;
  cond: SourceText;
  readonly index: number;
  visibility: number;
}

interface RuleInfo extends Located {
  readonly name: string;
  readonly index: number;
  cond: SourceText;
  output: string;
  outputText: SourceText;
  desc: string;
  priority: FalcoPriority;
  source: string;
  enabled: boolean;
  tags: string[];
  exceptions: ExceptionSpec[];
  skipIfUnknownFilter: boolean;
}

const LIST_KEYS = new Set(['list', 'items', 'append', 'override']);
const MACRO_KEYS = new Set(['macro', 'condition', 'append', 'override', 'source']);
const RULE_KEYS = new Set([
  'rule',
  'condition',
  'output',
  'desc',
  'priority',
  'source',
  'enabled',
  'tags',
  'exceptions',
  'capture',
  'capture_duration',
  'warn_evttypes',
  'skip-if-unknown-filter',
  'append',
  'override',
]);
const RULE_APPENDABLE = new Set(['condition', 'output', 'desc', 'tags', 'exceptions']);
const RULE_REPLACEABLE = new Set([
  'condition',
  'output',
  'desc',
  'priority',
  'capture',
  'capture_duration',
  'tags',
  'exceptions',
  'enabled',
  'warn_evttypes',
  'skip-if-unknown-filter',
]);
const EXCEPTION_COMPS = new Set([
  '=',
  '==',
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
  'in',
  'intersects',
  'pmatch',
]);

class Collector {
  readonly problems: SourceProblem[] = [];
  readonly lists = new Map<string, ListInfo>();
  readonly macros = new Map<string, MacroInfo>();
  readonly rules = new Map<string, RuleInfo>();
  readonly plugins: FalcoPluginRequirement[] = [];
  requiredEngine: [number, number, number] | null = null;
  #counter = 0;
  files = 0;

  read(file: RuleFileSource): void {
    this.files++;
    this.problems.push(...file.problems);
    for (const item of file.items) {
      this.#counter++;
      try {
        this.item(file, item);
      } catch (e) {
        // A malformed item must not stop the others: report it where it is.
        this.problems.push({
          file: file.file,
          ...item.where,
          message: `internal error reading item: ${(e as Error).message}`,
        });
      }
    }
  }

  private err(
    file: RuleFileSource,
    where: TextLocation,
    message: string,
    rule?: string,
    severity: 'error' | 'warning' = 'error',
  ): void {
    this.problems.push({
      file: file.file,
      line: where.line,
      column: where.column,
      message,
      ...(rule !== undefined ? { rule } : {}),
      ...(severity === 'warning' ? { severity } : {}),
    });
  }

  private item(file: RuleFileSource, item: RuleFileItem): void {
    switch (item.kind) {
      case 'required_engine_version':
        return this.engineVersion(file, item);
      case 'required_plugin_versions':
        return this.pluginVersions(file, item);
      case 'list':
        return this.list(file, item);
      case 'macro':
        return this.macro(file, item);
      case 'rule':
        return this.rule(file, item);
    }
  }

  private unknownKeys(file: RuleFileSource, map: YAMLMap, known: ReadonlySet<string>, name: string | undefined): void {
    for (const pair of map.items) {
      const k = scalarText(pair.key);
      if (k !== null && !known.has(k))
        this.err(file, file.at(pair.key as Node), `Unknown key '${k}'. The key will be ignored.`, name, 'warning');
    }
  }

  private engineVersion(file: RuleFileSource, item: RuleFileItem): void {
    const node = item.map.get('required_engine_version', true) as Node | undefined;
    const s = scalarText(node);
    const v = s === null ? null : /^\d+$/.test(s) ? ([0, Number(s), 0] as [number, number, number]) : parseSemver(s);
    if (v === null)
      return this.err(
        file,
        file.at(node),
        `Unable to parse engine version '${s ?? ''}' as a semver string. Expected "x.y.z" semver format.`,
      );
    const engine = parseSemver(FALCO_ENGINE_VERSION)!;
    if (v[0] !== engine[0] || compareSemver(engine, v) < 0) {
      this.err(
        file,
        file.at(node),
        `Rules require engine version ${v.join('.')}, but engine version is ${FALCO_ENGINE_VERSION}`,
      );
    }
    if (this.requiredEngine === null || compareSemver(v, this.requiredEngine) > 0) this.requiredEngine = v;
  }

  private pluginVersions(file: RuleFileSource, item: RuleFileItem): void {
    const node = item.map.get('required_plugin_versions', true);
    if (!isSeq(node)) return this.err(file, item.where, `Value of required_plugin_versions must be a sequence`);
    for (const entry of node.items) {
      if (!isMap(entry)) {
        this.err(file, file.at(entry as Node), `Value of required_plugin_versions entry must be a map`);
        continue;
      }
      const name = scalarText(entry.get('name', true));
      const version = scalarText(entry.get('version', true));
      if (name === null || version === null) {
        this.err(file, file.at(entry), `required_plugin_versions entry needs 'name' and 'version'`);
        continue;
      }
      const alternatives: { name: string; version: string }[] = [];
      const alts = entry.get('alternatives', true);
      if (isSeq(alts)) {
        for (const a of alts.items) {
          const an = isMap(a) ? scalarText(a.get('name', true)) : null;
          const av = isMap(a) ? scalarText(a.get('version', true)) : null;
          if (an !== null && av !== null) alternatives.push({ name: an, version: av });
        }
      }
      const satisfied = [{ name, version }, ...alternatives].some((r) => pluginSatisfies(r.name, r.version));
      this.plugins.push(
        Object.freeze({ name, version, alternatives: Object.freeze(alternatives), satisfied, file: file.file }),
      );
      if (!satisfied) {
        // A warning, not an error: only k8s_audit fields matter here, and an unknown field is reported where it is used.
        const all = [{ name, version }, ...alternatives].map((r) => `${r.name} (>= ${r.version})`).join(', ');
        this.err(
          file,
          file.at(entry),
          `Plugin requirement not satisfied, must load one of: ${all}`,
          undefined,
          'warning',
        );
      }
    }
  }

  private override(file: RuleFileSource, map: YAMLMap, name: string): Map<string, 'append' | 'replace'> | null {
    const node = map.get('override', true);
    if (node === undefined) return null;
    const out = new Map<string, 'append' | 'replace'>();
    if (!isMap(node)) {
      this.err(file, file.at(node as Node), `Value of override must be a map`, name);
      return out;
    }
    for (const pair of node.items) {
      const k = scalarText(pair.key);
      const v = scalarText(pair.value);
      if (k === null || (v !== 'append' && v !== 'replace')) {
        this.err(file, file.at(pair.key as Node), `Override type for '${k ?? '?'}' must be append or replace`, name);
        continue;
      }
      out.set(k, v);
    }
    return out;
  }

  private list(file: RuleFileSource, item: RuleFileItem): void {
    const name = scalarText(item.map.get('list', true)) ?? '';
    this.unknownKeys(file, item.map, LIST_KEYS, name);
    if (!/^[^()"'\s=,]+$/.test(name))
      this.err(file, item.where, `List name '${name}' contains invalid characters`, name, 'warning');
    const itemsNode = item.map.get('items', true);
    const items = itemsNode === undefined ? null : stringSeq(itemsNode);
    if (items === null)
      return this.err(
        file,
        item.where,
        itemsNode === undefined
          ? `Item has no mapping for key 'items'`
          : `Value of items must be a sequence of strings`,
        name,
      );
    const append = yamlBool(item.map.get('append', true));
    const override = this.override(file, item.map, name);
    if (append === true && override !== null)
      return this.err(file, item.where, `Keys 'override' and 'append: true' cannot be used together.`, name);
    const mode = append === true ? 'append' : (override?.get('items') ?? null);
    if (append === true)
      this.err(file, item.where, `Using 'append' is deprecated: use 'override: {items: append}'`, name, 'warning');
    const prev = this.lists.get(name);
    if (mode === 'append') {
      if (prev === undefined)
        return this.err(file, item.where, `List has 'append' key but no list by that name already exists`, name);
      prev.items.push(...items);
      prev.visibility = this.#counter;
      return;
    }
    if (prev !== undefined) {
      prev.items = items;
      prev.visibility = this.#counter;
      return;
    }
    this.lists.set(name, {
      name,
      items,
      index: this.#counter,
      visibility: this.#counter,
      file: file.file,
      where: item.where,
    });
  }

  private macro(file: RuleFileSource, item: RuleFileItem): void {
    const name = scalarText(item.map.get('macro', true)) ?? '';
    this.unknownKeys(file, item.map, MACRO_KEYS, name);
    if (!/^[a-zA-Z]+[a-zA-Z0-9_]*$/.test(name))
      this.err(file, item.where, `Macro name '${name}' contains invalid characters`, name, 'warning');
    const condNode = item.map.get('condition', true) as Node | undefined;
    if (condNode === undefined || scalarText(condNode) === null)
      return this.err(file, item.where, `Item has no mapping for key 'condition'`, name);
    const cond = file.sourceText(condNode);
    const append = yamlBool(item.map.get('append', true));
    const override = this.override(file, item.map, name);
    if (append === true && override !== null)
      return this.err(file, item.where, `Keys 'override' and 'append: true' cannot be used together.`, name);
    const mode = append === true ? 'append' : (override?.get('condition') ?? null);
    const prev = this.macros.get(name);
    if (mode === 'append') {
      if (prev === undefined)
        return this.err(file, item.where, `Macro has 'append' key but no macro by that name already exists`, name);
      prev.cond = SourceText.concat([prev.cond, ' ', cond], prev.where);
      prev.visibility = this.#counter;
      return;
    }
    if (prev !== undefined) {
      prev.cond = cond;
      prev.visibility = this.#counter;
      return;
    }
    this.macros.set(name, {
      name,
      cond,
      index: this.#counter,
      visibility: this.#counter,
      file: file.file,
      where: item.where,
    });
  }

  private exceptions(
    file: RuleFileSource,
    node: unknown,
    rule: string,
    source: string,
    existing: readonly ExceptionSpec[] = [],
  ): ExceptionSpec[] | null {
    if (!isSeq(node)) {
      this.err(file, file.at(node as Node), `Rule exceptions must be a sequence`, rule);
      return null;
    }
    const out: ExceptionSpec[] = [];
    const names = new Set<string>();
    for (const ex of node.items) {
      const where = file.at(ex as Node);
      if (!isMap(ex)) {
        this.err(file, where, `Rule exception must be a map`, rule);
        return null;
      }
      const name = scalarText(ex.get('name', true));
      if (name === null) {
        this.err(file, where, `Item has no mapping for key 'name'`, rule);
        return null;
      }
      if (names.has(name))
        this.err(file, where, `Multiple definitions of exception '${name}' in the same rule`, rule, 'warning');
      names.add(name);
      const fieldsNode = ex.get('fields', true);
      const compsNode = ex.get('comps', true);
      const valuesNode = ex.get('values', true);
      // When appending, an exception that already exists may give only new values.
      const known = existing.find((e) => e.name === name);
      const single =
        fieldsNode === undefined && known !== undefined && typeof known.fields === 'string'
          ? known.fields
          : scalarText(fieldsNode);
      const fields: string | string[] | null =
        single ?? (fieldsNode === undefined && known !== undefined ? [...known.fields] : stringSeq(fieldsNode));
      if (fields === null) {
        this.err(file, where, `Rule exception '${name}' needs 'fields' (a field or a list of fields)`, rule);
        return null;
      }
      const checkField = (f: string) => {
        if (source === AUDIT_SOURCE && falcoField(f.replace(/\[.*$/, '')) === undefined)
          this.err(file, where, `'${f}' is not a supported filter field`, rule);
      };
      let comps: string | string[];
      const values: (string | (string | string[])[])[] = [];
      if (typeof fields === 'string') {
        checkField(fields);
        comps =
          compsNode === undefined
            ? known !== undefined && typeof known.comps === 'string'
              ? known.comps
              : 'in'
            : (scalarText(compsNode) ?? '');
        if (!isListComp(comps))
          this.err(
            file,
            where,
            `Rule exception '${name}': with a single field, comps must be in, pmatch, intersects or an operator with a modifier`,
            rule,
          );
        if (valuesNode !== undefined) {
          const vs = isSeq(valuesNode) ? valuesNode.items : [];
          for (const v of vs) {
            const s = scalarText(v) ?? stringSeq(v);
            if (s !== null) values.push(typeof s === 'string' ? s : s);
          }
        }
      } else {
        fields.forEach(checkField);
        const cs =
          compsNode === undefined
            ? known !== undefined && typeof known.comps !== 'string'
              ? [...known.comps]
              : fields.map(() => '=')
            : stringSeq(compsNode);
        if (cs === null || cs.length !== fields.length) {
          this.err(file, where, `Rule exception '${name}': fields and comps lists must have equal length`, rule);
          return null;
        }
        for (const c of cs)
          if (!EXCEPTION_COMPS.has(c.replace(/\s+(oneof|anyof|allof)$/, '')))
            this.err(file, where, `Rule exception '${name}': '${c}' is not a supported comparison operator`, rule);
        comps = cs;
        if (valuesNode !== undefined) {
          if (!isSeq(valuesNode)) {
            this.err(file, where, `Rule exception '${name}': values must be a sequence`, rule);
            return null;
          }
          for (const tuple of valuesNode.items) {
            if (!isSeq(tuple) || tuple.items.length !== fields.length) {
              this.err(
                file,
                file.at(tuple as Node),
                `Rule exception '${name}': each values entry must be a list with one item per field (${fields.length})`,
                rule,
              );
              return null;
            }
            values.push(tuple.items.map((x) => scalarText(x) ?? stringSeq(x) ?? ''));
          }
        }
      }
      out.push({ name, fields, comps, values, where });
    }
    return out;
  }

  private rule(file: RuleFileSource, item: RuleFileItem): void {
    const map = item.map;
    const name = scalarText(map.get('rule', true)) ?? '';
    this.unknownKeys(file, map, RULE_KEYS, name);
    const has = (k: string) => map.has(k);
    const str = (k: string) => scalarText(map.get(k, true));
    const append = yamlBool(map.get('append', true));
    const override = this.override(file, map, name);
    if (append === true && override !== null)
      return this.err(file, item.where, `Keys 'override' and 'append: true' cannot be used together.`, name);
    const prev = this.rules.get(name);
    const source = str('source');

    if (append === true || override !== null) {
      if (prev === undefined)
        return this.err(
          file,
          item.where,
          `Rule has 'append' or 'override' key but no rule by that name already exists`,
          name,
        );
      if (source !== null && source !== prev.source)
        return this.err(
          file,
          item.where,
          `Rule source '${source}' differs from the source '${prev.source}' of the rule it modifies`,
          name,
        );
      const ops = new Map<string, 'append' | 'replace'>();
      if (append === true) {
        this.err(file, item.where, `Using 'append' is deprecated: use 'override'`, name, 'warning');
        for (const k of ['condition', 'exceptions', 'output', 'desc', 'tags']) if (has(k)) ops.set(k, 'append');
      } else {
        for (const [k, mode] of override!) {
          if (!has(k)) this.err(file, item.where, `Key '${k}' is listed under override but not defined`, name);
          else if (mode === 'append' && !RULE_APPENDABLE.has(k))
            this.err(file, item.where, `Key '${k}' cannot be appended to`, name);
          else if (mode === 'replace' && !RULE_REPLACEABLE.has(k))
            this.err(file, item.where, `Key '${k}' cannot be replaced`, name);
          else ops.set(k, mode);
        }
        for (const pair of map.items) {
          const k = scalarText(pair.key);
          if (k !== null && k !== 'rule' && k !== 'override' && k !== 'source' && !override!.has(k))
            this.err(
              file,
              file.at(pair.key as Node),
              `Unexpected key '${k}': an override must list every key it changes`,
              name,
            );
        }
      }
      for (const [k, mode] of ops) this.applyRuleKey(file, prev, map, k, mode);
      return;
    }

    const full = ['condition', 'output', 'desc', 'priority'];
    if (!full.some(has)) {
      const enabled = yamlBool(map.get('enabled', true));
      if (enabled === null) return this.err(file, item.where, `Item has no mapping for key 'condition'`, name);
      if (prev === undefined)
        return this.err(file, item.where, `Rule has 'enabled' key but no rule by that name already exists`, name);
      this.err(
        file,
        item.where,
        `Redefining a rule only to set 'enabled' is deprecated: use 'override: {enabled: replace}'`,
        name,
        'warning',
      );
      prev.enabled = enabled;
      return;
    }
    for (const k of full) if (!has(k)) return this.err(file, item.where, `Item has no mapping for key '${k}'`, name);
    const effectiveSource = source ?? 'syscall';
    // The source defaults to syscall, so a redefinition of a k8s_audit rule must repeat it.
    if (prev !== undefined && effectiveSource !== prev.source)
      return this.err(
        file,
        item.where,
        `Rule '${name}' is redefined with a different source ('${effectiveSource}' instead of '${prev.source}')`,
        name,
      );
    // A bad priority, enabled or tags is reported and the rule is still defined with a stand-in
    // value, so its condition and output are checked too (lint reports every error in one run;
    // any error keeps the pack from being built, so the stand-in never runs).
    let priority = parsePriority(str('priority') ?? '');
    if (priority === null) {
      this.err(file, file.at(map.get('priority', true) as Node), `Invalid priority '${str('priority') ?? ''}'`, name);
      priority = FALCO_PRIORITIES[FALCO_PRIORITIES.length - 1]!;
    }
    const condNode = map.get('condition', true) as Node;
    const outNode = map.get('output', true) as Node;
    let enabled = has('enabled') ? yamlBool(map.get('enabled', true)) : true;
    if (enabled === null) {
      this.err(file, item.where, `Value of 'enabled' must be a boolean`, name);
      enabled = true;
    }
    let tags = has('tags') ? stringSeq(map.get('tags', true)) : [];
    if (tags === null) {
      this.err(file, item.where, `Value of 'tags' must be a sequence of strings`, name);
      tags = [];
    }
    const exceptions = has('exceptions')
      ? this.exceptions(file, map.get('exceptions', true), name, effectiveSource)
      : [];
    if (exceptions === null) return;
    const output = (scalarText(outNode) ?? '').trim();
    const info: RuleInfo = {
      name,
      index: prev?.index ?? this.#counter, // a redefinition keeps the original position
      file: file.file,
      where: item.where,
      cond: file.sourceText(condNode),
      output,
      outputText: file.sourceText(outNode),
      desc: str('desc') ?? '',
      priority,
      source: effectiveSource,
      enabled,
      tags: [...new Set(tags)],
      exceptions,
      skipIfUnknownFilter: yamlBool(map.get('skip-if-unknown-filter', true)) === true,
    };
    this.rules.set(name, info);
  }

  private applyRuleKey(
    file: RuleFileSource,
    rule: RuleInfo,
    map: YAMLMap,
    key: string,
    mode: 'append' | 'replace',
  ): void {
    const node = map.get(key, true) as Node;
    const s = scalarText(node);
    switch (key) {
      case 'condition':
        if (s === null) return this.err(file, file.at(node), `Value of condition must be a string`, rule.name);
        rule.cond =
          mode === 'append'
            ? SourceText.concat([rule.cond, ' ', file.sourceText(node)], rule.where)
            : file.sourceText(node);
        return;
      case 'output':
        if (s === null) return this.err(file, file.at(node), `Value of output must be a string`, rule.name);
        rule.output = mode === 'append' ? `${rule.output} ${s.trim()}` : s.trim();
        // An appended output spans two items: errors point at the appending item.
        rule.outputText = mode === 'append' ? SourceText.fixed(rule.output, file.at(node)) : file.sourceText(node);
        return;
      case 'desc':
        rule.desc = mode === 'append' ? `${rule.desc} ${s ?? ''}` : (s ?? '');
        return;
      case 'priority': {
        const p = parsePriority(s ?? '');
        if (p === null) return this.err(file, file.at(node), `Invalid priority '${s ?? ''}'`, rule.name);
        rule.priority = p;
        return;
      }
      case 'tags': {
        const t = stringSeq(node);
        if (t === null)
          return this.err(file, file.at(node), `Value of 'tags' must be a sequence of strings`, rule.name);
        rule.tags = mode === 'append' ? [...new Set([...rule.tags, ...t])] : [...new Set(t)];
        return;
      }
      case 'exceptions': {
        const ex = this.exceptions(file, node, rule.name, rule.source, mode === 'append' ? rule.exceptions : []);
        if (ex === null) return;
        if (mode === 'replace') {
          rule.exceptions = ex;
          return;
        }
        // Appending merges the values of an exception with the same name.
        const merged = [...rule.exceptions];
        for (const e of ex) {
          const i = merged.findIndex((m) => m.name === e.name);
          if (i >= 0) merged[i] = { ...merged[i]!, values: [...merged[i]!.values, ...e.values] };
          else merged.push(e);
        }
        rule.exceptions = merged;
        return;
      }
      case 'enabled': {
        const b = yamlBool(node);
        if (b === null) return this.err(file, file.at(node), `Value of 'enabled' must be a boolean`, rule.name);
        rule.enabled = b;
        return;
      }
      case 'skip-if-unknown-filter':
        rule.skipIfUnknownFilter = yamlBool(node) === true;
        return;
      default:
        return; // capture, capture_duration, warn_evttypes: accepted, no effect on audit events
    }
  }
}

function parseSemver(s: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(s.trim());
  return m === null ? null : [Number(m[1]), Number(m[2]), Number(m[3])];
}

function compareSemver(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i]! !== b[i]!) return a[i]! - b[i]!;
  return 0;
}

function pluginSatisfies(name: string, version: string): boolean {
  const have = FALCO_PLUGIN_VERSIONS[name];
  const want = parseSemver(version);
  const got = have === undefined ? null : parseSemver(have);
  return want !== null && got !== null && got[0] === want[0] && compareSemver(got, want) >= 0;
}

// ---- compiler ------------------------------------------------------------------------------

/** Load rules from in-memory texts (the core the file-reading variants call). */
export function loadFalcoRulesFromText(
  sources: readonly { name: string; text: string }[],
  options: FalcoLoadOptions = {},
): FalcoLoadResult {
  const col = new Collector();
  for (const s of sources) col.read(new RuleFileSource(s.name, s.text));
  const problems = col.problems;
  const minPriority = options.minPriority === undefined ? parsePriority('debug')! : parsePriority(options.minPriority);
  if (minPriority === null)
    problems.push({ line: 0, column: 0, message: `invalid minimum priority '${options.minPriority ?? ''}'` });

  // Lists: one-level expansion of lists defined earlier, then Falco's item quoting.
  const lists = [...col.lists.values()].sort((a, b) => a.index - b.index);
  const named: NamedList[] = lists.map((l) => {
    const items: string[] = [];
    for (const it of l.items) {
      const ref = col.lists.get(it);
      if (ref !== undefined && ref.index < l.visibility) items.push(...ref.items);
      else items.push(it);
    }
    return { name: l.name, items: items.map(quoteListItem) };
  });

  const report = (
    loc: { file: string },
    where: TextLocation,
    message: string,
    rule: string,
    severity?: 'warning',
    length?: number,
  ): void => {
    problems.push({
      file: loc.file,
      line: where.line,
      column: where.column,
      ...(length !== undefined ? { length } : {}),
      message,
      rule,
      ...(severity ? { severity } : {}),
    });
  };

  // Macros: parse each once (all sources), then resolve lazily with visibility.
  const parsed = new Map<string, ConditionNode | null>();
  const macroTexts = new Map<string, SourceText>();
  const macroList = [...col.macros.values()].sort((a, b) => a.index - b.index);
  for (const m of macroList) {
    const text = substituteLists(m.cond, named);
    macroTexts.set(m.name, text);
    const r = parseCondition(text.text, { maxDepth: MAX_RULE_DEPTH });
    for (const e of r.errors)
      report(m, text.locate(e.offset), `macro '${m.name}': ${e.message}`, m.name, undefined, e.length);
    parsed.set(m.name, r.value);
  }
  const resolved = new Map<string, ConditionNode | null>();
  const bodies = new WeakSet<ConditionNode>();
  const inProgress = new Set<string>();
  const resolve = (
    node: ConditionNode,
    visibility: number,
    onUndefined: (name: string, offset: number) => void,
  ): ConditionNode =>
    mapCondition(node, (leaf) => {
      if (leaf.kind !== 'macro') return leaf;
      const m = col.macros.get(leaf.name);
      if (m === undefined || m.index >= visibility) {
        onUndefined(leaf.name, leaf.span.offset);
        return leaf;
      }
      const body = resolveMacro(m);
      return body ?? ConditionNodes.macro(leaf.name, leaf.span);
    });
  const resolveMacro = (m: MacroInfo): ConditionNode | null => {
    if (resolved.has(m.name)) return resolved.get(m.name)!;
    const ast = parsed.get(m.name) ?? null;
    if (ast === null) return null;
    if (inProgress.has(m.name)) {
      report(m, m.where, `Macro '${m.name}' refers to itself (directly or through other macros)`, m.name);
      return null;
    }
    inProgress.add(m.name);
    const text = macroTexts.get(m.name)!;
    const substituted = resolve(ast, m.visibility, (name, offset) =>
      report(m, text.locate(offset), `Undefined macro '${name}' used in filter.`, m.name),
    );
    inProgress.delete(m.name);
    const depth = conditionDepth(substituted);
    if (depth > MAX_RESOLVED_DEPTH) {
      report(
        m,
        m.where,
        `Macro '${m.name}' nests too deeply once its macros are substituted (depth ${depth}, limit ${MAX_RESOLVED_DEPTH})`,
        m.name,
      );
      resolved.set(m.name, null);
      return null;
    }
    const body = tagOrigin(substituted, m.name, bodies);
    bodies.add(body);
    resolved.set(m.name, body);
    return body;
  };
  for (const m of macroList) resolveMacro(m);

  // Rules.
  const compiled: CompiledFalcoRule[] = [];
  let auditRules = 0;
  let disabled = 0;
  let other = 0;
  let skipped = 0;
  const ordered = [...col.rules.values()].sort((a, b) => a.index - b.index);
  for (const r of ordered) {
    const isAudit = r.source === AUDIT_SOURCE;
    if (isAudit) auditRules++;
    else other++;
    const text = substituteLists(withExceptions(r.cond, r.exceptions), named);
    const ruleProblems: { where: TextLocation; message: string; unknown: boolean; length?: number }[] = [];
    const p = parseCondition(text.text, { maxDepth: MAX_RULE_DEPTH });
    for (const e of p.errors)
      ruleProblems.push({ where: text.locate(e.offset), message: e.message, unknown: false, length: e.length });
    let predicate = null;
    let tree: ConditionNode | null = null;
    if (p.value !== null) {
      tree = resolve(p.value, Number.MAX_SAFE_INTEGER, (name, offset) =>
        ruleProblems.push({
          where: text.locate(offset),
          message: `Undefined macro '${name}' used in filter.`,
          unknown: true,
        }),
      );
      const depth = conditionDepth(tree);
      if (depth > MAX_RESOLVED_DEPTH)
        ruleProblems.push({
          where: r.where,
          message: `Condition nests too deeply once macros are substituted (depth ${depth}, limit ${MAX_RESOLVED_DEPTH})`,
          unknown: false,
        });
      if (isAudit && ruleProblems.length === 0) {
        const c = compileCondition(tree);
        for (const e of c.errors) {
          // Inside a substituted macro: point into the macro's own text (and file).
          const m = e.origin === undefined ? undefined : col.macros.get(e.origin);
          const where = m === undefined ? text.locate(e.offset) : macroTexts.get(m.name)!.locate(e.offset);
          const message =
            m === undefined
              ? e.message
              : `${e.message} (in macro '${m.name}'${m.file !== r.file ? ` of ${m.file}` : ''})`;
          ruleProblems.push({ where, message, unknown: e.unknownFilter === true, length: e.length });
        }
        predicate = c.value;
      }
    }
    let output = null;
    if (isAudit) {
      const o = compileOutput(r.output);
      // The output was trimmed; locate errors from the start of its (untrimmed) source.
      const lead = r.outputText.text.length - r.outputText.text.trimStart().length;
      for (const e of o.errors)
        ruleProblems.push({
          where: r.outputText.locate(lead + e.offset),
          message: e.message,
          unknown: e.unknownFilter === true,
          length: e.length,
        });
      output = o.value;
    }
    if (ruleProblems.length > 0) {
      if (r.skipIfUnknownFilter && ruleProblems.every((x) => x.unknown)) {
        skipped++;
        for (const x of ruleProblems)
          report(r, x.where, `${x.message} (rule skipped: skip-if-unknown-filter)`, r.name, 'warning');
      } else for (const x of ruleProblems) report(r, x.where, x.message, r.name, undefined, x.length);
      continue;
    }
    if (!isAudit) continue;
    if (!r.enabled || (minPriority !== null && r.priority.level > minPriority.level)) {
      disabled++;
      continue;
    }
    compiled.push({
      name: r.name,
      description: r.desc,
      priority: r.priority,
      tags: Object.freeze([...r.tags]),
      predicate: predicate!,
      output: output!,
      index: deriveIndex(tree!),
      file: r.file,
      line: r.where.line,
    });
  }

  // Report in reading order: by file, then position.
  const fileOrder = new Map(sources.map((s, i) => [s.name, i]));
  problems.sort(
    (a, b) =>
      (fileOrder.get(a.file ?? '') ?? -1) - (fileOrder.get(b.file ?? '') ?? -1) ||
      a.line - b.line ||
      a.column - b.column,
  );
  const errors = problems.filter((p) => p.severity !== 'warning').length;
  const stats: FalcoLoadStats = Object.freeze({
    files: col.files,
    lists: col.lists.size,
    macros: col.macros.size,
    rules: col.rules.size,
    auditRules,
    activeRules: compiled.length,
    disabledRules: disabled,
    otherSourceRules: other,
    skippedRules: skipped,
    indexedByVerb: compiled.filter((c) => c.index.verbs !== undefined).length,
    indexedByResource: compiled.filter((c) => c.index.resources !== undefined).length,
    unindexed: compiled.filter((c) => c.index.verbs === undefined && c.index.resources === undefined).length,
    requiredEngineVersion: col.requiredEngine === null ? null : col.requiredEngine.join('.'),
    requiredPluginVersions: Object.freeze([...col.plugins]),
    errors,
    warnings: problems.length - errors,
  });
  const pack =
    errors > 0 ? null : new FalcoRulePack(compiled, { match: options.match ?? 'first', name: packName(sources) });
  return { pack, problems: Object.freeze([...problems]), stats };
}

function packName(sources: readonly { name: string }[]): string {
  return `falco:${sources.map((s) => s.name.split('/').pop()).join('+')}`;
}

// Re-exported so callers need one import.
export type { FalcoMatchMode } from './falco-pack.js';
