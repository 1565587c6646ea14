/**
 * `npm run bench [-- --quick]`: every figure side by side, from one run on the same generated
 * file (seed 42), each the median of three runs. Writes bench/results.{json,md} (full) or
 * bench/results.quick.{json,md} (--quick, for CI: figures printed, never asserted).
 *
 * Scenarios (bench/README.md says what each means and what profiling found):
 *  - floor: read the JSONL file and JSON.parse every line (one thread);
 *  - sleuth scan to :memory: with the default rules (default worker count), with every rule
 *    pack (native + Falco + SigmaHQ), storing to a DuckDB file, and detect-only; 1 thread vs
 *    N worker threads;
 *  - peers: jq running one equivalent filter; DuckDB read_json answering a group-by;
 *  - peak RSS as the input grows (full run only);
 *  - query latency on stored events vs the same questions asked of the raw file (read_json).
 * Wall time, CPU time (user + system, all threads) and peak RSS come from /usr/bin/time; on a
 * shared machine CPU time is the steadier figure.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const OUT = join(ROOT, 'bench', 'out');
const NODE = process.execPath;
const SLEUTH = join(ROOT, 'bin', 'sleuth.js');
const RUNS = 3;
const CORES = availableParallelism();

interface Measured {
  readonly ms: number;
  readonly cpuMs: number | null;
  readonly rssMb: number | null;
}

interface Figure {
  readonly name: string;
  readonly what: string;
  readonly events: number;
  readonly ms: number;
  readonly cpuMs: number | null;
  readonly eventsPerSec: number;
  readonly mbPerSec: number;
  readonly rssMb: number | null;
  readonly ratioToFloor: number | null;
  readonly runs: readonly number[];
}

interface QueryFigure {
  readonly question: string;
  readonly storedEvents: number;
  readonly storeP50: number;
  readonly storeP95: number;
  readonly rawP50: number | null;
  readonly rawRuns: number;
  readonly speedup: number | null;
  /** jq answering the same question on the raw file (one run; only where the raw file is the stored data). */
  readonly jqMs: number | null;
}

interface RssFigure {
  readonly events: number;
  readonly mb: number;
  /** Medians over the runs. */
  readonly ms: number;
  readonly rssMb: number | null;
  /** Peak RSS of each run, MB. */
  readonly runs?: readonly number[];
}

interface Options {
  readonly quick: boolean;
  readonly events: number;
  readonly queryEvents: readonly number[];
  readonly rssEvents: readonly number[];
  /** Sections to measure; the others are kept from the existing results file. */
  readonly sections: ReadonlySet<Section>;
}

type Section = 'scans' | 'rss' | 'queries';
const SECTIONS: readonly Section[] = ['scans', 'rss', 'queries'];

interface Results {
  machine: Record<string, unknown>;
  quick: boolean;
  file: { events: number; bytes: number };
  runs: number;
  figures: Figure[];
  rss: RssFigure[];
  queries: QueryFigure[];
  errors: string[];
  /** When each section was measured (ISO time, load average then). */
  measured: Partial<Record<Section, string>>;
  benchSeconds: number;
}

function args(): Options {
  const a = process.argv.slice(2);
  if (a.includes('--help')) {
    process.stdout.write(
      'Usage: npm run bench [-- --quick] [-- --events N] [-- --query-events N,M] [-- --rss-events N,M] [-- --sections scans,rss,queries]\n',
    );
    process.exit(0);
  }
  const quick = a.includes('--quick');
  const list = (flag: string, dflt: number[]): number[] => {
    const i = a.indexOf(flag);
    return i >= 0
      ? String(a[i + 1])
          .split(',')
          .filter((x) => x !== '')
          .map(Number)
      : dflt;
  };
  const ev = a.indexOf('--events');
  const sec = a.indexOf('--sections');
  const sections = new Set<Section>(sec >= 0 ? (String(a[sec + 1]).split(',') as Section[]) : SECTIONS);
  for (const x of sections)
    if (!SECTIONS.includes(x)) throw new Error(`unknown section ${x}; use ${SECTIONS.join(',')}`);
  return {
    sections,
    quick,
    events: ev >= 0 ? Number(a[ev + 1]) : quick ? 50_000 : 200_000,
    queryEvents: list('--query-events', quick ? [100_000] : [1_000_000, 10_000_000]),
    rssEvents: list('--rss-events', quick ? [] : [935_000, 3_740_000]),
  };
}

