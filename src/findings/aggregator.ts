/**
 * Folds Detections (one matching event each) into Findings, the way GuardDuty aggregates:
 * "instead of creating a new finding, GuardDuty will update the original finding with the latest
 * details", increasing `count`. Repeats are the same finding when (type, rule, cluster, groupKey)
 * match; the default groupKey is the actor's username and the object (namespace/resource/name).
 *
 * Memory is bounded: at most `maxFindings` distinct findings are kept (new ones beyond that are
 * dropped and counted in `dropped`), each with at most `evidenceCap` evidence entries and
 * `sourceIpCap` source IPs. `count` itself is never capped.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent } from '../model/audit-event.js';
import type { Detection } from '../detect/detector.js';
import type { Actor, Evidence, Finding, ResourceRef, Severity } from '../model/finding.js';

export interface AggregatorOptions {
  /**
   * Distinct findings kept in memory. 100k: a finding with full evidence is ~10 KB, so the cap
   * holds memory near 1 GB in the worst case while being far above any real incident's count.
   */
  readonly maxFindings?: number | undefined;
  /** Evidence entries per finding: the earliest half and the latest half (by event time) are kept. */
  readonly evidenceCap?: number | undefined;
  /** Distinct source IPs remembered per finding (the union over all its events). */
  readonly sourceIpCap?: number | undefined;
}

export const AGGREGATOR_DEFAULTS = {
  maxFindings: 100_000,
  evidenceCap: 10,
  sourceIpCap: 20,
} as const satisfies Required<AggregatorOptions>;

/** 32 lowercase hex, like GuardDuty finding ids: sha256 of the aggregation key. */
export function findingId(type: string, rule: string, cluster: string, groupKey: string): string {
  return createHash('sha256')
    .update(`${type}\u0000${rule}\u0000${cluster}\u0000${groupKey}`)
    .digest('hex')
    .slice(0, 32);
}

