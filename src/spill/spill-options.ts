/** Where and how much a relay spills (`--spill-dir`, `--spill-max`), and each destination's own directory in it. */
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RelayError } from '../errors.js';

export interface SpillOptions {
  dir: string;
  /** Bytes each destination's directory may hold. */
  maxBytes: number;
  segmentBytes: number;
  maxRecordBytes: number;
}

/**
 * The directory of one destination: named after its host and port (not its framing, which
 * records do not depend on), so a restarted relay finds what the last run left for it.
 */
export function spillDirectoryFor(root: string, destination: { host: string; port: number }): string {
  return path.join(root, `${destination.host}_${destination.port}`.replace(/[^A-Za-z0-9._-]/g, '_'));
}

/** Creates `dir` if needed and proves a file can be written in it; throws RelayError('ERR_SPILL') saying why not. */
export async function ensureWritableDirectory(dir: string): Promise<void> {
  const probe = path.join(dir, `.probe-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
    await unlink(probe);
  } catch (error) {
    throw new RelayError('ERR_SPILL', `cannot use --spill-dir ${JSON.stringify(dir)}: ${(error as Error).message}`);
  }
}
