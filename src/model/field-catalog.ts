/**
 * The one field catalog. Every typed field of a stored audit event is declared here once:
 * its user-facing name (the Logs Insights / JSON dotted path users type), the AuditEvent
 * property it lands in, the SQL column that stores it, its type, the JSON path it is read
 * from, and a description. Normalization, the store's schema, the query compiler's column map
 * and the docs are all derived from this table.
 */
import type { AuditEvent } from './audit-event.js';

export type FieldType = 'string' | 'int' | 'timestamp' | 'string[]';

export interface FieldDef {
  /** Name users write in queries and rules, e.g. `objectRef.namespace`. */
  readonly name: string;
  /** Property on AuditEvent that holds the normalized value. */
  readonly property: keyof AuditEvent;
  /** Column in the events table. */
  readonly column: string;
  readonly type: FieldType;
  /** Path into the raw audit event JSON; null for fields that come from the log envelope. */
  readonly path: readonly (string | number)[] | null;
  readonly description: string;
}

export const FIELD_CATALOG = [
  {
    name: 'auditID',
    property: 'auditID',
    column: 'audit_id',
    type: 'string',
    path: ['auditID'],
    description: 'Unique id of the request, shared by all its stages.',
  },
  {
    name: 'stage',
    property: 'stage',
    column: 'stage',
    type: 'string',
    path: ['stage'],
    description: 'RequestReceived, ResponseStarted, ResponseComplete or Panic.',
  },
  {
    name: 'level',
    property: 'level',
    column: 'level',
    type: 'string',
    path: ['level'],
    description: 'Audit level the policy chose: Metadata, Request or RequestResponse.',
  },
  {
    name: 'verb',
    property: 'verb',
    column: 'verb',
    type: 'string',
    path: ['verb'],
    description:
      'Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection) or the lowercased HTTP method for non-resource URLs.',
  },
  {
    name: 'requestURI',
    property: 'requestURI',
    column: 'request_uri',
    type: 'string',
    path: ['requestURI'],
    description: 'Request path and query string as sent by the client.',
  },
  {
    name: 'user.username',
    property: 'username',
    column: 'user_username',
    type: 'string',
    path: ['user', 'username'],
    description: 'Authenticated user name, e.g. kubernetes-admin or system:serviceaccount:ns:sa.',
  },
  {
    name: 'user.uid',
    property: 'userUid',
    column: 'user_uid',
    type: 'string',
    path: ['user', 'uid'],
    description: 'Authenticated user uid; on EKS aws-iam-authenticator:<account>:<principalId> for IAM identities.',
  },
  {
    name: 'user.groups',
    property: 'userGroups',
    column: 'user_groups',
    type: 'string[]',
    path: ['user', 'groups'],
    description: 'Groups of the authenticated user.',
  },
  {
    name: 'impersonatedUser.username',
    property: 'impersonatedUsername',
    column: 'impersonated_username',
    type: 'string',
    path: ['impersonatedUser', 'username'],
    description: 'User the request impersonated, if any.',
  },
  {
    name: 'sourceIPs',
    property: 'sourceIPs',
    column: 'source_ips',
    type: 'string[]',
    path: ['sourceIPs'],
    description: 'Client IPs, the originating one first (X-Forwarded-For order).',
  },
  {
    name: 'userAgent',
    property: 'userAgent',
    column: 'user_agent',
    type: 'string',
    path: ['userAgent'],
    description: 'User-Agent header the client sent.',
  },
  {
    name: 'objectRef.resource',
    property: 'resource',
    column: 'resource',
    type: 'string',
    path: ['objectRef', 'resource'],
    description: 'Resource type, plural lowercase (pods, secrets, clusterrolebindings).',
  },
  {
    name: 'objectRef.subresource',
    property: 'subresource',
    column: 'subresource',
    type: 'string',
    path: ['objectRef', 'subresource'],
    description: 'Subresource (exec, attach, portforward, status, log, proxy).',
  },
  {
    name: 'objectRef.namespace',
    property: 'namespace',
    column: 'namespace',
    type: 'string',
    path: ['objectRef', 'namespace'],
    description: 'Namespace of the object; absent for cluster-scoped resources.',
  },
  {
    name: 'objectRef.name',
    property: 'name',
    column: 'name',
    type: 'string',
    path: ['objectRef', 'name'],
    description: 'Object name; absent for list/create-with-generateName.',
  },
  {
    name: 'objectRef.apiGroup',
    property: 'apiGroup',
    column: 'api_group',
    type: 'string',
    path: ['objectRef', 'apiGroup'],
    description: 'API group; absent (core group) for pods, secrets, services.',
  },
  {
    name: 'objectRef.apiVersion',
    property: 'apiVersion',
    column: 'api_version',
    type: 'string',
    path: ['objectRef', 'apiVersion'],
    description: 'API version of the object.',
  },
  {
    name: 'responseStatus.code',
    property: 'responseCode',
    column: 'response_code',
    type: 'int',
    path: ['responseStatus', 'code'],
    description: 'HTTP status code of the response.',
  },
  {
    name: 'responseStatus.status',
    property: 'responseStatus',
    column: 'response_status',
    type: 'string',
    path: ['responseStatus', 'status'],
    description: 'Status of a failed response (Failure).',
  },
  {
    name: 'responseStatus.reason',
    property: 'responseReason',
    column: 'response_reason',
    type: 'string',
    path: ['responseStatus', 'reason'],
    description: 'Machine-readable failure reason (Forbidden, NotFound, AlreadyExists).',
  },
  {
    name: 'requestReceivedTimestamp',
    property: 'requestReceivedAt',
    column: 'request_received_at',
    type: 'timestamp',
    path: ['requestReceivedTimestamp'],
    description: 'When the apiserver received the request.',
  },
  {
    name: 'stageTimestamp',
    property: 'stageAt',
    column: 'stage_at',
    type: 'timestamp',
    path: ['stageTimestamp'],
    description: 'When the apiserver reached this stage.',
  },
  {
    name: 'annotations.authorization.k8s.io/decision',
    property: 'authzDecision',
    column: 'authz_decision',
    type: 'string',
    path: ['annotations', 'authorization.k8s.io/decision'],
    description: 'Authorizer decision: allow or forbid.',
  },
  {
    name: 'annotations.authorization.k8s.io/reason',
    property: 'authzReason',
    column: 'authz_reason',
    type: 'string',
    path: ['annotations', 'authorization.k8s.io/reason'],
    description: 'Why the authorizer decided so (e.g. the RBAC binding that allowed it).',
  },
  // Envelope fields: not in the audit JSON, they come from where the event was read.
  {
    name: '@timestamp',
    property: 'time',
    column: 'time',
    type: 'timestamp',
    path: null,
    description:
      "Event time: requestReceivedTimestamp, else stageTimestamp, else the v1beta1 timestamp, else the CloudWatch event timestamp. The event's own time comes first so that findings do not depend on how the event was shipped.",
  },
  {
    name: '@ingestionTime',
    property: 'ingestionTime',
    column: 'ingestion_time',
    type: 'timestamp',
    path: null,
    description: 'When CloudWatch ingested the event (FilterLogEvents), else when EKS Sleuth read it.',
  },
  {
    name: '@logStream',
    property: 'logStream',
    column: 'log_stream',
    type: 'string',
    path: null,
    description: 'CloudWatch log stream (kube-apiserver-audit-<id>) or, for files, the file path.',
  },
  {
    name: '@log',
    property: 'logGroup',
    column: 'log_group',
    type: 'string',
    path: null,
    description: 'CloudWatch log group (/aws/eks/<cluster>/cluster), or empty for plain files.',
  },
  {
    name: 'cluster',
    property: 'cluster',
    column: 'cluster',
    type: 'string',
    path: null,
    description: 'Cluster name: --cluster, else from the log group /aws/eks/<name>/cluster, else "default".',
  },
  {
    name: '@eventId',
    property: 'cwEventId',
    column: 'cw_event_id',
    type: 'string',
    path: null,
    description: 'CloudWatch event id, when the event came through CloudWatch.',
  },
  {
    name: '@message',
    property: 'rawText',
    column: 'raw',
    type: 'string',
    path: null,
    description: 'The raw audit event JSON as received.',
  },
] as const satisfies readonly FieldDef[];

const BY_NAME: ReadonlyMap<string, FieldDef> = new Map(FIELD_CATALOG.map((f) => [f.name, f]));

/** Look a field up by its user-facing name (`objectRef.namespace`, `@timestamp`). */
export function fieldByName(name: string): FieldDef | undefined {
  return BY_NAME.get(name);
}

/** Default cluster name when neither --cluster nor a /aws/eks/<name>/cluster log group says. */
export const DEFAULT_CLUSTER = 'default';
