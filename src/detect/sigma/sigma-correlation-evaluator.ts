/**
 * Streaming evaluation of Sigma correlation rules (event_count, value_count, temporal,
 * temporal_ordered).
 *
 * Window semantics (the SQL compiler implements the same, see sigma-sql-compiler.ts): a
 * SLIDING window that ends at each matching event. For an event at time t, its window holds
 * the events of the same group (equal group-by values) matched by the referenced rules with
 * time in [t - timespan, t], both ends included, events with the same timestamp included
 * whatever their arrival order. The event is a hit when its window satisfies the condition:
 * - event_count: number of events; value_count: number of distinct non-null values of the
 *   condition field; temporal: number of distinct referenced rules matched (default: all);
 * - temporal_ordered: only events of the last rule trigger, and the window must contain events
 *   of the other rules in the listed order (t1 <= t2 <= … <= t).
 * Each hit is one Detection (the triggering event, with the window's other events as
 * `related`); the aggregator folds a group's repeated hits into one finding.
 *
 * State is bounded: per group only the events inside the timespan of the newest event are
 * kept (and at most MAX_ENTRIES_PER_GROUP), groups idle for longer than the timespan are
 * dropped, and at most MAX_GROUPS groups live at once. Input may be out of order within the
 * window; an event older than its group's window is too late and is ignored.
 */
import type { AuditEvent } from '../../model/audit-event.js';
import type { DetectorInfo, Emit } from '../detector.js';
import type { CountCondition, SigmaCorrelationRule } from './sigma-ast.js';
import { firstValueString, type SigmaFieldMapping, compileValueVisitor, type ValueVisitor } from './sigma-field-mapping.js';
import type { EventPredicate } from './sigma-matcher-compiler.js';

// 10k events of one group inside one window is already an incident; beyond it the oldest go.
export const MAX_ENTRIES_PER_GROUP = 10_000;
// Group keys come from logs (attacker-controlled): cap how many windows can be open at once.
export const MAX_GROUPS = 100_000;
// Evidence attached to one correlation hit; the count in details is never capped.
export const RELATED_CAP = 20;
const SWEEP_EVERY = 4096;
const EVICT_BATCH = 256;

/** One referenced rule as the correlation sees it. */
export interface CorrelationMember {
  /** The id or name as written in `correlation.rules`. */
  readonly ref: string;
  /** Every identifier the rule answers to (id and name), for alias lookup. */
  readonly names: readonly string[];
  readonly match: EventPredicate;
}

interface Entry {
  readonly time: number;
  readonly event: AuditEvent;
  readonly mask: number;
  readonly value: string | null;
  fired: boolean;
}

interface Group {
  entries: Entry[];
  maxTime: number;
  readonly values: readonly (string | null)[];
}

export function conditionHolds(conds: readonly CountCondition[], n: number): boolean {
  for (const c of conds) {
    switch (c.op) {
      case 'gt':
        if (!(n > c.value)) return false;
        break;
      case 'gte':
        if (!(n >= c.value)) return false;
        break;
      case 'lt':
        if (!(n < c.value)) return false;
        break;
      case 'lte':
        if (!(n <= c.value)) return false;
        break;
      case 'eq':
        if (n !== c.value) return false;
        break;
      case 'neq':
        if (n === c.value) return false;
        break;
    }
  }
  return true;
}

/** The effective condition: temporal types without one require every referenced rule. */
export function effectiveCondition(rule: SigmaCorrelationRule): readonly CountCondition[] {
  if (rule.type === 'temporal_ordered') return [];
  if (rule.type === 'temporal' && rule.condition.length === 0) return [{ op: 'gte', value: rule.rules.length }];
  return rule.condition;
}

/** Field read for group-by `field` on events of `member`, honouring correlation aliases. */
export function groupFieldFor(rule: SigmaCorrelationRule, field: string, member: CorrelationMember): string {
  const alias = rule.aliases[field];
  if (alias !== undefined) for (const n of member.names) if (Object.hasOwn(alias, n)) return alias[n]!;
  return field;
}

export class CorrelationEvaluator {
  readonly #rule: SigmaCorrelationRule;
  readonly #info: DetectorInfo;
  readonly #members: readonly CorrelationMember[];
  /** groupVisitors[m][g]: how member m reads group-by field g. */
  readonly #groupVisitors: readonly (readonly ValueVisitor[])[];
  readonly #valueVisitor: ValueVisitor | null;
  readonly #condition: readonly CountCondition[];
  readonly #lastBit: number;
  readonly #groups = new Map<string, Group>();
  #maxTime = -Infinity;
  #seen = 0;

  constructor(rule: SigmaCorrelationRule, info: DetectorInfo, members: readonly CorrelationMember[], mapping: SigmaFieldMapping) {
    if (members.length > 30) throw new RangeError('a correlation can reference at most 30 rules');
    this.#rule = rule;
    this.#info = info;
    this.#members = members;
    this.#groupVisitors = members.map((m) => rule.groupBy.map((g) => compileValueVisitor(mapping.resolve(groupFieldFor(rule, g, m)))));
    this.#valueVisitor = rule.type === 'value_count' && rule.valueField !== undefined ? compileValueVisitor(mapping.resolve(rule.valueField)) : null;
    this.#condition = effectiveCondition(rule);
    this.#lastBit = 1 << (members.length - 1);
  }

