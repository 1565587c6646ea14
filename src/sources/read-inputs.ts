/**
 * `sleuth scan PATH…` input side: files, directories (recursive, sorted, hidden entries
 * skipped) and `-` for stdin, each read as a stream of raw records. The format is detected per
 * file from its content, never its name: gzip by magic bytes, then the first lines decide
 * between
 *   - jsonl            one audit event per line (kube-apiserver log backend, Falco fixtures);
 *   - envelope-lines   one container per line (compact FilterLogEvents page, subscription
 *                      payload or EventList on one line, possibly many lines of them);
 *   - cloudwatch-export `<ISO timestamp> <message>` lines (CreateExportTask objects in S3);
 *   - base64-lines     one base64 Firehose record per line (gzipped subscription payload);
 *   - document         JSON that must be parsed whole: a pretty-printed event or container,
 *                      a JSON array, an EventList, concatenated values such as the gzip
 *                      members Firehose writes to S3 (`{…}{…}`); bounded by maxDocumentChars.
 * Line formats stream with flat memory whatever the file size. Problems are items, never
 * exceptions: one bad line, file or path does not stop its neighbours.
 *
 * Firehose: a delivery stream fed by a CloudWatch Logs subscription writes each record (a
 * gzipped subscription payload) to S3 back to back, so an S3 object is concatenated gzip
 * members; that is read as `document`. The HTTP endpoint request body (`records[].data`) and
 * newline-separated base64 records are read too. Base64 records concatenated without any
 * separator are not (their boundaries cannot be found reliably).
 */
import { StringDecoder } from 'node:string_decoder';
import { logStreamFromExportPath, parseExportLine } from '../decode/cloudwatch-decode.js';
import { type RecordCursor, plainOrigin, problemItem } from '../decode/decoded-item.js';
import { decodeBase64Record, decodeValue, parseJsonSequence } from '../decode/envelope-decode.js';
import { type ContentReader, fileChunks, openContent } from './byte-source.js';
import { type Sniffed, isBlank, looksBinary, sniff } from './format-sniff.js';
import { expandPath, unreadable } from './input-paths.js';
import type { InputProblem, ProblemClass, ReadProgress, SourceItem } from '../model/raw-record.js';

/**
 * `s.slice(start, end)` as a string of its own. A plain slice is a view that keeps the whole
 * decoded chunk (up to a few MB) alive for as long as the line lives, and some lines live long:
 * the event text kept by a finding, a request held for its final stage. A few hundred of those
 * pinned hundreds of MB and made a long scan's memory grow with its input. The copy costs
 * ~30 ms per 200 MB.
 */
function detachedSlice(s: string, start: number, end: number): string {
  // Concatenating then slicing makes V8 copy the characters into a new flat string.
  return (' ' + s.slice(start, end)).slice(1);
}

export interface ReadOptions {
  /** Stream read for the path `-` (defaults to process.stdin). */
  readonly stdin?: NodeJS.ReadableStream | AsyncIterable<Buffer | string> | undefined;
  /** Size of each read from disk. */
  readonly chunkBytes?: number | undefined;
  /** Largest JSON document parsed whole (EventList, array, FilterLogEvents page), in characters. */
  readonly maxDocumentChars?: number | undefined;
  /** Longest line of a line-delimited file, in characters; longer lines are skipped and reported. */
  readonly maxLineChars?: number | undefined;
  /** A progress item is emitted each time this many more raw bytes of a file were read. */
  readonly progressEveryBytes?: number | undefined;
}

export const READ_DEFAULTS = {
  // 1 MiB reads: few syscalls and few string joins per MiB, still small next to the batch of
  // records a chunk produces.
  chunkBytes: 1024 * 1024,
  // 500 MiB: just under V8's maximum string length (2^29 - 24 characters), which is the hard
  // ceiling for JSON.parse of a single document. Larger documents are reported as too-large;
  // split them (jq -c '.items[]') into JSONL, which streams without limit.
  maxDocumentChars: 500 * 1024 * 1024,
  // 64 MiB: the apiserver caps a request body at 3 MiB and CloudWatch an event at 1 MiB, so
  // any longer "line" is not an audit event; the cap keeps memory flat on newline-free junk.
  maxLineChars: 64 * 1024 * 1024,
  // 8 MiB: a few dozen updates per second at disk speed, enough for a smooth progress bar.
  progressEveryBytes: 8 * 1024 * 1024,
} as const;

