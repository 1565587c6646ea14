/**
 * `sleuth query`: CloudWatch Logs Insights queries (or read-only SQL) over stored events.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { Command } from './command.js';
import { parseCommandArgs, parseTimeArg } from './args.js';
import { ParseError, SleuthError, UsageError, formatProblem, type SourceProblem } from '../model/errors.js';
import { openStore, DEFAULT_DB_PATH } from '../store/open-store.js';
import { ROW_FORMATS, renderRows, type RowFormat } from './output-rows.js';
import { terminalSafe } from './terminal-safe.js';
import { explainInsightsQuery, runInsightsQuery } from '../query/insights-query.js';
import { MAX_LIMIT } from '../query/insights-parser.js';

/** One line per problem, with its hint; log-controlled text made terminal-safe. */
function writeProblems(
  io: { stderr: NodeJS.WritableStream },
  problems: readonly (SourceProblem & { hint?: string })[],
): void {
  io.stderr.write(`sleuth: the query has ${problems.length} problem(s):\n`);
  for (const p of problems)
    io.stderr.write(
      `${terminalSafe(formatProblem(p))}${p.hint !== undefined && p.hint !== '' ? ` (hint: ${terminalSafe(p.hint)})` : ''}\n`,
    );
}

/**
 * A DuckDB file carries "DUCK" at byte 8. Checked first so that `--db events.jsonl` says what is
 * wrong instead of DuckDB's message about in-memory databases.
 */
function checkIsStore(path: string): void {
  const shown = terminalSafe(path);
  if (statSync(path).isDirectory())
    throw new UsageError(
      `query: --db ${shown} is a directory; give the DuckDB file written by \`sleuth scan --db FILE\``,
    );
  const head = Buffer.alloc(12);
  let n: number;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new UsageError(`query: cannot read --db ${shown}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (n < head.length || head.toString('latin1', 8, 12) !== 'DUCK') {
    throw new UsageError(
      `query: ${shown} is not a store written by \`sleuth scan\` (not a DuckDB file). To query a log file, scan it first: sleuth scan ${shown} --db sleuth.duckdb`,
    );
  }
}

/**
 * DuckDB's refusals of a --sql statement, said in terms of what the user asked for: the
 * connection is read-only and has no file access, by design.
 */
function sqlRefusal(e: unknown): SleuthError | null {
  const msg = e instanceof Error ? e.message : String(e);
  const ro = /Cannot execute statement of type "(\w+)"[^!]*read-only mode/.exec(msg);
  if (ro !== null)
    return new UsageError(
      `query --sql is read-only: ${ro[1]} statements cannot change the store (use SELECT, WITH, DESCRIBE, SHOW or SUMMARIZE over the tables events and findings)`,
    );
  if (
    /file system operations are disabled|external extensions is disabled|configuration has been locked|external access/i.test(
      msg,
    )
  ) {
    return new UsageError(
      'query --sql cannot read or write files, load extensions or change settings: it only reads the tables events and findings of the store',
    );
  }
  return null;
}

