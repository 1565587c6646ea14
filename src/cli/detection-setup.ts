/**
 * Turns the detection flags shared by `scan` and `rules` into engine units: the native
 * catalogue (with threat lists), Falco rules packs, Sigma rules, and the suppression step.
 * Every problem in every rules file is reported in one go before anything runs.
 */
import type { CliIo } from './io.js';
import { UsageError, formatProblem, type SourceProblem } from '../model/errors.js';
import type { Detector, DetectorPack } from '../detect/detector.js';
import type { Finding } from '../model/finding.js';
import { nativeDetectors } from '../detect/native/index.js';
import { loadThreatIntel } from '../detect/intel/threat-intel.js';
import { loadFalcoRules } from '../detect/falco/falco-loader.js';
import { loadSigmaRules } from '../detect/sigma/sigma-detectors.js';
import { applySuppression, loadSuppressionFile } from '../findings/suppression.js';
import { BUILTIN_FALCO_RULES, BUILTIN_SIGMA_RULES } from './paths.js';
import { terminalSafe } from './terminal-safe.js';

export const DETECTION_OPTIONS = `  --no-native          do not run the built-in GuardDuty-equivalent catalogue
  --falco-rules FILE   Falco rules file, repeatable, loaded in order ("builtin": Falco's
                       k8s_audit_rules.yaml shipped in rules/falco/)
  --falco-match MODE   first (Falco's default: at most one alert per event) or all
  --sigma PATH         Sigma rule file or directory, repeatable ("builtin": SigmaHQ's
                       Kubernetes rules and the example correlations in rules/sigma/)
  --sigma-mapping FILE extra Sigma field aliases (YAML: sigmaField: audit.json.path)
  --intel FILE         custom threat list (IP/CIDR per line or CSV): *.Custom findings, repeatable
  --threat-feed FILE   malicious-IP feed (IP/CIDR per line or CSV): MaliciousIPCaller, repeatable
  --tor-exits FILE     Tor exit node list: TorIPCaller findings
  --suppress FILE      suppression rules (YAML); suppressed findings are kept and marked`;

export interface DetectionFlags {
  readonly native: boolean;
  readonly falcoRules: readonly string[];
  readonly falcoMatch: 'first' | 'all';
  readonly sigma: readonly string[];
  readonly sigmaMapping: string | undefined;
  readonly intel: readonly string[];
  readonly threatFeeds: readonly string[];
  readonly torExits: string | undefined;
  readonly suppress: string | undefined;
}

const OPTIONS = {
  'no-native': { type: 'boolean' },
  'falco-rules': { type: 'string', multiple: true },
  'falco-match': { type: 'string' },
  sigma: { type: 'string', multiple: true },
  'sigma-mapping': { type: 'string' },
  intel: { type: 'string', multiple: true },
  'threat-feed': { type: 'string', multiple: true },
  'tor-exits': { type: 'string' },
  suppress: { type: 'string' },
} as const;

type FlagValues = {
  'no-native'?: boolean | undefined;
  'falco-rules'?: string[] | undefined;
  'falco-match'?: string | undefined;
  sigma?: string[] | undefined;
  'sigma-mapping'?: string | undefined;
  intel?: string[] | undefined;
  'threat-feed'?: string[] | undefined;
  'tor-exits'?: string | undefined;
  suppress?: string | undefined;
};

export const readDetectionFlags = {
  options: OPTIONS,
  read(v: FlagValues): DetectionFlags {
    const match = v['falco-match'] ?? 'first';
    if (match !== 'first' && match !== 'all')
      throw new UsageError(`--falco-match must be first or all; got "${terminalSafe(match)}"`);
    return {
      native: v['no-native'] !== true,
      falcoRules: (v['falco-rules'] ?? []).map((f) => (f === 'builtin' ? BUILTIN_FALCO_RULES : f)),
      falcoMatch: match,
      sigma: (v.sigma ?? []).map((f) => (f === 'builtin' ? BUILTIN_SIGMA_RULES : f)),
      sigmaMapping: v['sigma-mapping'],
      intel: v.intel ?? [],
      threatFeeds: v['threat-feed'] ?? [],
      torExits: v['tor-exits'],
      suppress: v.suppress,
    };
  },
};

