/**
 * The one place that chooses how a destination is reached: plain TCP for tcp@, TLS over TCP for
 * tls@. Each returns an Attempt (./connection.ts): the socket and the event after which it
 * carries data, so the connection state machine needs to know nothing else about the transport.
 *
 * TLS verification is always on: the server's chain must lead to Node's CA store or to --tls-ca,
 * and its certificate must carry the destination's name (or IP address), or the configured
 * servername. Nothing here reads files: the main thread hands over PEM text
 * (src/config/tls-files.ts).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { DestinationOptions, TlsClientOptions } from '../thread-protocol.js';
import type { ConnectFn } from './connection.js';

/** TCP keepalive probes start after this long idle (both transports). */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/** A real TCP connection with Nagle off and keepalive on; up on 'connect'. */
export const tcpConnect: ConnectFn = (host, port) => {
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
  return { socket, upEvent: 'connect' };
};

/**
 * TLS connections made with `settings`; up on 'secureConnect', i.e. once the handshake is done
 * and the server verified. The secure context (CA store, client certificate) is built once, here,
 * not per attempt; throws if the PEM text does not load (the main thread checked it already).
 */
export function tlsConnectFn(settings: TlsClientOptions): ConnectFn {
  const secureContext = tls.createSecureContext({
    // A `ca` replaces Node's store: give the store and --tls-ca together.
    ca: settings.ca === undefined ? undefined : [...tls.rootCertificates, settings.ca],
    cert: settings.cert,
    key: settings.key,
    minVersion: 'TLSv1.2',
  });
  return (host, port) => {
    // SNI carries a name, never an IP address (RFC 6066; Node warns, DEP0123). Without a
    // servername Node checks the certificate against `host`, IP addresses included.
    const servername = settings.servername ?? (net.isIP(host) === 0 ? host : undefined);
    const socket = tls.connect({ host, port, servername, secureContext, rejectUnauthorized: true, checkServerIdentity: tls.checkServerIdentity });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    return { socket, upEvent: 'secureConnect' };
  };
}

/** How to reach the destination of `options`: TCP, or TLS with its settings. */
export function connectFnFor(options: Pick<DestinationOptions, 'scheme' | 'tls' | 'text'>): ConnectFn {
  if (options.scheme === 'tcp') return tcpConnect;
  if (!options.tls) throw new Error(`${options.text}: a tls destination without TLS settings`);
  return tlsConnectFn(options.tls);
}
