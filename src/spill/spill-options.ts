/** Where and how much a relay spills (`--spill-dir`, `--spill-max`), and each destination's own directory in it. */
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RelayError } from '../errors.js';
import type { FramingName } from '../framing/index.js';

/**
 * The directory of one destination: named after its host, port and framing, so a restarted relay
 * finds what the last run left for it and two destinations on one host:port in different framings
 * never share one (records are payloads, but the replay position is per stream). The default
 * framing keeps the bare `HOST_PORT` name that earlier versions used for every destination.
 */
export function spillDirectoryFor(root: string, destination: { scheme: 'tcp' | 'tls' | 'relp'; host: string; port: number; framing: FramingName }): string {
  const suffix = destination.framing === 'len32le' ? '' : `_${destination.framing}`;
  // tcp@ keeps the names of earlier versions; tls@ and relp@ to the same host:port are other destinations.
  const prefix = destination.scheme === 'tcp' ? '' : `${destination.scheme}_`;
  return path.join(root, `${prefix}${destination.host}_${destination.port}${suffix}`.replace(/[^A-Za-z0-9._-]/g, '_'));
}

/** Creates `dir` if needed and proves a file can be written in it; throws RelayError('ERR_SPILL') saying why not. */
export async function ensureWritableDirectory(dir: string): Promise<void> {
  const probe = path.join(dir, `.probe-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
    await unlink(probe);
  } catch (error) {
    throw new RelayError('ERR_SPILL', `cannot use --spill-dir ${JSON.stringify(dir)}: ${(error as Error).message}`, { cause: error });
  }
}
