/**
 * Lint for Sigma rules against what Kubernetes audit events can contain. A rule can be valid
 * Sigma and still never fire on real audit logs (SigmaHQ's enumeration rule compares
 * responseStatus.code, an HTTP integer, with 'ALLOW'); these checks say so and why.
 */
import type { SourceProblem } from '../../model/errors.js';
import type { FieldItemNode, SigmaDetectionRule, SigmaExpr, SigmaValueNode } from './sigma-ast.js';

/** Verbs the apiserver writes: resource verbs plus lowercased HTTP methods of non-resource URLs. */
export const AUDIT_VERBS: ReadonlySet<string> = new Set([
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'post',
  'put',
  'head',
  'options',
  'connect',
  'proxy',
]);
/** Top-level keys of an audit.k8s.io/v1 Event: a path starting elsewhere is never present. */
const AUDIT_TOP_LEVEL: ReadonlySet<string> = new Set([
  'kind',
  'apiVersion',
  'level',
  'auditID',
  'stage',
  'requestURI',
  'verb',
  'user',
  'impersonatedUser',
  'sourceIPs',
  'userAgent',
  'objectRef',
  'responseStatus',
  'requestObject',
  'responseObject',
  'requestReceivedTimestamp',
  'stageTimestamp',
  'annotations',
  'metadata',
]);
const AUDIT_STAGES: ReadonlySet<string> = new Set(['requestreceived', 'responsestarted', 'responsecomplete', 'panic']);
const AUDIT_LEVELS: ReadonlySet<string> = new Set(['none', 'metadata', 'request', 'requestresponse']);

/** Why this value can never equal the field in an audit event, or null when it can. */
function impossibleValue(item: FieldItemNode, v: SigmaValueNode): string | null {
  const cat = item.field.catalog;
  if (v.kind !== 'string' || cat === undefined) return null;
  if (v.pattern.parts.some((p) => p.kind !== 'literal')) return null;
  const text = v.pattern.parts.map((p) => (p.kind === 'literal' ? p.text : '')).join('');
  if (cat.type === 'int' && !/^-?\d+$/.test(text)) {
    const hint =
      cat.name === 'responseStatus.code'
        ? ' (the authorization decision is annotations.authorization.k8s.io/decision: allow|forbid)'
        : '';
    return `${item.field.name} is an integer in audit events (e.g. the HTTP status 200, 403), so '${text}' never matches${hint}`;
  }
  if (cat.name === 'verb' && !AUDIT_VERBS.has(text.toLowerCase())) {
    return `'${text}' is not a Kubernetes audit verb (${[...AUDIT_VERBS].slice(0, 8).join(', ')}; HTTP PUT is logged as 'update')`;
  }
  if (cat.name === 'stage' && !AUDIT_STAGES.has(text.toLowerCase())) return `'${text}' is not an audit stage`;
  if (cat.name === 'level' && !AUDIT_LEVELS.has(text.toLowerCase())) return `'${text}' is not an audit level`;
  return null;
}

export function lintSigmaExpr(rule: SigmaDetectionRule): SourceProblem[] {
  const out: SourceProblem[] = [];
  const warn = (line: number, column: number, message: string): void => {
    out.push({ file: rule.file, rule: rule.id, line, column, message, severity: 'warning' });
  };
  const bodyFields = new Set<string>();
  const visit = (e: SigmaExpr): void => {
    switch (e.kind) {
      case 'and':
      case 'or':
        e.items.forEach(visit);
        return;
      case 'not':
        visit(e.item);
        return;
      case 'field': {
        const first = e.field.path[0];
        if (
          first !== undefined &&
          e.field.catalog === undefined &&
          !AUDIT_TOP_LEVEL.has(first) &&
          !bodyFields.has(`unknown:${e.field.name}`)
        ) {
          bodyFields.add(`unknown:${e.field.name}`);
          const via = e.field.name !== e.field.path.join('.') ? ` (mapped to ${e.field.path.join('.')})` : '';
          warn(
            e.line,
            e.column,
            `field '${e.field.name}'${via} is not in Kubernetes audit events (top-level keys: ${[...AUDIT_TOP_LEVEL].slice(0, 18).join(', ')}), so it is always absent; use the audit path (e.g. user.username) or map the name with --sigma-mapping FILE`,
          );
        }
        if ((first === 'requestObject' || first === 'responseObject') && !bodyFields.has(e.field.name)) {
          bodyFields.add(e.field.name);
          const via = e.field.name !== e.field.path.join('.') ? ` (mapped to ${e.field.path.join('.')})` : '';
          warn(
            e.line,
            e.column,
            `${e.field.name}${via} is read from the ${first}, which the apiserver only logs at audit level ${first === 'requestObject' ? 'Request or RequestResponse' : 'RequestResponse'}; with a Metadata-level policy (the EKS default for most resources) this never matches`,
          );
        }
        if (
          e.field.name === 'capabilities' &&
          e.field.path.join('.').endsWith('capabilities.add') &&
          !bodyFields.has('capabilities:add')
        ) {
          bodyFields.add('capabilities:add');
          warn(
            e.line,
            e.column,
            "'capabilities' means capabilities a container adds (securityContext.capabilities.add); containers with securityContext.privileged: true are not matched by it (test requestObject.spec.containers.securityContext.privileged for those)",
          );
        }
        if (
          e.field.catalog?.name === 'objectRef.apiGroup' &&
          !e.negated &&
          e.values.some((v) => v.kind === 'string' && v.pattern.parts.length === 0)
        ) {
          warn(
            e.line,
            e.column,
            `${e.field.name}: '' only matches producers that write an empty apiGroup; the apiserver omits objectRef.apiGroup for the core group, so use null to match core resources`,
          );
        }
        if (e.values.length > 1) {
          for (const v of e.values) {
            const why = impossibleValue(e, v);
            if (why !== null) warn(e.line, e.column, `value never matches: ${why}`);
          }
        }
        return;
      }
      default:
        return;
    }
  };
  visit(rule.expr);
  const never = whyNever(rule.expr);
  if (never !== null) warn(never.line, never.column, `rule can never match real audit events: ${never.reason}`);
  return out;
}

/** A reason the whole expression is unsatisfiable, or null. Conservative: `not` is never judged. */
function whyNever(e: SigmaExpr): { reason: string; line: number; column: number } | null {
  switch (e.kind) {
    case 'and':
      for (const i of e.items) {
        const w = whyNever(i);
        if (w !== null) return w;
      }
      return null;
    case 'or': {
      const ws = e.items.map(whyNever);
      return ws.every((w) => w !== null) ? ws[0]! : null;
    }
    case 'const':
      return e.value ? null : { reason: 'the condition is always false', line: 0, column: 0 };
    case 'field': {
      if (e.negated) return null;
      const reasons = e.values.map((v) => impossibleValue(e, v));
      const impossible = e.all ? reasons.find((r) => r !== null) : reasons.every((r) => r !== null) ? reasons[0] : null;
      return impossible === null || impossible === undefined
        ? null
        : { reason: impossible, line: e.line, column: e.column };
    }
    default:
      return null;
  }
}
