/** An in-memory CliIo for command tests: captures stdout and stderr as strings. */
import { PassThrough, Writable } from 'node:stream';
import type { CliIo } from './io.js';

export interface CapturedIo extends CliIo {
  out(): string;
  err(): string;
}

export function captureIo(options: { tty?: boolean; stdin?: string; cwd?: string } = {}): CapturedIo {
  const chunks = { out: [] as string[], err: [] as string[] };
  const sink = (into: string[]) =>
    Object.assign(
      new Writable({
        write(chunk, _enc, cb) {
          into.push(String(chunk));
          cb();
        },
      }),
      { isTTY: options.tty === true, columns: 120 },
    );
  const stdin = new PassThrough();
  stdin.end(options.stdin ?? '');
  return {
    stdout: sink(chunks.out),
    stderr: sink(chunks.err),
    stdin,
    env: {},
    cwd: options.cwd ?? process.cwd(),
    out: () => chunks.out.join(''),
    err: () => chunks.err.join(''),
  };
}
