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
  for (const s of ['2024-02-29T23:59:59.000001Z', '2024-02-29T23:59:59.999Z']) assert.equal(microsToIso(isoToMicros(s)!), s);
});

test('toDuckDbParameter rejects values it cannot bind', () => {
  assert.throws(() => toDuckDbParameter({ a: 1 }, 2), (e: unknown) => e instanceof SleuthError && /\$3/.test(e.message));
  assert.throws(() => toDuckDbParameter(Number.NaN, 0), SleuthError);
  assert.equal(toDuckDbParameter(undefined, 0), null);
  assert.equal(toDuckDbParameter('x', 0), 'x');
});
