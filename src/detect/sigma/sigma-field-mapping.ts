/**
 * Sigma field names → paths into the Kubernetes audit event JSON.
 *
 * A small data-driven pipeline: (1) a user mapping (highest priority), (2) the Kubernetes alias
 * table SigmaHQ's audit rules assume, (3) the field catalog's names, (4) the dotted name read as
 * a path. Paths use `.` between keys and `[]` after a key whose value is an array; matching is
 * "any element" over arrays (pySigma / Elastic semantics, which the SigmaHQ rules rely on).
 *
 * The streaming matcher fans out over every array it meets, marked or not. The SQL compiler
 * needs to know where arrays are (DuckDB JSONPath `[*]`), so it uses the `[]` marks plus
 * KNOWN_ARRAY_KEYS; a path that crosses an array nobody marked is matched in streaming but not
 * in SQL. Mark such arrays with `[]` in a user mapping.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { AuditEvent } from '../../model/audit-event.js';
import { FIELD_CATALOG, type FieldDef } from '../../model/field-catalog.js';
import type { SourceProblem } from '../../model/errors.js';

/**
 * Aliases used by SigmaHQ's `rules/application/kubernetes/audit` rules. They come from the
 * pySigma Elasticsearch `ecs_kubernetes()` pipeline (kubernetes.audit.<native path>) with the
 * ECS prefix removed, so they point at the native audit.k8s.io/v1 Event paths.
 */
export const KUBERNETES_AUDIT_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  apiGroup: 'objectRef.apiGroup',
  resource: 'objectRef.resource',
  subresource: 'objectRef.subresource',
  namespace: 'objectRef.namespace',
  username: 'user.username',
  // SigmaHQ's "Privileged Container Deployed" tests `capabilities`: the pipeline maps it to the
  // capabilities a container adds, read from the request body (needs audit level Request+).
  capabilities: 'requestObject.spec.containers[].securityContext.capabilities.add[]',
  privileged: 'responseObject.spec.containers[].securityContext.privileged',
  hostPath: 'requestObject.spec.volumes[].hostPath',
});

/**
 * Keys whose values are arrays in Kubernetes objects and audit events. The SQL compiler expands
 * them to `[*]` so it has the same any-element semantics as the streaming matcher.
 */
export const KNOWN_ARRAY_KEYS: ReadonlySet<string> = new Set([
  'containers',
  'initContainers',
  'ephemeralContainers',
  'volumes',
  'volumeMounts',
  'volumeDevices',
  'env',
  'envFrom',
  'ports',
  'args',
  'command',
  'subjects',
  'rules',
  'verbs',
  'resources',
  'apiGroups',
  'resourceNames',
  'nonResourceURLs',
  'groups',
  'sourceIPs',
  'add',
  'drop',
  'imagePullSecrets',
  'tolerations',
  'webhooks',
  'items',
  'ownerReferences',
  'finalizers',
  'hostAliases',
  'secrets',
  'sources',
  'audiences',
  'clusterRoleSelectors',
  'allowedHostPaths',
  'allowedCapabilities',
  'defaultAddCapabilities',
  'requiredDropCapabilities',
  'usages',
  'conditions',
  'matchExpressions',
  'values',
  'operations',
  'scopes',
]);

/** A Sigma field resolved to a place in the event. */
export interface ResolvedField {
  /** The name as written in the rule. */
  readonly name: string;
  /** Path into the raw JSON; empty for envelope fields. */
  readonly path: readonly string[];
  /** arrays[i] is true when the value at path[i] is an array (any-element). */
  readonly arrays: readonly boolean[];
  /**
   * The catalog field, when the path is one (read from the typed AuditEvent property in
   * streaming and from the typed column in SQL). Timestamp fields are not: their column is a
   * TIMESTAMP while Sigma compares the ISO text.
   */
  readonly catalog: FieldDef | undefined;
}

export interface SigmaFieldMapping {
  /** Resolve a Sigma field name; never fails (unknown names are read as dotted paths). */
  resolve(name: string): ResolvedField;
  /** The effective alias table (user entries over the Kubernetes defaults), for docs and lint. */
  readonly aliases: Readonly<Record<string, string>>;
}

export interface FieldMappingOptions {
  /** Extra or overriding aliases: Sigma field name → path (`a.b[].c`). */
  readonly extra?: Readonly<Record<string, string>>;
  /** Drop the Kubernetes alias table (only the catalog and dotted paths remain). */
  readonly noDefaults?: boolean;
}

const CATALOG_BY_PATH = new Map<string, FieldDef>();
const ENVELOPE_BY_NAME = new Map<string, FieldDef>();
for (const f of FIELD_CATALOG as readonly FieldDef[]) {
  if (f.path !== null) {
    if (f.type !== 'timestamp') CATALOG_BY_PATH.set(f.path.join('\u0000'), f);
  } else if (f.type === 'string' && f.column !== 'raw') {
    ENVELOPE_BY_NAME.set(f.name, f);
  }
}
const CATALOG_PATH_BY_NAME = new Map<string, readonly string[]>(
  (FIELD_CATALOG as readonly FieldDef[]).filter((f) => f.path !== null).map((f) => [f.name, f.path!.map(String)]),
);

