/**
 * --reuse-port: listeners that share their port with other relays (README "Scale out";
 * docs/ARCHITECTURE.md "Ingest"). Node 20's node:dgram and net cannot set SO_REUSEPORT (their
 * reusePort options came in Node 22.12), so the native addon binds such sockets
 * (native/relay_reuseport.c): a UDP receiver as udpOpen's, and a listening TCP socket whose fd
 * net.Server adopts. Without the addon the main thread refuses --reuse-port when it reads the
 * configuration (at start, --check-config and reload), as it refuses unix@ listeners.
 *
 * The addon's functions for it are not part of addonMismatch()'s check: an older build loads and
 * serves everything else, and only --reuse-port is refused with it.
 */
import type net from 'node:net';
import { formatHostPort } from '../config/address.js';
import { RelayError } from '../errors.js';
import { addonBuildHint, loadNativeUdp, nativeUdpUnavailableReason, type NativeHandle, type NativeUdp } from '../native/addon.js';
import type { UdpIngestPath } from '../thread-protocol.js';

/** What the addon exports for shared ports. Each throws an Error with `code` and `syscall` (EADDRINUSE…). */
export interface ReusePortNative {
  /** udpOpen's socket with SO_REUSEPORT set before bind. */
  udpOpenReusePort: NativeUdp['udpOpen'];
  /** The fd of a listening TCP socket with SO_REUSEPORT (and SO_REUSEADDR, as node's own): net.Server's to adopt and close. */
  tcpListenReusePort(family: 4 | 6, host: string, port: number, backlog: number): number;
  /** Connects a receiver's socket to its own address: the port's datagrams go to the other sockets on it; what is queued stays readable. */
  udpLeavePortGroup(handle: NativeHandle): void;
}

/** Pending connections net.Server asks for by default (and so here). */
const TCP_BACKLOG = 511;

/** The addon with its shared-port functions, or undefined when it is not available or older than them. */
export function reusePortNative(): (NativeUdp & ReusePortNative) | undefined {
  const native = loadNativeUdp() as (NativeUdp & Partial<ReusePortNative>) | undefined;
  const complete = typeof native?.udpOpenReusePort === 'function' && typeof native.tcpListenReusePort === 'function';
  return complete && typeof native.udpLeavePortGroup === 'function' ? (native as NativeUdp & ReusePortNative) : undefined;
}

/**
 * Refuses --reuse-port (`reusePort`) when the relay cannot bind `listeners` so: without the addon
 * (or with a build older than it), or with a udp@ listener on node:dgram (--ingest dgram). One
 * line naming what is missing and how to get it. Throws RelayError('ERR_BAD_OPTION').
 */
export function checkReusePort(reusePort: boolean, listeners: readonly { scheme: string; text: string }[], udpIngest: UdpIngestPath): void {
  if (!reusePort) return;
  if (reusePortNative() === undefined) {
    const reason = nativeUdpUnavailableReason() ?? 'the addon was built before --reuse-port (it has no udpOpenReusePort)';
    const how = process.env.RELAY_NATIVE_UDP === '0' ? 'unset RELAY_NATIVE_UDP' : addonBuildHint();
    throw new RelayError(
      'ERR_BAD_OPTION',
      `--reuse-port needs the native addon (Node 20's node:dgram and net cannot set SO_REUSEPORT), which is not available: ${reason}; ${how}`,
    );
  }
  const udp = listeners.find((l) => l.scheme === 'udp');
  if (udp !== undefined && udpIngest === 'dgram') {
    throw new RelayError(
      'ERR_BAD_OPTION',
      `--reuse-port: ${udp.text} would receive with node:dgram (--ingest dgram), which cannot set SO_REUSEPORT on Node 20; use --ingest native or auto`,
    );
  }
}

/**
 * What net.Server.listen takes for a TCP listener on `port` of `address`: with `reusePort`, the fd
 * of a socket the addon bound and listens on (its bind error thrown as `bind EADDRINUSE HOST:PORT`).
 */
export function tcpListenOn(port: number, address: { host: string; family: 4 | 6 }, reusePort: boolean): net.ListenOptions | { fd: number } {
  if (!reusePort) return { port, host: address.host };
  const native = reusePortNative();
  if (native === undefined) throw new Error(`--reuse-port needs the native addon: ${nativeUdpUnavailableReason() ?? 'it is older than --reuse-port'}`);
  try {
    // net.Server adopts the fd (a TCP socket: node's open of it cannot fail) and closes it with itself.
    return { fd: native.tcpListenReusePort(address.family, address.host, port, TCP_BACKLOG) };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new Error(e.code ? `${e.syscall ?? 'bind'} ${e.code} ${formatHostPort(address.host, port)}` : e.message, { cause: error });
  }
}

/**
 * After a port-in-use error of a udp@, tcp@ or tls@ listener: how relays share a port, since the
 * kernel does not say whether the holder would share it. Empty for other errors and for unix@.
 */
export function portInUseHint(scheme: string, error: unknown): string {
  const e = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  return scheme === 'unix' || (e.code ?? e.cause?.code) !== 'EADDRINUSE' ? '' : PORT_IN_USE_HINT;
}

/** portInUseHint's text: a message that names several ports in use says it once. */
export const PORT_IN_USE_HINT = ' (relays share a port only when each binds it with --reuse-port, as one user)';
