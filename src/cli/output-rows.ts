/**
 * Printing result rows (query, rules hunt) as table, json, jsonl or csv. CSV cells that start
 * with = + - @ are prefixed with ' so a spreadsheet never runs a log string as a formula.
 */
import { renderTable } from './table.js';

export const ROW_FORMATS = ['table', 'json', 'jsonl', 'csv'] as const;
export type RowFormat = (typeof ROW_FORMATS)[number];

export function renderRows(
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
  format: RowFormat,
): string {
  switch (format) {
    case 'json':
      return (
        JSON.stringify(
          rows.map((r) => pick(columns, r)),
          null,
          2,
        ) + '\n'
      );
    case 'jsonl':
      return rows.map((r) => JSON.stringify(pick(columns, r))).join('\n') + (rows.length > 0 ? '\n' : '');
    case 'csv':
      // Headers are column names we chose or the query's own; only values come from logs.
      return (
        [
          columns.map((c) => csvQuote(c)).join(','),
          ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(',')),
        ].join('\n') + '\n'
      );
    case 'table':
      return rows.length === 0
        ? 'No rows.\n'
        : renderTable(
            columns,
            rows.map((r) => columns.map((c) => r[c])),
            { maxCell: 80 },
          );
  }
}

function pick(columns: readonly string[], r: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  // defineProperty, not assignment: a column named __proto__ must stay a column.
  for (const c of columns)
    Object.defineProperty(o, c, {
      value: Object.hasOwn(r, c) ? (r[c] ?? null) : null,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return o;
}

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  let s = typeof v === 'string' ? v : JSON.stringify(v);
  // A text cell starting like a formula is prefixed so a spreadsheet shows it as text.
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return csvQuote(s);
}

function csvQuote(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
