// @needs-shared-corpus: reads ../shared/corpus or ../shared/reference (the runner skips this file when it is absent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { formatFindings } from './index.js';
import { asffType, asffSeverity } from './asff-format.js';
import { findingOfType, sampleFindings } from '../test-findings.js';
import { sharedPath } from '../../detect/native/test-events.js';
import { nativeDetectors } from '../../detect/native/index.js';
import { remediationLookup } from './index.js';
import type { Finding } from '../../model/finding.js';

const findings = sampleFindings();
const PRIV = 'PrivilegeEscalation:Kubernetes/PrivilegedContainer';
const EXEC = 'Execution:Kubernetes/ExecInKubeSystemPod';
const CUSTOM = 'CredentialAccess:Kubernetes/MaliciousIPCaller.Custom';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walks arbitrary JSON output in assertions
type Json = Record<string, any>;

/** Key paths of a JSON value (arrays collapse to their elements), camelCased. */
function keyPaths(v: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) keyPaths(x, prefix, out);
  else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      const key = prefix + k[0]!.toLowerCase() + k.slice(1);
      out.add(key);
      keyPaths(x, key + '.', out);
    }
  }
  return out;
}

test('json and jsonl are the Finding contract', () => {
  const arr = JSON.parse(formatFindings(findings, 'json')) as Finding[];
  assert.equal(arr.length, 3);
  const lines = formatFindings(findings, 'jsonl').split('\n');
  assert.equal(lines.length, 3);
  const exec = JSON.parse(lines.find((l) => l.includes(EXEC))!) as Finding;
  assert.equal(exec.count, 2);
  assert.equal(exec.engine, 'native');
  assert.match(exec.id, /^[0-9a-f]{32}$/);
  assert.deepEqual(Object.keys(exec).slice(0, 8), [
    'id',
    'type',
    'engine',
    'rule',
    'title',
    'description',
    'severity',
    'cluster',
  ]);
});

test('guardduty: required members, camelCase, the sample finding’s structure', () => {
  const doc = JSON.parse(formatFindings(findings, 'guardduty', { accountId: '123456789012', region: 'eu-west-1' })) as {
    findings: Json[];
  };
  assert.equal(doc.findings.length, 3);
  for (const g of doc.findings) {
    for (const k of [
      'accountId',
      'arn',
      'createdAt',
      'id',
      'region',
      'resource',
      'schemaVersion',
      'severity',
      'type',
      'updatedAt',
    ])
      assert.ok(k in g, `required ${k}`);
    assert.equal(g['schemaVersion'], '2.0');
    assert.equal(g['resource'].resourceType, 'EKSCluster');
    assert.equal(typeof g['severity'], 'number');
    assert.match(g['arn'], /^arn:aws:guardduty:eu-west-1:123456789012:detector\/[0-9a-f]{32}\/finding\/[0-9a-f]{32}$/);
  }
  const priv = doc.findings.find((g) => g['type'] === PRIV)!;
  // Every key path we emit for the privileged-container case exists in AWS's real sample (camelCased),
  // except the additions documented in the API model.
  const sample = JSON.parse(readFileSync(sharedPath('reference', 'guardduty', 'sample-finding.json'), 'utf8'))
    .Findings[0];
  const samplePaths = keyPaths(sample);
  const extra = [...keyPaths(priv)].filter((p) => !samplePaths.has(p)).sort();
  assert.deepEqual(extra, [
    'resource.kubernetesDetails.kubernetesWorkloadDetails.containers.volumeMounts',
    'resource.kubernetesDetails.kubernetesWorkloadDetails.hostIPC',
    'resource.kubernetesDetails.kubernetesWorkloadDetails.hostPID',
    'resource.kubernetesDetails.kubernetesWorkloadDetails.volumes',
    'service.action.kubernetesApiCallAction.namespace',
    'service.action.kubernetesApiCallAction.resource',
    'service.action.kubernetesApiCallAction.sourceIPs',
    'service.featureName',
  ]);
  assert.equal(priv['accountId'], '123456789012');
  assert.equal(priv['severity'], 5);
  assert.equal(priv['service'].count, 1);
  assert.equal(priv['service'].eventFirstSeen, '2023-03-22T21:27:18.186Z');
  assert.equal(
    priv['resource'].kubernetesDetails.kubernetesWorkloadDetails.containers[0].imagePrefix,
    'public.ecr.aws/amazonlinux',
  );
  assert.equal(priv['resource'].kubernetesDetails.kubernetesWorkloadDetails.type, 'pods');
  assert.deepEqual(priv['service'].action.kubernetesApiCallAction.remoteIpDetails, { ipAddressV4: '10.0.205.129' });
  const custom = doc.findings.find((g) => g['type'] === CUSTOM)!;
  assert.equal(custom['service'].evidence.threatIntelligenceDetails[0].threatListName, 'acme-list');
  assert.deepEqual(custom['resource'].accessKeyDetails, { userName: 'Admin', userType: 'Role' });
});

