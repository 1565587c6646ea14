/**
 * Workload launches that hand a container the node: privileged containers
 * (PrivilegeEscalation:Kubernetes/PrivilegedContainer) and writable sensitive hostPath mounts
 * (Persistence:Kubernetes/ContainerWithSensitiveMount). Both read pods, pods/ephemeralcontainers
 * and every pod template (Deployment, DaemonSet, StatefulSet, ReplicaSet, ReplicationController,
 * Job, CronJob, PodTemplate), in containers, initContainers and ephemeralContainers, on create,
 * update and patch. GuardDuty retired both types; the behaviour is still worth reporting.
 */
import type { AuditEvent } from '../../model/audit-event.js';
import type { Detector, Emit } from '../detector.js';
import { infoOf, SINGLE_RULES } from './catalog.js';
import { sensitiveHostPath } from './criteria.js';
import { succeeded, WORKLOAD_RESOURCES, workloadDetails, workloadOf } from './k8s-object.js';

const WRITE_VERBS = ['create', 'update', 'patch'];

/**
 * Images remembered per cluster for "never used privileged before". 100k (cluster, image) pairs
 * is ~10 MB; past it new images are reported without being remembered.
 */
const PRIVILEGED_IMAGE_MEMORY = 100_000;

export function privilegedContainerDetector(): Detector {
  const info = infoOf(SINGLE_RULES.privilegedContainer);
  const seen = new Set<string>();
  return {
    info,
    index: { verbs: WRITE_VERBS, resources: WORKLOAD_RESOURCES },
    evaluate(e: AuditEvent, emit: Emit): void {
      if (!succeeded(e)) return;
      const w = workloadOf(e);
      if (w === null) return;
      const fresh: { name: string; image: string; containerType: string }[] = [];
      for (const c of w.containers) {
        if (c.privileged !== true) continue;
        // GuardDuty's rule: report an image the first time it runs privileged in a cluster.
        const key = `${e.cluster}\u0000${c.image}`;
        if (seen.has(key)) continue;
        if (seen.size < PRIVILEGED_IMAGE_MEMORY) seen.add(key);
        if (!fresh.some((f) => f.image === c.image))
          fresh.push({ name: c.name, image: c.image, containerType: c.kind });
      }
      if (fresh.length === 0) return;
      emit({
        info,
        event: e,
        groupKey: `${e.username ?? ''}\u0000${w.namespace ?? ''}/${w.type}/${w.name ?? ''}`,
        details: { workload: workloadDetails(w), privilegedContainers: fresh },
      });
    },
  };
}

export function sensitiveMountDetector(): Detector {
  const info = infoOf(SINGLE_RULES.containerWithSensitiveMount);
  return {
    info,
    index: { verbs: WRITE_VERBS, resources: WORKLOAD_RESOURCES },
    evaluate(e: AuditEvent, emit: Emit): void {
      if (!succeeded(e)) return;
      const w = workloadOf(e);
      if (w === null || w.volumes.length === 0) return;
      const mounts: { container: string; mountPath: string; hostPath: string; reason: string }[] = [];
      for (const c of w.containers) {
        for (const m of c.volumeMounts) {
          if (m.readOnly) continue;
          const vol = w.volumes.find((v) => v.name === m.name);
          if (vol === undefined || vol.hostPath === null) continue;
          const s = sensitiveHostPath(vol.hostPath);
          if (s === null) continue;
          mounts.push({ container: c.name, mountPath: m.mountPath, hostPath: vol.hostPath, reason: s.why });
        }
      }
      if (mounts.length === 0) return;
      const paths = [...new Set(mounts.map((m) => m.hostPath))].sort().join(',');
      emit({
        info,
        event: e,
        groupKey: `${e.username ?? ''}\u0000${w.namespace ?? ''}/${w.type}/${w.name ?? ''}\u0000${paths}`,
        details: { workload: workloadDetails(w), sensitiveMounts: mounts.slice(0, 16) },
      });
    },
  };
}
