/**
 * `sleuth rules list|lint|hunt`: see the catalogue, check rule files, run Sigma rules over
 * stored history.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Command } from './command.js';
import type { CliIo } from './io.js';
import { parseCommandArgs } from './args.js';
import { UsageError, formatProblem, type SourceProblem } from '../model/errors.js';
import { describeNativeRules } from '../detect/native/index.js';
import { loadFalcoRules, lintFalcoRuleFiles } from '../detect/falco/falco-loader.js';
import { lintSigmaRules, loadSigmaRules } from '../detect/sigma/sigma-detectors.js';
import { huntSigma } from '../detect/sigma/sigma-sql-compiler.js';
import { openStore, DEFAULT_DB_PATH } from '../store/open-store.js';
import type { Row, Store } from '../store/store.js';
import { ROW_FORMATS, renderRows, type RowFormat } from './output-rows.js';
import { renderTable } from './table.js';
import { terminalSafe } from './terminal-safe.js';
import { BUILTIN_FALCO_RULES, BUILTIN_SIGMA_RULES } from './paths.js';

const HELP = `Usage: sleuth rules <list|lint|hunt> [options]

  sleuth rules list [--falco-rules FILE]… [--sigma PATH]… [--format table|json]
      every detector: engine, type, severity, MITRE tactic and technique, the data it needs
  sleuth rules lint FILE|DIR… [--sigma-mapping FILE]
      check Falco and Sigma rule files (the kind is detected per file) and report every error
      and warning in one run (rules that can never match real audit events, rules skipped
      because their logsource is not Kubernetes audit); exit 1 when there are errors
  sleuth rules hunt --sigma PATH… [--db FILE] [--sigma-mapping FILE] [--all-stages]
                    [--format table|json|jsonl|csv]
      compile Sigma rules to SQL and run them over every stored event (correlations too).
      Like \`sleuth scan\`, rules see one event per request (its final stage); --all-stages
      runs them over every stored stage. Hits carry the Sigma id as rule, the title, the
      level as severity and the attack.* tags as MITRE tactic/technique.

  --sigma-mapping FILE  extra Sigma field aliases (YAML: sigmaField: audit.json.path), as for scan

"builtin" stands for the shipped packs: --falco-rules builtin, --sigma builtin.
`;

export const rulesCommand: Command = {
  name: 'rules',
  summary: 'list the detection catalogue, lint Falco/Sigma rule files, hunt with Sigma over stored events',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'list':
        return listRules(rest, io);
      case 'lint':
        return lintRules(rest, io);
      case 'hunt':
        return huntRules(rest, io);
      default:
        throw new UsageError(
          `rules: ${sub === undefined ? 'missing subcommand' : `unknown subcommand "${terminalSafe(sub)}"`}; use list, lint or hunt. See \`sleuth rules --help\`.`,
        );
    }
  },
};

const builtin = (paths: readonly string[] | undefined, dflt: string): string[] =>
  (paths ?? []).map((p) => (p === 'builtin' ? dflt : p));

async function listRules(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('rules list', argv, {
    'falco-rules': { type: 'string', multiple: true },
    sigma: { type: 'string', multiple: true },
    format: { type: 'string' },
  });
  const rows: Record<string, unknown>[] = describeNativeRules().map((r) => ({
    engine: 'native',
    type: r.type,
    severity: r.severity,
    tactic: r.tactic,
    technique: r.technique,
    needs: r.needs,
  }));
  const falco = builtin(values['falco-rules'], BUILTIN_FALCO_RULES);
  if (falco.length > 0) {
    const r = await loadFalcoRules(falco);
    if (r.pack === null) return reportProblems(r.problems, io, 'Falco rules did not load');
    for (const d of r.pack.detectors)
      rows.push({
        engine: 'falco',
        type: d.info.type,
        severity: d.info.severity.label,
        tactic: d.info.mitre?.tactic ?? '',
        technique: d.info.mitre?.technique ?? '',
        needs: needsOf(d.index),
      });
  }
  const sigma = builtin(values.sigma, BUILTIN_SIGMA_RULES);
  if (sigma.length > 0) {
    const r = loadSigmaRules(sigma);
    for (const d of r.detectors)
      rows.push({
        engine: 'sigma',
        type: d.info.type,
        severity: d.info.severity.label,
        tactic: d.info.mitre?.tactic ?? '',
        technique: d.info.mitre?.technique ?? '',
        needs: `${d.info.title}; ${needsOf(d.index)}`,
      });
  }
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError('rules list: --format must be table or json');
  io.stdout.write(
    format === 'json'
      ? JSON.stringify(rows, null, 2) + '\n'
      : renderTable(
          ['engine', 'type', 'severity', 'tactic', 'technique', 'needs'],
          rows.map((r) => [r['engine'], r['type'], r['severity'], r['tactic'], r['technique'], r['needs']]),
          { maxCell: 70 },
        ),
  );
  return 0;
}

function needsOf(index: { verbs?: readonly string[]; resources?: readonly string[] }): string {
  const v = index.verbs === undefined ? 'any verb' : index.verbs.join('|');
  const r = index.resources === undefined ? 'any resource' : index.resources.join('|');
  return `${v} on ${r}`;
}

/** Which rule language a file is written in, by content. */
export function ruleFileKind(text: string): 'falco' | 'sigma' | 'unknown' {
  let docs: unknown[];
  try {
    docs = text.split(/^---\s*$/m).map((d) => parseYaml(d) as unknown);
  } catch {
    // Let the Falco loader report YAML errors with positions when the file looks like Falco's.
    return /^\s*-\s*(rule|macro|list|required_engine_version):/m.test(text)
      ? 'falco'
      : /^(detection|correlation|logsource):/m.test(text)
        ? 'sigma'
        : 'unknown';
  }
  const first = docs.find((d) => d !== null && d !== undefined);
  if (Array.isArray(first)) return 'falco';
  if (
    typeof first === 'object' &&
    first !== null &&
    ('detection' in first || 'correlation' in first || 'logsource' in first || 'filter' in first)
  )
    return 'sigma';
  return 'unknown';
}

