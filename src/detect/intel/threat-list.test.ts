import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpRangeSet, parseIp, parseIpOrCidr, parseIPv6 } from './ip-range-set.js';
import { parseThreatList } from './threat-list.js';
import { loadThreatIntel, matchLists } from './threat-intel.js';
import { UsageError } from '../../model/errors.js';

test('IpRangeSet: the reported entry always contains the address (nested, adjacent, duplicate, /0)', () => {
  const listed = [
    '10.0.0.0/25',
    '10.0.0.128/25',
    '10.0.0.0/8',
    '10.1.2.3',
    '10.0.0.0/8',
    '0.0.0.0/0',
    '255.255.255.255',
    '::/0',
    '2001:db8::/32',
    '2001:db8::1',
  ];
  const set = new IpRangeSet(listed.map((t) => ({ range: parseIpOrCidr(t)!, label: t })));
  const cases: [string, string][] = [
    ['10.0.0.5', '10.0.0.0/25'],
    ['10.0.0.200', '10.0.0.128/25'],
    ['10.200.0.1', '10.0.0.0/8'],
    ['10.1.2.3', '10.1.2.3'],
    ['10.1.2.4', '10.0.0.0/8'],
    ['11.0.0.0', '0.0.0.0/0'],
    ['0.0.0.0', '0.0.0.0/0'],
    ['255.255.255.255', '255.255.255.255'],
    ['255.255.255.254', '0.0.0.0/0'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:db8::2', '2001:db8::/32'],
    ['2001:db9::1', '::/0'],
  ];
  for (const [ip, entry] of cases) assert.equal(set.match(ip), entry, ip);
  // Randomized: the answer covers the address and no listed range that covers it is smaller.
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const many = Array.from(
    { length: 300 },
    () => `10.${Math.floor(rnd() * 4)}.${Math.floor(rnd() * 256)}.0/${16 + Math.floor(rnd() * 17)}`,
  );
  const ranges = many.map((t) => ({ range: parseIpOrCidr(t)!, label: t }));
  const big = new IpRangeSet(ranges);
  for (let i = 0; i < 2000; i++) {
    const ip = `10.${Math.floor(rnd() * 5)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`;
    const v = parseIp(ip)!.value as number;
    const covering = ranges.filter((r) => (r.range.start as number) <= v && v <= (r.range.end as number));
    const got = big.match(ip);
    if (covering.length === 0) {
      assert.equal(got, null, ip);
      continue;
    }
    const smallest = Math.min(...covering.map((r) => (r.range.end as number) - (r.range.start as number)));
    const hit = covering.find((r) => r.label === got);
    assert.ok(hit !== undefined, `${ip} -> ${got}`);
    assert.equal((hit.range.end as number) - (hit.range.start as number), smallest, ip);
  }
});

test('IPv4, IPv6, mapped and CIDR parsing', () => {
  assert.deepEqual(parseIp('10.1.2.3'), { v: 4, value: 167838211 });
  assert.equal(parseIp('256.1.1.1'), null);
  assert.equal(parseIp('1.2.3'), null);
  assert.equal(parseIPv6('::1'), 1n);
  assert.equal(parseIPv6('2001:db8::'), 0x20010db8n << 96n);
  assert.equal(parseIPv6('1:2:3:4:5:6:7:8:9'), null);
  assert.equal(parseIPv6('1::2::3'), null);
  assert.deepEqual(parseIp('::ffff:10.0.0.1'), { v: 4, value: 167772161 });
  assert.deepEqual(parseIpOrCidr('10.0.0.77/24'), { v: 4, start: 167772160, end: 167772415 });
  assert.deepEqual(parseIpOrCidr('0.0.0.0/0'), { v: 4, start: 0, end: 4294967295 });
  assert.equal(parseIpOrCidr('10.0.0.0/33'), null);
  const r = parseIpOrCidr('2001:db8::/32')!;
  assert.equal(r.end, (0x20010db8n << 96n) | ((1n << 96n) - 1n));
});

test('IpRangeSet finds by binary search and names the most specific covering entry', () => {
  const entries = [
    '10.0.0.0/8',
    '10.1.0.0/16',
    '192.0.2.5',
    '2001:db8::/48',
    '198.51.100.0/25',
    '198.51.100.128/25',
  ].map((t) => ({ range: parseIpOrCidr(t)!, label: t }));
  const set = new IpRangeSet(entries);
  assert.equal(set.size, 6);
  assert.equal(set.match('10.1.2.3'), '10.1.0.0/16');
  assert.equal(set.match('10.2.0.1'), '10.0.0.0/8');
  assert.equal(set.match('11.0.0.0'), null);
  assert.equal(set.match('192.0.2.5'), '192.0.2.5');
  assert.equal(set.match('192.0.2.6'), null);
  assert.equal(set.match('198.51.100.200'), '198.51.100.128/25');
  assert.equal(set.match('2001:db8:0:ffff::1'), '2001:db8::/48');
  assert.equal(set.match('2001:db8:1::1'), null);
  assert.equal(set.match('not-an-ip'), null);
});

test('plain list with comments, name header, Spamhaus-style ; comments and bad lines', () => {
  const text =
    '# name: Acme blocklist\n# generated 2024\n\n203.0.113.0/24 ; SBL1\n198.51.100.7  # scanner\nnot-an-ip\n2001:db8::1\n';
  const r = parseThreatList(text, { file: 'lists/acme.txt', kind: 'custom' });
  assert.equal(r.value.name, 'Acme blocklist');
  assert.equal(r.value.entries, 3);
  assert.equal(r.value.match('203.0.113.99'), '203.0.113.0/24');
  assert.equal(r.value.match('2001:db8::1'), '2001:db8::1');
  assert.deepEqual(r.errors, [
    {
      file: 'lists/acme.txt',
      line: 6,
      column: 1,
      message: 'not an IP address or CIDR range: "not-an-ip"',
      severity: 'warning',
    },
  ]);
  assert.match(r.value.sha256, /^[0-9a-f]{64}$/);
  assert.equal(
    parseThreatList('1.2.3.4\n', { file: '/x/y/bad-actors.txt', kind: 'custom' }).value.name,
    'bad-actors.txt',
  );
});

test('CSV by header name, and by first IP-looking column without a header', () => {
  const byHeader = parseThreatList(
    'first_seen,ip_address,reason\n2024-01-01,192.0.2.10,c2\n2024-01-02,"192.0.2.11",scan\n',
    { file: 'feed.csv', kind: 'malicious' },
  );
  assert.equal(byHeader.value.entries, 2);
  assert.equal(byHeader.value.match('192.0.2.11'), '192.0.2.11');
  assert.deepEqual(byHeader.errors, []);
  const noHeader = parseThreatList('c2,192.0.2.20,high\nscan,192.0.2.21,low\n', {
    file: 'feed.csv',
    kind: 'malicious',
  });
  assert.equal(noHeader.value.entries, 2);
  const unknownHeader = parseThreatList('when,host\n2024,192.0.2.30\n', { file: 'feed.csv', kind: 'malicious' });
  assert.equal(unknownHeader.value.match('192.0.2.30'), '192.0.2.30');
});

test('Tor exit-addresses document and bulk list', () => {
  const doc =
    'ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\nPublished 2024-05-01 02:07:46\nLastStatus 2024-05-01 09:00:00\nExitAddress 162.247.74.201 2024-05-01 09:08:51\n';
  const r = parseThreatList(doc, { file: 'exit-addresses', kind: 'tor' });
  assert.equal(r.value.entries, 1);
  assert.deepEqual(r.errors, []);
  assert.equal(r.value.match('162.247.74.201'), '162.247.74.201');
});

test('matchLists checks every source IP (bounded) and reports the list', () => {
  const a = parseThreatList('192.0.2.1\n', { file: 'a', kind: 'custom' }).value;
  const b = parseThreatList('192.0.2.2\n', { file: 'b', kind: 'custom' }).value;
  const m = matchLists([a, b], ['10.0.0.1', '192.0.2.2']);
  assert.equal(m?.list.name, 'b');
  assert.equal(m?.ip, '192.0.2.2');
  assert.equal(matchLists([a, b], ['10.0.0.1']), null);
});

test('loadThreatIntel reads files by kind; a missing file is a UsageError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-intel-'));
  writeFileSync(join(dir, 'custom.txt'), '192.0.2.1\n');
  writeFileSync(join(dir, 'tor.txt'), '185.220.101.1\n');
  writeFileSync(join(dir, 'feed.netset'), '198.51.100.0/24\n');
  const r = loadThreatIntel({
    intel: [join(dir, 'custom.txt')],
    torExits: join(dir, 'tor.txt'),
    malicious: [join(dir, 'feed.netset')],
  });
  assert.deepEqual([r.value.custom.length, r.value.tor.length, r.value.malicious.length], [1, 1, 1]);
  assert.equal(r.value.malicious[0]!.name, 'feed.netset');
  assert.throws(() => loadThreatIntel({ intel: [join(dir, 'missing.txt')] }), UsageError);
});

