/**
 * Reads a Falco rules file into located items, as falco's rule_loader_reader does: YAML
 * documents that are sequences of maps, null entries skipped, each item identified by its
 * first known key (required_engine_version, required_plugin_versions, list, macro, rule).
 * Scalars are read as strings (the failsafe schema, like yaml-cpp's convert<std::string>);
 * booleans are decoded as yaml-cpp does.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Node, type Scalar, type YAMLMap } from 'yaml';
import type { SourceProblem } from '../../model/errors.js';
import { SourceText, type TextLocation } from './falco-condition-text.js';

export type RuleItemKind = 'required_engine_version' | 'required_plugin_versions' | 'list' | 'macro' | 'rule';
const ITEM_KINDS: readonly RuleItemKind[] = [
  'required_engine_version',
  'required_plugin_versions',
  'list',
  'macro',
  'rule',
];

export interface RuleFileItem {
  readonly kind: RuleItemKind;
  readonly map: YAMLMap;
  readonly where: TextLocation;
}

/** Access to one file's nodes with positions. */
export class RuleFileSource {
  readonly #lines = new LineCounter();
  readonly items: RuleFileItem[] = [];
  readonly problems: SourceProblem[] = [];

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    let docs;
    try {
      docs = parseAllDocuments(text, { schema: 'failsafe', lineCounter: this.#lines, uniqueKeys: false });
    } catch (e) {
      this.problems.push({ file, line: 1, column: 1, message: `cannot parse YAML: ${(e as Error).message}` });
      return;
    }
    const list = Array.isArray(docs) ? docs : [docs];
    for (const doc of list) {
      for (const err of doc.errors) {
        const lp = err.linePos?.[0];
        this.problems.push({
          file,
          line: lp?.line ?? 0,
          column: lp?.col ?? 0,
          message: `YAML: ${err.message.split('\n')[0]}`,
        });
      }
      if (doc.errors.length > 0) continue;
      const root = doc.contents;
      if (root === null || (isScalar(root) && (root.value === '' || root.value === null))) continue;
      if (!isSeq(root)) {
        this.problems.push({ ...this.at(root), file, message: 'Rules content is not yaml array of objects' });
        continue;
      }
      for (const it of root.items) {
        if (it === null || (isScalar(it) && (it.value === '' || it.value === null))) continue; // a bare `-`
        if (!isMap(it)) {
          this.problems.push({
            ...this.at(it as Node),
            file,
            message: 'Unexpected element type. Each element should be a yaml associative array.',
          });
          continue;
        }
        const kind = ITEM_KINDS.find((k) => it.has(k));
        if (kind === undefined) {
          this.problems.push({ ...this.at(it), file, severity: 'warning', message: 'Unknown top level item' });
          continue;
        }
        this.items.push({ kind, map: it, where: this.at(it) });
      }
    }
  }

  at(node: Node | null | undefined): TextLocation {
    const off = node?.range?.[0];
    return off === undefined ? { line: 0, column: 0 } : this.atOffset(off);
  }

  atOffset(offset: number): TextLocation {
    const lp = this.#lines.linePos(offset);
    return { line: lp.line, column: lp.col };
  }

  /** Located text of a scalar's value: maps value offsets to file positions (folded/literal blocks included). */
  sourceText(node: Node): SourceText {
    const value = scalarText(node) ?? '';
    const range = node.range;
    if (!isScalar(node) || range === undefined || range === null) return SourceText.fixed(value, this.at(node));
    const raw = this.text.slice(range[0], range[1]);
    let j0 = 0;
    if (raw.startsWith('|') || raw.startsWith('>')) {
      const nl = raw.indexOf('\n');
      j0 = nl < 0 ? raw.length : nl + 1;
    } else if (raw.startsWith('"') || raw.startsWith("'")) j0 = 1;
    let map: Int32Array | null = null;
    const build = (): Int32Array => {
      // Greedy alignment of the value against its source: equal characters advance both,
      // blanks, indentation and escapes in the source are skipped. Linear in the source length.
      const m = new Int32Array(value.length + 1);
      let i = 0;
      let j = j0;
      const ws = (c: string | undefined) => c === ' ' || c === '\n' || c === '\t' || c === '\r';
      while (i < value.length && j < raw.length) {
        if (value[i] === raw[j]) {
          m[i++] = j++;
        } else if (ws(raw[j])) j++;
        else if (ws(value[i])) m[i++] = j;
        else j++;
      }
      for (; i <= value.length; i++) m[i] = Math.min(j, raw.length);
      return m;
    };
    return new SourceText(value, (offset) => {
      map ??= build();
      const o = map[Math.max(0, Math.min(offset, value.length))]!;
      return this.atOffset(range[0] + o);
    });
  }
}

/** The string of a scalar node; null for anything else. */
export function scalarText(node: unknown): string | null {
  if (!isScalar(node)) return null;
  const v = (node as Scalar).value;
  return v === null || v === undefined ? '' : String(v);
}

/** yaml-cpp's bool decoding: true/false, yes/no, on/off, y/n in lower, Upper or UPPER case. */
export function yamlBool(node: unknown): boolean | null {
  const s = scalarText(node);
  if (s === null) return null;
  const trues = ['y', 'yes', 'true', 'on'];
  const falses = ['n', 'no', 'false', 'off'];
  const forms = (w: string) => [w, w.toUpperCase(), w[0]!.toUpperCase() + w.slice(1)];
  if (trues.some((w) => forms(w).includes(s))) return true;
  if (falses.some((w) => forms(w).includes(s))) return false;
  return null;
}

/** A sequence of scalars as strings; null when the node is not a sequence of scalars. */
export function stringSeq(node: unknown): string[] | null {
  if (!isSeq(node)) return null;
  const out: string[] = [];
  for (const it of node.items) {
    const s = scalarText(it);
    if (s === null) return null;
    out.push(s);
  }
  return out;
}
