/**
 * `sleuth demo`: the README's first command. Scans the bundled sample logs (benign traffic
 * plus a short attack story, see examples/README.md) with every engine, prints the findings,
 * and leaves a DuckDB file to query.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from './command.js';
import { parseCommandArgs } from './args.js';
import { UsageError } from '../model/errors.js';
import { scanCommand } from './scan-command.js';
import { queryCommand } from './query-command.js';
import { EXAMPLES_DIR } from './paths.js';

const DEMO_DB = 'sleuth-demo.duckdb';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'scan the bundled sample logs with every engine and leave sleuth-demo.duckdb to query',
  help: `Usage: sleuth demo [--db FILE]

Scans examples/audit-sample.jsonl (about 2,000 benign events and a short attack story) with the
native GuardDuty-equivalent catalogue, Falco's k8s audit rules and SigmaHQ's Kubernetes rules,
with the sample threat lists in examples/intel/, prints the findings, then runs two example
queries. The events and findings stay in the DuckDB file for \`sleuth query\`.

Options:
  --db FILE    where to store (default: ${DEMO_DB}; replaced on every run)
  -h, --help   this help
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('demo', argv, { db: { type: 'string' } });
    if (positionals.length > 0) throw new UsageError('demo: takes no arguments; see `sleuth demo --help`');
    const db = values.db ?? DEMO_DB;
    const sample = join(EXAMPLES_DIR, 'audit-sample.jsonl');
    if (!existsSync(sample))
      throw new UsageError(`demo: the sample logs are missing (${sample}); run it from a full checkout`);
    for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
    const intel = [
      '--tor-exits',
      join(EXAMPLES_DIR, 'intel', 'tor-exit-nodes.txt'),
      '--threat-feed',
      join(EXAMPLES_DIR, 'intel', 'malicious-ips.txt'),
    ];
    io.stdout.write(
      `== 1. The built-in GuardDuty-equivalent catalogue, with the sample threat lists ==\n$ sleuth scan ${sample} --db ${db} --cluster demo ${intel.join(' ')}\n\n`,
    );
    let code = await scanCommand.run([sample, '--db', db, '--cluster', 'demo', ...intel, '--format', 'table'], io);
    if (code !== 0) return code;
    const findingsFile = db.replace(/\.duckdb$/, '') + '-falco-sigma.jsonl';
    io.stdout.write(
      `\n== 2. Falco's k8s audit rules and SigmaHQ's Kubernetes rules, unmodified, on the same events ==\n$ sleuth scan ${sample} --db ${db} --cluster demo --no-native --falco-rules builtin --sigma builtin --output ${findingsFile}\n`,
    );
    io.stdout.write('(the events are already stored: the second scan stores no duplicates)\n\n');
    code = await scanCommand.run(
      [
        sample,
        '--db',
        db,
        '--cluster',
        'demo',
        '--no-native',
        '--falco-rules',
        'builtin',
        '--sigma',
        'builtin',
        '--format',
        'jsonl',
        '--output',
        findingsFile,
      ],
      io,
    );
    if (code !== 0) return code;
    const queries: [string, string[]][] = [
      [
        'Findings by engine and type',
        [
          '--sql',
          'SELECT engine, type, count(*) AS findings, sum(count) AS events, max(severity_label) AS severity FROM findings GROUP BY engine, type ORDER BY engine, events DESC, type LIMIT 25',
        ],
      ],
      [
        'Who called the API most (Logs Insights)',
        ['stats count(*) as calls by user.username | sort calls desc | limit 8'],
      ],
      [
        'What the Tor exit node did (Logs Insights)',
        [
          'fields @timestamp, user.username, verb, objectRef.resource, objectRef.name, responseStatus.code | filter sourceIPs.0 = "198.51.100.23" | sort @timestamp asc | limit 20',
        ],
      ],
    ];
    for (const [title, args] of queries) {
      io.stdout.write(
        `\n== ${title} ==\n$ sleuth query --db ${db} ${args.map((a) => (a.startsWith('--') ? a : `'${a}'`)).join(' ')}\n\n`,
      );
      const qc = await queryCommand.run(['--db', db, '--format', 'table', ...args], io);
      if (qc !== 0) return qc;
    }
    io.stdout.write(
      `\nThe events and findings are in ${db}; Falco and Sigma findings also in ${findingsFile}. Try:\n  npx sleuth query --db ${db} 'filter user.username = "ops-deploy" | stats count(*) by verb, objectRef.resource'\n  npx sleuth rules hunt --db ${db} --sigma builtin\n  npx sleuth scan --help\n`,
    );
    return 0;
  },
};
