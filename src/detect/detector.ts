/**
 * The detection seam. Every engine (native, Falco, Sigma, behaviour) exposes its rules as
 * Detectors. The engine (engine.ts) indexes them by the verbs and resources they can match and
 * sends each event only to the candidates; each Detector reports Detections through `emit`.
 */
import type { AuditEvent } from '../model/audit-event.js';
import type { EngineName, Mitre, Severity } from '../model/finding.js';

/**
 * Which events a detector can possibly match. `undefined` means "any". Values are lowercase
 * verbs (`create`, `patch`, …) and objectRef.resource values (`pods`, `clusterrolebindings`).
 * A detector whose index says `verbs: ['create']` is never called for a `get`.
 */
export interface DetectorIndex {
  readonly verbs?: readonly string[];
  readonly resources?: readonly string[];
}

/** Static description of a rule: what every finding it produces carries. */
export interface DetectorInfo {
  /** Finding type, e.g. `PrivilegeEscalation:Kubernetes/PrivilegedContainer`, `Falco:<rule>`, `Sigma:<id>`. */
  readonly type: string;
  readonly engine: EngineName;
  /** Native detector id, Falco rule name or Sigma rule id. */
  readonly rule: string;
  readonly title: string;
  readonly description: string;
  readonly severity: Severity;
  readonly mitre: Mitre | null;
  readonly tags?: readonly string[];
  /** What to do about a finding of this type; ASFF Remediation and OCSF remediation carry it. */
  readonly remediation?: string;
}

/** One event matched one rule. */
export interface Detection {
  readonly info: DetectorInfo;
  readonly event: AuditEvent;
  /**
   * What makes repeats the same finding, beside type, rule and cluster. Default: the actor's
   * username and the object (namespace/resource/name). Engines may narrow or widen it.
   */
  readonly groupKey?: string;
  /** Overrides of the static info for this one detection (e.g. a severity raised by context). */
  readonly title?: string;
  readonly description?: string;
  readonly severity?: Severity;
  /** Falco only. */
  readonly priority?: string;
  readonly output?: string;
  readonly details?: Readonly<Record<string, unknown>>;
  /** Time of the detection when it is not the event's own (correlations). */
  readonly time?: number;
  /** Extra evidence events beyond `event` (correlations). */
  readonly related?: readonly AuditEvent[];
}

export type Emit = (d: Detection) => void;

export interface Detector {
  readonly info: DetectorInfo;
  readonly index: DetectorIndex;
  /** Called for each event that passes the index. Must not throw on odd input. */
  evaluate(event: AuditEvent, emit: Emit): void;
  /** Stateful detectors (correlations, baselines) report what remains at end of input. */
  flush?(emit: Emit): void;
}

/**
 * A group of detectors that shares work per event (for example Falco's first-match mode,
 * where rules are tried in file order and the first match wins). The engine treats a pack as
 * one unit: it dispatches an event to the pack when any member can match.
 */
export interface DetectorPack {
  readonly name: string;
  readonly index: DetectorIndex;
  evaluate(event: AuditEvent, emit: Emit): void;
  flush?(emit: Emit): void;
  /** Members, for `rules list` and indexing statistics. */
  readonly detectors: readonly Detector[];
}
