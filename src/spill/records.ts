/**
 * The spill directory's record format, and reading records back (./spill-files.ts names the
 * files, ./segment-store.ts decides the order; this owns the bytes).
 *
 * A segment file starts with the magic "RLYSPL01" (8 bytes); records follow back to back:
 *
 * | offset | size | field                                    |
 * |--------|------|------------------------------------------|
 * | 0      | 4    | payload length, u32 little-endian        |
 * | 4      | 4    | CRC-32 of the payload, u32 little-endian |
 * | 8      | len  | payload                                  |
 */
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from './crc32.js';

export const MAGIC = Buffer.from('RLYSPL01');
const RECORD_HEADER_BYTES = 8;

/** One record per payload, back to back, in a new buffer (the payloads may be reused at once). */
export function encodeRecords(payloads: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const p of payloads) total += RECORD_HEADER_BYTES + p.length;
  const records = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const p of payloads) {
    records.writeUInt32LE(p.length, offset);
    records.writeUInt32LE(crc32(p), offset + 4);
    records.set(p, offset + RECORD_HEADER_BYTES);
    offset += RECORD_HEADER_BYTES + p.length;
  }
  return records;
}

/**
 * Reads whole records from `file` at `start` (`available` bytes of records there), about
 * `maxBytes` of them and at least one: their payloads, the bytes they took, and `damage` when a
 * record is cut short, has an impossible length (over `maxRecordBytes`) or a wrong checksum (the
 * rest of the segment is then unreadable).
 */
export async function readRecordBlock(
  file: FileHandle,
  start: number,
  available: number,
  maxBytes: number,
  maxRecordBytes: number,
): Promise<{ payloads: Buffer[]; bytes: number; damage: string | undefined }> {
  let block = Buffer.allocUnsafe(Math.min(available, Math.max(maxBytes, RECORD_HEADER_BYTES)));
  let { bytesRead } = await file.read(block, 0, block.length, start);
  const payloads: Buffer[] = [];
  let offset = 0;
  let damage: string | undefined;
  for (;;) {
    if (bytesRead - offset < RECORD_HEADER_BYTES) {
      // Short of a header although the segment says there is more: the file was cut.
      if (payloads.length === 0) damage = 'truncated record';
      break;
    }
    const length = block.readUInt32LE(offset);
    const recordBytes = RECORD_HEADER_BYTES + length;
    if (length > maxRecordBytes) {
      damage = `record length ${length} is impossible`;
      break;
    }
    if (bytesRead - offset < recordBytes) {
      if (payloads.length > 0) break; // the next batch starts with it
      block = Buffer.allocUnsafe(recordBytes);
      ({ bytesRead } = await file.read(block, 0, recordBytes, start));
      if (bytesRead < recordBytes) {
        damage = 'truncated record';
        break;
      }
    }
    const payload = block.subarray(offset + RECORD_HEADER_BYTES, offset + recordBytes);
    if (crc32(payload) !== block.readUInt32LE(offset + 4)) {
      damage = 'checksum mismatch';
      break;
    }
    payloads.push(payload);
    offset += recordBytes;
    if (offset >= maxBytes) break;
  }
  return { payloads, bytes: offset, damage };
}