export const queryCommand: Command = {
  name: 'query',
  summary: 'run a CloudWatch Logs Insights query (or read-only SQL) over stored events',
  help: `Usage: sleuth query [options] 'QUERY'
       sleuth query [options] --file QUERY_FILE

Runs a CloudWatch Logs Insights query, unmodified, over the events a scan stored.
The connection is read-only: nothing a query says can change the store or read other files.

Options:
  --db FILE          DuckDB file written by \`sleuth scan\` (default: ${DEFAULT_DB_PATH})
  --file FILE        read the query from FILE
  --start T          only events at or after T (ISO-8601, epoch ms, or 15m / 2h / 7d ago)
  --end T            only events before T
  --since D          same as --start D (e.g. --since 1h)
  --format FMT       table|json|jsonl|csv (default: table on a terminal, json otherwise)
  --sql              QUERY is read-only SQL over the tables events and findings
  --explain          print the generated SQL and its parameters instead of running it
  -h, --help         this help

Examples:
  sleuth query 'fields @timestamp, user.username, verb, objectRef.resource | filter responseStatus.code >= 400 | limit 20'
  sleuth query 'stats count(*) as n by bin(5m), verb' --since 1d --format csv
  sleuth query --sql 'SELECT type, count FROM findings ORDER BY count DESC'
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('query', argv, {
      db: { type: 'string' },
      file: { type: 'string' },
      start: { type: 'string' },
      end: { type: 'string' },
      since: { type: 'string' },
      format: { type: 'string' },
      sql: { type: 'boolean' },
      explain: { type: 'boolean' },
    });
    let text: string;
    if (values.file !== undefined) {
      if (positionals.length > 0)
        throw new UsageError('query: give the query either as an argument or with --file, not both');
      if (!existsSync(values.file)) throw new UsageError(`query: --file ${terminalSafe(values.file)}: no such file`);
      text = readFileSync(values.file, 'utf8');
    } else {
      if (positionals.length !== 1)
        throw new UsageError(
          "query: give exactly one QUERY in quotes, e.g. sleuth query 'stats count(*) by verb'. See `sleuth query --help`.",
        );
      text = positionals[0]!;
    }
    const format = (values.format ?? (io.stdout.isTTY === true ? 'table' : 'json')) as RowFormat;
    if (!(ROW_FORMATS as readonly string[]).includes(format))
      throw new UsageError(`query: --format must be one of ${ROW_FORMATS.join(', ')}`);
    if (values.since !== undefined && values.start !== undefined)
      throw new UsageError('query: use --since or --start, not both');
    const start =
      values.start !== undefined
        ? parseTimeArg('--start', values.start)
        : values.since !== undefined
          ? parseTimeArg('--since', values.since)
          : undefined;
    const end = values.end !== undefined ? parseTimeArg('--end', values.end) : undefined;
    for (const [flag, t] of [
      [values.start !== undefined ? '--start' : '--since', start],
      ['--end', end],
    ] as const) {
      if (t !== undefined && !Number.isFinite(t.getTime())) throw new UsageError(`query: ${flag} is out of range`);
    }
    if (start !== undefined && end !== undefined && start.getTime() >= end.getTime()) {
      throw new UsageError(
        `query: --end (${end.toISOString()}) must be after ${values.start !== undefined ? '--start' : '--since'} (${start.toISOString()})`,
      );
    }
    const range = { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) };

    if (values.explain === true && values.sql !== true) {
      const c = explainInsightsQuery(text, range);
      if (c.errors.length > 0 || c.value === undefined) {
        writeProblems(io, c.errors);
        return 2;
      }
      io.stdout.write(`${c.value}\n`);
      return 0;
    }
    const dbPath = values.db ?? DEFAULT_DB_PATH;
    if (dbPath !== ':memory:' && !existsSync(dbPath))
      throw new UsageError(
        `query: no database at ${terminalSafe(dbPath)}. Run \`sleuth scan PATH --db ${terminalSafe(dbPath)}\` first, or pass --db.`,
      );
    if (dbPath !== ':memory:') checkIsStore(dbPath);
    const store = await openStore(dbPath, { readOnly: true });
    try {
      if (values.sql === true) {
        if (values.explain === true) {
          io.stdout.write(`${text}\n`);
          return 0;
        }
        let r: Awaited<ReturnType<typeof store.queryWithColumns>>;
        try {
          r = await store.queryWithColumns(text);
        } catch (e) {
          throw (
            sqlRefusal(e) ?? (e instanceof SleuthError ? new SleuthError(e.code, terminalSafe(e.message, true)) : e)
          );
        }
        io.stdout.write(renderRows(r.columns, r.rows, format));
        return 0;
      }
      let r: Awaited<ReturnType<typeof runInsightsQuery>>;
      try {
        r = await runInsightsQuery(store, text, range);
      } catch (e) {
        if (e instanceof ParseError) {
          writeProblems(io, e.problems);
          return 2;
        }
        if (e instanceof SleuthError) throw new SleuthError(e.code, terminalSafe(e.message, true));
        throw e;
      }
      io.stdout.write(renderRows(r.columns, r.rows, format));
      // CloudWatch says "showing 10,000 of N"; say at least that the cap was reached.
      if (r.rows.length >= MAX_LIMIT)
        io.stderr.write(
          `sleuth: the result stops at ${MAX_LIMIT.toLocaleString('en-US')} rows, CloudWatch's per-query cap; narrow it with filter, --start/--end, or aggregate with stats\n`,
        );
      return 0;
    } finally {
      await store.close();
    }
  },
};
