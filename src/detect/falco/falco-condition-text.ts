/**
 * Condition text before parsing: Falco builds it as a string. Exceptions are appended as
 * text (`build_rule_exception_infos`), lists are substituted as text (`resolve_list`), then the
 * result is parsed. `SourceText` carries, beside the text, how to map every offset back to a
 * file line and column, so errors point at what the user wrote.
 */

export interface TextLocation {
  readonly line: number;
  readonly column: number;
}

/** Text plus a locator from offsets to file positions. */
export class SourceText {
  constructor(
    readonly text: string,
    readonly locate: (offset: number) => TextLocation,
  ) {}

  static fixed(text: string, where: TextLocation): SourceText {
    return new SourceText(text, () => where);
  }

  /** Concatenate pieces; locations of each piece are kept. */
  static concat(parts: readonly (SourceText | string)[], fallback: TextLocation): SourceText {
    let text = '';
    const segs: { at: number; src: SourceText }[] = [];
    for (const p of parts) {
      if (typeof p === 'string') text += p;
      else {
        segs.push({ at: text.length, src: p });
        text += p.text;
      }
    }
    return new SourceText(text, (offset) => {
      for (let i = segs.length - 1; i >= 0; i--) {
        const s = segs[i]!;
        if (offset >= s.at) return s.src.locate(Math.min(offset - s.at, Math.max(0, s.src.text.length - 1)));
      }
      return fallback;
    });
  }
}

const BLANKS = ' \t\n\r';
const DELIMS = BLANKS + '(),=';

export interface NamedList {
  readonly name: string;
  /** Items after one-level expansion and quoting, ready to paste. */
  readonly items: readonly string[];
}

/**
 * Falco's `resolve_list`, applied for every list in definition order. Each occurrence of the
 * name delimited by start/end or one of ` \t\n\r(),=` is replaced, with the blanks around it,
 * by `items.join(", ") + " "` (and a space before it); an empty list also eats one adjacent
 * comma. Names that are not lists stay as they are (they then parse as bare strings).
 * Returns the new text with a locator that maps back to the original.
 */
export function substituteLists(src: SourceText, lists: readonly NamedList[], used?: Set<string>): SourceText {
  let text = src.text;
  // origin[i] = offset in src.text of the character now at i.
  let origin: number[] | null = null;
  for (const list of lists) {
    if (list.name === '' || !text.includes(list.name)) continue;
    let start = text.indexOf(list.name);
    while (start >= 0) {
      let end = start + list.name.length;
      const before = start === 0 || DELIMS.includes(text[start - 1]!);
      const after = end >= text.length || DELIMS.includes(text[end]!);
      if (!(before && after)) {
        start = text.indexOf(list.name, start + 1);
        continue;
      }
      used?.add(list.name);
      const nameAt = start;
      while (start > 0 && BLANKS.includes(text[start - 1]!)) start--;
      while (end < text.length && BLANKS.includes(text[end]!)) end++;
      const sub = list.items.join(', ');
      if (sub === '') {
        if (start > 0 && text[start - 1] === ',') start--;
        else if (end < text.length && text[end] === ',') end++;
      }
      const prefix = start > 0 ? text.slice(0, start) + ' ' : '';
      const inserted = (start > 0 ? 1 : 0) + sub.length + 1;
      const next = prefix + sub + ' ' + text.slice(end);
      if (origin === null) origin = Array.from({ length: text.length }, (_, i) => i);
      const o: number[] = origin;
      const mapped = o[nameAt] ?? nameAt;
      origin = [...o.slice(0, start), ...new Array<number>(inserted).fill(mapped), ...o.slice(end)];
      text = next;
      start = text.indexOf(list.name, start + inserted);
    }
  }
  if (origin === null) return src;
  const o: number[] = origin;
  return new SourceText(text, (offset) => src.locate(o[Math.min(offset, o.length - 1)] ?? 0));
}

/** Falco's item quoting: an item with a space that does not start with a quote is wrapped in "…". */
export function quoteListItem(item: string): string {
  return item.includes(' ') && !item.startsWith('"') && !item.startsWith("'") ? `"${item}"` : item;
}

export interface ExceptionSpec {
  readonly name: string;
  /** One field (single form) or several (tuple form). */
  readonly fields: string | readonly string[];
  readonly comps: string | readonly string[];
  /** Tuple form: each entry a tuple of items (an item may be a list); single form: scalars. */
  readonly values: readonly (string | readonly (string | readonly string[])[])[];
  readonly where: TextLocation;
}

const LIST_COMPS = new Set(['in', 'intersects', 'pmatch']);

export function isListComp(comp: string): boolean {
  return LIST_COMPS.has(comp) || /\s(oneof|anyof|allof)$/.test(comp.trim());
}

function exceptionValue(item: string | readonly string[], comp: string): string {
  if (typeof item !== 'string') return `(${item.map(quoteListItem).join(', ')})`;
  if (isListComp(comp)) return `(${item})`;
  return quoteListItem(item);
}

/** The text one exception adds (without the leading ` and not `), or null when it has no values. */
export function exceptionCondition(ex: ExceptionSpec): string | null {
  if (ex.values.length === 0) return null;
  if (typeof ex.fields === 'string') {
    const comp = typeof ex.comps === 'string' ? ex.comps : 'in';
    const items = ex.values.map((v) =>
      typeof v === 'string'
        ? quoteListItem(v)
        : `(${v.map((x) => (typeof x === 'string' ? x : x.join(', '))).join(', ')})`,
    );
    return `(${ex.fields} ${comp} (${items.join(', ')}))`;
  }
  const fields = ex.fields;
  const comps = typeof ex.comps === 'string' ? fields.map(() => ex.comps as string) : ex.comps;
  const tuples = ex.values.map((tuple) => {
    const t = typeof tuple === 'string' ? [tuple] : tuple;
    return (
      '(' +
      fields.map((f, i) => `${f} ${comps[i] ?? '='} ${exceptionValue(t[i] ?? '', comps[i] ?? '=')}`).join(' and ') +
      ')'
    );
  });
  return `(${tuples.join(' or ')})`;
}

/** `(original)` + ` and not <exception>` for each exception with values. */
export function withExceptions(cond: SourceText, exceptions: readonly ExceptionSpec[]): SourceText {
  const parts: (SourceText | string)[] = [];
  for (const ex of exceptions) {
    const c = exceptionCondition(ex);
    if (c !== null) parts.push(' and not ', SourceText.fixed(c, ex.where));
  }
  if (parts.length === 0) return cond;
  return SourceText.concat(['(', cond, ')', ...parts], cond.locate(0));
}
