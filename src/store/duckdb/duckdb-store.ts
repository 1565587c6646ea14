/**
 * The embedded store: one DuckDB file (or `:memory:`) in-process.
 *
 * Writes are bulk only: events go through the DuckDB Appender straight into `events` in
 * vector-sized data chunks, each row numbered by `seq` (arrival order, never reused).
 * Duplicates inside one batch are dropped before appending (first occurrence wins). Rows that
 * repeat an (audit_id, stage) stored earlier are removed by settleDuplicates, one set-based
 * DELETE over the rows above the last checked seq, which a scan runs once at its end and
 * opening a writable store runs for whatever a stopped scan left unchecked; so re-scanning the
 * same files never leaves an event stored twice. There is no primary key: DuckDB keeps its
 * index in memory (a store's memory grew with every event) and checked it on every append
 * (about as costly as the append itself).
 *
 * Every store, writable or not, turns off DuckDB's external access and locks its
 * configuration right after opening: SQL that reaches the store (`sleuth query --sql`, the
 * API) cannot read or write files (`read_csv('/etc/passwd')`, `COPY … TO`, `ATTACH`) or turn
 * that back on. Read-only stores additionally open the file with access_mode READ_ONLY, so
 * DuckDB itself refuses every write.
 */
import { existsSync } from 'node:fs';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBInstance,
  LIST,
  TIMESTAMP,
  VARCHAR,
  listValue,
  timestampValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { AuditEvent } from '../../model/audit-event.js';
import { SleuthError } from '../../model/errors.js';
import type { Finding } from '../../model/finding.js';
import type { AppendResult, OpenStoreOptions, Row, Store, StoreCapabilities } from '../store.js';
import {
  EVENT_COLUMNS,
  FINDING_COLUMNS,
  META_TABLE_SQL,
  MIGRATIONS,
  SCHEMA_VERSION,
  q,
  type EventColumn,
} from './duckdb-schema.js';
import { isoToMicros, toDuckDbParameter, toPlainJs } from './duckdb-values.js';

/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;
const FINDINGS_STAGING = 'findings_staging';
// DuckDB's buffer pool for a writable file store (see openDuckDbStore).
const WRITER_MEMORY_LIMIT = '512MB';
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

const SQL_TO_DUCKDB: Record<(typeof FINDING_COLUMNS)[number][1], DuckDBType> = {
  VARCHAR,
  DOUBLE,
  BIGINT,
  TIMESTAMP,
  BOOLEAN,
};
const EVENT_TYPES: readonly DuckDBType[] = EVENT_COLUMNS.map((c) => c.duckdbType);
const FINDING_TYPES: readonly DuckDBType[] = FINDING_COLUMNS.map(([, t]) => SQL_TO_DUCKDB[t]);
const SEQ_COLUMN = EVENT_COLUMNS.findIndex((c) => c.source.kind === 'seq');

type Accessor = (e: AuditEvent) => DuckDBValue;

function int32OrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v : null;
}

function microsOrNull(v: unknown): bigint | null {
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) * 1000n : null;
  if (typeof v === 'string') return isoToMicros(v);
  return null;
}

function accessorFor(c: EventColumn): Accessor {
  const s = c.source;
  switch (s.kind) {
    case 'origin-file':
      return (e) => e.origin.file;
    case 'origin-line':
      return (e) => int32OrNull(e.origin.line);
    case 'seq':
      // Filled by fillAppender, which numbers the rows.
      return () => null;
    case 'field': {
      const p = s.property;
      switch (s.type) {
        case 'string':
          return (e) => {
            const v = e[p];
            return typeof v === 'string' ? v : null;
          };
        case 'int':
          return (e) => int32OrNull(e[p]);
        case 'timestamp':
          return (e) => timestampOrNull(e[p]);
        case 'string[]':
          return (e) => {
            const v = e[p];
            // normalize.ts admits only arrays of strings here.
            return listValue(Array.isArray(v) ? (v as string[]) : []);
          };
      }
    }
  }
}

