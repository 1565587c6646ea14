/**
 * The threat intelligence the native IP-caller detectors consult: malicious-IP feeds
 * (MaliciousIPCaller), the user's own lists (MaliciousIPCaller.Custom, named in the finding) and
 * Tor exit nodes (TorIPCaller).
 */
import type { Result, SourceProblem } from '../../model/errors.js';
import { UsageError } from '../../model/errors.js';
import { loadThreatListFile, type ThreatList, type ThreatListKind } from './threat-list.js';

export interface ThreatMatch {
  readonly list: ThreatList;
  /** The caller IP that matched. */
  readonly ip: string;
  /** The list entry (IP or CIDR as written) that covers it. */
  readonly entry: string;
}

export interface ThreatIntel {
  readonly malicious: readonly ThreatList[];
  readonly custom: readonly ThreatList[];
  readonly tor: readonly ThreatList[];
}

/**
 * How many of a request's sourceIPs are checked. The first is the client as the apiserver saw it
 * through X-Forwarded-For; a client can prepend forged addresses to that header, so every
 * address is checked, up to a bound that real proxy chains never reach.
 */
const MAX_IPS_CHECKED = 8;

/** First list of `lists` covering one of `ips`. */
export function matchLists(lists: readonly ThreatList[], ips: readonly string[]): ThreatMatch | null {
  if (lists.length === 0) return null;
  const n = Math.min(ips.length, MAX_IPS_CHECKED);
  for (let i = 0; i < n; i++) {
    const ip = ips[i]!;
    for (const list of lists) {
      const entry = list.match(ip);
      if (entry !== null) return { list, ip, entry };
    }
  }
  return null;
}

export function threatIntelFromLists(lists: readonly ThreatList[]): ThreatIntel {
  return {
    malicious: lists.filter((l) => l.kind === 'malicious'),
    custom: lists.filter((l) => l.kind === 'custom'),
    tor: lists.filter((l) => l.kind === 'tor'),
  };
}

export interface ThreatIntelFiles {
  /** --intel FILE…: custom lists, findings `.Custom`. */
  readonly intel?: readonly string[] | undefined;
  /** --tor-exits FILE. */
  readonly torExits?: string | undefined;
  /** Malicious-IP feeds (FireHOL, Spamhaus DROP, abuse.ch, …). */
  readonly malicious?: readonly string[] | undefined;
}

/**
 * Load every list. Unreadable files are a UsageError (the user named them); bad lines are
 * returned as warnings.
 */
export function loadThreatIntel(files: ThreatIntelFiles): Result<ThreatIntel> {
  const lists: ThreatList[] = [];
  const errors: SourceProblem[] = [];
  const load = (path: string, kind: ThreatListKind): void => {
    let r;
    try {
      r = loadThreatListFile(path, kind);
    } catch (e) {
      throw new UsageError(`cannot read threat list ${path}: ${(e as Error).message}`);
    }
    lists.push(r.value);
    errors.push(...r.errors);
  };
  for (const f of files.intel ?? []) load(f, 'custom');
  for (const f of files.malicious ?? []) load(f, 'malicious');
  if (files.torExits !== undefined) load(files.torExits, 'tor');
  return { value: threatIntelFromLists(lists), errors };
}
