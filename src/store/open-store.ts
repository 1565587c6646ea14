/**
 * The one place the CLI and server open a store. DuckDB is the only backend for now; a
 * scale-out backend (ClickHouse) will be chosen here from the path/URL form.
 *
 * The backend is imported on first use, not at load: loading @duckdb/node-api (its native
 * addon and ~200 modules) costs about half a second, which `scan --no-store`, `rules` and
 * `--help` should not pay.
 */
import type { OpenStoreOptions, Store } from './store.js';

/**
 * Default store file when --db is not given: `sleuth.duckdb` in the current working
 * directory, so a scan and a later `sleuth query` in the same folder meet without flags.
 */
export const DEFAULT_DB_PATH = 'sleuth.duckdb';

/** Open a store: `:memory:` for a throw-away store, else a DuckDB file (created if missing unless read-only). */
export async function openStore(path: string = DEFAULT_DB_PATH, options: OpenStoreOptions = {}): Promise<Store> {
  const { openDuckDbStore } = await import('./duckdb/duckdb-store.js');
  return openDuckDbStore(path, options);
}