  observe(event: AuditEvent, emit: Emit): void {
    let mask = 0;
    let first = -1;
    for (let i = 0; i < this.#members.length; i++) {
      if (this.#members[i]!.match(event)) {
        mask |= 1 << i;
        if (first < 0) first = i;
      }
    }
    if (mask === 0) return;
    const span = this.#rule.timespanMs;
    const t = event.time;
    if (t > this.#maxTime) this.#maxTime = t;
    if (++this.#seen % SWEEP_EVERY === 0) this.#sweep();

    const visitors = this.#groupVisitors[first]!;
    const values = visitors.map((v) => firstValueString(v, event));
    const key = values.map((v) => (v === null ? '\u0000' : v)).join('\u0001');
    let group = this.#groups.get(key);
    if (group === undefined) {
      if (this.#groups.size >= MAX_GROUPS) {
        const oldest = this.#groups.keys().next();
        if (oldest.done !== true) this.#groups.delete(oldest.value);
      }
      group = { entries: [], maxTime: t, values };
      this.#groups.set(key, group);
    }
    if (t < group.maxTime - span) return; // too late for its window
    if (t > group.maxTime) group.maxTime = t;

    const entry: Entry = {
      time: t,
      event,
      mask,
      value: this.#valueVisitor === null ? null : firstValueString(this.#valueVisitor, event),
      fired: false,
    };
    const entries = group.entries;
    const at = upperBound(entries, t);
    entries.splice(at, 0, entry);
    // Evict what no in-order window can reach, in batches (one splice per EVICT_BATCH stale
    // entries instead of one per event); windows are found by binary search, so stale entries
    // left in place change nothing. The group stays under 2 windows + EVICT_BATCH entries.
    let drop = lowerBound(entries, group.maxTime - span);
    if (entries.length - drop > MAX_ENTRIES_PER_GROUP) drop = entries.length - MAX_ENTRIES_PER_GROUP;
    if (drop >= EVICT_BATCH || (drop > 0 && drop * 2 >= entries.length)) entries.splice(0, drop);

    // The new event can change the windows that end at [t, t + span]: re-check those not yet hit.
    const from = lowerBound(entries, t);
    const to = upperBound(entries, t + span);
    for (let i = from; i < to; i++) {
      const x = entries[i]!;
      if (x.fired) continue;
      if (this.#rule.type === 'temporal_ordered' && (x.mask & this.#lastBit) === 0) continue;
      const lo = lowerBound(entries, x.time - span);
      const hi = upperBound(entries, x.time);
      const measure = this.#measure(entries, lo, hi);
      if (measure === null || !conditionHolds(this.#condition, measure)) continue;
      x.fired = true;
      this.#emit(x, entries, lo, hi, measure, group, emit);
    }
  }

  /** The number the condition is about, or null when the window does not qualify. */
  #measure(entries: readonly Entry[], lo: number, hi: number): number | null {
    switch (this.#rule.type) {
      case 'event_count':
        return hi - lo;
      case 'value_count': {
        const seen = new Set<string>();
        for (let i = lo; i < hi; i++) {
          const v = entries[i]!.value;
          if (v !== null) seen.add(v);
        }
        return seen.size;
      }
      case 'temporal': {
        let m = 0;
        for (let i = lo; i < hi; i++) m |= entries[i]!.mask;
        let n = 0;
        for (; m !== 0; m &= m - 1) n++;
        return n;
      }
      case 'temporal_ordered': {
        // Greedy earliest chain r1 <= r2 <= … within the window; equal timestamps count in any
        // order, so each run of equal times is scanned until it advances no further.
        const need = this.#members.length - 1;
        let k = 0;
        let i = lo;
        while (i < hi && k < need) {
          let j = i;
          while (j < hi && entries[j]!.time === entries[i]!.time) j++;
          let advanced = true;
          while (advanced && k < need) {
            advanced = false;
            for (let q = i; q < j; q++) {
              if ((entries[q]!.mask & (1 << k)) !== 0) {
                k++;
                advanced = true;
                break;
              }
            }
          }
          i = j;
        }
        return k === need ? this.#members.length : null;
      }
    }
  }

  #emit(x: Entry, entries: readonly Entry[], lo: number, hi: number, measure: number, group: Group, emit: Emit): void {
    const related: AuditEvent[] = [];
    for (let i = hi - 1; i >= lo && related.length < RELATED_CAP; i--) if (entries[i] !== x) related.push(entries[i]!.event);
    related.reverse();
    const groupValues: Record<string, string | null> = {};
    this.#rule.groupBy.forEach((g, i) => (groupValues[g] = group.values[i] ?? null));
    emit({
      info: this.#info,
      event: x.event,
      time: x.time,
      related,
      groupKey: `${this.#rule.id}\u0001${JSON.stringify(group.values)}`,
      details: {
        correlation: this.#rule.type,
        group: groupValues,
        [this.#rule.type === 'value_count' ? 'distinctValues' : this.#rule.type === 'event_count' ? 'eventCount' : 'rulesMatched']: measure,
        windowStart: new Date(x.time - this.#rule.timespanMs).toISOString(),
        windowEnd: new Date(x.time).toISOString(),
      },
    });
  }

  #sweep(): void {
    const limit = this.#maxTime - this.#rule.timespanMs;
    for (const [k, g] of this.#groups) if (g.maxTime < limit) this.#groups.delete(k);
  }

  /** Open windows (for tests and stats). */
  get openGroups(): number {
    return this.#groups.size;
  }
}

/** First index whose time is >= t. */
function lowerBound(a: readonly Entry[], t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]!.time < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose time is > t. */
function upperBound(a: readonly Entry[], t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]!.time <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
