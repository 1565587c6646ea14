/**
 * The DuckDB store's schema: column definitions derived from the field catalog, and the ordered
 * migrations that build and evolve the tables.
 *
 * Migrations are frozen once shipped: migration 1 spells its columns out instead of generating
 * them from the catalog, because a store written by this build must still upgrade correctly
 * when the catalog grows. Adding a catalog field therefore means adding a migration
 * (`ALTER TABLE events ADD COLUMN …`); duckdb-schema.test.ts fails until the migrated table
 * matches EVENT_COLUMNS.
 */
import { BIGINT, INTEGER, LIST, TIMESTAMP, VARCHAR, type DuckDBType } from '@duckdb/node-api';
import type { AuditEvent } from '../../model/audit-event.js';
import { FIELD_CATALOG, type FieldType } from '../../model/field-catalog.js';
import { DUCKDB_DIALECT } from '../../sql/dialect.js';

/** How a column's value is taken from an AuditEvent when appending. */
export type EventColumnSource =
  | { readonly kind: 'field'; readonly property: keyof AuditEvent; readonly type: FieldType }
  | { readonly kind: 'origin-file' }
  | { readonly kind: 'origin-line' }
  | { readonly kind: 'seq' };

export interface EventColumn {
  readonly column: string;
  readonly sqlType: 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'TIMESTAMP' | 'VARCHAR[]';
  readonly duckdbType: DuckDBType;
  readonly source: EventColumnSource;
}

const SQL_TYPE = {
  string: 'VARCHAR',
  int: 'INTEGER',
  timestamp: 'TIMESTAMP',
  'string[]': 'VARCHAR[]',
} as const satisfies Record<FieldType, EventColumn['sqlType']>;

const DUCKDB_TYPE: Record<FieldType, DuckDBType> = {
  string: VARCHAR,
  int: INTEGER,
  timestamp: TIMESTAMP,
  'string[]': LIST(VARCHAR),
};

/** Columns of the events table, in table order: one per catalog field, then the source location. */
export const EVENT_COLUMNS: readonly EventColumn[] = [
  ...FIELD_CATALOG.map((f): EventColumn => ({
    column: f.column,
    sqlType: SQL_TYPE[f.type],
    duckdbType: DUCKDB_TYPE[f.type],
    source: { kind: 'field', property: f.property, type: f.type },
  })),
  // Where the event was read from (file path, 1-based line): lets an investigator go back to
  // the original file even when @logStream is a CloudWatch stream name.
  { column: 'source_file', sqlType: 'VARCHAR', duckdbType: VARCHAR, source: { kind: 'origin-file' } },
  { column: 'source_line', sqlType: 'INTEGER', duckdbType: INTEGER, source: { kind: 'origin-line' } },
  // Order of arrival in this store (1, 2, 3 …, never reused): the first stored copy of an
  // (audit_id, stage) is the one with the lowest seq, and the store's duplicate check only
  // looks at rows above the last checked seq (see duckdb-store.ts).
  { column: 'seq', sqlType: 'BIGINT', duckdbType: BIGINT, source: { kind: 'seq' } },
];

export const q = DUCKDB_DIALECT.quoteIdentifier;

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly up: readonly string[];
}

export const META_TABLE_SQL = 'CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)';

/** The events columns of schema version 1, frozen with migrations 1 and 2, which both use them. */
const V1_EVENT_COLUMNS = `        "audit_id" VARCHAR NOT NULL,
        "stage" VARCHAR NOT NULL,
        "level" VARCHAR,
        "verb" VARCHAR,
        "request_uri" VARCHAR,
        "user_username" VARCHAR,
        "user_uid" VARCHAR,
        "user_groups" VARCHAR[],
        "impersonated_username" VARCHAR,
        "source_ips" VARCHAR[],
        "user_agent" VARCHAR,
        "resource" VARCHAR,
        "subresource" VARCHAR,
        "namespace" VARCHAR,
        "name" VARCHAR,
        "api_group" VARCHAR,
        "api_version" VARCHAR,
        "response_code" INTEGER,
        "response_status" VARCHAR,
        "response_reason" VARCHAR,
        "request_received_at" TIMESTAMP,
        "stage_at" TIMESTAMP,
        "authz_decision" VARCHAR,
        "authz_reason" VARCHAR,
        "time" TIMESTAMP,
        "ingestion_time" TIMESTAMP,
        "log_stream" VARCHAR,
        "log_group" VARCHAR,
        "cluster" VARCHAR,
        "cw_event_id" VARCHAR,
        "raw" VARCHAR,
        "source_file" VARCHAR,
        "source_line" INTEGER,`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'events, findings',
    up: [
      `CREATE TABLE events (
${V1_EVENT_COLUMNS}
        PRIMARY KEY ("audit_id", "stage")
      )`,
      `CREATE TABLE findings (
        "id" VARCHAR PRIMARY KEY,
        "type" VARCHAR NOT NULL,
        "engine" VARCHAR NOT NULL,
        "rule" VARCHAR NOT NULL,
        "severity_label" VARCHAR NOT NULL,
        "severity_score" DOUBLE NOT NULL,
        "cluster" VARCHAR,
        "count" BIGINT NOT NULL,
        "first_seen" TIMESTAMP,
        "last_seen" TIMESTAMP,
        "suppressed" BOOLEAN NOT NULL,
        "finding" VARCHAR NOT NULL
      )`,
    ],
  },
  {
    // The (audit_id, stage) primary key is replaced by a seq column and a set-based duplicate
    // check after each scan: DuckDB keeps a primary-key index in memory, so a store's memory
    // grew with every event stored, and checking it on every append cost about as much as the
    // append itself. DuckDB cannot drop a constraint, so the table is rebuilt.
    version: 2,
    description: 'events without the primary key, with seq',
    up: [
      `CREATE TABLE events_v2 (
${V1_EVENT_COLUMNS}
        "seq" BIGINT NOT NULL
      )`,
      'INSERT INTO events_v2 SELECT *, row_number() OVER () FROM events',
      'DROP TABLE events',
      'ALTER TABLE events_v2 RENAME TO events',
      "INSERT OR REPLACE INTO meta (key, value) SELECT 'checked_seq', CAST(coalesce(max(seq), 0) AS VARCHAR) FROM events",
    ],
  },
];

/** The schema version this build reads and writes. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Findings columns, in table order (the staging table mirrors them). */
export const FINDING_COLUMNS = [
  ['id', 'VARCHAR'],
  ['type', 'VARCHAR'],
  ['engine', 'VARCHAR'],
  ['rule', 'VARCHAR'],
  ['severity_label', 'VARCHAR'],
  ['severity_score', 'DOUBLE'],
  ['cluster', 'VARCHAR'],
  ['count', 'BIGINT'],
  ['first_seen', 'TIMESTAMP'],
  ['last_seen', 'TIMESTAMP'],
  ['suppressed', 'BOOLEAN'],
  ['finding', 'VARCHAR'],
] as const;
