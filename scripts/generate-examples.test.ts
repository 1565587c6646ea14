import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileOrigin, normalizeText } from '../src/normalize/normalize.js';
import { STORY_ANON_IP, STORY_TOR_IP } from '../bench/generator-story.js';
import { repoRoot } from '../src/util/repo-root.js';

const EXAMPLES = join(repoRoot(), 'examples');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

test('examples: every line of audit-sample.jsonl is an audit event and the story is in it', () => {
  const text = readFileSync(join(EXAMPLES, 'audit-sample.jsonl'), 'utf8');
  const lines = text.slice(0, -1).split('\n');
  assert.ok(lines.length > 2000 && lines.length < 2100, `${lines.length} lines`);
  const ips = new Map<string, number>();
  for (const [i, line] of lines.entries()) {
    const r = normalizeText(line, fileOrigin('audit-sample.jsonl', i + 1));
    assert.ok(r.ok, `line ${i + 1}`);
    for (const ip of r.event.sourceIPs) ips.set(ip, (ips.get(ip) ?? 0) + 1);
  }
  assert.ok((ips.get(STORY_TOR_IP) ?? 0) >= 10, 'the Tor-exit part of the story');
  assert.ok((ips.get(STORY_ANON_IP) ?? 0) >= 5, 'the anonymous and default-SA parts of the story');
});

test('examples: the CloudWatch export holds the same events and the intel lists flag the attacker', () => {
  const jsonl = readFileSync(join(EXAMPLES, 'audit-sample.jsonl'), 'utf8').slice(0, -1).split('\n');
  const gz = walk(join(EXAMPLES, 'cloudwatch-export'));
  assert.equal(gz.length, 1);
  assert.match(gz[0]!, /cloudwatch-export\/[0-9a-f-]{36}\/kube-apiserver-audit-[0-9a-f]{32}\/000000\.gz$/);
  const exported = gunzipSync(readFileSync(gz[0]!)).toString('utf8').slice(0, -1).split('\n');
  assert.deepEqual(
    exported.map((l) => l.slice(l.indexOf(' ') + 1)),
    jsonl,
  );
  const tor = readFileSync(join(EXAMPLES, 'intel', 'tor-exit-nodes.txt'), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
  const bad = readFileSync(join(EXAMPLES, 'intel', 'malicious-ips.txt'), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
  assert.ok(tor.includes(STORY_TOR_IP));
  assert.ok(bad.includes(STORY_ANON_IP));
  for (const entry of [...tor, ...bad])
    assert.match(entry, /^(198\.51\.100\.\d+|203\.0\.113\.\d+(\/\d+)?|2001:db8:[0-9a-f:]*(\/\d+)?)$/);
  const total = walk(EXAMPLES).reduce((n, p) => n + statSync(p).size, 0);
  assert.ok(total < 3 * 1024 * 1024, `examples/ is ${total} bytes`);
});