const EVENT_ACCESSORS: readonly Accessor[] = EVENT_COLUMNS.map(accessorFor);

/**
 * Append events through `chunk` (EVENT_TYPES columns), a vector's worth of rows at a time, seq
 * numbered from `firstSeq`; flush (one transaction) and close.
 */
function fillAppender(
  appender: DuckDBAppender,
  chunk: DuckDBDataChunk,
  events: readonly AuditEvent[],
  firstSeq: bigint,
): void {
  try {
    const values: DuckDBValue[] = [];
    for (let start = 0; start < events.length; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, events.length - start);
      // One chunk, reused: the appender copies what it is given. A chunk per 2,048 rows left
      // its native memory (~2 MB of strings) to be freed only when V8 collected the wrapper.
      chunk.reset();
      chunk.rowCount = n;
      values.length = n;
      for (let c = 0; c < EVENT_ACCESSORS.length; c++) {
        if (c === SEQ_COLUMN) {
          const base = firstSeq + BigInt(start);
          for (let i = 0; i < n; i++) values[i] = base + BigInt(i);
        } else {
          const get = EVENT_ACCESSORS[c]!;
          for (let i = 0; i < n; i++) values[i] = get(events[start + i]!);
        }
        chunk.setColumnValues(c, values);
      }
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    try {
      appender.closeSync();
    } catch {
      // Closing flushes again; after a failed flush it repeats that error, already thrown.
    }
  }
}

function timestampOrNull(v: unknown): DuckDBValue {
  const micros = microsOrNull(v);
  return micros === null ? null : timestampValue(micros);
}