/** Default aggregation key: who did it to which object. */
export function defaultGroupKey(e: AuditEvent): string {
  return `${e.username ?? ''}\u0000${e.namespace ?? ''}/${e.resource ?? ''}/${e.name ?? ''}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** EKS puts the IAM principal in user.extra: canonicalArn (the role) beats arn (the STS session). */
export function iamArnOf(e: AuditEvent): string | null {
  const user = e.raw['user'];
  if (!isRecord(user)) return null;
  const extra = user['extra'];
  if (!isRecord(extra)) return null;
  for (const key of ['canonicalArn', 'arn']) {
    const v = extra[key];
    if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
    if (typeof v === 'string') return v;
  }
  return null;
}

export function actorOf(e: AuditEvent): Actor {
  return {
    username: e.username,
    uid: e.userUid,
    groups: e.userGroups,
    sourceIPs: e.sourceIPs,
    userAgent: e.userAgent,
    iamArn: iamArnOf(e),
    impersonatedUser: e.impersonatedUsername,
  };
}

export function resourceOf(e: AuditEvent): ResourceRef {
  return {
    apiGroup: e.apiGroup,
    resource: e.resource,
    subresource: e.subresource,
    namespace: e.namespace,
    name: e.name,
  };
}

function evidenceOf(e: AuditEvent): Evidence {
  return { auditID: e.auditID, time: isoTime(e.time), verb: e.verb, requestURI: e.requestURI, code: e.responseCode };
}

export function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

/** a happened after b (event time, then arrival). */
function later(a: EvidenceSlot, b: EvidenceSlot): boolean {
  return a.time > b.time || (a.time === b.time && a.seq > b.seq);
}

interface EvidenceSlot {
  readonly time: number;
  readonly seq: number;
  readonly ev: Evidence;
}

/** Mutable per-finding state; turned into a frozen Finding by findings(). */
interface FindingState {
  readonly id: string;
  latest: Detection;
  latestTime: number;
  severity: Severity;
  count: number;
  firstSeen: number;
  lastSeen: number;
  readonly head: EvidenceSlot[];
  /** The latest evidence by event time (unordered, at most tailCap). */
  readonly tail: EvidenceSlot[];
  readonly sourceIPs: string[];
}

export class FindingAggregator {
  private readonly states = new Map<string, FindingState>();
  private readonly maxFindings: number;
  private readonly headCap: number;
  private readonly tailCap: number;
  private readonly sourceIpCap: number;
  private seq = 0;
  /** Detections whose new finding did not fit under maxFindings. */
  dropped = 0;
  /** Distinct findings refused because of maxFindings (each counted once per key attempt). */
  droppedFindings = 0;
  private readonly droppedKeys = new Set<string>();

  constructor(options: AggregatorOptions = {}) {
    this.maxFindings = Math.max(1, options.maxFindings ?? AGGREGATOR_DEFAULTS.maxFindings);
    const cap = Math.max(1, options.evidenceCap ?? AGGREGATOR_DEFAULTS.evidenceCap);
    this.headCap = Math.ceil(cap / 2);
    this.tailCap = cap - this.headCap;
    this.sourceIpCap = Math.max(1, options.sourceIpCap ?? AGGREGATOR_DEFAULTS.sourceIpCap);
  }

  get size(): number {
    return this.states.size;
  }

  add(d: Detection): void {
    const info = d.info;
    const e = d.event;
    const groupKey = d.groupKey ?? defaultGroupKey(e);
    const key = `${info.type}\u0000${info.rule}\u0000${e.cluster}\u0000${groupKey}`;
    const time = d.time ?? e.time;
    let st = this.states.get(key);
    if (st === undefined) {
      if (this.states.size >= this.maxFindings) {
        this.dropped++;
        // Remember a bounded sample of refused keys so droppedFindings approximates distinct ones.
        if (!this.droppedKeys.has(key)) {
          this.droppedFindings++;
          if (this.droppedKeys.size < 10_000) this.droppedKeys.add(key);
        }
        return;
      }
      st = {
        id: findingId(info.type, info.rule, e.cluster, groupKey),
        latest: d,
        latestTime: time,
        severity: d.severity ?? info.severity,
        count: 0,
        firstSeen: time,
        lastSeen: time,
        head: [],
        tail: [],
        sourceIPs: [],
      };
      this.states.set(key, st);
    }
    st.count++;
    if (time < st.firstSeen) st.firstSeen = time;
    if (time > st.lastSeen) st.lastSeen = time;
    if (time >= st.latestTime) {
      st.latest = d;
      st.latestTime = time;
    }
    // A finding is as severe as its worst occurrence: a later, milder repeat must not hide it.
    const sev = d.severity ?? info.severity;
    if (sev.score > st.severity.score) st.severity = sev;
    this.addEvidence(st, e);
    if (d.related !== undefined) for (const r of d.related) this.addEvidence(st, r);
    this.addIps(st, e.sourceIPs);
  }

  /**
   * Keeps the `headCap` earliest and the `tailCap` latest occurrences by event time, whatever the
   * input order (CloudWatch exports and several files arrive out of order). Together they hold
   * every occurrence while there are at most headCap + tailCap of them. O(cap) per call, and no
   * allocation for an occurrence that is neither.
   */
  private addEvidence(st: FindingState, e: AuditEvent): void {
    const t = e.time;
    const seq = this.seq++;
    // Where this occurrence goes: -1 nowhere, head/tail length to append, else the slot it replaces.
    let h = -1;
    if (st.head.length < this.headCap) h = st.head.length;
    else {
      // The latest of the earliest (ties: the earlier arrival stays).
      let worst = 0;
      for (let i = 1; i < st.head.length; i++) if (later(st.head[i]!, st.head[worst]!)) worst = i;
      if (t < st.head[worst]!.time) h = worst;
    }
    let k = -1;
    if (this.tailCap > 0) {
      if (st.tail.length < this.tailCap) k = st.tail.length;
      else {
        // The earliest of the latest (ties: the later arrival wins, it is the newer record).
        let worst = 0;
        for (let i = 1; i < st.tail.length; i++) if (later(st.tail[worst]!, st.tail[i]!)) worst = i;
        if (t >= st.tail[worst]!.time) k = worst;
      }
    }
    if (h < 0 && k < 0) return;
    const slot: EvidenceSlot = { time: t, seq, ev: evidenceOf(e) };
    if (h >= 0) st.head[h] = slot;
    if (k >= 0) st.tail[k] = slot;
  }

  private addIps(st: FindingState, ips: readonly string[]): void {
    for (const ip of ips) {
      if (st.sourceIPs.length >= this.sourceIpCap) return;
      if (!st.sourceIPs.includes(ip)) st.sourceIPs.push(ip);
    }
  }

  /** The current findings, ordered by first occurrence (then id, for a stable order). */
  findings(): Finding[] {
    const out: Finding[] = [];
    for (const st of this.states.values()) out.push(this.toFinding(st));
    out.sort((a, b) =>
      a.firstSeen < b.firstSeen ? -1 : a.firstSeen > b.firstSeen ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    return out;
  }

  /** Forget every finding (long-running serve mode, after findings were emitted). */
  clear(): void {
    this.states.clear();
    this.droppedKeys.clear();
  }

  private toFinding(st: FindingState): Finding {
    const d = st.latest;
    const info = d.info;
    const e = d.event;
    // An occurrence can be both among the earliest and the latest (few occurrences): once.
    const slots = [...st.head];
    for (const s of st.tail) if (!slots.includes(s)) slots.push(s);
    const evidence = slots.sort((a, b) => a.time - b.time || a.seq - b.seq).map((s) => s.ev);
    const base = actorOf(e);
    const actor: Actor = { ...base, sourceIPs: [...st.sourceIPs] };
    const f: Finding = {
      id: st.id,
      type: info.type,
      engine: info.engine,
      rule: info.rule,
      title: d.title ?? info.title,
      description: d.description ?? info.description,
      severity: st.severity,
      ...(d.priority !== undefined ? { priority: d.priority } : {}),
      ...(d.output !== undefined ? { output: d.output } : {}),
      cluster: e.cluster,
      count: st.count,
      firstSeen: isoTime(st.firstSeen),
      lastSeen: isoTime(st.lastSeen),
      actor,
      resource: resourceOf(e),
      mitre: info.mitre,
      ...(info.tags !== undefined ? { tags: info.tags } : {}),
      evidence,
      ...(d.details !== undefined ? { details: d.details } : {}),
    };
    return f;
  }
}
