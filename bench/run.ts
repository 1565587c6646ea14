/**
 * `npm run bench [-- --quick] [-- --events N]`: every figure side by side, from one run on the
 * same generated file, each the median of three runs. Writes bench/results.json and
 * bench/results.md (machine, figures, ratios to the JSON.parse floor).
 *
 * Scenarios (see bench/README.md for what each means and what was found profiling):
 *  - floor: read the JSONL file and JSON.parse every line (one thread);
 *  - sleuth scan to :memory: with the default rules; with every rule pack (native + Falco +
 *    SigmaHQ); storing to a DuckDB file;
 *  - peers: jq running one equivalent filter; DuckDB read_json answering a group-by;
 *  - query latency on stored events vs read_json on the raw file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const OUT = join(ROOT, 'bench', 'out');
const NODE = process.execPath;
const SLEUTH = join(ROOT, 'bin', 'sleuth.js');
const RUNS = 3;

interface Measured {
  readonly ms: number;
  readonly rssMb: number | null;
}

interface Figure {
  readonly name: string;
  readonly what: string;
  readonly events: number;
  readonly ms: number;
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
  readonly speedup: number | null;
}

function args(): { quick: boolean; events: number; queryEvents: number[] } {
  const a = process.argv.slice(2);
  if (a.includes('--help')) {
    process.stdout.write('Usage: npm run bench [-- --quick] [-- --events N] [-- --query-events N,M]\n');
    process.exit(0);
  }
  const quick = a.includes('--quick');
  const ev = a.indexOf('--events');
  const qe = a.indexOf('--query-events');
  return {
    quick,
    events: ev >= 0 ? Number(a[ev + 1]) : quick ? 50_000 : 200_000,
    queryEvents: qe >= 0 ? String(a[qe + 1]).split(',').map(Number) : quick ? [100_000] : [1_000_000, 10_000_000],
  };
}

/** Runs a command under /usr/bin/time to get wall time and peak RSS. */
function timed(cmd: string, argv: readonly string[], opts: { stdoutFile?: string } = {}): Measured & { stdout: string } {
  const useTime = existsSync('/usr/bin/time');
  const full = useTime ? ['/usr/bin/time', '-f', '__BENCH__ %e %M', cmd, ...argv] : [cmd, ...argv];
  const started = performance.now();
  const r = spawnSync(full[0]!, full.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const m = /__BENCH__ ([\d.]+) (\d+)/.exec(r.stderr);
  if (opts.stdoutFile !== undefined) writeFileSync(opts.stdoutFile, r.stdout);
  return { ms, rssMb: m ? Number(m[2]) / 1024 : null, stdout: r.stdout };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

function generate(events: number, file: string): void {
  if (existsSync(file)) return;
  process.stderr.write(`generating ${events} events → ${file}\n`);
  const r = spawnSync(NODE, [join(ROOT, 'dist', 'bench', 'generate.js'), '--events', String(events), '--seed', '42', '--format', 'jsonl', '--out', file], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('generator failed');
}

function repeat(name: string, what: string, events: number, bytes: number, run: () => Measured, floorMs: number | null): Figure {
  const ms: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const m = run();
    ms.push(m.ms);
    if (m.rssMb !== null) rss.push(m.rssMb);
  }
  const med = median(ms);
  const f: Figure = {
    name,
    what,
    events,
    ms: med,
    eventsPerSec: Math.round(events / (med / 1000)),
    mbPerSec: Math.round((bytes / 1e6 / (med / 1000)) * 10) / 10,
    rssMb: rss.length > 0 ? Math.round(median(rss)) : null,
    ratioToFloor: floorMs === null ? null : Math.round((med / floorMs) * 100) / 100,
    runs: ms.map((x) => Math.round(x)),
  };
  process.stderr.write(`  ${name}: ${Math.round(med)} ms, ${f.eventsPerSec} events/s, RSS ${f.rssMb ?? '?'} MB${f.ratioToFloor !== null ? `, ×${f.ratioToFloor} floor` : ''}\n`);
  return f;
}

async function queryLatency(storedEvents: number, rawFile: string, quick: boolean): Promise<QueryFigure[]> {
  const { openStore } = await import('../src/store/open-store.js');
  const { runInsightsQuery } = await import('../src/query/insights-query.js');
  const base = Math.min(storedEvents, quick ? 100_000 : 1_000_000);
  const baseFile = join(OUT, `events-${base}.jsonl`);
  generate(base, baseFile);
  const db = join(OUT, `query-${storedEvents}.duckdb`);
  if (!existsSync(db)) {
    process.stderr.write(`building store of ${storedEvents} events → ${db}\n`);
    timed(NODE, [SLEUTH, 'scan', baseFile, '--db', db, '--no-native', '--quiet', '--format', 'jsonl', '--output', '/dev/null']);
    if (storedEvents > base) {
      // Copies of the base events with fresh auditIDs: same shape and mix, storedEvents rows.
      const store = await openStore(db);
      const copies = Math.ceil(storedEvents / base) - 1;
      for (let k = 1; k <= copies; k++) {
        await store.query(`INSERT INTO events SELECT * REPLACE (audit_id || '-' || $1 AS audit_id) FROM events WHERE NOT contains(audit_id, '-c')  LIMIT ${base}`, [`c${k}`]);
      }
      await store.close();
    }
  }
  const questions: Record<string, { insights: string; raw: string }> = {
    filter: { insights: 'fields auditID, verb | filter responseStatus.code = 403 | limit 10000', raw: 'filter' },
    'stats-by-bin': { insights: 'stats count(*) as n by bin(5m)', raw: 'bin' },
    'top-n': { insights: 'stats count(*) as n by user.username | sort n desc | limit 10', raw: 'topn' },
  };
  const store = await openStore(db, { readOnly: true });
  const out: QueryFigure[] = [];
  try {
    for (const [q, forms] of Object.entries(questions)) {
      const times: number[] = [];
      for (let i = 0; i < (quick ? 5 : 11); i++) {
        const t = performance.now();
        await runInsightsQuery(store, forms.insights, {});
        times.push(performance.now() - t);
      }
      let rawP50: number | null = null;
      if (storedEvents <= base || !quick) {
        const rawFile2 = storedEvents <= base ? baseFile : rawFile;
        if (existsSync(rawFile2)) {
          const rt: number[] = [];
          for (let i = 0; i < RUNS; i++) {
            const r = spawnSync(NODE, [join(ROOT, 'dist', 'bench', 'duckdb-raw.js'), rawFile2, forms.raw], { encoding: 'utf8' });
            if (r.status === 0) rt.push((JSON.parse(r.stdout) as { ms: number }).ms);
          }
          if (rt.length > 0) rawP50 = median(rt);
        }
      }
      const p50 = pct(times, 50);
      const f: QueryFigure = {
        question: q,
        storedEvents,
        storeP50: Math.round(p50 * 10) / 10,
        storeP95: Math.round(pct(times, 95) * 10) / 10,
        rawP50: rawP50 === null ? null : Math.round(rawP50),
        speedup: rawP50 === null ? null : Math.round((rawP50 / p50) * 10) / 10,
      };
      process.stderr.write(`  query ${q} @ ${storedEvents}: p50 ${f.storeP50} ms, p95 ${f.storeP95} ms, read_json ${f.rawP50 ?? '-'} ms, ×${f.speedup ?? '-'}\n`);
      out.push(f);
    }
  } finally {
    await store.close();
  }
  return out;
}

async function main(): Promise<void> {
  const { quick, events, queryEvents } = args();
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `events-${events}.jsonl`);
  generate(events, file);
  const bytes = statSync(file).size;
  process.stderr.write(`bench on ${file}: ${events} events, ${(bytes / 1e6).toFixed(1)} MB, ${RUNS} runs each\n`);
  const figures: Figure[] = [];
  const floor = repeat('floor: read + JSON.parse', 'read the file, JSON.parse every line, one thread', events, bytes, () => timed(NODE, [join(ROOT, 'dist', 'bench', 'floor.js'), file]), null);
  figures.push(floor);
  const scan = (extra: string[]) => () => timed(NODE, [SLEUTH, 'scan', file, '--quiet', '--format', 'jsonl', '--output', '/dev/null', ...extra]);
  figures.push(repeat('sleuth scan :memory: (default rules)', 'native catalogue, store in memory', events, bytes, scan(['--db', ':memory:']), floor.ms));
  figures.push(repeat('sleuth scan :memory: (all rule packs)', 'native + Falco k8s_audit_rules.yaml + SigmaHQ', events, bytes, scan(['--db', ':memory:', '--falco-rules', 'builtin', '--sigma', 'builtin']), floor.ms));
  const dbFile = join(OUT, 'scan.duckdb');
  figures.push(
    repeat('sleuth scan → DuckDB file', 'native catalogue, stored to a file', events, bytes, () => {
      rmSync(dbFile, { force: true });
      rmSync(`${dbFile}.wal`, { force: true });
      return scan(['--db', dbFile])();
    }, floor.ms),
  );
  figures.push(repeat('sleuth scan, detect only (--no-store)', 'native catalogue, nothing stored', events, bytes, scan(['--no-store']), floor.ms));
  const jq = spawnSync('jq', ['--version'], { encoding: 'utf8' });
  if (jq.status === 0) {
    const filter = 'select(.verb == "create" and .objectRef.resource == "pods" and ([.requestObject.spec.containers[]?.securityContext.privileged] | any))';
    figures.push(repeat('peer: jq filter (privileged pod creates)', `jq -c '${filter}'`, events, bytes, () => timed('jq', ['-c', filter, file]), floor.ms));
  } else {
    process.stderr.write('  notice: jq is not installed; skipping the jq peer (apt-get install jq)\n');
  }
  figures.push(repeat('peer: DuckDB read_json group-by', 'SELECT verb, count(*) … GROUP BY verb on the raw file', events, bytes, () => timed(NODE, [join(ROOT, 'dist', 'bench', 'duckdb-raw.js'), file, 'groupby']), floor.ms));

  const queries: QueryFigure[] = [];
  for (const n of queryEvents) {
    const raw = join(OUT, `events-${n}.jsonl`);
    if (!quick) generate(n, raw);
    queries.push(...(await queryLatency(n, raw, quick)));
  }
  const cpu = cpus();
  const machine = { cores: cpu.length, cpu: cpu[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, date: new Date().toISOString().slice(0, 10) };
  const results = { machine, quick, file: { events, bytes }, runs: RUNS, figures, queries };
  writeFileSync(join(ROOT, 'bench', quick ? 'results.quick.json' : 'results.json'), JSON.stringify(results, null, 2) + '\n');
  const md = markdown(results);
  writeFileSync(join(ROOT, 'bench', quick ? 'results.quick.md' : 'results.md'), md);
  process.stdout.write(md);
}

function markdown(r: { machine: Record<string, unknown>; file: { events: number; bytes: number }; figures: readonly Figure[]; queries: readonly QueryFigure[] }): string {
  const m = r.machine;
  const lines = [
    `Machine: ${m['cores']} cores, ${m['cpu']}, ${m['memoryGb']} GiB, Node ${m['node']}, ${m['date']}.`,
    `Input: ${r.file.events.toLocaleString('en-US')} generated events, ${(r.file.bytes / 1e6).toFixed(1)} MB JSONL (seed 42); each figure the median of ${RUNS} runs.`,
    '',
    '| scenario | time | events/s | MB/s | peak RSS | × floor |',
    '|---|---:|---:|---:|---:|---:|',
    ...r.figures.map((f) => `| ${f.name} | ${(f.ms / 1000).toFixed(2)} s | ${f.eventsPerSec.toLocaleString('en-US')} | ${f.mbPerSec} | ${f.rssMb ?? '?'} MB | ${f.ratioToFloor ?? '1.00'} |`),
    '',
    '| query | stored events | p50 | p95 | read_json on raw file | speed-up |',
    '|---|---:|---:|---:|---:|---:|',
    ...r.queries.map((q) => `| ${q.question} | ${q.storedEvents.toLocaleString('en-US')} | ${q.storeP50} ms | ${q.storeP95} ms | ${q.rawP50 === null ? '-' : `${q.rawP50} ms`} | ${q.speedup === null ? '-' : `×${q.speedup}`} |`),
    '',
  ];
  return lines.join('\n');
}

await main();