interface ReadConfig {
  readonly stdin: NodeJS.ReadableStream | AsyncIterable<Buffer | string>;
  readonly chunkBytes: number;
  readonly maxDocumentChars: number;
  readonly maxLineChars: number;
  readonly progressEveryBytes: number;
}

// Records produced from a document are handed out in batches of this many.
const DOCUMENT_BATCH = 1024;

/** Every input item, one at a time. See readInputBatches for the faster batched form. */
export async function* readInputs(paths: readonly string[], options: ReadOptions = {}): AsyncGenerator<SourceItem> {
  for await (const batch of readInputBatches(paths, options)) {
    for (const item of batch) yield item;
  }
}

/**
 * Input items in batches (roughly one batch per chunk read), in input order. Cheaper than
 * readInputs on the hot path: one await per batch instead of one per record.
 */
export async function* readInputBatches(
  paths: readonly string[],
  options: ReadOptions = {},
): AsyncGenerator<readonly SourceItem[]> {
  const cfg: ReadConfig = {
    stdin: options.stdin ?? process.stdin,
    chunkBytes: options.chunkBytes ?? READ_DEFAULTS.chunkBytes,
    maxDocumentChars: options.maxDocumentChars ?? READ_DEFAULTS.maxDocumentChars,
    maxLineChars: options.maxLineChars ?? READ_DEFAULTS.maxLineChars,
    progressEveryBytes: options.progressEveryBytes ?? READ_DEFAULTS.progressEveryBytes,
  };
  for (const p of paths) {
    if (p === '-') {
      yield* readContent('-', cfg.stdin as AsyncIterable<Buffer | string>, null, () => {}, cfg);
      continue;
    }
    for await (const entry of expandPath(p)) {
      if (entry.kind === 'problem') {
        yield [entry];
        continue;
      }
      const stream = fileChunks(entry.file, cfg.chunkBytes);
      yield* readContent(entry.file, stream, entry.size, () => stream.destroy(), cfg);
    }
  }
}

/** Per-file reading state shared by the format handlers. */
class FileReader {
  private readonly decoder = new StringDecoder('utf8');
  private lastProgress = 0;
  private ended = false;
  /** Decompressed characters seen, for messages. */
  chars = 0;
  /** The input was cut mid-line (truncated gzip, read error) and that fragment was not used. */
  partialDropped = false;
  constructor(
    readonly file: string,
    readonly totalBytes: number | null,
    readonly reader: ContentReader,
    readonly cfg: ReadConfig,
  ) {}

  /** Next decoded text chunk, or null at the end. */
  async nextText(): Promise<string | null> {
    if (this.ended) return null;
    const b = await this.reader.next();
    if (b === null) {
      this.ended = true;
      const tail = this.decoder.end();
      this.chars += tail.length;
      return tail === '' ? null : tail;
    }
    return this.decode(b);
  }

  decode(b: Buffer): string {
    const s = this.decoder.write(b);
    this.chars += s.length;
    return s;
  }

  progress(force: boolean): ReadProgress | null {
    const bytes = this.reader.rawBytes();
    if (!force && bytes - this.lastProgress < this.cfg.progressEveryBytes) return null;
    this.lastProgress = bytes;
    return { kind: 'progress', file: this.file, bytes, totalBytes: this.totalBytes };
  }

  /** Append a progress item to `out` when one is due. */
  tick(out: SourceItem[]): void {
    const p = this.progress(false);
    if (p !== null) out.push(p);
  }

  problem(line: number, problem: ProblemClass, reason: string): InputProblem {
    return problemItem(this.file, line, problem, reason);
  }
}

