import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Detector } from '../detector.js';
import { parseThreatList } from '../intel/threat-list.js';
import { threatIntelFromLists } from '../intel/threat-intel.js';
import { nativeDetectors } from './index.js';
import { event, run, type EventSpec } from './test-events.js';

const intel = threatIntelFromLists([
  parseThreatList('# name: firehol-level1\n198.51.100.0/24\n2001:db8:bad::/48\n', {
    file: 'feeds/firehol.netset',
    kind: 'malicious',
  }).value,
  parseThreatList('192.0.2.66\n', { file: 'lists/acme-blocklist.txt', kind: 'custom' }).value,
  parseThreatList('ExitNode 0011\nPublished 2024-05-01 10:00:00\nExitAddress 185.220.101.7 2024-05-01 10:05:00\n', {
    file: 'tor-exit-addresses',
    kind: 'tor',
  }).value,
]);
const detectors = nativeDetectors({ intel });

function byType(type: string): Detector {
  const d = detectors.find((x) => x.info.type === type);
  assert.ok(d, `no detector for ${type}`);
  return d;
}

const ANON = {
  username: 'system:anonymous',
  uid: '',
  groups: ['system:unauthenticated'],
  extra: {},
} satisfies Partial<EventSpec>;

const CASES: { tactic: string; hit: EventSpec; miss: EventSpec }[] = [
  {
    tactic: 'CredentialAccess',
    hit: { verb: 'list', resource: 'secrets', namespace: 'prod' },
    miss: { verb: 'create', resource: 'secrets', namespace: 'prod' },
  },
  {
    tactic: 'DefenseEvasion',
    hit: { verb: 'deletecollection', resource: 'events', namespace: 'prod' },
    miss: { verb: 'create', resource: 'events', namespace: 'prod' },
  },
  {
    tactic: 'Discovery',
    hit: { verb: 'list', resource: 'pods' },
    miss: { verb: 'create', resource: 'pods', namespace: 'prod' },
  },
  {
    tactic: 'Impact',
    hit: { verb: 'delete', resource: 'deployments', apiGroup: 'apps', namespace: 'prod', name: 'web' },
    miss: { verb: 'get', resource: 'deployments', apiGroup: 'apps', namespace: 'prod', name: 'web', code: 200 },
  },
  {
    tactic: 'Persistence',
    hit: { verb: 'create', resource: 'clusterrolebindings', apiGroup: 'rbac.authorization.k8s.io', name: 'backdoor' },
    miss: { verb: 'delete', resource: 'clusterrolebindings', apiGroup: 'rbac.authorization.k8s.io', name: 'backdoor' },
  },
];

for (const c of CASES) {
  test(`${c.tactic}:Kubernetes/MaliciousIPCaller fires for a listed IP and not for others`, () => {
    const d = byType(`${c.tactic}:Kubernetes/MaliciousIPCaller`);
    const hits = run(d, event({ ...c.hit, sourceIPs: ['198.51.100.23'] }));
    assert.equal(hits.length, 1);
    assert.deepEqual((hits[0]!.details as { threatIntel: unknown }).threatIntel, {
      threatListName: 'firehol-level1',
      threatNames: ['198.51.100.0/24'],
      threatFileSha256: intel.malicious[0]!.sha256,
      ip: '198.51.100.23',
    });
    assert.equal(run(d, event({ ...c.hit, sourceIPs: ['203.0.113.9'] })).length, 0, 'unlisted IP');
    assert.equal(run(d, event({ ...c.miss, sourceIPs: ['198.51.100.23'] })).length, 0, 'API outside the tactic');
    assert.equal(
      run(d, event({ ...c.hit, ...ANON, sourceIPs: ['198.51.100.23'] })).length,
      0,
      'unauthenticated calls are not MaliciousIPCaller',
    );
  });

  test(`${c.tactic}:Kubernetes/MaliciousIPCaller.Custom names the list`, () => {
    const d = byType(`${c.tactic}:Kubernetes/MaliciousIPCaller.Custom`);
    const hits = run(d, event({ ...c.hit, sourceIPs: ['192.0.2.66'] }));
    assert.equal(hits.length, 1);
    assert.equal(
      (hits[0]!.details as { threatIntel: { threatListName: string } }).threatIntel.threatListName,
      'acme-blocklist.txt',
    );
    assert.equal(run(d, event({ ...c.hit, sourceIPs: ['192.0.2.67'] })).length, 0);
    assert.equal(run(d, event({ ...c.miss, sourceIPs: ['192.0.2.66'] })).length, 0);
  });

  test(`${c.tactic}:Kubernetes/TorIPCaller fires for a Tor exit`, () => {
    const d = byType(`${c.tactic}:Kubernetes/TorIPCaller`);
    assert.equal(run(d, event({ ...c.hit, sourceIPs: ['185.220.101.7'] })).length, 1);
    assert.equal(run(d, event({ ...c.hit, sourceIPs: ['185.220.101.8'] })).length, 0);
    assert.equal(run(d, event({ ...c.miss, sourceIPs: ['185.220.101.7'] })).length, 0);
  });

  test(`${c.tactic}:Kubernetes/SuccessfulAnonymousAccess fires only for successful anonymous calls`, () => {
    const d = byType(`${c.tactic}:Kubernetes/SuccessfulAnonymousAccess`);
    assert.equal(run(d, event({ ...c.hit, ...ANON })).length, 1);
    assert.equal(run(d, event({ ...c.hit, ...ANON, code: 403 })).length, 0, 'denied');
    assert.equal(run(d, event({ ...c.hit })).length, 0, 'authenticated');
    assert.equal(run(d, event({ ...c.miss, ...ANON })).length, 0, 'API outside the tactic');
  });
}