function findingRow(f: Finding): DuckDBValue[] {
  return [
    f.id,
    f.type,
    f.engine,
    f.rule,
    f.severity.label,
    f.severity.score,
    f.cluster,
    BigInt(Math.trunc(f.count)),
    timestampOrNull(f.firstSeen),
    timestampOrNull(f.lastSeen),
    f.suppressed === true,
    JSON.stringify(f),
  ];
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Parameter types for binding: explicit LIST(VARCHAR) for string arrays (even empty ones); the rest inferred. */
function parameterTypes(parameters: readonly unknown[]): (DuckDBType | undefined)[] {
  return parameters.map((p) => (Array.isArray(p) && p.every((x) => typeof x === 'string') ? LIST(VARCHAR) : undefined));
}

export class DuckDbStore implements Store {
  readonly capabilities: StoreCapabilities;
  #instance: DuckDBInstance | null;
  #conn: DuckDBConnection | null;
  // One connection (and the findings staging table): operations run one at a time, in call order.
  #queue: Promise<unknown> = Promise.resolve();

  // Highest seq stored, and highest seq already checked for duplicates (meta 'checked_seq').
  #lastSeq: bigint;
  #checkedSeq: bigint;
  // The data chunk appends go through (created on the first append).
  #chunk: DuckDBDataChunk | null = null;

  constructor(
    instance: DuckDBInstance,
    conn: DuckDBConnection,
    capabilities: StoreCapabilities,
    seqs: { last: bigint; checked: bigint },
  ) {
    this.#lastSeq = seqs.last;
    this.#checkedSeq = seqs.checked;
    this.#instance = instance;
    this.#conn = conn;
    this.capabilities = capabilities;
  }

  #exclusive<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#conn === null) throw new SleuthError('E_STORE_CLOSED', 'the store is closed');
      return fn(this.#conn);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #refuseWrite(what: string): void {
    if (this.capabilities.readOnly)
      throw new SleuthError('E_STORE_READ_ONLY', `cannot ${what}: the store was opened read-only`);
  }

  async appendEvents(events: readonly AuditEvent[]): Promise<AppendResult> {
    this.#refuseWrite('append events');
    if (events.length === 0) return { appended: 0, duplicates: 0 };
    // First occurrence in the batch wins; later copies count as duplicates. Repeats of rows
    // stored by earlier appends are removed by settleDuplicates.
    const seen = new Set<string>();
    const unique: AuditEvent[] = [];
    for (const e of events) {
      const key = `${e.auditID}\u0000${e.stage}`;
      if (seen.has(key)) continue;
      seen.add(key);
      unique.push(e);
    }
    return this.#exclusive(async (conn) => {
      try {
        this.#chunk ??= DuckDBDataChunk.create(EVENT_TYPES, CHUNK_ROWS);
        fillAppender(await conn.createAppender('events'), this.#chunk, unique, this.#lastSeq + 1n);
      } catch (e) {
        throw new SleuthError('E_STORE_WRITE', `storing events failed: ${message(e)}`);
      }
      this.#lastSeq += BigInt(unique.length);
      return { appended: unique.length, duplicates: events.length - unique.length };
    });
  }

  settleDuplicates(): Promise<number> {
    this.#refuseWrite('remove duplicate events');
    return this.#exclusive((conn) => this.#settle(conn));
  }

  /**
   * Delete the rows above the checked seq whose (audit_id, stage) has a row with a lower seq.
   * First the keys that repeat: new keys counted among the new rows (a hash aggregate) and new
   * keys found among the older rows (a semi-join); usually there are none, and the window that
   * keeps each key's first copy then runs over those keys' rows only. Paid once per scan, a
   * pass over the new keys and the stored keys, instead of a primary-key lookup per event and
   * an index held in memory.
   */
  async #settle(conn: DuckDBConnection): Promise<number> {
    if (this.#lastSeq <= this.#checkedSeq) return 0;
    const from = this.#checkedSeq;
    const through = this.#lastSeq;
    await conn.run('BEGIN TRANSACTION');
    try {
      const result = await conn.run(
        `WITH fresh AS (SELECT audit_id, stage, count(*) AS copies FROM events WHERE seq > $1 GROUP BY audit_id, stage),
        repeated AS (
          SELECT audit_id, stage FROM fresh WHERE copies > 1
          UNION
          SELECT f.audit_id, f.stage FROM fresh f WHERE EXISTS (SELECT 1 FROM events o WHERE o.seq <= $1 AND o.audit_id = f.audit_id AND o.stage = f.stage)
        )
        DELETE FROM events WHERE seq > $1 AND seq IN (
          SELECT seq FROM (
            SELECT e.seq, row_number() OVER (PARTITION BY e.audit_id, e.stage ORDER BY e.seq) AS rn
            FROM events e SEMI JOIN repeated r ON e.audit_id = r.audit_id AND e.stage = r.stage
          ) WHERE rn > 1)`,
        [from],
      );
      await conn.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('checked_seq', $1)", [String(through)]);
      await conn.run('COMMIT');
      this.#checkedSeq = through;
      return result.rowsChanged;
    } catch (e) {
      await conn.run('ROLLBACK');
      throw new SleuthError('E_STORE_WRITE', `removing duplicate events failed: ${message(e)}`);
    }
  }

  async upsertFindings(findings: readonly Finding[]): Promise<void> {
    this.#refuseWrite('store findings');
    if (findings.length === 0) return;
    return this.#exclusive(async (conn) => {
      // INSERT OR REPLACE cannot touch one key twice in a statement: last write per id wins.
      const byId = new Map<string, Finding>();
      for (const f of findings) byId.set(f.id, f);
      await conn.run(
        `CREATE TEMP TABLE IF NOT EXISTS ${q(FINDINGS_STAGING)} (${FINDING_COLUMNS.map(([n, t]) => `${q(n)} ${t}`).join(', ')})`,
      );
      try {
        const appender = await conn.createAppender(FINDINGS_STAGING, 'main', 'temp');
        try {
          const rows = [...byId.values()].map(findingRow);
          for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
            const slice = rows.slice(start, start + CHUNK_ROWS);
            const chunk = DuckDBDataChunk.create(FINDING_TYPES, slice.length);
            chunk.setRows(slice);
            appender.appendDataChunk(chunk);
          }
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
        const cols = FINDING_COLUMNS.map(([n]) => q(n)).join(', ');
        await conn.run(
          `INSERT OR REPLACE INTO findings (${cols}) SELECT ${cols} FROM temp.main.${q(FINDINGS_STAGING)}`,
        );
      } catch (e) {
        if (e instanceof SleuthError) throw e;
        throw new SleuthError('E_STORE_WRITE', `storing findings failed: ${message(e)}`);
      } finally {
        await conn.run(`DELETE FROM temp.main.${q(FINDINGS_STAGING)}`);
      }
    });
  }

  async query(sql: string, parameters: readonly unknown[] = []): Promise<Row[]> {
    return (await this.queryWithColumns(sql, parameters)).rows;
  }

  queryWithColumns(sql: string, parameters: readonly unknown[] = []): Promise<{ columns: string[]; rows: Row[] }> {
    return this.#exclusive(async (conn) => {
      let reader;
      try {
        if (parameters.length === 0) {
          reader = await conn.runAndReadAll(sql);
        } else {
          const values = parameters.map((p, i) => toDuckDbParameter(p, i));
          reader = await conn.runAndReadAll(sql, values, parameterTypes(parameters) as DuckDBType[]);
        }
      } catch (e) {
        if (e instanceof SleuthError) throw e;
        throw new SleuthError('E_QUERY', `query failed: ${message(e)}`);
      }
      const columns = reader.columnNames();
      const rows: Row[] = reader.getRows().map((values) => {
        const row: Row = {};
        for (let i = 0; i < columns.length; i++) row[columns[i]!] = toPlainJs(values[i] ?? null);
        return row;
      });
      return { columns, rows };
    });
  }

  async countEvents(): Promise<number> {
    const rows = await this.query('SELECT count(*) AS n FROM events');
    return Number(rows[0]?.['n'] ?? 0);
  }

  close(): Promise<void> {
    // Waits for queued work, then releases the file lock.
    return this.#queue.then(() => {
      this.#conn?.closeSync();
      this.#instance?.closeSync();
      this.#conn = null;
      this.#instance = null;
    });
  }
}

