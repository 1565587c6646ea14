/**
 * Execution:Kubernetes/ExecInKubeSystemPod: the exec API used on a pod in kube-system.
 * kubectl exec logs `create pods/exec` (SPDY) or, from kubectl 1.30 with WebSockets, `get pods/exec`.
 */
import type { AuditEvent } from '../../model/audit-event.js';
import type { Detector, Emit } from '../detector.js';
import { infoOf, SINGLE_RULES } from './catalog.js';
import { succeeded } from './k8s-object.js';

export function execInKubeSystemPodDetector(): Detector {
  const info = infoOf(SINGLE_RULES.execInKubeSystemPod);
  return {
    info,
    index: { verbs: ['create', 'get'], resources: ['pods'] },
    evaluate(e: AuditEvent, emit: Emit): void {
      if (e.subresource !== 'exec' || e.namespace !== 'kube-system') return;
      if (!succeeded(e)) return;
      const command = commandOf(e.requestURI);
      emit({
        info,
        event: e,
        details: { pod: e.name, namespace: e.namespace, ...(command.length > 0 ? { command } : {}) },
      });
    },
  };
}

/** The `command=` parameters of an exec URI, decoded (bounded: they are shown, not executed). */
export function commandOf(uri: string | null): string[] {
  if (uri === null) return [];
  const q = uri.indexOf('?');
  if (q < 0) return [];
  const out: string[] = [];
  for (const part of uri.slice(q + 1, q + 1 + 4096).split('&')) {
    if (!part.startsWith('command=')) continue;
    try {
      out.push(decodeURIComponent(part.slice(8).replace(/\+/g, ' ')));
    } catch {
      out.push(part.slice(8));
    }
    if (out.length >= 32) break;
  }
  return out;
}
