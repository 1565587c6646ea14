/**
 * The DetectorPack that runs compiled Falco rules. Rules are kept in Falco's order (first
 * definition); for each distinct (verb, resource) the pack computes once which rules can match
 * (from each rule's derived index) and caches that candidate list, so an event only tries
 * those, still in file order. In `first` mode (Falco's default `rule_matching: first`) the
 * first matching rule wins and at most one detection is emitted per event; in `all` mode every
 * matching rule emits.
 */
import type { AuditEvent } from '../../model/audit-event.js';
import type { Mitre } from '../../model/finding.js';
import { indexAccepts } from '../engine.js';
import type { Detection, Detector, DetectorIndex, DetectorInfo, DetectorPack, Emit } from '../detector.js';
import type { Predicate } from './falco-condition-compiler.js';
import { unionIndex } from './falco-index.js';
import { falcoAlertLine, type CompiledOutput } from './falco-output.js';
import { severityOfPriority, type FalcoPriority } from './falco-priority.js';

export type FalcoMatchMode = 'first' | 'all';

/** One rule, compiled: what the loader hands to the pack. */
export interface CompiledFalcoRule {
  readonly name: string;
  readonly description: string;
  readonly priority: FalcoPriority;
  readonly tags: readonly string[];
  readonly predicate: Predicate;
  readonly output: CompiledOutput;
  readonly index: DetectorIndex;
  readonly file: string;
  readonly line: number;
}

// Verbs and resources come from logs (attacker-controlled): bound the candidate cache.
const CANDIDATE_CACHE_CAP = 20_000;

/** `mitre_<tactic>` tags give the tactic, `T1234` / `T1234.001` tags the technique. */
export function mitreFromTags(tags: readonly string[]): Mitre | null {
  let tactic = '';
  let technique = '';
  for (const t of tags) {
    if (tactic === '' && /^mitre_[a-z_]+$/i.test(t)) {
      tactic = t
        .slice(6)
        .split('_')
        .map((w) => (w === '' ? w : w[0]!.toUpperCase() + w.slice(1).toLowerCase()))
        .join(' ');
    } else if (technique === '' && /^T\d{4}(?:\.\d{3})?$/.test(t)) technique = t;
  }
  return tactic === '' && technique === '' ? null : { tactic, technique };
}

export class FalcoRuleDetector implements Detector {
  readonly info: DetectorInfo;
  readonly index: DetectorIndex;

  constructor(readonly rule: CompiledFalcoRule) {
    this.info = Object.freeze({
      type: `Falco:${rule.name}`,
      engine: 'falco',
      rule: rule.name,
      title: rule.name,
      description: rule.description.trim(),
      severity: severityOfPriority(rule.priority),
      mitre: mitreFromTags(rule.tags),
      tags: rule.tags,
    });
    this.index = rule.index;
  }

  /** Evaluate this one rule on its own (ignores the pack's first-match). */
  evaluate(event: AuditEvent, emit: Emit): void {
    if (this.rule.predicate(event)) emit(this.detection(event));
  }

  detection(event: AuditEvent): Detection {
    const output = this.rule.output.render(event);
    return {
      info: this.info,
      event,
      priority: this.rule.priority.name,
      output,
      // `alertLine` is the line Falco prints (and puts in its JSON `output`): time, priority, message.
      details: {
        outputFields: this.rule.output.values(event),
        alertLine: falcoAlertLine(event, this.rule.priority.name, output),
      },
    };
  }
}

export class FalcoRulePack implements DetectorPack {
  readonly name: string;
  readonly index: DetectorIndex;
  readonly detectors: readonly FalcoRuleDetector[];
  readonly match: FalcoMatchMode;
  // verb → resource ('' for none) → candidates; nested maps avoid building a key per event.
  readonly #cache = new Map<string, Map<string, readonly FalcoRuleDetector[]>>();
  #cached = 0;
  #evaluations = 0;
  #errors = 0;
  #lastError: { readonly rule: string; readonly error: unknown } | null = null;

  constructor(rules: readonly CompiledFalcoRule[], options: { match: FalcoMatchMode; name: string }) {
    this.name = options.name;
    this.match = options.match;
    this.detectors = Object.freeze(rules.map((r) => new FalcoRuleDetector(r)));
    this.index = unionIndex(rules.map((r) => r.index));
  }

  /** The rules that can match an event with this verb and resource, in Falco's order. */
  candidates(verb: string, resource: string | null): readonly FalcoRuleDetector[] {
    let byResource = this.#cache.get(verb);
    const hit = byResource?.get(resource ?? '');
    if (hit !== undefined) return hit;
    // An empty resource string and a missing one can differ for `ka.target.resource = ""`.
    const list =
      resource === ''
        ? this.detectors.filter((d) => indexAccepts(d.index, verb, ''))
        : this.detectors.filter((d) => indexAccepts(d.index, verb, resource));
    if (this.#cached < CANDIDATE_CACHE_CAP && resource !== '') {
      if (byResource === undefined) this.#cache.set(verb, (byResource = new Map()));
      byResource.set(resource ?? '', list);
      this.#cached++;
    }
    return list;
  }

  /** Rule conditions evaluated so far (what the index saves is events × rules minus this). */
  get ruleEvaluations(): number {
    return this.#evaluations;
  }

  /** Rule evaluations that threw (treated as no match; see `lastError`). */
  get ruleErrors(): number {
    return this.#errors;
  }

  /** The last rule that threw, and why (a bug or an event beyond a limit; never expected). */
  get lastError(): { readonly rule: string; readonly error: unknown } | null {
    return this.#lastError;
  }

  evaluate(event: AuditEvent, emit: Emit): void {
    const rules = this.candidates(event.verb, event.resource);
    let i = 0;
    while (i < rules.length) {
      const d = rules[i++]!;
      let detection: Detection;
      try {
        if (!d.rule.predicate(event)) continue;
        detection = d.detection(event);
      } catch (e) {
        // One rule failing on a hostile event must not cost the event the other rules' alerts.
        this.#errors++;
        this.#lastError = { rule: d.rule.name, error: e };
        continue;
      }
      emit(detection);
      if (this.match === 'first') break;
    }
    this.#evaluations += i;
  }
}
