import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { fileOrigin, normalizeText } from '../src/normalize/normalize.js';
import { ATTACK_KINDS, MALICIOUS_IPS, TOR_EXIT_IPS } from './generator-attacks.js';
import { generateAuditEvents, parseStart, TrafficModel, type GenerateOptions } from './generator.js';
import { clusterModel, type JsonObject } from './generator-events.js';
import { mulberry32 } from './generator-prng.js';
import { attackStory, storyEvents } from './generator-story.js';
import { writeEvents, type OutputFormat } from './generator-writers.js';

async function render(options: GenerateOptions, format: OutputFormat): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await writeEvents(generateAuditEvents(options), out, {
    format,
    logStream: clusterModel(options.seed).logStream,
    seed: options.seed,
  });
  return Buffer.concat(chunks);
}

function lines(buf: Buffer): string[] {
  const text = buf.toString('utf8');
  assert.ok(text.endsWith('\n'), 'output ends with a newline');
  return text.slice(0, -1).split('\n');
}

// Private, loopback and documentation ranges: the generator must never emit a real public address.
const SAFE_IP =
  /^(10\.\d+\.\d+\.\d+|127\.0\.0\.1|::1|192\.0\.2\.\d+|198\.51\.100\.\d+|203\.0\.113\.\d+|2001:db8:[0-9a-f:]*)$/;

test('mulberry32 is deterministic per seed and stays in [0, 1)', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const c = mulberry32(43);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(
    Array.from({ length: 1000 }, () => b()),
    xs,
  );
  assert.notDeepEqual(
    Array.from({ length: 1000 }, () => c()),
    xs,
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});

test('same seed gives identical bytes in every format; another seed does not', async () => {
  for (const format of ['jsonl', 'cw-export', 'filter-log-events'] as const) {
    const a = await render({ seed: 5, events: 1500, attackRate: 0.02 }, format);
    const b = await render({ seed: 5, events: 1500, attackRate: 0.02 }, format);
    const c = await render({ seed: 6, events: 1500, attackRate: 0.02 }, format);
    assert.ok(a.length > 100_000, `${format}: ${a.length} bytes`);
    assert.ok(a.equals(b), `${format}: same seed, same bytes`);
    assert.ok(!a.equals(c), `${format}: different seed, different bytes`);
  }
});

