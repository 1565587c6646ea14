/**
 * The hunt compiler speaks SQL only through its dialect: compiled with a stub dialect whose
 * every method writes a neutral STUB_ token, no Sigma rule (the shipped packs and SigmaHQ's
 * Kubernetes rules) leaves a DuckDB-specific token in its SQL. A token pasted into the compiler
 * instead of going through the dialect fails this test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DUCKDB_SIGMA_DIALECT, type SigmaSqlDialect } from '../../sql/sigma-dialect.js';
import { needsShared, repoRoot, sharedPath } from '../../util/repo-root.js';
import type { SigmaDetectionRule } from './sigma-ast.js';
import { loadSigmaRules } from './sigma-detectors.js';
import { compileSigmaCorrelationSql, compileSigmaRuleSql, SigmaSqlError } from './sigma-sql-compiler.js';

/** What DuckDB spells its own way (functions, lambdas, type names of json_type, LIKE ESCAPE). */
const DUCKDB_TOKENS = [
  /regexp_/i,
  /try_cast/i,
  /\blist_/i,
  /\bjson_/i,
  /epoch_ms/i,
  /\bweek\(/i,
  /\blambda\b/i,
  /string_split/i,
  /starts_with|ends_with/i,
  /\bcontains\(/i,
  /\blen\(/i,
  /\bleft\(/i,
  /\blower\(/i,
  /'(VARCHAR|BIGINT|UBIGINT|HUGEINT|DOUBLE|BOOLEAN|ARRAY|NULL)'/,
  /\bESCAPE\b/i,
  /\bAS (VARCHAR|DOUBLE|BIGINT|INTEGER|DATE)\b/i,
];

function stubDialect(): SigmaSqlDialect {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(DUCKDB_SIGMA_DIALECT)) {
    out[key] =
      typeof value === 'function'
        ? (...args: unknown[]) => `STUB_${key}(${args.map(String).join(', ')})`
        : `STUB_${key}`;
  }
  // Identifiers, placeholders and the JSON path parameter's text stay ANSI-shaped.
  out['name'] = 'clickhouse';
  out['quoteIdentifier'] = (id: string) => `"${id.replaceAll('"', '""')}"`;
  out['placeholder'] = (n: number) => `{p${n}}`;
  out['jsonPath'] = DUCKDB_SIGMA_DIALECT.jsonPath;
  return out as unknown as SigmaSqlDialect;
}

function checkPack(paths: readonly string[]): { compiled: number; refused: string[] } {
  const set = loadSigmaRules(paths);
  const dialect = stubDialect();
  const byRef = new Map<string, SigmaDetectionRule>();
  for (const r of set.rules) {
    byRef.set(r.id, r);
    if (r.name !== undefined) byRef.set(r.name, r);
  }
  const sqls: { rule: string; sql: string }[] = [];
  const refused: string[] = [];
  const attempt = (rule: string, compile: () => { sql: string }): void => {
    try {
      sqls.push({ rule, sql: compile().sql });
    } catch (e) {
      if (!(e instanceof SigmaSqlError)) throw e;
      refused.push(`${rule}: ${e.message}`);
    }
  };
  for (const r of set.rules) attempt(r.id, () => compileSigmaRuleSql(r, { dialect }));
  for (const c of set.correlations) {
    const members = c.rules.map((ref) => byRef.get(ref)).filter((x): x is SigmaDetectionRule => x !== undefined);
    if (members.length === c.rules.length)
      attempt(c.id, () => compileSigmaCorrelationSql(c, members, set.mapping, { dialect }));
  }
  for (const { rule, sql } of sqls) {
    assert.match(sql, /STUB_/, `${rule}: the stub dialect was not used`);
    for (const token of DUCKDB_TOKENS) assert.doesNotMatch(sql, token, `${rule}: DuckDB token ${token} in\n${sql}`);
  }
  return { compiled: sqls.length, refused };
}

test('the DuckDB dialect itself trips the token list (the check can fail)', () => {
  const set = loadSigmaRules([join(repoRoot(), 'rules', 'sigma')]);
  const sql = compileSigmaRuleSql(set.rules[0]!, {}).sql;
  assert.ok(
    DUCKDB_TOKENS.some((t) => t.test(sql)),
    sql,
  );
});

test('shipped Sigma packs (rules and correlations) compile with no DuckDB token', () => {
  const { compiled } = checkPack([join(repoRoot(), 'rules', 'sigma')]);
  assert.ok(compiled >= 19, `compiled ${compiled}`);
});

test("SigmaHQ's Kubernetes rules compile with no DuckDB token", { skip: needsShared('corpus', 'sigma') }, () => {
  const { compiled } = checkPack([sharedPath('corpus', 'sigma', 'rules')]);
  assert.ok(compiled >= 16, `compiled ${compiled}`);
});
