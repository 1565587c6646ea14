/**
 * The 20 "who called a sensitive API" types: for each tactic family (CredentialAccess,
 * DefenseEvasion, Discovery, Impact, Persistence) a call from a malicious IP, from an IP on the
 * user's list (.Custom), from a Tor exit node, or a successful call by system:anonymous.
 * Which API calls belong to which tactic is criteria.ts's API_TACTIC_CRITERIA.
 */
import type { AuditEvent } from '../../model/audit-event.js';
import type { Detector, DetectorIndex, Emit } from '../detector.js';
import { matchLists, type ThreatIntel } from '../intel/threat-intel.js';
import type { ThreatList } from '../intel/threat-list.js';
import { apiCallerRuleFor, infoOf, type Mechanism } from './catalog.js';
import { API_TACTIC_CRITERIA, isHealthEndpoint, type ApiCriterion, type ApiTactic } from './criteria.js';
import { succeeded } from './k8s-object.js';

/** verb → resource ('' for non-resource URLs) → subresource ('' for none) → criteria. */
type TacticTable = Map<string, Map<string, Map<string, ApiCriterion[]>>>;

export interface CompiledTactic {
  readonly index: DetectorIndex;
  matches(e: AuditEvent): boolean;
}

/** Compile one tactic's criteria into nested maps: a lookup allocates nothing. */
export function compileTactic(tactic: ApiTactic): CompiledTactic {
  const criteria: readonly ApiCriterion[] = API_TACTIC_CRITERIA[tactic];
  const table: TacticTable = new Map();
  const verbs = new Set<string>();
  const resources = new Set<string>();
  let anyResource = false;
  for (const c of criteria) {
    for (const verb of c.verbs) {
      verbs.add(verb);
      let byRes = table.get(verb);
      if (byRes === undefined) table.set(verb, (byRes = new Map()));
      for (const res of c.resources ?? ['']) {
        if (c.resources === null) anyResource = true;
        else resources.add(res);
        let bySub = byRes.get(res);
        if (bySub === undefined) byRes.set(res, (bySub = new Map()));
        for (const sub of c.subresources ?? ['']) {
          const list = bySub.get(sub);
          if (list === undefined) bySub.set(sub, [c]);
          else list.push(c);
        }
      }
    }
  }
  const index: DetectorIndex = anyResource ? { verbs: [...verbs] } : { verbs: [...verbs], resources: [...resources] };
  return {
    index,
    matches(e: AuditEvent): boolean {
      const list = table
        .get(e.verb)
        ?.get(e.resource ?? '')
        ?.get(e.subresource ?? '');
      if (list === undefined) return false;
      for (const c of list) {
        if (c.names !== undefined && (e.name === null || !c.names.includes(e.name))) continue;
        if (c.namespaces !== undefined && (e.namespace === null || !c.namespaces.includes(e.namespace))) continue;
        return true;
      }
      return false;
    },
  };
}

export function isAnonymous(e: AuditEvent): boolean {
  return e.username === 'system:anonymous' || e.userGroups.includes('system:unauthenticated');
}

function apiDetails(e: AuditEvent): Record<string, unknown> {
  return {
    api: {
      verb: e.verb,
      resource: e.resource,
      subresource: e.subresource,
      requestUri: e.requestURI,
      statusCode: e.responseCode,
    },
  };
}

function ipCallerDetector(
  tactic: ApiTactic,
  mechanism: Mechanism,
  compiled: CompiledTactic,
  lists: readonly ThreatList[],
): Detector {
  const info = infoOf(apiCallerRuleFor(tactic, mechanism));
  // GuardDuty: "MaliciousIPCaller findings are not generated for unauthenticated access";
  // those calls are SuccessfulAnonymousAccess. Tor exits are reported for every caller.
  const skipAnonymous = mechanism !== 'TorIPCaller';
  return {
    info,
    index: compiled.index,
    evaluate(e: AuditEvent, emit: Emit): void {
      if (skipAnonymous && isAnonymous(e)) return;
      if (!compiled.matches(e)) return;
      const m = matchLists(lists, e.sourceIPs);
      if (m === null) return;
      emit({
        info,
        event: e,
        groupKey: `${e.username ?? ''}\u0000${m.ip}`,
        details: {
          ...apiDetails(e),
          threatIntel: {
            threatListName: m.list.name,
            threatNames: [m.entry],
            threatFileSha256: m.list.sha256,
            ip: m.ip,
          },
        },
      });
    },
  };
}

function anonymousDetector(tactic: ApiTactic, compiled: CompiledTactic): Detector {
  const info = infoOf(apiCallerRuleFor(tactic, 'SuccessfulAnonymousAccess'));
  const excludeHealth = tactic === 'Discovery';
  return {
    info,
    index: compiled.index,
    evaluate(e: AuditEvent, emit: Emit): void {
      if (e.username !== 'system:anonymous') return;
      if (!succeeded(e)) return;
      if (excludeHealth && e.resource === null && isHealthEndpoint(e.requestURI)) return;
      if (!compiled.matches(e)) return;
      emit({ info, event: e, groupKey: e.sourceIPs[0] ?? '', details: apiDetails(e) });
    },
  };
}

/** Detectors for every tactic and mechanism whose threat lists are present. */
export function apiCallerDetectors(intel: ThreatIntel | undefined): Detector[] {
  const out: Detector[] = [];
  for (const tactic of Object.keys(API_TACTIC_CRITERIA) as ApiTactic[]) {
    const compiled = compileTactic(tactic);
    if (intel !== undefined && intel.malicious.length > 0)
      out.push(ipCallerDetector(tactic, 'MaliciousIPCaller', compiled, intel.malicious));
    if (intel !== undefined && intel.custom.length > 0)
      out.push(ipCallerDetector(tactic, 'MaliciousIPCaller.Custom', compiled, intel.custom));
    out.push(anonymousDetector(tactic, compiled));
    if (intel !== undefined && intel.tor.length > 0)
      out.push(ipCallerDetector(tactic, 'TorIPCaller', compiled, intel.tor));
  }
  return out;
}
