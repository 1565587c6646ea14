/**
 * Logs Insights lexer: query text → tokens, with every problem returned as data.
 *
 * Two hazards drive the design (grammar-notes.md §2):
 *  - `/` is both division and a regex delimiter. A regex may only start right after `like`,
 *    `=~`, `~=`, or in a `parse` command before/after its source field; everywhere else `/`
 *    is division. The previous tokens decide, so the lexer runs once over the whole text.
 *  - `|` and `#` inside strings, regexes and backticks are data, so pipes and comments are
 *    recognised on tokens, never by splitting the raw text.
 */
import type { PeriodUnit } from './insights-ast.js';

export type TokenKind = 'name' | 'string' | 'regex' | 'number' | 'period' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Offset of the first character and one past the last. */
  readonly start: number;
  readonly end: number;
  /** name: dotted text; string: unescaped value; regex: pattern; number/period: source; punct: the operator. */
  readonly text: string;
  /** name only: path segments (backticks removed) and which were backticked. */
  readonly segments?: readonly string[];
  readonly quoted?: readonly boolean[];
  /** regex only: trailing flags. */
  readonly flags?: string;
  /** number and period: the numeric value; period: the unit. */
  readonly value?: number;
  readonly unit?: PeriodUnit;
}

export interface LexProblem {
  readonly start: number;
  readonly length: number;
  readonly message: string;
  readonly hint: string;
}

export interface LexResult {
  readonly tokens: readonly Token[];
  readonly errors: readonly LexProblem[];
}

/** Longest operators first so `<=` wins over `<`. */
const PUNCT = [
  '==',
  '=~',
  '~=',
  '!=',
  '<=',
  '>=',
  '|',
  ',',
  '(',
  ')',
  '[',
  ']',
  '=',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
] as const;