async function* readContent(
  file: string,
  raw: AsyncIterable<Buffer | string>,
  totalBytes: number | null,
  destroy: () => void,
  cfg: ReadConfig,
): AsyncGenerator<readonly SourceItem[]> {
  const reader = await openContent(raw, destroy);
  const fr = new FileReader(file, totalBytes, reader, cfg);
  yield [{ kind: 'progress', file, bytes: 0, totalBytes }];
  try {
    const first = await reader.next();
    if (first === null) {
      if (reader.error === null)
        yield [fr.problem(0, 'empty-file', reader.gzip ? 'gzip content is empty' : 'file is empty')];
    } else if (looksBinary(first)) {
      yield [fr.problem(0, 'binary', `binary data, not text${reader.gzip ? ' (after gunzip)' : ''}; file skipped`)];
    } else {
      yield* readText(fr, fr.decode(first));
    }
  } finally {
    reader.close();
  }
  const err = reader.error;
  if (err !== null) {
    if (reader.gzip && (err.code === 'Z_BUF_ERROR' || err.code === 'Z_DATA_ERROR')) {
      const kind = err.code === 'Z_BUF_ERROR' ? 'gzip stream is truncated' : `gzip data is corrupt (${err.message})`;
      const dropped = fr.partialDropped ? '; the partial last line was dropped' : '';
      yield [
        fr.problem(
          0,
          'truncated-gzip',
          `${kind} after ${fr.chars} decompressed characters; events before the cut were kept${dropped}`,
        ),
      ];
    } else {
      yield [unreadable(file, err)];
    }
  }
  yield [fr.progress(true)!];
}

async function* readText(fr: FileReader, text: string): AsyncGenerator<readonly SourceItem[]> {
  // Gather the first two non-blank lines (or everything, for a short file). Only new chunks
  // are searched for newlines, so a first line of hundreds of MiB costs linear time.
  const all: string[] = [];
  let total = 0;
  let lineParts: string[] = [];
  let partsLen = 0;
  let first: string | null = null;
  let second: string | null = null;
  // The second line is longer than any line format allows: sniff on the first line alone and
  // let the reader report that line, instead of losing the whole file to it.
  let secondTooLong = false;
  let chunk: string | null = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  while (chunk !== null) {
    all.push(chunk);
    total += chunk.length;
    let pos = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1 && second === null; nl = chunk.indexOf('\n', pos)) {
      lineParts.push(chunk.slice(pos, nl));
      pos = nl + 1;
      const line = lineParts.length === 1 ? lineParts[0]! : lineParts.join('');
      lineParts = [];
      partsLen = 0;
      if (isBlank(line)) continue;
      if (first === null) first = line.trim();
      else second = line.trim();
    }
    if (second !== null) break;
    lineParts.push(chunk.slice(pos));
    partsLen += chunk.length - pos;
    if (partsLen > fr.cfg.maxLineChars) {
      if (first !== null) {
        secondTooLong = true;
        break;
      }
      // Only a JSON document or container may have a first line this long (a compact EventList
      // or FilterLogEvents page); anything else (blank filler, a decompression bomb of one
      // byte) is given up here rather than buffered up to maxDocumentChars.
      const c = firstNonBlank(lineParts);
      if (c !== 0x7b && c !== 0x5b) {
        yield [
          fr.problem(
            1,
            'too-large',
            `first line is longer than ${fr.cfg.maxLineChars} characters and does not start a JSON document`,
          ),
        ];
        return;
      }
    }
    if (total > fr.cfg.maxDocumentChars) {
      yield [fr.problem(1, 'too-large', `first line is longer than ${fr.cfg.maxDocumentChars} characters`)];
      return;
    }
    chunk = await fr.nextText();
  }
  if (second === null && !secondTooLong) {
    // End of input: the unfinished line is the first or second line.
    const last = lineParts.join('');
    if (!isBlank(last)) {
      if (first === null) first = last.trim();
      else second = last.trim();
    }
  }
  if (first === null) {
    yield [fr.problem(0, 'empty-file', 'file holds only whitespace')];
    return;
  }
  const head = all.length === 1 ? all[0]! : all.join('');
  all.length = 0;
  const s = sniff(first, second);
  switch (s.mode) {
    case 'document':
      yield* documentMode(fr, head);
      return;
    case 'unknown': {
      const shown = JSON.stringify(s.firstLine.slice(0, 40));
      yield [fr.problem(0, 'unknown-format', `not a recognized audit log format (first line starts ${shown})`)];
      return;
    }
    case 'envelope-lines':
      // Each line is a whole container (a compact EventList can be one huge line).
      yield* lineMode(fr, head, lineHandler(fr, s), fr.cfg.maxDocumentChars);
      return;
    default:
      yield* lineMode(fr, head, lineHandler(fr, s), fr.cfg.maxLineChars);
  }
}

