/**
 * Peer: DuckDB's own read_json answering questions over the raw JSONL file (no store).
 * Usage: node dist/bench/duckdb-raw.js FILE groupby|filter|bin|topn [COPIES]
 * COPIES reads the file that many times over (a list of the same path), standing in for a raw
 * file COPIES times larger without writing one. Prints {"rows":N,"ms":T}.
 */
import { DuckDBInstance } from '@duckdb/node-api';

// The raw-file forms of the benchmark questions. Only the columns a question needs are
// declared so read_json does not infer a schema over every nested field.
export const RAW_QUERIES: Record<string, (file: string) => string> = {
  // `file` is already a SQL literal: one quoted path or a list of them.
  groupby: (f) =>
    `SELECT verb, count(*) AS n FROM read_json(${f}, format='newline_delimited', columns={verb:'VARCHAR'}) GROUP BY verb ORDER BY n DESC`,
  filter: (f) =>
    `SELECT auditID, verb FROM read_json(${f}, format='newline_delimited', columns={auditID:'VARCHAR', verb:'VARCHAR', responseStatus:'STRUCT(code INTEGER)'}) WHERE responseStatus.code = 403 LIMIT 10000`,
  bin: (f) =>
    `SELECT time_bucket(INTERVAL 5 MINUTE, requestReceivedTimestamp) AS t, count(*) AS n FROM read_json(${f}, format='newline_delimited', columns={requestReceivedTimestamp:'TIMESTAMP'}) GROUP BY t ORDER BY t`,
  topn: (f) =>
    `SELECT "user".username AS u, count(*) AS n FROM read_json(${f}, format='newline_delimited', columns={"user":'STRUCT(username VARCHAR)'}) GROUP BY u ORDER BY n DESC LIMIT 10`,
};

function lit(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

function source(file: string, copies: number): string {
  return copies <= 1 ? lit(file) : `[${Array.from({ length: copies }, () => lit(file)).join(', ')}]`;
}

async function main(file: string, which: string, copies: number): Promise<void> {
  const q = RAW_QUERIES[which];
  if (q === undefined) throw new Error(`unknown query ${which}`);
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  const started = performance.now();
  const r = await conn.runAndReadAll(q(source(file, copies)));
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ rows: r.getRows().length, ms }) + '\n');
}

if (process.argv[1]?.endsWith('duckdb-raw.js')) {
  const [file, which, copies] = process.argv.slice(2);
  if (file === undefined || which === undefined) {
    process.stderr.write('usage: node dist/bench/duckdb-raw.js FILE groupby|filter|bin|topn\n');
    process.exit(2);
  }
  await main(file, which, copies === undefined ? 1 : Number(copies));
}
