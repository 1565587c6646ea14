/**
 * The one place that says which dialect objects serve a store: every compiler that targets the
 * store (Logs Insights queries, Sigma hunting, and profiles next) asks here with the store's
 * `capabilities.dialect`, so a second engine is one new entry in DIALECTS.
 */
import { SleuthError } from '../model/errors.js';
import type { DialectName } from './dialect.js';
import { DUCKDB_INSIGHTS_DIALECT, type InsightsDialect } from './insights-dialect.js';
import { DUCKDB_SIGMA_DIALECT, type SigmaSqlDialect } from './sigma-dialect.js';

export interface EngineDialects {
  readonly insights: InsightsDialect;
  readonly sigma: SigmaSqlDialect;
}

const DIALECTS: Readonly<Record<DialectName, EngineDialects | null>> = {
  duckdb: { insights: DUCKDB_INSIGHTS_DIALECT, sigma: DUCKDB_SIGMA_DIALECT },
  // The scale-out store (ClickHouse) comes with its own dialect objects.
  clickhouse: null,
};

/** The dialects for a store's engine; a clear error for an engine that has none yet. */
export function dialectsFor(name: DialectName): EngineDialects {
  const d = DIALECTS[name];
  if (d === null) throw new SleuthError('E_QUERY_DIALECT', `queries and hunts do not support the ${name} store yet`);
  return d;
}
