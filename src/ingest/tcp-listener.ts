/**
 * Framed TCP input, plain (tcp@) or over TLS (tls@): a listener whose connections' whole frames
 * each become one ring item (./listener.ts: Ingest owns the ring and the counters; this serves
 * the sockets). A tls@ listener presents --listen-tls-cert and, with --listen-tls-ca, requires a
 * client certificate signed by one of those CAs (mutual TLS); a failed handshake is counted
 * (`tls_handshake`) and logged once per interval per reason. A `?proxy=v1|v2` listener reads each
 * connection's PROXY header first: the client it names is the source allow, deny and rate limits
 * see; a connection without a valid header is refused and counted (`proxy_header`). With
 * --reuse-port the server listens on a socket the addon bound with SO_REUSEPORT (./reuse-port.ts). A socket
 * systemd passed (socket activation) is listened on as it is.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import { createFramedServer, type FramedConnection, type FramedServerTls } from '../framing/framed-server.js';
import { formatHostPort } from '../config/address.js';
import { adoptedFd } from '../service/activated-socket.js';
import type { ListenerOptions, ListenerTls } from '../thread-protocol.js';
import { InputConnections } from './input-connections.js';
import { admits, bucketOfAddress, type Intake, type OpenListener } from './listener.js';
import { tcpListenOn } from './reuse-port.js';

/** Binds a framed TCP (or TLS) listener on `address`; rejects with the server's error (e.g. EADDRINUSE) when it cannot. */
export const openTcpListener: OpenListener = async (listener, address, intake) => {
  const material = listener.scheme === 'tls' ? intake.tls() : undefined;
  if (listener.scheme === 'tls' && !material) throw new Error('no certificate: give --listen-tls-cert and --listen-tls-key');
  const server = createFramedServer({
    framing: listener.framing,
    maxMessageBytes: intake.maxMessageBytes,
    // Called for connections only, once listening: `connections` is set by then.
    // Before a TLS handshake: a refused source costs none, and is counted as refused, not as a failed handshake.
    admit: (socket, source) => admits(intake, source ?? socket.remoteAddress),
    accept: (socket, source) => acceptInput(listener, socket, source ?? socket.remoteAddress, connections, intake),
    tls: material && serverTls(material),
    proxy: listener.proxy && {
      version: listener.proxy,
      timeoutMs: HANDSHAKE_TIMEOUT_MS,
      refused: (error, socket) => {
        intake.counters.refused('proxy_header');
        intake.log.log(
          'warn',
          `proxy-header:${listener.index}`,
          `${listener.text}: refused a connection from ${socket.remoteAddress ?? 'an unknown source'}: ${error.message}`,
        );
      },
    },
  });
  if (material) {
    server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      intake.counters.refused('tls_handshake');
      const reason = error.code ?? error.message;
      intake.log.log(
        'warn',
        `tls-handshake:${listener.index}:${reason}`,
        `${listener.text}: refused a TLS connection from ${socket.remoteAddress ?? 'an unknown source'}: ${error.message}`,
      );
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A socket systemd passed: a duplicate, which the server closes when it closes (src/service/activated-socket.ts).
    server.listen(address.fd === undefined ? tcpListenOn(listener.port, address, intake.reusePort) : { fd: adoptedFd(address.fd) }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => intake.log.log('warn', `tcp-error:${listener.index}`, `${listener.text}: ${error.message}`));
  // Before the first connection event (a later turn of the loop): limits apply from the first connection on.
  const connections = new InputConnections(server, listener.text, listener.index, intake);
  const bound = server.address() as net.AddressInfo;
  return {
    bound: { text: `${listener.scheme}@${formatHostPort(bound.address, bound.port)}`, reusePort: intake.reusePort },
    port: bound.port,
    close: async () => {
      connections.closeAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    setTls: material ? (next) => (server as tls.Server).setSecureContext(secureContextOf(next)) : undefined,
    setLimits: (limits) => connections.apply(limits),
    recheckSources: () => connections.closeRefused(),
  };
};

/**
 * How long a TLS handshake, or a PROXY header, may take before the connection is closed (and
 * counted, tls_handshake or proxy_header). A handshake is a few round trips; Node's default, 120 s,
 * would let a client that sends half a ClientHello hold a connection (and a --max-connections
 * place) for two minutes.
 */
const HANDSHAKE_TIMEOUT_MS = 10_000;

function serverTls(material: ListenerTls): FramedServerTls {
  return { cert: material.cert, key: material.key, ca: material.ca, requestCert: material.ca !== undefined, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS };
}

/** What setSecureContext takes: the certificate and key, and the CAs client certificates must lead to. */
function secureContextOf(material: ListenerTls): tls.SecureContextOptions {
  return { cert: material.cert, key: material.key, ca: material.ca };
}

/**
 * One framed TCP input from `source` (the client a PROXY header named, else the peer; admitted
 * already): every whole frame becomes one item; garbage closes the connection.
 */
function acceptInput(
  listener: ListenerOptions,
  socket: net.Socket,
  source: string | undefined,
  connections: InputConnections,
  intake: Intake,
): FramedConnection | undefined {
  const { counters } = intake;
  counters.accepted();
  connections.opened(socket, source);
  return {
    messages: (payloads) => {
      connections.completed(socket);
      // Looked up per read, not kept: a reload may add or change the limit.
      const from = bucketOfAddress(intake.rateLimiter(), source);
      for (const payload of payloads) intake.accept(payload, 0, payload.length, from);
      intake.publish();
    },
    garbage: (error) => {
      counters.dropped('framing');
      intake.log.log('warn', `framing:${listener.index}`, `${listener.text}: closed input from ${source}: ${error.message}`);
    },
    closed: (tornBytes) => {
      connections.closed(socket);
      if (tornBytes > 0) counters.dropped('framing');
    },
  };
}
