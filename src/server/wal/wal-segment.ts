/**
 * One WAL segment file: records framed as `[u32 LE length][u32 LE CRC32 of payload][payload]`.
 * The payload is `[u32 LE meta length][meta JSON (UTF-8)][body bytes]`.
 *
 * Length + CRC framing is what lets recovery tell a torn last record (the process died between
 * write and fsync, or mid-write) from a good one: a short header, a short payload or a CRC
 * mismatch ends the valid prefix of the segment. Nothing after it is ever interpreted.
 */
import { crc32 } from 'node:zlib';
import type { FileHandle } from 'node:fs/promises';

/** Bytes of the frame header: length and CRC32, 4 bytes each. */
export const FRAME_HEADER_BYTES = 8;

/**
 * 64 MiB per record: the Firehose HTTP endpoint's largest body (64 MiB before compression,
 * reference/live/ingestion-contracts.md B.1) is the biggest batch ingest accepts. A length
 * above this in a header is garbage, not a record, so recovery stops there instead of
 * allocating it.
 */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export type WalMeta = Readonly<Record<string, unknown>>;

/** `wal-00000000000000000001.seg`: fixed width so that names sort in sequence order. */
export function segmentName(seq: number): string {
  return `wal-${String(seq).padStart(20, '0')}.seg`;
}

export function parseSegmentName(name: string): number | null {
  const m = /^wal-(\d{20})\.seg$/.exec(name);
  return m === null ? null : Number(m[1]);
}

export function encodeRecord(meta: WalMeta, body: Uint8Array): Buffer {
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
  const payloadLength = 4 + metaBytes.length + body.length;
  if (payloadLength > MAX_RECORD_BYTES) throw new RangeError(`WAL record of ${payloadLength} bytes is over the limit`);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadLength);
  out.writeUInt32LE(payloadLength, 0);
  out.writeUInt32LE(metaBytes.length, FRAME_HEADER_BYTES);
  metaBytes.copy(out, FRAME_HEADER_BYTES + 4);
  Buffer.from(body.buffer, body.byteOffset, body.byteLength).copy(out, FRAME_HEADER_BYTES + 4 + metaBytes.length);
  out.writeUInt32LE(crc32(out.subarray(FRAME_HEADER_BYTES)), 4);
  return out;
}

export type ReadRecordResult =
  | { readonly kind: 'record'; readonly meta: WalMeta; readonly body: Buffer; readonly next: number }
  | { readonly kind: 'end' }
  | { readonly kind: 'torn'; readonly reason: string };

/**
 * The record at `offset` of an open segment whose valid size is `size`: a record, the clean
 * end, or `torn` (a partial or corrupt record from `offset` on).
 */
export async function readRecordAt(fh: FileHandle, offset: number, size: number): Promise<ReadRecordResult> {
  if (offset >= size) return { kind: 'end' };
  if (size - offset < FRAME_HEADER_BYTES) return { kind: 'torn', reason: 'partial frame header' };
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  await readFully(fh, header, offset);
  const length = header.readUInt32LE(0);
  const crc = header.readUInt32LE(4);
  if (length < 4 || length > MAX_RECORD_BYTES) return { kind: 'torn', reason: `impossible record length ${length}` };
  if (size - offset - FRAME_HEADER_BYTES < length) return { kind: 'torn', reason: 'partial record payload' };
  const payload = Buffer.alloc(length);
  await readFully(fh, payload, offset + FRAME_HEADER_BYTES);
  if (crc32(payload) !== crc) return { kind: 'torn', reason: 'CRC32 mismatch' };
  const metaLength = payload.readUInt32LE(0);
  if (4 + metaLength > length) return { kind: 'torn', reason: 'metadata longer than the record' };
  let meta: unknown;
  try {
    meta = JSON.parse(payload.toString('utf8', 4, 4 + metaLength));
  } catch {
    return { kind: 'torn', reason: 'metadata is not JSON' };
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    return { kind: 'torn', reason: 'metadata is not an object' };
  }
  return {
    kind: 'record',
    meta: meta as WalMeta,
    body: payload.subarray(4 + metaLength),
    next: offset + FRAME_HEADER_BYTES + length,
  };
}

async function readFully(fh: FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error('segment shrank while being read');
    done += bytesRead;
  }
}