/** Run a command under /usr/bin/time for wall time, CPU time (all threads) and peak RSS. */
function timed(cmd: string, argv: readonly string[]): Measured & { stdout: string } {
  const useTime = existsSync('/usr/bin/time');
  const full = useTime ? ['/usr/bin/time', '-f', '__BENCH__ %e %M %U %S', cmd, ...argv] : [cmd, ...argv];
  const started = performance.now();
  const r = spawnSync(full[0]!, full.slice(1), {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const m = /__BENCH__ ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return {
    ms,
    rssMb: m ? Number(m[2]) / 1024 : null,
    cpuMs: m ? (Number(m[3]) + Number(m[4])) * 1000 : null,
    stdout: r.stdout,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

function generate(events: number, file: string): void {
  if (existsSync(file)) return;
  process.stderr.write(`generating ${events} events → ${file}\n`);
  const tmp = `${file}.part`;
  const r = spawnSync(
    NODE,
    [
      join(ROOT, 'dist', 'bench', 'generate.js'),
      '--events',
      String(events),
      '--seed',
      '42',
      '--format',
      'jsonl',
      '--out',
      tmp,
    ],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error('generator failed');
  spawnSync('mv', [tmp, file]);
}

function repeat(
  name: string,
  what: string,
  events: number,
  bytes: number,
  run: () => Measured,
  floorMs: number | null,
): Figure {
  const ms: number[] = [];
  const rss: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const m = run();
    ms.push(m.ms);
    if (m.rssMb !== null) rss.push(m.rssMb);
    if (m.cpuMs !== null) cpu.push(m.cpuMs);
  }
  const med = median(ms);
  const f: Figure = {
    name,
    what,
    events,
    ms: med,
    cpuMs: cpu.length > 0 ? Math.round(median(cpu)) : null,
    eventsPerSec: Math.round(events / (med / 1000)),
    mbPerSec: Math.round((bytes / 1e6 / (med / 1000)) * 10) / 10,
    rssMb: rss.length > 0 ? Math.round(median(rss)) : null,
    ratioToFloor: floorMs === null ? null : Math.round((med / floorMs) * 100) / 100,
    runs: ms.map((x) => Math.round(x)),
  };
  process.stderr.write(
    `  ${name}: ${Math.round(med)} ms (CPU ${f.cpuMs ?? '?'} ms), ${f.eventsPerSec} events/s, RSS ${f.rssMb ?? '?'} MB${f.ratioToFloor !== null ? `, ×${f.ratioToFloor} floor` : ''}\n`,
  );
  return f;
}

function rawQuery(file: string, which: string, copies: number): number | null {
  const r = spawnSync(NODE, [join(ROOT, 'dist', 'bench', 'duckdb-raw.js'), file, which, String(copies)], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) {
    process.stderr.write(`  read_json ${which} failed: ${r.stderr.slice(-500)}\n`);
    return null;
  }
  return (JSON.parse(r.stdout) as { ms: number }).ms;
}

/** A store of `storedEvents` events: `base` generated events scanned, then copied inside DuckDB with fresh auditIDs. */
async function buildQueryStore(storedEvents: number, base: number, baseFile: string): Promise<string> {
  const db = join(OUT, `query-${storedEvents}.duckdb`);
  if (existsSync(db)) return db;
  const tmp = `${db}.part`;
  rmSync(tmp, { force: true });
  rmSync(`${tmp}.wal`, { force: true });
  process.stderr.write(`building a store of ${storedEvents} events → ${db}\n`);
  // A store of the base events built for a smaller question is the same: start from a copy.
  const baseDb = join(OUT, `query-${base}.duckdb`);
  if (base < storedEvents && existsSync(baseDb)) copyFileSync(baseDb, tmp);
  else
    timed(NODE, [
      SLEUTH,
      'scan',
      baseFile,
      '--db',
      tmp,
      '--no-native',
      '--quiet',
      '--format',
      'jsonl',
      '--output',
      '/dev/null',
    ]);
  const copies = Math.ceil(storedEvents / base) - 1;
  if (copies > 0) {
    const { openStore } = await import('../src/store/open-store.js');
    const store = await openStore(tmp);
    try {
      // One statement: every stored row again per copy k, auditID suffixed so keys stay unique,
      // seq moved past the stored rows so it stays unique too (the copies hold no duplicates,
      // so checked_seq follows).
      await store.query(
        `INSERT INTO events SELECT e.* REPLACE (e.audit_id || '-c' || r.k AS audit_id, e.seq + r.k * m.hi AS seq) FROM events e CROSS JOIN range(1, ${copies + 1}) r(k) CROSS JOIN (SELECT max(seq) AS hi FROM events) m`,
      );
      await store.query(
        "UPDATE meta SET value = (SELECT CAST(max(seq) AS VARCHAR) FROM events) WHERE key = 'checked_seq'",
      );
      await store.query('CHECKPOINT');
    } finally {
      await store.close();
    }
  }
  spawnSync('mv', [tmp, db]);
  return db;
}

async function queryLatency(storedEvents: number, quick: boolean): Promise<QueryFigure[]> {
  const { openStore } = await import('../src/store/open-store.js');
  const { runInsightsQuery } = await import('../src/query/insights-query.js');
  const base = Math.min(storedEvents, quick ? 100_000 : 1_000_000);
  const baseFile = join(OUT, `events-${base}.jsonl`);
  generate(base, baseFile);
  const db = await buildQueryStore(storedEvents, base, baseFile);
  const copies = Math.ceil(storedEvents / base);
  const questions: Record<string, { insights: string; raw: string; jq: string[] }> = {
    filter: {
      insights: 'fields auditID, verb | filter responseStatus.code = 403 | limit 10000',
      raw: 'filter',
      jq: ['-c', 'select(.responseStatus.code == 403) | {auditID, verb}'],
    },
    'stats-by-bin': {
      insights: 'stats count(*) as n by bin(5m)',
      raw: 'bin',
      jq: [
        '-n',
        'reduce inputs as $e ({}; .[(($e.requestReceivedTimestamp | sub("\\\\.[0-9]+Z$"; "Z") | fromdateiso8601) / 300 | floor * 300 | tostring)] += 1)',
      ],
    },
    'top-n': {
      insights: 'stats count(*) as n by user.username | sort n desc | limit 10',
      raw: 'topn',
      jq: [
        '-n',
        'reduce inputs as $e ({}; .[$e.user.username // "null"] += 1) | to_entries | sort_by(-.value) | .[:10]',
      ],
    },
  };
  const haveJq = spawnSync('jq', ['--version']).status === 0;
  const store = await openStore(db, { readOnly: true });
  const out: QueryFigure[] = [];
  try {
    for (const [q, forms] of Object.entries(questions)) {
      await runInsightsQuery(store, forms.insights, {}); // warm-up: first touch reads from disk
      const times: number[] = [];
      for (let i = 0; i < (quick ? 5 : 11); i++) {
        const t = performance.now();
        await runInsightsQuery(store, forms.insights, {});
        times.push(performance.now() - t);
      }
      // The raw file read `copies` times over stands in for a raw file of storedEvents events.
      const rawRuns = RUNS;
      const rt: number[] = [];
      for (let i = 0; i < rawRuns; i++) {
        const ms = rawQuery(baseFile, forms.raw, copies);
        if (ms !== null) rt.push(ms);
      }
      const rawP50 = rt.length > 0 ? median(rt) : null;
      let jqMs: number | null = null;
      if (haveJq && copies === 1) {
        const jt: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const t = performance.now();
          const r = spawnSync('jq', [...forms.jq, baseFile], { stdio: ['ignore', 'ignore', 'pipe'] });
          if (r.status !== 0) {
            process.stderr.write(`  jq ${q} failed: ${String(r.stderr).slice(-300)}\n`);
            break;
          }
          jt.push(performance.now() - t);
        }
        if (jt.length === RUNS) jqMs = Math.round(median(jt));
      }
      const p50 = pct(times, 50);
      const f: QueryFigure = {
        question: q,
        storedEvents,
        storeP50: Math.round(p50 * 10) / 10,
        storeP95: Math.round(pct(times, 95) * 10) / 10,
        rawP50: rawP50 === null ? null : Math.round(rawP50),
        rawRuns,
        speedup: rawP50 === null ? null : Math.round((rawP50 / p50) * 10) / 10,
        jqMs,
      };
      process.stderr.write(
        `  query ${q} @ ${storedEvents}: p50 ${f.storeP50} ms, p95 ${f.storeP95} ms, read_json ${f.rawP50 ?? '-'} ms, ×${f.speedup ?? '-'}, jq ${f.jqMs ?? '-'} ms\n`,
      );
      out.push(f);
    }
  } finally {
    await store.close();
  }
  return out;
}

/** Peak RSS of a scan to a DuckDB file as the input grows (median of RUNS runs each). */
function rssGrowth(sizes: readonly number[]): RssFigure[] {
  const out: RssFigure[] = [];
  for (const n of sizes) {
    const file = join(OUT, `events-${n}.jsonl`);
    generate(n, file);
    const db = join(OUT, 'rss.duckdb');
    const ms: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      rmSync(db, { force: true });
      rmSync(`${db}.wal`, { force: true });
      const m = timed(NODE, [
        SLEUTH,
        'scan',
        file,
        '--db',
        db,
        '--quiet',
        '--format',
        'jsonl',
        '--output',
        '/dev/null',
      ]);
      ms.push(m.ms);
      if (m.rssMb !== null) rss.push(m.rssMb);
    }
    rmSync(db, { force: true });
    rmSync(`${db}.wal`, { force: true });
    const f: RssFigure = {
      events: n,
      mb: Math.round(statSync(file).size / 1e6),
      ms: Math.round(median(ms)),
      rssMb: rss.length > 0 ? Math.round(median(rss)) : null,
      runs: rss.map((x) => Math.round(x)),
    };
    process.stderr.write(`  rss: ${n} events (${f.mb} MB) → peak RSS ${f.rssMb ?? '?'} MB in ${f.ms} ms\n`);
    out.push(f);
  }
  return out;
}

function stamp(): string {
  return `${new Date().toISOString().slice(0, 16)}Z, load ${loadavg()[0]!.toFixed(1)}`;
}

async function main(): Promise<void> {
  const opts = args();
  const { quick, events } = opts;
  const started = performance.now();
  mkdirSync(OUT, { recursive: true });
  const resultsFile = join(ROOT, 'bench', quick ? 'results.quick.json' : 'results.json');
  const cpu = cpus();
  const previous: Partial<Results> =
    opts.sections.size < SECTIONS.length && existsSync(resultsFile)
      ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Partial<Results>)
      : {};
  const results: Results = {
    machine: {
      cores: CORES,
      cpu: cpu[0]?.model ?? 'unknown',
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      date: new Date().toISOString().slice(0, 10),
    },
    quick,
    file: previous.file ?? { events, bytes: 0 },
    runs: RUNS,
    figures: previous.figures ?? [],
    rss: previous.rss ?? [],
    queries: previous.queries ?? [],
    errors: [],
    measured: previous.measured ?? {},
    benchSeconds: 0,
  };
  // A failure in one section is reported, and the figures of the others are still written.
  if (opts.sections.has('scans')) {
    results.measured.scans = stamp();
    const file = join(OUT, `events-${events}.jsonl`);
    generate(events, file);
    const bytes = statSync(file).size;
    results.file = { events, bytes };
    process.stderr.write(
      `bench on ${file}: ${events} events, ${(bytes / 1e6).toFixed(1)} MB, ${RUNS} runs each, ${CORES} cores\n`,
    );
    results.figures = scans(file, events, bytes);
  }
  if (opts.sections.has('rss') && opts.rssEvents.length > 0) {
    results.measured.rss = stamp();
    try {
      results.rss = rssGrowth(opts.rssEvents);
    } catch (e) {
      results.errors.push(`rss: ${(e as Error).message}`);
    }
  }
  if (opts.sections.has('queries')) {
    results.measured.queries = stamp();
    for (const q of opts.queryEvents) {
      try {
        const figures = await queryLatency(q, quick);
        results.queries = [...results.queries.filter((x) => x.storedEvents !== q), ...figures].sort(
          (a, b) => a.storedEvents - b.storedEvents,
        );
      } catch (e) {
        results.errors.push(`queries on ${q} events: ${(e as Error).message}`);
      }
    }
  }
  for (const e of results.errors) process.stderr.write(`bench: ${e}\n`);
  results.benchSeconds = Math.round((performance.now() - started) / 1000);
  writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
  const md = markdown(results);
  writeFileSync(join(ROOT, 'bench', quick ? 'results.quick.md' : 'results.md'), md);
  process.stdout.write(md);
}

function scans(file: string, events: number, bytes: number): Figure[] {
  const figures: Figure[] = [];
  const floor = repeat(
    'floor: read + JSON.parse',
    'read the file, JSON.parse every line, one thread',
    events,
    bytes,
    () => timed(NODE, [join(ROOT, 'dist', 'bench', 'floor.js'), file]),
    null,
  );
  figures.push(floor);
  const scan = (extra: string[]) => () =>
    timed(NODE, [SLEUTH, 'scan', file, '--quiet', '--format', 'jsonl', '--output', '/dev/null', ...extra]);
  const n = String(CORES);
  figures.push(
    repeat(
      'sleuth scan :memory: (default rules)',
      'native catalogue, events stored in memory, default worker count',
      events,
      bytes,
      scan(['--db', ':memory:']),
      floor.ms,
    ),
  );
  figures.push(
    repeat(
      'sleuth scan :memory:, 1 thread',
      '--workers 0',
      events,
      bytes,
      scan(['--db', ':memory:', '--workers', '0']),
      floor.ms,
    ),
  );
  figures.push(
    repeat(
      `sleuth scan :memory:, ${n} workers`,
      `--workers ${n}`,
      events,
      bytes,
      scan(['--db', ':memory:', '--workers', n]),
      floor.ms,
    ),
  );
  figures.push(
    repeat(
      'sleuth scan :memory: (all rule packs)',
      'native + Falco k8s_audit_rules.yaml + SigmaHQ',
      events,
      bytes,
      scan(['--db', ':memory:', '--falco-rules', 'builtin', '--sigma', 'builtin']),
      floor.ms,
    ),
  );
  const dbFile = join(OUT, 'scan.duckdb');
  figures.push(
    repeat(
      'sleuth scan → DuckDB file',
      'native catalogue, stored to a new file',
      events,
      bytes,
      () => {
        rmSync(dbFile, { force: true });
        rmSync(`${dbFile}.wal`, { force: true });
        return scan(['--db', dbFile])();
      },
      floor.ms,
    ),
  );
  figures.push(
    repeat(
      'sleuth scan --no-store, 1 thread',
      'native catalogue, nothing stored, --workers 0',
      events,
      bytes,
      scan(['--no-store', '--workers', '0']),
      floor.ms,
    ),
  );
  figures.push(
    repeat(
      `sleuth scan --no-store, ${n} workers`,
      `native catalogue, nothing stored, --workers ${n}`,
      events,
      bytes,
      scan(['--no-store', '--workers', n]),
      floor.ms,
    ),
  );
  const jq = spawnSync('jq', ['--version'], { encoding: 'utf8' });
  if (jq.status === 0) {
    const filter =
      'select(.verb == "create" and .objectRef.resource == "pods" and ([.requestObject.spec.containers[]?.securityContext.privileged] | any))';
    figures.push(
      repeat(
        'peer: jq filter (privileged pod creates)',
        `jq -c '${filter}'`,
        events,
        bytes,
        () => timed('jq', ['-c', filter, file]),
        floor.ms,
      ),
    );
  } else {
    process.stderr.write('  notice: jq is not installed; skipping the jq peer (apt-get install jq)\n');
  }
  figures.push(
    repeat(
      'peer: DuckDB read_json group-by',
      'SELECT verb, count(*) … GROUP BY verb on the raw file',
      events,
      bytes,
      () => timed(NODE, [join(ROOT, 'dist', 'bench', 'duckdb-raw.js'), file, 'groupby']),
      floor.ms,
    ),
  );
  return figures;
}

function markdown(r: Results): string {
  const m = r.machine;
  const lines = [
    `Machine: ${m['cores']} cores, ${m['cpu']}, ${m['memoryGb']} GiB, Node ${m['node']}, ${m['date']}. Measured: ${SECTIONS.filter(
      (x) => r.measured[x] !== undefined,
    )
      .map((x) => `${x} ${r.measured[x]}`)
      .join('; ')}.`,
    `Input: ${r.file.events.toLocaleString('en-US')} generated events, ${(r.file.bytes / 1e6).toFixed(1)} MB JSONL (seed 42); each figure the median of ${RUNS} runs. CPU = user + system over all threads.`,
    '',
    '| scenario | wall | CPU | events/s | MB/s | peak RSS | × floor |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...r.figures.map(
      (f) =>
        `| ${f.name} | ${(f.ms / 1000).toFixed(2)} s | ${f.cpuMs === null ? '?' : `${(f.cpuMs / 1000).toFixed(2)} s`} | ${f.eventsPerSec.toLocaleString('en-US')} | ${f.mbPerSec} | ${f.rssMb ?? '?'} MB | ${f.ratioToFloor ?? '1.00'} |`,
    ),
    '',
  ];
  if (r.rss.length > 0) {
    lines.push(`| scan → DuckDB file, input | wall | peak RSS (median of ${RUNS}) | runs |`, '|---|---:|---:|---|');
    for (const x of r.rss) {
      lines.push(
        `| ${x.events.toLocaleString('en-US')} events, ${x.mb} MB | ${(x.ms / 1000).toFixed(1)} s | ${x.rssMb ?? '?'} MB | ${x.runs === undefined ? '' : x.runs.map((v) => `${v} MB`).join(', ')} |`,
      );
    }
    lines.push('');
  }
  if (r.queries.length > 0) {
    lines.push(
      `| query | stored events | p50 | p95 | read_json on raw file (runs) | speed-up | jq on raw file (median of ${RUNS}) |`,
      '|---|---:|---:|---:|---:|---:|---:|',
    );
    for (const q of r.queries) {
      lines.push(
        `| ${q.question} | ${q.storedEvents.toLocaleString('en-US')} | ${q.storeP50} ms | ${q.storeP95} ms | ${q.rawP50 === null ? '-' : `${q.rawP50} ms (${q.rawRuns})`} | ${q.speedup === null ? '-' : `×${q.speedup}`} | ${q.jqMs === null || q.jqMs === undefined ? '-' : `${q.jqMs} ms`} |`,
      );
    }
    lines.push('');
  }
  for (const e of r.errors) lines.push(`Not measured: ${e}`, '');
  return lines.join('\n');
}

await main();
