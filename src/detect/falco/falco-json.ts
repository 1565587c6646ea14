/**
 * How the k8saudit and json plugins turn JSON values into field strings (fields.md rule 5):
 * fastjson `MarshalTo` (compact, keys in source order, strings quoted as-is unless they need
 * escaping, then Go `strconv.AppendQuote`), Go `json.Indent` for `jevt.obj`, and RFC 6901
 * pointers for `jevt.value[...]`.
 *
 * Known differences, because events arrive already parsed by JSON.parse: numbers print in
 * JavaScript's shortest form, not their raw source text (`1.0` prints `1`, `1e3` prints
 * `1000`), and object keys that look like array indexes come first (JS property order). Audit
 * events almost never contain either.
 */

/** Scalar string as the plugins expose it: strings unquoted, everything else marshalled. */
export function renderValue(v: unknown): string {
  if (typeof v === 'string') return v;
  return marshal(v);
}

// Log JSON can nest arbitrarily deep (JSON.parse accepts it) and these writers recurse: past this
// depth a value is written as null instead of overflowing the stack. Upstream's fastjson refuses
// documents nested deeper than 300, so Falco never sees such events at all.
const MAX_DEPTH = 1000;

/** fastjson MarshalTo: compact JSON. */
export function marshal(v: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) return 'null';
  switch (typeof v) {
    case 'string':
      return quoteFast(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        let s = '[';
        for (let i = 0; i < v.length; i++) {
          if (i > 0) s += ',';
          s += marshal(v[i], depth + 1);
        }
        return s + ']';
      }
      let s = '{';
      let first = true;
      for (const k in v as Record<string, unknown>) {
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        if (!first) s += ',';
        first = false;
        s += quoteFast(k) + ':' + marshal((v as Record<string, unknown>)[k], depth + 1);
      }
      return s + '}';
    }
    default:
      return 'null';
  }
}

// Strings without `"`, `\` or control characters are written between quotes unchanged.
const NEEDS_QUOTING = /["\\\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff\ud800-\udfff]/;

function quoteFast(s: string): string {
  return NEEDS_QUOTING.test(s) ? goQuote(s) : '"' + s + '"';
}

const GO_ESCAPE =
  /["\\\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Go strconv.Quote for the characters audit logs can carry. */
export function goQuote(s: string): string {
  return '"' + s.replace(GO_ESCAPE, (c) => goQuoteSlow(c).slice(1, -1)) + '"';
}

function goQuoteSlow(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c < 0x20 || c === 0x7f) {
      switch (c) {
        case 0x07:
          out += '\\a';
          break;
        case 0x08:
          out += '\\b';
          break;
        case 0x0c:
          out += '\\f';
          break;
        case 0x0a:
          out += '\\n';
          break;
        case 0x0d:
          out += '\\r';
          break;
        case 0x09:
          out += '\\t';
          break;
        case 0x0b:
          out += '\\v';
          break;
        default:
          out += '\\x' + c.toString(16).padStart(2, '0');
      }
    } else if ((c >= 0x80 && c <= 0x9f) || c === 0x2028 || c === 0x2029 || c === 0xfeff) {
      out += '\\u' + c.toString(16).padStart(4, '0');
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out += s[i]! + s[i + 1]!;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += '\\ufffd'; // a lone surrogate cannot be valid UTF-8
    } else out += s[i]!;
  }
  return out + '"';
}

/** Go json.Indent(compact, "", "  ") of the marshalled value (jevt.obj). */
export function marshalIndented(v: unknown, indent = ''): string {
  if (typeof v !== 'object' || v === null) return marshal(v);
  if (indent.length > 2 * MAX_DEPTH) return 'null';
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    let s = '[\n';
    for (let i = 0; i < v.length; i++) s += inner + marshalIndented(v[i], inner) + (i + 1 < v.length ? ',\n' : '\n');
    return s + indent + ']';
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return '{}';
  let s = '{\n';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    s +=
      inner +
      quoteFast(k) +
      ': ' +
      marshalIndented((v as Record<string, unknown>)[k], inner) +
      (i + 1 < keys.length ? ',\n' : '\n');
  }
  return s + indent + '}';
}

/**
 * Compile an RFC 6901 pointer (json plugin: leading `/` optional, `~1` then `~0` unescaped per
 * token, array elements by decimal index). Returns an accessor; `undefined` means absent.
 */
export function compilePointer(pointer: string): (root: unknown) => unknown {
  const p = pointer.startsWith('/') ? pointer.slice(1) : pointer;
  if (p === '') return (root) => root;
  const tokens = p.split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  const indexes = tokens.map((t) => (/^(?:0|[1-9][0-9]*)$/.test(t) ? Number(t) : -1));
  return (root) => {
    let cur: unknown = root;
    for (let i = 0; i < tokens.length; i++) {
      if (cur === null || typeof cur !== 'object') return undefined;
      if (Array.isArray(cur)) {
        const ix = indexes[i]!;
        if (ix < 0 || ix >= cur.length) return undefined;
        cur = cur[ix];
      } else {
        const t = tokens[i]!;
        if (!Object.prototype.hasOwnProperty.call(cur, t)) return undefined;
        cur = (cur as Record<string, unknown>)[t];
      }
    }
    return cur;
  };
}
