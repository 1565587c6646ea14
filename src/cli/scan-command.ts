/**
 * `sleuth scan PATH…`: read audit logs, store them, run every enabled engine, print findings.
 */
import { closeSync, existsSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Command } from './command.js';
import { parseCommandArgs } from './args.js';
import { UsageError } from '../model/errors.js';
import type { Finding, SeverityLabel } from '../model/finding.js';
import { DetectionEngine } from '../detect/engine.js';
import { runScan, type ScanSummary } from '../pipeline/scan-pipeline.js';
import { ProgressBar, formatBytes } from './progress.js';
import { renderTable } from './table.js';
import { terminalSafe } from './terminal-safe.js';
import { buildDetectionSetup, DETECTION_OPTIONS, readDetectionFlags } from './detection-setup.js';
import { openStore, DEFAULT_DB_PATH } from '../store/open-store.js';
import { FindingAggregator } from '../findings/aggregator.js';
import { formatFindings, remediationLookup, type FormatOptions, type OutputFormat } from '../findings/formats/index.js';

const FORMATS = ['table', 'jsonl', 'json', 'guardduty', 'asff', 'ocsf'] as const;

export const scanCommand: Command = {
  name: 'scan',
  summary: 'read audit logs (files, dirs, gzip, CloudWatch exports, stdin), store them, report findings',
  help: `Usage: sleuth scan PATH… [options]

Reads Kubernetes audit logs, stores them in DuckDB and reports findings.
PATH is a file, a directory (read recursively) or - for stdin. The format is detected per file
by content: audit Event per line (JSONL), EventList or JSON array, gzip of these, CloudWatch
filter-log-events / get-log-events JSON, CloudWatch-to-S3 export objects, subscription-filter
payloads and Firehose records.

Options:
  --db FILE            DuckDB file to store events and findings (default: ${DEFAULT_DB_PATH});
                       :memory: stores nothing on disk
  --no-store           detect only, do not store events
  --cluster NAME       cluster name (default: from the /aws/eks/<name>/cluster log group, else "default")
${DETECTION_OPTIONS}
  --format FMT         table|jsonl|json|guardduty|asff|ocsf (default: table on a terminal, jsonl otherwise)
  --output FILE        write findings to FILE instead of stdout
  --aws-account-id ID  AWS account for the guardduty and asff formats (default: the account most
                       of the cluster's IAM callers belong to, else 000000000000)
  --aws-region R       AWS region for those formats (default us-east-1)
  --aws-partition P    aws, aws-cn or aws-us-gov (default aws)
  --show-suppressed    include suppressed findings in table output (always in the other formats)
  --workers N          worker threads that parse and deduplicate (default: cores - 1 up to 8
                       on 4+ cores for inputs over 4 MiB, else 0: all on one thread); findings
                       and stored events do not depend on N
  --quiet              no summary on stderr
  -h, --help           this help

Exit codes: 0 the scan ran (with or without findings); 2 usage error or nothing could be read.

Examples:
  sleuth scan ./audit/ --db incident.duckdb
  sleuth scan exportedlogs/ --cluster prod --format guardduty --output findings.json
  zcat audit.log.gz | sleuth scan - --db :memory: --falco-rules rules/falco/k8s_audit_rules.yaml
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('scan', argv, {
      db: { type: 'string' },
      'no-store': { type: 'boolean' },
      cluster: { type: 'string' },
      format: { type: 'string' },
      output: { type: 'string' },
      'show-suppressed': { type: 'boolean' },
      quiet: { type: 'boolean' },
      workers: { type: 'string' },
      'aws-account-id': { type: 'string' },
      'aws-region': { type: 'string' },
      'aws-partition': { type: 'string' },
      ...readDetectionFlags.options,
    });
    if (positionals.length === 0)
      throw new UsageError(
        'scan: give at least one PATH (a file, a directory, or - for stdin). See `sleuth scan --help`.',
      );
    const format = (values.format ??
      (io.stdout.isTTY === true && values.output === undefined ? 'table' : 'jsonl')) as string;
    if (!(FORMATS as readonly string[]).includes(format))
      throw new UsageError(`scan: --format must be one of ${FORMATS.join(', ')}; got "${terminalSafe(format)}"`);
    if (values.cluster !== undefined && values.cluster.trim() === '')
      throw new UsageError('scan: --cluster needs a non-empty name');

    let workers: number | null = null;
    if (values.workers !== undefined) {
      workers = /^\d{1,3}$/.test(values.workers) ? Number(values.workers) : NaN;
      if (!(workers >= 0 && workers <= 256))
        throw new UsageError(
          `scan: --workers must be a whole number from 0 to 256; got "${terminalSafe(values.workers)}"`,
        );
    }
    const aws = awsOptions(values['aws-account-id'], values['aws-region'], values['aws-partition']);
    // Fail on an unwritable --output now, not after a long scan has run.
    if (values.output !== undefined) checkWritable(values.output);
    const setup = await buildDetectionSetup(readDetectionFlags.read(values), io);
    const dbPath = values['no-store'] === true ? null : (values.db ?? DEFAULT_DB_PATH);
    const totalBytes = await totalSize(positionals);
    workers ??= defaultWorkers(totalBytes);
    const createdDb = dbPath !== null && dbPath !== ':memory:' && !existsSync(dbPath);
    const store = dbPath === null ? null : await openStore(dbPath);
    const engine = new DetectionEngine((unit, e) => {
      if (engineErrors++ < 3)
        io.stderr.write(
          `sleuth: detector ${terminalSafe(unit)} failed on an event: ${terminalSafe(String((e as Error)?.message ?? e))}\n`,
        );
    });
    let engineErrors = 0;
    for (const u of setup.units) {
      if ('detectors' in u) engine.addPack(u);
      else engine.addDetector(u);
    }
    const aggregator = new FindingAggregator();
    const bar = new ProgressBar(io.stderr, totalBytes);
    let summary: ScanSummary | undefined;
    try {
      summary = await runScan({
        paths: positionals,
        cluster: values.cluster,
        stdin: io.stdin,
        store,
        engine,
        onDetection: (d) => aggregator.add(d),
        workers,
        onProgress: (p) => bar.update(p.bytesDone, p.events, p.file),
      });
      bar.clear();
      const findings = setup.suppress(aggregator.findings());
      if (store !== null) await store.upsertFindings(findings);
      const remediation = remediationLookup(
        setup.units.flatMap((u) => ('detectors' in u ? u.detectors : [u]).map((d) => d.info)),
      );
      const text = renderFindings(findings, format as OutputFormat | 'table', values['show-suppressed'] === true, {
        ...aws,
        remediation,
      });
      if (values.output !== undefined) writeFileSync(values.output, text);
      else io.stdout.write(text);
      if (values.quiet !== true)
        io.stderr.write(summaryText(summary, findings, summary.evaluations, dbPath, setup.describe));
      if (summary.events === 0) {
        io.stderr.write('sleuth: no audit events could be read from the given paths (see the reasons above).\n');
        return 2;
      }
      return 0;
    } finally {
      bar.clear();
      await store?.close();
      // A scan that read nothing leaves no empty database behind.
      if (createdDb && dbPath !== null && summary !== undefined && summary.events === 0)
        for (const f of [dbPath, `${dbPath}.wal`]) rmSync(f, { force: true });
    }
  },
};

type AwsOptions = { accountId?: string; region?: string; partition?: string };

/** --aws-* for the guardduty and asff formats: Security Hub only takes findings for its own account and region. */
function awsOptions(
  accountId: string | undefined,
  region: string | undefined,
  partition: string | undefined,
): AwsOptions {
  if (accountId !== undefined && !/^\d{12}$/.test(accountId))
    throw new UsageError(`scan: --aws-account-id must be 12 digits; got "${terminalSafe(accountId)}"`);
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
    throw new UsageError(`scan: --aws-region must look like us-east-1; got "${terminalSafe(region)}"`);
  if (partition !== undefined && !/^aws(-[a-z]+)*$/.test(partition))
    throw new UsageError(`scan: --aws-partition must be aws, aws-cn or aws-us-gov; got "${terminalSafe(partition)}"`);
  return {
    ...(accountId !== undefined ? { accountId } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(partition !== undefined ? { partition } : {}),
  };
}

function checkWritable(path: string): void {
  const existed = existsSync(path);
  try {
    closeSync(openSync(path, 'a'));
    if (!existed) rmSync(path, { force: true });
  } catch (e) {
    throw new UsageError(`scan: cannot write --output ${terminalSafe(path)}: ${terminalSafe((e as Error).message)}`);
  }
}

async function totalSize(paths: readonly string[]): Promise<number | null> {
  let total = 0;
  for (const p of paths) {
    if (p === '-') return null;
    try {
      const s = await stat(p);
      if (!s.isFile()) return null;
      total += s.size;
    } catch {
      return null;
    }
  }
  return total;
}

const PARALLEL_MIN_BYTES = 4 * 1024 * 1024;

/**
 * Worker threads when --workers is not given. The main thread keeps reading, storing and
 * detecting (bench/README.md), so workers pay only when they have cores of their own: on 2
 * cores they measured slower than one thread. Small inputs are not worth starting them.
 */
function defaultWorkers(totalBytes: number | null): number {
  const cores = availableParallelism();
  if (cores < 4 || (totalBytes !== null && totalBytes < PARALLEL_MIN_BYTES)) return 0;
  return Math.min(cores - 1, 8);
}

const SEVERITY_ORDER: readonly SeverityLabel[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'];

function renderFindings(
  findings: readonly Finding[],
  format: OutputFormat | 'table',
  showSuppressed: boolean,
  options: FormatOptions,
): string {
  if (format !== 'table') {
    const text = formatFindings(findings, format, options);
    // Every format ends with a newline so outputs concatenate line by line.
    return text === '' || text.endsWith('\n') ? text : `${text}\n`;
  }
  const shown = findings
    .filter((f) => showSuppressed || f.suppressed !== true)
    .slice()
    .sort((a, b) => b.severity.score - a.severity.score || b.count - a.count || a.firstSeen.localeCompare(b.firstSeen));
  if (shown.length === 0) return 'No findings.\n';
  const rows = shown.map((f) => [
    f.severity.label,
    f.type,
    f.count,
    f.actor.username ?? '',
    [f.resource.namespace, f.resource.resource, f.resource.name].filter((x) => x !== null && x !== '').join('/'),
    f.lastSeen,
    f.suppressed === true ? 'suppressed' : '',
  ]);
  return renderTable(['SEVERITY', 'TYPE', 'COUNT', 'ACTOR', 'RESOURCE', 'LAST SEEN', ''], rows, { maxCell: 64 });
}

function summaryText(
  s: ScanSummary,
  findings: readonly Finding[],
  evaluations: number,
  dbPath: string | null,
  rules: string,
): string {
  const bySev = SEVERITY_ORDER.map(
    (l) => `${l.toLowerCase()} ${findings.filter((f) => f.severity.label === l && f.suppressed !== true).length}`,
  ).join(', ');
  const suppressed = findings.filter((f) => f.suppressed === true).length;
  const secs = s.elapsedMs / 1000;
  const rate = secs > 0 ? Math.round(s.events / secs) : s.events;
  const lines = [
    '',
    `Scanned ${s.files} file(s), ${formatBytes(s.bytes)}: ${s.events.toLocaleString('en-US')} events read, ${s.duplicates.toLocaleString('en-US')} duplicates, ${s.skippedTotal.toLocaleString('en-US')} skipped`,
  ];
  if (s.skippedTotal > 0) {
    lines.push(
      `  skipped by reason: ${Object.entries(s.skipped)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    for (const p of s.problems)
      lines.push(`  ${terminalSafe(p.file)}${p.line > 0 ? `:${p.line}` : ''}: ${terminalSafe(p.reason)}`);
    if (s.skippedTotal > s.problems.length) lines.push(`  … and ${s.skippedTotal - s.problems.length} more`);
  }
  lines.push(
    `Rules: ${rules}; ${s.detected.toLocaleString('en-US')} requests checked, ${evaluations.toLocaleString('en-US')} rule evaluations`,
  );
  lines.push(
    `Findings: ${findings.length - suppressed} (${bySev})${suppressed > 0 ? `, ${suppressed} suppressed` : ''}`,
  );
  lines.push(
    `Stored: ${s.events === 0 ? 'nothing' : dbPath === null ? 'nothing (--no-store)' : dbPath === ':memory:' ? 'in memory only (:memory:)' : `${s.stored.toLocaleString('en-US')} new events in ${dbPath}`}`,
  );
  lines.push(`Time: ${secs.toFixed(2)} s, ${rate.toLocaleString('en-US')} events/s`);
  if (dbPath !== null && dbPath !== ':memory:' && s.events > 0)
    lines.push(`Next: sleuth query --db ${dbPath} 'stats count(*) by verb, responseStatus.code'`);
  return lines.join('\n') + '\n';
}
