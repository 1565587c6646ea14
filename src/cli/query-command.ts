/**
 * `sleuth query`: CloudWatch Logs Insights queries (or read-only SQL) over stored events.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from './command.js';
import { parseCommandArgs, parseTimeArg } from './args.js';
import { UsageError } from '../model/errors.js';
import { openStore, DEFAULT_DB_PATH } from '../store/open-store.js';
import { ROW_FORMATS, renderRows, type RowFormat } from './output-rows.js';
import { terminalSafe } from './terminal-safe.js';
import { explainInsightsQuery, runInsightsQuery } from '../query/insights-query.js';
import { formatProblem } from '../model/errors.js';

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
      if (positionals.length > 0) throw new UsageError('query: give the query either as an argument or with --file, not both');
      if (!existsSync(values.file)) throw new UsageError(`query: --file ${terminalSafe(values.file)}: no such file`);
      text = readFileSync(values.file, 'utf8');
    } else {
      if (positionals.length !== 1) throw new UsageError("query: give exactly one QUERY in quotes, e.g. sleuth query 'stats count(*) by verb'. See `sleuth query --help`.");
      text = positionals[0]!;
    }
    const format = (values.format ?? (io.stdout.isTTY === true ? 'table' : 'json')) as RowFormat;
    if (!(ROW_FORMATS as readonly string[]).includes(format)) throw new UsageError(`query: --format must be one of ${ROW_FORMATS.join(', ')}`);
    if (values.since !== undefined && values.start !== undefined) throw new UsageError('query: use --since or --start, not both');
    const start = values.start !== undefined ? parseTimeArg('--start', values.start) : values.since !== undefined ? parseTimeArg('--since', values.since) : undefined;
    const end = values.end !== undefined ? parseTimeArg('--end', values.end) : undefined;
    const range = { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) };

    if (values.explain === true && values.sql !== true) {
      const c = explainInsightsQuery(text, range);
      if (c.errors.length > 0 || c.value === undefined) {
        for (const p of c.errors) io.stderr.write(`${terminalSafe(formatProblem(p))}\n`);
        return 2;
      }
      io.stdout.write(`${c.value}\n`);
      return 0;
    }
    const dbPath = values.db ?? DEFAULT_DB_PATH;
    if (dbPath !== ':memory:' && !existsSync(dbPath)) throw new UsageError(`query: no database at ${terminalSafe(dbPath)}. Run \`sleuth scan PATH --db ${terminalSafe(dbPath)}\` first, or pass --db.`);
    const store = await openStore(dbPath, { readOnly: true });
    try {
      if (values.sql === true) {
        if (values.explain === true) {
          io.stdout.write(`${text}\n`);
          return 0;
        }
        const r = await store.queryWithColumns(text);
        io.stdout.write(renderRows(r.columns, r.rows, format));
        return 0;
      }
      const r = await runInsightsQuery(store, text, range);
      io.stdout.write(renderRows(r.columns, r.rows, format));
      return 0;
    } finally {
      await store.close();
    }
  },
};
