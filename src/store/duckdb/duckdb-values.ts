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
  const fast = canonicalUtcMicros(iso);
  if (fast !== null) return BigInt(fast);
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const frac = FRACTION.exec(iso)?.[1];
  if (frac === undefined || frac.length <= 3) return BigInt(ms) * MICROS_PER_MS;
  // Offsets are whole minutes, so the sub-second part is the same in UTC as written.
  const seconds = Math.floor(ms / 1000);
  const micros = Number(frac.slice(0, 6).padEnd(6, '0'));
  return BigInt(seconds) * MICROS_PER_SECOND + BigInt(micros);
}

/** The digit at `i` (0-9), or -1. */
function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = digit(s, i + k);
    if (d < 0) return -1;
    v = v * 10 + d;
  }
  return v;
}

// Days before each month in a non-leap year.
const MONTH_DAYS = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/**
 * The form the apiserver writes (`2023-01-27T18:28:08.129781Z`: UTC, optional fraction) read
 * without Date.parse and a regex: three timestamps per stored event made those a visible part
 * of a scan's profile. Anything else (offsets, out-of-range fields) returns null for the
 * general path. Epoch microseconds of years 1970-2255 fit a double exactly.
 */
function canonicalUtcMicros(s: string): number | null {
  const n = s.length;
  if (
    n < 20 ||
    s.charCodeAt(n - 1) !== 90 /* Z */ ||
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    s.charCodeAt(10) !== 84 ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58
  ) {
    return null;
  }
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  if (year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59)
    return null;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthLength = month === 2 ? (leap ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  if (day > monthLength) return null;
  let micros = 0;
  if (n > 20) {
    // ".f…fZ": 1 to 9 digits, microseconds kept.
    if (s.charCodeAt(19) !== 46 || n - 21 < 1 || n - 21 > 9) return null;
    let scale = 100_000;
    for (let i = 20; i < n - 1; i++) {
      const d = digit(s, i);
      if (d < 0) return null;
      micros += d * scale;
      scale /= 10;
    }
    micros = Math.floor(micros);
  }
  const y = year - 1970;
  // Leap days between 1970-01-01 and Jan 1 of `year`.
  const leapDays =
    Math.floor((year - 1 - 1968) / 4) - Math.floor((year - 1 - 1900) / 100) + Math.floor((year - 1 - 1600) / 400);
  const days = y * 365 + leapDays + MONTH_DAYS[month - 1]! + (month > 2 && leap ? 1 : 0) + day - 1;
  return ((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micros;
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
  if (value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue)
    return timestampToPlain(value.micros, value);
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
  if (value instanceof DuckDBMapValue)
    return value.entries.map((e) => ({ key: toPlainJs(e.key), value: toPlainJs(e.value) }));
  if (value instanceof DuckDBUnionValue) return toPlainJs(value.value);
  if (value instanceof DuckDBDateValue || value instanceof DuckDBIntervalValue || value instanceof DuckDBUUIDValue)
    return value.toString();
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
      if (!Number.isFinite(value))
        throw new SleuthError('E_STORE_PARAMETER', `parameter $${index + 1} is not a finite number`);
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