test('severities follow GuardDuty defaults', () => {
  const sev = (t: string) => byType(t).info.severity.label;
  assert.equal(sev('Discovery:Kubernetes/MaliciousIPCaller'), 'MEDIUM');
  assert.equal(sev('Persistence:Kubernetes/MaliciousIPCaller'), 'MEDIUM');
  assert.equal(sev('Persistence:Kubernetes/TorIPCaller'), 'MEDIUM');
  assert.equal(sev('Persistence:Kubernetes/SuccessfulAnonymousAccess'), 'HIGH');
  assert.equal(sev('CredentialAccess:Kubernetes/TorIPCaller'), 'HIGH');
  assert.equal(sev('Impact:Kubernetes/MaliciousIPCaller.Custom'), 'HIGH');
  assert.equal(sev('Discovery:Kubernetes/SuccessfulAnonymousAccess'), 'MEDIUM');
});

test('anonymous discovery excludes health endpoints but not other non-resource URLs', () => {
  const d = byType('Discovery:Kubernetes/SuccessfulAnonymousAccess');
  for (const uri of ['/healthz', '/livez', '/readyz', '/version', '/readyz?verbose', '/healthz/etcd', '/version/']) {
    assert.equal(run(d, event({ verb: 'get', requestURI: uri, ...ANON })).length, 0, uri);
  }
  assert.equal(run(d, event({ verb: 'get', requestURI: '/api', ...ANON })).length, 1);
  assert.equal(run(d, event({ verb: 'get', requestURI: '/openapi/v2', ...ANON })).length, 1);
});

test('a forged X-Forwarded-For entry does not hide a listed proxy hop; IPv6 and mapped IPv4 match', () => {
  const d = byType('Discovery:Kubernetes/MaliciousIPCaller');
  assert.equal(run(d, event({ verb: 'list', resource: 'nodes', sourceIPs: ['10.0.0.1', '198.51.100.200'] })).length, 1);
  assert.equal(run(d, event({ verb: 'list', resource: 'nodes', sourceIPs: ['2001:db8:bad:1::5'] })).length, 1);
  assert.equal(
    run(d, event({ verb: 'list', resource: 'nodes', sourceIPs: ['::ffff:198.51.100.9'] })).length,
    1,
    'IPv4-mapped IPv6',
  );
  assert.equal(run(d, event({ verb: 'list', resource: 'nodes', sourceIPs: ['2001:db8:bae::1'] })).length, 0);
});

test('a lone RequestReceived (no outcome logged) is judged on the authorizer decision', () => {
  const d = byType('Persistence:Kubernetes/SuccessfulAnonymousAccess');
  const received = (annotations: Record<string, string>) =>
    event({
      verb: 'create',
      resource: 'serviceaccounts',
      namespace: 'x',
      ...ANON,
      raw: { stage: 'RequestReceived', responseStatus: undefined, annotations },
    });
  assert.equal(run(d, received({})).length, 0, 'no response code and no allow decision: not a success');
  assert.equal(run(d, received({ 'authorization.k8s.io/decision': 'allow' })).length, 1, 'allowed by the authorizer');
});

test('without threat lists only the anonymous detectors of the families exist', () => {
  const plain = nativeDetectors();
  const types = plain.map((d) => d.info.type).filter((t) => /IPCaller/.test(t));
  assert.deepEqual(types, []);
  assert.equal(plain.filter((d) => d.info.type.endsWith('SuccessfulAnonymousAccess')).length, 5);
});

test('aws-auth edits are Persistence only in kube-system', () => {
  const d = byType('Persistence:Kubernetes/TorIPCaller');
  assert.equal(
    run(
      d,
      event({
        verb: 'patch',
        resource: 'configmaps',
        namespace: 'kube-system',
        name: 'aws-auth',
        sourceIPs: ['185.220.101.7'],
      }),
    ).length,
    1,
  );
  assert.equal(
    run(
      d,
      event({
        verb: 'patch',
        resource: 'configmaps',
        namespace: 'default',
        name: 'aws-auth',
        sourceIPs: ['185.220.101.7'],
      }),
    ).length,
    0,
  );
  assert.equal(
    run(
      d,
      event({
        verb: 'patch',
        resource: 'configmaps',
        namespace: 'kube-system',
        name: 'coredns',
        sourceIPs: ['185.220.101.7'],
      }),
    ).length,
    0,
  );
});