/** Period unit spellings (D-STATS; plurals of multi-letter units accepted). */
const UNIT_SPELLINGS: Readonly<Record<string, PeriodUnit>> = (() => {
  const table: Record<string, PeriodUnit> = {};
  const add = (unit: PeriodUnit, ...names: string[]): void => {
    for (const n of names) {
      table[n] = unit;
      if (n.length > 1) table[`${n}s`] = unit;
    }
  };
  add('ms', 'ms', 'msec', 'millisecond');
  add('s', 's', 'sec', 'second');
  add('m', 'm', 'min', 'minute');
  add('h', 'h', 'hr', 'hour');
  add('d', 'd', 'day');
  add('w', 'w', 'week');
  add('mo', 'mo', 'mon', 'month');
  add('q', 'q', 'qtr', 'quarter');
  add('y', 'y', 'yr', 'year');
  return table;
})();

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isWordChar = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c === '_';
const isNameStart = (c: string): boolean =>
  (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === '@' || c === '`';

function isKeyword(t: Token | undefined, word: string): boolean {
  return (
    t !== undefined &&
    t.kind === 'name' &&
    t.segments?.length === 1 &&
    t.quoted?.[0] === false &&
    t.text.toLowerCase() === word
  );
}

export function lexInsights(text: string): LexResult {
  const tokens: Token[] = [];
  const errors: LexProblem[] = [];
  let i = 0;
  // Index in `tokens` of the first token of the current command (after the last `|`).
  let commandStart = 0;

  const regexAllowed = (): boolean => {
    const prev = tokens[tokens.length - 1];
    if (prev === undefined) return false;
    if (prev.kind === 'punct' && (prev.text === '=~' || prev.text === '~=')) return true;
    if (isKeyword(prev, 'like')) return true;
    // `parse /re/` (source defaults to @message) and `parse field /re/`.
    const first = tokens[commandStart];
    if (!isKeyword(first, 'parse')) return false;
    const n = tokens.length - commandStart;
    return n === 1 || (n === 2 && prev.kind === 'name');
  };

  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      // A comment runs to the end of the line, whether it starts the line or follows code.
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'") {
      let value = '';
      i++;
      let closed = false;
      while (i < text.length) {
        const d = text[i]!;
        if (d === '\\' && i + 1 < text.length) {
          const e = text[i + 1]!;
          // Only the quote and the backslash are escapes (EKS-041 `\"`); other pairs stay verbatim.
          value += e === c || e === '\\' ? e : `\\${e}`;
          i += 2;
          continue;
        }
        if (d === c) {
          closed = true;
          i++;
          break;
        }
        value += d;
        i++;
      }
      if (!closed) {
        errors.push({ start, length: i - start, message: 'unterminated string', hint: `close it with ${c}` });
      }
      tokens.push({ kind: 'string', start, end: i, text: value });
      continue;
    }
    if (c === '/' && regexAllowed()) {
      let pattern = '';
      let inClass = false;
      let closed = false;
      i++;
      while (i < text.length) {
        const d = text[i]!;
        if (d === '\\' && i + 1 < text.length) {
          const e = text[i + 1]!;
          pattern += e === '/' ? '/' : `\\${e}`;
          i += 2;
          continue;
        }
        if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) {
          closed = true;
          i++;
          break;
        }
        pattern += d;
        i++;
      }
      if (!closed) {
        errors.push({
          start,
          length: i - start,
          message: 'unterminated regular expression',
          hint: 'end it with / (write \\/ for a literal slash)',
        });
      }
      let flags = '';
      while (closed && i < text.length && /[A-Za-z]/.test(text[i]!)) flags += text[i++];
      tokens.push({ kind: 'regex', start, end: i, text: pattern, flags });
      continue;
    }
    if (isDigit(c)) {
      while (i < text.length && isDigit(text[i]!)) i++;
      if (text[i] === '.' && i + 1 < text.length && isDigit(text[i + 1]!)) {
        i++;
        while (i < text.length && isDigit(text[i]!)) i++;
      }
      const numText = text.slice(start, i);
      const unitStart = i;
      while (i < text.length && isWordChar(text[i]!)) i++;
      const unitText = text.slice(unitStart, i);
      if (unitText === '') {
        tokens.push({ kind: 'number', start, end: i, text: numText, value: Number(numText) });
        continue;
      }
      const unit = UNIT_SPELLINGS[unitText.toLowerCase()];
      if (unit === undefined) {
        errors.push({
          start,
          length: i - start,
          message: `'${text.slice(start, i)}' is neither a number nor a time period`,
          hint: 'time periods are written like 5m, 30s, 1h, 1d; field names cannot start with a digit',
        });
      }
      tokens.push({
        kind: 'period',
        start,
        end: i,
        text: text.slice(start, i),
        value: Number(numText),
        unit: unit ?? 's',
      });
      continue;
    }
    if (isNameStart(c)) {
      const segments: string[] = [];
      const quoted: boolean[] = [];
      let prefix = '';
      while (text[i] === '@') {
        prefix += '@';
        i++;
      }
      let ok = true;
      for (;;) {
        if (text[i] === '`') {
          const close = text.indexOf('`', i + 1);
          if (close < 0) {
            errors.push({
              start: i,
              length: text.length - i,
              message: 'unterminated backtick name',
              hint: 'close it with `',
            });
            segments.push(prefix + text.slice(i + 1));
            quoted.push(true);
            i = text.length;
            break;
          }
          segments.push(prefix + text.slice(i + 1, close));
          quoted.push(true);
          i = close + 1;
        } else if (i < text.length && isWordChar(text[i]!)) {
          const s = i;
          while (i < text.length && isWordChar(text[i]!)) i++;
          segments.push(prefix + text.slice(s, i));
          quoted.push(false);
        } else {
          ok = false;
          break;
        }
        prefix = '';
        // A dot continues the name only when another segment follows it.
        if (text[i] === '.' && i + 1 < text.length && (isWordChar(text[i + 1]!) || text[i + 1] === '`')) i++;
        else break;
      }
      if (!ok && segments.length === 0) {
        errors.push({
          start,
          length: Math.max(1, i - start),
          message: `'${text.slice(start, i + 1)}' is not a valid field name`,
          hint: 'write @ followed by a name, e.g. @timestamp',
        });
        if (i === start) i++;
        continue;
      }
      tokens.push({ kind: 'name', start, end: i, text: segments.join('.'), segments, quoted });
      continue;
    }
    const op = PUNCT.find((p) => text.startsWith(p, i));
    if (op !== undefined) {
      i += op.length;
      tokens.push({ kind: 'punct', start, end: i, text: op });
      if (op === '|') commandStart = tokens.length;
      continue;
    }
    errors.push({
      start,
      length: 1,
      message: `unexpected character '${c}'`,
      hint:
        c === ':'
          ? 'put names containing special characters in backticks, e.g. `aws:tag`'
          : 'names with special characters go in backticks, text in quotes',
    });
    i++;
  }
  tokens.push({ kind: 'eof', start: text.length, end: text.length, text: '' });
  return { tokens, errors };
}

/** 1-based line and column of an offset. */
export function locate(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let k = 0; k < end; k++) {
    if (text.charCodeAt(k) === 10) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}