test('guardduty: account derived from the IAM ARN, defaults otherwise', () => {
  const doc = JSON.parse(formatFindings(findings, 'guardduty')) as { findings: Json[] };
  assert.equal(doc.findings.find((g) => g['type'] === EXEC)!['accountId'], '111122223333');
  // One account per cluster in a document: the service-account finding (no IAM caller) shares it.
  assert.equal(doc.findings.find((g) => g['type'] === PRIV)!['accountId'], '111122223333');
  assert.equal(
    doc.findings.find((g) => g['type'] === PRIV)!['resource'].eksClusterDetails.arn,
    'arn:aws:eks:us-east-1:111122223333:cluster/default',
  );
  assert.equal(doc.findings.find((g) => g['type'] === PRIV)!['region'], 'us-east-1');
  // Nothing known about the account: the documented placeholder.
  const alone = JSON.parse(formatFindings([findingOfType(findings, PRIV)], 'guardduty')) as { findings: Json[] };
  assert.equal(alone.findings[0]!['accountId'], '000000000000');
});

test('asff: one account per cluster, the one most callers belong to; another cluster keeps its own', () => {
  const exec = findingOfType(findings, EXEC);
  const other = (id: string, account: string, cluster = 'default'): Finding => ({
    ...exec,
    id,
    cluster,
    actor: { ...exec.actor, iamArn: `arn:aws:iam::${account}:role/X`, uid: `aws-iam-authenticator:${account}:AROAX` },
  });
  const set = [
    other('a'.repeat(32), '444455556666'),
    other('b'.repeat(32), '111122223333'),
    other('c'.repeat(32), '111122223333'),
    other('d'.repeat(32), '777788889999', 'staging'),
    findingOfType(findings, PRIV),
  ];
  const body = JSON.parse(formatFindings(set, 'asff')) as { Findings: Json[] };
  assert.deepEqual(
    body.Findings.map((a) => a['AwsAccountId']),
    ['111122223333', '111122223333', '111122223333', '777788889999', '111122223333'],
  );
  assert.deepEqual(
    new Set(body.Findings.filter((a) => a['AwsAccountId'] === '111122223333').map((a) => a['ProductArn'])).size,
    1,
  );
  const given = JSON.parse(formatFindings(set, 'asff', { accountId: '123456789012' })) as { Findings: Json[] };
  assert.ok(given.Findings.every((a) => a['AwsAccountId'] === '123456789012'));
});

const ASFF_REQUIRED = [
  'AwsAccountId',
  'CreatedAt',
  'Description',
  'GeneratorId',
  'Id',
  'ProductArn',
  'Resources',
  'SchemaVersion',
  'Severity',
  'Title',
  'Types',
  'UpdatedAt',
];

