/**
 * Which way UDP datagrams come in: the native addon (recvmmsg batches, one JS call per batch) or
 * node:dgram (one allocation and one JS call per datagram, ~3-4 µs each; docs in the README).
 * Decided once, in the main thread, before anything binds. Unix datagram sockets (unix@) have
 * one way only, the addon: node:dgram cannot open them, so without it they are refused here.
 */
import { RelayError } from '../errors.js';
import { addonBuildHint, loadNativeUdp, nativeUdpUnavailableReason } from '../native/addon.js';

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
    throw new RelayError('ERR_BAD_OPTION', `--ingest native: the native UDP addon is not available (${reason}); ${addonBuildHint()} or use --ingest dgram`);
  }
  return { path: 'dgram', warning: `native UDP receive not available (${reason}); using node:dgram, which loses datagrams sooner under load` };
}

/**
 * Refuses the first unix@ listener among `listeners` when the addon is not available (whatever
 * --ingest says: it chooses the UDP path only), with one line naming what is missing and how to
 * get it; a silent slow path does not exist for them. Throws RelayError('ERR_BAD_OPTION').
 */
export function checkUnixListeners(listeners: readonly { scheme: string; text: string }[]): void {
  const unix = listeners.find((l) => l.scheme === 'unix');
  if (unix === undefined || loadNativeUdp()) return;
  const reason = nativeUdpUnavailableReason() ?? 'unknown reason';
  const how = process.env.RELAY_NATIVE_UDP === '0' ? 'unset RELAY_NATIVE_UDP' : addonBuildHint();
  throw new RelayError(
    'ERR_BAD_OPTION',
    `${unix.text} needs the native addon (node:dgram has no Unix datagram sockets), which is not available: ${reason}; ${how}`,
  );
}
