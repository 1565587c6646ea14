// Hostile and damaged inputs: none of them may cost the good events around them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { normalizeRecord } from '../normalize/normalize.js';
import type { InputProblem } from '../model/raw-record.js';
import { type ReadOptions, readInputs } from './read-inputs.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'sleuth-hostile-'));

const event = (i: number): string =>
  JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `id-${i}`,
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/default/pods/p${i}`,
    verb: 'get',
    user: { username: 'alice', groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.1'],
    objectRef: { resource: 'pods', namespace: 'default', name: `p${i}`, apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: '2024-06-03T08:00:00.000000Z',
    stageTimestamp: '2024-06-03T08:00:00.010000Z',
  });

async function collect(
  paths: readonly string[],
  options: ReadOptions = {},
): Promise<{ ids: string[]; problems: string[] }> {
  const ids: string[] = [];
  const problems: string[] = [];
  const problem = (p: InputProblem): void => void problems.push(`${p.line} ${p.problem}`);
  for await (const item of readInputs(paths, options)) {
    if (item.kind === 'progress') continue;
    if (item.kind === 'problem') {
      problem(item);
      continue;
    }
    const r = normalizeRecord(item);
    if (r.ok) ids.push(r.event.auditID);
    else
      problem({
        kind: 'problem',
        file: item.origin.file,
        line: item.origin.line,
        problem: r.problem,
        reason: r.reason,
      });
  }
  return { ids, problems };
}

test('an over-long second line is skipped and reported; the file is still read', async () => {
  const dir = tmp();
  const text = [event(1), 'x'.repeat(5000), event(2)].join('\n') + '\n';
  writeFileSync(join(dir, 'a.log'), text);
  writeFileSync(join(dir, 'a.log.gz'), gzipSync(text));
  for (const f of ['a.log', 'a.log.gz']) {
    const c = await collect([join(dir, f)], { maxLineChars: 1000, maxDocumentChars: 1_000_000, chunkBytes: 256 });
    assert.deepEqual(c.ids, ['id-1', 'id-2'], f);
    assert.deepEqual(c.problems, ['2 too-large'], f);
  }
});

test('NUL-filled lines inside a text log are reported per line, the events around them kept', async () => {
  const dir = tmp();
  const f = join(dir, 'crashed.log');
  const nul = '\u0000'.repeat(300);
  writeFileSync(f, [event(1), nul, event(2), event(3).replace('"level"', '"le\u0000vel"'), event(4)].join('\n') + '\n');
  const c = await collect([f]);
  assert.deepEqual(c.ids, ['id-1', 'id-2', 'id-4']);
  assert.deepEqual(c.problems, ['2 binary', '4 binary']);
});

test('a file that starts with NUL bytes or control characters is still binary as a whole', async () => {
  const dir = tmp();
  const f = join(dir, 'junk.log');
  writeFileSync(f, Buffer.concat([Buffer.alloc(100), Buffer.from('\n' + event(1) + '\n')]));
  const short = join(dir, 'short.bin');
  writeFileSync(short, Buffer.from([0x41, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x41]));
  const c = await collect([f, short]);
  assert.deepEqual(c.ids, []);
  assert.deepEqual(c.problems, ['0 binary', '0 binary']);
});

test('deeply nested JSON and invalid UTF-8 are problems, not crashes', async () => {
  const dir = tmp();
  const f = join(dir, 'odd.log');
  const nested = '['.repeat(10_000) + ']'.repeat(10_000);
  const deepObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
  const badUtf8 = Buffer.from([0xff, 0xfe, 0x7b, 0x7d]);
  writeFileSync(
    f,
    Buffer.concat([
      Buffer.from([event(1), nested, deepObject, ''].join('\n')),
      badUtf8,
      Buffer.from('\n' + event(2) + '\n'),
    ]),
  );
  const c = await collect([f]);
  assert.deepEqual(c.ids, ['id-1', 'id-2']);
  assert.deepEqual(c.problems, ['2 not-audit-event', '3 not-audit-event', '4 malformed-json']);
});

test('a directory with a symbolic-link loop is walked once', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'a'));
  writeFileSync(join(dir, 'a', 'x.log'), event(1) + '\n');
  symlinkSync('..', join(dir, 'a', 'up'));
  symlinkSync(join(dir, 'a'), join(dir, 'self'));
  symlinkSync(join(dir, 'a', 'x.log'), join(dir, 'link.log'));
  const c = await collect([dir]);
  // The file itself and the link to it (a link to a file is followed; links to directories are not).
  assert.deepEqual(c.ids, ['id-1', 'id-1']);
  assert.deepEqual(c.problems, []);
});

test('a first line of filler longer than the line limit is given up early; a long JSON first line is not', async () => {
  const dir = tmp();
  const filler = join(dir, 'filler.log');
  writeFileSync(filler, ' '.repeat(20_000) + 'a'.repeat(20_000) + '\n' + event(1) + '\n');
  const c = await collect([filler], { maxLineChars: 1000, maxDocumentChars: 1_000_000, chunkBytes: 256 });
  assert.deepEqual(c.ids, []);
  assert.deepEqual(c.problems, ['1 too-large']);
  // A compact EventList on one line, longer than the line limit: read whole as a document.
  const list = join(dir, 'list.json');
  writeFileSync(
    list,
    JSON.stringify({
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1',
      items: [1, 2, 3, 4, 5, 6, 7, 8].map((i) => JSON.parse(event(i)) as unknown),
    }) + '\n',
  );
  const d = await collect([list], { maxLineChars: 1000, maxDocumentChars: 1_000_000, chunkBytes: 256 });
  assert.deepEqual(d.ids, ['id-1', 'id-2', 'id-3', 'id-4', 'id-5', 'id-6', 'id-7', 'id-8']);
  assert.deepEqual(d.problems, []);
});
