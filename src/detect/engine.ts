/**
 * The detection engine: indexes detectors and packs by the (verb, resource) pairs they can
 * match and dispatches each event only to those candidates. Candidate lists are computed once
 * per distinct (verb, resource) pair and cached, so the per-event cost is one map lookup plus
 * the candidates' own work.
 */
import type { AuditEvent } from '../model/audit-event.js';
import type { Detector, DetectorIndex, DetectorPack, Emit } from './detector.js';

/** What the engine dispatches to: a single detector or a pack that evaluates as one unit. */
interface Unit {
  readonly index: DetectorIndex;
  evaluate(event: AuditEvent, emit: Emit): void;
  flush?(emit: Emit): void;
}

// Bounds the candidate cache: verbs and resources come from logs (attacker-controlled), so a
// forged log with millions of distinct resource names must not grow memory without limit.
// Real clusters have a few hundred (verb, resource) pairs; past the cap we compute per event.
const CANDIDATE_CACHE_CAP = 20_000;

export interface EngineStats {
  readonly units: number;
  readonly events: number;
  /** Sum over events of candidate units evaluated; compare with events × units. */
  readonly evaluations: number;
  readonly errors: number;
}

export class DetectionEngine {
  readonly #units: Unit[] = [];
  readonly #cache = new Map<string, readonly Unit[]>();
  #events = 0;
  #evaluations = 0;
  #errors = 0;
  #onError: (unit: string, e: unknown) => void;

  constructor(onError: (unit: string, e: unknown) => void = () => {}) {
    this.#onError = onError;
  }

  addDetector(d: Detector): void {
    this.#units.push(d);
    this.#cache.clear();
  }

  addPack(p: DetectorPack): void {
    this.#units.push(p);
    this.#cache.clear();
  }

  get size(): number {
    return this.#units.length;
  }

  /** The units' indexes, in dispatch order (the parallel scan filters requests with them). */
  indexes(): DetectorIndex[] {
    return this.#units.map((u) => u.index);
  }

  candidates(verb: string, resource: string | null): readonly Unit[] {
    const key = `${verb}\u0000${resource ?? ''}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const list = this.#units.filter((u) => indexAccepts(u.index, verb, resource));
    if (this.#cache.size < CANDIDATE_CACHE_CAP) this.#cache.set(key, list);
    return list;
  }

  dispatch(event: AuditEvent, emit: Emit): void {
    this.#events++;
    const units = this.candidates(event.verb, event.resource);
    this.#evaluations += units.length;
    for (let i = 0; i < units.length; i++) {
      const u = units[i]!;
      try {
        u.evaluate(event, emit);
      } catch (e) {
        // A detector bug must never take down a scan or lose the events beside it.
        this.#errors++;
        this.#onError(unitName(u), e);
      }
    }
  }

  flush(emit: Emit): void {
    for (const u of this.#units) {
      try {
        u.flush?.(emit);
      } catch (e) {
        this.#errors++;
        this.#onError(unitName(u), e);
      }
    }
  }

  stats(): EngineStats {
    return { units: this.#units.length, events: this.#events, evaluations: this.#evaluations, errors: this.#errors };
  }
}

export function indexAccepts(index: DetectorIndex, verb: string, resource: string | null): boolean {
  if (index.verbs !== undefined && !index.verbs.includes(verb)) return false;
  if (index.resources !== undefined && (resource === null || !index.resources.includes(resource))) return false;
  return true;
}

function unitName(u: Unit): string {
  if ('name' in u && typeof u.name === 'string') return u.name;
  if ('info' in u && typeof u.info === 'object' && u.info !== null && 'rule' in u.info) return String(u.info.rule);
  return 'detector';
}