async function readSeqs(conn: DuckDBConnection): Promise<{ last: bigint; checked: bigint }> {
  const r = await conn.runAndReadAll(
    "SELECT (SELECT coalesce(max(seq), 0) FROM events), (SELECT coalesce(max(CAST(value AS BIGINT)), 0) FROM meta WHERE key = 'checked_seq')",
  );
  const [maxSeq, checked] = r.getRows()[0] ?? [0n, 0n];
  const last = BigInt(maxSeq as bigint);
  const checkedSeq = BigInt(checked as bigint);
  // Rows removed as repeats can have held the highest seqs: numbering continues above every
  // seq ever checked, or new rows would fall at or below checked_seq and escape the check.
  return { last: last > checkedSeq ? last : checkedSeq, checked: checkedSeq };
}

async function readSchemaVersion(conn: DuckDBConnection): Promise<number | null> {
  const tables = await conn.runAndReadAll(
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'meta'",
  );
  if (Number(tables.getRows()[0]?.[0] ?? 0) === 0) return null;
  const r = await conn.runAndReadAll("SELECT value FROM meta WHERE key = 'schema_version'");
  const v = r.getRows()[0]?.[0];
  return typeof v === 'string' ? Number(v) : null;
}

/** Apply the migrations this store lacks, all in one transaction. */
async function migrate(conn: DuckDBConnection, path: string): Promise<void> {
  await conn.run('BEGIN TRANSACTION');
  try {
    await conn.run(META_TABLE_SQL);
    const current = (await readSchemaVersion(conn)) ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new SleuthError(
        'E_STORE_SCHEMA',
        `store ${path} has schema version ${current}, newer than this EKS Sleuth build (${SCHEMA_VERSION}); upgrade EKS Sleuth or use another --db`,
      );
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      for (const stmt of m.up) await conn.run(stmt);
    }
    if (current !== SCHEMA_VERSION) {
      await conn.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', $1)", [
        String(SCHEMA_VERSION),
      ]);
    }
    await conn.run('COMMIT');
  } catch (e) {
    await conn.run('ROLLBACK');
    if (e instanceof SleuthError) throw e;
    throw new SleuthError('E_STORE_SCHEMA', `migrating store ${path} failed: ${message(e)}`);
  }
}

