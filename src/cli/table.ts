/**
 * Plain-text tables for the terminal. Every cell passes terminalSafe; widths are measured in
 * code points and long cells are cut with an ellipsis so one huge log field cannot wreck the view.
 */
import { terminalSafe } from './terminal-safe.js';

export interface TableOptions {
  /** Maximum width of one cell. */
  readonly maxCell?: number;
}

export function renderTable(
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  options: TableOptions = {},
): string {
  const maxCell = options.maxCell ?? 60;
  const cells = rows.map((r) => columns.map((_, i) => cellText(r[i], maxCell)));
  const head = columns.map((c) => cellText(c, maxCell));
  const widths = head.map((h, i) => Math.max(len(h), ...cells.map((r) => len(r[i]!))));
  const line = (vals: readonly string[]): string =>
    vals
      .map((v, i) => pad(v, widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of cells) out.push(line(r));
  return out.join('\n') + '\n';
}

export function cellText(v: unknown, maxCell = 60): string {
  let s: string;
  if (v === null || v === undefined) s = '';
  else if (typeof v === 'string') s = v;
  else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') s = String(v);
  else if (v instanceof Date) s = v.toISOString();
  else s = JSON.stringify(v);
  s = terminalSafe(s);
  const cps = [...s];
  return cps.length > maxCell ? cps.slice(0, maxCell - 1).join('') + '…' : s;
}

function len(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number): string {
  return s + ' '.repeat(Math.max(0, w - len(s)));
}
