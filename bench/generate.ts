/**
 * `node dist/bench/generate.js --events N --seed S --format jsonl|cw-export|filter-log-events
 *  --out FILE [--attack-rate R]`: write a deterministic synthetic EKS audit log.
 */
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_ATTACK_RATE, DEFAULT_START, generateAuditEvents } from './generator.js';
import { clusterModel } from './generator-events.js';
import { OUTPUT_FORMATS, writeEvents, type OutputFormat } from './generator-writers.js';

const HELP = `Usage: node dist/bench/generate.js --events N --out FILE [options]

Writes N synthetic EKS audit events (audit.k8s.io/v1), deterministic for a seed.

Options:
  --events N          number of audit events (log lines) to write (required)
  --out FILE          output file, or - for stdout (required)
  --seed S            PRNG seed, an unsigned 32-bit integer (default 1)
  --format F          jsonl | cw-export | filter-log-events (default jsonl)
                        cw-export: gzip of "<ISO ts> <json>" lines (CloudWatch export to S3, 000000.gz)
                        filter-log-events: FilterLogEvents response pages, one per line
  --attack-rate R     fraction of API requests that are attacks, 0..1 (default ${DEFAULT_ATTACK_RATE})
  --start ISO         time of the first request (default ${DEFAULT_START})
  --rps N             mean API requests per second (default 40)
  --cluster NAME      cluster name (default prod-eks)
  -h, --help          show this help
`;

function fail(message: string): never {
  process.stderr.write(`generate: ${message}\n\n${HELP}`);
  process.exit(2);
}

function num(name: string, v: string | undefined, fallback: number | undefined, check: (n: number) => boolean): number {
  if (v === undefined) {
    if (fallback === undefined) fail(`--${name} is required`);
    return fallback;
  }
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n)) fail(`invalid --${name}: ${v}`);
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        events: { type: 'string' },
        out: { type: 'string' },
        seed: { type: 'string' },
        format: { type: 'string' },
        'attack-rate': { type: 'string' },
        start: { type: 'string' },
        rps: { type: 'string' },
        cluster: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help === true) {
    process.stdout.write(HELP);
    return;
  }
  const events = num('events', values.events, undefined, (n) => Number.isInteger(n) && n >= 0);
  const seed = num('seed', values.seed, 1, (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff);
  const attackRate = num('attack-rate', values['attack-rate'], DEFAULT_ATTACK_RATE, (n) => n >= 0 && n <= 1);
  const rps = num('rps', values.rps, 40, (n) => n > 0);
  const format = (values.format ?? 'jsonl') as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) fail(`invalid --format: ${values.format ?? ''}`);
  if (values.out === undefined) fail('--out is required');
  const start = values.start ?? DEFAULT_START;
  if (Number.isNaN(Date.parse(start))) fail(`invalid --start: ${start}`);
  const cluster = values.cluster ?? 'prod-eks';
  const out = values.out === '-' ? process.stdout : createWriteStream(values.out);
  const summary = await writeEvents(
    generateAuditEvents({ seed, events, attackRate, start, requestsPerSecond: rps, cluster }),
    out,
    {
      format,
      logStream: clusterModel(seed, cluster).logStream,
      seed,
    },
  );
  process.stderr.write(
    `wrote ${summary.events} events (${summary.attackEvents} from attacks) as ${format} to ${values.out}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`generate: ${(e as Error).message}\n`);
  process.exit(1);
});
