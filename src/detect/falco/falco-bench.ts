/**
 * Micro-benchmark of the Falco pack on a synthetic event mix (mostly reads, like a real
 * cluster, plus writes that match rules). Run after a build:
 *   node dist/src/detect/falco/falco-bench.js RULES.yaml… [--match first|all] [--events N]
 * Reports CPU time per event (process.cpuUsage, so other load on the machine matters less).
 */
import type { AuditEvent } from '../../model/audit-event.js';
import { fileOrigin, normalizeParsed } from '../../normalize/normalize.js';
import { loadFalcoRulesSync } from './falco-loader.js';

function event(i: number, verb: string, resource: string, extra: Record<string, unknown> = {}): AuditEvent {
  const raw = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: `id-${i}`,
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/ns${i % 7}/${resource}`,
    verb,
    user: { username: i % 3 === 0 ? 'system:serviceaccount:kube-system:replicaset-controller' : i % 50 === 1 ? 'eve' : 'kubernetes-admin', groups: ['system:authenticated'] },
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
  const pod = { requestObject: { spec: { containers: [{ name: 'c', image: 'nginx:1.25', securityContext: { privileged: false } }], volumes: [{ name: 'v', hostPath: { path: '/var/log' } }] } } };
  const out: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 20;
    if (k < 12) out.push(event(i, ['get', 'list', 'watch'][k % 3]!, ['pods', 'configmaps', 'endpoints', 'leases'][k % 4]!));
    else if (k < 15) out.push(event(i, 'create', 'pods', pod));
    else if (k < 17) out.push(event(i, 'update', 'configmaps', { requestObject: { data: { 'app.properties': 'x=1\ny=2' } } }));
    else if (k < 18) out.push(event(i, 'create', 'clusterrolebindings', { requestObject: { roleRef: { name: 'view' }, subjects: [{ kind: 'User', name: 'u' }] } }));
    else out.push(event(i, 'delete', ['secrets', 'deployments'][k % 2]!));
  }
  return out;
}

function main(argv: readonly string[]): void {
  const files = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
  const match = argv.includes('--match') ? (argv[argv.indexOf('--match') + 1] as 'first' | 'all') : 'first';
  const n = argv.includes('--events') ? Number(argv[argv.indexOf('--events') + 1]) : 200_000;
  const loaded = loadFalcoRulesSync(files, { match });
  if (loaded.pack === null) throw new Error(loaded.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n'));
  const events = mix(Math.min(n, 20_000));
  let detections = 0;
  for (const e of events) loaded.pack.evaluate(e, () => detections++); // warm-up
  detections = 0;
  const t0 = process.cpuUsage();
  for (let done = 0; done < n; done += events.length) for (const e of events) loaded.pack.evaluate(e, () => detections++);
  const cu = process.cpuUsage(t0);
  const total = Math.ceil(n / events.length) * events.length;
  const ns = ((cu.user + cu.system) * 1000) / total;
  console.log(`${loaded.stats.activeRules} rules, match=${match}: ${total} events, ${detections} detections, ${ns.toFixed(0)} ns CPU/event (${(1e3 / ns).toFixed(2)} M events/s)`);
}

main(process.argv.slice(2));
