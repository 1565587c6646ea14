/**
 * Micro-benchmark of the Falco pack: the rules are run twice on the same events, once with the
 * pack's derived (verb, resource) index and once with every rule forced to always-run, so the
 * index's effect is measured directly (rule conditions evaluated, CPU time, events/s).
 * Run after a build:
 *   node dist/src/detect/falco/falco-bench.js RULES.yaml… [--match first|all] [--events N] [--input FILE.jsonl]
 * Events come from FILE.jsonl (one audit event per line, e.g. from `node dist/bench/generate.js`)
 * or else from a synthetic mix (mostly reads, like a real cluster, plus writes that match rules).
 * Reports CPU time per event (process.cpuUsage, so other load on the machine matters less).
 */
import type { AuditEvent } from '../../model/audit-event.js';
import { fileOrigin, normalizeParsed } from '../../normalize/normalize.js';
import { readFileSync } from 'node:fs';
import { loadFalcoRulesSync } from './falco-loader.js';
import { FalcoRulePack, type FalcoMatchMode } from './falco-pack.js';

function event(i: number, verb: string, resource: string, extra: Record<string, unknown> = {}): AuditEvent {
  const raw = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: `id-${i}`,
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/ns${i % 7}/${resource}`,
    verb,
    user: {
      username:
        i % 3 === 0
          ? 'system:serviceaccount:kube-system:replicaset-controller'
          : i % 50 === 1
            ? 'eve'
            : 'kubernetes-admin',
      groups: ['system:authenticated'],
    },
    sourceIPs: ['10.0.0.1'],
    userAgent: 'kubectl/v1.29',
    objectRef: { resource, namespace: `ns${i % 7}`, name: `obj${i}`, apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: verb === 'create' ? 201 : 200 },
    requestReceivedTimestamp: '2024-05-01T10:00:00.123456Z',
    stageTimestamp: '2024-05-01T10:00:00.223456Z',
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC' },
    ...extra,
  };
  const text = JSON.stringify(raw);
  const r = normalizeParsed(JSON.parse(text), text, fileOrigin('bench', i));
  if (!r.ok) throw new Error(r.reason);
  return r.event;
}

function mix(n: number): AuditEvent[] {
  const pod = {
    requestObject: {
      spec: {
        containers: [{ name: 'c', image: 'nginx:1.25', securityContext: { privileged: false } }],
        volumes: [{ name: 'v', hostPath: { path: '/var/log' } }],
      },
    },
  };
  const out: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 20;
    if (k < 12)
      out.push(event(i, ['get', 'list', 'watch'][k % 3]!, ['pods', 'configmaps', 'endpoints', 'leases'][k % 4]!));
    else if (k < 15) out.push(event(i, 'create', 'pods', pod));
    else if (k < 17)
      out.push(event(i, 'update', 'configmaps', { requestObject: { data: { 'app.properties': 'x=1\ny=2' } } }));
    else if (k < 18)
      out.push(
        event(i, 'create', 'clusterrolebindings', {
          requestObject: { roleRef: { name: 'view' }, subjects: [{ kind: 'User', name: 'u' }] },
        }),
      );
    else out.push(event(i, 'delete', ['secrets', 'deployments'][k % 2]!));
  }
  return out;
}

/** Audit events from a JSONL file; lines that are not audit events are skipped. */
function readJsonl(path: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      const r = normalizeParsed(JSON.parse(line), line, fileOrigin(path, i + 1));
      if (r.ok) out.push(r.event);
    });
  return out;
}

export interface BenchResult {
  readonly events: number;
  readonly detections: number;
  readonly ruleEvaluations: number;
  readonly nsPerEvent: number;
}

/** Runs `pack` over `events` until `n` events were evaluated (after one warm-up pass). */
export function runPack(pack: FalcoRulePack, events: readonly AuditEvent[], n: number): BenchResult {
  let detections = 0;
  const count = (): void => {
    detections++;
  };
  for (const e of events) pack.evaluate(e, count); // warm-up (JIT, candidate cache)
  detections = 0;
  const before = pack.ruleEvaluations;
  const rounds = Math.max(1, Math.ceil(n / events.length));
  const t0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) for (const e of events) pack.evaluate(e, count);
  const cu = process.cpuUsage(t0);
  const total = rounds * events.length;
  return {
    events: total,
    detections,
    ruleEvaluations: pack.ruleEvaluations - before,
    nsPerEvent: ((cu.user + cu.system) * 1000) / total,
  };
}

/** The same rules with every index dropped: each rule runs on every event. */
export function alwaysRunPack(pack: FalcoRulePack): FalcoRulePack {
  return new FalcoRulePack(
    pack.detectors.map((d) => ({ ...d.rule, index: {} })),
    { match: pack.match, name: `${pack.name} (always-run)` },
  );
}

function main(argv: readonly string[]): void {
  const files = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
  const opt = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const match = (opt('--match') ?? 'first') as FalcoMatchMode;
  const input = opt('--input');
  const loaded = loadFalcoRulesSync(files, { match });
  if (loaded.pack === null) throw new Error(loaded.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n'));
  const events = input !== undefined ? readJsonl(input) : mix(Math.min(Number(opt('--events') ?? 200_000), 20_000));
  if (events.length === 0) throw new Error('no audit events to run');
  const n = Number(opt('--events') ?? Math.max(200_000, events.length));
  const plain = alwaysRunPack(loaded.pack);
  const fmt = (label: string, r: BenchResult): string =>
    `${label}: ${r.events} events, ${r.detections} detections, ${r.ruleEvaluations} rule evaluations (${(r.ruleEvaluations / r.events).toFixed(2)}/event), ` +
    `${r.nsPerEvent.toFixed(0)} ns CPU/event (${Math.round(1e9 / r.nsPerEvent).toLocaleString('en-US')} events/s)`;
  // Alternate the two runs so a burst of load on the machine does not favour one of them.
  const indexed: BenchResult[] = [];
  const always: BenchResult[] = [];
  for (let k = 0; k < 3; k++) {
    indexed.push(runPack(loaded.pack, events, n));
    always.push(runPack(plain, events, n));
  }
  const best = (rs: BenchResult[]): BenchResult => rs.reduce((a, b) => (b.nsPerEvent < a.nsPerEvent ? b : a));
  const a = best(indexed);
  const b = best(always);
  if (a.detections !== b.detections)
    throw new Error(`the index changed the result: ${a.detections} vs ${b.detections} detections`);
  console.log(
    `${loaded.stats.activeRules} rules, match=${match}, ${events.length} distinct events${input !== undefined ? ` from ${input}` : ' (synthetic)'} (best of 3)`,
  );
  console.log(fmt('indexed   ', a));
  console.log(fmt('always-run', b));
  console.log(
    `speed-up: ${(b.nsPerEvent / a.nsPerEvent).toFixed(2)}x events/s, ${(b.ruleEvaluations / a.ruleEvaluations).toFixed(2)}x fewer rule evaluations`,
  );
}

// Only when run as a script (the helpers above are importable by tests).
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/')))
  main(process.argv.slice(2));
