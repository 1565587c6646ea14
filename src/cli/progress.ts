/**
 * A one-line progress bar on stderr, drawn only on a TTY and at most ten times a second.
 */
import { terminalSafe } from './terminal-safe.js';

export class ProgressBar {
  #last = 0;
  #drawn = false;
  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly totalBytes: number | null,
  ) {}

  update(bytesDone: number, events: number, file: string): void {
    if (this.stream.isTTY !== true) return;
    const now = Date.now();
    if (now - this.#last < 100) return;
    this.#last = now;
    const width = Math.max(40, (this.stream.columns ?? 80) - 1);
    let bar = '';
    if (this.totalBytes !== null && this.totalBytes > 0) {
      const frac = Math.min(1, bytesDone / this.totalBytes);
      const cells = 20;
      const full = Math.round(frac * cells);
      bar = `[${'#'.repeat(full)}${'.'.repeat(cells - full)}] ${(frac * 100).toFixed(0).padStart(3)}% `;
    }
    const text = `${bar}${formatBytes(bytesDone)} ${events.toLocaleString('en-US')} events  ${terminalSafe(file)}`;
    this.stream.write(`\r${[...text].slice(0, width).join('').padEnd(width)}`);
    this.#drawn = true;
  }

  clear(): void {
    if (this.#drawn) this.stream.write(`\r${' '.repeat(Math.max(40, (this.stream.columns ?? 80) - 1))}\r`);
    this.#drawn = false;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
