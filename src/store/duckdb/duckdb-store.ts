/**
 * The embedded store: one DuckDB file (or `:memory:`) in-process.
 *
 * Writes are bulk only: events go through the DuckDB Appender into a TEMP staging table in
 * vector-sized data chunks, then one `INSERT OR IGNORE … SELECT` moves them into `events`,
 * where the (audit_id, stage) primary key drops events stored by an earlier scan. Duplicates
 * inside one batch are dropped before appending (first occurrence wins), so re-scanning the
 * same files never stores an event twice.
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
  EVENT_COLUMN_LIST,
  FINDING_COLUMNS,
  META_TABLE_SQL,
  MIGRATIONS,
  SCHEMA_VERSION,
  q,
  stagingTableSql,
  type EventColumn,
} from './duckdb-schema.js';
import { isoToMicros, toDuckDbParameter, toPlainJs } from './duckdb-values.js';

/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;
const EVENTS_STAGING = 'events_staging';
const FINDINGS_STAGING = 'findings_staging';
// The anti-join path is used while the table holds at most this many times the batch's rows.
const ANTI_JOIN_MAX_RATIO = 40;
// Largest batch appended straight into `events` (see appendEvents).
const DIRECT_APPEND_MAX_ROWS = 100_000;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

const SQL_TO_DUCKDB: Record<(typeof FINDING_COLUMNS)[number][1], DuckDBType> = { VARCHAR, DOUBLE, BIGINT, TIMESTAMP, BOOLEAN };
const EVENT_TYPES: readonly DuckDBType[] = EVENT_COLUMNS.map((c) => c.duckdbType);
const FINDING_TYPES: readonly DuckDBType[] = FINDING_COLUMNS.map(([, t]) => SQL_TO_DUCKDB[t]);

type Accessor = (e: AuditEvent) => DuckDBValue;

function int32OrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v : null;
}

function timestampOrNull(v: unknown): DuckDBValue {
  if (typeof v === 'number') return Number.isFinite(v) ? timestampValue(BigInt(Math.trunc(v)) * 1000n) : null;
  if (typeof v === 'string') {
    const micros = isoToMicros(v);
    return micros === null ? null : timestampValue(micros);
  }
  return null;
}

function accessorFor(c: EventColumn): Accessor {
  const s = c.source;
  switch (s.kind) {
    case 'origin-file':
      return (e) => e.origin.file;
    case 'origin-line':
      return (e) => int32OrNull(e.origin.line);
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
            return Array.isArray(v) ? listValue(v.filter((x): x is string => typeof x === 'string')) : listValue([]);
          };
      }
    }
  }
}

const EVENT_ACCESSORS: readonly Accessor[] = EVENT_COLUMNS.map(accessorFor);

/** Append events as vector-sized data chunks, flush (one transaction) and close. */
async function fillAppender(appender: DuckDBAppender, events: readonly AuditEvent[]): Promise<void> {
  try {
    const values: DuckDBValue[] = new Array<DuckDBValue>(Math.min(CHUNK_ROWS, events.length));
    for (let start = 0; start < events.length; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, events.length - start);
      const chunk = DuckDBDataChunk.create(EVENT_TYPES, n);
      values.length = n;
      for (let c = 0; c < EVENT_ACCESSORS.length; c++) {
        const get = EVENT_ACCESSORS[c]!;
        for (let i = 0; i < n; i++) values[i] = get(events[start + i]!);
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

function isConstraintError(e: unknown): boolean {
  return /violates primary key constraint|Duplicate key/i.test(message(e));
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

class DuckDbStore implements Store {
  readonly capabilities: StoreCapabilities;
  #instance: DuckDBInstance | null;
  #conn: DuckDBConnection | null;
  // One connection, one staging table: operations run one at a time, in call order.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(instance: DuckDBInstance, conn: DuckDBConnection, capabilities: StoreCapabilities) {
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
    if (this.capabilities.readOnly) throw new SleuthError('E_STORE_READ_ONLY', `cannot ${what}: the store was opened read-only`);
  }

  async appendEvents(events: readonly AuditEvent[]): Promise<AppendResult> {
    this.#refuseWrite('append events');
    if (events.length === 0) return { inserted: 0, duplicates: 0 };
    return this.#exclusive(async (conn) => {
      // First occurrence in the batch wins; later copies count as duplicates.
      const seen = new Set<string>();
      const unique: AuditEvent[] = [];
      for (const e of events) {
        const key = `${e.auditID}\u0000${e.stage}`;
        if (seen.has(key)) continue;
        seen.add(key);
        unique.push(e);
      }
      // Fast path: append straight into `events`. DuckDB checks the primary key as it
      // appends and a failed flush stores nothing (the appender's rows are one transaction),
      // so a batch that repeats a stored event is then retried through the staging table,
      // which skips those rows. A first scan never collides and pays only the appender; a
      // re-scan of stored files pays twice (bench/README.md). Batches stay well under the
      // appender's own automatic flush (~200k rows), which would commit part of a batch.
      if (unique.length <= DIRECT_APPEND_MAX_ROWS) {
        let appended = false;
        try {
          await fillAppender(await conn.createAppender('events'), unique);
          appended = true;
        } catch (e) {
          if (!isConstraintError(e)) throw new SleuthError('E_STORE_WRITE', `storing events failed: ${message(e)}`);
        }
        if (appended) return { inserted: unique.length, duplicates: events.length - unique.length };
      }
      await conn.run(stagingTableSql(EVENTS_STAGING));
      try {
        await fillAppender(await conn.createAppender(EVENTS_STAGING, 'main', 'temp'), unique);
        // Rows already stored are dropped one of two ways. While the table is small next to
        // the batch, an anti-join (a hash join over the stored keys) filters them before the
        // insert, so the primary-key index only ever sees new keys: faster than INSERT OR
        // IGNORE, which resolves every row through the index. Once the table is large the
        // anti-join would scan every stored key per batch, so INSERT OR IGNORE's index
        // lookups (logarithmic in the table) win.
        const stored = await countRows(conn);
        const antiJoin = stored <= ANTI_JOIN_MAX_RATIO * unique.length;
        const result = await conn.run(
          antiJoin
            ? `INSERT INTO events (${EVENT_COLUMN_LIST}) SELECT ${EVENT_COLUMN_LIST} FROM temp.main.${q(EVENTS_STAGING)} s WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.audit_id = s.audit_id AND e.stage = s.stage)`
            : `INSERT OR IGNORE INTO events (${EVENT_COLUMN_LIST}) SELECT ${EVENT_COLUMN_LIST} FROM temp.main.${q(EVENTS_STAGING)}`,
        );
        const inserted = result.rowsChanged;
        return { inserted, duplicates: events.length - inserted };
      } catch (e) {
        if (e instanceof SleuthError) throw e;
        throw new SleuthError('E_STORE_WRITE', `storing events failed: ${message(e)}`);
      } finally {
        await conn.run(`DELETE FROM temp.main.${q(EVENTS_STAGING)}`);
      }
    });
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
        await conn.run(`INSERT OR REPLACE INTO findings (${cols}) SELECT ${cols} FROM temp.main.${q(FINDINGS_STAGING)}`);
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

async function countRows(conn: DuckDBConnection): Promise<number> {
  const r = await conn.runAndReadAll('SELECT count(*) FROM events');
  return Number(r.getRows()[0]?.[0] ?? 0);
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
      await conn.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', $1)", [String(SCHEMA_VERSION)]);
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
    throw new SleuthError('E_STORE_SCHEMA', `${path} is not an EKS Sleuth store (no meta table); create it with \`sleuth scan --db ${path} …\``);
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
  if (readOnly && memory) throw new SleuthError('E_STORE_OPEN', 'an in-memory store cannot be opened read-only: it would be empty');
  if (readOnly && !existsSync(path)) throw new SleuthError('E_STORE_OPEN', `store ${path} does not exist; create it with \`sleuth scan --db ${path} …\``);
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
    // otherwise checkpoint every ~15k rows, rewriting the primary-key index each time (measured
    // 4× slower inserts for 200k events). The WAL is replayed after a crash and folded in on close.
    if (!readOnly) await conn.run("SET checkpoint_threshold = '256MB'");
    // Security: SQL run on the store must not reach the file system or the network.
    await conn.run('SET enable_external_access = false');
    await conn.run('SET lock_configuration = true');
  } catch (e) {
    conn?.closeSync();
    instance.closeSync();
    if (e instanceof SleuthError) throw e;
    throw new SleuthError('E_STORE_OPEN', `cannot open store ${path}: ${message(e)}`);
  }
  return new DuckDbStore(instance, conn, { persistent: !memory, dialect: 'duckdb', readOnly });
}