/** .yml/.yaml files below a directory, sorted, dot-entries skipped, symlinked directories not followed. */
function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /\.ya?ml$/i.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

async function lintRules(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('rules lint', argv, { 'sigma-mapping': { type: 'string' } });
  if (positionals.length === 0) throw new UsageError('rules lint: give one or more rule files or directories');
  const falco: string[] = [];
  const sigma: string[] = [];
  const problems: SourceProblem[] = [];
  const classify = (p: string): void => {
    const kind = ruleFileKind(readFileSync(p, 'utf8'));
    if (kind === 'falco') falco.push(p);
    else if (kind === 'sigma') sigma.push(p);
    else
      problems.push({
        file: p,
        line: 1,
        column: 1,
        message:
          'neither a Falco rules file (a YAML list of rule/macro/list items) nor a Sigma rule (a mapping with logsource and detection)',
      });
  };
  for (const p of positionals) {
    if (!existsSync(p)) {
      problems.push({ file: p, line: 0, column: 0, message: 'no such file or directory' });
      continue;
    }
    // Directories are walked and every .yml/.yaml file classified on its own.
    if (statSync(p).isDirectory()) for (const f of yamlFilesUnder(p)) classify(f);
    else classify(p);
  }
  // Falco files load together, in order, as Falco would (later files append to earlier ones).
  if (falco.length > 0) problems.push(...(await lintFalcoRuleFiles(falco)));
  if (sigma.length > 0) problems.push(...lintSigmaRules(sigma, sigmaMappingOption(values['sigma-mapping'])));
  const errors = problems.filter((p) => p.severity !== 'warning');
  for (const p of problems) io.stdout.write(`${terminalSafe(formatProblem(p))}\n`);
  io.stderr.write(
    `${falco.length} Falco file(s), ${sigma.length} Sigma path(s): ${errors.length} error(s), ${problems.length - errors.length} warning(s)\n`,
  );
  return errors.length > 0 ? 1 : 0;
}

