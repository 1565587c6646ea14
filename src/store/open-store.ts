/**
 * The one place the CLI and server open a store. DuckDB is the only backend for now; a
 * scale-out backend (ClickHouse) will be chosen here from the path/URL form.
 */
import { openDuckDbStore } from './duckdb/duckdb-store.js';
import type { OpenStoreOptions, Store } from './store.js';

/**
 * Default store file when --db is not given: `sleuth.duckdb` in the current working
 * directory, so a scan and a later `sleuth query` in the same folder meet without flags.
 */
export const DEFAULT_DB_PATH = 'sleuth.duckdb';

/** Open a store: `:memory:` for a throw-away store, else a DuckDB file (created if missing unless read-only). */
export function openStore(path: string = DEFAULT_DB_PATH, options: OpenStoreOptions = {}): Promise<Store> {
  return openDuckDbStore(path, options);
}
