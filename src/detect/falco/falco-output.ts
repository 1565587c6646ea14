/**
 * Rule output formats, as libsinsp's eventformatter and Falco's formats.cpp render them:
 * `%field` (optionally `%20field` for a fixed width) takes the longest prefix that names a
 * known field, so `%ka.target.name/%ka.target.resource` works; values that cannot be
 * extracted print `<NA>`; list fields print `(a,b)`; control characters in the final message
 * are JSON-escaped, as Falco does for its text output. The format is compiled once.
 */
import type { AuditEvent } from '../../model/audit-event.js';
import { compileFieldRef } from './falco-condition-compiler.js';
import type { FieldExtractor } from './falco-fields.js';

export interface OutputFormatError {
  readonly offset: number;
  readonly length: number;
  readonly message: string;
  readonly unknownFilter?: boolean;
}

export interface CompiledOutput {
  /** Renders the message for one event. */
  readonly render: (event: AuditEvent) => string;
  /** Field tokens in order, e.g. `ka.user.name`, `jevt.value[/stage]` (Falco's output_fields keys). */
  readonly fields: readonly string[];
  /** Values of every field token for one event (absent: null), like Falco's output_fields. */
  readonly values: (event: AuditEvent) => Record<string, string | readonly string[] | null>;
}

type Part = string | { readonly extract: FieldExtractor; readonly width: number; readonly key: string };

const RE_NAME = /[a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+/y;
const RE_TRANSFORMER = /(?:val|tolower|toupper|b64|basename|len|join|concat|getopt)\(/y;

export function compileOutput(format: string): { value: CompiledOutput | null; errors: readonly OutputFormatError[] } {
  const errors: OutputFormatError[] = [];
  const parts: Part[] = [];
  let lit = '';
  // A leading `*` is the libsinsp flag "print <NA> instead of suppressing"; Falco always sets it.
  let i = format.startsWith('*') ? 1 : 0;
  while (i < format.length) {
    const c = format[i]!;
    if (c !== '%') {
      lit += c;
      i++;
      continue;
    }
    const tokStart = i;
    i++;
    if (i >= format.length) {
      errors.push({ offset: tokStart, length: 1, message: `invalid formatting token: the format ends with '%'` });
      break;
    }
    let width = 0;
    while (i < format.length && format[i]! >= '0' && format[i]! <= '9')
      width = width * 10 + (format.charCodeAt(i++) - 48);
    RE_TRANSFORMER.lastIndex = i;
    if (RE_TRANSFORMER.test(format)) {
      errors.push({
        offset: tokStart,
        length: i - tokStart + 1,
        message: `field transformers are not supported in outputs`,
      });
      i++;
      continue;
    }
    RE_NAME.lastIndex = i;
    const m = RE_NAME.exec(format);
    if (m === null) {
      errors.push({
        offset: tokStart,
        length: Math.max(1, i - tokStart + 1),
        message: `invalid formatting token '${format.slice(tokStart, i + 8)}'`,
      });
      continue;
    }
    // Longest prefix that compiles: the whole dotted name (with an argument if one follows), then shorter ones.
    const full = m[0];
    const segs = full.split('.');
    let done = false;
    let lastError = '';
    for (let n = segs.length; n >= 2 && !done; n--) {
      const name = segs.slice(0, n).join('.');
      let end = i + name.length;
      let arg: string | null = null;
      if (n === segs.length && format[end] === '[') {
        const close = format.indexOf(']', end + 1);
        if (close > end) {
          arg = format.slice(end + 1, close);
          end = close + 1;
        }
      }
      const ref = compileFieldRef(name, arg);
      if (!ref.ok) {
        if (lastError === '') lastError = ref.message;
        continue;
      }
      if (lit !== '') parts.push(lit);
      lit = '';
      parts.push({ extract: ref.extract, width, key: arg === null ? name : `${name}[${arg}]` });
      i = end;
      done = true;
    }
    if (!done) {
      errors.push({
        offset: tokStart,
        length: full.length + 1,
        message: `invalid formatting token '%${full}': ${lastError}`,
        unknownFilter: true,
      });
      i += full.length;
    }
  }
  if (lit !== '') parts.push(lit);
  if (errors.length > 0) return { value: null, errors };
  const frozen = Object.freeze(parts);
  const fieldParts = frozen.filter((p): p is Exclude<Part, string> => typeof p !== 'string');
  return {
    value: Object.freeze({
      render: (event: AuditEvent) => {
        let s = '';
        for (let k = 0; k < frozen.length; k++) {
          const p = frozen[k]!;
          if (typeof p === 'string') s += p;
          else {
            let v = renderField(p.extract(event));
            if (p.width > 0) v = v.length < p.width ? v.padEnd(p.width, ' ') : v.slice(0, p.width);
            s += v;
          }
        }
        return escapeControl(s);
      },
      fields: Object.freeze(fieldParts.map((p) => p.key)),
      values: (event: AuditEvent) => {
        const out: Record<string, string | readonly string[] | null> = {};
        for (const p of fieldParts) out[p.key] = p.extract(event) ?? null;
        return out;
      },
    }),
    errors,
  };
}

/** `<NA>` for absent values, `(a,b)` for lists (libsinsp tostring). */
export function renderField(v: string | readonly string[] | undefined): string {
  if (v === undefined) return '<NA>';
  if (typeof v === 'string') return v;
  return '(' + v.join(',') + ')';
}

// Control characters only; quotes and backslashes stay as they are in a text line.
const CONTROL = /[\u0000-\u001f\u007f]/g;
const HAS_CONTROL = /[\u0000-\u001f\u007f]/;

export function escapeControl(s: string): string {
  return HAS_CONTROL.test(s)
    ? s.replace(CONTROL, (c) => {
        switch (c) {
          case '\n':
            return '\\n';
          case '\r':
            return '\\r';
          case '\t':
            return '\\t';
          case '\b':
            return '\\b';
          case '\f':
            return '\\f';
          default:
            return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
        }
      })
    : s;
}

/**
 * Falco's text alert line: `<evt.time>: <Priority> <message>`, with `evt.time` as
 * HH:MM:SS.nnnnnnnnn, or ISO 8601 with `iso8601` (falco.yaml `time_format_iso_8601`). Times are
 * UTC here (Falco prints local time). `<NA>` when the event has no usable timestamp.
 */
export function falcoAlertLine(
  event: AuditEvent,
  priority: string,
  message: string,
  options: { iso8601?: boolean } = {},
): string {
  const iso = options.iso8601 === true;
  // Compiled once (this runs once per detection).
  const ref = iso
    ? (isoTimeRef ??= compileFieldRef('evt.time.iso8601', null))
    : (timeRef ??= compileFieldRef('evt.time', null));
  const time = ref.ok ? renderField(ref.extract(event)) : '<NA>';
  return `${time}: ${priority} ${message}`;
}

let timeRef: ReturnType<typeof compileFieldRef> | undefined;
let isoTimeRef: ReturnType<typeof compileFieldRef> | undefined;