async function huntRules(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('rules hunt', argv, {
    sigma: { type: 'string', multiple: true },
    'sigma-mapping': { type: 'string' },
    'all-stages': { type: 'boolean' },
    db: { type: 'string' },
    format: { type: 'string' },
  });
  const paths = builtin([...(values.sigma ?? []), ...positionals], BUILTIN_SIGMA_RULES);
  if (paths.length === 0) throw new UsageError('rules hunt: give Sigma rules with --sigma PATH (file or directory)');
  const format = (values.format ?? (io.stdout.isTTY === true ? 'table' : 'jsonl')) as RowFormat;
  if (!(ROW_FORMATS as readonly string[]).includes(format))
    throw new UsageError(`rules hunt: --format must be one of ${ROW_FORMATS.join(', ')}`);
  const mappingFile = values['sigma-mapping'];
  if (mappingFile !== undefined && !existsSync(mappingFile))
    throw new UsageError(`rules hunt: no field mapping file at ${terminalSafe(mappingFile)}`);
  const set = loadSigmaRules(paths, sigmaMappingOption(mappingFile));
  const errors = set.problems.filter((p) => p.severity !== 'warning');
  if (errors.length > 0) return reportProblems(errors, io, 'Sigma rules did not load');
  for (const s of set.skipped)
    io.stderr.write(`sleuth: skipped ${terminalSafe(s.file)} [${terminalSafe(s.id)}]: ${terminalSafe(s.reason)}\n`);
  const warnings = set.problems.length - errors.length;
  if (warnings > 0)
    io.stderr.write(`sleuth: ${warnings} warning(s) in the rules; run \`sleuth rules lint\` for details\n`);
  const dbPath = values.db ?? DEFAULT_DB_PATH;
  if (dbPath !== ':memory:' && !existsSync(dbPath))
    throw new UsageError(
      `rules hunt: no database at ${terminalSafe(dbPath)}; run \`sleuth scan PATH --db ${terminalSafe(dbPath)}\` first`,
    );
  const store = await openStore(dbPath, { readOnly: true });
  try {
    const r = await huntSigma(store, set, { stages: values['all-stages'] === true ? 'all' : 'request' });
    for (const e of r.errors)
      io.stderr.write(`sleuth: rule ${terminalSafe(e.rule)} cannot run over history: ${terminalSafe(e.message)}\n`);
    const info = new Map(set.detectors.map((d) => [d.info.rule, d.info]));
    const context = await eventContext(store, r.hits);
    const rows = r.hits.map((h) => {
      const i = info.get(h.rule);
      const c = context.get(`${h.auditID}\u0000${h.stage}`);
      return {
        time: new Date(h.time).toISOString(),
        rule: h.rule,
        title: i?.title ?? null,
        severity: i?.severity.label ?? null,
        tactic: i?.mitre?.tactic ?? null,
        technique: i?.mitre?.technique ?? null,
        type: h.type,
        auditID: h.auditID,
        stage: h.stage,
        user: c?.['user_username'] ?? null,
        verb: c?.['verb'] ?? null,
        resource: c?.['resource'] ?? null,
        namespace: c?.['namespace'] ?? null,
        name: c?.['name'] ?? null,
        code: c?.['response_code'] ?? null,
        measure: h.measure ?? null,
      };
    });
    const columns =
      format === 'table'
        ? ['time', 'severity', 'title', 'user', 'verb', 'resource', 'namespace', 'name', 'measure']
        : [
            'time',
            'rule',
            'title',
            'severity',
            'tactic',
            'technique',
            'type',
            'auditID',
            'stage',
            'user',
            'verb',
            'resource',
            'namespace',
            'name',
            'code',
            'measure',
          ];
    io.stdout.write(renderRows(columns, rows, format));
    io.stderr.write(
      `${r.hits.length} hit(s) from ${set.detectors.length} rule(s) over ${await store.countEvents()} stored events${set.skipped.length > 0 ? ` (${set.skipped.length} rule(s) skipped: not kubernetes/audit)` : ''}\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

function sigmaMappingOption(file: string | undefined): { fieldMappingFile?: string } {
  return file === undefined ? {} : { fieldMappingFile: file };
}

/** Who did what for each hit, read back by (audit_id, stage) in bound-parameter batches. */
async function eventContext(
  store: Store,
  hits: readonly { auditID: string; stage: string }[],
): Promise<Map<string, Row>> {
  const out = new Map<string, Row>();
  const ids = [...new Set(hits.map((h) => h.auditID))];
  for (let i = 0; i < ids.length; i += 500) {
    const batch = ids.slice(i, i + 500);
    const rows = await store.query(
      `SELECT "audit_id", "stage", "user_username", "verb", "resource", "namespace", "name", "response_code" FROM "events" WHERE "audit_id" IN (${batch.map((_, k) => `$${k + 1}`).join(', ')})`,
      batch,
    );
    for (const row of rows) out.set(`${String(row['audit_id'])}\u0000${String(row['stage'])}`, row);
  }
  return out;
}

function reportProblems(problems: readonly SourceProblem[], io: CliIo, what: string): number {
  for (const p of problems) io.stderr.write(`${terminalSafe(formatProblem(p))}\n`);
  throw new UsageError(`${what}; see the errors above or run \`sleuth rules lint\``);
}
