/**
 * What a framed server does with a new connection before its own handling (a TLS handshake, or
 * the framing): read the PROXY header when there is one (./proxy-header.ts), then ask whether the
 * source may come in. The server's own handling is its 'connection' listener: it is moved behind
 * these steps and called once they pass, with the bytes after the header put back (a TLS socket
 * made then takes what the raw socket holds). Node's maxConnections still applies first: it closes
 * a connection before 'connection' is emitted. A source refused here costs no TLS handshake.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { readProxyHeader, type ProxyVersion } from './proxy-header.js';

/** The PROXY protocol header every connection must begin with. */
export interface FramedServerProxy {
  version: ProxyVersion;
  /** A connection whose header is not complete by then is refused. */
  timeoutMs: number;
  /** A connection without a valid header: it is destroyed after this returns. */
  refused(error: Error, socket: net.Socket): void;
}

export interface FrontDoor {
  proxy: FramedServerProxy | undefined;
  /** Whether `source` (the header's client, else undefined: the peer) may come in; false destroys the connection. */
  admit: ((socket: net.Socket, source: string | undefined) => boolean) | undefined;
}

/** Puts `door`'s steps in front of `server`'s handling of each connection; `sources` gets each connection's header client. */
export function guardFrontDoor(server: net.Server, door: FrontDoor, sources: WeakMap<net.Socket, string | undefined>): void {
  const handlers = server.listeners('connection') as ((socket: net.Socket) => void)[];
  server.removeAllListeners('connection');
  const goOn = (socket: net.Socket, source: string | undefined): void => {
    if (door.admit && !door.admit(socket, source)) {
      socket.destroy();
      return;
    }
    sources.set(socket, source);
    for (const handle of handlers) handle.call(server, socket);
  };
  server.on('connection', (socket: net.Socket) => {
    socket.on('error', () => {});
    const { proxy } = door;
    if (!proxy) {
      goOn(socket, undefined);
      return;
    }
    readProxyHeader(socket, proxy.version, proxy.timeoutMs).then(
      (source) => {
        goOn(socket, source);
        // Reading the header paused the socket: a plain connection flows again (TLS reads by itself).
        if (!socket.destroyed && !(server instanceof tls.Server)) socket.resume();
      },
      (error: Error) => {
        proxy.refused(error, socket);
        socket.destroy();
      },
    );
  });
}
