/**
 * Content sniffing: which format a file holds, decided from its first bytes and first two
 * non-blank lines, never from its name (S3 objects and stdin have no useful name).
 */
import { isExportLine } from '../decode/cloudwatch-decode.js';
import { isPlainObject } from '../decode/decoded-item.js';
import { isConcatenatedJsonError, isContainer } from '../decode/envelope-decode.js';
import { BASE64_GZIP_PREFIX } from '../decode/firehose-decode.js';

export type InputFormat = 'jsonl' | 'envelope-lines' | 'cloudwatch-export' | 'base64-lines' | 'document' | 'unknown';

const BASE64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;
const OPEN_STRUCTURE = /[{[,:]$/;

export interface Sniffed {
  readonly mode: InputFormat;
  /** Parsed first non-blank line, when the sniff had to parse it anyway. */
  readonly firstParsed?: unknown;
  readonly firstLine: string;
}

/** Decide the format from the first two non-blank lines. */
export function sniff(firstLine: string, secondLine: string | null): Sniffed {
  const c = firstLine.charCodeAt(0);
  if (c === 0x5b /* [ */) return { mode: 'document', firstLine };
  if (c === 0x7b /* { */) {
    try {
      const v: unknown = JSON.parse(firstLine);
      return { mode: isPlainObject(v) && isContainer(v) ? 'envelope-lines' : 'jsonl', firstParsed: v, firstLine };
    } catch (e) {
      // `{…}{…}`: concatenated values (gunzipped Firehose S3 object) on one line.
      if (isConcatenatedJsonError((e as Error).message)) return { mode: 'document', firstLine };
      if (secondLine !== null && parses(secondLine)) return { mode: 'jsonl', firstLine };
      // A pretty-printed document opens a structure on its first line.
      if (OPEN_STRUCTURE.test(firstLine)) return { mode: 'document', firstLine };
      return { mode: 'jsonl', firstLine };
    }
  }
  if (isExportLine(firstLine)) return { mode: 'cloudwatch-export', firstLine };
  if ((firstLine.startsWith(BASE64_GZIP_PREFIX) || firstLine.startsWith('eyJ')) && BASE64_LINE.test(firstLine)) {
    return { mode: 'base64-lines', firstLine };
  }
  return { mode: 'unknown', firstLine };
}

function parses(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

export function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a && c !== 0xfeff) return false;
  }
  return true;
}

/**
 * Text is junk when its first line (or, when that line is too short to judge, its first 8 KiB)
 * holds a NUL or many control characters: reported once per file rather than as one malformed
 * line per newline found in the junk. Judging by the first line keeps a log whose later lines
 * hold NUL bytes (blocks a crash left unwritten) readable: those lines are reported one by one
 * and the events around them are kept.
 */
export function looksBinary(b: Buffer): boolean {
  const n = Math.min(b.length, 8192);
  let start = 0;
  while (start < n && (b[start] === 0x20 || b[start] === 0x09 || b[start] === 0x0d || b[start] === 0x0a)) start++;
  const nl = b.indexOf(0x0a, start);
  const end = nl !== -1 && nl < n && nl - start >= FIRST_LINE_JUDGES ? nl : n;
  let control = 0;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === 0) return true;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c && c !== 0x1b) control++;
  }
  return control * 10 > end - start;
}

// A first line at least this long decides alone; every audit event line is longer.
const FIRST_LINE_JUDGES = 64;