/** Char code of the first non-whitespace character of the joined parts, or -1. */
function firstNonBlank(parts: readonly string[]): number {
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a && c !== 0xfeff) return c;
    }
  }
  return -1;
}

type LineHandler = (line: string, lineNo: number, out: SourceItem[]) => void;

function lineHandler(fr: FileReader, s: Sniffed): LineHandler {
  const file = fr.file;
  // The sniff parsed the first line already; hand that value on instead of parsing it twice.
  let firstParsed = 'firstParsed' in s ? s.firstParsed : undefined;
  const takeFirst = (line: string): unknown => {
    if (firstParsed === undefined || line !== s.firstLine) return undefined;
    const v = firstParsed;
    firstParsed = undefined;
    return v;
  };
  switch (s.mode) {
    case 'jsonl':
      return (line, lineNo, out) => {
        if (line.charCodeAt(0) !== 0x7b) {
          line = line.trim();
          if (line === '') return;
        }
        const parsed = firstParsed !== undefined ? takeFirst(line) : undefined;
        if (parsed !== undefined) out.push({ kind: 'record', text: line, parsed, origin: plainOrigin(file, lineNo) });
        else out.push({ kind: 'record', text: line, origin: plainOrigin(file, lineNo) });
      };
    case 'envelope-lines':
      return (line, lineNo, out) => {
        line = line.trim();
        if (line === '') return;
        let v = takeFirst(line);
        if (v === undefined) {
          try {
            v = JSON.parse(line);
          } catch (e) {
            out.push(fr.problem(lineNo, 'malformed-json', `malformed JSON: ${(e as Error).message}`));
            return;
          }
        }
        const cursor: RecordCursor = { file, fixedLine: lineNo, next: 0 };
        for (const item of decodeValue(v, line, cursor)) out.push(item);
      };
    case 'cloudwatch-export': {
      const logStream = logStreamFromExportPath(file);
      return (line, lineNo, out) => {
        const e = parseExportLine(line);
        if (e === null) {
          line = line.trim();
          if (line !== '') out.push({ kind: 'record', text: line, origin: plainOrigin(file, lineNo) });
          return;
        }
        out.push({
          kind: 'record',
          text: e.message,
          origin: {
            file,
            line: lineNo,
            logGroup: null,
            logStream,
            cwTimestamp: e.cwTimestamp,
            cwEventId: null,
            ingestionTime: null,
          },
        });
      };
    }
    case 'base64-lines':
      return (line, lineNo, out) => {
        line = line.trim();
        if (line === '') return;
        const cursor: RecordCursor = { file, fixedLine: lineNo, next: 0 };
        for (const item of decodeBase64Record(line, cursor)) out.push(item);
      };
    default:
      throw new Error(`no line handler for ${s.mode}`);
  }
}

/**
 * Split decoded text into lines on '\n' (dropping a trailing '\r') and hand each non-empty one
 * to `handle`; one batch of items per chunk read. Memory is one chunk plus the longest line.
 */