async function checkReadOnlySchema(conn: DuckDBConnection, path: string): Promise<void> {
  const version = await readSchemaVersion(conn);
  if (version === null) {
    throw new SleuthError(
      'E_STORE_SCHEMA',
      `${path} is not an EKS Sleuth store (no meta table); create it with \`sleuth scan --db ${path} …\``,
    );
  }
  if (version > SCHEMA_VERSION) {
    throw new SleuthError(
      'E_STORE_SCHEMA',
      `store ${path} has schema version ${version}, newer than this EKS Sleuth build (${SCHEMA_VERSION}); upgrade EKS Sleuth`,
    );
  }
  if (version < SCHEMA_VERSION) {
    throw new SleuthError(
      'E_STORE_SCHEMA',
      `store ${path} has schema version ${version}, older than this EKS Sleuth build (${SCHEMA_VERSION}); open it once for writing (e.g. \`sleuth scan --db ${path}\`) to migrate it`,
    );
  }
}

/**
 * Open (creating and migrating if needed) a DuckDB store at `path`, or an in-memory one for
 * `:memory:`. With `readOnly`, the file must exist with this build's schema version.
 */
export async function openDuckDbStore(path: string, options: OpenStoreOptions = {}): Promise<Store> {
  const readOnly = options.readOnly === true;
  const memory = path === ':memory:';
  if (readOnly && memory)
    throw new SleuthError('E_STORE_OPEN', 'an in-memory store cannot be opened read-only: it would be empty');
  if (readOnly && !existsSync(path))
    throw new SleuthError(
      'E_STORE_OPEN',
      `store ${path} does not exist; create it with \`sleuth scan --db ${path} …\``,
    );
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, readOnly ? { access_mode: 'READ_ONLY' } : {});
  } catch (e) {
    throw new SleuthError('E_STORE_OPEN', `cannot open store ${path}: ${message(e)}`);
  }
  let conn: DuckDBConnection | null = null;
  try {
    conn = await instance.connect();
    if (readOnly) await checkReadOnlySchema(conn, path);
    else await migrate(conn, path);
    // 256 MB between checkpoints instead of DuckDB's 16 MB: bulk appends of ~1 KB events
    // otherwise checkpoint every ~15k rows (measured 4× slower inserts for 200k events). The
    // WAL is replayed after a crash and folded in on close. A writer's buffer pool is capped
    // (DuckDB's default is 80% of RAM): a long scan then holds at most that much of the table
    // in memory, whatever the input size (bench/README.md, RSS growth).
    if (!readOnly) {
      await conn.run("SET checkpoint_threshold = '256MB'");
      if (!memory) await conn.run(`SET memory_limit = '${WRITER_MEMORY_LIMIT}'`);
    }
    await conn.run('SET enable_external_access = false');
    await conn.run('SET lock_configuration = true');
  } catch (e) {
    conn?.closeSync();
    instance.closeSync();
    if (e instanceof SleuthError) throw e;
    throw new SleuthError('E_STORE_OPEN', `cannot open store ${path}: ${message(e)}`);
  }
  const store = new DuckDbStore(
    instance,
    conn,
    { persistent: !memory, dialect: 'duckdb', readOnly },
    await readSeqs(conn),
  );
  // A scan that stopped before its duplicate check (crash, kill) left rows above checked_seq:
  // check them now, before anything else is appended.
  if (!readOnly) {
    try {
      await store.settleDuplicates();
    } catch (e) {
      await store.close();
      throw e;
    }
  }
  return store;
}