/** Parse `a.b[].c` into segments and array marks. `annotations.<key>` keeps the key whole. */
export function parseFieldPath(spec: string): { path: string[]; arrays: boolean[] } {
  const catalogPath = CATALOG_PATH_BY_NAME.get(spec);
  if (catalogPath !== undefined)
    return { path: [...catalogPath], arrays: catalogPath.map((k) => KNOWN_ARRAY_KEYS.has(k)) };
  const path: string[] = [];
  const arrays: boolean[] = [];
  // Annotation keys contain dots and slashes (authorization.k8s.io/decision): one segment.
  const raw = spec.startsWith('annotations.') ? ['annotations', spec.slice('annotations.'.length)] : spec.split('.');
  for (const seg of raw) {
    const marked = seg.endsWith('[]');
    const key = marked ? seg.slice(0, -2) : seg;
    path.push(key);
    arrays.push(marked || KNOWN_ARRAY_KEYS.has(key));
  }
  return { path, arrays };
}

export function createFieldMapping(options: FieldMappingOptions = {}): SigmaFieldMapping {
  const aliases: Record<string, string> = {
    ...(options.noDefaults === true ? {} : KUBERNETES_AUDIT_ALIASES),
    ...(options.extra ?? {}),
  };
  const cache = new Map<string, ResolvedField>();
  return {
    aliases: Object.freeze(aliases),
    resolve(name: string): ResolvedField {
      const hit = cache.get(name);
      if (hit !== undefined) return hit;
      const target = Object.hasOwn(aliases, name) ? aliases[name]! : name;
      const envelope = ENVELOPE_BY_NAME.get(target);
      let resolved: ResolvedField;
      if (envelope !== undefined) {
        resolved = Object.freeze({ name, path: [], arrays: [], catalog: envelope });
      } else {
        const { path, arrays } = parseFieldPath(target);
        resolved = Object.freeze({ name, path, arrays, catalog: CATALOG_BY_PATH.get(path.join('\u0000')) });
      }
      cache.set(name, resolved);
      return resolved;
    },
  };
}

/**
 * Read a user mapping file: YAML or JSON, either a flat `{sigmaField: path}` object or
 * `{fields: {sigmaField: path}}`.
 */
export function loadFieldMappingFile(file: string): { mapping: Record<string, string>; problems: SourceProblem[] } {
  const problems: SourceProblem[] = [];
  const mapping: Record<string, string> = {};
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    problems.push({ file, line: 0, column: 0, message: `cannot read field mapping: ${(e as Error).message}` });
    return { mapping, problems };
  }
  const obj = isRecord(doc) && isRecord(doc['fields']) ? doc['fields'] : doc;
  if (!isRecord(obj)) {
    problems.push({ file, line: 0, column: 0, message: 'field mapping must be an object of sigma field name → path' });
    return { mapping, problems };
  }
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== 'string' || v.length === 0)
      problems.push({ file, line: 0, column: 0, message: `mapping for '${k}' must be a non-empty path string` });
    else mapping[k] = v;
  }
  return { mapping, problems };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Calls `test` with each non-null value at the field (array elements one by one, nested arrays
 * flattened) until it returns true. Objects are passed as they are (a `*` or `exists` test
 * only needs presence).
 */
export type ValueVisitor = (event: AuditEvent, test: (v: unknown) => boolean) => boolean;

export function compileValueVisitor(field: ResolvedField): ValueVisitor {
  const cat = field.catalog;
  if (cat !== undefined) {
    const prop = cat.property;
    if (cat.type === 'string[]') {
      return (event, test) => {
        const arr = event[prop] as readonly string[];
        for (let i = 0; i < arr.length; i++) if (test(arr[i])) return true;
        return false;
      };
    }
    return (event, test) => {
      const v = event[prop];
      return v !== null && v !== undefined && test(v);
    };
  }
  const path = field.path;
  return (event, test) => walk(event.raw, path, 0, test);
}

function walk(cur: unknown, path: readonly string[], i: number, test: (v: unknown) => boolean): boolean {
  if (cur === null || cur === undefined) return false;
  if (Array.isArray(cur)) {
    for (let k = 0; k < cur.length; k++) if (walk(cur[k], path, i, test)) return true;
    return false;
  }
  if (i === path.length) return test(cur);
  if (typeof cur !== 'object') return false;
  const next = Object.hasOwn(cur, path[i]!) ? (cur as Record<string, unknown>)[path[i]!] : undefined;
  return walk(next, path, i + 1, test);
}

/** The first non-null scalar value at the field as a string (correlation group-by and values). */
export function firstValueString(visitor: ValueVisitor, event: AuditEvent): string | null {
  let out: string | null = null;
  visitor(event, (v) => {
    if (typeof v === 'string') out = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out = String(v);
    else return false;
    return true;
  });
  return out;
}
