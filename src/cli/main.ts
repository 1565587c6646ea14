/**
 * `sleuth` entry point: dispatches to subcommands, turns SleuthErrors into one clear line and
 * exit code 2, and never prints a stack trace for a user error.
 */
import { SleuthError, UsageError } from '../model/errors.js';
import type { Command } from './command.js';
import { processIo, type CliIo } from './io.js';
import { scanCommand } from './scan-command.js';
import { queryCommand } from './query-command.js';
import { rulesCommand } from './rules-command.js';
import { demoCommand } from './demo-command.js';
import { terminalSafe } from './terminal-safe.js';

export const VERSION = '0.1.0';

const COMMANDS: readonly Command[] = [scanCommand, queryCommand, rulesCommand, demoCommand];

function usage(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`);
  return `EKS Sleuth ${VERSION} — threat detection and investigation for Kubernetes audit logs

Usage: sleuth <command> [options]

Commands:
${lines.join('\n')}

Run \`sleuth <command> --help\` for a command's options.
Quick start: sleuth scan ./audit-logs/ --db sleuth.duckdb, then sleuth query --db sleuth.duckdb 'stats count(*) by verb'
`;
}

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  try {
    if (cmd === undefined)
      throw new UsageError(
        `unknown command "${terminalSafe(name)}". Commands: ${COMMANDS.map((c) => c.name).join(', ')}. See \`sleuth --help\`.`,
      );
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(cmd.help);
      return 0;
    }
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof SleuthError) {
      io.stderr.write(`sleuth: ${e.message}\n`);
      return 2;
    }
    const err = e as Error;
    io.stderr.write(`sleuth: internal error: ${err?.message ?? String(e)}\n`);
    if (io.env['SLEUTH_DEBUG'] !== undefined) io.stderr.write(`${err?.stack ?? ''}\n`);
    else io.stderr.write('Set SLEUTH_DEBUG=1 for a stack trace, and please report it.\n');
    return 1;
  }
}
