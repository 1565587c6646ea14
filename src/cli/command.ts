/** A CLI subcommand: thin — parse arguments, call the rest, print. */
import type { CliIo } from './io.js';

export interface Command {
  readonly name: string;
  /** One line for `sleuth --help`. */
  readonly summary: string;
  /** Full text for `sleuth <name> --help`. */
  readonly help: string;
  /** Returns the process exit code. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}
