/**
 * Deterministic generator of realistic EKS audit logs (audit.k8s.io/v1 events), streaming:
 * `generateAuditEvents` is a generator function, so any count can be produced in constant
 * memory (only in-flight long-running requests are held, a few thousand at most).
 *
 * Events come out in stage-time order, the way kube-apiserver writes its log: a watch's
 * ResponseStarted appears when it starts and its ResponseComplete minutes later, between the
 * events of other requests. Attacks (generator-attacks.ts) replace benign requests at
 * `attackRate`, the fraction of API requests (auditIDs) that are attacks.
 *
 * Mix measured on seed 42, 200,000 events, attack rate 0.001 (benign mix per source in
 * generator-benign.ts; numbers are shares of events):
 *
 * | verb   | share | | code | share | | level           | share | | stage            | share |
 * |--------|------:|-|------|------:|-|-----------------|------:|-|------------------|------:|
 * | get    | 50.6% | | 200  | 92.7% | | Metadata        | 94.3% | | ResponseComplete | 94.7% |
 * | update | 17.1% | | 201  |  4.5% | | Request         |  4.0% | | ResponseStarted  |  5.3% |
 * | list   | 12.2% | | 404  |  2.5% | | RequestResponse |  1.7% | |                  |       |
 * | watch  | 10.0% | | 409  |  0.2% | |                 |       | |                  |       |
 * | patch  |  5.2% | | 403  |  0.1% | |                 |       | |                  |       |
 * | create |  4.5% | | 101  | <0.1% | |                 |       | |                  |       |
 * | delete |  0.4% | |      |       | |                 |       | |                  |       |
 *
 * Sizes: median event 1.0 KB (EKS user.extra makes IAM-authenticated events larger), median
 * RequestResponse event 1.7 KB; 200,000 events ≈ 214 MB of JSONL. Generation runs at roughly
 * 60,000 events/s.
 */
import {
  ATTACK_KINDS,
  attackerPersonas,
  attackRequests,
  type AttackerPersonas,
  type AttackKind,
} from './generator-attacks.js';
import { benignSources } from './generator-benign.js';
import {
  buildRequest,
  clusterModel,
  type ClusterModel,
  type JsonObject,
  type RequestSpec,
} from './generator-events.js';
import { Rng } from './generator-prng.js';

export interface GenerateOptions {
  readonly seed: number;
  /** Number of audit events (log lines) to produce. */
  readonly events: number;
  /** Fraction of API requests that are attacks; default 0.001. */
  readonly attackRate?: number;
  /** Time of the first request; default 2024-06-03T08:00:00Z. */
  readonly start?: string;
  /** Mean API request rate; default 40/s (a small production cluster). */
  readonly requestsPerSecond?: number;
  /** Cluster name (log group /aws/eks/<name>/cluster); default prod-eks. */
  readonly cluster?: string;
}

export interface GeneratedEvent {
  readonly event: JsonObject;
  /** Stage time, epoch microseconds (CloudWatch timestamps derive from it). */
  readonly atMicros: number;
  /** Which attack this event belongs to, or null for benign traffic. */
  readonly attack: AttackKind | null;
}

export const DEFAULT_START = '2024-06-03T08:00:00Z';
export const DEFAULT_ATTACK_RATE = 0.001;

/** Min-heap of pending stages by (time, sequence): ties keep the order they were produced in. */
class StageHeap {
  readonly #items: { at: number; seq: number; value: GeneratedEvent }[] = [];
  #seq = 0;

  get size(): number {
    return this.#items.length;
  }

  peekTime(): number {
    return this.#items[0]?.at ?? Number.POSITIVE_INFINITY;
  }

  push(value: GeneratedEvent): void {
    const items = this.#items;
    items.push({ at: value.atMicros, seq: this.#seq++, value });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  pop(): GeneratedEvent | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined) return undefined;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.#less(l, m)) m = l;
        if (r < items.length && this.#less(r, m)) m = r;
        if (m === i) break;
        this.#swap(i, m);
        i = m;
      }
    }
    return top.value;
  }

  #less(a: number, b: number): boolean {
    const x = this.#items[a]!;
    const y = this.#items[b]!;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  #swap(a: number, b: number): void {
    const t = this.#items[a]!;
    this.#items[a] = this.#items[b]!;
    this.#items[b] = t;
  }
}

/** A request-level traffic model: benign sources plus attacks, one request at a time. */
export class TrafficModel {
  readonly cluster: ClusterModel;
  readonly rng: Rng;
  readonly #pick: () => RequestSpec;
  readonly #personas: AttackerPersonas;

  constructor(seed: number, clusterName?: string) {
    this.cluster = clusterModel(seed, clusterName);
    this.rng = new Rng(seed);
    const sources = benignSources(this.cluster, new Rng((seed ^ 0x0b5e55ed) >>> 0));
    const weighted = sources.map((s) => [s, s.weight] as const);
    this.#pick = () => this.rng.weighted(weighted).next(this.rng);
    this.#personas = attackerPersonas(new Rng((seed ^ 0x0a77ac4e) >>> 0), this.cluster);
  }

  benign(): RequestSpec {
    return this.#pick();
  }

  attack(kind: AttackKind): RequestSpec[] {
    return attackRequests(kind, this.rng, this.cluster, this.#personas);
  }

  /** The audit event(s) of one request, labelled. */
  stages(spec: RequestSpec, receivedMicros: number, attack: AttackKind | null): GeneratedEvent[] {
    return buildRequest(this.rng, spec, this.rng.uuid(), receivedMicros).map((s) => ({
      event: s.event,
      atMicros: s.atMicros,
      attack,
    }));
  }
}

export function parseStart(start: string): number {
  const ms = Date.parse(start);
  if (Number.isNaN(ms)) throw new RangeError(`invalid start time: ${start}`);
  return ms * 1000;
}

/** Stream `options.events` audit events in stage-time order. */
export function* generateAuditEvents(options: GenerateOptions): Generator<GeneratedEvent> {
  const attackRate = options.attackRate ?? DEFAULT_ATTACK_RATE;
  if (!(attackRate >= 0 && attackRate <= 1)) throw new RangeError('attackRate must be within [0, 1]');
  const rps = options.requestsPerSecond ?? 40;
  if (!(rps > 0)) throw new RangeError('requestsPerSecond must be positive');
  const model = new TrafficModel(options.seed, options.cluster);
  const rng = model.rng;
  const meanGapMicros = 1_000_000 / rps;
  let clock = parseStart(options.start ?? DEFAULT_START);
  const pending = new StageHeap();
  let emitted = 0;
  while (emitted < options.events) {
    // Poisson arrivals: exponential gaps, at least 1 µs so times stay strictly increasing.
    clock += Math.max(1, Math.round(-Math.log(1 - rng.float()) * meanGapMicros));
    if (rng.chance(attackRate)) {
      const kind = rng.pick(ATTACK_KINDS);
      let at = clock;
      for (const spec of model.attack(kind)) {
        for (const g of model.stages(spec, at, kind)) pending.push(g);
        at += rng.int(200_000, 2_000_000);
      }
    } else {
      for (const g of model.stages(model.benign(), clock, null)) pending.push(g);
    }
    while (pending.size > 0 && pending.peekTime() <= clock && emitted < options.events) {
      yield pending.pop()!;
      emitted++;
    }
  }
}
