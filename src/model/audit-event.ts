/**
 * AuditEvent: one Kubernetes audit event, normalized. Typed properties are the fields of the
 * catalog (field-catalog.ts); `raw` keeps the parsed JSON for rules that read any path, and
 * `rawText` the exact text for storage as @message.
 */

/** Where an event was read from: the envelope around the audit JSON. */
export interface EventOrigin {
  /** File path, `-` for stdin, or a source name such as `webhook`. */
  readonly file: string;
  /** 1-based line (or record index for JSON documents) inside the file. */
  readonly line: number;
  readonly logGroup: string | null;
  readonly logStream: string | null;
  /** CloudWatch event timestamp, epoch ms. */
  readonly cwTimestamp: number | null;
  readonly cwEventId: string | null;
  /** CloudWatch ingestion time, epoch ms. */
  readonly ingestionTime: number | null;
}

export interface AuditEvent {
  readonly auditID: string;
  readonly stage: string;
  readonly level: string | null;
  readonly verb: string;
  readonly requestURI: string | null;
  readonly username: string | null;
  readonly userUid: string | null;
  readonly userGroups: readonly string[];
  readonly impersonatedUsername: string | null;
  readonly sourceIPs: readonly string[];
  readonly userAgent: string | null;
  readonly resource: string | null;
  readonly subresource: string | null;
  readonly namespace: string | null;
  readonly name: string | null;
  readonly apiGroup: string | null;
  readonly apiVersion: string | null;
  readonly responseCode: number | null;
  readonly responseStatus: string | null;
  readonly responseReason: string | null;
  /** ISO-8601 strings as written by the apiserver (microsecond precision kept). */
  readonly requestReceivedAt: string | null;
  readonly stageAt: string | null;
  readonly authzDecision: string | null;
  readonly authzReason: string | null;
  /** Event time in epoch ms (see the catalog's @timestamp for the rule). */
  readonly time: number;
  readonly ingestionTime: number | null;
  readonly logStream: string | null;
  readonly logGroup: string | null;
  readonly cluster: string;
  readonly cwEventId: string | null;
  /** Parsed audit event JSON. Treat every string in it as attacker-controlled. */
  readonly raw: Readonly<Record<string, unknown>>;
  /** The audit event JSON text as received. */
  readonly rawText: string;
  readonly origin: EventOrigin;
}
