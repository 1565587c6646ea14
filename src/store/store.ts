/**
 * The storage seam. DuckDB (store/duckdb/) is the embedded default; a scale-out backend
 * (ClickHouse) implements the same interface. The schema of the events table is derived from
 * the field catalog (model/field-catalog.ts): one column per catalog field.
 */
import type { AuditEvent } from '../model/audit-event.js';
import type { Finding } from '../model/finding.js';
import type { DialectName } from '../sql/dialect.js';

export interface StoreCapabilities {
  /** False for `:memory:`. */
  readonly persistent: boolean;
  /** The SQL engine behind the store; sql/dialects.ts maps it to the compilers' dialects. */
  readonly dialect: DialectName;
  readonly readOnly: boolean;
}

export interface AppendResult {
  /** Rows appended. Until settleDuplicates runs, some may repeat rows stored earlier. */
  readonly appended: number;
  /** Rows skipped because their (auditID, stage) repeats an earlier row of the same batch. */
  readonly duplicates: number;
}

export type Row = Record<string, unknown>;

export interface Store {
  readonly capabilities: StoreCapabilities;
  /**
   * Bulk-append events. Repeats of an (auditID, stage) inside the batch are skipped at once;
   * repeats of rows stored by earlier appends are removed by settleDuplicates.
   */
  appendEvents(events: readonly AuditEvent[]): Promise<AppendResult>;
  /**
   * Remove appended rows whose (auditID, stage) was stored before (the first stored copy
   * stays); returns how many were removed. A scan calls it once at its end; opening a
   * writable store calls it for rows a stopped scan left unchecked. Cost: one pass over the
   * stored keys, so callers batch many appends per call.
   */
  settleDuplicates(): Promise<number>;
  /** Insert or replace findings by id. */
  upsertFindings(findings: readonly Finding[]): Promise<void>;
  /** Run SQL with bound parameters ($1, $2 … or ?). Values come back as plain JS (bigint → number when safe). */
  query(sql: string, parameters?: readonly unknown[]): Promise<Row[]>;
  /** Column names of a query's result, in order, with the rows. */
  queryWithColumns(sql: string, parameters?: readonly unknown[]): Promise<{ columns: string[]; rows: Row[] }>;
  countEvents(): Promise<number>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  readonly readOnly?: boolean;
}