test('every JSONL line is a valid audit event, in stage-time order, exactly N of them', async () => {
  const ls = lines(await render({ seed: 11, events: 6000, attackRate: 0.05 }, 'jsonl'));
  assert.equal(ls.length, 6000);
  let previous = '';
  const started = new Set<string>();
  for (const [i, line] of ls.entries()) {
    const r = normalizeText(line, fileOrigin('gen.jsonl', i + 1));
    assert.ok(r.ok, `line ${i + 1}: ${r.ok ? '' : r.reason}`);
    const e = r.event;
    assert.ok(e.stageAt !== null && e.stageAt >= previous, `line ${i + 1} out of order`);
    previous = e.stageAt;
    assert.match(e.requestReceivedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.ok(
      e.sourceIPs.length > 0 && e.sourceIPs.every((ip) => SAFE_IP.test(ip)),
      `line ${i + 1}: unsafe IP ${e.sourceIPs.join(',')}`,
    );
    if (e.stage === 'ResponseStarted') {
      assert.ok(e.verb === 'watch' || e.subresource === 'exec', `ResponseStarted only for watch/exec, got ${e.verb}`);
      started.add(e.auditID);
    } else {
      assert.equal(e.stage, 'ResponseComplete');
      if (e.verb === 'watch') assert.ok(started.has(e.auditID), `watch ${e.auditID} completes after it started`);
    }
    if (e.responseCode === 403) assert.equal(e.authzDecision, 'forbid');
  }
});

test('CloudWatch export lines and FilterLogEvents pages carry the same events', async () => {
  const options = { seed: 3, events: 2500, attackRate: 0.01 };
  const jsonl = lines(await render(options, 'jsonl'));
  const exported = lines(gunzipSync(await render(options, 'cw-export')));
  assert.equal(exported.length, jsonl.length);
  for (const [i, line] of exported.entries()) {
    const space = line.indexOf(' ');
    const ts = line.slice(0, space);
    assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(line.slice(space + 1), jsonl[i]);
    const stage = (JSON.parse(jsonl[i]!) as { stageTimestamp: string }).stageTimestamp;
    assert.equal(ts, stage.slice(0, 23) + 'Z');
  }
  const pages = lines(await render(options, 'filter-log-events')).map(
    (l) => JSON.parse(l) as { events: JsonObject[]; searchedLogStreams: unknown[]; nextToken?: string },
  );
  assert.ok(pages.length >= 3, `2,500 ~1 KB events need several 1 MB pages, got ${pages.length}`);
  const messages = pages.flatMap((p) => p.events.map((e) => e['message']));
  assert.deepEqual(messages, jsonl);
  for (const [i, p] of pages.entries()) {
    assert.deepEqual(p.searchedLogStreams, []);
    assert.equal(p.nextToken === undefined, i === pages.length - 1, 'every page but the last has a nextToken');
    assert.ok(p.events.length <= 10_000);
    assert.ok(p.events.reduce((n, e) => n + String(e['message']).length, 0) <= 1_000_000);
    for (const e of p.events) {
      assert.equal(e['logStreamName'], clusterModel(3).logStream);
      assert.match(String(e['eventId']), /^\d{56}$/);
      assert.ok((e['ingestionTime'] as number) > (e['timestamp'] as number));
    }
  }
});

test('attack rate is respected roughly and every attack kind occurs', () => {
  const byRequest = (rate: number, events: number): { attacks: number; requests: number; kinds: Set<string> } => {
    const all = new Set<string>();
    const attacks = new Set<string>();
    const kinds = new Set<string>();
    for (const g of generateAuditEvents({ seed: 21, events, attackRate: rate })) {
      const id = g.event['auditID'] as string;
      all.add(id);
      if (g.attack !== null) {
        attacks.add(id);
        kinds.add(g.attack);
      }
    }
    return { attacks: attacks.size, requests: all.size, kinds };
  };
  const none = byRequest(0, 5000);
  assert.equal(none.attacks, 0);
  const some = byRequest(0.02, 30_000);
  const share = some.attacks / some.requests;
  assert.ok(share > 0.016 && share < 0.024, `attack share ${share}`);
  const many = byRequest(0.2, 5000);
  assert.deepEqual([...many.kinds].sort(), [...ATTACK_KINDS].sort());
});

test('attack events look like their kind', () => {
  const seen = new Map<string, JsonObject>();
  for (const g of generateAuditEvents({ seed: 9, events: 8000, attackRate: 0.2 }))
    if (g.attack !== null && !seen.has(g.attack)) seen.set(g.attack, g.event);
  const get = (k: string): string => JSON.stringify(seen.get(k));
  assert.match(get('anonymous-access'), /"username":"system:anonymous"/);
  assert.match(get('exec-kube-system'), /"namespace":"kube-system".*"subresource":"exec"/);
  assert.match(get('privileged-pod'), /"privileged":true/);
  assert.match(get('privileged-daemonset'), /"resource":"daemonsets".*"privileged":true.*"hostPath":\{"path":"\/"/);
  assert.match(get('hostpath-mount'), /"hostPath":\{"path":"(\/|\/var\/run\/docker\.sock|\/etc)"/);
  assert.match(
    get('cluster-admin-default-sa'),
    /"roleRef":\{[^}]*"name":"cluster-admin"\},"subjects":\[\{"kind":"ServiceAccount","name":"default"/,
  );
  assert.match(get('service-loadbalancer'), /"verb":"patch".*"requestObject":\{"spec":\{"type":"LoadBalancer"\}\}/);
  assert.match(get('dashboard-exposed'), /"name":"kubernetes-dashboard".*"type":"LoadBalancer"/);
  assert.match(
    get('anonymous-access-granted'),
    /"subjects":\[\{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"system:anonymous"\}\]/,
  );
  const malicious = seen.get('malicious-ip-call')!;
  assert.ok([...TOR_EXIT_IPS, ...MALICIOUS_IPS].includes((malicious['sourceIPs'] as string[])[0]!));
});

test('the scripted story is coherent: one attacker, listed addresses, every required step', () => {
  const model = new TrafficModel(7);
  const steps = attackStory(model, 7);
  const events = storyEvents(model, steps, parseStart('2024-06-03T08:21:04Z'));
  assert.ok(events.length >= 20 && events.length <= 40, `${events.length} story events`);
  for (const [i, g] of events.entries()) {
    const r = normalizeText(JSON.stringify(g.event), fileOrigin('story', i + 1));
    assert.ok(r.ok);
    const ip = r.event.sourceIPs[0]!;
    if (g.attack !== null) assert.ok([TOR_EXIT_IPS[0], MALICIOUS_IPS[0]].includes(ip), `attacker event from ${ip}`);
  }
  const text = events.map((g) => JSON.stringify(g.event)).join('\n');
  assert.match(
    text,
    /"requestURI":"\/api\/v1\/pods\?limit=500","verb":"list","user":\{"username":"system:anonymous"[^\n]*"code":200\}/,
  );
  assert.match(text, /"requestURI":"\/api\/v1\/secrets\?limit=500","verb":"list","user":\{"username":"ops-deploy"/);
  assert.match(text, /"stage":"ResponseStarted","requestURI":"\/api\/v1\/namespaces\/kube-system\/pods\/[^"]+\/exec/);
  assert.match(text, /"resource":"daemonsets".*"privileged":true.*"hostPath":\{"path":"\/"/);
  assert.match(
    text,
    /"name":"cluster-admin"\},"subjects":\[\{"kind":"ServiceAccount","name":"default","namespace":"default"\}\]/,
  );
  assert.match(text, /"requestObject":\{"spec":\{"type":"LoadBalancer"\}\}/);
  const times = events.map((g) => g.atMicros);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
});