async function* lineMode(
  fr: FileReader,
  head: string,
  handle: LineHandler,
  maxLine: number,
): AsyncGenerator<readonly SourceItem[]> {
  const tooLong = `line is longer than ${maxLine} characters; skipped`;
  let buf = head;
  // Where to look for the next '\n' in buf: text before it is a line start with no newline.
  let searchFrom = 0;
  let lineNo = 0;
  // Inside a line longer than maxLine: drop text up to the next newline.
  let skipping = false;
  for (;;) {
    const out: SourceItem[] = [];
    let pos = 0;
    for (let nl = buf.indexOf('\n', searchFrom); nl !== -1; nl = buf.indexOf('\n', pos)) {
      lineNo++;
      if (skipping) {
        skipping = false;
      } else {
        let end = nl;
        if (end > pos && buf.charCodeAt(end - 1) === 0x0d) end--;
        if (end - pos > maxLine) out.push(fr.problem(lineNo, 'too-large', tooLong));
        else if (end > pos) handle(detachedSlice(buf, pos, end), lineNo, out);
      }
      pos = nl + 1;
    }
    // The unfinished last line, kept as parts until a chunk with a newline arrives: appending
    // chunk by chunk to one string and searching it again would be quadratic on long lines.
    const carry: string[] = [];
    let carryLen = 0;
    const keep = (t: string): void => {
      if (skipping) return;
      if (carryLen + t.length > maxLine) {
        out.push(fr.problem(lineNo + 1, 'too-large', tooLong));
        skipping = true;
        carry.length = 0;
        carryLen = 0;
        return;
      }
      carry.push(t);
      carryLen += t.length;
    };
    keep(pos === 0 ? buf : buf.slice(pos));
    fr.tick(out);
    if (out.length > 0) yield out;
    let next: string | null;
    for (;;) {
      next = await fr.nextText();
      if (next === null || next.indexOf('\n') !== -1) break;
      const late: SourceItem[] = [];
      keep(next);
      fr.tick(late);
      if (late.length > 0) yield late;
    }
    if (next === null) {
      const rest = carry.join('');
      if (!skipping && !isBlank(rest)) {
        if (fr.reader.error !== null) {
          // The input was cut (truncated gzip, read error): the last line is a fragment.
          fr.partialDropped = true;
        } else {
          const last: SourceItem[] = [];
          let end = rest.length;
          if (rest.charCodeAt(end - 1) === 0x0d) end--;
          handle(detachedSlice(rest, 0, end), lineNo + 1, last);
          if (last.length > 0) yield last;
        }
      }
      return;
    }
    buf = carryLen === 0 ? next : carry.join('') + next;
    searchFrom = carryLen;
  }
}

/** Parse the whole input as one or more concatenated JSON values and unwrap each. */
async function* documentMode(fr: FileReader, head: string): AsyncGenerator<readonly SourceItem[]> {
  const max = fr.cfg.maxDocumentChars;
  const parts = [head];
  let total = head.length;
  for (;;) {
    const next = await fr.nextText();
    if (next === null) break;
    total += next.length;
    if (total > max) {
      yield [
        fr.problem(
          0,
          'too-large',
          `JSON document is larger than ${max} characters and must be parsed whole; convert it to one event per line (e.g. jq -c '.items[]')`,
        ),
      ];
      return;
    }
    parts.push(next);
    const p = fr.progress(false);
    if (p !== null) yield [p];
  }
  const text = parts.length === 1 ? head : parts.join('');
  parts.length = 0;
  const seq = parseJsonSequence(text);
  const cursor: RecordCursor = { file: fr.file, fixedLine: null, next: 1 };
  let out: SourceItem[] = [];
  for (const v of seq.values) {
    for (const item of decodeValue(v.value, v.text, cursor)) {
      out.push(item);
      if (out.length >= DOCUMENT_BATCH) {
        yield out;
        out = [];
      }
    }
  }
  // A document cut by a truncated gzip is reported once, as truncated-gzip, by the caller.
  if (seq.error !== null && fr.reader.error === null) {
    // V8 gives a position for most syntax errors; when it does not, the line is unknown (0).
    const line = seq.errorAt < 0 ? 0 : lineAt(text, seq.errorAt);
    out.push(fr.problem(line, 'malformed-json', seq.error));
  }
  if (out.length > 0) yield out;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  let i = text.indexOf('\n');
  while (i !== -1 && i < offset) {
    line++;
    i = text.indexOf('\n', i + 1);
  }
  return line;
}