test('asff: a BatchImportFindings body with every required attribute', () => {
  const body = JSON.parse(formatFindings(findings, 'asff', { accountId: '111111111111', region: 'us-east-1' })) as {
    Findings: Json[];
  };
  assert.deepEqual(Object.keys(body), ['Findings']);
  assert.equal(body.Findings.length, 3);
  for (const a of body.Findings) {
    for (const k of ASFF_REQUIRED) assert.ok(a[k] !== undefined && a[k] !== '', `required ${k}`);
    assert.equal(a['SchemaVersion'], '2018-10-08');
    assert.equal(a['ProductArn'], 'arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default');
    assert.ok(a['Resources'].length >= 1);
    for (const r of a['Resources']) assert.ok(typeof r.Type === 'string' && typeof r.Id === 'string');
    for (const t of a['Types']) assert.equal(t.split('/').length, 3, t);
    assert.ok(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].includes(a['Severity'].Label));
    assert.match(a['CreatedAt'], /Z$/);
  }
  const priv = body.Findings.find((a) => a['ProductFields']['eks-sleuth/type'] === PRIV)!;
  assert.deepEqual(priv['Types'], ['TTPs/PrivilegeEscalation/PrivilegeEscalation:Kubernetes-PrivilegedContainer']);
  assert.deepEqual(priv['Severity'], { Label: 'MEDIUM', Normalized: 50, Original: '5' });
  assert.equal(priv['Resources'][0].Id, 'arn:aws:eks:us-east-1:111111111111:cluster/default');
});

test('asff: types and severities map as securityhub.md says; > 100 findings split into bodies', () => {
  const f = findingOfType(findings, PRIV);
  assert.equal(
    asffType({ ...f, type: 'Policy:Kubernetes/ExposedDashboard' }),
    'Software and Configuration Checks/AWS Security Best Practices/Policy:Kubernetes-ExposedDashboard',
  );
  assert.equal(
    asffType({ ...f, type: 'Execution:Kubernetes/AnomalousBehavior.ExecInPod' }),
    'TTPs/AnomalousBehavior/Execution:Kubernetes-ExecInPod',
  );
  assert.equal(
    asffType({
      ...f,
      type: 'Falco:Create Privileged Pod',
      mitre: { tactic: 'Privilege Escalation', technique: 'T1611' },
    }),
    'TTPs/Privilege Escalation/Falco:Create Privileged Pod',
  );
  assert.equal(asffType({ ...f, type: 'Sigma:abc/def', mitre: null }), 'Unusual Behaviors/Kubernetes/Sigma:abc-def');
  assert.deepEqual(asffSeverity('LOW', 2), { Label: 'LOW', Normalized: 20, Original: '2' });
  assert.deepEqual(asffSeverity('HIGH', 8), { Label: 'HIGH', Normalized: 80, Original: '8' });
  assert.deepEqual(asffSeverity('CRITICAL', 10), { Label: 'CRITICAL', Normalized: 100, Original: '10' });
  const many = Array.from({ length: 205 }, (_, i) => ({ ...f, id: i.toString(16).padStart(32, '0') }));
  const lines = formatFindings(many, 'asff').split('\n');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { Findings: unknown[] }).Findings.length),
    [100, 100, 5],
  );
  const suppressed = JSON.parse(formatFindings([{ ...f, suppressed: true, suppressedBy: 'x-rule' }], 'asff')) as {
    Findings: Json[];
  };
  assert.equal(suppressed.Findings[0]!['Workflow'].Status, 'SUPPRESSED');
});

test('ocsf: Detection Finding 2004 with the required attributes of 1.1.0', () => {
  const remediation = remediationLookup(nativeDetectors().map((d) => d.info));
  const lines = formatFindings(findings, 'ocsf', { remediation }).split('\n');
  assert.equal(lines.length, 3);
  for (const l of lines) {
    const o = JSON.parse(l) as Json;
    for (const k of [
      'activity_id',
      'category_uid',
      'class_uid',
      'finding_info',
      'metadata',
      'severity_id',
      'time',
      'type_uid',
    ])
      assert.ok(o[k] !== undefined, `required ${k}`);
    assert.equal(o['class_uid'], 2004);
    assert.equal(o['category_uid'], 2);
    assert.equal(o['activity_id'], 1);
    assert.equal(o['type_uid'], 200401);
    assert.equal(typeof o['time'], 'number');
    assert.ok(o['finding_info'].uid && o['finding_info'].title, 'finding_info.uid and title');
    assert.equal(o['metadata'].version, '1.1.0');
    assert.ok(o['metadata'].product.vendor_name && o['metadata'].product.name);
    assert.ok(
      o['evidences'].length >= 1 &&
        o['evidences'].every((e: Json) => e['actor'] !== undefined || e['api'] !== undefined),
    );
  }
  const exec = JSON.parse(lines.find((l) => l.includes(EXEC))!) as Json;
  assert.equal(exec['severity_id'], 3);
  assert.equal(exec['count'], 2);
  assert.match(exec['remediation'].desc, /kube-system|identity/);
  assert.equal(exec['time'], Date.parse('2024-05-01T10:05:00Z'));
  assert.deepEqual(exec['finding_info'].attacks, [
    { tactic: { name: 'Execution' }, technique: { uid: 'T1609' }, version: '14' },
  ]);
  const custom = JSON.parse(lines.find((l) => l.includes(CUSTOM))!) as Json;
  assert.equal(custom['severity_id'], 4);
  assert.deepEqual(custom['evidences'][0].src_endpoint, { ip: '198.51.100.4' });
  assert.equal(custom['src_endpoint'], undefined, 'not a Detection Finding attribute');
  assert.equal(custom['actor'], undefined, 'not a Detection Finding attribute');
  assert.equal(custom['start_time'] <= custom['end_time'], true);
});

