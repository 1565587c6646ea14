/**
 * Threat lists: files of IPs and CIDR ranges that native detectors check callers against.
 *
 * Accepted formats (detected per file, no configuration):
 * - plain: one IP or CIDR per line; `#` and `;` start comments (Spamhaus DROP style
 *   `1.10.16.0/20 ; SBL256894` works); `# name: My list` names the list, else the file's basename;
 * - Tor's exit-addresses document (`ExitAddress 185.220.101.1 2024-05-01 10:00:00` lines);
 * - CSV with a header: the column named ip, ip_address, ipaddress, address, ip_addr, cidr,
 *   network or indicator; otherwise (or without a header) the first column holding an IP.
 * Lines that are neither are reported as warnings with their line number and skipped.
 * Nothing is fetched at run time: see README.md for refreshing lists.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { SourceProblem } from '../../model/errors.js';
import { IpRangeSet, parseIpOrCidr, type IpRange } from './ip-range-set.js';

export type ThreatListKind = 'malicious' | 'custom' | 'tor';

export interface ThreatList {
  readonly name: string;
  readonly kind: ThreatListKind;
  readonly file: string;
  /** sha256 of the file, GuardDuty's threatFileSha256. */
  readonly sha256: string;
  readonly entries: number;
  /** The listed entry covering `ip` (as written in the file), or null. */
  match(ip: string): string | null;
}

export interface ParseResult<T> {
  readonly value: T;
  readonly errors: readonly SourceProblem[];
}

/** Past this many bad lines a file is probably not a threat list; report a count instead. */
const MAX_REPORTED_ERRORS = 50;
const CSV_IP_HEADERS = ['ip', 'ip_address', 'ipaddress', 'address', 'ip_addr', 'cidr', 'network', 'indicator'];

function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

function stripComment(line: string): string {
  let end = line.length;
  const h = line.indexOf('#');
  if (h >= 0) end = h;
  const sc = line.indexOf(';');
  if (sc >= 0 && sc < end) end = sc;
  return line.slice(0, end).trim();
}

export interface ParseOptions {
  readonly file: string;
  readonly kind: ThreatListKind;
  /** Overrides the `# name:` header and the file name. */
  readonly name?: string;
  /** sha256 of the file's bytes when the caller read them (else of the text). */
  readonly sha256?: string;
}

/** Parse a threat list's text. */
export function parseThreatList(text: string, options: ParseOptions): ParseResult<ThreatList> {
  const errors: SourceProblem[] = [];
  let bad = 0;
  const entries: { range: IpRange; label: string }[] = [];
  let headerName: string | null = null;
  // A UTF-8 byte order mark (spreadsheet exports) is not part of the first entry.
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r?\n/);
  let csvColumn: number | null = null;
  let csvChecked = false;
  const fail = (line: number, message: string): void => {
    bad++;
    if (bad <= MAX_REPORTED_ERRORS) errors.push({ file: options.file, line, column: 1, message, severity: 'warning' });
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      const m = /^#\s*name\s*:\s*(.+)$/i.exec(trimmed);
      if (m !== null && headerName === null) headerName = m[1]!.trim().slice(0, 200);
      continue;
    }
    if (trimmed.startsWith(';') || trimmed.startsWith('//')) continue;
    // Tor exit-addresses document.
    if (/^(ExitNode|Published|LastStatus)\b/.test(trimmed)) continue;
    if (trimmed.startsWith('ExitAddress ')) {
      const ip = trimmed.split(/\s+/)[1] ?? '';
      const r = parseIpOrCidr(ip);
      if (r === null) fail(lineNo, `not an IP address: ${JSON.stringify(ip.slice(0, 60))}`);
      else entries.push({ range: r, label: ip });
      continue;
    }
    if (!csvChecked) {
      csvChecked = true;
      if (trimmed.includes(',')) {
        const cells = splitCsv(trimmed);
        const ipCell = cells.findIndex((c) => parseIpOrCidr(c) !== null);
        if (ipCell >= 0) csvColumn = ipCell;
        else {
          const named = cells.findIndex((c) => CSV_IP_HEADERS.includes(c.toLowerCase().replace(/[\s-]/g, '_')));
          csvColumn = named >= 0 ? named : -1; // -1: pick from the first data row
          continue;
        }
      }
    }
    let token: string;
    if (csvColumn !== null) {
      const cells = splitCsv(trimmed);
      if (csvColumn < 0) {
        const found = cells.findIndex((c) => parseIpOrCidr(c) !== null);
        if (found < 0) {
          fail(lineNo, 'no IP address in this CSV row');
          continue;
        }
        csvColumn = found;
      }
      token = cells[csvColumn] ?? '';
    } else {
      token = stripComment(trimmed).split(/\s+/)[0] ?? '';
      if (token === '') continue;
    }
    const r = parseIpOrCidr(token);
    if (r === null) fail(lineNo, `not an IP address or CIDR range: ${JSON.stringify(token.slice(0, 60))}`);
    else entries.push({ range: r, label: token });
  }
  if (bad > MAX_REPORTED_ERRORS) {
    errors.push({
      file: options.file,
      line: 0,
      column: 0,
      message: `${bad - MAX_REPORTED_ERRORS} more lines skipped`,
      severity: 'warning',
    });
  }
  const set = new IpRangeSet(entries);
  const fileBase = basename(options.file);
  const list: ThreatList = {
    name: options.name ?? headerName ?? fileBase,
    kind: options.kind,
    file: options.file,
    sha256: options.sha256 ?? createHash('sha256').update(text).digest('hex'),
    entries: set.size,
    match: (ip: string) => set.match(ip),
  };
  return { value: list, errors };
}

/** Read and parse a threat list file. Throws only on I/O errors (missing file). */
export function loadThreatListFile(path: string, kind: ThreatListKind, name?: string): ParseResult<ThreatList> {
  const bytes = readFileSync(path);
  // GuardDuty's threatFileSha256 is the file's: hash the bytes, not the decoded text.
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return parseThreatList(
    bytes.toString('utf8'),
    name !== undefined ? { file: path, kind, name, sha256 } : { file: path, kind, sha256 },
  );
}
