/**
 * Printing result rows (query, rules hunt) as table, json, jsonl or csv. CSV cells that start
 * with = + - @ are prefixed with ' so a spreadsheet never runs a log string as a formula.
 */
import { renderTable } from './table.js';

export const ROW_FORMATS = ['table', 'json', 'jsonl', 'csv'] as const;
export type RowFormat = (typeof ROW_FORMATS)[number];

export function renderRows(columns: readonly string[], rows: readonly Record<string, unknown>[], format: RowFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(rows.map((r) => pick(columns, r)), null, 2) + '\n';
    case 'jsonl':
      return rows.map((r) => JSON.stringify(pick(columns, r))).join('\n') + (rows.length > 0 ? '\n' : '');
    case 'csv':
      return [columns.map(csvCell).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
    case 'table':
      return rows.length === 0 ? 'No rows.\n' : renderTable(columns, rows.map((r) => columns.map((c) => r[c])), { maxCell: 80 });
  }
}

function pick(columns: readonly string[], r: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const c of columns) o[c] = r[c] ?? null;
  return o;
}

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
