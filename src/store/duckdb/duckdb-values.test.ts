import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoToMicros, microsToIso, toDuckDbParameter } from './duckdb-values.js';
import { SleuthError } from '../../model/errors.js';

test('isoToMicros keeps microseconds and honours offsets', () => {
  assert.equal(isoToMicros('1970-01-01T00:00:01.000001Z'), 1_000_001n);
  assert.equal(isoToMicros('2023-01-27T18:28:08.129781Z'), 1674844088129781n);
  assert.equal(isoToMicros('2023-01-27T20:28:08.129781+02:00'), 1674844088129781n);
  assert.equal(isoToMicros('2023-01-27T18:28:08Z'), 1674844088000000n);
  assert.equal(isoToMicros('2023-01-27T18:28:08.5Z'), 1674844088500000n);
  assert.equal(isoToMicros('2023-01-27T18:28:08.123456789Z'), 1674844088123456n);
  assert.equal(isoToMicros('1969-12-31T23:59:59.999999Z'), -1n);
  assert.equal(isoToMicros('not a time'), null);
});

test('microsToIso writes ms form when exact, µs form otherwise', () => {
  assert.equal(microsToIso(1674844088129781n), '2023-01-27T18:28:08.129781Z');
  assert.equal(microsToIso(1674844088129000n), '2023-01-27T18:28:08.129Z');
  assert.equal(microsToIso(0n), '1970-01-01T00:00:00.000Z');
  assert.equal(microsToIso(-1n), '1969-12-31T23:59:59.999999Z');
  for (const s of ['2024-02-29T23:59:59.000001Z', '2024-02-29T23:59:59.999Z'])
    assert.equal(microsToIso(isoToMicros(s)!), s);
});

test('toDuckDbParameter rejects values it cannot bind', () => {
  assert.throws(
    () => toDuckDbParameter({ a: 1 }, 2),
    (e: unknown) => e instanceof SleuthError && /\$3/.test(e.message),
  );
  assert.throws(() => toDuckDbParameter(Number.NaN, 0), SleuthError);
  assert.equal(toDuckDbParameter(undefined, 0), null);
  assert.equal(toDuckDbParameter('x', 0), 'x');
});

test('isoToMicros: the fast path for the apiserver form agrees with Date.parse over many dates', () => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pad = (v: number, w: number): string => String(v).padStart(w, '0');
  for (let i = 0; i < 20_000; i++) {
    const ms = rand(2 ** 31) * 3000 + rand(1000); // 1970 … 2174
    const base = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
    const extra = rand(1000);
    const forms = [
      base,
      `${base.slice(0, 19)}Z`,
      `${base.slice(0, 23)}${pad(extra, 3)}Z`,
      `${base.slice(0, 20)}${pad(extra % 10, 1)}Z`,
    ];
    const wants = [
      BigInt(ms) * 1000n,
      BigInt(Math.floor(ms / 1000)) * 1_000_000n,
      BigInt(ms) * 1000n + BigInt(extra),
      BigInt(Math.floor(ms / 1000)) * 1_000_000n + BigInt(extra % 10) * 100_000n,
    ];
    for (let k = 0; k < forms.length; k++) assert.equal(isoToMicros(forms[k]!), wants[k], forms[k]);
  }
  // Leap days and the ends of months and years.
  for (const s of [
    '2000-02-29T12:00:00Z',
    '2100-03-01T00:00:00Z',
    '2024-12-31T23:59:59.999999Z',
    '1970-01-01T00:00:00Z',
    '2023-03-01T00:00:00.5Z',
  ]) {
    assert.equal(isoToMicros(s), BigInt(Date.parse(s)) * 1000n + (s.endsWith('.999999Z') ? 999n : 0n), s);
  }
  // Out-of-range fields leave the fast path and get Date.parse's answer, as before it existed.
  for (const s of [
    '2023-02-29T00:00:00Z',
    '2023-04-31T00:00:00Z',
    '2023-13-01T00:00:00Z',
    '2023-01-01T24:00:00Z',
    '2023-01-01T00:00:00.Z',
    '1969-12-31T23:59:59Z',
  ]) {
    const ms = Date.parse(s);
    assert.equal(isoToMicros(s), Number.isNaN(ms) ? null : BigInt(ms) * 1000n, s);
  }
});
