/**
 * Deduplication and the stage rule. The apiserver writes up to four events per request
 * (RequestReceived, ResponseStarted for watches and long-running calls, ResponseComplete,
 * Panic), and log pipelines redeliver: CloudWatch exports overlap, Firehose retries, users scan
 * the same dump twice.
 *
 * - Storage keeps every unique (auditID, stage): `push` says `store: false` only for an exact
 *   repeat of a pair already seen.
 * - Detection sees each request once: a final stage (ResponseComplete, Panic) is dispatched as
 *   soon as it arrives unless the request was already dispatched; an earlier stage is held and
 *   dispatched only when no final stage arrives: at `flush()` (end of input) or when it is
 *   evicted from the bounded pending map. Of several held stages the latest one wins
 *   (ResponseStarted over RequestReceived), whatever order they arrived in.
 *
 * Memory is bounded by two caps (see StageDeduperOptions). The consequence of the cap on
 * remembered requests: a repeat of a request whose auditID was pushed out of memory (more than
 * `maxRemembered` newer requests arrived in between) is not recognized; it is appended again
 * (the store's end-of-scan duplicate check removes it, as it removes repeats across runs) and
 * may reach detectors a second time. Redeliveries in practice are close together.
 */
import type { AuditEvent } from '../model/audit-event.js';

export interface StageDeduperOptions {
  /**
   * Requests (auditIDs) remembered for duplicate detection, oldest forgotten first.
   * 262,144: ~25 MB of ids and flags, covering several minutes of a busy cluster's audit stream
   * (a few hundred requests per second) or about a day of a small one.
   */
  readonly maxRemembered?: number;
  /**
   * Requests held waiting for their final stage. 65,536: long-running watches hold a slot for
   * their whole duration (often 5-10 minutes), so the cap must exceed the number of
   * concurrently open watches; when full the oldest held request is dispatched as it is.
   */
  readonly maxPending?: number;
  /**
   * How a held event is kept while it waits: `pack` when held, `unpack` when released. A scan
   * keeps the event's text instead of its parsed JSON (normalize.ts heldEventCodec): held
   * requests are few, but each parsed event costs several KB, and up to maxPending are held.
   * Default: the event itself.
   */
  readonly codec?: HeldEventCodec;
}

/** Packs a held event into something smaller, and back into an equal event. */
export interface HeldEventCodec {
  pack(ev: AuditEvent): unknown;
  unpack(packed: unknown): AuditEvent;
}

const IDENTITY: HeldEventCodec = { pack: (ev) => ev, unpack: (packed) => packed as AuditEvent };

/** A held request: its latest non-final stage, and that event packed. */
interface Held {
  readonly stage: string;
  readonly packed: unknown;
}

export const STAGE_DEDUPER_DEFAULTS = { maxRemembered: 262_144, maxPending: 65_536 } as const;

export interface PushResult {
  /** False only for an exact repeat of an (auditID, stage) pair already seen. */
  readonly store: boolean;
  /** Events to hand to detectors now (this one, and/or held ones that had to be released). */
  readonly dispatch: readonly AuditEvent[];
}

export interface StageDeduperCounters {
  /** Exact (auditID, stage) repeats dropped. */
  duplicates: number;
  /** Events handed to detectors (push and flush). */
  dispatched: number;
  /** Stored events not dispatched because another stage of the same request was (or is held to be) dispatched instead. */
  superseded: number;
  /** Held requests released early because the pending map was full. */
  pendingEvicted: number;
  /** Requests forgotten because the remembered set was full. */
  forgotten: number;
}

// One bit per stage; unknown stages share a bit, which at worst merges repeats of two
// different unknown stages of one request.
const STAGE_BIT: Readonly<Record<string, number>> = {
  RequestReceived: 1,
  ResponseStarted: 2,
  ResponseComplete: 4,
  Panic: 8,
};
const OTHER_STAGE = 16;
const FINAL = STAGE_BIT['ResponseComplete']! | STAGE_BIT['Panic']!;
// Set once the request has been handed to detectors.
const DISPATCHED = 32;
// Rank of held (non-final) stages: the later stage in a request's life wins.
const RANK: Readonly<Record<string, number>> = { RequestReceived: 1, ResponseStarted: 2 };

const NOT_STORED: PushResult = Object.freeze({ store: false, dispatch: Object.freeze([]) as readonly AuditEvent[] });
const STORED_ONLY: PushResult = Object.freeze({ store: true, dispatch: Object.freeze([]) as readonly AuditEvent[] });

export class StageDeduper {
  readonly counters: StageDeduperCounters = {
    duplicates: 0,
    dispatched: 0,
    superseded: 0,
    pendingEvicted: 0,
    forgotten: 0,
  };
  private readonly maxRemembered: number;
  private readonly maxPending: number;
  /** auditID → stage bits | DISPATCHED. */
  private readonly seen = new Map<string, number>();
  /** auditID → the held event, for requests with no final stage yet. */
  private readonly pending = new Map<string, Held>();
  private readonly codec: HeldEventCodec;
  // Eviction order lives in explicit FIFO queues, not in Map iteration: V8 leaves deleted
  // entries as holes at the front of a Map, so `keys().next()` after many deletions walks them
  // all, and eviction became O(n) per event (a 400k-event scan took 3× as long as 200k).
  /** Ring of remembered auditIDs in arrival order; its slot at `seenHead` is the oldest. */
  private readonly seenRing: (string | undefined)[];
  private seenHead = 0;
  /** Held auditIDs in the order they were first held; entries no longer pending are skipped lazily. */
  private pendingQueue: string[] = [];
  private pendingHead = 0;

