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
 * Cost and state are bounded: the window ending at the newest event is kept incrementally
 * (count, distinct-value counts, per-rule counts, ordered-chain starts), so in-order input costs
 * O(1) per event beyond the rules' own matching. Per group only the events inside the newest
 * window are kept (at most MAX_ENTRIES_PER_GROUP), groups idle for longer than the timespan are
 * dropped, and at most MAX_GROUPS groups live at once. Input may be out of order within the
 * window: the older windows a late event changes are re-scanned (at most MAX_RECHECK per event);
 * an event older than its group's window is too late and is ignored.
 */
import type { AuditEvent } from '../../model/audit-event.js';
import type { DetectorInfo, Emit } from '../detector.js';
import type { CountCondition, SigmaCorrelationRule } from './sigma-ast.js';
import {
  firstValueString,
  type SigmaFieldMapping,
  compileValueVisitor,
  type ValueVisitor,
} from './sigma-field-mapping.js';
import type { EventPredicate } from './sigma-matcher-compiler.js';

// 10k events of one group inside one window is already an incident; beyond it the oldest go.
export const MAX_ENTRIES_PER_GROUP = 10_000;
// Group keys come from logs (attacker-controlled): cap how many windows can be open at once.
export const MAX_GROUPS = 100_000;
// Evidence attached to one correlation hit; the count in details is never capped.
export const RELATED_CAP = 20;
const SWEEP_EVERY = 4096;
const EVICT_BATCH = 256;
// Windows re-scanned per event for out-of-order input (in-order input needs none).
export const MAX_RECHECK = 32;

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
  /** Sorted by time; entries before winStart are outside the newest window (kept until a batch eviction). */
  entries: Entry[];
  maxTime: number;
  readonly values: readonly (string | null)[];
  /** First entry of the newest window [maxTime - timespan, maxTime]. */
  winStart: number;
  /** value_count: value → occurrences in the newest window. */
  readonly distinct: Map<string, number>;
  /** temporal: per referenced rule, events in the newest window. */
  readonly memberCounts: number[];
  /** temporal_ordered: s[k] = latest start of an in-order chain r1..r(k+1) before peerTime. */
  sBefore: number[];
  /** temporal_ordered: time and rule mask of the events at the newest timestamp. */
  peerTime: number;
  peerMask: number;
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

  constructor(
    rule: SigmaCorrelationRule,
    info: DetectorInfo,
    members: readonly CorrelationMember[],
    mapping: SigmaFieldMapping,
  ) {
    if (members.length > 30) throw new RangeError('a correlation can reference at most 30 rules');
    this.#rule = rule;
    this.#info = info;
    this.#members = members;
    this.#groupVisitors = members.map((m) =>
      rule.groupBy.map((g) => compileValueVisitor(mapping.resolve(groupFieldFor(rule, g, m)))),
    );
    this.#valueVisitor =
      rule.type === 'value_count' && rule.valueField !== undefined
        ? compileValueVisitor(mapping.resolve(rule.valueField))
        : null;
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
      group = {
        entries: [],
        maxTime: t,
        values,
        winStart: 0,
        distinct: new Map(),
        memberCounts: this.#members.map(() => 0),
        sBefore: this.#members.slice(1).map(() => -Infinity),
        peerTime: t,
        peerMask: 0,
      };
      this.#groups.set(key, group);
    }
    if (t < group.maxTime - span) return; // too late for its window
    const inOrder = t >= group.maxTime;
    const entries = group.entries;
    if (t > group.maxTime) {
      group.maxTime = t;
      while (group.winStart < entries.length && entries[group.winStart]!.time < t - span)
        this.#leave(group, entries[group.winStart++]!);
    }
    const entry: Entry = {
      time: t,
      event,
      mask,
      value: this.#valueVisitor === null ? null : firstValueString(this.#valueVisitor, event),
      fired: false,
    };
    entries.splice(upperBound(entries, t), 0, entry);
    this.#enter(group, entry);
    if (this.#rule.type === 'temporal_ordered') {
      if (inOrder) {
        if (t > group.peerTime) {
          group.sBefore = this.#closure(group.sBefore, group.peerMask, group.peerTime);
          group.peerTime = t;
          group.peerMask = 0;
        }
        group.peerMask |= mask;
      } else this.#rebuildChain(group);
    }
    this.#evict(group);

    // The new event can change the windows that end at [t, t + span]: re-check those not yet hit.
    // Windows ending at the newest time are the incremental window (O(1)); older ones, which
    // only out-of-order input reaches, are re-scanned, at most MAX_RECHECK per event.
    const from = lowerBound(group.entries, t);
    const to = upperBound(group.entries, t + span);
    let scans = 0;
    for (let i = from; i < to; i++) {
      const list = group.entries;
      const x = list[i]!;
      if (x.fired) continue;
      if (this.#rule.type === 'temporal_ordered' && (x.mask & this.#lastBit) === 0) continue;
      let measure: number | null;
      if (x.time === group.maxTime) measure = this.#currentMeasure(group);
      else {
        if (scans++ >= MAX_RECHECK) break;
        measure = this.#measure(list, lowerBound(list, x.time - span), upperBound(list, x.time));
      }
      if (measure === null || !conditionHolds(this.#condition, measure)) continue;
      x.fired = true;
      this.#emit(x, list, lowerBound(list, x.time - span), upperBound(list, x.time), measure, group, emit);
    }
  }

  #enter(g: Group, e: Entry): void {
    if (e.value !== null) g.distinct.set(e.value, (g.distinct.get(e.value) ?? 0) + 1);
    for (let m = e.mask, i = 0; m !== 0; m >>>= 1, i++) if ((m & 1) !== 0) g.memberCounts[i]!++;
  }

  #leave(g: Group, e: Entry): void {
    if (e.value !== null) {
      const n = (g.distinct.get(e.value) ?? 1) - 1;
      if (n <= 0) g.distinct.delete(e.value);
      else g.distinct.set(e.value, n);
    }
    for (let m = e.mask, i = 0; m !== 0; m >>>= 1, i++) if ((m & 1) !== 0) g.memberCounts[i]!--;
  }

  /** Drop entries outside the newest window in batches, and cap the group's size. */
  #evict(g: Group): void {
    const entries = g.entries;
    const over = entries.length - MAX_ENTRIES_PER_GROUP;
    if (over > 0) {
      for (let i = Math.max(g.winStart, 0); i < Math.min(over, entries.length); i++) this.#leave(g, entries[i]!);
      entries.splice(0, over);
      g.winStart = Math.max(0, g.winStart - over);
      if (this.#rule.type === 'temporal_ordered') this.#rebuildChain(g);
      return;
    }
    if (g.winStart >= EVICT_BATCH || (g.winStart > 0 && g.winStart * 2 >= entries.length)) {
      entries.splice(0, g.winStart);
      g.winStart = 0;
    }
  }

  /** The measure of the newest window, from the incremental state. */
  #currentMeasure(g: Group): number | null {
    switch (this.#rule.type) {
      case 'event_count':
        return g.entries.length - g.winStart;
      case 'value_count':
        return g.distinct.size;
      case 'temporal': {
        let n = 0;
        for (const c of g.memberCounts) if (c > 0) n++;
        return n;
      }
      case 'temporal_ordered': {
        const s = this.#closure(g.sBefore, g.peerMask, g.peerTime);
        return s[s.length - 1]! >= g.peerTime - this.#rule.timespanMs ? this.#members.length : null;
      }
    }
  }

  /**
   * Chain starts after the events at one timestamp (any order among them, as SQL's RANGE peers):
   * s[k] = max(s[k], chain start through rule k+1 at this time).
   */
  #closure(before: readonly number[], peerMask: number, time: number): number[] {
    const out = [...before];
    for (let k = 0; k < out.length; k++) {
      if ((peerMask & (1 << k)) === 0) continue;
      const start = k === 0 ? time : out[k - 1]!;
      if (start > out[k]!) out[k] = start;
    }
    return out;
  }

  /** Rebuild the ordered-chain state from the kept entries (after out-of-order input). */
  #rebuildChain(g: Group): void {
    let s: number[] = this.#members.slice(1).map(() => -Infinity);
    const list = g.entries;
    let i = 0;
    g.peerMask = 0;
    while (i < list.length) {
      const time = list[i]!.time;
      let m = 0;
      while (i < list.length && list[i]!.time === time) m |= list[i++]!.mask;
      if (time === g.maxTime) {
        g.peerTime = time;
        g.peerMask = m;
      } else s = this.#closure(s, m, time);
    }
    g.sBefore = s;
  }

  /** The number the condition is about, by scanning a window, or null when it does not qualify. */
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
    for (let i = hi - 1; i >= lo && related.length < RELATED_CAP; i--)
      if (entries[i] !== x) related.push(entries[i]!.event);
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
        [this.#rule.type === 'value_count'
          ? 'distinctValues'
          : this.#rule.type === 'event_count'
            ? 'eventCount'
            : 'rulesMatched']: measure,
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
