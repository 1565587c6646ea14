/**
 * Argument parsing on top of node:util parseArgs, turning its errors into UsageErrors that
 * name the command and point at --help.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../model/errors.js';
import { terminalSafe } from './terminal-safe.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends OptionSpec>(
  command: string,
  argv: readonly string[],
  options: O,
): {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'];
  positionals: string[];
} {
  try {
    const r = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: r.values, positionals: r.positionals };
  } catch (e) {
    const msg = (e as Error).message.replace(/^Unknown option/, 'unknown option');
    throw new UsageError(`${command}: ${msg}. See \`sleuth ${command} --help\`.`);
  }
}

/** Parse a time given as ISO-8601, epoch ms, or a relative duration like 15m, 2h, 7d (before now). */
export function parseTimeArg(name: string, s: string, now = Date.now()): Date {
  const rel = /^(\d+)([smhdw])$/.exec(s);
  if (rel) return new Date(now - durationMs(Number(rel[1]), rel[2]!));
  if (/^\d{10,}$/.test(s)) return new Date(Number(s));
  // Audit logs are in UTC; a time written without a zone is read as UTC, not local time.
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s) ? `${s}Z` : s;
  const t = Date.parse(zoned);
  if (Number.isNaN(t))
    throw new UsageError(
      `${name}: cannot read "${terminalSafe(s)}" as a time; use ISO-8601 (2024-05-01T10:00:00Z), epoch milliseconds, or a duration like 15m, 2h, 7d`,
    );
  return new Date(t);
}

function durationMs(n: number, unit: string): number {
  const k = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[unit] ?? 1000;
  return n * k;
}