test('typed IP fields only get real addresses: IPv6 as V6, log garbage left out', () => {
  const f = findingOfType(findings, EXEC);
  const v6 = { ...f, actor: { ...f.actor, sourceIPs: ['2001:db8::7'] } };
  const junk = { ...f, actor: { ...f.actor, sourceIPs: ['not-an-ip, 10.0.0.1'] } };
  const asff = (x: Finding): Json => (JSON.parse(formatFindings([x], 'asff')) as { Findings: Json[] }).Findings[0]!;
  const gd = (x: Finding): Json => (JSON.parse(formatFindings([x], 'guardduty')) as { findings: Json[] }).findings[0]!;
  assert.deepEqual(asff(v6)['Network'], { Direction: 'IN', SourceIpV6: '2001:db8::7' });
  assert.deepEqual(gd(v6)['service'].action.kubernetesApiCallAction.remoteIpDetails, { ipAddressV6: '2001:db8::7' });
  assert.equal(asff(junk)['Network'], undefined);
  assert.equal(gd(junk)['service'].action.kubernetesApiCallAction.remoteIpDetails, undefined);
  assert.deepEqual(
    gd(junk)['service'].action.kubernetesApiCallAction.sourceIPs,
    ['not-an-ip, 10.0.0.1'],
    'still shown as text',
  );
});

test('the IP that matched a threat list is the one shown, not a forged first X-Forwarded-For entry', () => {
  const f = findingOfType(findings, CUSTOM);
  const forged = {
    ...f,
    actor: { ...f.actor, sourceIPs: ['10.9.9.9', '198.51.100.4'] },
    details: { ...f.details, threatIntel: { ...(f.details!['threatIntel'] as Json), ip: '198.51.100.4' } },
  };
  const a = (JSON.parse(formatFindings([forged], 'asff')) as { Findings: Json[] }).Findings[0]!;
  assert.deepEqual(a['Network'], { Direction: 'IN', SourceIpV4: '198.51.100.4' });
  assert.equal(a['ProductFields']['eks-sleuth/sourceIP'], '198.51.100.4');
  const o = JSON.parse(formatFindings([forged], 'ocsf')) as Json;
  assert.deepEqual(o['evidences'][0].src_endpoint, { ip: '198.51.100.4' });
  const g = (JSON.parse(formatFindings([forged], 'guardduty')) as { findings: Json[] }).findings[0]!;
  assert.deepEqual(g['service'].action.kubernetesApiCallAction.remoteIpDetails, { ipAddressV4: '198.51.100.4' });
  assert.deepEqual(g['service'].action.kubernetesApiCallAction.sourceIPs, ['10.9.9.9', '198.51.100.4']);
});

test('empty input gives valid empty documents', () => {
  assert.equal(formatFindings([], 'json'), '[]');
  assert.equal(formatFindings([], 'jsonl'), '');
  assert.deepEqual(JSON.parse(formatFindings([], 'asff')), { Findings: [] });
  assert.deepEqual(JSON.parse(formatFindings([], 'guardduty')), { findings: [] });
  assert.equal(formatFindings([], 'ocsf'), '');
});
