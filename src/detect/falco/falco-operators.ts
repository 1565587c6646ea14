/**
 * String matching primitives with libsinsp semantics (filter_compare.cpp): fnmatch-style glob
 * without FNM_PATHNAME, ASCII case folding as strcasestr, path-prefix match for pmatch, and a
 * full-match regex on V8's linear-time engine. All are linear or O(n·m), with no exponential
 * backtracking on hostile log text.
 */
import { setFlagsFromString } from 'node:v8';

/** ASCII-only lowercase, like strcasestr/FNM_CASEFOLD in the C locale. */
export function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

interface GlobClass {
  readonly negate: boolean;
  readonly ranges: readonly (readonly [number, number])[];
}
type GlobToken = { t: 'lit'; c: number } | { t: 'any' } | { t: 'star' } | { t: 'class'; cls: GlobClass };

function tokenizeGlob(pattern: string): GlobToken[] {
  const out: GlobToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (out[out.length - 1]?.t !== 'star') out.push({ t: 'star' });
    } else if (c === '?') out.push({ t: 'any' });
    else if (c === '\\' && i + 1 < pattern.length) out.push({ t: 'lit', c: pattern.charCodeAt(++i) });
    else if (c === '[') {
      // A bracket expression; if it never closes, '[' is literal (fnmatch behaviour).
      let j = i + 1;
      let negate = false;
      if (pattern[j] === '!' || pattern[j] === '^') {
        negate = true;
        j++;
      }
      const ranges: [number, number][] = [];
      let first = true;
      let closed = false;
      while (j < pattern.length) {
        let ch = pattern[j]!;
        if (ch === ']' && !first) {
          closed = true;
          break;
        }
        first = false;
        if (ch === '\\' && j + 1 < pattern.length) ch = pattern[++j]!;
        const lo = ch.charCodeAt(0);
        if (pattern[j + 1] === '-' && j + 2 < pattern.length && pattern[j + 2] !== ']') {
          let hiCh = pattern[j + 2]!;
          j += 2;
          if (hiCh === '\\' && j + 1 < pattern.length) hiCh = pattern[++j]!;
          ranges.push([lo, hiCh.charCodeAt(0)]);
        } else ranges.push([lo, lo]);
        j++;
      }
      if (!closed) out.push({ t: 'lit', c: 0x5b });
      else {
        out.push({ t: 'class', cls: { negate, ranges } });
        i = j;
      }
    } else out.push({ t: 'lit', c: pattern.charCodeAt(i) });
  }
  return out;
}

function classHas(cls: GlobClass, c: number, fold: boolean): boolean {
  let hit = false;
  for (const [lo, hi] of cls.ranges) {
    if (c >= lo && c <= hi) hit = true;
    else if (fold) {
      const alt = c >= 0x41 && c <= 0x5a ? c + 32 : c >= 0x61 && c <= 0x7a ? c - 32 : c;
      if (alt >= lo && alt <= hi) hit = true;
    }
    if (hit) break;
  }
  return hit !== cls.negate;
}

/** Compile an fnmatch(pattern, s, 0 | FNM_CASEFOLD) matcher: `*` also matches `/`. */
export function compileGlob(pattern: string, caseFold: boolean): (s: string) => boolean {
  const toks = tokenizeGlob(caseFold ? asciiLower(pattern) : pattern);
  const one = (tok: GlobToken, c: number): boolean => {
    switch (tok.t) {
      case 'lit':
        return tok.c === c;
      case 'any':
        return true;
      case 'class':
        return classHas(tok.cls, c, caseFold);
      case 'star':
        return false;
    }
  };
  // Classic two-pointer wildcard match with backtracking to the last star only: O(n·m).
  return (input) => {
    const s = caseFold ? asciiLower(input) : input;
    let ti = 0;
    let si = 0;
    let starT = -1;
    let starS = 0;
    while (si < s.length) {
      const tok = toks[ti];
      if (tok !== undefined && tok.t === 'star') {
        starT = ti++;
        starS = si;
      } else if (tok !== undefined && one(tok, s.charCodeAt(si))) {
        ti++;
        si++;
      } else if (starT >= 0) {
        ti = starT + 1;
        si = ++starS;
      } else return false;
    }
    while (toks[ti]?.t === 'star') ti++;
    return ti === toks.length;
  };
}

