/**
 * Kinesis Data Firehose records → text. A Firehose stream fed by a CloudWatch Logs subscription
 * carries each subscription payload gzipped; the HTTP endpoint delivery wraps records as
 * `{"requestId","timestamp","records":[{"data":"<base64>"}]}`. This module only turns one
 * record's `data` into text; envelope-decode.ts decides what the text holds.
 */
import { gunzipSync } from 'node:zlib';

// One subscription payload is at most ~1 MB of log events (the PutLogEvents batch limit), and a
// Firehose record at most 1,000 KiB before compression: 64 MiB of output leaves a wide margin
// while stopping a hostile "zip bomb" record from exhausting memory.
export const MAX_RECORD_INFLATED_BYTES = 64 * 1024 * 1024;

export type FirehoseDataResult =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

/** A Firehose HTTP endpoint request body (or a saved copy of one). */
export function isFirehoseRequest(v: Record<string, unknown>): boolean {
  const r = v['records'];
  if (!Array.isArray(r)) return false;
  const first: unknown = r[0];
  return r.length === 0
    ? 'requestId' in v
    : typeof first === 'object' && first !== null && typeof (first as Record<string, unknown>)['data'] === 'string';
}

/** Base64 of a gzip stream starts with these characters (1f 8b 08). */
export const BASE64_GZIP_PREFIX = 'H4sI';

/** Decode one record's base64 `data`, gunzipping it when it is gzip (the CloudWatch Logs case). */
export function decodeFirehoseData(data: string): FirehoseDataResult {
  const bytes = Buffer.from(data.trim(), 'base64');
  if (bytes.length === 0) return { ok: false, reason: 'Firehose record data is empty or not base64' };
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return { ok: true, text: gunzipSync(bytes, { maxOutputLength: MAX_RECORD_INFLATED_BYTES }).toString('utf8') };
    } catch (e) {
      return { ok: false, reason: `Firehose record data does not gunzip: ${(e as Error).message}` };
    }
  }
  return { ok: true, text: bytes.toString('utf8') };
}
