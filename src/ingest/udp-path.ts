/**
 * Which way UDP datagrams come in: the native addon (recvmmsg batches, one JS call per batch) or
 * node:dgram (one allocation and one JS call per datagram, ~3-4 µs each; docs in the README).
 * Decided once, in the main thread, before anything binds.
 */
import { RelayError } from '../errors.js';
import { loadNativeUdp, nativeUdpUnavailableReason } from '../native/addon.js';

import type { UdpIngestPath } from '../thread-protocol.js';
export type UdpIngestChoice = UdpIngestPath | 'auto';
export const UDP_INGEST_CHOICES: readonly UdpIngestChoice[] = ['auto', 'native', 'dgram'];

/**
 * The path for `--ingest CHOICE`: `auto` takes the addon when it loads and says why not when it
 * does not (`warning`); `native` without the addon is an ERR_BAD_OPTION.
 */
export function chooseUdpIngest(choice: UdpIngestChoice): { path: UdpIngestPath; warning?: string } {
  if (choice === 'dgram') return { path: 'dgram' };
  if (loadNativeUdp()) return { path: 'native' };
  const reason = nativeUdpUnavailableReason() ?? 'unknown reason';
  if (choice === 'native') {
    throw new RelayError(
      'ERR_BAD_OPTION',
      `--ingest native: the native UDP addon is not available (${reason}); build it with "npm run build:native" (needs Linux, python3, make and a C compiler) or use --ingest dgram`,
    );
  }
  return { path: 'dgram', warning: `native UDP receive not available (${reason}); using node:dgram, which loses datagrams sooner under load` };
}