/**
 * pmatch: the value matches when one of the paths is a component-wise prefix of it, each
 * component compared as a glob (`/tmp/hello` matches `/tmp/hello/world`, not `/tmp/hello_world`).
 */
export function compilePathMatch(paths: readonly string[]): (s: string) => boolean {
  // A trailing slash does not add a component: `/etc/` and `/etc` are the same prefix.
  const split = (p: string) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p === '/' ? '' : p).split('/');
  const patterns = paths.map((p) =>
    split(p).map((c) => (/[*?[]/.test(c) ? compileGlob(c, false) : (x: string) => x === c)),
  );
  return (value) => {
    const comps = split(value);
    outer: for (const pat of patterns) {
      if (pat.length > comps.length) continue;
      for (let i = 0; i < pat.length; i++) if (!pat[i]!(comps[i]!)) continue outer;
      return true;
    }
    return false;
  };
}

/**
 * RE2 full match with a JavaScript RegExp anchored at both ends. Patterns RE2 rejects
 * (backreferences, lookaround) are refused. Log text is hostile, so the regex runs on V8's
 * linear-time engine (the `l` flag, enabled on first use; like RE2 it never backtracks):
 * `(a|aa)*b` on a long run of `a` takes microseconds instead of hanging the process. Only when
 * that engine is unavailable, or the pattern needs Unicode mode (`\p{…}`, `\u{…}`), does the
 * backtracking engine run, and then patterns with nested quantifiers or a repeated alternation
 * (exponential backtracking) are refused.
 */
export function compileRegex(
  pattern: string,
): { ok: true; test: (s: string) => boolean } | { ok: false; message: string } {
  if (/\\[1-9]|\\k<|\(\?[=!<]/.test(pattern))
    return { ok: false, message: `regex '${pattern}' uses backreferences or lookaround, which RE2 does not support` };
  const source = `^(?:${pattern})$`;
  try {
    new RegExp(source, 'u'); // syntax check in the strict (Unicode) grammar, closest to RE2's
  } catch (e) {
    return { ok: false, message: `invalid regex '${pattern}': ${(e as Error).message}` };
  }
  if (!/\\[pPu]\{/.test(pattern)) {
    const re = linearRegExp(source);
    if (re !== null) return { ok: true, test: (s) => re.test(s) };
  }
  if (hasRiskyRepetition(pattern))
    return {
      ok: false,
      message: `regex '${pattern}' has a repeated group that itself repeats or alternates (exponential backtracking risk); rewrite it`,
    };
  const re = new RegExp(source, 'u');
  return { ok: true, test: (s) => re.test(s) };
}

let linearEngine: boolean | undefined;

/** A RegExp on V8's linear-time engine, or null when this V8 cannot run the pattern that way. */
function linearRegExp(source: string): RegExp | null {
  if (linearEngine === undefined) {
    linearEngine = false;
    try {
      // Only enables the `l` flag: regexes without it are unaffected.
      setFlagsFromString('--enable-experimental-regexp-engine');
      new RegExp('a', 'l');
      linearEngine = true;
    } catch {
      // an older or different engine: the backtracking fallback and its refusals apply
    }
  }
  if (!linearEngine) return null;
  try {
    return new RegExp(source, 'l');
  } catch {
    return null;
  }
}

/**
 * Patterns that backtrack catastrophically on a backtracking engine: a quantified group that
 * contains a quantifier (`(a+)+`) or an alternation (`(a|aa)*`, `(\w|\d)+`). One pass over the
 * pattern, skipping escapes and character classes.
 */
function hasRiskyRepetition(p: string): boolean {
  // Per open group: does it contain a quantifier, an alternation?
  const stack: { quant: boolean; alt: boolean }[] = [];
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    const top = stack[stack.length - 1];
    if (c === '[') inClass = true;
    else if (c === '(') stack.push({ quant: false, alt: false });
    else if (c === '|') {
      if (top !== undefined) top.alt = true;
    } else if (c === ')') {
      const g = stack.pop() ?? { quant: false, alt: false };
      const n = p[i + 1];
      if ((g.quant || g.alt) && (n === '*' || n === '+' || n === '{')) return true;
      const parent = stack[stack.length - 1];
      if (g.quant && parent !== undefined) parent.quant = true;
    } else if (c === '*' || c === '+' || c === '?' || c === '{') {
      if (top !== undefined) top.quant = true;
    }
  }
  return false;
}
