/**
 * The catalog of every field a `source: k8s_audit` rule can use: the k8saudit plugin's `ka.*`
 * fields (0.18.0), the json plugin's `json.*` / `jevt.*` fields and the generic `evt.*` fields.
 * One row per field: name, type, list flag, argument kind, description and an extractor
 * factory. The condition compiler, the output formatter, lint and the docs all read this table.
 *
 * Semantics follow reference/falco/fields.md (from plugins/k8saudit extract.go), including the
 * upstream quirks it documents (ka.sourceips reads requestObject.rules[].sourceIPs,
 * ka.req.service.ports yields one JSON value, eff_run_as_user reads the non-securityContext
 * paths, ka.req.binding.subject.has_name is always "true").
 *
 * Extractors are compiled once per use (argument parsed, pointer split) and return a string,
 * a non-empty array of strings (list fields), or undefined when the field is absent.
 */
import { hostname } from 'node:os';
import type { AuditEvent } from '../../model/audit-event.js';
import { FIELD_CATALOG } from '../../model/field-catalog.js';
import { compilePointer, marshal, marshalIndented, renderValue } from './falco-json.js';

/** string: compared with strcmp semantics; uint64: compared as unsigned integers. */
export type FalcoFieldType = 'string' | 'uint64';
/** none: no `[arg]`; index: optional `[i]`; key: required `[k]`. */
export type FalcoArgKind = 'none' | 'index' | 'key';

export type FieldValue = string | readonly string[] | undefined;
export type FieldExtractor = (event: AuditEvent) => FieldValue;

export interface FalcoFieldDef {
  readonly name: string;
  readonly type: FalcoFieldType;
  /** List fields (libs EPF_IS_LIST): only exists / in / intersects apply. */
  readonly list: boolean;
  readonly arg: FalcoArgKind;
  readonly description: string;
  /** `arg` is the parsed bracket argument: a key string, an index number, or null. */
  readonly compile: (arg: string | number | null) => FieldExtractor;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Keys passed here are catalog constants (never Object.prototype names), so a plain property
// read on the JSON.parse'd object is safe and much cheaper than hasOwnProperty on the hot path.
function own(o: unknown, k: string): unknown {
  return typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Obj)[k] : undefined;
}

/** Every ka.* field is absent when the event has no top-level auditID (extract.go). */
function auditRoot(ev: AuditEvent): Obj | undefined {
  const raw = ev.raw as Obj;
  return raw['auditID'] === undefined ? undefined : raw;
}

