/**
 * Regexes from rules run on attacker-controlled log values, so they must not be able to
 * backtrack for minutes (`a.*a.*a.*b`, `^(a|a)*$` on a long run of 'a').
 *
 * V8 has a linear-time (automaton) regex engine. It is about 100x slower than the usual
 * backtracking engine, so it is not used directly: V8's "fall back on excessive backtracks"
 * mode runs each regex on the fast engine and switches it to the linear engine once it has
 * backtracked too often. That only works for regexes the linear engine can run, so every rule
 * regex is checked against it (the `l` flag) when the rule loads, and a regex it cannot run
 * is rejected with a clear message. The linear engine has no case-insensitive mode, so `re|i`
 * is rewritten into an equivalent case-folded pattern (`a` → `[aA]`).
 *
 * The V8 flags are process-wide and only change how long a pathological regex can run, never
 * what a regex matches. When the running Node has no such flags, the loader falls back to
 * refusing the classic exponential shapes (see checkRegex in sigma-modifiers.ts) and capping
 * inputs (REGEX_INPUT_CAP); `linearRegexAvailable()` says which protection is in force.
 */
import { setFlagsFromString } from 'node:v8';
import type { RegexFlags } from './sigma-ast.js';

let available: boolean | undefined;

/** Turn on V8's linear-engine fallback once; true when this Node supports it. */
export function linearRegexAvailable(): boolean {
  if (available !== undefined) return available;
  try {
    setFlagsFromString('--enable-experimental-regexp-engine');
    setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
    new RegExp('a', 'l');
    available = true;
  } catch {
    available = false;
  }
  return available;
}

/** Case variants of one character that are themselves one UTF-16 unit. */
function caseVariants(ch: string): string[] {
  const out = new Set([ch]);
  for (const v of [ch.toLowerCase(), ch.toUpperCase()]) if (v.length === 1) out.add(v);
  return [...out];
}

/** A character as it may appear inside a class. */
function classChar(ch: string): string {
  return /[\\\]^-]/.test(ch) ? `\\${ch}` : ch;
}

/** Length of the escape starting at source[i] (a backslash), including the backslash. */
function escapeLength(source: string, i: number): number {
  const c = source[i + 1];
  if (c === undefined) return 1;
  if (c === 'x') return 4;
  if (c === 'u') {
    if (source[i + 2] === '{') {
      const end = source.indexOf('}', i + 3);
      return end < 0 ? 2 : end - i + 1;
    }
    return 6;
  }
  if (c === 'c') return 3;
  if ((c === 'p' || c === 'P' || c === 'k') && source[i + 2] === '{') {
    const end = source.indexOf('}', i + 3);
    return end < 0 ? 2 : end - i + 1;
  }
  return 2;
}

/**
 * The same language as `new RegExp(source, 'i')` (for the characters JavaScript folds one to
 * one), without the `i` flag. Null when a class range cannot be folded simply (non-ASCII
 * letter ranges): the caller then rejects the regex rather than guess.
 */
export function foldCase(source: string): string | null {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '\\') {
      const n = escapeLength(source, i);
      out += source.slice(i, i + n);
      i += n;
      continue;
    }
    if (ch === '{') {
      // Quantifier braces hold digits and a comma only; copy them as they are.
      const m = /^\{\d+(,\d*)?\}/.exec(source.slice(i));
      if (m !== null) {
        out += m[0];
        i += m[0].length;
        continue;
      }
    }
    if (ch === '(' && source[i + 1] === '?') {
      // (?: … ): copy the group marker; named groups were refused before we get here.
      out += '(?';
      i += 2;
      continue;
    }
    if (ch === '[') {
      const folded = foldClass(source, i);
      if (folded === null) return null;
      out += folded.text;
      i = folded.end;
      continue;
    }
    const vs = caseVariants(ch);
    out += vs.length === 1 ? ch : `[${vs.map(classChar).join('')}]`;
    i++;
  }
  return out;
}

/** Fold the class starting at source[start] ('['); returns the new class and where it ended. */
function foldClass(source: string, start: number): { text: string; end: number } | null {
  let i = start + 1;
  let head = '[';
  if (source[i] === '^') {
    head += '^';
    i++;
  }
  let body = '';
  let extra = '';
  // In JavaScript a ']' right after '[' or '[^' closes the class ([] matches nothing).
  while (i < source.length && source[i] !== ']') {
    let item: string;
    let single: string | null = null;
    if (source[i] === '\\') {
      const n = escapeLength(source, i);
      item = source.slice(i, i + n);
      i += n;
    } else {
      item = source[i]!;
      single = item;
      i++;
    }
    if (
      source[i] === '-' &&
      source[i + 1] !== undefined &&
      source[i + 1] !== ']' &&
      single !== null &&
      source[i + 1] !== '\\'
    ) {
      const hi = source[i + 1]!;
      i += 2;
      body += `${item}-${hi}`;
      const lo = single.charCodeAt(0);
      const up = hi.charCodeAt(0);
      if (lo > 0x7f || up > 0x7f) {
        // Outside ASCII only fold ranges without letters; anything else is refused.
        for (let c = lo; c <= up && c - lo < 0x10000; c++) {
          const s = String.fromCharCode(c);
          if (s.toLowerCase() !== s.toUpperCase()) return null;
        }
        continue;
      }
      const overlap = (a: number, b: number): [number, number] | null =>
        Math.max(lo, a) <= Math.min(up, b) ? [Math.max(lo, a), Math.min(up, b)] : null;
      const upper = overlap(0x41, 0x5a);
      const lower = overlap(0x61, 0x7a);
      if (upper !== null) extra += `${String.fromCharCode(upper[0] + 32)}-${String.fromCharCode(upper[1] + 32)}`;
      if (lower !== null) extra += `${String.fromCharCode(lower[0] - 32)}-${String.fromCharCode(lower[1] - 32)}`;
      // 'k' and 's' also fold from the Kelvin sign and long s only with the u flag; not here.
      continue;
    }
    body += item;
    if (single !== null) for (const v of caseVariants(single)) if (v !== single) extra += classChar(v);
  }
  if (i >= source.length) return null; // unterminated: RegExp will report it
  return { text: `${head}${body}${extra}]`, end: i + 1 };
}

export interface SafeRegex {
  /** Pattern and flags to give RegExp (no `i`: folded into the pattern). */
  readonly source: string;
  readonly flags: string;
}

/**
 * The pattern and flags a rule regex runs with, or why it cannot run safely. Call once per
 * rule regex at load time.
 */
export function prepareRuleRegex(source: string, flags: RegexFlags): SafeRegex | { readonly error: string } {
  let pattern = source;
  const extra = (flags.multiline ? 'm' : '') + (flags.dotAll ? 's' : '');
  if (!linearRegexAvailable()) return { source, flags: (flags.ignoreCase ? 'i' : '') + extra };
  if (flags.ignoreCase) {
    const folded = foldCase(source);
    if (folded === null)
      return {
        error:
          'regex with |i uses a character range over non-ASCII letters, which cannot be matched in linear time; list the characters instead',
      };
    pattern = folded;
  }
  try {
    new RegExp(pattern, extra + 'l');
  } catch (e) {
    const message = (e as Error).message;
    if (/linear/i.test(message))
      return {
        error:
          'regex cannot be run by a linear-time engine (log values are attacker-controlled); avoid backreferences, lookaround and very large repeat counts',
      };
    return { error: `invalid regular expression: ${message}` };
  }
  return { source: pattern, flags: extra };
}
