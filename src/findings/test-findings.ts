/**
 * Test support: realistic findings made the real way (native detectors → aggregator).
 * Not used at run time.
 */
import type { Finding } from '../model/finding.js';
import { FindingAggregator } from './aggregator.js';
import { nativeDetectors } from '../detect/native/index.js';
import { parseThreatList } from '../detect/intel/threat-list.js';
import { threatIntelFromLists } from '../detect/intel/threat-intel.js';
import { event, runAll } from '../detect/native/test-events.js';

export function sampleFindings(): Finding[] {
  const intel = threatIntelFromLists([
    parseThreatList('# name: acme-list\n198.51.100.0/24\n', { file: 'acme.txt', kind: 'custom' }).value,
  ]);
  const events = [
    // Privileged pod created by a service account (as in GuardDuty's own sample finding).
    event({
      verb: 'create',
      resource: 'pods',
      namespace: 'argocd',
      requestURI: '/api/v1/namespaces/argocd/pods',
      username: 'system:serviceaccount:argocd:argocd-application-controller',
      uid: '1871d525-442e-487f-ae60-81336d1ff0cf',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd', 'system:authenticated'],
      sourceIPs: ['10.0.205.129'],
      userAgent: 'argocd-application-controller/v0.0.0 (linux/amd64) kubernetes/$Format',
      time: '2023-03-22T21:27:18.186Z',
      requestObject: {
        kind: 'Pod',
        metadata: { name: 'privileged-pod', namespace: 'argocd' },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'public.ecr.aws/amazonlinux/amazonlinux:latest',
              securityContext: { privileged: true },
            },
          ],
        },
      },
    }),
    // Exec into coredns by an IAM role, twice.
    event({
      verb: 'create',
      resource: 'pods',
      subresource: 'exec',
      namespace: 'kube-system',
      name: 'coredns-1',
      code: 101,
      raw: { stage: 'ResponseStarted' },
      time: '2024-05-01T10:00:00Z',
    }),
    event({
      verb: 'create',
      resource: 'pods',
      subresource: 'exec',
      namespace: 'kube-system',
      name: 'coredns-1',
      code: 101,
      raw: { stage: 'ResponseStarted' },
      time: '2024-05-01T10:05:00Z',
    }),
    // Secrets listed from an IP on the user's list.
    event({
      verb: 'list',
      resource: 'secrets',
      namespace: 'prod',
      sourceIPs: ['198.51.100.4'],
      time: '2024-05-01T11:00:00Z',
    }),
  ];
  const agg = new FindingAggregator();
  for (const d of runAll(nativeDetectors({ intel }), events)) agg.add(d);
  return agg.findings();
}

export function findingOfType(fs: readonly Finding[], type: string): Finding {
  const f = fs.find((x) => x.type === type);
  if (f === undefined) throw new Error(`no finding of type ${type} in ${fs.map((x) => x.type).join(', ')}`);
  return f;
}