function walk(root: unknown, keys: readonly string[]): unknown {
  let cur = root;
  for (let i = 0; i < keys.length; i++) {
    cur = own(cur, keys[i]!);
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Scalar ka.* field at a fixed path; an array where a scalar is expected is absent. */
function scalarAt(...keys: string[]): () => FieldExtractor {
  return () => (ev) => {
    const v = walk(auditRoot(ev), keys);
    if (v === undefined || Array.isArray(v)) return undefined;
    return renderValue(v);
  };
}

type StringProperty = { [K in keyof AuditEvent]: AuditEvent[K] extends string | null ? K : never }[keyof AuditEvent];

/**
 * Fast path for fields the normalizer already extracted into typed AuditEvent properties
 * (normalization checked they are strings). Absent (null) stays absent. One difference from
 * reading the raw JSON: a JSON `null` there is absent here, where the plugin would print "null".
 */
function typed(prop: StringProperty): () => FieldExtractor {
  return () => (ev) => {
    const v = ev[prop] as string | null;
    return v === null ? undefined : v;
  };
}

/** List ka.* field whose value must be a JSON array; each element rendered. */
function arrayAt(...keys: string[]): () => FieldExtractor {
  return () => (ev) => {
    const v = walk(auditRoot(ev), keys);
    if (!Array.isArray(v) || v.length === 0) return undefined;
    return v.map(renderValue);
  };
}

function nonEmpty(out: string[]): FieldValue {
  return out.length === 0 ? undefined : out;
}

/** Elements of an array at `keys` (fan-out), or the i-th one when an index argument is given. */
function elements(root: unknown, keys: readonly string[], index: number | null): readonly unknown[] | undefined {
  const v = walk(root, keys);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return index === null || index === 0 ? [v] : undefined;
  if (index === null) return v;
  return index < v.length ? [v[index]] : undefined;
}

/** Per-element mapper result: a string, SKIP (nil-skipped), or ERROR (whole field absent). */
const SKIP = Symbol('skip');
const ERROR = Symbol('error');
type Mapped = string | typeof SKIP | typeof ERROR;

function perElement(
  keys: readonly string[],
  map: (el: unknown, root: Obj) => Mapped,
): (arg: string | number | null) => FieldExtractor {
  return (arg) => {
    const index = typeof arg === 'number' ? arg : null;
    return (ev) => {
      const root = auditRoot(ev);
      if (root === undefined) return undefined;
      const els = elements(root, keys, index);
      if (els === undefined) return undefined;
      const out: string[] = [];
      for (let i = 0; i < els.length; i++) {
        const r = map(els[i], root);
        if (r === ERROR) return undefined;
        if (r !== SKIP) out.push(r);
      }
      return nonEmpty(out);
    };
  };
}

function required(el: unknown, k: string): Mapped {
  const v = own(el, k);
  return v === undefined ? ERROR : renderValue(v);
}

function optionalAt(el: unknown, keys: readonly string[]): Mapped {
  const v = walk(el, keys);
  return v === undefined ? SKIP : renderValue(v);
}

function repository(image: string): string {
  return image.split(':')[0]!.split('@')[0]!;
}

function joinedStrings(el: unknown, k: string): Mapped {
  const v = own(el, k);
  if (v === undefined) return SKIP;
  if (!Array.isArray(v)) return ERROR;
  for (const x of v) if (typeof x !== 'string') return ERROR;
  return v.join(' ');
}

function effective(el: unknown, root: Obj, k: string): Mapped {
  const c = own(el, k);
  if (c !== undefined) return renderValue(c);
  const pod = walk(root, ['requestObject', 'spec', k]);
  return pod !== undefined ? renderValue(pod) : '0';
}

function hostPorts(keys: readonly string[]): (arg: string | number | null) => FieldExtractor {
  return (arg) => {
    const index = typeof arg === 'number' ? arg : null;
    return (ev) => {
      const els = elements(auditRoot(ev), keys, index);
      if (els === undefined) return undefined;
      const out: string[] = [];
      for (const c of els) {
        const ports = own(c, 'ports');
        if (!Array.isArray(ports)) continue;
        for (const p of ports) {
          // With hostNetwork the container port is the host port (extract.go comment).
          const v = own(p, 'hostPort') ?? own(p, 'containerPort');
          if (v !== undefined) out.push(renderValue(v));
        }
      }
      return nonEmpty(out);
    };
  };
}

type Row = Omit<FalcoFieldDef, 'type'> & { readonly type?: FalcoFieldType };

function containerFields(kind: 'containers' | 'initContainers' | 'ephemeralContainers'): Row[] {
  const keys = ['requestObject', 'spec', kind];
  const label =
    kind === 'containers' ? 'containers' : kind === 'initContainers' ? 'init containers' : 'ephemeral containers';
  const p = `ka.req.pod.${kind}`;
  const sc = (k: string) => perElement(keys, (el) => optionalAt(el, ['securityContext', k]));
  const rows: Row[] = [
    {
      name: `${p}.name`,
      list: true,
      arg: 'index',
      description: `Names of the pod's ${label}.`,
      compile: perElement(keys, (el) => required(el, 'name')),
    },
    {
      name: `${p}.image`,
      list: true,
      arg: 'index',
      description: `Images of the pod's ${label}.`,
      compile: perElement(keys, (el) => required(el, 'image')),
    },
    {
      name: `${p}.image.repository`,
      list: true,
      arg: 'index',
      description: `Repository part of the images of the pod's ${label} (before the first ':' then '@').`,
      compile: perElement(keys, (el) => {
        const r = required(el, 'image');
        return typeof r === 'string' ? repository(r) : r;
      }),
    },
    {
      name: `${p}.command`,
      list: true,
      arg: 'index',
      description: `Command of each of the pod's ${label}, joined with spaces.`,
      compile: perElement(keys, (el) => joinedStrings(el, 'command')),
    },
    {
      name: `${p}.args`,
      list: true,
      arg: 'index',
      description: `Arguments of each of the pod's ${label}, joined with spaces.`,
      compile: perElement(keys, (el) => joinedStrings(el, 'args')),
    },
    {
      name: `${p}.privileged`,
      list: true,
      arg: 'index',
      description: `securityContext.privileged of the pod's ${label}.`,
      compile: sc('privileged'),
    },
    {
      name: `${p}.allow_privilege_escalation`,
      list: true,
      arg: 'index',
      description: `securityContext.allowPrivilegeEscalation of the pod's ${label}.`,
      compile: sc('allowPrivilegeEscalation'),
    },
    {
      name: `${p}.read_only_fs`,
      list: true,
      arg: 'index',
      description: `securityContext.readOnlyRootFilesystem of the pod's ${label}.`,
      compile: sc('readOnlyRootFilesystem'),
    },
    {
      name: `${p}.run_as_user`,
      list: true,
      arg: 'index',
      description: `securityContext.runAsUser of the pod's ${label}.`,
      compile: sc('runAsUser'),
    },
    {
      name: `${p}.eff_run_as_user`,
      list: true,
      arg: 'index',
      description: `Effective user id of the pod's ${label}: container runAsUser, else the pod's, else 0 (as coded upstream, outside securityContext).`,
      compile: perElement(keys, (el, root) => effective(el, root, 'runAsUser')),
    },
    {
      name: `${p}.run_as_group`,
      list: true,
      arg: 'index',
      description: `securityContext.runAsGroup of the pod's ${label}.`,
      compile: sc('runAsGroup'),
    },
    {
      name: `${p}.eff_run_as_group`,
      list: true,
      arg: 'index',
      description: `Effective group id of the pod's ${label}: container runAsGroup, else the pod's, else 0 (as coded upstream).`,
      compile: perElement(keys, (el, root) => effective(el, root, 'runAsGroup')),
    },
    {
      name: `${p}.proc_mount`,
      list: true,
      arg: 'index',
      description: `securityContext.procMount of the pod's ${label}.`,
      compile: sc('procMount'),
    },
    {
      name: `${p}.add_capabilities`,
      list: true,
      arg: 'index',
      description: `securityContext.capabilities.add of each of the pod's ${label}, as a JSON array.`,
      compile: perElement(keys, (el) => {
        const v = walk(el, ['securityContext', 'capabilities', 'add']);
        return v === undefined ? SKIP : marshal(v);
      }),
    },
  ];
  if (kind !== 'ephemeralContainers') {
    rows.push({
      name: `${p}.host_port`,
      list: true,
      arg: 'index',
      description: `Host ports of the pod's ${label} (hostPort, else containerPort).`,
      compile: hostPorts(keys),
    });
  }
  return rows;
}

function subjectNames(kind: string, withNamespace = false): () => FieldExtractor {
  return () => (ev) => {
    const subjects = walk(auditRoot(ev), ['requestObject', 'subjects']);
    if (!Array.isArray(subjects)) return undefined;
    const out: string[] = [];
    for (const s of subjects) {
      if (own(s, 'kind') !== kind) continue;
      const name = own(s, 'name');
      if (name === undefined) continue;
      if (withNamespace) {
        const ns = own(s, 'namespace');
        if (ns === undefined) continue;
        out.push(renderValue(ns) + ':' + renderValue(name));
      } else out.push(renderValue(name));
    }
    return nonEmpty(out);
  };
}

function ruleStrings(k: string): (arg: string | number | null) => FieldExtractor {
  return (arg) => {
    const index = typeof arg === 'number' ? arg : null;
    return (ev) => {
      const rules = elements(auditRoot(ev), ['requestObject', 'rules'], index);
      if (rules === undefined) return undefined;
      const out: string[] = [];
      for (const r of rules) {
        const v = own(r, k);
        if (Array.isArray(v)) for (const x of v) out.push(renderValue(x));
        else if (v !== undefined) out.push(renderValue(v));
      }
      return nonEmpty(out);
    };
  };
}

function annotation(key: string): () => FieldExtractor {
  return () => (ev) => {
    const v = own(own(auditRoot(ev), 'annotations'), key);
    return v === undefined || Array.isArray(v) ? undefined : renderValue(v);
  };
}

/** Go url.ParseQuery of the request URI's query; first value of `key`. Errors are absent. */
function uriParam(arg: string | number | null): FieldExtractor {
  const key = String(arg);
  return (ev) => {
    const uri = own(auditRoot(ev), 'requestURI');
    if (typeof uri !== 'string') return undefined;
    const q = uri.indexOf('?');
    if (q < 0) return undefined;
    const hash = uri.indexOf('#', q);
    const query = uri.slice(q + 1, hash < 0 ? uri.length : hash);
    let found: string | undefined;
    for (const part of query.split('&')) {
      if (part === '') continue;
      if (part.includes(';')) return undefined; // Go 1.17+: semicolons are an error
      const eq = part.indexOf('=');
      const k = queryUnescape(eq < 0 ? part : part.slice(0, eq));
      const v = queryUnescape(eq < 0 ? '' : part.slice(eq + 1));
      if (k === null || v === null) return undefined;
      if (found === undefined && k === key) found = v;
    }
    return found;
  };
}

function queryUnescape(s: string): string | null {
  if (!s.includes('%') && !s.includes('+')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return null;
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (c === '+') bytes.push(0x20);
    else for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes).toString('utf8');
}

// ---- time (evt.* and jevt.rawtime) ----------------------------------------------------------

let cachedEvent: AuditEvent | null = null;
let cachedNs: string | undefined;

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Digits at s[i..i+n) as a number, or -1. */
function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * RFC3339Nano (`2018-10-25T13:58:49.736141Z`, or with a ±hh:mm offset) to nanoseconds since
 * the epoch as a decimal string. Hand-rolled: this runs once per event on the hot path.
 */
export function rfc3339ToNanos(st: string): string | undefined {
  const n = st.length;
  if (
    n < 20 ||
    st.charCodeAt(4) !== 45 ||
    st.charCodeAt(7) !== 45 ||
    (st.charCodeAt(10) | 0x20) !== 0x74 ||
    st.charCodeAt(13) !== 58 ||
    st.charCodeAt(16) !== 58
  )
    return undefined;
  const y = digits(st, 0, 4),
    mo = digits(st, 5, 2),
    d = digits(st, 8, 2),
    h = digits(st, 11, 2),
    mi = digits(st, 14, 2),
    se = digits(st, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
    return undefined;
  let i = 19;
  let frac = 0;
  let fracDigits = 0;
  if (st.charCodeAt(i) === 46) {
    i++;
    for (let c = st.charCodeAt(i) - 48; c >= 0 && c <= 9; c = st.charCodeAt(++i) - 48) {
      if (++fracDigits > 9) return undefined;
      frac = frac * 10 + c;
    }
    if (fracDigits === 0) return undefined;
  }
  for (let k = fracDigits; k < 9; k++) frac *= 10;
  let offset = 0;
  const z = st.charCodeAt(i);
  if ((z | 0x20) === 0x7a) i++;
  else if (z === 43 || z === 45) {
    const oh = digits(st, i + 1, 2),
      om = digits(st, i + 4, 2);
    if (oh < 0 || om < 0 || st.charCodeAt(i + 3) !== 58) return undefined;
    offset = (z === 45 ? -1 : 1) * (oh * 3600 + om * 60);
    i += 6;
  } else return undefined;
  if (i !== n) return undefined;
  const secs = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
  if (secs < 0) return undefined;
  if (secs === 0) return String(frac);
  const f = String(frac);
  return String(secs) + (f.length === 9 ? f : '000000000'.slice(f.length) + f);
}

/** Nanoseconds since the epoch as a decimal string: stageTimestamp (RFC3339Nano), as source.go. */
export function eventNanos(ev: AuditEvent): string | undefined {
  if (ev === cachedEvent) return cachedNs;
  const st = ev.stageAt; // stageTimestamp, already checked to be a string by normalization
  let ns = st !== null ? rfc3339ToNanos(st) : undefined;
  if (ns === undefined && Number.isFinite(ev.time) && ev.time > 0) ns = String(Math.floor(ev.time)) + '000000';
  cachedEvent = ev;
  cachedNs = ns;
  return ns;
}

function timeParts(ev: AuditEvent): { date: Date; frac: string } | undefined {
  const ns = eventNanos(ev);
  if (ns === undefined) return undefined;
  const padded = ns.padStart(10, '0');
  const secs = Number(padded.slice(0, -9));
  return { date: new Date(secs * 1000), frac: padded.slice(-9) };
}

function timeField(render: (d: Date, frac: string) => string): () => FieldExtractor {
  return () => (ev) => {
    const t = timeParts(ev);
    return t === undefined ? undefined : render(t.date, t.frac);
  };
}

const HOSTNAME = hostname();
const iso = (d: Date) => d.toISOString().slice(0, 19);

const ROWS: Row[] = [
  // ---- k8saudit ----
  {
    name: 'ka.auditid',
    list: false,
    arg: 'none',
    description: 'The unique id of the audit event.',
    compile: typed('auditID'),
  },
  {
    name: 'ka.stage',
    list: false,
    arg: 'none',
    description: 'Stage of the request (RequestReceived, ResponseComplete, …).',
    compile: typed('stage'),
  },
  {
    name: 'ka.auth.decision',
    list: false,
    arg: 'none',
    description: 'Authorization decision (annotation authorization.k8s.io/decision).',
    compile: typed('authzDecision'),
  },
  {
    name: 'ka.auth.reason',
    list: false,
    arg: 'none',
    description: 'Authorization reason (annotation authorization.k8s.io/reason).',
    compile: typed('authzReason'),
  },
  {
    name: 'ka.auth.openshift.decision',
    list: false,
    arg: 'none',
    description: 'OpenShift authentication decision annotation.',
    compile: annotation('authentication.openshift.io/decision'),
  },
  {
    name: 'ka.auth.openshift.username',
    list: false,
    arg: 'none',
    description: 'OpenShift authentication username annotation.',
    compile: annotation('authentication.openshift.io/username'),
  },
  {
    name: 'ka.validations.admission.policy.failure',
    list: false,
    arg: 'none',
    description: 'Admission validation policy failure annotation.',
    compile: annotation('validation.policy.admission.k8s.io/validation_failure'),
  },
  {
    name: 'ka.security.pod.violations',
    list: false,
    arg: 'none',
    description: 'Pod security audit violations annotation.',
    compile: annotation('pod-security.kubernetes.io/audit-violations'),
  },
  {
    name: 'ka.cluster.name',
    list: false,
    arg: 'none',
    description: 'Cluster name annotation (cluster_name).',
    compile: annotation('cluster_name'),
  },
  {
    name: 'ka.user.name',
    list: false,
    arg: 'none',
    description: 'Name of the user performing the request.',
    compile: typed('username'),
  },
  {
    name: 'ka.user.groups',
    list: true,
    arg: 'none',
    description: 'Groups of the user performing the request.',
    compile: () => (ev) => (ev.userGroups.length === 0 ? undefined : ev.userGroups),
  },
  {
    name: 'ka.impuser.name',
    list: false,
    arg: 'none',
    description: 'Impersonated user name.',
    compile: typed('impersonatedUsername'),
  },
  { name: 'ka.verb', list: false, arg: 'none', description: 'The action being performed.', compile: typed('verb') },
  {
    name: 'ka.uri',
    list: false,
    arg: 'none',
    description: 'The request URI, including the query string.',
    compile: typed('requestURI'),
  },
  {
    name: 'ka.uri.param',
    list: false,
    arg: 'key',
    description: 'First value of a query parameter of the request URI, e.g. ka.uri.param[command].',
    compile: uriParam,
  },
  { name: 'ka.target.name', list: false, arg: 'none', description: 'Target object name.', compile: typed('name') },
  {
    name: 'ka.target.namespace',
    list: false,
    arg: 'none',
    description: 'Target object namespace.',
    compile: typed('namespace'),
  },
  {
    name: 'ka.target.resource',
    list: false,
    arg: 'none',
    description: 'Target object resource (pods, clusterroles, …).',
    compile: typed('resource'),
  },
  {
    name: 'ka.target.subresource',
    list: false,
    arg: 'none',
    description: 'Target object subresource (exec, attach, …).',
    compile: typed('subresource'),
  },
  {
    name: 'ka.target.pod.name',
    list: false,
    arg: 'none',
    description: 'Pod name from the response, when the target is a pod and not a subresource.',
    compile: () => (ev) => {
      const root = auditRoot(ev);
      const ref = own(root, 'objectRef');
      if (own(ref, 'resource') !== 'pods') return undefined;
      const sub = own(ref, 'subresource');
      if (sub !== undefined && sub !== '') return undefined;
      const v = walk(root, ['responseObject', 'metadata', 'name']);
      return v === undefined || Array.isArray(v) ? undefined : renderValue(v);
    },
  },
  {
    name: 'ka.req.binding.subjects',
    list: true,
    arg: 'none',
    description: 'Subjects of a role binding, each as JSON.',
    compile: arrayAt('requestObject', 'subjects'),
  },
  {
    name: 'ka.req.binding.subjects.user_names',
    list: true,
    arg: 'none',
    description: 'Names of the User subjects of a role binding.',
    compile: subjectNames('User'),
  },
  {
    name: 'ka.req.binding.subjects.serviceaccount_names',
    list: true,
    arg: 'none',
    description: 'Names of the ServiceAccount subjects of a role binding.',
    compile: subjectNames('ServiceAccount'),
  },
  {
    name: 'ka.req.binding.subjects.serviceaccount_ns_names',
    list: true,
    arg: 'none',
    description: 'namespace:name of the ServiceAccount subjects of a role binding.',
    compile: subjectNames('ServiceAccount', true),
  },
  {
    name: 'ka.req.binding.subjects.group_names',
    list: true,
    arg: 'none',
    description: 'Names of the Group subjects of a role binding.',
    compile: subjectNames('Group'),
  },
  {
    name: 'ka.req.binding.role',
    list: false,
    arg: 'none',
    description: 'Role referenced by a role binding (roleRef.name).',
    compile: scalarAt('requestObject', 'roleRef', 'name'),
  },
  {
    name: 'ka.req.binding.subject.has_name',
    list: false,
    arg: 'key',
    description: 'Deprecated; always "true" (mirrors the legacy implementation, as coded upstream).',
    compile: () => (ev) => (auditRoot(ev) === undefined ? undefined : 'true'),
  },
  {
    name: 'ka.req.configmap.name',
    list: false,
    arg: 'none',
    description: 'Configmap name (objectRef.name).',
    compile: typed('name'),
  },
  {
    name: 'ka.req.configmap.obj',
    list: false,
    arg: 'none',
    description: 'Configmap data (requestObject.data) as JSON.',
    compile: scalarAt('requestObject', 'data'),
  },
  ...containerFields('containers'),
  {
    name: 'ka.req.container.image',
    list: false,
    arg: 'none',
    description: 'Deprecated: image of the first container.',
    compile: () => (ev) => {
      const c = elements(auditRoot(ev), ['requestObject', 'spec', 'containers'], 0);
      const img = c === undefined ? undefined : own(c[0], 'image');
      return img === undefined ? undefined : renderValue(img);
    },
  },
  {
    name: 'ka.req.container.image.repository',
    list: false,
    arg: 'none',
    description: 'Deprecated: image repository of the first container.',
    compile: () => (ev) => {
      const c = elements(auditRoot(ev), ['requestObject', 'spec', 'containers'], 0);
      const img = c === undefined ? undefined : own(c[0], 'image');
      return img === undefined ? undefined : repository(renderValue(img));
    },
  },
  {
    name: 'ka.req.container.privileged',
    list: false,
    arg: 'none',
    description: 'Deprecated: "true" if any container has securityContext.privileged=true, else "false".',
    compile: () => (ev) => {
      const cs = walk(auditRoot(ev), ['requestObject', 'spec', 'containers']);
      if (cs === undefined) return undefined;
      const list = Array.isArray(cs) ? cs : [cs];
      return list.some((c) => walk(c, ['securityContext', 'privileged']) === true) ? 'true' : 'false';
    },
  },
  {
    name: 'ka.req.pod.host_ipc',
    list: false,
    arg: 'none',
    description: 'hostIPC of the pod spec.',
    compile: scalarAt('requestObject', 'spec', 'hostIPC'),
  },
  {
    name: 'ka.req.pod.host_network',
    list: false,
    arg: 'none',
    description: 'hostNetwork of the pod spec.',
    compile: scalarAt('requestObject', 'spec', 'hostNetwork'),
  },
  {
    name: 'ka.req.container.host_network',
    list: false,
    arg: 'none',
    description: 'Deprecated alias of ka.req.pod.host_network.',
    compile: scalarAt('requestObject', 'spec', 'hostNetwork'),
  },
  {
    name: 'ka.req.pod.host_pid',
    list: false,
    arg: 'none',
    description: 'hostPID of the pod spec.',
    compile: scalarAt('requestObject', 'spec', 'hostPID'),
  },
  {
    name: 'ka.req.pod.run_as_user',
    list: false,
    arg: 'none',
    description: 'Pod securityContext.runAsUser.',
    compile: scalarAt('requestObject', 'spec', 'securityContext', 'runAsUser'),
  },
  {
    name: 'ka.req.pod.run_as_group',
    list: false,
    arg: 'none',
    description: 'Pod securityContext.runAsGroup.',
    compile: scalarAt('requestObject', 'spec', 'securityContext', 'runAsGroup'),
  },
  {
    name: 'ka.req.pod.fs_group',
    list: false,
    arg: 'none',
    description: 'Pod securityContext.fsGroup.',
    compile: scalarAt('requestObject', 'spec', 'securityContext', 'fsGroup'),
  },
  {
    name: 'ka.req.pod.supplemental_groups',
    list: true,
    arg: 'none',
    description: 'Pod securityContext.supplementalGroups.',
    compile: arrayAt('requestObject', 'spec', 'securityContext', 'supplementalGroups'),
  },
  {
    name: 'ka.req.pod.volumes.hostpath',
    list: true,
    arg: 'index',
    description: 'hostPath.path of the pod volumes.',
    compile: perElement(['requestObject', 'spec', 'volumes'], (el) => optionalAt(el, ['hostPath', 'path'])),
  },
  {
    name: 'ka.req.pod.volumes.flexvolume_driver',
    list: true,
    arg: 'index',
    description: 'flexVolume.driver of the pod volumes.',
    compile: perElement(['requestObject', 'spec', 'volumes'], (el) => optionalAt(el, ['flexVolume', 'driver'])),
  },
  {
    name: 'ka.req.pod.volumes.volume_type',
    list: true,
    arg: 'index',
    description: 'Every key except name of each pod volume (hostPath, configMap, …), as coded upstream.',
    compile: (arg) => {
      const index = typeof arg === 'number' ? arg : null;
      return (ev) => {
        const vols = elements(auditRoot(ev), ['requestObject', 'spec', 'volumes'], index);
        if (vols === undefined) return undefined;
        const out: string[] = [];
        for (const v of vols) if (isObj(v)) for (const k of Object.keys(v)) if (k !== 'name') out.push(k);
        return nonEmpty(out);
      };
    },
  },
  {
    name: 'ka.req.volume.hostpath',
    list: false,
    arg: 'key',
    description:
      'Deprecated: "true" if a volume hostPath equals the argument (prefix match when it ends in *), else "false".',
    compile: (arg) => {
      const key = String(arg);
      const prefix = key.endsWith('*') ? key.slice(0, -1) : null;
      return (ev) => {
        const vols = elements(auditRoot(ev), ['requestObject', 'spec', 'volumes'], null);
        if (vols === undefined) return auditRoot(ev) === undefined ? undefined : 'false';
        for (const v of vols) {
          const p = walk(v, ['hostPath', 'path']);
          if (typeof p !== 'string') continue;
          if (prefix !== null ? p.startsWith(prefix) : p === key) return 'true';
        }
        return 'false';
      };
    },
  },
  {
    name: 'ka.req.role.rules',
    list: true,
    arg: 'none',
    description: 'Rules of a role, each as JSON.',
    compile: arrayAt('requestObject', 'rules'),
  },
  {
    name: 'ka.req.role.rules.apiGroups',
    list: true,
    arg: 'index',
    description: 'apiGroups of the rules of a role.',
    compile: ruleStrings('apiGroups'),
  },
  {
    name: 'ka.req.role.rules.nonResourceURLs',
    list: true,
    arg: 'index',
    description: 'nonResourceURLs of the rules of a role.',
    compile: ruleStrings('nonResourceURLs'),
  },
  {
    name: 'ka.req.role.rules.verbs',
    list: true,
    arg: 'index',
    description: 'verbs of the rules of a role.',
    compile: ruleStrings('verbs'),
  },
  {
    name: 'ka.req.role.rules.resources',
    list: true,
    arg: 'index',
    description: 'resources of the rules of a role.',
    compile: ruleStrings('resources'),
  },
  {
    name: 'ka.req.service.type',
    list: false,
    arg: 'none',
    description: 'Service type.',
    compile: scalarAt('requestObject', 'spec', 'type'),
  },
  {
    name: 'ka.req.service.ports',
    list: true,
    arg: 'index',
    description: 'Service ports: as coded upstream, one value, the whole ports array as JSON.',
    compile: () => (ev) => {
      const v = walk(auditRoot(ev), ['requestObject', 'spec', 'ports']);
      return v === undefined ? undefined : [renderValue(v)];
    },
  },
  {
    name: 'ka.resp.name',
    list: false,
    arg: 'none',
    description: 'Response object name.',
    compile: scalarAt('responseObject', 'metadata', 'name'),
  },
  {
    name: 'ka.response.code',
    list: false,
    arg: 'none',
    description: 'Response code.',
    compile: () => (ev) => (ev.responseCode === null ? undefined : String(ev.responseCode)),
  },
  {
    name: 'ka.response.reason',
    list: false,
    arg: 'none',
    description: 'Response reason.',
    compile: typed('responseReason'),
  },
  {
    name: 'ka.useragent',
    list: false,
    arg: 'none',
    description: 'User agent of the client.',
    compile: typed('userAgent'),
  },
  {
    name: 'ka.sourceips',
    list: true,
    arg: 'index',
    description:
      'As coded upstream, reads requestObject.rules[].sourceIPs (not the top-level sourceIPs), so it is practically always absent.',
    compile: ruleStrings('sourceIPs'),
  },
  ...containerFields('initContainers'),
  ...containerFields('ephemeralContainers'),
];

/** A pointer to a string field of the catalog (`/stage`, `/objectRef/resource`) reads the typed property. */
function typedPointer(pointer: string): FieldExtractor | null {
  const p = pointer.startsWith('/') ? pointer.slice(1) : pointer;
  const tokens = p.split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  const def = FIELD_CATALOG.find(
    (f) =>
      f.type === 'string' &&
      f.path !== null &&
      f.path.length === tokens.length &&
      f.path.every((k, i) => k === tokens[i]),
  );
  return def === undefined ? null : typed(def.property as StringProperty)();
}

function jsonFields(prefix: 'json' | 'jevt'): Row[] {
  return [
    {
      name: `${prefix}.value`,
      list: false,
      arg: 'key',
      description:
        'Value at a JSON pointer (RFC 6901) into the event, e.g. [/requestObject/spec/volumes]; objects render as JSON.',
      compile: (arg) => {
        const fast = typedPointer(String(arg));
        if (fast !== null) return fast;
        const get = compilePointer(String(arg));
        return (ev) => {
          const v = get(ev.raw);
          return v === undefined ? undefined : renderValue(v);
        };
      },
    },
    {
      name: `${prefix}.obj`,
      list: false,
      arg: 'none',
      description: 'The whole event as indented JSON.',
      compile: () => (ev) => marshalIndented(ev.raw),
    },
    {
      name: `${prefix}.rawtime`,
      list: false,
      arg: 'none',
      description: 'Event time in nanoseconds since the epoch (stageTimestamp).',
      compile: () => eventNanos,
    },
  ];
}

const EVT_ROWS: Row[] = [
  {
    name: 'evt.num',
    type: 'uint64',
    list: false,
    arg: 'none',
    description: "Event number; here the event's line (or record index) in its input.",
    compile: () => (ev) => String(ev.origin.line),
  },
  {
    name: 'evt.time',
    list: false,
    arg: 'none',
    description: 'Event time as HH:MM:SS.nnnnnnnnn (UTC; Falco uses local time).',
    compile: timeField((d, f) => iso(d).slice(11) + '.' + f),
  },
  {
    name: 'evt.time.s',
    list: false,
    arg: 'none',
    description: 'Event time as HH:MM:SS (UTC).',
    compile: timeField((d) => iso(d).slice(11)),
  },
  {
    name: 'evt.time.iso8601',
    list: false,
    arg: 'none',
    description: 'Event time in ISO 8601 with nanoseconds (UTC).',
    compile: timeField((d, f) => iso(d) + '.' + f + 'Z'),
  },
  {
    name: 'evt.datetime',
    list: false,
    arg: 'none',
    description: 'Event date and time as YYYY-MM-DD HH:MM:SS.nnnnnnnnn (UTC).',
    compile: timeField((d, f) => iso(d).replace('T', ' ') + '.' + f),
  },
  {
    name: 'evt.datetime.s',
    list: false,
    arg: 'none',
    description: 'Event date and time as YYYY-MM-DD HH:MM:SS (UTC).',
    compile: timeField((d) => iso(d).replace('T', ' ')),
  },
  {
    name: 'evt.rawtime',
    type: 'uint64',
    list: false,
    arg: 'none',
    description: 'Event time in nanoseconds since the epoch.',
    compile: () => eventNanos,
  },
  {
    name: 'evt.rawtime.s',
    type: 'uint64',
    list: false,
    arg: 'none',
    description: 'Integer seconds of the event time.',
    compile: () => (ev) => {
      const ns = eventNanos(ev);
      return ns === undefined ? undefined : String(Number(ns.padStart(10, '0').slice(0, -9)));
    },
  },
  {
    name: 'evt.rawtime.ns',
    type: 'uint64',
    list: false,
    arg: 'none',
    description: 'Fractional part of the event time in nanoseconds.',
    compile: () => (ev) => {
      const ns = eventNanos(ev);
      return ns === undefined ? undefined : String(Number(ns.padStart(10, '0').slice(-9)));
    },
  },
  {
    name: 'evt.source',
    list: false,
    arg: 'none',
    description: 'Event source: k8s_audit.',
    compile: () => () => 'k8s_audit',
  },
  {
    name: 'evt.pluginname',
    list: false,
    arg: 'none',
    description: 'Plugin that produced the event: k8saudit.',
    compile: () => () => 'k8saudit',
  },
  {
    name: 'evt.is_async',
    list: false,
    arg: 'none',
    description: 'Whether the event is asynchronous: false.',
    compile: () => () => 'false',
  },
  {
    name: 'evt.hostname',
    list: false,
    arg: 'none',
    description: 'Host name of the machine running EKS Sleuth.',
    compile: () => () => HOSTNAME,
  },
];

/** Every field, in documentation order. */
export const FALCO_FIELDS: readonly FalcoFieldDef[] = Object.freeze(
  [...ROWS, ...jsonFields('json'), ...jsonFields('jevt'), ...EVT_ROWS].map((r) =>
    Object.freeze({ ...r, type: r.type ?? 'string' }),
  ),
);

const BY_NAME: ReadonlyMap<string, FalcoFieldDef> = new Map(FALCO_FIELDS.map((f) => [f.name, f]));

export function falcoField(name: string): FalcoFieldDef | undefined {
  return BY_NAME.get(name);
}

/**
 * Validate a field's bracket argument and turn it into what `compile` expects. Index
 * arguments are decimal digits without a leading zero (libs); keys are required and may not
 * contain `]` or blanks.
 */
export function parseFieldArg(
  def: FalcoFieldDef,
  arg: string | null,
): { ok: true; value: string | number | null } | { ok: false; message: string } {
  switch (def.arg) {
    case 'none':
      return arg === null
        ? { ok: true, value: null }
        : { ok: false, message: `field '${def.name}' does not take an argument` };
    case 'index':
      if (arg === null) return { ok: true, value: null };
      if (!/^(?:0|[1-9][0-9]*)$/.test(arg))
        return {
          ok: false,
          message: `field '${def.name}' needs a numeric index argument without leading zeros, got '${arg}'`,
        };
      return { ok: true, value: Number(arg) };
    case 'key':
      if (arg === null) return { ok: false, message: `field '${def.name}' requires an argument` };
      if (/[\]\s]/.test(arg)) return { ok: false, message: `invalid argument '${arg}' for field '${def.name}'` };
      return { ok: true, value: arg };
  }
}

/** The field reference as a Markdown table, generated from the catalog (docs, `rules list --fields`). */
export function falcoFieldsMarkdown(): string {
  const rows = FALCO_FIELDS.map((f) => {
    const arg = f.arg === 'none' ? '' : f.arg === 'index' ? '[i] optional' : '[key] required';
    return `| \`${f.name}\` | ${f.type}${f.list ? ' list' : ''} | ${arg} | ${f.description.replace(/\|/g, '\\|')} |`;
  });
  return ['| Field | Type | Argument | Description |', '|---|---|---|---|', ...rows].join('\n');
}
