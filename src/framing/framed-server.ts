/**
 * The one framed TCP server: every connection's bytes go through a FrameDecoder of the given
 * framing, and its owner gets whole messages, in order. Used by ingest (framed TCP input),
 * `relay sink`, the bench's verifying sinks and the tests' sinks; what each does with a message,
 * a garbage frame or a torn one at close is its own business. With `tls` it is a TLS server
 * (connections are handed over once their handshake is done), optionally requiring client
 * certificates signed by a given CA (mutual TLS). With `proxy`, each connection first gives a PROXY
 * protocol header (./proxy-header.ts), read before the TLS handshake and the framing; `accept`
 * gets the client it names. With `admit`, a connection is let in or refused before any of that
 * costs (./front-door.ts).
 */
import net from 'node:net';
import tls from 'node:tls';
import { FrameDecoder } from './decoder.js';
import type { FramingName } from './framing.js';
import { guardFrontDoor, type FramedServerProxy } from './front-door.js';

export type { FramedServerProxy } from './front-door.js';

/** What to do with one connection's traffic. */
export interface FramedConnection {
  /** Whole messages decoded from one chunk of the stream, in order (views of that chunk, which nothing reuses). */
  messages(payloads: Buffer[], socket: net.Socket): void;
  /** Bytes that are no valid frame: the connection is destroyed after this returns. */
  garbage?(error: Error, socket: net.Socket): void;
  /** The connection closed with `tornBytes` of an incomplete frame left (0: it ended on a frame boundary). */
  closed?(tornBytes: number, socket: net.Socket): void;
}

export interface FramedServerOptions {
  framing: FramingName;
  /** Largest message a peer may announce; more is garbage (bounds what a peer can make us buffer). */
  maxMessageBytes: number;
  /**
   * Called for each new connection: its handlers, or undefined to refuse it (destroyed at once).
   * `source` is the client a PROXY header named (undefined: none, or the header named none).
   */
  accept(socket: net.Socket, source: string | undefined): FramedConnection | undefined;
  /** Serve TLS instead of plain TCP. */
  tls?: FramedServerTls;
  /** Each connection begins with a PROXY protocol header. */
  proxy?: FramedServerProxy;
  /**
   * Whether a new connection from `source` (its PROXY header's client, else the peer) may go on:
   * asked before a TLS handshake and before `accept`; a refused one is destroyed at once.
   */
  admit?(socket: net.Socket, source: string | undefined): boolean;
}

/** A TLS server's certificate, and for mutual TLS the CA its clients' certificates must lead to (PEM text). */
export interface FramedServerTls {
  cert: string;
  key: string;
  /** CA certificates that client certificates are checked against (replacing Node's store). */
  ca?: string;
  /** Require a client certificate signed by `ca`: a client without one, or with another, is refused. */
  requestCert?: boolean;
  /** A handshake not done by then fails (Node's default: 120 s). */
  handshakeTimeoutMs?: number;
}

/**
 * A server (not yet listening) whose connections are decoded as `options.framing`: a net.Server,
 * or with `options.tls` a tls.Server (a failed handshake emits 'tlsClientError' and never reaches
 * `accept`).
 */
export function createFramedServer(options: FramedServerOptions): net.Server {
  /** The client each raw connection's PROXY header named (a TLS connection is found by its raw socket). */
  const sources = new WeakMap<net.Socket, string | undefined>();
  const serve = (socket: net.Socket): void => {
    const raw = (socket as net.Socket & { _parent?: net.Socket })._parent ?? socket;
    const handlers = options.accept(socket, sources.get(raw));
    if (!handlers) {
      socket.destroy();
      return;
    }
    const decoder = new FrameDecoder(options.framing, options.maxMessageBytes);
    socket.on('data', (chunk: Buffer) => {
      let payloads: Buffer[];
      try {
        payloads = decoder.push(chunk);
      } catch (error) {
        handlers.garbage?.(error as Error, socket);
        socket.destroy();
        return;
      }
      if (payloads.length > 0) handlers.messages(payloads, socket);
    });
    socket.on('error', () => {});
    socket.on('close', () => handlers.closed?.(decoder.pendingBytes, socket));
  };
  const server = options.tls ? createTlsServer(options.tls, serve) : net.createServer(serve);
  if (options.proxy || options.admit) guardFrontDoor(server, { proxy: options.proxy, admit: options.admit }, sources);
  return server;
}

function createTlsServer(options: FramedServerTls, serve: (socket: net.Socket) => void): tls.Server {
  const { cert, key, ca, requestCert = false, handshakeTimeoutMs } = options;
  const server = tls.createServer(
    { cert, key, ca, requestCert, rejectUnauthorized: requestCert, minVersion: 'TLSv1.2', handshakeTimeout: handshakeTimeoutMs },
    serve,
  );
  // Node emits tlsClientError and leaves the connection open after a handshake timeout (a client
  // that sent part of a handshake and waits kept it open after the timeout): close it.
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  return server;
}