  constructor(options: StageDeduperOptions = {}) {
    this.maxRemembered = Math.max(1, options.maxRemembered ?? STAGE_DEDUPER_DEFAULTS.maxRemembered);
    this.maxPending = Math.max(
      1,
      Math.min(options.maxPending ?? STAGE_DEDUPER_DEFAULTS.maxPending, this.maxRemembered),
    );
    this.seenRing = new Array<string | undefined>(this.maxRemembered);
    this.codec = options.codec ?? IDENTITY;
  }

  /** Is this request held waiting for a final stage? */
  isHeld(auditID: string): boolean {
    return this.pending.has(auditID);
  }

  push(ev: AuditEvent): PushResult {
    const id = ev.auditID;
    const bit = STAGE_BIT[ev.stage] ?? OTHER_STAGE;
    const prev = this.seen.get(id);
    if (prev !== undefined && (prev & bit) !== 0) {
      this.counters.duplicates++;
      return NOT_STORED;
    }
    const state = (prev ?? 0) | bit;
    let released: AuditEvent[] | null = null;
    if (prev === undefined) {
      // The ring slot being overwritten holds the oldest remembered request: forget it first.
      if (this.seen.size >= this.maxRemembered) released = this.forgetOldest(released);
      this.seen.set(id, state);
      this.seenRing[this.seenHead] = id;
      this.seenHead = (this.seenHead + 1) % this.maxRemembered;
    } else {
      this.seen.set(id, state);
    }
    if ((prev ?? 0) & DISPATCHED) {
      this.counters.superseded++;
      return released === null ? STORED_ONLY : this.result(released);
    }
    if ((bit & FINAL) !== 0) {
      this.seen.set(id, state | DISPATCHED);
      if (this.pending.delete(id)) this.counters.superseded++;
      (released ??= []).push(ev);
      return this.result(released);
    }
    const held = this.pending.get(id);
    if (held === undefined) {
      this.pending.set(id, { stage: ev.stage, packed: this.codec.pack(ev) });
      this.pendingQueue.push(id);
      if (this.pending.size > this.maxPending) released = this.releaseOldestPending(released);
      else if (this.pendingQueue.length - this.pendingHead > 2 * this.pending.size + 4096) this.compactPendingQueue();
    } else if ((RANK[ev.stage] ?? 0) > (RANK[held.stage] ?? 0)) {
      this.pending.set(id, { stage: ev.stage, packed: this.codec.pack(ev) });
      this.counters.superseded++;
    } else {
      this.counters.superseded++;
    }
    return released === null ? STORED_ONLY : this.result(released);
  }

  /** End of input: dispatch every request still waiting for a final stage, oldest first. */
  flush(): AuditEvent[] {
    const out: AuditEvent[] = [];
    for (const [id, held] of this.pending) {
      const s = this.seen.get(id);
      if (s !== undefined) this.seen.set(id, s | DISPATCHED);
      out.push(this.codec.unpack(held.packed));
    }
    this.pending.clear();
    this.pendingQueue = [];
    this.pendingHead = 0;
    this.counters.dispatched += out.length;
    return out;
  }

  /** Requests currently held waiting for a final stage. */
  get pendingCount(): number {
    return this.pending.size;
  }

  private result(dispatch: AuditEvent[]): PushResult {
    this.counters.dispatched += dispatch.length;
    return { store: true, dispatch };
  }

  private forgetOldest(released: AuditEvent[] | null): AuditEvent[] | null {
    const id = this.seenRing[this.seenHead];
    if (id === undefined) return released;
    this.seen.delete(id);
    this.counters.forgotten++;
    // A held request about to be forgotten must reach detectors now or never.
    const held = this.pending.get(id);
    if (held !== undefined) {
      this.pending.delete(id);
      this.counters.pendingEvicted++;
      (released ??= []).push(this.codec.unpack(held.packed));
    }
    return released;
  }

  private releaseOldestPending(released: AuditEvent[] | null): AuditEvent[] | null {
    // Skip ids whose request already completed (or was forgotten); compact the queue now and
    // then so it stays proportional to the pending map.
    while (this.pendingHead < this.pendingQueue.length) {
      const id = this.pendingQueue[this.pendingHead++]!;
      const held = this.pending.get(id);
      if (held === undefined) continue;
      this.pending.delete(id);
      const s = this.seen.get(id);
      if (s !== undefined) this.seen.set(id, s | DISPATCHED);
      this.counters.pendingEvicted++;
      (released ??= []).push(this.codec.unpack(held.packed));
      break;
    }
    if (this.pendingQueue.length - this.pendingHead > 2 * this.pending.size + 4096) this.compactPendingQueue();
    return released;
  }

  /** Drop ids that are no longer held, keeping the order of the rest. */
  private compactPendingQueue(): void {
    const live: string[] = [];
    for (let i = this.pendingHead; i < this.pendingQueue.length; i++) {
      const id = this.pendingQueue[i]!;
      if (this.pending.has(id)) live.push(id);
    }
    this.pendingQueue = live;
    this.pendingHead = 0;
  }
}
