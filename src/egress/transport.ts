/**
 * The one place that chooses how a destination is reached: plain TCP for tcp@, TLS over TCP for
 * tls@. Each returns an Opening (./attempt.ts): the socket and the event after which it
 * carries data, so the connection state machine needs to know nothing else about the transport.
 *
 * TLS verification is always on: the server's chain must lead to Node's CA store or to --tls-ca,
 * and its certificate must carry the destination's name (or IP address), or the configured
 * servername. Nothing here reads files: the main thread hands over PEM text
 * (src/config/tls-files.ts).
 *
 * A TLS attempt is up at 'secureConnect', or, when a TLS 1.3 server asked for a client
 * certificate, once the server has shown it accepted it (see verdictToCome).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { DestinationOptions, TlsClientOptions } from '../thread-protocol.js';
import type { ConnectFn } from './attempt.js';
import { relpConnectFn } from '../relp/client.js';

/**
 * A RELP session's fixed settings: its name at open, the largest answer it accepts (answers are a
 * few bytes; this bounds a broken peer), and how long a graceful end waits for `close` to be answered.
 */
const RELP_CLIENT = { software: 'relay,0.1.0,https://github.com/relay', maxAnswerBytes: 64 * 1024, closeTimeoutMs: 1000 };

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
    // Listening now enables the session callbacks (Node does so on the first 'session' listener):
    // a ticket that arrives with the handshake's last records is not missed.
    let ticket = false;
    let accepted: (() => void) | undefined;
    socket.once('session', () => {
      ticket = true;
      accepted?.();
    });
    return {
      socket,
      upEvent: 'secureConnect',
      awaitAcceptance: (callback) => {
        if (ticket || !verdictToCome(socket)) callback();
        else accepted = callback;
      },
    };
  };
}

/**
 * Whether the server has yet to judge the session once the client's handshake is done (at
 * 'secureConnect'). In TLS 1.3 a server that asked for a client certificate checks it after the
 * client's Finished: it answers with session tickets if it accepts (OpenSSL, Go, Java and Node
 * servers send them by default), with an alert if not. Bytes written before that verdict are
 * taken by the kernel and then thrown away by a refusing server, so the connection waits for the
 * first ticket (or its connect deadline). In TLS 1.2 the server checks before its own Finished.
 * A client sees the request through its signature algorithms: OpenSSL computes the shared ones
 * from a CertificateRequest, so they are empty on a client the server asked nothing of
 * (test/unit/transport.test.ts pins this).
 */
function verdictToCome(socket: tls.TLSSocket): boolean {
  return socket.getProtocol() === 'TLSv1.3' && socket.getSharedSigalgs().length > 0;
}

/** How to reach the destination of `options`: TCP, or TLS with its settings. */
export function connectFnFor(options: Pick<DestinationOptions, 'scheme' | 'tls' | 'text' | 'relpWindow'>): ConnectFn {
  if (options.scheme === 'tcp') return tcpConnect;
  if (options.scheme === 'relp') return relpConnectFn(tcpConnect, { ...RELP_CLIENT, windowSize: options.relpWindow });
  if (!options.tls) throw new Error(`${options.text}: a tls destination without TLS settings`);
  return tlsConnectFn(options.tls);
}