export interface DetectionSetup {
  readonly units: readonly (Detector | DetectorPack)[];
  readonly suppress: (findings: Finding[]) => Finding[];
  /** e.g. "27 native, 61 Falco, 16 Sigma". */
  readonly describe: string;
}

/** Build every unit; print warnings; throw one UsageError listing every error. */
export async function buildDetectionSetup(flags: DetectionFlags, io: CliIo): Promise<DetectionSetup> {
  const errors: SourceProblem[] = [];
  const warnings: SourceProblem[] = [];
  const sort = (ps: readonly SourceProblem[]): void => {
    for (const p of ps) (p.severity === 'warning' ? warnings : errors).push(p);
  };
  const units: (Detector | DetectorPack)[] = [];
  const parts: string[] = [];

  if (flags.native) {
    const intel = loadThreatIntel({
      ...(flags.intel.length > 0 ? { intel: [...flags.intel] } : {}),
      ...(flags.torExits !== undefined ? { torExits: flags.torExits } : {}),
      ...(flags.threatFeeds.length > 0 ? { malicious: [...flags.threatFeeds] } : {}),
    });
    // Threat-list line problems are warnings: one bad line must not discard a whole feed.
    for (const p of intel.errors.slice(0, 5))
      io.stderr.write(`sleuth: ${terminalSafe(formatProblem({ ...p, severity: 'warning' }))}\n`);
    if (intel.errors.length > 5)
      io.stderr.write(`sleuth: … and ${intel.errors.length - 5} more threat-list lines skipped\n`);
    const natives = nativeDetectors({ intel: intel.value });
    units.push(...natives);
    parts.push(`${natives.length} native`);
  } else if (flags.intel.length > 0 || flags.threatFeeds.length > 0 || flags.torExits !== undefined) {
    throw new UsageError(
      '--intel, --threat-feed and --tor-exits feed the native catalogue; drop --no-native to use them',
    );
  }

  if (flags.falcoRules.length > 0) {
    const r = await loadFalcoRules(flags.falcoRules, { match: flags.falcoMatch });
    sort(r.problems);
    if (r.pack !== null) {
      units.push(r.pack);
      parts.push(`${r.stats.activeRules} Falco (${flags.falcoMatch} match)`);
    }
  }

  if (flags.sigma.length > 0) {
    const r = loadSigmaRules(
      flags.sigma,
      flags.sigmaMapping !== undefined ? { fieldMappingFile: flags.sigmaMapping } : {},
    );
    sort(r.problems);
    units.push(...r.detectors);
    parts.push(
      `${r.detectors.length} Sigma${r.skipped.length > 0 ? ` (${r.skipped.length} skipped: not kubernetes/audit)` : ''}`,
    );
  }

  // Warnings (rules that can never match as written, threat-list lines skipped) are for the
  // rule author: one line here, every detail from `sleuth rules lint`.
  if (warnings.length > 0) {
    const files = [...new Set(warnings.map((w) => w.file).filter((f): f is string => f !== undefined))];
    io.stderr.write(
      `sleuth: ${warnings.length} warning(s) in ${files.length} rule file(s); run \`sleuth rules lint${files.length <= 3 ? ' ' + files.map((f) => terminalSafe(f)).join(' ') : ' FILE…'}\` for details\n`,
    );
  }
  if (errors.length > 0) {
    const shown = errors.slice(0, 50).map((p) => `  ${terminalSafe(formatProblem(p))}`);
    throw new UsageError(
      `rules could not be loaded (${errors.length} error(s)):\n${shown.join('\n')}${errors.length > 50 ? `\n  … and ${errors.length - 50} more` : ''}\nFix them, or check with \`sleuth rules lint FILE…\`.`,
    );
  }
  if (units.length === 0) parts.push('none (--no-native: store only)');

  const rules = flags.suppress !== undefined ? loadSuppressionFile(flags.suppress) : [];
  return {
    units,
    suppress: (findings) => (rules.length > 0 ? applySuppression(findings, rules) : findings),
    describe: parts.join(', '),
  };
}
