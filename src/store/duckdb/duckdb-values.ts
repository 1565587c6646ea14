/**
 * Value conversion at the DuckDB boundary, both ways: JS parameters → DuckDB values for bound
 * statements, DuckDB result values → plain JS for callers (CLI formatters, API, tests), and the
 * ISO-8601 ⇄ epoch-microseconds conversions the TIMESTAMP columns need. Audit timestamps carry
 * microseconds (`2023-01-27T18:28:08.129781Z`), which a JS Date cannot hold, so timestamps never
 * travel through Date here.
 */
import {
  DuckDBArrayValue,
  DuckDBBitValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBIntervalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBUnionValue,
  DuckDBUUIDValue,
  listValue,
  timestampValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { SleuthError } from '../../model/errors.js';

const MICROS_PER_MS = 1000n;
const MICROS_PER_SECOND = 1_000_000n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
// Fractional seconds of an ISO timestamp: the digits after the seconds' dot.
const FRACTION = /T\d{2}:\d{2}:\d{2}\.(\d+)/;

/**
 * Epoch microseconds of an ISO-8601 timestamp, or null when it does not parse. Offsets are
 * honoured (the result is UTC); digits beyond microseconds are truncated.
 */
export function isoToMicros(iso: string): bigint | null {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const frac = FRACTION.exec(iso)?.[1];
  if (frac === undefined || frac.length <= 3) return BigInt(ms) * MICROS_PER_MS;
  // Offsets are whole minutes, so the sub-second part is the same in UTC as written.
  const seconds = Math.floor(ms / 1000);
  const micros = Number(frac.slice(0, 6).padEnd(6, '0'));
  return BigInt(seconds) * MICROS_PER_SECOND + BigInt(micros);
}

/**
 * ISO-8601 UTC string for epoch microseconds: millisecond form (`….123Z`, what
 * Date.toISOString writes) when there are no sub-millisecond digits, else microsecond form
 * (`….123456Z`, what the apiserver writes), so both kinds round-trip exactly.
 */
export function microsToIso(micros: bigint): string {
  let ms = micros / MICROS_PER_MS;
  let sub = micros % MICROS_PER_MS;
  if (sub < 0n) {
    sub += MICROS_PER_MS;
    ms -= 1n;
  }
  const base = new Date(Number(ms)).toISOString();
  if (sub === 0n) return base;
  return `${base.slice(0, -1)}${String(sub).padStart(3, '0')}Z`;
}

function bigintToPlain(v: bigint): number | string {
  return v <= MAX_SAFE && v >= MIN_SAFE ? Number(v) : v.toString();
}

/**
 * A DuckDB result value as plain JS: BIGINT/HUGEINT → number when it is a safe integer, else a
 * decimal string; DECIMAL → number; timestamps → ISO-8601 strings with Z; DATE → YYYY-MM-DD;
 * lists and arrays → arrays; structs → objects; maps → arrays of {key, value}; anything else →
 * its DuckDB string form.
 */
export function toPlainJs(value: DuckDBValue): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return bigintToPlain(value);
  }
  if (value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue) return timestampToPlain(value.micros, value);
  if (value instanceof DuckDBTimestampMillisecondsValue) return timestampToPlain(value.millis * MICROS_PER_MS, value);
  if (value instanceof DuckDBTimestampSecondsValue) return timestampToPlain(value.seconds * MICROS_PER_SECOND, value);
  if (value instanceof DuckDBTimestampNanosecondsValue) return timestampToPlain(value.nanos / 1000n, value);
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) return value.items.map(toPlainJs);
  if (value instanceof DuckDBDecimalValue) return value.toDouble();
  if (value instanceof DuckDBStructValue) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value.entries)) out[k] = toPlainJs(v);
    return out;
  }
  if (value instanceof DuckDBMapValue) return value.entries.map((e) => ({ key: toPlainJs(e.key), value: toPlainJs(e.value) }));
  if (value instanceof DuckDBUnionValue) return toPlainJs(value.value);
  if (value instanceof DuckDBDateValue || value instanceof DuckDBIntervalValue || value instanceof DuckDBUUIDValue) return value.toString();
  if (value instanceof DuckDBBlobValue || value instanceof DuckDBBitValue) return value.toString();
  return String(value);
}

// ±infinity timestamps have no ISO form; keep DuckDB's spelling ('infinity', '-infinity').
function timestampToPlain(micros: bigint, original: { toString(): string }): string {
  const ms = Number(micros / MICROS_PER_MS);
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return original.toString();
  return microsToIso(micros);
}

/**
 * A caller's parameter as a DuckDB value. Strings, numbers, booleans and null pass through;
 * bigint must fit BIGINT; Date becomes a TIMESTAMP; arrays become lists (of VARCHAR when every
 * item is a string, so an empty array still has a type).
 */
export function toDuckDbParameter(value: unknown, index: number): DuckDBValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new SleuthError('E_STORE_PARAMETER', `parameter $${index + 1} is not a finite number`);
      return value;
    case 'bigint':
      return value;
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new SleuthError('E_STORE_PARAMETER', `parameter $${index + 1} is an invalid Date`);
    return timestampValue(BigInt(ms) * MICROS_PER_MS);
  }
  if (Array.isArray(value)) {
    return listValue(value.map((v) => toDuckDbParameter(v, index)));
  }
  throw new SleuthError('E_STORE_PARAMETER', `parameter $${index + 1} has unsupported type ${typeof value}`);
}