test('a large list is built once and looked up fast', () => {
  const lines: string[] = [];
  for (let i = 0; i < 200_000; i++) lines.push(`${10 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24`);
  const list = parseThreatList(lines.join('\n'), { file: 'big', kind: 'malicious' }).value;
  const t0 = performance.now();
  let hits = 0;
  for (let i = 0; i < 100_000; i++) if (list.match(`${10 + (i % 3)}.${i & 255}.${(i >> 8) & 255}.9`) !== null) hits++;
  const ms = performance.now() - t0;
  assert.equal(hits, 100_000);
  assert.ok(ms < 2000, `100k lookups took ${ms} ms`);
});

test('a byte order mark does not eat the first entry; threatFileSha256 is the file bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-bom-'));
  const file = join(dir, 'excel.csv');
  const bytes = Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from('ip,comment\n203.0.113.9,bad\n'),
    Buffer.from([0xff, 0x0a]),
  ]);
  writeFileSync(file, bytes);
  const plain = parseThreatList('\ufeff198.51.100.7\n', { file: 'bom.txt', kind: 'custom' });
  assert.deepEqual(plain.errors, []);
  assert.equal(plain.value.match('198.51.100.7'), '198.51.100.7');
  const r = loadThreatIntel({ intel: [file] });
  const list = r.value.custom[0]!;
  assert.equal(list.match('203.0.113.9'), '203.0.113.9');
  assert.equal(list.sha256, createHash('sha256').update(bytes).digest('hex'));
});
